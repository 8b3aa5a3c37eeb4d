-- Foundation schema (PostgreSQL). Keep in step with migrations/sqlite: same tables, columns and keys.
-- Times are milliseconds since the Unix epoch (UTC) in BIGINT columns on both backends.

CREATE TABLE organizations (
    org_id        TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    delivery_mode TEXT NOT NULL CHECK (delivery_mode IN ('push', 'mailbox')),
    endpoint_url  TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The identifiers messages use in MessageHeader.sender / destination.receiver.
CREATE TABLE organization_identifiers (
    system TEXT NOT NULL,
    value  TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    PRIMARY KEY (system, value)
);
CREATE INDEX organization_identifiers_org ON organization_identifiers (org_id);

-- Handover kinds (event codes) an organisation accepts.
CREATE TABLE organization_events (
    org_id     TEXT NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    event_code TEXT NOT NULL,
    PRIMARY KEY (org_id, event_code)
);

-- Bearer tokens, stored only as SHA-256 of the token.
CREATE TABLE api_tokens (
    token_id   TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL REFERENCES organizations (org_id),
    role       TEXT NOT NULL CHECK (role IN ('sender', 'auditor', 'admin')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Accepted messages. The two UNIQUE keys are the deduplication rules of DESIGN.md section 3:
-- (sender, MessageHeader.id) and (sender, Bundle.id). `ack` is the exact acknowledgement returned,
-- replayed for an identical resubmission. `payload` is the exact bytes received (NULL once purged); a
-- resubmission's entries are compared with it only when its key is taken.
CREATE TABLE messages (
    tracking_id    TEXT PRIMARY KEY,
    sender_org     TEXT NOT NULL REFERENCES organizations (org_id),
    header_id      TEXT NOT NULL,
    bundle_id      TEXT,
    event_system   TEXT NOT NULL,
    event_code     TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    payload        BYTEA,
    ack            BYTEA NOT NULL,
    state          TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    UNIQUE (sender_org, header_id),
    UNIQUE (sender_org, bundle_id)
);

-- One delivery per receiver. `next_attempt_at` and `leased_until` drive the delivery workers.
CREATE TABLE deliveries (
    delivery_id     TEXT PRIMARY KEY,
    tracking_id     TEXT NOT NULL REFERENCES messages (tracking_id),
    receiver_org    TEXT NOT NULL REFERENCES organizations (org_id),
    receiver_system TEXT NOT NULL,
    receiver_value  TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_error      TEXT,
    UNIQUE (tracking_id, receiver_org)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_receiver ON deliveries (receiver_org, state);

-- Append-only ledger. prev_hash/hash (hash chain) and patient_key (keyed hash of the patient
-- identifier) are filled by the tamper-evident ledger; the columns exist from the start so that
-- no row has to be rewritten.
CREATE TABLE ledger (
    seq            BIGSERIAL PRIMARY KEY,
    at             BIGINT NOT NULL,
    event          TEXT NOT NULL,
    tracking_id    TEXT,
    header_id      TEXT,
    delivery_id    TEXT,
    actor_org      TEXT,
    sender_org     TEXT,
    receiver_org   TEXT,
    event_code     TEXT,
    outcome        TEXT,
    payload_sha256 TEXT,
    patient_key    TEXT,
    prev_hash      TEXT,
    hash           TEXT
);
CREATE INDEX ledger_tracking ON ledger (tracking_id, seq);

-- Facts about this broker's data, e.g. `directory_source` = `demo` once the demo directory was loaded
-- (so that demo mode survives a restart) or `import` after an operator's import (which ends it).
CREATE TABLE broker_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
