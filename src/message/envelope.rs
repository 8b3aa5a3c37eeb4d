//! From request bytes to a [`Submission`]: limits, JSON, the message envelope and the hashes.
//!
//! Only the envelope is read here (Bundle type, MessageHeader, sender, destinations); what the message
//! carries is the profiles' business. The parsed tree is kept for the validator; the bytes are kept
//! exactly as received, because they, not a re-serialisation, are what is stored and forwarded.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::index::BundleIndex;
use crate::config::Limits;
use crate::json::{Field, Json};
use crate::model::{EventCode, HeaderId, OrgIdentifier, Priority};
use crate::outcome::{Issue, IssueCode, Text};
use crate::time::Millis;

/// Where the MessageHeader is, as a FHIRPath prefix.
const HEADER: &str = "Bundle.entry[0].resource";

/// What [`read_json`] expects of a message body, and of a document body (`document` flow): the
/// catalogues have these words in every language.
pub const MESSAGE_BUNDLE: &str = "a FHIR message Bundle";
pub const DOCUMENT_BUNDLE: &str = "a FHIR document Bundle";

/// `MessageHeader.eventCoding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCoding {
    pub system: String,
    pub code: EventCode,
}

/// An organisation named by the message (sender or receiver): the identifiers it is known by, given in
/// the Reference itself and on the Organization resource the Reference points to, in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRef {
    pub identifiers: Vec<OrgIdentifier>,
    /// FHIRPath of the Reference, for issues.
    pub expression: String,
}

/// Which receipts the sender asks for with the NHS ITK3 handling keys (`InfAckRequested`,
/// `BusAckRequested`, in the `Extension-ITK-MessageHandling-2` extension) or the broker's own
/// `message-handling` extension with keys `INFACK` and `BUSACK`. `None`: not said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handling {
    pub infack: Option<bool>,
    pub busack: Option<bool>,
}

/// One `MessageHeader.destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub receiver: Option<PartyRef>,
    pub endpoint: Option<String>,
    pub expression: String,
}

self_cell::self_cell!(
    /// The bytes as received and the tree parsed from them, which borrows its strings from the bytes.
    struct Document {
        owner: Bytes,
        #[covariant]
        dependent: Json,
    }
    impl {Debug}
);

/// A message Bundle whose envelope is well-formed.
#[derive(Debug)]
pub struct Submission {
    header_id: HeaderId,
    bundle_id: Option<String>,
    event: EventCoding,
    source_endpoint: String,
    sender: Option<PartyRef>,
    destinations: Vec<Destination>,
    /// `MessageHeader.response.identifier` when this is a response message.
    response_to: Option<String>,
    /// `MessageHeader.response.code` of a response message.
    response_code: Option<String>,
    handling: Handling,
    /// The entries by every name a reference may use.
    index: BundleIndex,
    document: Document,
    /// The message as JSON: the bytes received, or the JSON written from the XML received.
    json: Bytes,
}

