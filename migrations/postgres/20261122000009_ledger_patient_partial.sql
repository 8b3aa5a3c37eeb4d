-- Only entries that name a patient (a message's `received`, a refused submission's entries) carry a
-- patient key; the others are found through message_patients. Index just the keyed ones.
DROP INDEX ledger_patient;
CREATE INDEX ledger_patient ON ledger (patient_key, seq) WHERE patient_key IS NOT NULL;
