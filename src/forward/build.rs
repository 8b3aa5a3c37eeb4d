//! Building the forwarded message: a new MessageHeader (new id, the triage point as sender, the chosen
//! receivers as destinations, a link to the original's tracking id), then every other entry of the
//! original **byte for byte** (their spans are cut from the received bytes, not re-serialised, so that
//! nothing clinical can change on the way), then, if the triage point wrote one, its note as a
//! `Communication`.

use std::ops::Range;

use serde_json::{json, Value};

use crate::model::{OrgIdentifier, TrackingId};

/// `MessageHeader` extension (`valueId`): the tracking id of the message this one forwards.
pub const FORWARDED_FROM_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/forwarded-from";

/// The longest triage note the broker carries (characters).
pub const MAX_NOTE_CHARS: usize = 4000;
/// The most receivers one forwarding may name.
pub const MAX_RECEIVERS: usize = 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForwardError {
    #[error("the stored message is not a message Bundle with entries: {0}")]
    NotAMessage(&'static str),
    #[error("a forwarding names at least one receiver and at most {MAX_RECEIVERS}")]
    Receivers,
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
}

/// Where a forwarded message goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub receiver: OrgIdentifier,
    pub name: String,
    /// The receiver's endpoint address from the directory.
    pub endpoint: String,
}

/// What the triage point decided.
#[derive(Debug, Clone)]
pub struct Forwarding<'a> {
    /// The original's tracking id (the link kept in the new header).
    pub original: &'a TrackingId,
    /// The triage point: the new sender.
    pub sender: &'a OrgIdentifier,
    pub sender_name: &'a str,
    pub destinations: &'a [Destination],
    pub note: Option<&'a str>,
    /// The broker's base URL (`MessageHeader.source.endpoint`).
    pub broker: &'a str,
    /// RFC 3339 time of the forwarding.
    pub now: &'a str,
}

/// The forwarded message's bytes. `original` is the received message exactly as stored.
pub fn build(original: &[u8], forwarding: &Forwarding<'_>) -> Result<Vec<u8>, ForwardError> {
    if forwarding.destinations.is_empty() || forwarding.destinations.len() > MAX_RECEIVERS {
        return Err(ForwardError::Receivers);
    }
    if forwarding.note.is_some_and(|note| note.chars().count() > MAX_NOTE_CHARS) {
        return Err(ForwardError::NoteTooLong);
    }
    let bundle: Value = serde_json::from_slice(original).map_err(|_| ForwardError::NotAMessage("not JSON"))?;
    let entries = bundle.get("entry").and_then(Value::as_array).ok_or(ForwardError::NotAMessage("no entries"))?;
    let header = entries
        .first()
        .and_then(|e| e.get("resource"))
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("MessageHeader"))
        .ok_or(ForwardError::NotAMessage("the first entry is not a MessageHeader"))?;
    let spans = entry_spans(original).ok_or(ForwardError::NotAMessage("its entries cannot be delimited"))?;
    if spans.len() != entries.len() {
        return Err(ForwardError::NotAMessage("its entries cannot be delimited"));
    }
    let header_id = uuid::Uuid::new_v4().to_string();
    let new_header = json!({
        "fullUrl": format!("urn:uuid:{header_id}"),
        "resource": new_header(header, &header_id, forwarding),
    });
    let mut out = Vec::with_capacity(original.len() + 2048);
    let bundle_head = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": forwarding.now,
    });
    // `{...,"entry":[` then the new header, the original entries as received, the note.
    let head = serde_json::to_vec(&bundle_head).map_err(|_| ForwardError::NotAMessage("cannot write"))?;
    out.extend_from_slice(&head[..head.len() - 1]);
    out.extend_from_slice(b",\"entry\":[");
    out.extend_from_slice(&serde_json::to_vec(&new_header).map_err(|_| ForwardError::NotAMessage("cannot write"))?);
    for span in &spans[1..] {
        out.push(b',');
        out.extend_from_slice(&original[span.clone()]);
    }
    if let Some(note) = forwarding.note {
        let note = note_entry(entries, note, forwarding);
        out.push(b',');
        out.extend_from_slice(&serde_json::to_vec(&note).map_err(|_| ForwardError::NotAMessage("cannot write"))?);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The original header with a new id, the triage point as sender, the new destinations, the broker as
/// source and the link to the original; event, focus, definition and author stay.
fn new_header(original: &Value, id: &str, forwarding: &Forwarding<'_>) -> Value {
    let mut header = json!({ "resourceType": "MessageHeader", "id": id });
    let extension = json!([{ "url": FORWARDED_FROM_URL, "valueId": forwarding.original.as_str() }]);
    header["extension"] = extension;
    for key in ["eventCoding", "eventUri"] {
        if let Some(value) = original.get(key) {
            header[key] = value.clone();
        }
    }
    header["destination"] = forwarding
        .destinations
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "endpoint": d.endpoint,
                "receiver": { "identifier": { "system": d.receiver.system(), "value": d.receiver.value() }, "display": d.name },
            })
        })
        .collect();
    header["sender"] = json!({
        "identifier": { "system": forwarding.sender.system(), "value": forwarding.sender.value() },
        "display": forwarding.sender_name,
    });
    for key in ["author", "reason", "focus", "definition"] {
        if let Some(value) = original.get(key) {
            header[key] = value.clone();
        }
    }
    header["source"] = json!({ "name": "handover-broker", "endpoint": forwarding.broker });
    header
}

