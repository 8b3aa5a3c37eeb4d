-- Forwarding by a regional triage point (issue 14): which message forwards which, how the candidates
-- are placed, and who was placed. Written in the same transaction as the forwarded message, its
-- deliveries and the original delivery's move to `forwarded`.
CREATE TABLE forwardings (
    -- The forwarded message (built by the broker, sent as the triage point's).
    tracking_id          TEXT   NOT NULL PRIMARY KEY REFERENCES messages (tracking_id),
    -- The message it forwards, and the triage point's delivery of it (what the chain answers).
    original_tracking_id TEXT   NOT NULL REFERENCES messages (tracking_id),
    original_delivery_id TEXT   NOT NULL REFERENCES deliveries (delivery_id),
    -- `all`: every receiver gets it; `first-accept`: the first to accept is placed, the rest withdrawn.
    mode                 TEXT   NOT NULL CHECK (mode IN ('all', 'first-accept')),
    -- The delivery whose acceptance answered the original; set once (the placement's guard).
    placed_delivery_id   TEXT   REFERENCES deliveries (delivery_id),
    created_at           BIGINT NOT NULL
);
CREATE INDEX forwardings_original_delivery ON forwardings (original_delivery_id);
CREATE INDEX forwardings_original_tracking ON forwardings (original_tracking_id);
-- The escalation pass looks for overdue deliveries still unanswered: few, among many.
CREATE INDEX deliveries_overdue ON deliveries (overdue_at) WHERE overdue_at IS NOT NULL;
