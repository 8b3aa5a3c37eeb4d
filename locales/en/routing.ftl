# What the broker says when a handover cannot be routed, forwarded, wrapped or reported on (en).
# Element names, codes, organisation identifiers and tracking ids are shown as they are.

## Routing: the MessageHeader's sender and destinations, against the directory.

routing-no-sender = MessageHeader.sender must identify the sending organisation (Reference.identifier)
routing-sender-several = the sender { $identifiers ->
        [0] a reference without an organisation identifier
       *[other] { $party }
    } names several organisations ({ $organisations }); a message's sender is one organisation, the one this token belongs to ({ $caller })
routing-sender-other = the sender { $identifiers ->
        [0] a reference without an organisation identifier
       *[other] { $party }
    } is organisation { $organisation }; this token belongs to { $caller }
routing-sender-unknown = the sender { $identifiers ->
        [0] a reference without an organisation identifier
       *[other] { $party }
    } is not in the directory; a token may only send as its own organisation
routing-no-destination = MessageHeader.destination must name at least one receiving organisation
routing-no-receiver = destination.receiver must identify the receiving organisation
routing-unknown-receiver = receiver { $identifiers ->
        [0] a reference without an organisation identifier
       *[other] { $party }
    } is not in the directory
routing-receiver-several = receiver { $identifiers ->
        [0] a reference without an organisation identifier
       *[other] { $party }
    } names several organisations ({ $organisations }); a destination is one organisation
routing-event-not-accepted = receiver { $receiver } does not accept { $event } handovers
routing-endpoint-not-registered = destination.endpoint is not the endpoint registered for receiver { $receiver }; the broker only delivers to registered endpoints

## Documents: POST /fhir/Bundle, its receivers and the document Bundle's own form.

document-receiver-not-token = a receiver is an organisation identifier in FHIR token form, system|value (e.g. http://fhir.nl/fhir/NamingSystem/ura|90000012), the | URL-encoded as %7C
document-unknown-parameter = unknown parameter { $name }: POST /fhir/Bundle takes receiver (repeated) and event
document-no-receiver = name at least one receiver: ?receiver=system|value (an organisation identifier the directory knows)
document-too-many-receivers = { $count } receivers are named; the limit is { $limit }
document-unknown-sender = organisation { $organisation } is not in the directory; it cannot send
document-unknown-receiver = receiver { $receiver } is not in the directory
document-event-not-fitting = event is not a kind this document's Composition.type ({ $types }) fits; it fits: { $count ->
        [0] none
       *[other] { $kinds }
    }
document-type-unknown = Composition.type { $types } is not the type of any handover kind of this broker; accepted: { $accepted }
document-type-several = Composition.type { $types } is the type of several handover kinds ({ $kinds }); name one with ?event=
document-identifier-reused = a document with this Bundle.identifier was already sent by this organisation to these receivers with other content; a changed document needs a new Bundle.identifier
document-too-large = the document is larger than the limit of { $limit } bytes
document-not-object = expected a JSON object (a FHIR Bundle)
document-member-twice = the Bundle has member { $member } twice
document-not-bundle = expected a FHIR resource of type Bundle
document-no-entries = a document Bundle needs entries, the first a Composition
document-too-many-entries = the document has { $count } entries; the limit is { $max } (the message limit of { $limit } less the MessageHeader the broker adds)
document-no-composition = the first entry of a document Bundle must be a Composition
document-no-identifier = a document has Bundle.identifier with system and value (FHIR bdl-9): it is the document's identity, by which a resend is recognised
document-no-timestamp = a document has Bundle.timestamp (FHIR bdl-10)
document-no-type = Composition.type needs a coding (system and code): it says which handover kind the document is
document-no-focus = the Composition needs a fullUrl (or an id) for the message to refer to
document-entries-undelimited = the document's entries cannot be delimited
document-type-message = Bundle.type is message: post messages to /fhir/$process-message; POST /fhir/Bundle takes a Bundle of type document
document-type-other = Bundle.type is { $type }; POST /fhir/Bundle takes a Bundle of type document
document-type-missing = Bundle.type is missing; expected document

## Forwarding by a triage point: $forward's Parameters and the message forwarded.

forward-body-not-json = the body is not JSON
forward-not-parameters = the body must be a FHIR Parameters resource
forward-too-many-parameters = too many parameters
forward-receiver-not-identifier = a receiver is a valueIdentifier with system and value
forward-receiver-twice = this receiver is named twice
forward-bad-mode = mode is all or first-accept
forward-bad-note = a note is a non-empty valueString
forward-note-too-long = the note is longer than { $max } characters
forward-bad-tracking-id = tracking-id is the valueId of a tracking id
forward-parameter-twice = at most one { $name }
forward-unknown-parameter = unknown parameter: receiver, mode, note and tracking-id are known
forward-receiver-count = name 1 to { $max } receivers
forward-unknown-receiver = no organisation in the directory has this identifier
forward-receiver-not-other = a forwarding names other organisations, each once
forward-tracking-id-on-mailbox = tracking-id is for POST /fhir/$forward; this route names the mailbox item
forward-no-tracking-id = name the message to forward: tracking-id
forward-already-done = this message is already { $state }; it can no longer be forwarded
forward-other-forwarding = this message was forwarded as { $tracking } to other receivers or in another mode, and that forwarding is { $state ->
        [placed] placed
       *[open] still open
    }

## Notified Pull: a receiver's Task update.

