# What the validator says about a handover's content: base FHIR R4 structure, attachments, identifiers (nl).
# Arguments are element names, types, codes, counts and URLs, shown as given; never patient data.

## Base FHIR R4 structure (src/profiles/base.rs).

base-code-with-stray-character = { $element }: de code { $code } met een teken dat geen deel uitmaakt van een code (onzichtbaar teken, witruimte, stuurteken of niet-ASCII)
base-code-case = { $element }: codes zijn hoofdlettergevoelig; de code uit de verplichte binding is { $code }
base-code-not-in-binding = { $element }: geen van de codes uit de verplichte binding: { $codes }
base-code-not-in-binding-more = { $element }: geen van de codes uit de verplichte binding: { $codes }, … ({ $count } codes)
base-resource-type-missing = een resource moet een resourceType hebben
base-unknown-resource-type = { $type } is geen resourcetype van FHIR R4
base-not-an-object = JSON-object verwacht ({ $type })
base-empty-element = ele-1: een element moet een waarde of onderliggende elementen hebben; { $type } is leeg
base-duplicate-member = { $key } komt twee keer voor in dit object; in FHIR moeten JSON-members uniek zijn
base-second-choice = slechts één { $choice }[x] is toegestaan; dit is een tweede
base-unknown-element = { $key } is geen element van { $type }
base-empty-array = een array mag in FHIR JSON niet leeg zijn
base-not-an-array = { $key } moet een array zijn
base-array-not-allowed = { $key } mag maar één keer voorkomen: geen array
base-required = { $element } is verplicht in { $type }
base-code-not-a-string = een code moet een JSON-string zijn
base-control-characters = een FHIR { $type } mag geen stuurtekens bevatten (onder U+0020, behalve tab, CR en LF)
base-not-a-boolean = een FHIR { $type } moet een JSON-boolean zijn
base-not-a-number = een FHIR { $type } moet een JSON-getal zijn
base-not-an-integer = een FHIR { $type } moet een geheel JSON-getal binnen het toegestane bereik zijn
base-not-a-date = een FHIR { $type } moet een JSON-string in het FHIR-datumformaat met een bestaande kalenderdatum zijn
base-not-in-format = een FHIR { $type } moet een niet-lege JSON-string in het eigen FHIR-formaat zijn
base-period-reversed = per-1: de periode eindigt voordat deze begint

## Attachments and Binaries (src/profiles/attachments.rs): messages follow the element they are about.

attachment-data-without-content-type = att-1: een Attachment met data moet een contentType hebben
attachment-content-type-differs-from-binary = is { $type }, maar de Binary waarnaar de url verwijst is { $binary }
attachment-data-differs-from-binary = wijkt af van de data van de Binary waarnaar de url verwijst
attachment-url-in-nested-resource = een url in een resource die in een andere resource is opgenomen, wordt niet opgezocht: de inhoud wordt niet gecontroleerd
attachment-url-contained-not-binary = verwijst naar een contained resource die geen Binary is
attachment-url-no-contained-resource = verwijst naar geen enkele contained resource
attachment-url-not-a-binary = verwijst naar een { $type } in de Bundle, niet naar een Binary
attachment-url-entry-without-resource = verwijst naar een entry zonder resource
attachment-url-no-binary = verwijst naar geen Binary in de Bundle: een overdracht bevat haar documenten zelf
attachment-url-outside-bundle = verwijst naar een plek buiten de Bundle: de broker controleert de inhoud niet
attachment-size-mismatch = is { $size }, maar de data is { $bytes } bytes
attachment-hash-mismatch = is niet de SHA-1 van de data
attachment-hash-length = is { $bytes } bytes; Attachment.hash is in R4 een SHA-1 (20 bytes) in base64
attachment-hash-too-long = is meer dan 64 bytes; Attachment.hash is in R4 een SHA-1 (20 bytes) in base64
attachment-base64-length = is geen base64: de lengte (zonder witruimte) is geen veelvoud van 4
attachment-too-large = levert gedecodeerd { $bytes } bytes op; de broker vervoert maximaal { $max } bytes per bijlage
attachment-base64-character = is geen base64: op positie { $position } (zonder witruimte) staat een teken dat geen base64 is
attachment-base64-last-bits = is geen base64: eindigt op positie { $position } met bits die in base64 nul zijn
attachment-base64-no-length = is geen base64: de lengte past bij geen enkele base64-tekst
attachment-base64-padding = is geen base64: de opvulling (=) staat op de verkeerde plaats
attachment-not-a-media-type = is geen mediatype (type/subtype, RFC 6838)
attachment-not-a-pdf = contentType is { $type }, maar de bytes beginnen niet met %PDF-, zoals een PDF wel doet
attachment-pdf-cut-off = contentType is { $type }: geen %%EOF in de laatste { $tail } bytes: de PDF is mogelijk afgekapt
attachment-bytes-are-a-pdf = contentType is { $type }, maar de bytes zijn een PDF
attachment-not-utf8 = contentType is { $type }, maar de bytes zijn geen UTF-8 (vanaf byte { $byte })
attachment-control-character = contentType is { $type }, maar de bytes bevatten een stuurteken ({ $character }) op byte { $byte }
attachment-xhtml-first-element = contentType is { $type }, maar het eerste element is geen html of div
attachment-xhtml-namespace = contentType is { $type }, maar het eerste element staat niet in de XHTML-namespace ({ $namespace })
attachment-html-not-markup = contentType is { $type }, maar de bytes zijn geen markup: HTML begint met een tag, commentaar of een DOCTYPE
attachment-xhtml-not-markup = contentType is { $type }, maar de bytes zijn geen markup: XHTML begint met een html- of div-element (na een eventuele XML-declaratie, commentaar en DOCTYPE)
attachment-instruction-does-not-end = contentType is { $type }, maar de bytes zijn geen correcte markup: een processing instruction wordt niet afgesloten
attachment-comment-does-not-end = contentType is { $type }, maar de bytes zijn geen correcte markup: een commentaar wordt niet afgesloten
attachment-doctype-does-not-end = contentType is { $type }, maar de bytes zijn geen correcte markup: de DOCTYPE wordt niet afgesloten
attachment-start-tag-broken = contentType is { $type }, maar de bytes zijn geen correcte markup: de eerste starttag is onvolledig
attachment-charset-not-checked = { $type } in tekenset { $charset } wordt niet gecontroleerd (de broker leest alleen UTF-8)
attachment-unnamed-charset-not-checked = { $type } in een tekenset zonder geldige naam wordt niet gecontroleerd (de broker leest alleen UTF-8)
attachment-encoding-not-checked = application/xhtml+xml in encoding { $encoding } wordt niet gecontroleerd (de broker leest alleen UTF-8)
attachment-unnamed-encoding-not-checked = application/xhtml+xml in een encoding zonder geldige naam wordt niet gecontroleerd (de broker leest alleen UTF-8)
attachment-type-not-checked = contenttype { $type } wordt niet gecontroleerd (de broker controleert application/pdf, text/plain, application/xhtml+xml en text/html)

