-- Handover quality (issue 16). What the quality report needs of a message beyond the ledger: when the
-- patient's stay ended (`Encounter.period.end`, milliseconds; NULL when the handover names none) and how
-- many warnings it was accepted with. Recorded at ingest, kept when the payload is purged.
ALTER TABLE messages ADD COLUMN stay_ended_at BIGINT;
ALTER TABLE messages ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;

-- Counters kept up to date in the transaction that appends the ledger entries they count, so that a
-- report over a year reads these rows, never the ledger. `grain` 'day' or 'month'; `period_start` the
-- first day of the period (days since 1970-01-01, UTC). `receiver_org` and `kind` are '' where an
-- event has none (a refused submission has no receiver). `metric` names a count or a histogram bucket.
CREATE TABLE quality_counts (
    grain        TEXT    NOT NULL CHECK (grain IN ('day', 'month')),
    period_start BIGINT  NOT NULL,
    sender_org   TEXT    NOT NULL,
    receiver_org TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    metric       TEXT    NOT NULL,
    count        BIGINT  NOT NULL,
    PRIMARY KEY (grain, period_start, sender_org, receiver_org, kind, metric)
);