impl Submission {
    pub fn header_id(&self) -> &HeaderId {
        &self.header_id
    }
    pub fn bundle_id(&self) -> Option<&str> {
        self.bundle_id.as_deref()
    }
    pub fn event(&self) -> &EventCoding {
        &self.event
    }
    pub fn source_endpoint(&self) -> &str {
        &self.source_endpoint
    }
    pub fn sender(&self) -> Option<&PartyRef> {
        self.sender.as_ref()
    }
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }
    pub fn response_to(&self) -> Option<&str> {
        self.response_to.as_deref()
    }
    pub fn response_code(&self) -> Option<&str> {
        self.response_code.as_deref()
    }
    pub fn handling(&self) -> Handling {
        self.handling
    }
    /// Hex SHA-256 of the canonical `Bundle.entry`: equal for a resend of the same content whatever its
    /// `Bundle.id`, `timestamp`, `meta`, key order or white space. Computed on demand: only a
    /// resubmission under a known key needs it.
    pub fn entries_sha256(&self) -> String {
        // The tree keeps members in document order; the canonical form sorts them, which a
        // `serde_json::Value` map does by itself. A rare path: the conversion costs nothing that matters.
        let entries = self.document().field("entry").unwrap_or(&Json::Null);
        canonical_sha256(&serde_json::Value::from(entries))
    }
    /// The parsed Bundle, for the validator.
    pub fn document(&self) -> &Json<'_> {
        self.document.borrow_dependent()
    }
    /// The message as JSON: the exact bytes received, or (XML received) the JSON written from them.
    pub fn payload(&self) -> &Bytes {
        &self.json
    }
    /// The Bundle's entries by every name a reference may use.
    pub fn index(&self) -> &BundleIndex {
        &self.index
    }
    /// When the patient's stay ended: `period.end` of the first Encounter in the Bundle that has one
    /// (a handover at discharge names the stay it ends). A date without a time counts as the end of
    /// that day (UTC), which gives a sender the benefit of the doubt at the 24-hour mark.
    pub fn stay_ended_at(&self) -> Option<Millis> {
        self.document().items("entry").iter().filter_map(|e| e.field("resource")).find_map(|resource| {
            if resource.str_field("resourceType") != Some("Encounter") {
                return None;
            }
            let end = resource.field("period")?.str_field("end")?;
            let at = crate::time::parse_instant(end)?;
            Some(if end.len() == 10 { at.plus_millis(86_400_000 - 1) } else { at })
        })
    }

    /// The request's priority: `priority` of the focus (`MessageHeader.focus[0]`) when it is a
    /// ServiceRequest in the Bundle (care requests, referrals) with one of FHIR's request-priority
    /// codes; `None` otherwise.
    pub fn priority(&self) -> Option<Priority> {
        let entries = self.document().items("entry");
        let header = entries.first()?.field("resource")?;
        let focus = header.items("focus").first()?.str_field("reference")?;
        let resource = entries.get(self.index.resolve(focus)?)?.field("resource")?;
        if resource.str_field("resourceType")? != "ServiceRequest" {
            return None;
        }
        Priority::parse(resource.str_field("priority")?)
    }
}

/// Why bytes are not a message Bundle (HTTP 400).
#[derive(Debug, Clone)]
pub struct EnvelopeError {
    pub issues: Vec<Issue>,
    /// `MessageHeader.id`, when it could be read.
    pub header_id: Option<HeaderId>,
}

/// Whether arrays and objects in a parsed document nest deeper than `limit` (the document itself is
/// level 1). Recursion is bounded by serde_json's own limit of 128.
pub fn deeper_than(value: &Json<'_>, limit: usize) -> bool {
    fn depth_exceeds(value: &Json<'_>, budget: usize) -> bool {
        match value {
            Json::Array(items) => budget == 0 || items.iter().any(|v| depth_exceeds(v, budget - 1)),
            Json::Object(map) => budget == 0 || map.values().any(|v| depth_exceeds(v, budget - 1)),
            _ => false,
        }
    }
    depth_exceeds(value, limit)
}

/// SHA-256 of `value` as canonical JSON: object keys sorted, no white space.
///
/// serde_json's `Map` is a `BTreeMap` (the `preserve_order` feature is off in this build), so its
/// compact serialisation already sorts keys; `canonical_hash_ignores_key_order_and_white_space_but_not_values`
/// fails if a dependency ever turns that feature on.
fn canonical_sha256(value: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    // Writing into a hasher cannot fail; the error type is only io's.
    let _ = serde_json::to_writer(&mut hasher, value);
    hex::encode(hasher.finalize())
}

/// Hex SHA-256 of the canonical `entry` of a parsed Bundle.
pub fn entries_sha256(bundle: &serde_json::Value) -> String {
    canonical_sha256(&bundle["entry"])
}

fn str_at<'a>(value: &'a Json<'_>, key: &str) -> Option<&'a str> {
    value.str_field(key).filter(|s| !s.trim().is_empty())
}

/// Parses and checks the envelope of a message Bundle.
pub fn parse(bytes: Bytes, limits: &Limits) -> Result<Submission, EnvelopeError> {
    let document = read_document(bytes.clone(), limits)?;
    envelope(document, bytes, limits)
}