notified-body-not-json = the body is not JSON: { $detail }
notified-not-object = the body is not a JSON object
notified-not-task = the body is not a Task
notified-other-id = Task.id must be the id in the URL
notified-unchangeable = only status, businessStatus and statusReason of a Task may change
notified-no-status = a Task needs a status
notified-status-not-settable = a receiver sets received, accepted, in-progress, completed, rejected or cancelled
notified-not-concept = expected a CodeableConcept
notified-bad-coding = coding must be Codings of system, code and display
notified-concept-members = a CodeableConcept holds coding and text only
notified-concept-too-long = longer than { $max } bytes
notified-patch-not-array = a JSON Patch is an array of operations
notified-patch-size = a JSON Patch holds 1 to { $max } operations
notified-patch-test-failed = test of { $path } failed
notified-patch-no-value = the operation has no value
notified-patch-replace-missing = replace of an element the Task does not have
notified-patch-remove-missing = remove of an element the Task does not have
notified-patch-path = a Task's PATCH may change /status, /businessStatus and /statusReason only
notified-patch-bad-op = not a JSON Patch operation

## Ingest: the single commit of a message, and a receiver's answer to one.

ingest-header-id-purged = MessageHeader.id { $header } was already used by this sender for a message whose payload has since been purged (retention), so a resend cannot be recognised as the same; send it with a new MessageHeader.id if it is still needed
ingest-header-id-reused = MessageHeader.id { $header } was already used by this sender for a message with other content; a changed message needs a new MessageHeader.id
ingest-original-moved = the message was forwarded, answered or expired meanwhile; it is no longer this triage point's to forward (see its receipts)
ingest-bundle-id-reused = Bundle.id was already used by this sender for a message with another MessageHeader.id
ingest-xml-unwritable = the message cannot be written as FHIR XML for a receiver that takes XML: { $problem }
ingest-response-code = MessageHeader.response.code must be ok, transient-error or fatal-error
ingest-placed-elsewhere = the patient was placed elsewhere: another candidate accepted this request first, and it was withdrawn from this organisation
ingest-answered-by-forwardee = this delivery was already answered ({ $current }) by the organisation it was forwarded to; it needs no answer from this organisation
ingest-already-answered = this delivery is already { $current }; it cannot become { $target }
ingest-cannot-become = this delivery cannot become { $target }
ingest-not-addressed = no message with this MessageHeader.id was addressed to this organisation by the organisation this response is addressed to; only its receiver may answer a message
ingest-several-originals = several messages addressed to this organisation carry this MessageHeader.id; name the original sender in MessageHeader.destination.receiver so that the answer reaches the right one

## Bed capacity: a provider's MeasureReport, and who may read the counts.

capacity-body-not-json = the body is not JSON (line { $line }, column { $column })
capacity-not-measure-report = the body must be a FHIR MeasureReport
capacity-reporter-no-identifier = the reporter names its organisation by identifier (system and value), or is left out
capacity-reporter-not-caller = an organisation reports its own capacity only: the reporter is not the caller
capacity-status = status must be complete
capacity-type = type must be summary
capacity-measure = measure must be the bed-capacity Measure { $measure }
capacity-bad-instant = must be a dateTime with a time and a zone (RFC 3339)
capacity-no-period-end = period.end is required: the time the counts hold
capacity-period-future = period.end lies in the future (more than { $seconds } seconds ahead)
capacity-period-reversed = period.start is after period.end
capacity-no-group = at least one group (care type) is required
capacity-too-many-groups = at most { $max } groups (care types) per report; this one has { $count }
capacity-bad-care-type = the group's code must be a care type of the bed-capacity Measure ({ $system })
capacity-care-type-twice = care type { $careType } is reported twice; one group per care type
capacity-bad-population = the population's code must be total, occupied or available ({ $system })
capacity-population-twice = { $population } given twice
capacity-bad-count = count must be an integer from 0 to { $max }
capacity-population-missing = population { $population } is required
capacity-available-over-total = available must not exceed total
capacity-occupied-over-total = occupied must not exceed total
capacity-summary-forbidden = the regional summary is for triage points and auditors
capacity-read-forbidden = bed capacity is read by triage points, auditors and the providers that report it (their own)
capacity-measure-twice = measure: give it once

## Handover quality: $evaluate-measure's parameters, and who may read which figures.

quality-unknown-organisation = { $name }: no organisation of the directory has this identifier
quality-forbidden = an organisation reads the figures where it is the sender or the receiver; the region's are for the quality role and auditors
quality-parameter-twice = { $name } is given more than once
quality-unknown-parameter = unknown parameter; known: { $known }
quality-bad-date = expected a date (YYYY-MM-DD)
quality-bad-period = periodStart is after periodEnd
quality-period-too-long = a report covers at most { $max } days
quality-bad-organisation = expected an organisation identifier as system|value
quality-bad-kind = expected a handover kind (its event code)

## Search parameters of the mailbox, the Task search and the audit trail: the parameter ($name), then what is wrong with it.

search-count = { $name }: expected a whole number
search-cursor = { $name }: not a cursor of this broker
mailbox-bad-wait = { $name }: expected seconds
mailbox-bad-total = { $name }: expected none, estimate or accurate
mailbox-bad-since = { $name }: expected an instant, e.g. 2026-11-22T08:00:00Z
notified-bad-status = { $name }: not a Task status
notified-bad-last-updated = { $name }: expected [ge|gt|le|lt|eq] and an instant or a date
audit-unknown-organisation = { $name }: no organisation with this identifier in the directory
audit-bad-date = { $name }: expected ge or le and an instant or a date
audit-bad-patient-identifier = { $name }: expected SYSTEM|VALUE
audit-patient-identifier-only = { $name }: a patient portal asks by patient-identifier only
audit-patient-one = { $name }: a patient portal asks for exactly one patient (SYSTEM|VALUE)
audit-output-failed = { $name }: { $detail }
