-- Directory: per-organisation transport and receipt settings (PostgreSQL). Keep in step with
-- migrations/sqlite.
-- endpoint_ca_pem: PEM CA certificate(s) trusted for the push endpoint besides the configured roots.
-- client_certificate: 1 when the broker presents its client certificate (mTLS) to the endpoint.
-- receipt_preference: which receipts the organisation wants about its own messages.

ALTER TABLE organizations ADD COLUMN endpoint_ca_pem TEXT;
ALTER TABLE organizations ADD COLUMN client_certificate BIGINT NOT NULL DEFAULT 0
    CHECK (client_certificate IN (0, 1));
ALTER TABLE organizations ADD COLUMN receipt_preference TEXT NOT NULL DEFAULT 'all'
    CHECK (receipt_preference IN ('all', 'business-only', 'none'));
