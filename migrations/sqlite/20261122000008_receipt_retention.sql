-- Receipt payloads are purged like message payloads (a business receipt carries the receiver's issues,
-- free text that may name the patient): `payload` becomes nullable. SQLite cannot drop a NOT NULL
-- constraint in place, so the table is rebuilt with the same columns, keys and indexes.
CREATE TABLE receipts_new (
    receipt_id      TEXT PRIMARY KEY,
    tracking_id     TEXT NOT NULL REFERENCES messages (tracking_id),
    delivery_id     TEXT NOT NULL REFERENCES deliveries (delivery_id),
    recipient_org   TEXT NOT NULL REFERENCES organizations (org_id),
    kind            TEXT NOT NULL,
    header_id       TEXT NOT NULL,
    payload         BLOB,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_error      TEXT,
    delivered_at    BIGINT,
    UNIQUE (delivery_id, kind)
);
INSERT INTO receipts_new SELECT receipt_id, tracking_id, delivery_id, recipient_org, kind, header_id, payload, state,
    attempts, next_attempt_at, leased_until, expires_at, created_at, updated_at, last_error, delivered_at FROM receipts;
DROP TABLE receipts;
ALTER TABLE receipts_new RENAME TO receipts;
CREATE INDEX receipts_due ON receipts (state, next_attempt_at);
CREATE INDEX receipts_recipient ON receipts (recipient_org, state);
CREATE INDEX receipts_claim ON receipts (recipient_org, state, next_attempt_at);
CREATE INDEX receipts_expiry ON receipts (state, expires_at);
CREATE INDEX receipts_mailbox ON receipts (recipient_org, state, created_at, receipt_id);
-- The purge walks the receipts that still hold a payload, by when they last changed.
CREATE INDEX receipts_unpurged ON receipts (updated_at) WHERE payload IS NOT NULL;
