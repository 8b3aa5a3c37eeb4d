//! The handover as a FHIR document: a `document` Bundle of the message's entries, the Composition
//! first, the MessageHeader left out. Each entry is cut byte for byte from the stored message (as
//! `forward` cuts them), never re-serialised: what the receiver reads is what the sender wrote.

use serde_json::{json, Value};

use crate::model::TrackingId;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// The handover holds no Composition (e.g. a referral focused on a ServiceRequest alone).
    #[error("the handover has no Composition")]
    NoComposition,
    #[error("the stored message cannot be read as a message Bundle")]
    NotAMessage,
}

/// The document Bundle's bytes. `message` is the message as stored; `received` the RFC 3339 time the
/// broker accepted it (the document's timestamp when the message carries none).
pub fn document(message: &[u8], tracking: &TrackingId, received: &str) -> Result<Vec<u8>, DocumentError> {
    let bundle: Value = serde_json::from_slice(message).map_err(|_| DocumentError::NotAMessage)?;
    let entries = bundle.get("entry").and_then(Value::as_array).ok_or(DocumentError::NotAMessage)?;
    let kind = |n: usize| entries.get(n).and_then(|e| e.pointer("/resource/resourceType")).and_then(Value::as_str);
    let composition =
        (0..entries.len()).find(|n| kind(*n) == Some("Composition")).ok_or(DocumentError::NoComposition)?;
    let spans = crate::json::entry_spans(message).ok_or(DocumentError::NotAMessage)?;
    if spans.len() != entries.len() {
        return Err(DocumentError::NotAMessage);
    }
    let timestamp = bundle.get("timestamp").and_then(Value::as_str).unwrap_or(received);
    let head = json!({
        "resourceType": "Bundle",
        "id": tracking.as_str(),
        // One identifier per handover, whichever receiver reads it (R4 bdl-9).
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{tracking}") },
        "type": "document",
        "timestamp": timestamp,
    })
    .to_string();
    let mut out = Vec::with_capacity(message.len() + 256);
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"entry\":[");
    out.extend_from_slice(&message[spans[composition].clone()]);
    for (n, span) in spans.iter().enumerate() {
        if n == composition || kind(n) == Some("MessageHeader") {
            continue;
        }
        out.push(b',');
        out.extend_from_slice(&message[span.clone()]);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"resourceType":"Bundle","type":"message","timestamp":"2026-12-01T08:00:00Z","entry":[
        {"fullUrl":"urn:uuid:h","resource":{"resourceType":"MessageHeader","id":"h"}},
        { "fullUrl": "urn:uuid:p", "resource": {"resourceType":"Patient","name":[{"text":"a \"b\" ]}"}]} },
        {"fullUrl":"urn:uuid:c","resource":{"resourceType":"Composition","id":"c","title":"é"}}
    ]}"#;

    #[test]
    fn the_document_is_the_composition_then_the_other_entries_byte_for_byte() {
        let tracking = TrackingId::generate();
        let bytes = document(MESSAGE.as_bytes(), &tracking, "2026-12-01T09:00:00Z").unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["type"], "document");
        assert_eq!(parsed["timestamp"], "2026-12-01T08:00:00Z");
        assert_eq!(parsed["entry"].as_array().unwrap().len(), 2);
        assert_eq!(parsed["entry"][0]["resource"]["resourceType"], "Composition");
        assert!(
            text.contains(r#"{"fullUrl":"urn:uuid:c","resource":{"resourceType":"Composition","id":"c","title":"é"}}"#)
        );
        assert!(text.contains(
            r#"{ "fullUrl": "urn:uuid:p", "resource": {"resourceType":"Patient","name":[{"text":"a \"b\" ]}"}]} }"#
        ));
        assert!(!text.contains("MessageHeader"));
    }

    #[test]
    fn without_a_composition_there_is_no_document() {
        let message = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MessageHeader"}}]}"#;
        assert_eq!(document(message.as_bytes(), &TrackingId::generate(), "x"), Err(DocumentError::NoComposition));
        assert_eq!(document(b"{", &TrackingId::generate(), "x"), Err(DocumentError::NotAMessage));
    }
}
