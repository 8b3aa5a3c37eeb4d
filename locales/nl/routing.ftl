# Wat de broker zegt als een overdracht niet gerouteerd, doorgestuurd, verpakt of gerapporteerd kan worden (nl).
# Elementnamen, codes, identificaties van organisaties en tracking-id's blijven zoals ze zijn.

## Routering: de verzender en bestemmingen in de MessageHeader, getoetst aan het adresboek.

routing-no-sender = MessageHeader.sender moet de verzendende organisatie identificeren (Reference.identifier)
routing-sender-several = de verzender { $identifiers ->
        [0] een verwijzing zonder identificatie van een organisatie
       *[other] { $party }
    } verwijst naar meerdere organisaties ({ $organisations }); de verzender van een bericht is één organisatie, die waartoe dit token behoort ({ $caller })
routing-sender-other = de verzender { $identifiers ->
        [0] een verwijzing zonder identificatie van een organisatie
       *[other] { $party }
    } is organisatie { $organisation }; dit token behoort tot { $caller }
routing-sender-unknown = de verzender { $identifiers ->
        [0] een verwijzing zonder identificatie van een organisatie
       *[other] { $party }
    } staat niet in het adresboek; met een token kan alleen namens de eigen organisatie verzonden worden
routing-no-destination = MessageHeader.destination moet ten minste één ontvangende organisatie noemen
routing-no-receiver = destination.receiver moet de ontvangende organisatie identificeren
routing-unknown-receiver = ontvanger { $identifiers ->
        [0] een verwijzing zonder identificatie van een organisatie
       *[other] { $party }
    } staat niet in het adresboek
routing-receiver-several = ontvanger { $identifiers ->
        [0] een verwijzing zonder identificatie van een organisatie
       *[other] { $party }
    } verwijst naar meerdere organisaties ({ $organisations }); een bestemming is één organisatie
routing-event-not-accepted = ontvanger { $receiver } neemt geen overdrachten van het soort { $event } aan
routing-endpoint-not-registered = destination.endpoint is niet het endpoint dat voor ontvanger { $receiver } is geregistreerd; de broker levert alleen af op geregistreerde endpoints

## Documenten: POST /fhir/Bundle, de ontvangers en de vorm van de document-Bundle zelf.

