//! A document Bundle's own checks, and the message the broker wraps it in.
//!
//! [`read`] checks what makes bytes a FHIR `document` Bundle the broker can wrap (within the limits that
//! apply to messages, before anything is built) and reads what the wrap needs. [`wrap`] writes the
//! message: a new MessageHeader, then the document's entries **byte for byte**, cut from the received
//! bytes by [`entry_spans`] (the cutter forwarding uses), never re-serialised. Nothing here decides
//! kinds, receivers or storage.

use std::ops::Range;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::Limits;
use crate::json::{duplicate_key, entry_spans, Field, Json};
use crate::message::read_json;
use crate::model::OrgIdentifier;
use crate::outcome::{Issue, IssueCode, Text};

/// A coding of `Composition.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCoding {
    pub system: Option<String>,
    pub code: String,
}

/// What the broker needs from a well-formed document Bundle.
#[derive(Debug, Clone)]
pub struct DocumentFacts {
    /// `Bundle.identifier` (bdl-9) as (system, value): the document's identity, which the wrap's ids
    /// derive from.
    pub identifier: (String, String),
    /// `Composition.type.coding`.
    pub types: Vec<TypeCoding>,
    /// The reference the wrap's `MessageHeader.focus` uses: the Composition's `fullUrl`, else
    /// `Composition/{id}`.
    pub focus: String,
    /// Each entry's bytes in the received document.
    pub spans: Vec<Range<usize>>,
}

fn refused(code: IssueCode, text: Text, at: &str) -> Vec<Issue> {
    vec![Issue::says(code, text).at(at)]
}

/// Checks that `bytes` are a FHIR document Bundle within `limits` and reads what the wrap needs. Errors
/// are the issues of a malformed document (HTTP 400); every problem of the Bundle's identifier,
/// timestamp and Composition is reported at once.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<DocumentFacts, Vec<Issue>> {
    // The edge reads no more than this; a flow called otherwise must not take more either.
    if bytes.len() > limits.max_body_bytes {
        return Err(refused(
            IssueCode::TooCostly,
            Text::new("document-too-large").num("limit", limits.max_body_bytes),
            "Bundle",
        ));
    }
    let tree = read_json(bytes, limits, "a FHIR document Bundle").map_err(|issue| vec![issue])?;
    let Some(root) = tree.as_object() else {
        return Err(refused(IssueCode::Structure, Text::new("document-not-object"), "Bundle"));
    };
    // Two members of one name would let the wrap carry one and a reader see another.
    if let Some(key) = duplicate_key(root) {
        let key: String = key.chars().take(40).collect();
        let text = Text::new("document-member-twice").arg("member", format!("{key:?}"));
        return Err(refused(IssueCode::Structure, text, "Bundle"));
    }
    if tree.str_field("resourceType") != Some("Bundle") {
        return Err(refused(IssueCode::Structure, Text::new("document-not-bundle"), "Bundle.resourceType"));
    }
    bundle_type(&tree)?;
    let entries = match tree.field("entry").and_then(Json::as_array) {
        Some(entries) if !entries.is_empty() => entries,
        _ => return Err(refused(IssueCode::Required, Text::new("document-no-entries"), "Bundle.entry")),
    };
    // The wrap adds the MessageHeader: the document may use the message limit but for that one entry.
    let max = limits.max_entries.saturating_sub(1);
    if entries.len() > max {
        return Err(refused(
            IssueCode::TooCostly,
            Text::new("document-too-many-entries")
                .num("count", entries.len())
                .num("max", max)
                .num("limit", limits.max_entries),
            "Bundle.entry",
        ));
    }
    let composition = entries[0].field("resource").filter(|r| r.str_field("resourceType") == Some("Composition"));
    let Some(composition) = composition else {
        return Err(refused(IssueCode::Structure, Text::new("document-no-composition"), "Bundle.entry[0].resource"));
    };

    let mut issues = Vec::new();
    let text =
        |value: &Json<'_>, key: &str| value.str_field(key).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let identifier = tree.field("identifier").and_then(|id| Some((text(id, "system")?, text(id, "value")?)));
    if identifier.is_none() {
        issues.push(Issue::says(IssueCode::Required, Text::new("document-no-identifier")).at("Bundle.identifier"));
    }
    if text(&tree, "timestamp").is_none() {
        issues.push(Issue::says(IssueCode::Required, Text::new("document-no-timestamp")).at("Bundle.timestamp"));
    }
    let types: Vec<TypeCoding> = composition
        .field("type")
        .map(|t| t.items("coding"))
        .unwrap_or_default()
        .iter()
        .filter_map(|c| Some(TypeCoding { system: text(c, "system"), code: text(c, "code")? }))
        .collect();
    if types.is_empty() {
        issues
            .push(Issue::says(IssueCode::Required, Text::new("document-no-type")).at("Bundle.entry[0].resource.type"));
    }
    let focus = text(&entries[0], "fullUrl").or_else(|| Some(format!("Composition/{}", text(composition, "id")?)));
    if focus.is_none() {
        issues.push(Issue::says(IssueCode::Required, Text::new("document-no-focus")).at("Bundle.entry[0].fullUrl"));
    }
    let spans = entry_spans(bytes).filter(|spans| spans.len() == entries.len());
    if spans.is_none() {
        issues.push(Issue::says(IssueCode::Structure, Text::new("document-entries-undelimited")).at("Bundle.entry"));
    }
    match (identifier, focus, spans, issues.is_empty()) {
        (Some(identifier), Some(focus), Some(spans), true) => Ok(DocumentFacts { identifier, types, focus, spans }),
        _ => Err(issues),
    }
}