## Identifiers with a check (src/profiles/identifiers.rs): $name is the NamingSystem's name (BSN, INSZ,
## AGB, ...), $holder is patient (an error) or other (a warning). The value itself is never shown.

identifier-not-digits = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } bevat andere tekens dan cijfers
identifier-digit-count = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } heeft een onjuist aantal cijfers
identifier-not-9-digits = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } bestaat niet uit 9 cijfers
identifier-eleven-check = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } voldoet niet aan de elfproef
identifier-not-11-digits = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } bestaat niet uit 11 cijfers
identifier-check-digit = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } voldoet niet aan de modulo 97-controle
identifier-not-10-digits = { $holder ->
        [patient] { $name } van de patiënt
       *[other] { $name }
    } bestaat niet uit 10 cijfers die met 0 of 1 beginnen

## Profiles and Bundle integrity (src/profiles/validate.rs, src/profiles/mod.rs). A profile constraint's own
## text ("hb-pat-1: ...") comes from constraints.ftl by its key.

profile-unknown-event = event { $system }|{ $code } is geen overdrachtssoort van deze broker (bekend: { $known } uit { $events })
profile-reference-not-contained = de referentie verwijst niet naar een contained resource
profile-reference-unresolved = de referentie verwijst niet naar een resource in deze Bundle; een overdracht moet elke resource bevatten waarnaar zij verwijst
profile-reference-type = dit verwijst naar een { $type }; het element mag verwijzen naar { $allowed }
profile-reference-other-patient = dit verwijst naar een andere patiënt dan die van de overdracht (entry { $entry }); een overdracht betreft één patiënt
profile-second-patient = een overdracht betreft één patiënt, maar deze Bundle bevat nog een Patient (de eerste is entry { $entry })
profile-wrong-resource-type = verwacht een { $expected } (profiel { $profile }), gevonden een { $type }
profile-pattern = het profiel vereist { $pattern }
profile-target-type = het profiel staat hier een referentie naar { $last } toe; deze verwijst naar een resource van het type { $type }
profile-target-types = het profiel staat hier een referentie naar { $allowed } of { $last } toe; deze verwijst naar een resource van het type { $type }
profile-code-not-in-value-set = code { $codes } komt niet voor in de verplichte valueset { $valueset }
profile-min = { $element } is verplicht volgens het profiel (minimaal { $min }, gevonden { $count })
profile-max = { $element } mag maximaal { $max } keer voorkomen, gevonden { $count }
profile-slice-min = { $element } '{ $slice }' is verplicht volgens het profiel (minimaal { $min }, gevonden { $count })
profile-slice-min-pattern = { $element } '{ $slice }' ({ $pattern }) is verplicht volgens het profiel (minimaal { $min }, gevonden { $count })
profile-slice-max = { $element } '{ $slice }' mag maximaal { $max } keer voorkomen, gevonden { $count }
profile-slice-max-pattern = { $element } '{ $slice }' ({ $pattern }) mag maximaal { $max } keer voorkomen, gevonden { $count }
profile-focus-missing = MessageHeader.focus moet verwijzen naar de { $type } van de overdracht
profile-nothing-to-check = geen { $type } om te controleren tegen { $profile }
