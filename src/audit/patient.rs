//! What a patient sees of the ledger (issue 16, patient transparency): through a patient portal that
//! authenticated the patient on its side (DigiD, eID), `GET /fhir/AuditEvent?patient-identifier=` with
//! a `patient-portal` token answers, for that one patient, which organisation sent which kind of
//! handover about them to whom, when, and whether it arrived: one AuditEvent per handover and receiver,
//! in plain words. Never other patients (the query is that patient's key), never the broker's internals
//! (no hashes, ids of deliveries, attempts, mailbox reads, audit queries), and every such read is a
//! ledger entry.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::search::{bad, AuditError};
use crate::auth::Principal;
use crate::directory::Snapshot;
use crate::i18n::{self, Language};
use crate::ledger::patient::PatientKeys;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::OrgId;
use crate::outcome::Text;
use crate::store::{LedgerQuery, Store};
use crate::time::Millis;

/// The entries read for one patient: far more than a patient's handovers ever produce.
const MAX_ENTRIES: usize = 5_000;

/// The parameters a portal may give.
const PARAMETERS: [&str; 2] = ["patient-identifier", "_format"];

/// How a handover to one receiver ended, in the patient's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// On its way (queued, or waiting for the receiver to fetch it).
    OnItsWay,
    Arrived,
    /// The receiver read it and accepted the care.
    Accepted,
    /// The receiver declined it (another organisation may take over).
    Declined,
    /// Passed on by a regional triage point.
    PassedOn,
    /// Could not be delivered (failed or expired); the sender has been told.
    NotDelivered,
}

impl Arrival {
    pub fn code(self) -> &'static str {
        match self {
            Self::OnItsWay => "on-its-way",
            Self::Arrived => "arrived",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::PassedOn => "passed-on",
            Self::NotDelivered => "not-delivered",
        }
    }
}

/// One handover to one receiver, as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub sent_at: Millis,
    pub sender: OrgId,
    pub receiver: OrgId,
    pub kind: String,
    pub arrival: Arrival,
    /// When it last changed (arrived, answered, ...).
    pub changed_at: Millis,
}

/// The patient's handovers from their ledger entries, oldest first: one per delivery (routed entry),
/// its state from the entries that followed.
pub fn handovers(entries: &[LedgerRecord]) -> Vec<Handover> {
    let mut by_delivery: BTreeMap<String, Handover> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for e in entries {
        let Some(delivery) = e.delivery_id.as_deref() else { continue };
        // Receipts to the sender are the broker's business, not a handover about the patient.
        if e.outcome.as_deref().is_some_and(|o| o.starts_with("receipt ")) {
            continue;
        }
        if e.event == LedgerEvent::Routed {
            let (Some(sender), Some(receiver)) = (e.sender_org.clone(), e.receiver_org.clone()) else { continue };
            order.push(delivery.to_owned());
            by_delivery.insert(
                delivery.to_owned(),
                Handover {
                    sent_at: e.at,
                    sender,
                    receiver,
                    kind: e.event_code.as_deref().unwrap_or_default().to_owned(),
                    arrival: Arrival::OnItsWay,
                    changed_at: e.at,
                },
            );
            continue;
        }
        let Some(handover) = by_delivery.get_mut(delivery) else { continue };
        let arrival = match e.event {
            LedgerEvent::Delivered => Arrival::Arrived,
            LedgerEvent::BusinessResponse if e.outcome.as_deref().is_some_and(|o| o.starts_with("ok")) => {
                Arrival::Accepted
            }
            LedgerEvent::BusinessResponse if e.outcome.as_deref().is_some_and(|o| o.starts_with("fatal-error")) => {
                Arrival::Declined
            }
            LedgerEvent::Forwarded => Arrival::PassedOn,
            LedgerEvent::Failed | LedgerEvent::Expired => Arrival::NotDelivered,
            _ => continue,
        };
        handover.arrival = arrival;
        handover.changed_at = e.at;
    }
    order.into_iter().filter_map(|d| by_delivery.remove(&d)).collect()
}

