//! The workflow Task as the receiver sees it, and what it may change in it.
//!
//! The Task is a view of the delivery: its id is the delivery id, its status what the receiver set
//! (or, once the delivery ended otherwise, what that end means), and it names the handover it is about
//! by the broker's URLs. A receiver changes `status`, `businessStatus` and `statusReason` and nothing
//! else; every allowed status move is in [`TaskStatus::moves_to`], and what a status means for the
//! delivery in [`TaskStatus::delivery_state`].

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Value};

use crate::delivery::notify::{document_path, message_path};
use crate::model::{DeliveryState, OrgIdentifier};
use crate::outcome::Text;
use crate::store::TaskRecord;
use crate::time::Millis;

/// SNOMED CT: transfer of care (procedure), the eOverdracht workflow Task's code.
pub const TRANSFER_OF_CARE: &str = "308292007";
/// SNOMED CT: the nursing handoff (the handover document) input of an eOverdracht workflow Task.
pub const NURSING_HANDOFF: &str = "11171000146100";
const SNOMED: &str = "http://snomed.info/sct";

/// The largest `businessStatus` or `statusReason` kept (as JSON text).
pub const MAX_CONCEPT_BYTES: usize = 2048;

/// The statuses of a workflow Task (FHIR R4 `TaskStatus`, the ones this workflow uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Requested,
    Received,
    Accepted,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
    /// Shown only: the delivery failed or expired before the receiver answered. Never set by a receiver.
    Failed,
}

impl TaskStatus {
    pub const ALL: [Self; 8] = [
        Self::Requested,
        Self::Received,
        Self::Accepted,
        Self::InProgress,
        Self::Completed,
        Self::Rejected,
        Self::Cancelled,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// No further change is possible.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled | Self::Failed)
    }

    /// Whether a receiver may set this status at all (`requested` is the sender's, `failed` the
    /// broker's).
    pub fn settable(self) -> bool {
        !matches!(self, Self::Requested | Self::Failed)
    }

    /// Whether a receiver may move the Task from `self` to `to`. Staying at a status that is not final
    /// is allowed (a new businessStatus); a final status never changes.
    pub fn moves_to(self, to: Self) -> bool {
        use TaskStatus as S;
        if self.is_terminal() {
            return false;
        }
        if self == to {
            return true;
        }
        if !to.settable() {
            return false;
        }
        match (self, to) {
            (S::Requested, _) => true,
            (S::Received, S::Accepted | S::InProgress | S::Completed | S::Rejected | S::Cancelled) => true,
            // Once accepted, the receiver may still give up (cancelled), but no longer refuse.
            (S::Accepted, S::InProgress | S::Completed | S::Cancelled) => true,
            (S::InProgress, S::Completed | S::Cancelled) => true,
            _ => false,
        }
    }

    /// The delivery state a receiver's status means (DESIGN.md section 3): it has the handover, it
    /// accepted it, or it refused it.
    pub fn delivery_state(self) -> DeliveryState {
        match self {
            Self::Requested | Self::Received | Self::Accepted | Self::InProgress => DeliveryState::Delivered,
            Self::Completed => DeliveryState::AcceptedByReceiver,
            Self::Rejected | Self::Cancelled | Self::Failed => DeliveryState::RejectedByReceiver,
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| s.to_owned())
    }
}

/// The status a Task shows: what the receiver set while its delivery is open; once the delivery
/// ended, what that end means (a business response through `$process-message` answers the Task too).
pub fn shown_status(record: &TaskRecord) -> TaskStatus {
    let set = record.status.as_deref().and_then(|s| s.parse::<TaskStatus>().ok());
    match record.state {
        DeliveryState::Queued | DeliveryState::Delivered => set.unwrap_or(TaskStatus::Requested),
        DeliveryState::Forwarded => set.unwrap_or(TaskStatus::InProgress),
        DeliveryState::AcceptedByReceiver => TaskStatus::Completed,
        DeliveryState::RejectedByReceiver => {
            set.filter(|s| matches!(s, TaskStatus::Cancelled)).unwrap_or(TaskStatus::Rejected)
        }
        DeliveryState::Failed | DeliveryState::Expired => TaskStatus::Failed,
        // The sender placed the patient elsewhere: the request is withdrawn.
        DeliveryState::Withdrawn => TaskStatus::Cancelled,
    }
}

/// When the Task last changed as shown: the receiver's last change, or the delivery's end if that
/// decided the status, or its creation.
pub fn last_updated(record: &TaskRecord) -> Millis {
    let set = record.task_updated_at.unwrap_or(record.created_at);
    if record.state.is_terminal() || record.state == DeliveryState::Forwarded {
        Millis::from_i64(set.as_i64().max(record.delivery_updated_at.as_i64()))
    } else {
        set
    }
}