/// [`parse`] for a body in another representation (FHIR XML): `read` turns the bytes straight into the
/// tree the envelope and the validator check, and gives the JSON text the broker stores beside them.
pub fn parse_with<R>(bytes: Bytes, limits: &Limits, read: R) -> Result<Submission, EnvelopeError>
where
    R: for<'a> FnOnce(&'a [u8]) -> Result<(Json<'a>, String), Issue>,
{
    let mut json = String::new();
    let document = Document::try_new(bytes, |bytes| {
        let (tree, text) = read(bytes)?;
        json = text;
        within_depth(tree, limits)
    })
    .map_err(refused)?;
    envelope(document, Bytes::from(json), limits)
}

/// The envelope of a parsed document; `json` is its JSON form.
fn envelope(document: Document, json: Bytes, limits: &Limits) -> Result<Submission, EnvelopeError> {
    let tree = document.borrow_dependent();
    let (entries, header) = bundle_shell(tree, limits)?;
    let Required { header_id, event, source_endpoint, destinations } = required_fields(header, limits)?;

    let index = BundleIndex::new(entries);
    let resolver = Resolver { entries, index: &index };
    let sender = header.field("sender").map(|r| resolver.party(r, format!("{HEADER}.sender")));
    let destinations = resolver.destinations(destinations);
    let response_to = header.field("response").and_then(|r| str_at(r, "identifier")).map(str::to_owned);
    let response_code = header.field("response").and_then(|r| str_at(r, "code")).map(str::to_owned);
    let handling = handling(header);
    let bundle_id = str_at(tree, "id").map(str::to_owned);
    Ok(Submission {
        header_id,
        bundle_id,
        event,
        source_endpoint,
        sender,
        destinations,
        response_to,
        response_code,
        handling,
        index,
        document,
        json,
    })
}

/// An envelope error of one issue, found before `MessageHeader.id` could be read.
fn refused(issue: Issue) -> EnvelopeError {
    EnvelopeError { issues: vec![issue], header_id: None }
}

/// Parses the body as JSON within the limits: not empty, and nested no deeper than `max_json_depth`.
fn read_document(bytes: Bytes, limits: &Limits) -> Result<Document, EnvelopeError> {
    Document::try_new(bytes, |bytes| read_json(bytes, limits, MESSAGE_BUNDLE)).map_err(refused)
}

/// Parses FHIR JSON bytes within the limits: not empty (`expected` names what was expected,
/// [`MESSAGE_BUNDLE`] or [`DOCUMENT_BUNDLE`], which are said in the caller's language; other words are
/// shown as given), valid JSON, nested no deeper than `max_json_depth`. The first step of every body
/// read as a FHIR Bundle (messages here, documents in `document`), so that each is refused the same way.
pub fn read_json<'a>(bytes: &'a [u8], limits: &Limits, expected: &str) -> Result<Json<'a>, Issue> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let kind = match expected {
            MESSAGE_BUNDLE => "message",
            DOCUMENT_BUNDLE => "document",
            _ => "other",
        };
        let text = Text::new("envelope-body-empty").arg("kind", kind).arg("expected", expected);
        return Err(Issue::says(IssueCode::Required, text));
    }
    // serde_json refuses nesting past 128 levels while parsing, so a hostile 10,000-deep document never
    // reaches deep recursion; the configured, lower limit is then checked on the parsed tree, which is
    // cheaper than scanning every byte beforehand (measured: about 15 us against 60 us at 116 KB).
    let too_deep = || too_deep(limits);
    let tree = serde_json::from_slice::<Json>(bytes).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            return too_deep();
        }
        // serde_json's messages name the position and the kind of error, never the content.
        let problem = if e.is_eof() {
            Text::new("envelope-json-ends-early")
        } else if e.to_string().starts_with("number out of range") {
            // Valid JSON syntax (e.g. 1e999) that no 64-bit number holds: say so, not "not JSON".
            Text::new("envelope-json-number-out-of-range")
        } else {
            Text::new("envelope-json-invalid")
        };
        Issue::says(IssueCode::Structure, problem.num("line", e.line()).num("column", e.column()))
    })?;
    within_depth(tree, limits)
}

/// `tree`, unless it nests deeper than `max_json_depth` (JSON's limit, also for a tree read from XML,
/// whose arrays add levels that its elements do not).
fn within_depth<'a>(tree: Json<'a>, limits: &Limits) -> Result<Json<'a>, Issue> {
    if deeper_than(&tree, limits.max_json_depth) {
        return Err(too_deep(limits));
    }
    Ok(tree)
}