/// The portal's search for its patient: a searchset of AuditEvents, one per handover and receiver.
pub async fn search(
    store: &Store,
    portal: &Principal,
    params: &[(String, String)],
    directory: &Snapshot,
    keys: &PatientKeys,
    words: &dyn Fn(&Handover, &str, &str) -> String,
) -> Result<Value, AuditError> {
    if params.iter().any(|(name, _)| !PARAMETERS.contains(&name.as_str())) {
        return Err(bad("patient-identifier", Text::new("audit-patient-identifier-only")));
    }
    let identifiers: Vec<&str> =
        params.iter().filter(|(name, _)| name == "patient-identifier").map(|(_, v)| v.as_str()).collect();
    let [identifier] = identifiers.as_slice() else {
        return Err(bad("patient-identifier", Text::new("audit-patient-one")));
    };
    let (system, value) = identifier
        .rsplit_once('|')
        .filter(|(s, v)| !s.is_empty() && !v.is_empty() && s.len() <= 256 && v.len() <= 64)
        .ok_or_else(|| bad("patient-identifier", Text::new("audit-bad-patient-identifier")))?;
    let key = keys.key(system, value);
    let query = LedgerQuery { patient_key: Some(key.clone()), limit: MAX_ENTRIES, ..LedgerQuery::default() };
    let found = store.query_ledger(&query).await?;
    // The read is a ledger entry before it is answered: which portal asked about which patient (by key).
    let read = LedgerRecord::new(LedgerEvent::AuditQuery, Millis::now())
        .actor(portal.org.clone())
        .patient(Some(key))
        .outcome("patient-portal read: the patient's handovers");
    store.writer().append_ledger(vec![read]).await?;
    let entries: Vec<LedgerRecord> = found.into_iter().map(|c| c.entry).collect();
    let name = |org: &OrgId| {
        directory
            .organizations()
            .iter()
            .find(|o| &o.id == org)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| org.to_string())
    };
    let events: Vec<Value> = handovers(&entries)
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (sender, receiver) = (name(&h.sender), name(&h.receiver));
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                "resource": {
                    "resourceType": "AuditEvent",
                    "id": format!("handover-{}", i + 1),
                    "type": { "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110106", "display": "Export" },
                    "action": "E",
                    "recorded": h.changed_at.to_rfc3339_secs(),
                    "period": { "start": h.sent_at.to_rfc3339_secs(), "end": h.changed_at.to_rfc3339_secs() },
                    "outcome": if h.arrival == Arrival::NotDelivered { "4" } else { "0" },
                    "outcomeDesc": words(h, &sender, &receiver),
                    "agent": [
                        { "type": { "coding": [{ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID" }] },
                          "who": { "display": sender }, "requestor": true },
                        { "type": { "coding": [{ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110152", "display": "Destination Role ID" }] },
                          "who": { "display": receiver }, "requestor": false },
                    ],
                    "source": { "observer": { "display": "handover-broker" } },
                    "entity": [{
                        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
                        "detail": [
                            { "type": "handover-kind", "valueString": h.kind },
                            { "type": "arrival", "valueString": h.arrival.code() },
                        ],
                    }],
                },
                "search": { "mode": "match" },
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle", "id": uuid::Uuid::new_v4().to_string(), "type": "searchset", "total": events.len(),
    });
    if !events.is_empty() {
        bundle["entry"] = json!(events);
    }
    Ok(bundle)
}

/// The handover in plain words in `lang` (`locales/*/patient.ftl`).
pub fn in_words(lang: Language, h: &Handover, sender: &str, receiver: &str) -> String {
    let kind = i18n::text(lang, &format!("kind-{}", h.kind), &[]).unwrap_or_else(|| h.kind.replace('-', " "));
    let (date, changed) = (h.sent_at.to_datetime().date().to_string(), h.changed_at.to_datetime().date().to_string());
    let args =
        [("sender", sender), ("receiver", receiver), ("kind", kind.as_str()), ("date", &date), ("changed", &changed)];
    let how = match h.arrival {
        Arrival::OnItsWay => "patient-on-its-way",
        Arrival::Arrived => "patient-arrived",
        Arrival::Accepted => "patient-accepted",
        Arrival::Declined => "patient-declined",
        Arrival::PassedOn => "patient-passed-on",
        Arrival::NotDelivered => "patient-not-delivered",
    };
    format!("{} {}", i18n::text_or_english(lang, "patient-sent", &args), i18n::text_or_english(lang, how, &args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeliveryId, EventCode};

    fn entry(event: LedgerEvent, at: i64, delivery: &str, outcome: Option<&str>) -> LedgerRecord {
        let mut e = LedgerRecord::new(event, Millis::from_i64(at));
        e.delivery_id = DeliveryId::parse(delivery);
        e.sender_org = Some(OrgId::from_stored("hospital".into()));
        e.receiver_org = Some(OrgId::from_stored("gp".into()));
        e.event_code = Some(EventCode::from_stored("discharge-summary".into()));
        e.outcome = outcome.map(str::to_owned);
        e
    }

    #[test]
    fn a_handover_shows_how_it_ended_and_receipts_and_internals_do_not_show() {
        let d1 = "01936f3e-0000-7000-8000-000000000001";
        let d2 = "01936f3e-0000-7000-8000-000000000002";
        let entries = vec![
            entry(LedgerEvent::Routed, 1, d1, None),
            entry(LedgerEvent::Routed, 1, d2, None),
            entry(LedgerEvent::DeliveryAttempt, 2, d1, Some("200")),
            entry(LedgerEvent::Delivered, 3, d1, Some("200")),
            entry(LedgerEvent::Delivered, 4, d2, Some("receipt delivered")),
            entry(LedgerEvent::MailboxRead, 5, d2, None),
            entry(LedgerEvent::BusinessResponse, 6, d1, Some("ok")),
            entry(LedgerEvent::Expired, 7, d2, None),
        ];
        let seen = handovers(&entries);
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].arrival, seen[0].changed_at), (Arrival::Accepted, Millis::from_i64(6)));
        assert_eq!(seen[1].arrival, Arrival::NotDelivered);
    }
}
