-- The pull mailbox (issue 5): an organisation's waiting handovers and receipts, oldest first, read page
-- by page along these indexes whatever the size of the mailbox.
CREATE INDEX deliveries_mailbox ON deliveries (receiver_org, state, created_at, delivery_id);
CREATE INDEX receipts_mailbox ON receipts (recipient_org, state, created_at, receipt_id);