fn too_deep(limits: &Limits) -> Issue {
    Issue::says(IssueCode::TooCostly, Text::new("envelope-json-too-deep").num("limit", limits.max_json_depth))
}

/// Checks the Bundle shell (object, Bundle, message, entries within limits); returns the entries and MessageHeader.
fn bundle_shell<'t, 'a>(tree: &'t Json<'a>, limits: &Limits) -> Result<(&'t [Json<'a>], &'t Json<'a>), EnvelopeError> {
    let Some(root) = tree.as_object() else {
        return Err(refused(Issue::says(IssueCode::Structure, Text::new("envelope-not-an-object"))));
    };
    if tree.str_field("resourceType") != Some("Bundle") {
        return Err(refused(
            Issue::says(IssueCode::Structure, Text::new("envelope-not-a-bundle")).at("Bundle.resourceType"),
        ));
    }
    bundle_type(tree)?;
    let entries = match root.get("entry").and_then(Json::as_array) {
        Some(entries) if !entries.is_empty() => entries,
        _ => {
            return Err(refused(Issue::says(IssueCode::Required, Text::new("envelope-no-entries")).at("Bundle.entry")))
        }
    };
    if entries.len() > limits.max_entries {
        return Err(refused(
            Issue::says(
                IssueCode::TooCostly,
                Text::new("envelope-too-many-entries").num("count", entries.len()).num("limit", limits.max_entries),
            )
            .at("Bundle.entry"),
        ));
    }
    let header = entries[0].field("resource").filter(|r| r.str_field("resourceType") == Some("MessageHeader"));
    let Some(header) = header else {
        return Err(refused(
            Issue::says(IssueCode::Structure, Text::new("envelope-first-entry-not-header")).at(HEADER),
        ));
    };
    Ok((entries, header))
}

/// Checks that `Bundle.type` is `message`.
fn bundle_type(tree: &Json<'_>) -> Result<(), EnvelopeError> {
    match tree.str_field("type") {
        Some("message") => Ok(()),
        Some(other) => {
            let other: String = other.chars().take(40).collect();
            Err(refused(
                Issue::says(IssueCode::Value, Text::new("envelope-type-not-message").arg("type", format!("{other:?}")))
                    .at("Bundle.type"),
            ))
        }
        None => Err(refused(Issue::says(IssueCode::Required, Text::new("envelope-type-missing")).at("Bundle.type"))),
    }
}

/// What a MessageHeader cannot go without.
struct Required<'t, 'a> {
    header_id: HeaderId,
    event: EventCoding,
    source_endpoint: String,
    /// Within `max_destinations`.
    destinations: &'t [Json<'a>],
}

/// Reads the header's id, eventCoding and source.endpoint, checks the destination limit; all problems reported at once.
fn required_fields<'t, 'a>(header: &'t Json<'a>, limits: &Limits) -> Result<Required<'t, 'a>, EnvelopeError> {
    let mut issues = Vec::new();
    let written = str_at(header, "id");
    let header_id = written.and_then(HeaderId::parse);
    if header_id.is_none() {
        let text = match written {
            // The id is kept in the ledger for good: only an id as FHIR defines it, nothing longer.
            Some(_) => Text::new("envelope-header-id-invalid"),
            None => Text::new("envelope-header-id-missing"),
        };
        issues.push(Issue::says(IssueCode::Required, text).at(format!("{HEADER}.id")));
    }
    let event =
        header.field("eventCoding").and_then(|c| Some((str_at(c, "system")?, EventCode::parse(str_at(c, "code")?)?)));
    if event.is_none() {
        let text = if header.field("eventUri").is_some() {
            Text::new("envelope-event-uri")
        } else {
            Text::new("envelope-event-coding-missing")
        };
        issues.push(Issue::says(IssueCode::Required, text).at(format!("{HEADER}.eventCoding")));
    }
    let source_endpoint = header.field("source").and_then(|s| str_at(s, "endpoint"));
    if source_endpoint.is_none() {
        issues.push(
            Issue::says(IssueCode::Required, Text::new("envelope-source-endpoint-missing"))
                .at(format!("{HEADER}.source.endpoint")),
        );
    }
    let destinations = header.items("destination");
    if destinations.len() > limits.max_destinations {
        issues.push(
            Issue::says(
                IssueCode::TooCostly,
                Text::new("envelope-too-many-destinations")
                    .num("count", destinations.len())
                    .num("limit", limits.max_destinations),
            )
            .at(format!("{HEADER}.destination")),
        );
    }
    let (Some(header_id_value), Some((system, code)), Some(source_endpoint), true) =
        (header_id.clone(), event, source_endpoint, issues.is_empty())
    else {
        return Err(EnvelopeError { issues, header_id });
    };
    Ok(Required {
        header_id: header_id_value,
        event: EventCoding { system: system.to_owned(), code },
        source_endpoint: source_endpoint.to_owned(),
        destinations,
    })
}

