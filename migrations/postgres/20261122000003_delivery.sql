-- Push delivery and receipts (issue 4).

-- Which receipts the sender asked for (ITK handling keys INFACK/BUSACK), fixed when the message is
-- accepted: 1 = send, 0 = do not. Non-delivery (failed, expired) is always reported.
ALTER TABLE messages ADD COLUMN want_infack BIGINT NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN want_busack BIGINT NOT NULL DEFAULT 1;

-- When the receiver's system had it (push 2xx or mailbox acknowledgement).
ALTER TABLE deliveries ADD COLUMN delivered_at BIGINT;

-- Receipts: response messages the broker made for a sender about one delivery of its message, kept
-- in an outbox and delivered like handovers (push with retries, or the sender's mailbox).
CREATE TABLE receipts (
    receipt_id      TEXT PRIMARY KEY,
    tracking_id     TEXT NOT NULL REFERENCES messages (tracking_id),
    delivery_id     TEXT NOT NULL REFERENCES deliveries (delivery_id),
    recipient_org   TEXT NOT NULL REFERENCES organizations (org_id),
    kind            TEXT NOT NULL,
    header_id       TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_error      TEXT,
    delivered_at    BIGINT,
    UNIQUE (delivery_id, kind)
);
CREATE INDEX receipts_due ON receipts (state, next_attempt_at);
CREATE INDEX receipts_recipient ON receipts (recipient_org, state);

-- The push workers' probes and claims: per organisation, queued, oldest due first.
CREATE INDEX deliveries_claim ON deliveries (receiver_org, state, next_attempt_at);
CREATE INDEX receipts_claim ON receipts (recipient_org, state, next_attempt_at);
-- The expiry sweep.
CREATE INDEX deliveries_expiry ON deliveries (state, expires_at);
CREATE INDEX receipts_expiry ON receipts (state, expires_at);
