-- Two roles for people who read how handovers go (issue 16): `quality` (a quality coordinator, the
-- region's quality reports) and `patient-portal` (a portal that authenticated the patient, that
-- patient's handovers). SQLite cannot change a CHECK constraint: the table is copied into one with the
-- new constraint, under the same name, with the same indexes.
CREATE TABLE api_tokens_new (
    token_id   TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL REFERENCES organizations (org_id),
    role       TEXT NOT NULL CHECK (role IN ('sender', 'auditor', 'admin', 'quality', 'patient-portal')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    expires_at BIGINT,
    scope      TEXT NOT NULL DEFAULT 'organization' CHECK (scope IN ('organization', 'regional')),
    client_id  TEXT
);
INSERT INTO api_tokens_new (token_id, token_hash, org_id, role, created_at, revoked_at, expires_at, scope, client_id)
    SELECT token_id, token_hash, org_id, role, created_at, revoked_at, expires_at, scope, client_id FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_org ON api_tokens (org_id);
CREATE INDEX api_tokens_smart_expiry ON api_tokens (expires_at) WHERE client_id IS NOT NULL;
