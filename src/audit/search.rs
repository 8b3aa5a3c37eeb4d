//! The ledger for auditors: `GET /fhir/AuditEvent` as FHIR R4 AuditEvents shaped after the IHE Basic
//! Audit Log Patterns (the sending and receiving organisations as agents, the message and the patient
//! key as entities, the outcome), or plain JSON for scripts.

use serde_json::{json, Value};

use crate::auth::Principal;
use crate::directory::Snapshot;
use crate::ledger::patient::PatientKeys;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::OrgIdentifier;
use crate::outcome::Text;
use crate::store::{ChainedEntry, LedgerQuery, Store, StoreError};
use crate::time::Millis;

const CANONICAL: &str = "https://fhir.handover-broker.eu";
pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A search parameter the route cannot take: the text names it and says what is wrong.
    #[error("search parameter {problem}")]
    BadParameter { problem: Text },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parameter `name` refused with `problem`, a text that names it as `$name`.
pub(super) fn bad(name: &'static str, problem: Text) -> AuditError {
    AuditError::BadParameter { problem: problem.arg("name", name) }
}

/// An organisation given as a directory id or as `system|value`.
fn org(directory: &Snapshot, name: &'static str, text: &str) -> Result<String, AuditError> {
    if let Some(identifier) = OrgIdentifier::parse_token(text) {
        return directory
            .by_identifier(&identifier)
            .map(|o| o.id.to_string())
            .ok_or_else(|| bad(name, Text::new("audit-unknown-organisation")));
    }
    Ok(text.to_owned())
}

fn instant(name: &'static str, text: &str) -> Result<Millis, AuditError> {
    crate::time::parse_instant(text).ok_or_else(|| bad(name, Text::new("audit-bad-date")))
}

/// Builds the store's query from the search parameters (name, value pairs as received).
pub fn query(
    params: &[(String, String)],
    directory: &Snapshot,
    keys: &PatientKeys,
) -> Result<(LedgerQuery, bool), AuditError> {
    let mut query = LedgerQuery { limit: DEFAULT_COUNT, ..LedgerQuery::default() };
    let mut json = false;
    for (name, value) in params {
        match name.as_str() {
            "patient-identifier" => {
                let (system, value) = value
                    .rsplit_once('|')
                    .ok_or_else(|| bad("patient-identifier", Text::new("audit-bad-patient-identifier")))?;
                query.patient_key = Some(keys.key(system, value));
            }
            "sender" => query.sender_org = Some(org(directory, "sender", value)?),
            "receiver" => query.receiver_org = Some(org(directory, "receiver", value)?),
            "event" => query.event = Some(value.clone()),
            "message" => query.message = Some(value.clone()),
            "date" => match value.get(..2) {
                Some("ge") => query.from = Some(instant("date", &value[2..])?),
                Some("le") => query.until = Some(instant("date", &value[2..])?),
                _ => return Err(bad("date", Text::new("audit-bad-date"))),
            },
            "_count" => {
                query.limit =
                    value.parse::<usize>().map_err(|_| bad("_count", Text::new("search-count")))?.clamp(1, MAX_COUNT)
            }
            "_cursor" => query.after_seq = Some(value.parse().map_err(|_| bad("_cursor", Text::new("search-cursor")))?),
            "_format" if value == "json" => json = true,
            _ => {}
        }
    }
    Ok((query, json))
}