/// What the view needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct ViewContext<'a> {
    pub base_url: &'a str,
    /// The sending organisation's identifier and name (the requester), from the directory.
    pub requester: Option<(&'a OrgIdentifier, &'a str)>,
}

/// A stored CodeableConcept (JSON text the broker checked on the way in).
fn concept(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok()).filter(Value::is_object)
}

/// The Task's JSON.
pub fn view(record: &TaskRecord, context: &ViewContext<'_>) -> Value {
    let base = context.base_url.trim_end_matches('/');
    let last = last_updated(record).to_rfc3339_secs();
    let mut task = json!({
        "resourceType": "Task",
        "id": record.delivery_id.as_str(),
        "meta": { "versionId": record.version.to_string(), "lastUpdated": last },
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", record.delivery_id) }],
        // The message: all deliveries of one handover share it.
        "groupIdentifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", record.tracking_id) },
        "status": shown_status(record).as_str(),
        "intent": "order",
        "code": { "coding": [{ "system": SNOMED, "code": TRANSFER_OF_CARE, "display": "Transfer of care" }] },
        "authoredOn": record.created_at.to_rfc3339_secs(),
        "lastModified": last,
        "owner": { "identifier": { "system": record.receiver_system, "value": record.receiver_value } },
        "input": [
            {
                "type": { "coding": [{ "system": SNOMED, "code": NURSING_HANDOFF }], "text": "handover document" },
                "valueReference": { "reference": format!("{base}{}", document_path(&record.tracking_id)) },
            },
            {
                "type": { "text": "handover message as accepted" },
                "valueReference": { "reference": format!("{base}{}", message_path(&record.tracking_id)) },
            },
        ],
    });
    if let Some((identifier, name)) = context.requester {
        task["requester"] =
            json!({ "identifier": { "system": identifier.system(), "value": identifier.value() }, "display": name });
    }
    if let Some(business) = concept(record.business_status.as_deref()) {
        task["businessStatus"] = business;
    }
    if let Some(reason) = concept(record.status_reason.as_deref()) {
        task["statusReason"] = reason;
    }
    task
}

/// The elements a receiver may change; everything else of a PUT must be as the broker shows it.
pub const CHANGEABLE: [&str; 3] = ["status", "businessStatus", "statusReason"];
/// Elements the broker sets itself, not compared in a PUT.
const SERVER_SET: [&str; 3] = ["meta", "lastModified", "text"];

/// What a receiver asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub status: TaskStatus,
    /// JSON text of a CodeableConcept, at most [`MAX_CONCEPT_BYTES`].
    pub business_status: Option<String>,
    pub status_reason: Option<String>,
    /// `statusReason.text`, or its first coding's display or code: the reason the sender is told.
    pub reason_text: Option<String>,
}

/// Why an updated Task is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a Task of this id (400): where, and why.
    Malformed(String, Text),
    /// A Task, but changing what may not change, or a status no receiver sets (422): where, and why.
    Unprocessable(String, Text),
}

/// The receiver's Task (`updated`) against the Task as shown (`current`): only [`CHANGEABLE`]
/// elements may differ.
pub fn requested(current: &Value, updated: &Value) -> Result<Requested, Refusal> {
    let Some(object) = updated.as_object() else {
        return Err(Refusal::Malformed("Task".into(), Text::new("notified-not-object")));
    };
    if object.get("resourceType").and_then(Value::as_str) != Some("Task") {
        return Err(Refusal::Malformed("Task.resourceType".into(), Text::new("notified-not-task")));
    }
    if object.get("id") != current.get("id") {
        return Err(Refusal::Malformed("Task.id".into(), Text::new("notified-other-id")));
    }
    let strip = |value: &Value| -> Value {
        let mut value = value.clone();
        if let Some(map) = value.as_object_mut() {
            for key in CHANGEABLE.iter().chain(SERVER_SET.iter()) {
                map.remove(*key);
            }
        }
        value
    };
    let (before, after) = (strip(current), strip(updated));
    if before != after {
        let changed = after
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, value)| before.get(key.as_str()) != Some(*value))
            .map(|(key, _)| key.clone())
            .chain(
                before
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(key, _)| after.get(key.as_str()).is_none())
                    .map(|(key, _)| key.clone()),
            )
            .next()
            .unwrap_or_default();
        return Err(Refusal::Unprocessable(format!("Task.{changed}"), Text::new("notified-unchangeable")));
    }
    let status = match object.get("status").and_then(Value::as_str) {
        None => return Err(Refusal::Malformed("Task.status".into(), Text::new("notified-no-status"))),
        Some(text) => {
            text.parse::<TaskStatus>().ok().filter(|s| s.settable() || current.get("status") == object.get("status"))
        }
    };
    let Some(status) = status else {
        return Err(Refusal::Unprocessable("Task.status".into(), Text::new("notified-status-not-settable")));
    };
    let business_status = checked_concept(object.get("businessStatus"), "Task.businessStatus")?;
    let status_reason = checked_concept(object.get("statusReason"), "Task.statusReason")?;
    let reason_text = object.get("statusReason").and_then(|r| {
        r.get("text")
            .and_then(Value::as_str)
            .or_else(|| r.pointer("/coding/0/display").and_then(Value::as_str))
            .or_else(|| r.pointer("/coding/0/code").and_then(Value::as_str))
            .map(|t| t.chars().take(1000).collect())
    });
    Ok(Requested { status, business_status, status_reason, reason_text })
}

