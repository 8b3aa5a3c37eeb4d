-- deliveries.attempts was created INTEGER, 32 bits on PostgreSQL but 64 on SQLite; every other counter and
-- time is BIGINT (receipts.attempts too). Widen it so that both backends hold the same values.
ALTER TABLE deliveries ALTER COLUMN attempts TYPE BIGINT;
