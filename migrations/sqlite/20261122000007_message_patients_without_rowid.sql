-- message_patients is only ever read by its key: keep it as that one B-tree (WITHOUT ROWID) instead of a
-- rowid table plus a key index, which wrote every row twice. PostgreSQL is unchanged (heap + key index).
CREATE TABLE message_patients_new (
    tracking_id TEXT NOT NULL REFERENCES messages (tracking_id),
    patient_key TEXT NOT NULL,
    PRIMARY KEY (patient_key, tracking_id)
) WITHOUT ROWID;
INSERT INTO message_patients_new (tracking_id, patient_key) SELECT tracking_id, patient_key FROM message_patients;
DROP TABLE message_patients;
ALTER TABLE message_patients_new RENAME TO message_patients;
