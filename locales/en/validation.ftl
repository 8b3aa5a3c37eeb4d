# What the validator says about a handover's content: base FHIR R4 structure, attachments, identifiers (en).
# Arguments are element names, types, codes, counts and URLs, shown as given; never patient data.

## Base FHIR R4 structure (src/profiles/base.rs).

base-code-with-stray-character = { $element }: the code { $code } with a character that is no part of any code (invisible, white space, control or non-ASCII)
base-code-case = { $element }: codes are case-sensitive; the code of the required binding is { $code }
base-code-not-in-binding = { $element }: not one of the codes of its required binding: { $codes }
base-code-not-in-binding-more = { $element }: not one of the codes of its required binding: { $codes }, … ({ $count } codes)
base-resource-type-missing = a resource needs resourceType
base-unknown-resource-type = { $type } is not an R4 resource type
base-not-an-object = expected a JSON object ({ $type })
base-empty-element = ele-1: an element must have a value or children; { $type } is empty
base-duplicate-member = { $key } occurs twice in this object; JSON members must be unique in FHIR
base-second-choice = only one of { $choice }[x] may be present; this is a second one
base-unknown-element = { $key } is not an element of { $type }
base-empty-array = arrays must not be empty in FHIR JSON
base-not-an-array = { $key } must be an array
base-array-not-allowed = { $key } may occur once: not an array
base-required = { $element } is required in { $type }
base-code-not-a-string = a code must be a JSON string
base-control-characters = a FHIR { $type } must not contain control characters (below U+0020 other than tab, CR and LF)
base-not-a-boolean = a FHIR { $type } must be a JSON boolean
base-not-a-number = a FHIR { $type } must be a JSON number
base-not-an-integer = a FHIR { $type } must be a JSON integer in range
base-not-a-date = a FHIR { $type } must be a JSON string in FHIR date format with a real calendar date
base-not-in-format = a FHIR { $type } must be a non-empty JSON string in its FHIR format
base-period-reversed = per-1: the period ends before it starts

## Attachments and Binaries (src/profiles/attachments.rs): messages follow the element they are about.

attachment-data-without-content-type = att-1: an Attachment with data needs a contentType
attachment-content-type-differs-from-binary = is { $type }, but the Binary its url points at is { $binary }
attachment-data-differs-from-binary = differs from the data of the Binary its url points at
attachment-url-in-nested-resource = a url inside a resource nested in another is not resolved: its content is not checked
attachment-url-contained-not-binary = points at a contained resource that is not a Binary
attachment-url-no-contained-resource = points at no contained resource
attachment-url-not-a-binary = points at a { $type } in the Bundle, not a Binary
attachment-url-entry-without-resource = points at an entry without a resource
attachment-url-no-binary = names no Binary in the Bundle: a handover carries its documents inside it
attachment-url-outside-bundle = points outside the Bundle: the broker does not check its content
attachment-size-mismatch = is { $size }, but the data is { $bytes } bytes
attachment-hash-mismatch = is not the SHA-1 of the data
attachment-hash-length = is { $bytes } bytes; R4's Attachment.hash is a SHA-1 (20 bytes) in base64
attachment-hash-too-long = is over 64 bytes; R4's Attachment.hash is a SHA-1 (20 bytes) in base64
attachment-base64-length = is not base64: its length (white space aside) is not a multiple of 4
attachment-too-large = decodes to { $bytes } bytes; the broker carries at most { $max } bytes per attachment
attachment-base64-character = is not base64: it has a character that is not base64 at position { $position } (white space aside)
attachment-base64-last-bits = is not base64: it ends at position { $position } with bits that base64 leaves zero
attachment-base64-no-length = is not base64: it has the length of no base64 text
attachment-base64-padding = is not base64: it has its padding (=) in the wrong place
attachment-not-a-media-type = is not a media type (type/subtype, RFC 6838)
attachment-not-a-pdf = contentType is { $type }, but the bytes do not start with %PDF-, as a PDF does
attachment-pdf-cut-off = contentType is { $type }: no %%EOF in the last { $tail } bytes: the PDF may be cut off
attachment-bytes-are-a-pdf = contentType is { $type }, but the bytes are a PDF
attachment-not-utf8 = contentType is { $type }, but the bytes are not UTF-8 (from byte { $byte })
attachment-control-character = contentType is { $type }, but the bytes hold a control character ({ $character }) at byte { $byte }
attachment-xhtml-first-element = contentType is { $type }, but its first element is not html or div
attachment-xhtml-namespace = contentType is { $type }, but its first element is not in the XHTML namespace ({ $namespace })
attachment-html-not-markup = contentType is { $type }, but the bytes are not markup: HTML starts with a tag, a comment or a DOCTYPE
attachment-xhtml-not-markup = contentType is { $type }, but the bytes are not markup: XHTML starts with an html or div element (after an optional XML declaration, comments and DOCTYPE)
attachment-instruction-does-not-end = contentType is { $type }, but the bytes are not well-formed markup: a processing instruction does not end
attachment-comment-does-not-end = contentType is { $type }, but the bytes are not well-formed markup: a comment does not end
attachment-doctype-does-not-end = contentType is { $type }, but the bytes are not well-formed markup: the DOCTYPE does not end
attachment-start-tag-broken = contentType is { $type }, but the bytes are not well-formed markup: the first start tag is broken
attachment-charset-not-checked = { $type } in charset { $charset } is not checked (the broker reads UTF-8 only)
attachment-unnamed-charset-not-checked = { $type } in charset (not a charset name) is not checked (the broker reads UTF-8 only)
attachment-encoding-not-checked = application/xhtml+xml in encoding { $encoding } is not checked (the broker reads UTF-8 only)
attachment-unnamed-encoding-not-checked = application/xhtml+xml in encoding (not an encoding name) is not checked (the broker reads UTF-8 only)
attachment-type-not-checked = content type { $type } is not checked (the broker checks application/pdf, text/plain, application/xhtml+xml and text/html)