document-receiver-not-token = een ontvanger is een identificatie van een organisatie in FHIR-tokenvorm, system|value (bijv. http://fhir.nl/fhir/NamingSystem/ura|90000012), met de | in de URL gecodeerd als %7C
document-unknown-parameter = onbekende parameter { $name }: POST /fhir/Bundle kent receiver (herhaalbaar) en event
document-no-receiver = noem ten minste één ontvanger: ?receiver=system|value (een identificatie van een organisatie die in het adresboek staat)
document-too-many-receivers = er zijn { $count } ontvangers genoemd; het maximum is { $limit }
document-unknown-sender = organisatie { $organisation } staat niet in het adresboek; zij kan niet verzenden
document-unknown-receiver = ontvanger { $receiver } staat niet in het adresboek
document-event-not-fitting = event is geen soort overdracht waarbij de Composition.type van dit document ({ $types }) past; het past bij: { $count ->
        [0] geen
       *[other] { $kinds }
    }
document-type-unknown = Composition.type { $types } is niet het type van een soort overdracht van deze broker; toegestaan: { $accepted }
document-type-several = Composition.type { $types } is het type van meerdere soorten overdracht ({ $kinds }); kies er één met ?event=
document-identifier-reused = een document met deze Bundle.identifier is door deze organisatie al met andere inhoud naar deze ontvangers gestuurd; een gewijzigd document heeft een nieuwe Bundle.identifier nodig
document-too-large = het document is groter dan het maximum van { $limit } bytes
document-not-object = verwacht werd een JSON-object (een FHIR Bundle)
document-member-twice = de Bundle bevat het element { $member } twee keer
document-not-bundle = verwacht werd een FHIR-resource van het type Bundle
document-no-entries = een document-Bundle heeft entries nodig, waarvan de eerste een Composition is
document-too-many-entries = het document heeft { $count } entries; het maximum is { $max } (het maximum van { $limit } voor een bericht, min de MessageHeader die de broker toevoegt)
document-no-composition = de eerste entry van een document-Bundle moet een Composition zijn
document-no-identifier = een document heeft een Bundle.identifier met system en value (FHIR bdl-9): dat is de identiteit van het document, waaraan een herhaalde verzending wordt herkend
document-no-timestamp = een document heeft een Bundle.timestamp (FHIR bdl-10)
document-no-type = Composition.type heeft een coding nodig (system en code): die geeft aan welke soort overdracht het document is
document-no-focus = de Composition heeft een fullUrl (of een id) nodig waarnaar het bericht kan verwijzen
document-entries-undelimited = de entries van het document zijn niet af te bakenen
document-type-message = Bundle.type is message: stuur berichten naar /fhir/$process-message; POST /fhir/Bundle neemt een Bundle van het type document aan
document-type-other = Bundle.type is { $type }; POST /fhir/Bundle neemt een Bundle van het type document aan
document-type-missing = Bundle.type ontbreekt; verwacht werd document

## Doorsturen door een triagepunt: de Parameters van $forward en het doorgestuurde bericht.

forward-body-not-json = de body is geen JSON
forward-not-parameters = de body moet een FHIR-resource Parameters zijn
forward-too-many-parameters = te veel parameters
forward-receiver-not-identifier = een ontvanger is een valueIdentifier met system en value
forward-receiver-twice = deze ontvanger is twee keer genoemd
forward-bad-mode = mode is all of first-accept
forward-bad-note = een notitie is een niet-lege valueString
forward-note-too-long = de notitie is langer dan { $max } tekens
forward-bad-tracking-id = tracking-id is de valueId van een tracking-id
forward-parameter-twice = hoogstens één { $name }
forward-unknown-parameter = onbekende parameter: bekend zijn receiver, mode, note en tracking-id
forward-receiver-count = noem 1 tot { $max } ontvangers
forward-unknown-receiver = geen organisatie in het adresboek heeft deze identificatie
forward-receiver-not-other = een doorsturing noemt andere organisaties, elk één keer
forward-tracking-id-on-mailbox = tracking-id is voor POST /fhir/$forward; deze route noemt het item in de postbus
forward-no-tracking-id = noem het bericht dat doorgestuurd moet worden: tracking-id
forward-already-done = dit bericht heeft al de status { $state }; het kan niet meer doorgestuurd worden
forward-other-forwarding = dit bericht is als { $tracking } naar andere ontvangers of in een andere mode doorgestuurd, en die doorsturing is { $state ->
        [placed] geplaatst
       *[open] nog open
    }

## Notified Pull: de bijwerking van een Task door een ontvanger.

notified-body-not-json = de body is geen JSON: { $detail }
notified-not-object = de body is geen JSON-object
notified-not-task = de body is geen Task
notified-other-id = Task.id moet de id uit de URL zijn
notified-unchangeable = alleen status, businessStatus en statusReason van een Task mogen veranderen
notified-no-status = een Task heeft een status nodig
notified-status-not-settable = een ontvanger zet received, accepted, in-progress, completed, rejected of cancelled
notified-not-concept = verwacht werd een CodeableConcept
notified-bad-coding = coding moet bestaan uit Codings met system, code en display
notified-concept-members = een CodeableConcept bevat alleen coding en text
notified-concept-too-long = langer dan { $max } bytes
notified-patch-not-array = een JSON Patch is een array van operaties
notified-patch-size = een JSON Patch bevat 1 tot { $max } operaties
notified-patch-test-failed = test van { $path } is mislukt
notified-patch-no-value = de operatie heeft geen value
notified-patch-replace-missing = replace van een element dat de Task niet heeft
notified-patch-remove-missing = remove van een element dat de Task niet heeft
notified-patch-path = de PATCH van een Task mag alleen /status, /businessStatus en /statusReason wijzigen
notified-patch-bad-op = geen operatie van een JSON Patch

## Ontvangst: het vastleggen van een bericht, en het antwoord van een ontvanger daarop.

ingest-header-id-purged = MessageHeader.id { $header } is door deze verzender al gebruikt voor een bericht waarvan de inhoud inmiddels is verwijderd (bewaartermijn), zodat een herhaalde verzending niet als hetzelfde bericht herkend kan worden; verstuur het met een nieuwe MessageHeader.id als het nog nodig is
ingest-header-id-reused = MessageHeader.id { $header } is door deze verzender al gebruikt voor een bericht met andere inhoud; een gewijzigd bericht heeft een nieuwe MessageHeader.id nodig
ingest-original-moved = het bericht is intussen doorgestuurd, beantwoord of verlopen; het is niet meer aan dit triagepunt om het door te sturen (zie de ontvangstbevestigingen)
ingest-bundle-id-reused = Bundle.id is door deze verzender al gebruikt voor een bericht met een andere MessageHeader.id
ingest-xml-unwritable = het bericht kan niet als FHIR XML worden geschreven voor een ontvanger die XML afneemt: { $problem }
ingest-response-code = MessageHeader.response.code moet ok, transient-error of fatal-error zijn
ingest-placed-elsewhere = de patiënt is elders geplaatst: een andere kandidaat heeft dit verzoek eerder geaccepteerd, en het is bij deze organisatie ingetrokken
ingest-answered-by-forwardee = deze aflevering is al beantwoord ({ $current }) door de organisatie waarnaar ze is doorgestuurd; een antwoord van deze organisatie is niet nodig
ingest-already-answered = deze aflevering heeft al de status { $current }; ze kan niet de status { $target } krijgen
ingest-cannot-become = deze aflevering kan niet de status { $target } krijgen
ingest-not-addressed = er is geen bericht met deze MessageHeader.id aan deze organisatie gericht door de organisatie waaraan dit antwoord gericht is; alleen de ontvanger van een bericht mag het beantwoorden
ingest-several-originals = meerdere berichten aan deze organisatie dragen deze MessageHeader.id; noem de oorspronkelijke verzender in MessageHeader.destination.receiver zodat het antwoord de juiste bereikt

## Beddencapaciteit: de MeasureReport van een zorgaanbieder, en wie de aantallen mag lezen.

capacity-body-not-json = de body is geen JSON (regel { $line }, kolom { $column })
capacity-not-measure-report = de body moet een FHIR MeasureReport zijn
capacity-reporter-no-identifier = de reporter noemt zijn organisatie met een identificatie (system en value), of wordt weggelaten
capacity-reporter-not-caller = een organisatie rapporteert alleen haar eigen capaciteit: de reporter is niet de aanroeper
capacity-status = status moet complete zijn
capacity-type = type moet summary zijn
capacity-measure = measure moet de Measure voor beddencapaciteit zijn, { $measure }
capacity-bad-instant = moet een dateTime zijn met een tijd en een tijdzone (RFC 3339)
capacity-no-period-end = period.end is verplicht: het moment waarop de aantallen gelden
capacity-period-future = period.end ligt in de toekomst (meer dan { $seconds } seconden vooruit)
capacity-period-reversed = period.start ligt na period.end
capacity-no-group = ten minste één group (zorgsoort) is verplicht
capacity-too-many-groups = hoogstens { $max } groups (zorgsoorten) per rapport; dit rapport heeft er { $count }
capacity-bad-care-type = de code van de group moet een zorgsoort van de Measure voor beddencapaciteit zijn ({ $system })
capacity-care-type-twice = zorgsoort { $careType } is twee keer gerapporteerd; één group per zorgsoort
capacity-bad-population = de code van de population moet total, occupied of available zijn ({ $system })
capacity-population-twice = { $population } is twee keer opgegeven
capacity-bad-count = count moet een geheel getal van 0 tot { $max } zijn
capacity-population-missing = population { $population } is verplicht
capacity-available-over-total = available mag niet groter zijn dan total
capacity-occupied-over-total = occupied mag niet groter zijn dan total
capacity-summary-forbidden = het regionale overzicht is voor triagepunten en auditors
capacity-read-forbidden = beddencapaciteit wordt gelezen door triagepunten, auditors en de zorgaanbieders die haar rapporteren (hun eigen)
capacity-measure-twice = measure: geef deze één keer op

## Kwaliteit van overdrachten: de parameters van $evaluate-measure, en wie welke cijfers mag lezen.

quality-unknown-organisation = { $name }: geen organisatie in het adresboek heeft deze identificatie
quality-forbidden = een organisatie leest de cijfers waarin zij verzender of ontvanger is; die van de regio zijn voor de kwaliteitsrol en auditors
quality-parameter-twice = { $name } is meer dan één keer opgegeven
quality-unknown-parameter = onbekende parameter; bekend zijn: { $known }
quality-bad-date = verwacht werd een datum (JJJJ-MM-DD)
quality-bad-period = periodStart ligt na periodEnd
quality-period-too-long = een rapport beslaat hoogstens { $max } dagen
quality-bad-organisation = verwacht werd een identificatie van een organisatie als system|value
quality-bad-kind = verwacht werd een soort overdracht (de eventcode ervan)

## Zoekparameters van de postbus, het zoeken naar Tasks en het auditlog: de parameter ($name), dan wat er mis mee is.

search-count = { $name }: verwacht werd een geheel getal
search-cursor = { $name }: geen cursor van deze broker
mailbox-bad-wait = { $name }: verwacht werd een aantal seconden
mailbox-bad-total = { $name }: verwacht werd none, estimate of accurate
mailbox-bad-since = { $name }: verwacht werd een tijdstip, bijv. 2026-11-22T08:00:00Z
notified-bad-status = { $name }: geen status van een Task
notified-bad-last-updated = { $name }: verwacht werd [ge|gt|le|lt|eq] en een tijdstip of een datum
audit-unknown-organisation = { $name }: geen organisatie met deze identificatie in het adresboek
audit-bad-date = { $name }: verwacht werd ge of le en een tijdstip of een datum
audit-bad-patient-identifier = { $name }: verwacht werd SYSTEM|VALUE
audit-patient-identifier-only = { $name }: een patiëntenportaal vraagt alleen met patient-identifier
audit-patient-one = { $name }: een patiëntenportaal vraagt naar precies één patiënt (SYSTEM|VALUE)
audit-output-failed = { $name }: { $detail }
