//! Documents (issue 15, part 2): a FHIR `document` Bundle (an IPS, an HL7 Belgium document, a
//! discharge letter) posted with its receivers named in the request (`POST /fhir/Bundle?receiver=
//! system|value`) travels like a message.
//!
//! The flow checks the request's receivers and the document's own form within the message limits
//! ([`wrap::read`]), finds the handover kind whose Composition profile's `type` ValueSet holds the
//! document's `Composition.type` (read from `profiles/` by the `Catalog`), builds a message around the
//! document's entries, which it never re-serialises ([`wrap::wrap`]), and submits that through
//! `ingest`: validation, routing, deduplication, the single commit, receipts and the ledger are the
//! same code as for any message. Its MessageHeader.id derives from the sender, the document's
//! `Bundle.identifier` and the receivers, so that a resend is recognised as the same message.
//!
//! It must never store anything itself, nor route: a document refused before it becomes a message
//! leaves its two ledger entries (`received` with the hash of the bytes received, `rejected`) and
//! nothing else.

mod wrap;

pub use wrap::{derived_uuid, read, wrap, DocumentFacts, Receiver, TypeCoding, Wrap};

use bytes::Bytes;

use crate::auth::Principal;
use crate::config::Limits;
use crate::directory::Directory;
use crate::ingest::{Accepted, IngestError, Ingestor};
use crate::model::{EventCode, HeaderId, OrgIdentifier, PayloadHash};
use crate::outcome::{Issue, IssueCode, Text};
use crate::profiles::HandoverKind;
use crate::time::Millis;

/// Where the request's receivers are, as an OperationOutcome location (R4: `http.` and the parameter).
pub const RECEIVER_PARAMETER: &str = "http.receiver";
/// The optional query parameter that picks the kind when a document's type fits several.
pub const EVENT_PARAMETER: &str = "http.event";

/// Why a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The request's parameters: no receiver, a malformed one, too many, an unknown parameter (400).
    #[error("the request's receivers are missing or malformed")]
    Request(Vec<Issue>),
    /// Not a document Bundle the broker can wrap, or past a limit (400).
    #[error("not a well-formed document Bundle")]
    Malformed(Vec<Issue>),
    /// `Composition.type` is no handover kind's, or fits several and the request did not choose (422).
    #[error("the document's type is not a handover kind of this broker")]
    UnknownType(Vec<Issue>),
    /// A receiver the directory does not know (422).
    #[error("the document cannot be routed")]
    Unroutable(Vec<Issue>),
    /// The caller's organisation is not in the directory: it cannot be named as the sender (403).
    #[error("the caller's organisation is not in the directory")]
    UnknownSender(Vec<Issue>),
    /// The wrapped message was refused by ingest (its issues located in the document) or not stored.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The wrap could not be written (a bug: its parts are the broker's own values).
    #[error("cannot write the wrapped message: {0}")]
    Write(#[from] serde_json::Error),
}

impl DocumentError {
    /// The outcome the ledger records for a refusal made here (ingest records its own).
    fn ledger_outcome(&self) -> Option<&'static str> {
        Some(match self {
            Self::Request(_) => "400 invalid-request",
            Self::Malformed(_) => "400 invalid-document",
            Self::UnknownType(_) => "422 unknown-document-type",
            Self::Unroutable(_) => "422 unroutable",
            Self::UnknownSender(_) => "403 sender-unknown",
            Self::Ingest(_) | Self::Write(_) => return None,
        })
    }
}

/// What the flow needs from the broker.
pub struct Flow<'a> {
    pub ingestor: &'a Ingestor,
    pub directory: &'a Directory,
    /// `http(s)://host:port` of the broker.
    pub base_url: &'a str,
}

/// What the request says besides the document: its query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Sorted and without repeats: the order they were named in does not make another message.
    pub receivers: Vec<OrgIdentifier>,
    /// `event`: the kind, when the document's type fits several.
    pub event: Option<String>,
}

