-- The tamper-evident ledger (issue 6): which patients a message concerns, by keyed hash of each
-- identifier, and the indexes of auditors' queries.
CREATE TABLE message_patients (
    tracking_id TEXT NOT NULL REFERENCES messages (tracking_id),
    patient_key TEXT NOT NULL,
    PRIMARY KEY (patient_key, tracking_id)
);
CREATE INDEX ledger_patient ON ledger (patient_key, seq);
CREATE INDEX ledger_at ON ledger (at);