/// Resolves the sender's and receivers' References to Organization entries.
struct Resolver<'a> {
    entries: &'a [Json<'a>],
    index: &'a BundleIndex,
}

impl Resolver<'_> {
    /// The identifiers of the organisation a Reference names: its own `identifier`, else those of the
    /// Organization (or PractitionerRole's organisation is not followed: senders name organisations).
    fn party(&self, reference: &Json<'_>, expression: String) -> PartyRef {
        // Both: the Reference's own identifier and every identifier of the Organization it points to.
        // A message that names one organisation in the identifier and another in the resource must not
        // pass for the first; routing checks that all of them are the same organisation.
        let mut identifiers: Vec<OrgIdentifier> =
            reference.field("identifier").and_then(identifier).into_iter().collect();
        let organization = str_at(reference, "reference")
            .and_then(|r| self.index.resolve(r))
            .and_then(|i| self.entries.get(i)?.field("resource"))
            .filter(|res| str_at(res, "resourceType") == Some("Organization"));
        for more in organization.map(|org| org.items("identifier")).unwrap_or_default().iter().filter_map(identifier) {
            if !identifiers.contains(&more) {
                identifiers.push(more);
            }
        }
        PartyRef { identifiers, expression }
    }

    /// The `MessageHeader.destination`s, each with its receiver's identifiers.
    fn destinations(&self, destinations: &[Json<'_>]) -> Vec<Destination> {
        destinations
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let expression = format!("{HEADER}.destination[{i}]");
                Destination {
                    receiver: d.field("receiver").map(|r| self.party(r, format!("{expression}.receiver"))),
                    endpoint: str_at(d, "endpoint").map(str::to_owned),
                    expression,
                }
            })
            .collect()
    }
}

/// The receipt wishes of a MessageHeader (see [`Handling`]).
fn handling(header: &Json<'_>) -> Handling {
    let mut handling = Handling::default();
    for extension in header.items("extension") {
        let url = extension.str_field("url").unwrap_or_default();
        if !url.ends_with("ITK-MessageHandling-2") && !url.ends_with("/StructureDefinition/message-handling") {
            continue;
        }
        let part = |name: &str| extension.items("extension").iter().find(|e| e.str_field("url") == Some(name));
        let key = part("key").and_then(|k| {
            k.field("valueCoding").and_then(|c| c.str_field("code")).or_else(|| k.str_field("valueCode"))
        });
        let value = part("value").and_then(|v| v.field("valueBoolean")).and_then(Json::as_bool);
        match key {
            Some("InfAckRequested" | "INFACK") => handling.infack = value,
            Some("BusAckRequested" | "BUSACK") => handling.busack = value,
            _ => {}
        }
    }
    handling
}