impl Request {
    /// Reads `receiver` (repeated, FHIR token syntax `system|value`, 1 to `max_destinations`) and
    /// `event` (at most once). Parameters starting with `_` (`_format`, `_pretty`) do not change the
    /// answer; any other name is refused, so that a misspelt `receivers=` is not silently ignored.
    pub fn from_query(query: &[(String, String)], limits: &Limits) -> Result<Self, DocumentError> {
        let bad = |text: Text, at: &str| DocumentError::Request(vec![Issue::says(IssueCode::Invalid, text).at(at)]);
        let mut receivers = Vec::new();
        let mut event = None;
        for (name, value) in query {
            match name.as_str() {
                "receiver" => {
                    let receiver = value
                        .split_once('|')
                        .and_then(|(system, value)| OrgIdentifier::new(system.trim(), value.trim()))
                        .ok_or_else(|| bad(Text::new("document-receiver-not-token"), RECEIVER_PARAMETER))?;
                    receivers.push(receiver);
                }
                "event" if event.is_none() => event = Some(value.clone()),
                name if name.starts_with('_') => {}
                other => {
                    let other: String = other.chars().take(40).collect();
                    return Err(bad(
                        Text::new("document-unknown-parameter").arg("name", format!("{other:?}")),
                        &format!("http.{other}"),
                    ));
                }
            }
        }
        receivers.sort_by(|a, b| (a.system(), a.value()).cmp(&(b.system(), b.value())));
        receivers.dedup();
        if receivers.is_empty() {
            return Err(DocumentError::Request(vec![Issue::says(
                IssueCode::Required,
                Text::new("document-no-receiver"),
            )
            .at(RECEIVER_PARAMETER)]));
        }
        if receivers.len() > limits.max_destinations {
            return Err(DocumentError::Request(vec![Issue::says(
                IssueCode::TooCostly,
                Text::new("document-too-many-receivers")
                    .num("count", receivers.len())
                    .num("limit", limits.max_destinations),
            )
            .at(RECEIVER_PARAMETER)]));
        }
        Ok(Self { receivers, event })
    }
}

/// What is known of a submission for its ledger entries, as far as it got.
#[derive(Debug, Default)]
struct Known {
    header_id: Option<HeaderId>,
    event_code: Option<EventCode>,
}

/// Accepts, or refuses with the reasons, a document posted by `caller` with the request's query.
#[tracing::instrument(skip_all, fields(stage = "document", org = %caller.org, payload_sha256))]
pub async fn submit(
    flow: &Flow<'_>,
    caller: &Principal,
    query: &[(String, String)],
    body: Bytes,
) -> Result<Accepted, DocumentError> {
    // The ledger names the submission by the bytes received, refused or not.
    let received = PayloadHash::of(&body);
    tracing::Span::current().record("payload_sha256", received.as_str());
    let mut known = Known::default();
    let wrapped = match prepare(flow, caller, query, &body, &mut known) {
        Ok(wrapped) => wrapped,
        Err(e) => {
            if let Some(outcome) = e.ledger_outcome() {
                flow.ingestor.record_refused(caller, received, (known.header_id, known.event_code), outcome).await;
            }
            return Err(e);
        }
    };
    flow.ingestor.submit_wrapped(caller, wrapped.into(), received).await.map_err(|e| DocumentError::Ingest(located(e)))
}

/// From the request to the wrap's bytes: every check that needs no database.
fn prepare(
    flow: &Flow<'_>,
    caller: &Principal,
    query: &[(String, String)],
    body: &[u8],
    known: &mut Known,
) -> Result<Vec<u8>, DocumentError> {
    let limits = flow.ingestor.limits();
    let request = Request::from_query(query, limits)?;
    let facts = read(body, limits).map_err(DocumentError::Malformed)?;
    let directory = flow.directory.snapshot();
    // The caller by the directory's identifiers, in the scheme of the first receiver where it has one
    // (a Dutch GP knows the hospital by its URA), else its first: never by what the document says.
    let first_system = request.receivers.first().map(OrgIdentifier::system);
    let sender = directory
        .organizations()
        .iter()
        .find(|org| org.id == caller.org)
        .and_then(|org| {
            let same_scheme = org.identifiers.iter().find(|id| Some(id.system()) == first_system);
            same_scheme.or(org.identifiers.first())
        })
        .ok_or_else(|| {
            DocumentError::UnknownSender(vec![Issue::says(
                IssueCode::Forbidden,
                Text::new("document-unknown-sender").arg("organisation", &caller.org),
            )])
        })?;
    let (system, value) = &facts.identifier;
    let names: Vec<String> = request.receivers.iter().map(ToString::to_string).collect();
    let mut parts = vec!["document", caller.org.as_str(), system, value];
    parts.extend(names.iter().map(String::as_str));
    let header_id = derived_uuid(&parts);
    known.header_id = HeaderId::parse(&header_id);
    let kind = kind_of(flow.ingestor.catalog(), &facts.types, request.event.as_deref())?;
    known.event_code = EventCode::parse(&kind.event_code);

    // Receivers by the directory: unknown ones are refused here, because the wrap must name each one's
    // registered endpoint (R4 requires destination.endpoint); routing then checks the rest (the kind
    // accepted, one organisation each) on the wrap like on any message.
    let mut receivers = Vec::with_capacity(request.receivers.len());
    let mut unknown = Vec::new();
    for identifier in &request.receivers {
        match directory.by_identifier(identifier) {
            Some(org) => receivers.push(Receiver { identifier: identifier.clone(), endpoint: org.address.clone() }),
            None => unknown.push(
                Issue::says(IssueCode::NotFound, Text::new("document-unknown-receiver").arg("receiver", identifier))
                    .at(RECEIVER_PARAMETER),
            ),
        }
    }
    if !unknown.is_empty() {
        return Err(DocumentError::Unroutable(unknown));
    }
    parts.push("bundle");
    let bundle_id = derived_uuid(&parts);
    let now = Millis::now().to_rfc3339_secs();
    let broker = format!("{}/fhir", flow.base_url);
    let message = wrap(
        body,
        &facts.spans,
        &Wrap {
            header_id: &header_id,
            bundle_id: &bundle_id,
            event_system: &kind.event_system,
            event_code: &kind.event_code,
            definition: &kind.definition_url,
            sender,
            receivers: &receivers,
            focus: &facts.focus,
            broker: &broker,
            now: &now,
        },
    )?;
    Ok(message)
}

