//! The fault suite (issue 17): the real binary killed without warning (SIGKILL) at random moments
//! while clients send and receivers receive, on SQLite and (with `HANDOVER_TEST_POSTGRES`) on two
//! broker nodes sharing one PostgreSQL database, with a receiver outage in the middle.
//!
//! The clients resend each message, byte for byte with the same ids, until the broker acknowledges it
//! (as a sending system must); the receivers record every message they accept. What must hold:
//! - every acknowledged message is stored once and delivered to each of its receivers;
//! - nothing is delivered that no client sent and had acknowledged;
//! - a message reaches a receiver twice only when its first push was in flight at a kill (answered
//!   at most a push timeout before it, not yet recorded), made again after its lease;
//! - the ledger verifies and its `seq` has no gap.
//!
//! Bounded: a few seconds of load between kills, a minute at most to drain. Loopback only. The counts
//! are printed and written to `target/faults/faults-{backend}.txt` (CI shows them).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::delivery::point_directory;
use crate::helpers::*;

/// Pushes in flight to one receiver at most (`delivery.per_receiver`).
const PER_RECEIVER: usize = 4;
/// `delivery.timeout_ms`: the longest a push can be in flight.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a kill the receiver may still be reading a push the killed broker had sent.
const SLACK: Duration = Duration::from_millis(250);
const CLIENTS: usize = 6;

/// A receiver that records the message id and time of every message it accepts (200), and answers
/// 503 while it is down.
struct Recorder {
    address: String,
    state: Arc<Recorded>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Default)]
struct Recorded {
    got: Mutex<Vec<(String, Instant)>>,
    down: AtomicBool,
    refused_while_down: AtomicUsize,
}

async fn record(req: HttpRequest, _body: web::Bytes, state: web::Data<Recorded>) -> HttpResponse {
    if state.down.load(Ordering::SeqCst) {
        state.refused_while_down.fetch_add(1, Ordering::SeqCst);
        return HttpResponse::ServiceUnavailable().finish();
    }
    let id = req.headers().get("X-Message-Id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    state.got.lock().unwrap().push((id, Instant::now()));
    HttpResponse::Ok().content_type(FHIR_JSON).body("{}")
}

impl Recorder {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Recorded::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(20 << 20))
                .default_service(web::to(record))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { address: format!("http://127.0.0.1:{port}/fhir"), state, handle }
    }

    /// Each message id with the times it arrived.
    fn arrivals(&self) -> HashMap<String, Vec<Instant>> {
        let mut by_id: HashMap<String, Vec<Instant>> = HashMap::new();
        for (id, at) in self.state.got.lock().unwrap().iter() {
            by_id.entry(id.clone()).or_default().push(*at);
        }
        by_id
    }
}

/// One broker process on the shared database.
struct Node {
    child: std::process::Child,
    base: String,
}

fn start_node(dir: &std::path::Path, database_url: &str) -> Node {
    let mut child = broker_command(dir)
        .env("HANDOVER_DATABASE_URL", database_url)
        .env("HANDOVER_DELIVERY__ENABLED", "true")
        .env("HANDOVER_DELIVERY__TIMEOUT_MS", PUSH_TIMEOUT.as_millis().to_string())
        .env("HANDOVER_DELIVERY__LEASE_MS", "3000")
        .env("HANDOVER_DELIVERY__POLL_MS", "50")
        .env("HANDOVER_DELIVERY__PER_RECEIVER", PER_RECEIVER.to_string())
        .env("HANDOVER_DELIVERY__INITIAL_BACKOFF_MS", "200")
        .env("HANDOVER_DELIVERY__MAX_BACKOFF_MS", "1000")
        .env("HANDOVER_LIMITS__REQUESTS_PER_SECOND", "100000")
        .env("HANDOVER_LIMITS__REQUEST_BURST", "100000")
        .spawn()
        .unwrap();
    let base = listening_base(&mut child);
    Node { child, base }
}

impl Node {
    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    fn kill(self) {
        drop(self);
    }
}