fn identifier(value: &Json<'_>) -> Option<OrgIdentifier> {
    OrgIdentifier::new(str_at(value, "system")?, str_at(value, "value")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_arrays_and_objects_but_not_brackets_in_strings() {
        let doc = |s: &str| s.to_owned();
        let deeper_than = |s: String, limit| deeper_than(&crate::json::parse(&s).unwrap(), limit);
        assert!(!deeper_than(doc(r#"{"a":[{"b":1}]}"#), 3));
        assert!(deeper_than(doc(r#"{"a":[{"b":[1]}]}"#), 3));
        assert!(!deeper_than(doc(r#"{"a":"[[[[{{{{\"[[["}"#), 1));
        assert!(deeper_than(doc(&format!("{}{}", "[".repeat(100), "]".repeat(100))), 64));
        assert!(!deeper_than(doc(&format!("{}{}", "[".repeat(64), "]".repeat(64))), 64));
    }

    #[test]
    fn the_priority_is_the_focus_service_requests() {
        let limits = crate::config::Settings::load(None).expect("defaults").limits;
        let fixture = |name: &str| -> serde_json::Value {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/handovers/").to_owned() + name;
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
        };
        let priority = |bundle: &serde_json::Value| {
            parse(Bytes::from(serde_json::to_vec(bundle).unwrap()), &limits).expect("a message").priority()
        };
        let care_request = fixture("care-request-nl.json");
        assert_eq!(priority(&care_request), Some(Priority::Urgent));
        let focus = care_request["entry"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["resource"]["resourceType"] == "ServiceRequest")
            .unwrap();
        for (value, expected) in [("stat", Some(Priority::Stat)), ("URGENT", None), ("soon", None)] {
            let mut changed = care_request.clone();
            changed["entry"][focus]["resource"]["priority"] = value.into();
            assert_eq!(priority(&changed), expected, "{value}");
        }
        // A ServiceRequest that is not the focus says nothing; neither does a Composition focus.
        let mut unfocused = care_request.clone();
        unfocused["entry"][0]["resource"]["focus"][0]["reference"] = "urn:uuid:elsewhere".into();
        assert_eq!(priority(&unfocused), None);
        assert_eq!(priority(&fixture("discharge-summary-nl.json")), None);
        assert!(priority(&fixture("referral-nl.json")).is_some(), "a referral states its urgency");
    }

    #[test]
    fn a_number_out_of_range_is_said_to_be_one() {
        let limits = crate::config::Settings::load(None).expect("defaults").limits;
        let refused = parse(Bytes::from_static(br#"{"resourceType":"Bundle","type":"message","x":1e999}"#), &limits)
            .expect_err("refused");
        assert!(refused.issues[0].message.starts_with("a number is out of range"), "{:?}", refused.issues);
        let broken = parse(Bytes::from_static(br#"{"resourceType":"Bundle",}"#), &limits).expect_err("refused");
        assert!(broken.issues[0].message.starts_with("the body is not valid JSON"), "{:?}", broken.issues);
    }

    #[test]
    fn envelope_issues_are_written_in_the_callers_language_with_the_same_code_and_expression() {
        use crate::i18n::Language;
        let limits = crate::config::Settings::load(None).expect("defaults").limits;
        let body = br#"{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"Patient"}}]}"#;
        let refused = parse(Bytes::from_static(body), &limits).expect_err("refused");
        let [issue] = &refused.issues[..] else { panic!("{:?}", refused.issues) };
        assert_eq!((issue.code, issue.expression.as_deref()), (IssueCode::Structure, Some(HEADER)));
        assert_eq!(issue.message, "the first entry of a message Bundle must be a MessageHeader");
        assert_eq!(issue.text_in(Language::En), issue.message);
        let dutch = issue.text_in(Language::Nl);
        let french = issue.text_in(Language::Fr);
        assert!(
            dutch.starts_with("de eerste entry van een message-Bundle") && dutch.contains("MessageHeader"),
            "{dutch}"
        );
        assert!(french.starts_with("la première entry") && french.contains("MessageHeader"), "{french}");

        // Counts are arguments: the limit is said in every language.
        let depth = limits.max_json_depth;
        let deep = format!("{}{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
        let refused = parse(Bytes::from(deep), &limits).expect_err("refused");
        assert_eq!(refused.issues[0].code, IssueCode::TooCostly);
        for lang in Language::ALL {
            let text = refused.issues[0].text_in(lang);
            assert!(text.contains(&depth.to_string()), "{text}");
        }
    }

    #[test]
    fn canonical_hash_ignores_key_order_and_white_space_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"[{"a":1,"b":{"c":"x","d":[1,2]}}]"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str("[ { \"b\" : { \"d\":[1, 2], \"c\":\"x\" }, \"a\": 1 } ]").unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"[{"a":1,"b":{"c":"x","d":[2,1]}}]"#).unwrap();
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        assert_ne!(canonical_sha256(&a), canonical_sha256(&c));
    }
}
