# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (nl).

issues-listed-first = er zijn meer problemen gevonden; een antwoord noemt de eerste { $count }

## The message envelope: the body as JSON, the Bundle, its MessageHeader.

envelope-body-empty = de body van het verzoek is leeg; verwacht werd { $kind ->
    [message] een FHIR message-Bundle
    [document] een FHIR document-Bundle
   *[other] { $expected }
}
envelope-json-too-deep = de JSON is dieper genest dan de limiet van { $limit } niveaus
envelope-json-ends-early = de JSON houdt te vroeg op, op regel { $line } kolom { $column }
envelope-json-number-out-of-range = een getal valt buiten het bereik (groter dan een 64-bits float kan bevatten), op regel { $line } kolom { $column }
envelope-json-invalid = de body is geen geldige JSON (UTF-8), op regel { $line } kolom { $column }
envelope-not-an-object = verwacht werd een JSON-object (een FHIR Bundle)
envelope-not-a-bundle = verwacht werd een FHIR-resource van het type Bundle
envelope-type-not-message = Bundle.type is { $type }; $process-message verwacht een Bundle van het type message
envelope-type-missing = Bundle.type ontbreekt; verwacht werd message
envelope-no-entries = een message-Bundle moet entries bevatten, waarvan de eerste een MessageHeader is
envelope-too-many-entries = de Bundle bevat { $count } entries; de limiet is { $limit }
envelope-first-entry-not-header = de eerste entry van een message-Bundle moet een MessageHeader zijn
envelope-header-id-invalid = MessageHeader.id is geen FHIR-id (1 tot 64 tekens uit A-Z, a-z, 0-9, '-' en '.')
envelope-header-id-missing = MessageHeader.id is verplicht: het is de identiteit van het bericht voor deduplicatie
envelope-event-uri = gebeurtenissen worden aangeduid met eventCoding (system en code); eventUri wordt niet ondersteund
envelope-event-coding-missing = MessageHeader.eventCoding met system en code is verplicht
envelope-source-endpoint-missing = MessageHeader.source.endpoint is verplicht
envelope-too-many-destinations = het bericht heeft { $count } destinations; de limiet is { $limit }

## A body in FHIR XML that cannot be read.

-xml-refused = geen FHIR XML-resource
xml-not-utf8 = { -xml-refused }: het document is geen UTF-8 (vanaf byte { $byte })
xml-not-well-formed = { -xml-refused }: geen well-formed XML: { $detail }
xml-too-deep = { -xml-refused }: dieper genest dan { $limit } elementen
xml-too-many-elements = { -xml-refused }: meer dan { $limit } elementen
xml-div-undelimited = { -xml-refused }: het begin en einde van een div zijn niet te bepalen
xml-end-without-start = { -xml-refused }: een eindtag zonder begintag
xml-text-outside-div = { -xml-refused }: tekst buiten een narratieve div: FHIR XML geeft waarden in value-attributen
xml-cdata-refused = { -xml-refused }: CDATA-secties horen niet in FHIR XML
xml-doctype-refused = { -xml-refused }: een documenttypedeclaratie (DTD) wordt geweigerd: FHIR XML kent die niet
xml-processing-instruction-refused = { -xml-refused }: processing instructions worden geweigerd
xml-ends-early = { -xml-refused }: het document houdt op voordat het root-element is afgesloten
xml-content-after-root = { -xml-refused }: inhoud na het root-element
xml-div-no-resource = { -xml-refused }: een narratieve div is geen resource
xml-name-outside = { -xml-refused }: een elementnaam buiten het document
xml-namespace-prefix = { -xml-refused }: namespace-prefixen horen niet in FHIR XML: { $name }
xml-attribute-malformed = { -xml-refused }: een onjuist gevormd attribuut: { $detail }
xml-attribute-outside = { -xml-refused }: een attribuut buiten het document
xml-attribute-refused = { -xml-refused }: attribuut { $key } geweigerd: { $detail }
xml-resource-attribute = { -xml-refused }: een resource-element heeft geen attribuut { $key }
xml-attribute-unknown = { -xml-refused }: onbekend attribuut { $key }
xml-element-unknown = { -xml-refused }: { $owner } heeft geen element { $name }
xml-element-repeats = { -xml-refused }: { $name } komt { $count } keer voor; het mag maar één keer voorkomen
xml-one-resource = { -xml-refused }: { $name } bevat precies één resource-element
xml-not-a-resource = { -xml-refused }: { $name } is geen FHIR-resource
xml-narrative-without-markup = { -xml-refused }: narratief zonder markup
xml-not-primitive = { -xml-refused }: { $name } is geen primitief element: het heeft geen value-attribuut
xml-primitive-attribute = { -xml-refused }: een primitief element heeft alleen value- en id-attributen, geen { $key }
xml-primitive-only-extensions = { -xml-refused }: een primitief element bevat alleen extensions
xml-value-invalid = { -xml-refused }: geen geldige waarde van het type { $kind }
xml-element-empty = { -xml-refused }: een element zonder value en zonder extensions
xml-root-not-a-resource = { -xml-refused }: het root-element { $name } is geen FHIR-resource
xml-root-namespace = { -xml-refused }: het root-element moet in de FHIR-namespace { $namespace } staan
xml-no-resource = { -xml-refused }: er is geen resource gelezen

## The edge's words for a forwarding that cannot be built.

http-forward-receivers = een doorsturing noemt minstens één en hoogstens { $max } ontvangers
http-forward-note-too-long = de notitie is langer dan { $max } tekens

## A directory import that names an organisation twice.

http-directory-duplicate-identifier = identificatie { $identifier } hoort bij twee organisaties
http-directory-duplicate-client-id = SMART-client-id { $client } hoort bij twee organisaties
