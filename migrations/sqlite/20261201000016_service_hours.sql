-- Urgency and opening hours (issue 14, item 5).

-- An organisation's opening hours: its IANA time zone (NULL: no hours stated, so it counts as open around
-- the clock) and its open periods in the order the directory gives them: `days` a set of weekdays (bit 0
-- Monday .. bit 6 Sunday), `opens` and `closes` seconds after local midnight (opens < closes).
ALTER TABLE organizations ADD COLUMN time_zone TEXT;
CREATE TABLE organization_hours (
    org_id   TEXT   NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    days     BIGINT NOT NULL CHECK (days > 0 AND days < 128),
    opens    BIGINT NOT NULL CHECK (opens >= 0),
    closes   BIGINT NOT NULL CHECK (closes > opens AND closes < 86400),
    PRIMARY KEY (org_id, position)
);

-- Per request priority (routine, urgent, asap, stat): the time within which the organisation answers,
-- in seconds of its opening hours, and the organisation an unanswered request escalates to (removing
-- that organisation removes the escalation).
CREATE TABLE organization_response_times (
    org_id         TEXT   NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    priority       TEXT   NOT NULL CHECK (priority IN ('routine', 'urgent', 'asap', 'stat')),
    within_secs    BIGINT NOT NULL CHECK (within_secs > 0),
    escalation_org TEXT   REFERENCES organizations (org_id) ON DELETE SET NULL,
    PRIMARY KEY (org_id, priority)
);

-- A message's priority: its focus ServiceRequest.priority (care requests, referrals); NULL otherwise.
ALTER TABLE messages ADD COLUMN priority TEXT;
-- When a delivery was reported overdue to the sender (NULL: not reported). Not a delivery state: an
-- overdue delivery is still queued or delivered, and may yet be answered.
ALTER TABLE deliveries ADD COLUMN overdue_at BIGINT;
-- The overdue sweep starts from the messages that have a priority.
CREATE INDEX messages_priority ON messages (priority, received_at);