/// A CodeableConcept: an object of `coding` (objects of strings) and `text`, kept small.
fn checked_concept(value: Option<&Value>, at: &str) -> Result<Option<String>, Refusal> {
    let Some(value) = value else { return Ok(None) };
    let bad = |why: Text| Refusal::Unprocessable(at.to_owned(), why);
    let object = value.as_object().ok_or_else(|| bad(Text::new("notified-not-concept")))?;
    for (key, item) in object {
        match (key.as_str(), item) {
            ("text", Value::String(_)) => {}
            ("coding", Value::Array(codings)) => {
                let plain = |c: &Value| {
                    c.as_object().is_some_and(|c| {
                        c.iter().all(|(k, v)| {
                            matches!(k.as_str(), "system" | "version" | "code" | "display") && v.is_string()
                        })
                    })
                };
                if codings.is_empty() || !codings.iter().all(plain) {
                    return Err(bad(Text::new("notified-bad-coding")));
                }
            }
            _ => return Err(bad(Text::new("notified-concept-members"))),
        }
    }
    let text = value.to_string();
    if text.len() > MAX_CONCEPT_BYTES {
        return Err(bad(Text::new("notified-concept-too-long").num("max", MAX_CONCEPT_BYTES)));
    }
    Ok(Some(text))
}

/// The elements a JSON Patch may touch, and which operations.
const PATCHABLE: [&str; 3] = ["/status", "/businessStatus", "/statusReason"];
/// The most operations one PATCH may hold.
pub const MAX_PATCH_OPERATIONS: usize = 16;