fn org_agent(role_code: &str, role_display: &str, org: &str, requestor: bool) -> Value {
    json!({
        "type": { "coding": [{ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": role_code, "display": role_display }] },
        "who": { "identifier": { "system": format!("{CANONICAL}/NamingSystem/organization"), "value": org } },
        "requestor": requestor,
    })
}

/// The organisations of an entry as AuditEvent agents: sender, receiver, and the actor when it is
/// neither; the broker itself when the entry names none.
fn agents(e: &LedgerRecord) -> Vec<Value> {
    let mut agents = Vec::new();
    if let Some(sender) = &e.sender_org {
        agents.push(org_agent("110153", "Source Role ID", sender, e.actor_org.as_ref() == Some(sender)));
    }
    if let Some(receiver) = &e.receiver_org {
        agents.push(org_agent("110152", "Destination Role ID", receiver, e.actor_org.as_ref() == Some(receiver)));
    }
    if let Some(actor) =
        e.actor_org.as_ref().filter(|a| Some(*a) != e.sender_org.as_ref() && Some(*a) != e.receiver_org.as_ref())
    {
        agents.push(org_agent("110150", "Application", actor, true));
    }
    if agents.is_empty() {
        agents.push(json!({ "who": { "display": "handover-broker" }, "requestor": false }));
    }
    agents
}

/// The message (its ids and hash as details) and the patient key as AuditEvent entities.
fn entities(e: &LedgerRecord) -> Vec<Value> {
    let details: Vec<Value> = [
        ("tracking-id", e.tracking_id.as_deref()),
        ("message-header-id", e.header_id.as_deref()),
        ("delivery-id", e.delivery_id.as_deref()),
        ("handover-kind", e.event_code.as_deref()),
        ("payload-sha256", e.payload_sha256.as_deref()),
    ]
    .into_iter()
    .filter_map(|(kind, value)| Some(json!({ "type": kind, "valueString": value? })))
    .collect();
    let mut entities = Vec::new();
    if !details.is_empty() {
        let mut message = json!({
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
            "detail": details,
        });
        if let Some(tracking) = &e.tracking_id {
            message["what"] = json!({ "identifier": { "system": format!("{CANONICAL}/NamingSystem/tracking-id"), "value": tracking.as_str() } });
        }
        entities.push(message);
    }
    if let Some(key) = &e.patient_key {
        entities.push(json!({
            "what": { "identifier": { "system": format!("{CANONICAL}/NamingSystem/patient-key"), "value": key.as_str() } },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
            "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" },
        }));
    }
    entities
}

/// One entry as an AuditEvent.
pub fn audit_event(chained: &ChainedEntry) -> Value {
    let e = &chained.entry;
    let recorded = e.at.to_datetime().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let failed = matches!(
        e.event,
        LedgerEvent::Rejected | LedgerEvent::Failed | LedgerEvent::Expired | LedgerEvent::DeniedAccess
    );
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": chained.seq.to_string(),
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation" },
        "subtype": [{ "system": format!("{CANONICAL}/CodeSystem/ledger-event"), "code": e.event.as_str() }],
        // FHIR AuditEventAction: read for a mailbox read, delete for a purge, execute for the rest.
        "action": match e.event { LedgerEvent::MailboxRead => "R", LedgerEvent::Purged => "D", _ => "E" },
        "recorded": recorded,
        "outcome": if failed { "4" } else { "0" },
        "agent": agents(e),
        "source": {
            "observer": { "display": "handover-broker" },
            "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }],
        },
    });
    if let Some(outcome) = &e.outcome {
        event["outcomeDesc"] = json!(outcome);
    }
    let entities = entities(e);
    if !entities.is_empty() {
        event["entity"] = json!(entities);
    }
    event
}

/// The answer to an auditor's search: a searchset Bundle of AuditEvents with a `next` link, or (for
/// `_format=json`) a JSON object with the entries as the ledger holds them.
pub async fn search(
    store: &Store,
    auditor: &Principal,
    params: &[(String, String)],
    directory: &Snapshot,
    keys: &PatientKeys,
    base_url: &str,
) -> Result<Value, AuditError> {
    let (mut query, json) = query(params, directory, keys)?;
    // An auditor of one organisation sees the entries where it is sender or receiver; a regional one
    // (issued with `--regional`) sees all.
    if !auditor.is_regional() {
        query.party = Some(auditor.org.to_string());
    }
    let limit = query.limit;
    query.limit = limit + 1;
    let mut found = store.query_ledger(&query).await?;
    // The question is a ledger entry before it is answered (after the search, so that an answer does
    // not list its own question): who asked, about which patient (by key), with which parameters (their
    // names, never their values). A question that cannot be recorded is not answered.
    store.writer().append_ledger(vec![question(auditor, params, &query)]).await?;
    let more = found.len() > limit;
    found.truncate(limit);
    let next = match (more, found.last()) {
        (true, Some(last)) => Some(next_link(params, base_url, last.seq)),
        _ => None,
    };
    if json {
        return Ok(json!({ "entries": found.iter().map(plain).collect::<Vec<_>>(), "next": next }));
    }
    // Entries after acceptance (deliveries, reads, purges) name the message, not the patient; in the
    // answer to a patient query every event concerns that patient, so each shows it.
    if let Some(key) = &query.patient_key {
        for c in found.iter_mut().filter(|c| c.entry.patient_key.is_none()) {
            c.entry.patient_key = Some(key.clone());
        }
    }
    Ok(searchset(&found, next, base_url))
}