/// The handover kind of a document: the kind whose Composition profile binds `Composition.type` to a
/// ValueSet holding one of the document's type codings. Several kinds: the request's `event` picks
/// one of them, or the document is refused (a type shared by kinds does not say which handover it is).
fn kind_of<'c>(
    catalog: &'c crate::profiles::Catalog,
    types: &[TypeCoding],
    event: Option<&str>,
) -> Result<&'c HandoverKind, DocumentError> {
    let accepted = catalog.composition_types();
    let mut kinds: Vec<&HandoverKind> = Vec::new();
    for (kind, system, code) in &accepted {
        let fits = types.iter().any(|t| t.code == *code && t.system.as_deref().is_none_or(|s| s == *system));
        if fits && !kinds.iter().any(|k| k.event_code == kind.event_code) {
            kinds.push(kind);
        }
    }
    let shown: Vec<String> =
        types.iter().map(|t| format!("{}|{}", t.system.as_deref().unwrap_or(""), t.code)).take(5).collect();
    let shown: String = shown.join(", ").chars().take(300).collect();
    let at = "Bundle.entry[0].resource.type";
    if let Some(event) = event {
        return kinds.iter().copied().find(|k| k.event_code == event).ok_or_else(|| {
            let fitting: Vec<&str> = kinds.iter().map(|k| k.event_code.as_str()).collect();
            DocumentError::UnknownType(vec![Issue::says(
                IssueCode::CodeInvalid,
                Text::new("document-event-not-fitting")
                    .arg("types", &shown)
                    .arg("kinds", fitting.join(", "))
                    .num("count", fitting.len()),
            )
            .at(EVENT_PARAMETER)])
        });
    }
    match kinds.as_slice() {
        [one] => Ok(one),
        [] => {
            let codes: Vec<String> =
                accepted.iter().map(|(kind, system, code)| format!("{system}|{code} ({})", kind.event_code)).collect();
            Err(DocumentError::UnknownType(vec![Issue::says(
                IssueCode::CodeInvalid,
                Text::new("document-type-unknown").arg("types", &shown).arg("accepted", codes.join(", ")),
            )
            .at(at)]))
        }
        several => {
            let names: Vec<&str> = several.iter().map(|k| k.event_code.as_str()).collect();
            Err(DocumentError::UnknownType(vec![Issue::says(
                IssueCode::BusinessRule,
                Text::new("document-type-several").arg("types", &shown).arg("kinds", names.join(", ")),
            )
            .at(at)]))
        }
    }
}

/// Ingest's issues, located in what the caller sent: the wrap's entry `n + 1` is the document's entry
/// `n`, its MessageHeader's destinations are the request's receivers, and the rest of the header is the
/// broker's own (no location). A resend with other content is worded for documents.
fn located(error: IngestError) -> IngestError {
    let locate = |issues: Vec<Issue>| issues.into_iter().map(locate_issue).collect();
    match error {
        IngestError::Envelope(issues) => IngestError::Envelope(locate(issues)),
        IngestError::Incomplete(issues) => IngestError::Incomplete(locate(issues)),
        IngestError::Forbidden(issues) => IngestError::Forbidden(locate(issues)),
        IngestError::Unroutable(issues) => IngestError::Unroutable(locate(issues)),
        IngestError::Conflict(issue) if issue.expression.as_deref() == Some("Bundle.entry[0].resource.id") => {
            IngestError::Conflict(
                Issue::says(IssueCode::Conflict, Text::new("document-identifier-reused")).at("Bundle.identifier"),
            )
        }
        other => other,
    }
}

