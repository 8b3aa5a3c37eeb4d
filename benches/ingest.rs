//! Cost of reading a submission's envelope (limits, JSON, MessageHeader, hashes) against a bare
//! `serde_json::Value` parse of the same bytes: the floor any JSON-reading broker pays.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use handover_broker::config::Settings;

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = vec![(
        "discharge-fixture".to_owned(),
        std::fs::read(root.join("fixtures/handovers/discharge-summary.json")).unwrap(),
    )];
    let bench = root.join("../shared/corpus/bench");
    for name in ["handover-50k.json", "handover-200k.json", "handover-1m.json"] {
        match std::fs::read(bench.join(name)) {
            Ok(bytes) => inputs.push((name.trim_end_matches(".json").to_owned(), bytes)),
            Err(_) => eprintln!("skipping {name}: ../shared/corpus is absent"),
        }
    }
    inputs
}

fn envelope(c: &mut Criterion) {
    let limits = Settings::load(None).unwrap().limits;
    let mut group = c.benchmark_group("envelope");
    for (name, bytes) in inputs() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("serde_json_value", &name), &bytes, |b, bytes| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(bytes).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("ingest_parse", &name), &bytes, |b, bytes| {
            b.iter(|| handover_broker::ingest::parse(bytes, &limits).unwrap())
        });
    }
    group.finish();
}

/// Bytes to a fully checked message (envelope, references, one patient, the kind's profiles) on the
/// complete fixtures, against a bare parse of the same bytes.
fn validation(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let limits = Settings::load(None).unwrap().limits;
    let catalog = handover_broker::profiles::Catalog::load(&root.join("profiles")).unwrap();
    let mut group = c.benchmark_group("validation");
    for name in ["discharge-summary", "nursing-handover", "referral", "admission-handover"] {
        let bytes = std::fs::read(root.join(format!("fixtures/handovers/{name}.json"))).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("serde_json_value", name), &bytes, |b, bytes| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(bytes).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("parse_and_validate", name), &bytes, |b, bytes| {
            b.iter(|| {
                let submission = handover_broker::ingest::parse(bytes, &limits).unwrap();
                let issues = catalog.validate(&submission);
                assert!(issues.iter().all(|i| !i.is_error()));
                issues
            })
        });
    }
    group.finish();
}

criterion_group!(benches, envelope, validation);
criterion_main!(benches);
