//! `handover-broker ledger seed` and `ledger bench`: a synthetic ledger of realistic shape, and the
//! auditors' costs measured on it (a patient query, a full verification), in process against the
//! database (no HTTP in the figures).

use std::time::Instant;

use hdrhistogram::Histogram;

use super::patient::PatientKeys;
use super::{LedgerEvent, LedgerRecord};
use crate::store::{LedgerQuery, Store, StoreError};
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
fn patient_key(keys: &PatientKeys, i: u64) -> String {
    keys.key("urn:seed", &i.to_string())
}

/// Appends `messages` synthetic handovers (six entries each) spread over `patients` patients, in
/// transactions of 10,000 entries. Returns the entries written.
pub async fn seed(store: &Store, keys: &PatientKeys, messages: u64, patients: u64) -> Result<u64, StoreError> {
    let mut batch = Vec::with_capacity(10_002);
    let start = Millis::now().as_i64() - i64::try_from(messages).unwrap_or(i64::MAX);
    let mut written = 0;
    for m in 0..messages {
        let tracking = uuid::Uuid::now_v7().to_string();
        let key = patient_key(keys, fastrand::u64(0..patients.max(1)));
        let (sender, receiver) = (ORGS[fastrand::usize(0..ORGS.len())], ORGS[fastrand::usize(0..ORGS.len())]);
        let at = Millis::from_i64(start + i64::try_from(m).unwrap_or(0));
        for event in LIFE {
            let mut entry = LedgerRecord::new(event, at);
            entry.tracking_id = Some(tracking.clone());
            entry.header_id = Some(uuid::Uuid::new_v4().to_string());
            entry.actor_org = Some(sender.to_owned());
            entry.sender_org = Some(sender.to_owned());
            entry.receiver_org = Some(receiver.to_owned());
            entry.event_code = Some("discharge-summary".to_owned());
            entry.outcome = Some("202".to_owned());
            entry.patient_key = Some(key.clone());
            batch.push(entry);
        }
        if batch.len() >= 10_000 {
            store.append_ledger_bulk(&batch).await?;
            written += batch.len() as u64;
            batch.clear();
        }
    }
    store.append_ledger_bulk(&batch).await?;
    Ok(written + batch.len() as u64)
}

/// What `bench` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub queries: u64,
    pub query_p50_ms: f64,
    pub query_p99_ms: f64,
    pub query_max_ms: f64,
    pub entries_verified: u64,
    pub verify_seconds: f64,
}

/// Runs `queries` patient queries (a first page of 100, like `GET /fhir/AuditEvent?patient-identifier=`)
/// for random seeded patients, then one full verification.
pub async fn bench(store: &Store, keys: &PatientKeys, patients: u64, queries: u64) -> anyhow::Result<BenchReport> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for _ in 0..queries {
        let query = LedgerQuery {
            patient_key: Some(patient_key(keys, fastrand::u64(0..patients.max(1)))),
            limit: 100,
            ..LedgerQuery::default()
        };
        let started = Instant::now();
        let found = store.query_ledger(&query).await?;
        histogram.saturating_record(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
        std::hint::black_box(found);
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
        entries_verified: verification.entries_checked,
        verify_seconds: started.elapsed().as_secs_f64(),
    })
}