/// Checks that `Bundle.type` is `document`; a message is sent to `$process-message`.
fn bundle_type(tree: &Json<'_>) -> Result<(), Vec<Issue>> {
    match tree.str_field("type") {
        Some("document") => Ok(()),
        Some("message") => Err(refused(IssueCode::Value, Text::new("document-type-message"), "Bundle.type")),
        Some(other) => {
            let other: String = other.chars().take(40).collect();
            Err(refused(
                IssueCode::Value,
                Text::new("document-type-other").arg("type", format!("{other:?}")),
                "Bundle.type",
            ))
        }
        None => Err(refused(IssueCode::Required, Text::new("document-type-missing"), "Bundle.type")),
    }
}

/// A receiver of the wrapped message, as the directory knows it.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub identifier: OrgIdentifier,
    /// Its registered endpoint (R4 requires `destination.endpoint`; routing checks it is this one).
    pub endpoint: String,
}

/// What the broker writes into the wrap's MessageHeader.
#[derive(Debug, Clone)]
pub struct Wrap<'a> {
    pub header_id: &'a str,
    pub bundle_id: &'a str,
    /// The kind: its event coding and MessageDefinition.
    pub event_system: &'a str,
    pub event_code: &'a str,
    pub definition: &'a str,
    /// The caller, by the identifier the directory knows it by.
    pub sender: &'a OrgIdentifier,
    pub receivers: &'a [Receiver],
    /// The Composition (`DocumentFacts::focus`).
    pub focus: &'a str,
    /// The broker's FHIR base (`MessageHeader.source.endpoint`).
    pub broker: &'a str,
    /// RFC 3339 time of the wrap (`Bundle.timestamp`; not in the entries, so a resend compares equal).
    pub now: &'a str,
}

