-- Live bed capacity (issue 14 item 4): the latest reported counts per organisation and care type.
-- One row per (org_id, care_type), replaced by a report whose as_of (MeasureReport.period.end) is not
-- older; every accepted report is also a `capacity-reported` ledger entry, in the same transaction.
CREATE TABLE capacity (
    org_id      TEXT   NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    care_type   TEXT   NOT NULL,
    total       BIGINT NOT NULL CHECK (total >= 0),
    occupied    BIGINT NOT NULL CHECK (occupied >= 0 AND occupied <= total),
    available   BIGINT NOT NULL CHECK (available >= 0 AND available <= total),
    -- When the counts held (MeasureReport.period.end), ms since the epoch.
    as_of       BIGINT NOT NULL,
    -- When the broker accepted the report, ms since the epoch.
    received_at BIGINT NOT NULL,
    -- The id the broker gave the MeasureReport.
    report_id   TEXT   NOT NULL,
    PRIMARY KEY (org_id, care_type)
);
-- The regional summary groups by care type.
CREATE INDEX capacity_care_type ON capacity (care_type, as_of);
