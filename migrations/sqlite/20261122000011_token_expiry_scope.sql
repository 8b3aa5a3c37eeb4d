-- Tokens with a life and a scope (issue 12). `expires_at` (milliseconds since the epoch) is set for every
-- token issued from now on; tokens issued before this step have none and stay valid until revoked
-- (`token list` shows them as never expiring, `token revoke --org` ends them). `scope` says what an
-- auditor token may read: its own organisation's entries, or the region's; other roles are always
-- `organization`.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'organization'
    CHECK (scope IN ('organization', 'regional'));
-- `token revoke --org` and `token list` go by organisation.
CREATE INDEX api_tokens_org ON api_tokens (org_id);
