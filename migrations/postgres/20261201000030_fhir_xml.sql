-- FHIR XML (issue 15): the format an organisation takes handovers in (Endpoint.payloadMimeType), and a
-- message's other form. `payload` always holds the JSON the broker checked; `payload_xml` the XML:
-- the exact bytes received when `received_format` is 'xml', else the conversion made at ingest for
-- receivers registered for XML (NULL when none is).
ALTER TABLE organizations ADD COLUMN payload_format TEXT NOT NULL DEFAULT 'json'
    CHECK (payload_format IN ('json', 'xml'));
ALTER TABLE messages ADD COLUMN received_format TEXT NOT NULL DEFAULT 'json'
    CHECK (received_format IN ('json', 'xml'));
ALTER TABLE messages ADD COLUMN payload_xml BYTEA;