fn locate_issue(mut issue: Issue) -> Issue {
    const HEADER: &str = "Bundle.entry[0]";
    let Some(expression) = issue.expression.take() else { return issue };
    issue.expression = if let Some(rest) = expression.strip_prefix(HEADER) {
        rest.starts_with(".resource.destination").then(|| RECEIVER_PARAMETER.to_owned())
    } else if let Some(rest) = expression.strip_prefix("Bundle.entry[") {
        match rest.split_once(']').and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail))) {
            Some((n, tail)) if n > 0 => Some(format!("Bundle.entry[{}]{tail}", n - 1)),
            _ => Some(expression),
        }
    } else {
        Some(expression)
    };
    issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    #[test]
    fn an_event_that_fits_no_kind_says_none_in_every_language() {
        let text = |kinds: &[&str]| {
            Text::new("document-event-not-fitting")
                .arg("types", "http://loinc.org|34133-9")
                .arg("kinds", kinds.join(", "))
                .num("count", kinds.len())
        };
        assert_eq!(
            text(&[]).render(Language::En),
            "event is not a kind this document's Composition.type (http://loinc.org|34133-9) fits; it fits: none"
        );
        assert!(text(&[]).render(Language::Nl).ends_with("het past bij: geen"));
        assert!(text(&[]).render(Language::Fr).ends_with("il correspond à : aucun"));
        assert!(text(&["nursing-handover"]).render(Language::En).ends_with("it fits: nursing-handover"));
    }

    fn limits() -> Limits {
        crate::config::Settings::load(None).expect("defaults").limits
    }

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn receivers_are_tokens_sorted_without_repeats_within_the_limit() {
        const URA: &str = "http://fhir.nl/fhir/NamingSystem/ura";
        let request = Request::from_query(
            &query(&[
                ("receiver", &format!("{URA}|90000013")),
                ("_format", "json"),
                ("receiver", &format!("{URA}|90000012")),
                ("receiver", &format!("{URA}|90000013")),
            ]),
            &limits(),
        )
        .unwrap();
        let values: Vec<&str> = request.receivers.iter().map(|r| r.value()).collect();
        assert_eq!(values, ["90000012", "90000013"]);
        let refused = |pairs: &[(&str, &str)]| match Request::from_query(&query(pairs), &limits()) {
            Err(DocumentError::Request(issues)) => issues[0].expression.clone().unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(&[]), RECEIVER_PARAMETER);
        assert_eq!(refused(&[("receiver", "90000012")]), RECEIVER_PARAMETER);
        assert_eq!(refused(&[("receiver", "|90000012")]), RECEIVER_PARAMETER);
        assert_eq!(refused(&[("receivers", "a|b")]), "http.receivers");
        let many: Vec<String> = (0..=limits().max_destinations).map(|i| format!("{URA}|{i}")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|m| ("receiver", m.as_str())).collect();
        assert_eq!(refused(&many), RECEIVER_PARAMETER);
    }

    #[test]
    fn ingest_issues_are_located_in_the_document_and_the_request() {
        let at = |expression: &str| locate_issue(Issue::error(IssueCode::Invalid, "x").at(expression)).expression;
        assert_eq!(at("Bundle.entry[1].resource.section[2]").as_deref(), Some("Bundle.entry[0].resource.section[2]"));
        assert_eq!(at("Bundle.entry[12]").as_deref(), Some("Bundle.entry[11]"));
        assert_eq!(at("Bundle.entry[0].resource.destination[1].receiver").as_deref(), Some(RECEIVER_PARAMETER));
        assert_eq!(at("Bundle.entry[0].resource.eventCoding"), None);
        assert_eq!(at("Bundle.entry").as_deref(), Some("Bundle.entry"));
        assert_eq!(at("Bundle.id").as_deref(), Some("Bundle.id"));
    }

    #[test]
    fn a_document_type_names_its_kind_from_the_profiles() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let catalog = crate::profiles::Catalog::load(&root.join("profiles")).unwrap();
        let coding = |system: &str, code: &str| TypeCoding { system: Some(system.into()), code: code.into() };
        let ips = [coding("http://loinc.org", "60591-5")];
        assert_eq!(kind_of(&catalog, &ips, None).unwrap().event_code, "patient-summary");
        let discharge = [TypeCoding { system: None, code: "18842-5".into() }];
        assert_eq!(kind_of(&catalog, &discharge, None).unwrap().event_code, "discharge-summary");
        let transfer = [coding("http://snomed.info/sct", "371535009")];
        assert!(matches!(kind_of(&catalog, &transfer, None), Err(DocumentError::UnknownType(_))));
        assert_eq!(kind_of(&catalog, &transfer, Some("nursing-handover")).unwrap().event_code, "nursing-handover");
        let Err(DocumentError::UnknownType(issues)) = kind_of(&catalog, &[coding("http://loinc.org", "1-8")], None)
        else {
            panic!("an unknown type is refused")
        };
        assert!(issues[0].message.contains("http://loinc.org|1-8") && issues[0].message.contains("60591-5"));
    }
}
