-- Receipt payloads are purged like message payloads (a business receipt carries the receiver's issues,
-- free text that may name the patient): `payload` becomes nullable.
ALTER TABLE receipts ALTER COLUMN payload DROP NOT NULL;
-- The purge walks the receipts that still hold a payload, by when they last changed.
CREATE INDEX receipts_unpurged ON receipts (updated_at) WHERE payload IS NOT NULL;
