-- SMART Backend Services (issue 12 item 2). Keep in step with migrations/postgres.
-- smart_clients: an organisation's client (at most one): its client id, its JWK Set as registered in the
-- directory (the JSON text, inline; the broker never fetches keys from a URL) and the roles its access
-- tokens may carry (role names separated by one space).
CREATE TABLE smart_clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    org_id    TEXT NOT NULL UNIQUE REFERENCES organizations (org_id),
    jwks      TEXT NOT NULL,
    roles     TEXT NOT NULL
);
-- smart_assertions: the client assertions already used, by (client, jti), each kept until its exp (plus
-- the clock-skew allowance) has passed, when it could not be accepted anyway and is purged. Only ever
-- read by its key, so one B-tree (WITHOUT ROWID).
CREATE TABLE smart_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX smart_assertions_expiry ON smart_assertions (expires_at);
-- The SMART client an access token was issued to (NULL: issued by the operator with `token issue`);
-- expired SMART access tokens are purged a day after they expired.
ALTER TABLE api_tokens ADD COLUMN client_id TEXT;
CREATE INDEX api_tokens_smart_expiry ON api_tokens (expires_at) WHERE client_id IS NOT NULL;