/// The triage point's note: a Communication about the handover's patient.
fn note_entry(entries: &[Value], note: &str, forwarding: &Forwarding<'_>) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    let patient = entries
        .iter()
        .find(|e| e.pointer("/resource/resourceType").and_then(Value::as_str) == Some("Patient"))
        .and_then(|e| e.get("fullUrl"))
        .cloned();
    let mut communication = json!({
        "resourceType": "Communication",
        "id": id,
        "status": "completed",
        "category": [{ "text": "Triage note" }],
        "sent": forwarding.now,
        "sender": { "identifier": { "system": forwarding.sender.system(), "value": forwarding.sender.value() },
                    "display": forwarding.sender_name },
        "payload": [{ "contentString": note }],
    });
    if let Some(patient) = patient {
        communication["subject"] = json!({ "reference": patient });
    }
    json!({ "fullUrl": format!("urn:uuid:{id}"), "resource": communication })
}

/// The byte ranges of the elements of the top-level `entry` array, or `None` when there is none (or the
/// JSON is malformed). A scan of the bytes that knows strings and escapes; nothing is parsed twice.
pub(crate) fn entry_spans(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut depth = 0usize;
    let mut i = 0;
    // The key last read at depth 1, and whether we are inside the entry array (depth 2).
    let mut key_at_1: Option<Range<usize>> = None;
    let mut in_entries = false;
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let from = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return None;
                }
                if depth == 1 && !in_entries {
                    key_at_1 = Some(from + 1..i);
                }
                if in_entries && depth == 2 && start.is_none() {
                    start = Some(from);
                }
            }
            b'{' | b'[' => {
                if in_entries && depth == 2 && start.is_none() {
                    start = Some(i);
                }
                if depth == 1 && bytes[i] == b'[' && key_at_1.as_ref().is_some_and(|k| &bytes[k.clone()] == b"entry") {
                    in_entries = true;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if in_entries && depth == 1 {
                    // The entry array closes.
                    spans.extend(start.take().map(|s| s..trim_end(bytes, s, i)));
                    return Some(spans);
                }
            }
            b',' if in_entries && depth == 2 => spans.push(start.take()?..trim_end(bytes, 0, i)),
            b':' if depth == 1 => {}
            _ => {
                if in_entries && depth == 2 && start.is_none() && !bytes[i].is_ascii_whitespace() {
                    start = Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// `end` moved back over white space (to just after the last byte of the element).
fn trim_end(bytes: &[u8], floor: usize, mut end: usize) -> usize {
    while end > floor && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identifier(value: &str) -> OrgIdentifier {
        OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", value).unwrap()
    }

    fn original() -> Vec<u8> {
        // Pretty-printed, with odd spacing, escapes and a number written as the sender wrote it: the
        // forwarded entries must be these bytes, not a re-serialisation.
        br#"{
  "resourceType": "Bundle", "id": "b1", "type": "message",
  "entry": [
    { "fullUrl": "urn:uuid:h", "resource": { "resourceType": "MessageHeader", "id": "h",
      "eventCoding": { "system": "https://fhir.handover-broker.eu/CodeSystem/handover-event", "code": "care-request" },
      "sender": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/ura", "value": "90000012" } },
      "destination": [{ "endpoint": "x" }], "focus": [{ "reference": "urn:uuid:s" }] } },
    {"fullUrl":"urn:uuid:s","resource":{"resourceType":"ServiceRequest","id":"s","note":[{"text":"\"zo snel mogelijk\" ] }"}]}} ,
    { "fullUrl": "urn:uuid:p", "resource": { "resourceType": "Patient", "id": "p", "multipleBirthInteger": 1.0E0 } }
  ]
}"#
        .to_vec()
    }

    #[test]
    fn entry_spans_cut_each_entry_exactly_whatever_its_strings_hold() {
        let bytes = original();
        let spans = entry_spans(&bytes).unwrap();
        assert_eq!(spans.len(), 3);
        let second = std::str::from_utf8(&bytes[spans[1].clone()]).unwrap();
        assert!(second.starts_with("{\"fullUrl\":\"urn:uuid:s\"") && second.ends_with("]}}"), "{second}");
        let third = std::str::from_utf8(&bytes[spans[2].clone()]).unwrap();
        assert!(third.starts_with("{ \"fullUrl\": \"urn:uuid:p\"") && third.ends_with("} }"), "{third}");
        for broken in [&b"{\"entry\":[{\"a\":\"open]}"[..], b"{\"entry\":[1,2", b"{\"id\":\"x\"}", b"]"] {
            assert_eq!(entry_spans(broken), None, "{}", String::from_utf8_lossy(broken));
        }
    }

    #[test]
    fn a_forwarded_message_keeps_every_entry_byte_for_byte_and_links_the_original() {
        let bytes = original();
        let original_tracking = TrackingId::generate();
        let (triage, home) = (identifier("90000014"), identifier("90000015"));
        let destinations =
            [Destination { receiver: home.clone(), name: "Hoogveld".into(), endpoint: "https://b/mailbox/h".into() }];
        let forwarding = Forwarding {
            original: &original_tracking,
            sender: &triage,
            sender_name: "Zorgpunt",
            destinations: &destinations,
            note: Some("Voorkeur: kamer op de begane grond."),
            broker: "https://broker.example",
            now: "2026-12-01T10:00:00+01:00",
        };
        let forwarded = build(&bytes, &forwarding).unwrap();
        let text = String::from_utf8(forwarded.clone()).unwrap();
        let spans = entry_spans(&bytes).unwrap();
        for span in &spans[1..] {
            assert!(text.contains(std::str::from_utf8(&bytes[span.clone()]).unwrap()), "entry kept as received");
        }
        let bundle: Value = serde_json::from_slice(&forwarded).unwrap();
        let header = &bundle["entry"][0]["resource"];
        assert_ne!(header["id"], "h");
        assert_eq!(header["extension"][0]["valueId"], original_tracking.as_str());
        assert_eq!(header["sender"]["identifier"]["value"], "90000014");
        assert_eq!(header["destination"][0]["receiver"]["identifier"]["value"], "90000015");
        assert_eq!(header["eventCoding"]["code"], "care-request");
        assert_eq!(header["focus"][0]["reference"], "urn:uuid:s");
        let note = &bundle["entry"][3]["resource"];
        assert_eq!(
            (&note["resourceType"], &note["subject"]["reference"]),
            (&json!("Communication"), &json!("urn:uuid:p"))
        );
        assert_eq!(bundle["entry"].as_array().unwrap().len(), 4);
    }

    /// A forwarded care request is itself a complete handover: it passes the same validation.
    #[test]
    fn a_forwarded_care_request_is_a_complete_handover() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(root.join("fixtures/handovers/care-request-nl.json")).unwrap();
        let catalog = crate::profiles::Catalog::load(&root.join("profiles")).unwrap();
        let tracking = TrackingId::generate();
        let triage = identifier("90000014");
        let destinations = [Destination {
            receiver: identifier("90000015"),
            name: "Verpleeghuis Hoogveld Heerlen (demo)".into(),
            endpoint: "https://fhir.handover-broker.eu/mailbox/vpl-hoogveld".into(),
        }];
        let forwarding = Forwarding {
            original: &tracking,
            sender: &triage,
            sender_name: "Zorgpunt Zuid-Limburg (demo)",
            destinations: &destinations,
            note: Some("Geplaatst op ELV hoog complex; opname vandaag na 14:00."),
            broker: "https://broker.example",
            now: "2026-11-14T13:05:00+01:00",
        };
        let forwarded = build(&bytes, &forwarding).unwrap();
        let limits = crate::config::Settings::load(None).unwrap().limits;
        let submission = crate::message::parse(forwarded.into(), &limits).unwrap();
        let errors: Vec<_> = catalog.validate(&submission).into_iter().filter(|i| i.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn receivers_and_notes_are_limited_and_only_messages_are_forwarded() {
        let bytes = original();
        let tracking = TrackingId::generate();
        let triage = identifier("90000014");
        let one = [Destination { receiver: identifier("90000015"), name: "H".into(), endpoint: "e".into() }];
        let many: Vec<Destination> = (0..=MAX_RECEIVERS).map(|_| one[0].clone()).collect();
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        let base = Forwarding {
            original: &tracking,
            sender: &triage,
            sender_name: "Z",
            destinations: &one,
            note: None,
            broker: "b",
            now: "2026-12-01T10:00:00Z",
        };
        assert_eq!(build(&bytes, &Forwarding { destinations: &[], ..base.clone() }), Err(ForwardError::Receivers));
        assert_eq!(build(&bytes, &Forwarding { destinations: &many, ..base.clone() }), Err(ForwardError::Receivers));
        assert_eq!(build(&bytes, &Forwarding { note: Some(&long), ..base.clone() }), Err(ForwardError::NoteTooLong));
        assert!(matches!(build(b"{\"resourceType\":\"Patient\"}", &base), Err(ForwardError::NotAMessage(_))));
        assert!(build(&bytes, &base).is_ok());
    }
}
