-- Payload retention (issue 6): the purge walks the messages that still hold a payload, oldest first.
CREATE INDEX messages_unpurged ON messages (received_at) WHERE payload IS NOT NULL;
