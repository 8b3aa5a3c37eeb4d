//! The handover quality report over a year of a region (issue 16): the counters that 10 million ledger
//! entries leave behind, computed by the broker's own derivation (`ledger::counters::increments`) from
//! synthetic entries (60 organisations, each sending to 6 receivers, 4 kinds, a year of days), stored
//! in an SQLite file, then the report's reads (`Store::quality_counts`) timed one by one for the median
//! and p99 that README quotes. The aim: under 1 s p99 for the whole region over a year.
//!
//! The ledger itself is not written: the report never reads it, and what it reads is exactly what those
//! entries add. Filling takes a minute or two; the file is kept in `target/` for the next run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use handover_broker::ledger::counters::{self, CounterKey, MessageFacts};
use handover_broker::ledger::{LedgerEvent, LedgerRecord};
use handover_broker::model::{EventCode, OrgId, TrackingId};
use handover_broker::store::{QualityQuery, Store};
use handover_broker::time::Millis;

const ORGANIZATIONS: usize = 60;
const RECEIVERS_EACH: usize = 6;
const KINDS: [&str; 4] = ["discharge-summary", "nursing-handover", "referral", "admission-handover"];
const ENTRIES: usize = 10_000_000;
const DAY_MS: i64 = 86_400_000;

/// Deterministic pseudo-random numbers (the same year every run).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The counters of a year: each message is received, accepted, routed, mostly delivered and answered;
/// some are refused, some fail or expire. Returns the sums and how many entries they count.
fn year(start_day: i64) -> (HashMap<CounterKey, i64>, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sums: HashMap<CounterKey, i64> = HashMap::new();
    let mut entries = 0usize;
    let org = |i: usize| OrgId::from_stored(format!("org-{i}"));
    while entries < ENTRIES {
        let sender = rng.next(ORGANIZATIONS as u64) as usize;
        let receiver = (sender + 1 + rng.next(RECEIVERS_EACH as u64) as usize) % ORGANIZATIONS;
        let kind = KINDS[rng.next(KINDS.len() as u64) as usize];
        let at = (start_day + rng.next(365) as i64) * DAY_MS + rng.next(DAY_MS as u64) as i64;
        let entry = |event, at: i64, outcome: Option<&str>| {
            let mut e = LedgerRecord::new(event, Millis::from_i64(at));
            e.sender_org = Some(org(sender));
            e.event_code = Some(EventCode::from_stored(kind.to_owned()));
            e.tracking_id = Some(TrackingId::from_stored("t".into()));
            if !matches!(event, LedgerEvent::Received | LedgerEvent::Accepted | LedgerEvent::Rejected) {
                e.receiver_org = Some(org(receiver));
            }
            e.outcome = outcome.map(str::to_owned);
            e
        };
        let facts = MessageFacts {
            received_at: Millis::from_i64(at),
            stay_ended_at: (kind != "referral").then(|| Millis::from_i64(at - rng.next(3 * DAY_MS as u64) as i64)),
            warnings: i64::from(rng.next(10) == 0),
        };
        let mut life = vec![entry(LedgerEvent::Received, at, None)];
        if rng.next(20) == 0 {
            let rule = ["422 incomplete: invariant hb-pat-1 at Bundle.entry.resource", "400 invalid-envelope"];
            life.push(entry(LedgerEvent::Rejected, at, Some(rule[rng.next(2) as usize])));
        } else {
            life.push(entry(LedgerEvent::Accepted, at, Some("202")));
            life.push(entry(LedgerEvent::Routed, at, None));
            let later = at + rng.next(4 * 3_600_000) as i64;
            match rng.next(50) {
                0 => life.push(entry(LedgerEvent::Expired, later, None)),
                1 => life.push(entry(LedgerEvent::Failed, later, None)),
                _ => {
                    life.push(entry(LedgerEvent::Delivered, later, Some("200")));
                    let answer = if rng.next(10) == 0 { "fatal-error" } else { "ok" };
                    life.push(entry(LedgerEvent::BusinessResponse, later + 3_600_000, Some(answer)));
                }
            }
        }
        for e in &life {
            for key in counters::increments(e, Some(&facts)) {
                *sums.entry(key).or_default() += 1;
            }
        }
        entries += life.len();
    }
    (sums, entries)
}

fn timed<F: std::future::Future<Output = ()>>(
    rt: &tokio::runtime::Runtime,
    runs: usize,
    mut f: impl FnMut() -> F,
) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[(runs * 99).div_ceil(100) - 1])
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-quality");
    std::fs::create_dir_all(&dir).unwrap();
    let filled = dir.join("filled");
    let start_day = counters::day_of(time::macros::date!(2026 - 01 - 01));
    let store = rt.block_on(Store::open(&format!("sqlite://{}/quality.db", dir.display()), 8, 128)).unwrap();
    if !filled.exists() {
        let started = Instant::now();
        let (sums, entries) = year(start_day);
        let rows: Vec<(CounterKey, i64)> = sums.into_iter().collect();
        println!("{entries} ledger entries -> {} counter rows ({:.1?} to derive)", rows.len(), started.elapsed());
        for chunk in rows.chunks(50_000) {
            rt.block_on(store.add_quality_counts(chunk)).unwrap();
        }
        std::fs::write(&filled, format!("{entries}\n")).unwrap();
        println!("stored in {:.1?}", started.elapsed());
    }
    let year_query = |sender: Option<&str>, receiver: Option<&str>, kind: Option<&str>| QualityQuery {
        from_day: start_day,
        to_day: start_day + 365,
        sender: sender.map(|s| OrgId::from_stored(s.to_owned())),
        receiver: receiver.map(|s| OrgId::from_stored(s.to_owned())),
        kind: kind.map(str::to_owned),
    };
    let cases = [
        ("region, a year", year_query(None, None, None)),
        ("region, a year, one kind", year_query(None, None, Some("discharge-summary"))),
        ("one sender, a year", year_query(Some("org-7"), None, None)),
        ("one receiver, a year", year_query(None, Some("org-7"), None)),
        (
            "region, 15 Jan to 10 Apr (edge days and whole months)",
            QualityQuery { from_day: start_day + 14, to_day: start_day + 99, ..year_query(None, None, None) },
        ),
    ];
    println!("{:<58} {:>10} {:>10}", "report", "median", "p99");
    for (name, query) in &cases {
        let (median, p99) = timed(&rt, 100, || async {
            let totals = store.quality_counts(query).await.unwrap();
            assert!(totals.get("submitted").copied().unwrap_or(0) > 0 || query.receiver.is_some());
        });
        println!("{name:<58} {median:>10.1?} {p99:>10.1?}");
    }
}