impl Drop for Node {
    /// Killed however the test ends, a failed assertion included: no broker outlives its test.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prints a suite's counts and writes them to `target/faults/{name}.txt`, which CI shows (a passing
/// test's output is not).
pub fn write_report(name: &str, report: &str) {
    print!("{report}");
    let out = project_dir().join("target/faults");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(format!("{name}.txt")), report).unwrap();
}

/// A pseudo-random number below `n` (uniform enough to pick moments and nodes).
fn below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u64
}

/// What the clients sent and had acknowledged.
#[derive(Default)]
struct Sent {
    /// Message ids (MessageHeader.id) acknowledged (202, or 200 for a resend of a committed one).
    acknowledged: Mutex<HashSet<String>>,
    /// Posts that got no answer or a 5xx and were made again.
    resent: AtomicUsize,
    /// Messages made (each is sent until acknowledged).
    made: AtomicUsize,
}

/// A nursing handover to home care and to district nursing, both pushed.
fn handover(home_care: &str, nursing: &str) -> Value {
    let mut bundle = fresh(fixture("nursing-handover-nl.json"));
    header(&mut bundle)["destination"] = json!([
        destination("http://fhir.nl/fhir/NamingSystem/ura", "90000013", home_care),
        destination("http://fhir.nl/fhir/NamingSystem/ura", "90000017", nursing),
    ]);
    bundle
}

