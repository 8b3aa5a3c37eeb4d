//! What the push workers post to a Notified Pull receiver instead of the message: a notification
//! `Task` in the shape of the Twiin "TA Notified Pull" agreement (R4 rendering), telling the receiver
//! that a workflow Task waits for it at the broker and which resources it may fetch. The notification
//! carries ids and URLs only, never patient data: the receiver reads the rest with its own credentials.
//!
//! The same row of the `deliveries` outbox is notified as it would be pushed (leases, retries with
//! backoff, time to live); only the request differs, so there is no second dispatcher.

use serde_json::{json, Value};

use crate::model::{DeliveryId, OrgIdentifier, TrackingId};

/// `Task.code` system of Twiin's notification Task, and its code.
pub const TASK_CODE_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/TaskCode";
pub const PULL_NOTIFICATION_CODE: &str = "pull-notification";
/// `Task.input.type` system of the notification's parameters.
pub const TASK_PARAMETER_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/TaskParameter";

/// Where the broker serves a delivery's workflow Task and its resources (relative to the broker's base
/// URL), shared by the notification and the Task itself.
pub fn task_path(delivery: &DeliveryId) -> String {
    format!("/fhir/Task/{delivery}")
}

pub fn document_path(tracking: &TrackingId) -> String {
    format!("/fhir/Composition/{tracking}/$document")
}

pub fn message_path(tracking: &TrackingId) -> String {
    format!("/fhir/Bundle/{tracking}")
}

/// The URA: the identifier Twiin names organisations by.
pub const URA_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/ura";

/// The identifier to name an organisation by: its URA if it has one, else its first.
pub fn preferred(identifiers: &[OrgIdentifier]) -> Option<&OrgIdentifier> {
    identifiers.iter().find(|i| i.system() == URA_SYSTEM).or_else(|| identifiers.first())
}

/// An opaque value that the receiver passes back when it asks for access (Twiin's
/// `authorization-base`). The broker authenticates the receiver by its own credentials and needs no
/// such value to decide; it is derived from the delivery id so that every retry carries the same one.
pub fn authorization_base(delivery: &DeliveryId) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("handover-broker authorization-base {delivery}").as_bytes()))
}

/// What a notification names.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub delivery: &'a DeliveryId,
    pub tracking: &'a TrackingId,
    /// The broker's base URL (`https://host:port`).
    pub base_url: &'a str,
    /// The sending organisation (requester) and the receiver (owner), as the directory knows them.
    pub requester: Option<&'a OrgIdentifier>,
    pub owner: Option<&'a OrgIdentifier>,
    /// RFC 3339 time of the notification.
    pub now: &'a str,
}

fn parameter(code: &str, value_key: &str, value: Value) -> Value {
    let mut input = json!({ "type": { "coding": [{ "system": TASK_PARAMETER_SYSTEM, "code": code }] } });
    input[value_key] = value;
    input
}

fn organization(identifier: Option<&OrgIdentifier>) -> Option<Value> {
    identifier.map(|i| json!({ "identifier": { "system": i.system(), "value": i.value() } }))
}

/// The notification Task's JSON bytes.
pub fn notification(notice: &Notice<'_>) -> Vec<u8> {
    let base = notice.base_url.trim_end_matches('/');
    let workflow = format!("{base}{}", task_path(notice.delivery));
    let mut task = json!({
        "resourceType": "Task",
        // The same identifier on every retry: a receiver drops a duplicate notification by it.
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", notice.delivery) }],
        "basedOn": [{ "reference": workflow }],
        "status": "requested",
        "intent": "proposal",
        "code": { "coding": [{ "system": TASK_CODE_SYSTEM, "code": PULL_NOTIFICATION_CODE }] },
        "focus": { "reference": workflow },
        "authoredOn": notice.now,
        "input": [
            parameter("authorization-base", "valueString", json!(authorization_base(notice.delivery))),
            parameter("get-workflow-task", "valueUrl", json!(workflow)),
            parameter("read-available-resource", "valueUrl", json!(format!("{base}{}", document_path(notice.tracking)))),
            parameter("read-available-resource", "valueUrl", json!(format!("{base}{}", message_path(notice.tracking)))),
        ],
    });
    if let Some(requester) = organization(notice.requester) {
        task["requester"] = requester;
    }
    if let Some(owner) = organization(notice.owner) {
        task["owner"] = owner;
    }
    // Serialising a `Value` built here cannot fail.
    serde_json::to_vec(&task).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_names_the_workflow_task_and_what_may_be_fetched_and_nothing_else() {
        let (delivery, tracking) = (DeliveryId::generate(), TrackingId::generate());
        let ura = OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", "90000011").unwrap();
        let notice = Notice {
            delivery: &delivery,
            tracking: &tracking,
            base_url: "https://broker.example/",
            requester: Some(&ura),
            owner: None,
            now: "2026-12-01T08:00:00Z",
        };
        let task: Value = serde_json::from_slice(&notification(&notice)).unwrap();
        assert_eq!(task["status"], "requested");
        assert_eq!(task["intent"], "proposal");
        assert_eq!(task["code"]["coding"][0]["code"], PULL_NOTIFICATION_CODE);
        let workflow = format!("https://broker.example/fhir/Task/{delivery}");
        assert_eq!(task["focus"]["reference"], workflow.as_str());
        assert_eq!(task["basedOn"][0]["reference"], workflow.as_str());
        let codes: Vec<&str> = task["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["authorization-base", "get-workflow-task", "read-available-resource", "read-available-resource"]
        );
        assert_eq!(task["input"][0]["valueString"], authorization_base(&delivery).as_str());
        assert_eq!(task["requester"]["identifier"]["value"], "90000011");
        assert!(task.get("owner").is_none() && task.get("for").is_none(), "no patient, no invented owner");
        // Stable across retries.
        assert_eq!(notification(&notice), notification(&notice));
    }
}
