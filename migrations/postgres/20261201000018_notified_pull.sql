-- Notified Pull receivers (issue 15). An organisation that receives by notified pull is stored with
-- delivery_mode 'mailbox' and notified_pull = 1: the foundation's CHECK on delivery_mode cannot be
-- widened on SQLite without rebuilding `organizations`, which other tables reference with foreign keys
-- (some ON DELETE CASCADE) that cannot be switched off inside a migration's transaction. A broker that
-- does not know the flag falls back to the mailbox, which the receiver may also pull: nothing is ever
-- pushed to its notification endpoint by mistake.
ALTER TABLE organizations ADD COLUMN notified_pull BIGINT NOT NULL DEFAULT 0
    CHECK (notified_pull IN (0, 1));

-- The workflow Task the broker keeps for a delivery to a notified-pull receiver: what the receiver set
-- (status, businessStatus, statusReason), its version (Task.meta.versionId, If-Match) and the time of
-- its last change. No row: nobody changed it yet (status `requested`, version 1). Patient data never
-- goes here; statusReason is the receiver's reason for a refusal, shown to the sender in its receipt.
CREATE TABLE tasks (
    delivery_id     TEXT   NOT NULL PRIMARY KEY REFERENCES deliveries (delivery_id),
    receiver_org    TEXT   NOT NULL REFERENCES organizations (org_id),
    status          TEXT   NOT NULL,
    business_status TEXT,
    status_reason   TEXT,
    version         BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- The receiver's Task search (`GET /fhir/Task?status=&_lastUpdated=`).
CREATE INDEX tasks_receiver ON tasks (receiver_org, updated_at);