/// One client: makes messages while `sending`, sends each until it is acknowledged, to whichever
/// node is up (the bases are swapped as nodes restart).
async fn client(bases: Arc<RwLock<Vec<String>>>, sending: Arc<AtomicBool>, sent: Arc<Sent>, to: (String, String)) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    while sending.load(Ordering::SeqCst) {
        let bundle = handover(&to.0, &to.1);
        let id = bundle["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
        let body = serde_json::to_vec(&bundle).unwrap();
        sent.made.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "message {id} was never acknowledged");
            let base = {
                let bases = bases.read().unwrap();
                bases[below(bases.len() as u64) as usize].clone()
            };
            let answer = http
                .post(format!("{base}/fhir/$process-message"))
                .bearer_auth(HOSPITAL)
                .header("Content-Type", FHIR_JSON)
                .body(body.clone())
                .send()
                .await;
            match answer {
                Ok(r) if matches!(r.status().as_u16(), 200 | 202) => {
                    sent.acknowledged.lock().unwrap().insert(id);
                    break;
                }
                Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {}
                Ok(r) => panic!("message {id} refused with {}: {}", r.status(), r.text().await.unwrap_or_default()),
                // The node was killed under the request, or is not up yet.
                Err(_) => {}
            }
            sent.resent.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The scenario on the database of `settings`, with `nodes` broker processes, `kills` of them killed
/// in turn at random moments; returns the report's lines.
async fn kill_under_load(backend: &str, nodes: usize, kills: usize) {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path()).await;
    let (home_care, nursing, receipts) = (Recorder::start(), Recorder::start(), Recorder::start());
    point_directory(
        &settings,
        &[
            ("thuiszorg-parkstad", &home_care.address),
            ("wijkverpleging-landgraaf", &nursing.address),
            ("zzl-hospital", &receipts.address),
        ],
    )
    .await;

    // The first node migrates; the others start on the migrated database.
    let mut running: Vec<Node> = Vec::new();
    for _ in 0..nodes {
        running.push(start_node(dir.path(), &settings.database_url));
    }
    let bases = Arc::new(RwLock::new(running.iter().map(|n| n.base.clone()).collect::<Vec<_>>()));
    let sending = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(Sent::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let to = (home_care.address.clone(), nursing.address.clone());
            tokio::spawn(client(bases.clone(), sending.clone(), sent.clone(), to))
        })
        .collect();

    // Kills at random moments; home care is down for a while around the middle one.
    let mut killed_at: Vec<Instant> = Vec::new();
    let started = Instant::now();
    let outage = kills / 2;
    for round in 0..kills {
        if round == outage {
            // Home care goes down for 3 s, across this round's kill: its pushes fail and are retried.
            home_care.state.down.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        tokio::time::sleep(Duration::from_millis(300 + below(1200))).await;
        let victim = below(running.len() as u64) as usize;
        let node = running.remove(victim);
        killed_at.push(Instant::now());
        node.kill();
        running.insert(victim, start_node(dir.path(), &settings.database_url));
        *bases.write().unwrap() = running.iter().map(|n| n.base.clone()).collect();
        if round == outage {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            home_care.state.down.store(false, Ordering::SeqCst);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sending.store(false, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let acknowledged = sent.acknowledged.lock().unwrap().clone();

    // Every acknowledged message reaches both receivers (a lease is 3 s; allow retries after kills).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing = |r: &Recorder| {
            let arrived = r.arrivals();
            acknowledged.iter().filter(|id| !arrived.contains_key(*id)).count()
        };
        let (home_missing, nursing_missing) = (missing(&home_care), missing(&nursing));
        if home_missing == 0 && nursing_missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: acknowledged but not delivered after a minute: {home_missing} to home care, {nursing_missing} to district nursing, of {}",
            acknowledged.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A settle of a push that answered just now may still be on its way; the receivers have it.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut duplicates = 0;
    for (name, receiver) in [("home care", &home_care), ("district nursing", &nursing)] {
        let arrivals = receiver.arrivals();
        for (id, times) in &arrivals {
            assert!(acknowledged.contains(id), "{backend}: {name} got {id}, which no client had acknowledged");
            for pair in times.windows(2) {
                duplicates += 1;
                // The first copy was in flight at a kill: answered by the receiver at most a push
                // timeout before it, its settlement not yet committed. An older first copy would mean
                // a delivery the broker had recorded and then made again.
                assert!(
                    killed_at.iter().any(|k| {
                        // A push the killed broker had sent may still be read by the receiver just after.
                        pair[0] <= *k + SLACK && *k <= pair[1] && k.saturating_duration_since(pair[0]) <= PUSH_TIMEOUT
                    }),
                    "{backend}: {name} got {id} twice with no kill right after the first: a duplicate not caused by a \
                     crash (arrivals {:?} and {:?} after the start, kills at {:?})",
                    pair[0] - started,
                    pair[1] - started,
                    killed_at.iter().map(|k| *k - started).collect::<Vec<_>>()
                );
            }
        }
    }

    // Stored once each, and nothing else; the ledger whole, without gaps.
    let store = handover_broker::store::Store::open(&settings.database_url, 2, 8).await.unwrap();
    let stored = store.message_count().await.unwrap();
    assert_eq!(stored as usize, acknowledged.len(), "{backend}: messages stored against acknowledged");
    let verification = store.verify_ledger().await.unwrap();
    assert!(verification.ok, "{backend}: the ledger does not verify: {:?}", verification.problem);
    assert_eq!(
        verification.entries_checked,
        u64::try_from(verification.head_seq).unwrap(),
        "{backend}: the ledger's seq has gaps"
    );

    for node in running {
        node.kill();
    }
    let report = format!(
        "fault suite on {backend}: {nodes} node(s), {kills} kills (SIGKILL), home care down 3 s ({} pushes refused meanwhile)\n\
         {} messages made, {} acknowledged, {} posts resent after a kill or 5xx\n\
         delivered: {} to home care, {} to district nursing ({} arrivals in all), {duplicates} duplicates (each in flight at a kill)\n\
         stored {stored}; ledger: {} entries, seq contiguous, chain verified\n",
        home_care.state.refused_while_down.load(Ordering::SeqCst),
        sent.made.load(Ordering::SeqCst),
        acknowledged.len(),
        sent.resent.load(Ordering::SeqCst),
        home_care.arrivals().len(),
        nursing.arrivals().len(),
        home_care.state.got.lock().unwrap().len() + nursing.state.got.lock().unwrap().len(),
        verification.entries_checked,
    );
    write_report(&format!("faults-{backend}"), &report);
    for r in [home_care, nursing, receipts] {
        r.handle.stop(false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_acknowledged_is_lost_or_delivered_twice_without_a_crash_across_kills() {
    if std::env::var("HANDOVER_TEST_POSTGRES").is_ok() {
        // Two nodes on one PostgreSQL database, either of them killed each time.
        kill_under_load("postgresql", 2, 8).await;
    } else {
        kill_under_load("sqlite", 1, 8).await;
    }
}
