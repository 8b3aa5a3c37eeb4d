# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (en).

issues-listed-first = more issues were found; an answer lists the first { $count }

## The message envelope: the body as JSON, the Bundle, its MessageHeader.

envelope-body-empty = the request body is empty; expected { $kind ->
    [message] a FHIR message Bundle
    [document] a FHIR document Bundle
   *[other] { $expected }
}
envelope-json-too-deep = JSON nesting is deeper than the limit of { $limit } levels
envelope-json-ends-early = the JSON ends too early at line { $line } column { $column }
envelope-json-number-out-of-range = a number is out of range (larger than a 64-bit float holds) at line { $line } column { $column }
envelope-json-invalid = the body is not valid JSON (UTF-8) at line { $line } column { $column }
envelope-not-an-object = expected a JSON object (a FHIR Bundle)
envelope-not-a-bundle = expected a FHIR resource of type Bundle
envelope-type-not-message = Bundle.type is { $type }; $process-message takes a Bundle of type message
envelope-type-missing = Bundle.type is missing; expected message
envelope-no-entries = a message Bundle needs entries, the first a MessageHeader
envelope-too-many-entries = the Bundle has { $count } entries; the limit is { $limit }
envelope-first-entry-not-header = the first entry of a message Bundle must be a MessageHeader
envelope-header-id-invalid = MessageHeader.id is not a FHIR id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')
envelope-header-id-missing = MessageHeader.id is required: it is the message's identity for deduplication
envelope-event-uri = events are identified by eventCoding (system and code); eventUri is not supported
envelope-event-coding-missing = MessageHeader.eventCoding with system and code is required
envelope-source-endpoint-missing = MessageHeader.source.endpoint is required
envelope-too-many-destinations = the message has { $count } destinations; the limit is { $limit }

## A body in FHIR XML that cannot be read.

-xml-refused = not a FHIR XML resource
xml-not-utf8 = { -xml-refused }: the document is not UTF-8 (from byte { $byte })
xml-not-well-formed = { -xml-refused }: not well-formed XML: { $detail }
xml-too-deep = { -xml-refused }: nested deeper than { $limit } elements
xml-too-many-elements = { -xml-refused }: more than { $limit } elements
xml-div-undelimited = { -xml-refused }: cannot delimit a div
xml-end-without-start = { -xml-refused }: an end tag without its start
xml-text-outside-div = { -xml-refused }: text outside a narrative div: FHIR XML carries values in value attributes
xml-cdata-refused = { -xml-refused }: CDATA sections are not FHIR XML
xml-doctype-refused = { -xml-refused }: a document type declaration (DTD) is refused: FHIR XML has none
xml-processing-instruction-refused = { -xml-refused }: processing instructions are refused
xml-ends-early = { -xml-refused }: the document ends before its root element does
xml-content-after-root = { -xml-refused }: content after the root element
xml-div-no-resource = { -xml-refused }: a narrative div is no resource
xml-name-outside = { -xml-refused }: an element name outside the document
xml-namespace-prefix = { -xml-refused }: namespace prefixes are not FHIR XML: { $name }
xml-attribute-malformed = { -xml-refused }: a malformed attribute: { $detail }
xml-attribute-outside = { -xml-refused }: an attribute outside the document
xml-attribute-refused = { -xml-refused }: refused attribute { $key }: { $detail }
xml-resource-attribute = { -xml-refused }: a resource element takes no attribute { $key }
xml-attribute-unknown = { -xml-refused }: unknown attribute { $key }
xml-element-unknown = { -xml-refused }: { $owner } has no element { $name }
xml-element-repeats = { -xml-refused }: { $name } appears { $count } times; it does not repeat
xml-one-resource = { -xml-refused }: { $name } holds exactly one resource element
xml-not-a-resource = { -xml-refused }: { $name } is no FHIR resource
xml-narrative-without-markup = { -xml-refused }: narrative without markup
xml-not-primitive = { -xml-refused }: { $name } is no primitive: it takes no value attribute
xml-primitive-attribute = { -xml-refused }: a primitive takes value and id attributes, not { $key }
xml-primitive-only-extensions = { -xml-refused }: a primitive holds only extensions
xml-value-invalid = { -xml-refused }: not a valid { $kind } value
xml-element-empty = { -xml-refused }: an element with neither a value nor extensions
xml-root-not-a-resource = { -xml-refused }: the root element { $name } is no FHIR resource
xml-root-namespace = { -xml-refused }: the root element must be in the FHIR namespace { $namespace }
xml-no-resource = { -xml-refused }: no resource was read

## The edge's words for a forwarding that cannot be built.

http-forward-receivers = a forwarding names at least one receiver and at most { $max }
http-forward-note-too-long = the note is longer than { $max } characters

## A directory import that names an organisation twice.

http-directory-duplicate-identifier = identifier { $identifier } belongs to two organisations
http-directory-duplicate-client-id = SMART client id { $client } belongs to two organisations
