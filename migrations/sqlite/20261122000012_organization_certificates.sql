-- Client certificates pinned on organisations (issue 12, mTLS) (SQLite). Keep in step with
-- migrations/postgres.
-- sha256: lower-case hex SHA-256 of the certificate's DER encoding. A verified client certificate with
-- this fingerprint speaks for org_id. The key is the fingerprint alone: one certificate speaks for one
-- organisation, and authentication looks it up by fingerprint.
CREATE TABLE organization_certificates (
    sha256 TEXT NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    org_id TEXT NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE
);
CREATE INDEX organization_certificates_org ON organization_certificates (org_id);
