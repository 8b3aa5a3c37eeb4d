-- Claim order (issue 17): a receiver's urgent deliveries first (the request's priority: 0 stat, 1 asap,
-- 2 urgent, 3 routine or none), then the newest and the oldest due rows in turn, so that a receiver
-- back from an outage drains its backlog without new arrivals waiting behind it. One index serves all
-- three (a range of it each); it replaces the claim index it extends and the per-receiver index that
-- was a prefix of that one (one B-tree fewer to write per delivery).
ALTER TABLE deliveries ADD COLUMN urgency BIGINT NOT NULL DEFAULT 3;
UPDATE deliveries SET urgency = CASE
        (SELECT priority FROM messages WHERE messages.tracking_id = deliveries.tracking_id)
        WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END
    WHERE state = 'queued';
DROP INDEX deliveries_receiver;
DROP INDEX deliveries_claim;
CREATE INDEX deliveries_claim ON deliveries (receiver_org, state, urgency, next_attempt_at);

-- The quality counters' warnings count (20261201000040) as the 64-bit integer every other count is:
-- the broker reads integers as 64-bit, and a 32-bit column was refused when read.
ALTER TABLE messages ALTER COLUMN warnings TYPE BIGINT;