## Identifiers with a check (src/profiles/identifiers.rs): $name is the NamingSystem's name (BSN, INSZ,
## AGB, ...), $holder is patient (an error) or other (a warning). The value itself is never shown.

identifier-not-digits = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } has characters other than digits
identifier-digit-count = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } has the wrong number of digits
identifier-not-9-digits = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } is not 9 digits
identifier-eleven-check = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } fails the 11-check
identifier-not-11-digits = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } is not 11 digits
identifier-check-digit = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } fails the modulo 97 check
identifier-not-10-digits = { $holder ->
        [patient] the patient's { $name }
       *[other] { $name }
    } is not 10 digits starting 0 or 1

## Profiles and Bundle integrity (src/profiles/validate.rs, src/profiles/mod.rs). A profile constraint's own
## text ("hb-pat-1: ...") comes from constraints.ftl by its key.

profile-unknown-event = event { $system }|{ $code } is not a handover kind of this broker (known: { $known } from { $events })
profile-reference-not-contained = the reference does not resolve to a contained resource
profile-reference-unresolved = the reference does not resolve to a resource in this Bundle; a handover must carry every resource it refers to
profile-reference-type = this refers to a { $type }; the element may refer to { $allowed }
profile-reference-other-patient = this refers to another patient than the handover's (entry { $entry }); a handover concerns one patient
profile-second-patient = a handover concerns one patient, but this Bundle holds another Patient (the first is entry { $entry })
profile-wrong-resource-type = expected a { $expected } (profile { $profile }), found a { $type }
profile-pattern = the profile requires { $pattern }
profile-target-type = the profile allows a reference to { $last } here; this one points to a resource of type { $type }
profile-target-types = the profile allows a reference to { $allowed } or { $last } here; this one points to a resource of type { $type }
profile-code-not-in-value-set = code { $codes } is not in the required value set { $valueset }
profile-min = { $element } is required by the profile (at least { $min }, found { $count })
profile-max = { $element } may occur at most { $max } time(s), found { $count }
profile-slice-min = { $element } '{ $slice }' is required by the profile (at least { $min }, found { $count })
profile-slice-min-pattern = { $element } '{ $slice }' ({ $pattern }) is required by the profile (at least { $min }, found { $count })
profile-slice-max = { $element } '{ $slice }' may occur at most { $max } time(s), found { $count }
profile-slice-max-pattern = { $element } '{ $slice }' ({ $pattern }) may occur at most { $max } time(s), found { $count }
profile-focus-missing = MessageHeader.focus must point at the { $type } of the handover
profile-nothing-to-check = no { $type } to check against { $profile }
