//! The regional bed-capacity summary (`GET /fhir/MeasureReport/$region-summary` without the HTTP
//! edge): 200 organisations reporting 10 care types each into an SQLite file, then the summary (one
//! grouped statement and its MeasureReport) measured with criterion, and 1000 calls timed one by one
//! for the median and p99 that README quotes. The aim is under 20 ms p99.

use std::time::{Duration, Instant};

// The same allocator as the broker binary, so that the figures match what the service does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use handover_broker::auth::{Principal, Role};
use handover_broker::capacity::{Capacity, BED_CAPACITY_MEASURE};
use handover_broker::directory::Directory;
use handover_broker::ledger::{LedgerEvent, LedgerRecord};
use handover_broker::model::codes::CareType;
use handover_broker::model::{OrgId, OrgIdentifier};
use handover_broker::store::{CapacityCount, CapacityUpdate, DirectoryUpdate, Store};
use handover_broker::time::Millis;

const ORGANIZATIONS: usize = 200;
const CARE_TYPES: [&str; 10] = [
    "acute-psychogeriatric",
    "elv-low",
    "elv-high",
    "elv-palliative",
    "hospice",
    "geriatric-rehabilitation",
    "respite",
    "home-care",
    "short-stay",
    "residential-care",
];

/// A store with 200 providers, each having reported all 10 care types (some of them long ago).
async fn filled(dir: &std::path::Path) -> (Store, Capacity, OrgId) {
    let store = Store::open(&format!("sqlite://{}/bench.db", dir.display()), 8, 128).await.unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let demo = handover_broker::directory::read_bundle_file(&root.join("fixtures/demo-directory.json")).unwrap();
    let template = demo.iter().find(|o| o.id.as_str() == "vpl-hoogveld").unwrap().clone();
    let organizations: Vec<_> = (0..ORGANIZATIONS)
        .map(|i| {
            let mut org = template.clone();
            org.id = OrgId::parse(&format!("bench-provider-{i}")).unwrap();
            org.name = format!("Provider {i}");
            org.identifiers =
                vec![OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", &format!("8{i:07}")).unwrap()];
            org.smart = None;
            org
        })
        .collect();
    let ids: Vec<OrgId> = organizations.iter().map(|o| o.id.clone()).collect();
    let update = DirectoryUpdate { upsert: organizations, remove: None, source: Some("import"), ledger: Vec::new() };
    store.writer().change_directory(update).await.unwrap();
    let now = Millis::now();
    for (i, org) in ids.iter().enumerate() {
        // Every tenth organisation reported two hours ago: stale after the default hour.
        let as_of = if i % 10 == 0 { now.minus_secs(7200) } else { now.minus_secs(60) };
        let counts = CARE_TYPES
            .iter()
            .enumerate()
            .map(|(j, care)| {
                let total = 10 + (i + j) as i64 % 30;
                let occupied = total - (i * j) as i64 % (total + 1);
                CapacityCount {
                    care_type: CareType::parse(care).unwrap(),
                    total,
                    occupied,
                    available: total - occupied,
                }
            })
            .collect();
        let ledger = LedgerRecord::new(LedgerEvent::CapacityReported, now).actor(org.clone()).outcome("bench");
        let update = CapacityUpdate {
            org: org.clone(),
            report_id: uuid::Uuid::new_v4().to_string(),
            as_of,
            received_at: now,
            counts,
            ledger,
        };
        store.writer().report_capacity(update).await.unwrap();
    }
    let directory = Directory::load(store.clone()).await.unwrap();
    let care_types = CARE_TYPES.iter().map(|c| (*c).to_owned()).collect();
    let capacity = Capacity::new(store.clone(), directory, care_types, 3600);
    (store, capacity, ids[0].clone())
}

fn summary(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, capacity, org) = runtime.block_on(filled(dir.path()));
    let auditor = Principal::organization(org, Role::Auditor);
    let params = vec![("measure".to_owned(), BED_CAPACITY_MEASURE.to_owned())];
    let body = runtime.block_on(capacity.summary(&auditor, &params)).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["group"].as_array().unwrap().len(), CARE_TYPES.len());

    // 1000 calls one by one: the median and p99 of what a triage point waits for (without HTTP).
    let mut times: Vec<Duration> = (0..1000)
        .map(|_| {
            let start = Instant::now();
            runtime.block_on(capacity.summary(&auditor, &params)).unwrap();
            start.elapsed()
        })
        .collect();
    times.sort();
    eprintln!(
        "capacity summary, {ORGANIZATIONS} organisations x {} care types, 1000 calls: median {:?}, p99 {:?}, max {:?}",
        CARE_TYPES.len(),
        times[499],
        times[989],
        times[999]
    );

    let mut group = c.benchmark_group("capacity");
    group.bench_function("region_summary_200x10", |b| {
        b.iter(|| runtime.block_on(capacity.summary(&auditor, &params)).unwrap())
    });
    group.bench_function("latest_searchset_200x10", |b| {
        b.iter(|| runtime.block_on(capacity.latest(&auditor, &params, "http://localhost")).unwrap())
    });
    group.finish();
    runtime.block_on(store.close());
}

criterion_group!(benches, summary);
criterion_main!(benches);
