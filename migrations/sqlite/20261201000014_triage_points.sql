-- Regional triage points and the care types organisations provide (issue 14).
-- triage_point: 1 when Organization.type says the organisation is a regional triage point.
ALTER TABLE organizations ADD COLUMN triage_point BIGINT NOT NULL DEFAULT 0
    CHECK (triage_point IN (0, 1));

-- Care types (codes of the broker's care-type code system) an organisation provides.
CREATE TABLE organization_care_types (
    org_id    TEXT NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    care_type TEXT NOT NULL,
    PRIMARY KEY (org_id, care_type)
);