/// The parameters an auditor's search understands.
const PARAMETERS: [&str; 9] =
    ["patient-identifier", "sender", "receiver", "event", "message", "date", "_count", "_cursor", "_format"];

/// The ledger entry of an auditor's search.
fn question(auditor: &Principal, params: &[(String, String)], query: &LedgerQuery) -> LedgerRecord {
    let mut names: Vec<&str> =
        PARAMETERS.iter().copied().filter(|known| params.iter().any(|(name, _)| name == known)).collect();
    names.dedup();
    let asked = if names.is_empty() { "everything".to_owned() } else { names.join(", ") };
    LedgerRecord::new(LedgerEvent::AuditQuery, Millis::now())
        .actor(auditor.org.clone())
        .patient(query.patient_key.clone())
        .outcome(format!("AuditEvent search: {asked}"))
}

/// The search again from after `seq`, with the same parameters.
fn next_link(params: &[(String, String)], base_url: &str, seq: i64) -> String {
    let kept: String = params
        .iter()
        .filter(|(name, _)| name != "_cursor")
        .map(|(name, value)| {
            format!("{}={}&", name, url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
        })
        .collect();
    format!("{base_url}/fhir/AuditEvent?{kept}_cursor={seq}")
}

/// An entry as the ledger holds it, for `_format=json`.
fn plain(c: &ChainedEntry) -> Value {
    let e = &c.entry;
    json!({
        "seq": c.seq, "at": e.at.as_i64(), "event": e.event.as_str(),
        "tracking_id": e.tracking_id.as_deref(), "header_id": e.header_id.as_deref(),
        "delivery_id": e.delivery_id.as_deref(), "actor_org": e.actor_org.as_deref(),
        "sender_org": e.sender_org.as_deref(), "receiver_org": e.receiver_org.as_deref(),
        "event_code": e.event_code.as_deref(), "outcome": e.outcome,
        "payload_sha256": e.payload_sha256.as_deref(), "patient_key": e.patient_key.as_deref(),
        "hash": c.hash,
    })
}

/// The searchset Bundle of AuditEvents (FHIR JSON has no empty arrays: no `link` or `entry` when none).
fn searchset(found: &[ChainedEntry], next: Option<String>, base_url: &str) -> Value {
    let mut bundle = json!({ "resourceType": "Bundle", "id": uuid::Uuid::new_v4().to_string(), "type": "searchset" });
    if let Some(next) = next {
        bundle["link"] = json!([{ "relation": "next", "url": next }]);
    }
    if !found.is_empty() {
        bundle["entry"] = found
            .iter()
            .map(|c| {
                json!({
                    "fullUrl": format!("{base_url}/fhir/AuditEvent/{}", c.seq),
                    "resource": audit_event(c),
                    "search": { "mode": "match" },
                })
            })
            .collect();
    }
    bundle
}

/// Writes the entries matching `params` (only the date window applies; no patient key is needed) as
/// NDJSON of AuditEvents, oldest first, page by page. Returns how many.
pub async fn export(
    store: &Store,
    params: &[(String, String)],
    out: &mut dyn std::io::Write,
) -> Result<u64, AuditError> {
    let (mut query, _) = query(params, &Snapshot::default(), &PatientKeys::new(b""))?;
    query.limit = MAX_COUNT;
    let mut written = 0;
    loop {
        let page = store.query_ledger(&query).await?;
        let Some(last) = page.last() else { return Ok(written) };
        query.after_seq = Some(last.seq);
        for entry in &page {
            let line = audit_event(entry).to_string();
            writeln!(out, "{line}").map_err(|e| bad("output", Text::new("audit-output-failed").arg("detail", e)))?;
            written += 1;
        }
    }
}