/// The wrap's bytes: `{Bundle of type message, "entry":[the new MessageHeader, the document's entries
/// as received]}`. The header holds nothing that changes between two sends of the same document to
/// the same receivers (no time, ids derived from the document), so ingest's deduplication by
/// canonical entries recognises a resend.
pub fn wrap(document: &[u8], spans: &[Range<usize>], wrap: &Wrap<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let header = json!({
        "fullUrl": format!("urn:uuid:{}", wrap.header_id),
        "resource": {
            "resourceType": "MessageHeader",
            "id": wrap.header_id,
            "eventCoding": { "system": wrap.event_system, "code": wrap.event_code },
            "destination": wrap.receivers.iter().map(|r| json!({
                "endpoint": r.endpoint,
                "receiver": { "identifier": { "system": r.identifier.system(), "value": r.identifier.value() } },
            })).collect::<Vec<_>>(),
            "sender": { "identifier": { "system": wrap.sender.system(), "value": wrap.sender.value() } },
            "source": { "name": "handover-broker", "endpoint": wrap.broker },
            "focus": [{ "reference": wrap.focus }],
            "definition": wrap.definition,
        },
    });
    let head = serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "id": wrap.bundle_id,
        "type": "message",
        "timestamp": wrap.now,
    }))?;
    let header = serde_json::to_vec(&header)?;
    let body: usize = spans.iter().map(|s| s.len() + 1).sum();
    let mut out = Vec::with_capacity(head.len() + header.len() + body + 16);
    // `{...` without its closing brace, then `,"entry":[header,entries...]}`.
    out.extend_from_slice(&head[..head.len() - 1]);
    out.extend_from_slice(b",\"entry\":[");
    out.extend_from_slice(&header);
    for span in spans {
        out.push(b',');
        out.extend_from_slice(&document[span.clone()]);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// A UUID made from the SHA-256 of `parts` (version 8, "custom", RFC 9562): the same parts give the
/// same id, so a resend of a document gets the MessageHeader.id of its first send. Parts are
/// length-prefixed so that no two lists hash alike.
pub fn derived_uuid(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        crate::config::Settings::load(None).expect("defaults").limits
    }

    /// Pretty-printed, with odd spacing and escapes: the wrap must carry these bytes.
    fn document() -> Vec<u8> {
        br#"{ "resourceType": "Bundle", "id": "d1", "type": "document",
  "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0" },
  "timestamp": "2026-12-01T10:00:00+01:00",
  "entry": [
    { "fullUrl": "urn:uuid:c", "resource": { "resourceType": "Composition", "id": "c",
      "type": { "coding": [ { "system": "http://loinc.org", "code": "60591-5" } ] } } },
    {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","name":[{"text":"\"A\" ]}"}]}}
  ] }"#
            .to_vec()
    }

    #[test]
    fn a_document_is_read_and_wrapped_with_its_entries_byte_for_byte() {
        let bytes = document();
        let facts = read(&bytes, &limits()).unwrap();
        assert_eq!(facts.focus, "urn:uuid:c");
        assert_eq!(facts.types, vec![TypeCoding { system: Some("http://loinc.org".into()), code: "60591-5".into() }]);
        let sender = OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", "90000011").unwrap();
        let receivers = [Receiver {
            identifier: OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", "90000012").unwrap(),
            endpoint: "https://b/mailbox/gp".into(),
        }];
        let wrapped = wrap(
            &bytes,
            &facts.spans,
            &Wrap {
                header_id: "h",
                bundle_id: "b",
                event_system: "s",
                event_code: "patient-summary",
                definition: "d",
                sender: &sender,
                receivers: &receivers,
                focus: &facts.focus,
                broker: "https://broker",
                now: "2026-12-01T10:00:01Z",
            },
        )
        .unwrap();
        let text = String::from_utf8(wrapped.clone()).unwrap();
        for span in &facts.spans {
            assert!(text.contains(std::str::from_utf8(&bytes[span.clone()]).unwrap()), "entry kept as received");
        }
        let message = crate::message::parse(wrapped.into(), &limits()).expect("a message envelope");
        assert_eq!(message.header_id().as_str(), "h");
        assert_eq!(message.destinations().len(), 1);
        assert_eq!(message.document().items("entry").len(), 3);
    }

    #[test]
    fn what_is_not_a_wrappable_document_is_refused_with_every_issue() {
        let limits = limits();
        let first = |bytes: &[u8]| read(bytes, &limits).unwrap_err().remove(0);
        assert!(first(b"").message.contains("empty"));
        assert!(first(b"not json").message.starts_with("the body is not valid JSON"));
        assert!(first(br#"{"resourceType":"Bundle","type":"message","entry":[{}]}"#)
            .message
            .contains("$process-message"));
        assert!(first(br#"{"resourceType":"Bundle","type":"collection"}"#).message.contains("collection"));
        assert!(first(br#"{"resourceType":"Bundle","type":"document","type":"document"}"#).message.contains("twice"));
        assert_eq!(
            first(br#"{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Patient"}}]}"#)
                .expression
                .as_deref(),
            Some("Bundle.entry[0].resource")
        );
        let bare =
            br#"{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Composition"}}]}"#;
        let issues = read(bare, &limits).unwrap_err();
        let at: Vec<_> = issues.iter().filter_map(|i| i.expression.as_deref()).collect();
        assert_eq!(
            at,
            ["Bundle.identifier", "Bundle.timestamp", "Bundle.entry[0].resource.type", "Bundle.entry[0].fullUrl"]
        );
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(first(deep.as_bytes()).message.contains("nesting"));
        let many = format!(
            r#"{{"resourceType":"Bundle","type":"document","entry":[{}]}}"#,
            vec!["{}"; limits.max_entries].join(",")
        );
        assert!(first(many.as_bytes()).message.contains("entries"));
    }

    #[test]
    fn derived_ids_are_stable_uuids_that_differ_with_any_part() {
        let a = derived_uuid(&["org", "urn:ietf:rfc:3986", "x"]);
        assert_eq!(a, derived_uuid(&["org", "urn:ietf:rfc:3986", "x"]));
        assert_ne!(a, derived_uuid(&["org", "urn:ietf:rfc:3986x", ""]));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
    }
}
