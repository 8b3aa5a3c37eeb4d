//! `handover-broker ledger seed` and `ledger bench`: a synthetic ledger of realistic shape, and the
//! auditors' costs measured on it (a patient query, a full verification), in process against the
//! database (no HTTP in the figures).

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::ledger::patient::PatientKeys;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::codes::EVENT_SYSTEM;
use crate::model::{EventCode, HeaderId, OrgId, PatientKey, PayloadHash, TrackingId};
use crate::store::{LedgerQuery, NewMessage, Store, StoreError};
use crate::time::Millis;

/// The life of one delivered handover, as the ledger records it.
const LIFE: [LedgerEvent; 6] = [
    LedgerEvent::Received,
    LedgerEvent::Accepted,
    LedgerEvent::Routed,
    LedgerEvent::DeliveryAttempt,
    LedgerEvent::Delivered,
    LedgerEvent::ReceiptCreated,
];
const ORGS: [&str; 6] =
    ["zzl-hospital", "gp-heerlen", "gp-brugge", "thuiszorg-parkstad", "wzc-de-duinen", "triage-westkust"];

/// The synthetic patients' keys: patient `i` is `urn:seed|i`.
fn patient_key(keys: &PatientKeys, i: u64) -> PatientKey {
    keys.key("urn:seed", &i.to_string())
}

/// Stores `messages` synthetic handovers spread over `patients` patients, each as the broker keeps one
/// that was delivered long ago: the message row (an empty payload), its patient key and six ledger
/// entries, the key chained on `received` only, as ingest writes it (the others are found through the
/// message). Transactions of 10,000 entries. Returns the entries written.
pub async fn seed(store: &Store, keys: &PatientKeys, messages: u64, patients: u64) -> Result<u64, StoreError> {
    const PER_TRANSACTION: usize = 10_000 / LIFE.len();
    let mut batch = Vec::with_capacity(PER_TRANSACTION);
    let start = Millis::now().as_i64() - i64::try_from(messages).unwrap_or(i64::MAX);
    let mut written = 0;
    let orgs: Vec<OrgId> = ORGS.iter().filter_map(|name| OrgId::parse(name)).collect();
    let kind = EventCode::parse("discharge-summary");
    for m in 0..messages {
        let tracking = TrackingId::generate();
        let header_id = HeaderId::generate();
        let key = patient_key(keys, fastrand::u64(0..patients.max(1)));
        let (sender, receiver) = (&orgs[fastrand::usize(0..orgs.len())], &orgs[fastrand::usize(0..orgs.len())]);
        let at = Millis::from_i64(start + i64::try_from(m).unwrap_or(0));
        let payload_sha256 = PayloadHash::of(tracking.as_bytes());
        let ledger = LIFE
            .iter()
            .map(|event| {
                let entry = LedgerRecord::new(*event, at)
                    .tracking(tracking.clone())
                    .header(header_id.clone())
                    .actor(sender.clone())
                    .sender(sender.clone())
                    .receiver(receiver.clone())
                    .event_code(kind.clone())
                    .outcome("202");
                match event {
                    LedgerEvent::Received => entry.patient(key.clone()).payload(payload_sha256.clone()),
                    _ => entry,
                }
            })
            .collect();
        let Some(event_code) = kind.clone() else { break };
        batch.push(NewMessage {
            tracking_id: tracking,
            sender_org: sender.clone(),
            header_id,
            bundle_id: None,
            event_system: EVENT_SYSTEM.to_owned(),
            event_code,
            payload_sha256,
            payload: crate::store::Packed::new(&[]),
            stay_ended_at: None,
            warnings: 0,
            received_format: crate::model::Format::Json,
            payload_xml: None,
            ack: crate::store::Packed::new(&[]),
            received_at: at,
            want_infack: true,
            want_busack: true,
            priority: None,
            patient_keys: vec![key],
            deliveries: Vec::new(),
            ledger,
            forwarding: None,
        });
        if batch.len() >= PER_TRANSACTION {
            store.seed_handovers(&batch).await?;
            written += (batch.len() * LIFE.len()) as u64;
            batch.clear();
        }
    }
    store.seed_handovers(&batch).await?;
    Ok(written + (batch.len() * LIFE.len()) as u64)
}

/// What `bench` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub queries: u64,
    pub query_p50_ms: f64,
    pub query_p99_ms: f64,
    pub query_max_ms: f64,
    /// Entries a query found on average (at most 100): a patient's whole history, not just the
    /// entries that carry the key.
    pub query_entries_mean: f64,
    pub entries_verified: u64,
    pub verify_seconds: f64,
}

/// Runs `queries` patient queries (a first page of 100, like `GET /fhir/AuditEvent?patient-identifier=`)
/// for random seeded patients, then one full verification.
pub async fn bench(store: &Store, keys: &PatientKeys, patients: u64, queries: u64) -> anyhow::Result<BenchReport> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut found_total = 0usize;
    for _ in 0..queries {
        let query = LedgerQuery {
            patient_key: Some(patient_key(keys, fastrand::u64(0..patients.max(1)))),
            limit: 100,
            ..LedgerQuery::default()
        };
        let started = Instant::now();
        let found = store.query_ledger(&query).await?;
        histogram.saturating_record(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
        found_total += found.len();
    }
    let started = Instant::now();
    let verification = store.verify_ledger().await?;
    anyhow::ensure!(verification.ok, "the ledger does not verify: {verification:?}");
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok(BenchReport {
        queries,
        query_p50_ms: ms(0.5),
        query_p99_ms: ms(0.99),
        query_max_ms: histogram.max() as f64 / 1000.0,
        query_entries_mean: found_total as f64 / queries.max(1) as f64,
        entries_verified: verification.entries_checked,
        verify_seconds: started.elapsed().as_secs_f64(),
    })
}