/// Applies a JSON Patch (RFC 6902, the subset a Task update needs: `test` on the changeable elements
/// and `/meta/versionId`, `add`/`replace` of the changeable elements, `remove` of businessStatus and
/// statusReason) to the Task as shown.
pub fn patched(current: &Value, patch: &Value) -> Result<Value, Refusal> {
    let bad = |at: String, why: Text| Refusal::Unprocessable(at, why);
    let Some(operations) = patch.as_array() else {
        return Err(Refusal::Malformed("Patch".into(), Text::new("notified-patch-not-array")));
    };
    if operations.is_empty() || operations.len() > MAX_PATCH_OPERATIONS {
        return Err(Refusal::Malformed(
            "Patch".into(),
            Text::new("notified-patch-size").num("max", MAX_PATCH_OPERATIONS),
        ));
    }
    let mut task = current.clone();
    for (n, operation) in operations.iter().enumerate() {
        let at = format!("Patch[{n}]");
        let op = operation.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = operation.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = operation.get("value");
        let Some(map) = task.as_object_mut() else { break };
        match op {
            "test" if PATCHABLE.contains(&path) || path == "/meta/versionId" => {
                let found = if path == "/meta/versionId" {
                    map.get("meta").and_then(|m| m.get("versionId"))
                } else {
                    map.get(&path[1..])
                };
                if found != value {
                    return Err(Refusal::Unprocessable(at, Text::new("notified-patch-test-failed").arg("path", path)));
                }
            }
            "add" | "replace" if PATCHABLE.contains(&path) => {
                let Some(value) = value else { return Err(bad(at, Text::new("notified-patch-no-value"))) };
                if op == "replace" && !map.contains_key(&path[1..]) {
                    return Err(bad(at, Text::new("notified-patch-replace-missing")));
                }
                map.insert(path[1..].to_owned(), value.clone());
            }
            "remove" if path == "/businessStatus" || path == "/statusReason" => {
                if map.remove(&path[1..]).is_none() {
                    return Err(bad(at, Text::new("notified-patch-remove-missing")));
                }
            }
            "add" | "replace" | "remove" | "test" | "move" | "copy" => {
                return Err(bad(at, Text::new("notified-patch-path")));
            }
            _ => return Err(Refusal::Malformed(at, Text::new("notified-patch-bad-op"))),
        }
    }
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::TaskStatus as S;
    use super::*;

    #[test]
    fn requested_moves_anywhere_a_receiver_may_set() {
        for to in [S::Received, S::Accepted, S::InProgress, S::Completed, S::Rejected, S::Cancelled] {
            assert!(S::Requested.moves_to(to), "{to}");
        }
        assert!(S::Requested.moves_to(S::Requested), "a new businessStatus only");
        assert!(!S::Requested.moves_to(S::Failed));
    }

    #[test]
    fn received_moves_on_but_not_back() {
        assert!(S::Received.moves_to(S::Received));
        assert!(S::Received.moves_to(S::Accepted) && S::Received.moves_to(S::Rejected));
        assert!(!S::Received.moves_to(S::Requested));
    }

    #[test]
    fn accepted_may_be_given_up_but_not_refused() {
        assert!(S::Accepted.moves_to(S::InProgress) && S::Accepted.moves_to(S::Completed));
        assert!(S::Accepted.moves_to(S::Cancelled));
        assert!(!S::Accepted.moves_to(S::Rejected) && !S::Accepted.moves_to(S::Received));
    }

    #[test]
    fn in_progress_ends_completed_or_cancelled() {
        assert!(S::InProgress.moves_to(S::Completed) && S::InProgress.moves_to(S::Cancelled));
        assert!(S::InProgress.moves_to(S::InProgress));
        assert!(!S::InProgress.moves_to(S::Accepted) && !S::InProgress.moves_to(S::Rejected));
    }

    #[test]
    fn final_statuses_never_change() {
        for from in [S::Completed, S::Rejected, S::Cancelled, S::Failed] {
            for to in S::ALL {
                assert!(!from.moves_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn statuses_mean_delivery_states() {
        for status in [S::Received, S::Accepted, S::InProgress] {
            assert_eq!(status.delivery_state(), DeliveryState::Delivered);
        }
        assert_eq!(S::Completed.delivery_state(), DeliveryState::AcceptedByReceiver);
        assert_eq!(S::Rejected.delivery_state(), DeliveryState::RejectedByReceiver);
        assert_eq!(S::Cancelled.delivery_state(), DeliveryState::RejectedByReceiver);
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
        }
    }

    fn record(state: DeliveryState, status: Option<&str>) -> TaskRecord {
        TaskRecord {
            delivery_id: crate::model::DeliveryId::generate(),
            tracking_id: crate::model::TrackingId::generate(),
            receiver_org: crate::model::OrgId::from_stored("home".into()),
            receiver_system: "s".into(),
            receiver_value: "v".into(),
            state,
            created_at: Millis::from_i64(1_000),
            delivery_updated_at: Millis::from_i64(5_000),
            header_id: crate::model::HeaderId::from_stored("h".into()),
            sender_org: crate::model::OrgId::from_stored("hospital".into()),
            event_code: crate::model::EventCode::from_stored("nursing-handover".into()),
            status: status.map(str::to_owned),
            business_status: None,
            status_reason: None,
            version: if status.is_some() { 2 } else { 1 },
            task_updated_at: status.map(|_| Millis::from_i64(3_000)),
        }
    }

    #[test]
    fn a_task_shows_what_its_receiver_set_until_its_delivery_ends_otherwise() {
        use DeliveryState as D;
        assert_eq!(shown_status(&record(D::Queued, None)), S::Requested);
        assert_eq!(shown_status(&record(D::Delivered, Some("in-progress"))), S::InProgress);
        assert_eq!(shown_status(&record(D::Forwarded, None)), S::InProgress);
        // A business response through $process-message answers the Task too.
        assert_eq!(shown_status(&record(D::AcceptedByReceiver, Some("accepted"))), S::Completed);
        assert_eq!(shown_status(&record(D::RejectedByReceiver, None)), S::Rejected);
        assert_eq!(shown_status(&record(D::RejectedByReceiver, Some("cancelled"))), S::Cancelled);
        assert_eq!(shown_status(&record(D::Expired, None)), S::Failed);
        assert_eq!(shown_status(&record(D::Failed, None)), S::Failed);
        assert_eq!(shown_status(&record(D::Withdrawn, None)), S::Cancelled);
        // Last updated: the receiver's change, or the delivery's end when that decided.
        assert_eq!(last_updated(&record(D::Queued, None)).as_i64(), 1_000);
        assert_eq!(last_updated(&record(D::Delivered, Some("received"))).as_i64(), 3_000);
        assert_eq!(last_updated(&record(D::Expired, None)).as_i64(), 5_000);
    }

    fn current() -> Value {
        json!({ "resourceType": "Task", "id": "t1", "status": "requested", "intent": "order",
                "meta": { "versionId": "1" }, "owner": { "identifier": { "system": "s", "value": "v" } } })
    }

    #[test]
    fn a_put_changes_status_business_status_and_reason_only() {
        let mut task = current();
        task["status"] = json!("rejected");
        task["statusReason"] = json!({ "text": "no bed" });
        task["meta"] = json!({ "versionId": "7" });
        let requested = requested(&current(), &task).unwrap();
        assert_eq!(requested.status, S::Rejected);
        assert_eq!(requested.reason_text.as_deref(), Some("no bed"));
        let mut other = current();
        other["intent"] = json!("plan");
        assert!(
            matches!(super::requested(&current(), &other), Err(Refusal::Unprocessable(at, _)) if at == "Task.intent")
        );
        let mut dropped = current();
        dropped.as_object_mut().unwrap().remove("owner");
        assert!(matches!(super::requested(&current(), &dropped), Err(Refusal::Unprocessable(..))));
        let mut wrong = current();
        wrong["resourceType"] = json!("Patient");
        assert!(matches!(super::requested(&current(), &wrong), Err(Refusal::Malformed(..))));
        let mut draft = current();
        draft["status"] = json!("draft");
        assert!(matches!(super::requested(&current(), &draft), Err(Refusal::Unprocessable(..))));
        let mut reason = current();
        reason["statusReason"] = json!({ "text": "x".repeat(MAX_CONCEPT_BYTES) });
        assert!(matches!(super::requested(&current(), &reason), Err(Refusal::Unprocessable(..))));
        reason["statusReason"] = json!({ "extension": [] });
        assert!(matches!(super::requested(&current(), &reason), Err(Refusal::Unprocessable(..))));
    }

    #[test]
    fn a_patch_touches_the_changeable_elements_only() {
        let patch = json!([
            { "op": "test", "path": "/meta/versionId", "value": "1" },
            { "op": "replace", "path": "/status", "value": "in-progress" },
            { "op": "add", "path": "/businessStatus", "value": { "text": "bed being prepared" } },
        ]);
        let task = patched(&current(), &patch).unwrap();
        assert_eq!(task["status"], "in-progress");
        assert_eq!(task["businessStatus"]["text"], "bed being prepared");
        for refused in [
            json!([{ "op": "replace", "path": "/intent", "value": "plan" }]),
            json!([{ "op": "remove", "path": "/status" }]),
            json!([{ "op": "test", "path": "/meta/versionId", "value": "2" }]),
            json!([{ "op": "replace", "path": "/statusReason", "value": { "text": "x" } }]),
            json!([{ "op": "move", "from": "/status", "path": "/businessStatus" }]),
        ] {
            assert!(matches!(patched(&current(), &refused), Err(Refusal::Unprocessable(..))), "{refused}");
        }
        for malformed in [json!({}), json!([]), json!([{ "op": "frobnicate", "path": "/status" }])] {
            assert!(matches!(patched(&current(), &malformed), Err(Refusal::Malformed(..))), "{malformed}");
        }
    }

    #[test]
    fn a_refusal_is_said_in_every_language_with_its_paths_as_they_are() {
        use crate::i18n::Language;
        let test = json!([{ "op": "test", "path": "/meta/versionId", "value": "2" }]);
        let Err(Refusal::Unprocessable(at, why)) = patched(&current(), &test) else { panic!("a failed test") };
        assert_eq!(at, "Patch[0]");
        assert_eq!(why.render(Language::En), "test of /meta/versionId failed");
        assert_eq!(why.render(Language::Nl), "test van /meta/versionId is mislukt");
        assert_eq!(why.render(Language::Fr), "le test de /meta/versionId a échoué");
        let many = json!(vec![json!({ "op": "test", "path": "/status", "value": "requested" }); 17]);
        let Err(Refusal::Malformed(_, why)) = patched(&current(), &many) else { panic!("too many operations") };
        assert_eq!(why.render(Language::En), "a JSON Patch holds 1 to 16 operations");
    }
}
