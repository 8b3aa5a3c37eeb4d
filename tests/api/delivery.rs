//! Push delivery to real receiver servers on loopback: retries, failures, expiry, fan-out, receipts
//! and business responses. Each test starts its receivers (actix-web servers with a scripted answer)
//! and a broker whose directory points at them.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use handover_broker::config::Settings;
use handover_broker::delivery::Outcomes;
use handover_broker::directory;
use handover_broker::model::DeliveryMode;
use handover_broker::model::TrackingId;
use handover_broker::store::Store;
use serde_json::{json, Value};
use sha2::Digest;

use crate::helpers::*;

/// One answer of a receiver.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    RetryAfter(u16, u64),
    /// Wait this long before answering 200.
    Slow(Duration),
}

/// A message a receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub message_id: String,
    pub hash_header: String,
    pub traceparent: String,
    /// `X-Sender-Organization` and every `X-Sender-Identifier`.
    pub sender: (String, Vec<String>),
    /// `Content-Type` as the broker sent it.
    pub content_type: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Default)]
pub struct ReceiverState {
    pub got: Mutex<Vec<Got>>,
    /// Message ids stored: a receiver that deduplicates on `X-Message-Id`.
    pub stored: Mutex<HashSet<String>>,
    pub script: Mutex<VecDeque<Reply>>,
    /// Message ids always answered 500, whatever the script says.
    pub refuse: Mutex<HashSet<String>>,
}

impl ReceiverState {
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
    pub fn bodies(&self) -> Vec<Value> {
        self.got().iter().map(|g| serde_json::from_slice(&g.body).unwrap()).collect()
    }
}

pub struct Receiver {
    pub address: String,
    pub state: Arc<ReceiverState>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<ReceiverState>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let reply = if state.refuse.lock().unwrap().contains(&header("X-Message-Id")) {
        Some(Reply::Status(500))
    } else {
        state.script.lock().unwrap().pop_front()
    };
    if let Some(Reply::Slow(wait)) = reply {
        tokio::time::sleep(wait).await;
    }
    state.got.lock().unwrap().push(Got {
        message_id: header("X-Message-Id"),
        hash_header: header("X-Payload-SHA256"),
        traceparent: header("traceparent"),
        sender: (
            header("X-Sender-Organization"),
            req.headers().get_all("X-Sender-Identifier").filter_map(|v| v.to_str().ok()).map(str::to_owned).collect(),
        ),
        content_type: header("Content-Type"),
        body: body.to_vec(),
        at: Instant::now(),
    });
    match reply {
        Some(Reply::Status(code)) if code >= 300 => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish()
        }
        Some(Reply::RetryAfter(code, secs)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .insert_header(("Retry-After", secs.to_string()))
                .finish()
        }
        _ => {
            state.stored.lock().unwrap().insert(header("X-Message-Id"));
            HttpResponse::Ok().content_type(FHIR_JSON).body("{}")
        }
    }
}

impl Receiver {
    /// A receiver on `listener` (plain HTTP), or with `tls` (HTTPS).
    pub fn start(listener: std::net::TcpListener, tls: Option<rustls::ServerConfig>) -> Self {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ReceiverState::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(20 << 20))
                .default_service(web::to(receive))
        })
        .workers(2)
        .shutdown_timeout(1);
        let (server, scheme) = match tls {
            Some(tls) => (server.listen_rustls_0_23(listener, tls).unwrap(), "https"),
            None => (server.listen(listener).unwrap(), "http"),
        };
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { address: format!("{scheme}://127.0.0.1:{port}/fhir"), state, handle }
    }

    pub fn plain() -> Self {
        Self::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), None)
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Delivery settings fast enough for tests: short backoff, timeouts and poll.
pub fn fast(settings: &mut Settings) {
    settings.delivery.enabled = true;
    settings.delivery.initial_backoff_ms = 100;
    settings.delivery.max_backoff_ms = 400;
    settings.delivery.poll_ms = 50;
    settings.delivery.timeout_ms = 2_000;
    settings.delivery.connect_timeout_ms = 500;
    settings.delivery.lease_ms = 5_000;
}

/// Delivery stepped by the test: the push workers are built but their loop does not run, so nothing is
/// pushed or expired until the test calls [`TestApp::deliver_pending`], and each call is one attempt of
/// whatever is due. A retry is due at once (no backoff) unless the test sets a backoff: an initial
/// backoff of 0 is allowed only with the loop off (`delivery.background = false`).
pub fn stepped(settings: &mut Settings) {
    fast(settings);
    settings.delivery.background = false;
    settings.delivery.initial_backoff_ms = 0;
}

/// [`broker_with`], with delivery [`stepped`] by the test.
pub async fn stepped_broker(orgs: &[(&str, &str)], tweak: impl FnOnce(&mut Settings)) -> TestApp {
    broker_with(orgs, |s| {
        stepped(s);
        tweak(s);
    })
    .await
}

/// [`broker_where`], with delivery [`stepped`] by the test.
pub async fn stepped_broker_where(
    orgs: &[(&str, &str)],
    tweak: impl FnOnce(&mut Settings),
    edit: impl FnMut(&mut handover_broker::model::Organization),
) -> TestApp {
    broker_where(
        orgs,
        |s| {
            stepped(s);
            tweak(s);
        },
        edit,
    )
    .await
}

/// What a pass did to one outbox: `n` rows delivered (add the others with `..delivered(n)`).
pub fn delivered(n: usize) -> Outcomes {
    Outcomes { delivered: n, ..Outcomes::default() }
}

pub fn retried(n: usize) -> Outcomes {
    Outcomes { retried: n, ..Outcomes::default() }
}

pub fn failed(n: usize) -> Outcomes {
    Outcomes { failed: n, ..Outcomes::default() }
}

pub fn expired(n: usize) -> Outcomes {
    Outcomes { expired: n, ..Outcomes::default() }
}

/// Times of a delivery, in milliseconds since the epoch, as the database has them.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Its last change (for a retry: when the attempt was settled).
    pub updated_at: i64,
    /// When it is due next.
    pub next_attempt_at: i64,
    pub expires_at: i64,
}

/// The [`Schedule`] of the only delivery of `tracking` (`DeliveryRecord` does not carry these).
pub async fn schedule(app: &TestApp, tracking: &TrackingId) -> Schedule {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT CAST(updated_at AS BIGINT) AS updated_at, CAST(next_attempt_at AS BIGINT) AS next_attempt_at, \
         CAST(expires_at AS BIGINT) AS expires_at FROM deliveries WHERE tracking_id = $1",
    )
    .bind(tracking.as_str())
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    assert_eq!(rows.len(), 1, "one delivery");
    let at = |column: &str| rows[0].try_get::<i64, _>(column).unwrap();
    Schedule { updated_at: at("updated_at"), next_attempt_at: at("next_attempt_at"), expires_at: at("expires_at") }
}

/// How many bytes the database holds for the payload of `tracking`.
pub async fn stored_payload_len(app: &TestApp, tracking: &TrackingId) -> usize {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let row = sqlx::query("SELECT payload FROM messages WHERE tracking_id = $1")
        .bind(tracking.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    row.try_get::<Vec<u8>, _>("payload").unwrap().len()
}

/// Rows still queued in either outbox, pushed or waiting in a mailbox: with none, no pass can push,
/// expire or receipt anything any more.
pub async fn queued(app: &TestApp) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let mut n = 0;
    for table in ["deliveries", "receipts"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE state = 'queued'");
        n += sqlx::query(&sql).fetch_one(&mut conn).await.unwrap().try_get::<i64, _>("n").unwrap();
    }
    conn.close().await.unwrap();
    n
}

/// Sleeps until the clock reads `at` (milliseconds since the epoch): a row due at `at` is then due.
pub async fn sleep_until(at: i64) {
    loop {
        let now = handover_broker::time::Millis::now().as_i64();
        if now >= at {
            return;
        }
        tokio::time::sleep(Duration::from_millis(u64::try_from(at - now).unwrap_or(1))).await;
    }
}

/// A broker whose demo organisations `orgs` (id, address) push to the given addresses.
pub async fn broker_with(orgs: &[(&str, &str)], tweak: impl FnOnce(&mut Settings)) -> TestApp {
    broker_where(orgs, tweak, |_| {}).await
}

/// A broker like [`broker_with`] whose directory entries are further changed by `edit` (e.g. an
/// endpoint's `ca_pem` or `client_certificate`).
pub async fn broker_where(
    orgs: &[(&str, &str)],
    tweak: impl FnOnce(&mut Settings),
    edit: impl FnMut(&mut handover_broker::model::Organization),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    fast(&mut settings);
    tweak(&mut settings);
    point_directory_with(&settings, orgs, edit).await;
    spawn_with(settings, dir).await
}

/// Loads the demo directory with the given organisations pushing to the given addresses.
pub async fn point_directory(settings: &Settings, orgs: &[(&str, &str)]) {
    point_directory_with(settings, orgs, |_| {}).await;
}

/// [`point_directory`], then `edit` on every organisation before the import.
pub async fn point_directory_with(
    settings: &Settings,
    orgs: &[(&str, &str)],
    mut edit: impl FnMut(&mut handover_broker::model::Organization),
) {
    let store = Store::open(&settings.database_url, 2, 8).await.unwrap();
    let mut organizations = directory::read_bundle_file(&project_dir().join("fixtures/demo-directory.json")).unwrap();
    for org in &mut organizations {
        if let Some((_, address)) = orgs.iter().find(|(id, _)| *id == org.id.as_str()) {
            org.delivery = DeliveryMode::Push;
            org.address = (*address).to_owned();
        }
        edit(org);
    }
    directory::import(&store, &organizations, None, settings.targets()).await.unwrap();
    store.close().await;
}

/// A loopback address where nothing listens (bound, then released): connections are refused.
pub fn closed_port() -> (std::net::SocketAddr, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    (addr, format!("http://{addr}/fhir"))
}

/// Waits (up to 20 s) until the deliveries of `tracking` satisfy `done`.
pub async fn wait_deliveries(
    app: &TestApp,
    tracking: &TrackingId,
    done: impl Fn(&[handover_broker::store::DeliveryRecord]) -> bool,
) -> Vec<handover_broker::store::DeliveryRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let deliveries = app.store.deliveries(tracking).await.unwrap();
        if done(&deliveries) {
            return deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries still {:?}",
            deliveries.iter().map(|d| (&d.receiver_org, &d.state, d.attempts)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The receipt reporting `state` that `receiver` got (whole Bundle); it must have got one.
pub fn received_receipt(receiver: &Receiver, state: &str) -> Value {
    let receipts = receipts(receiver);
    let found = receipts.iter().find(|(s, _, _)| s == state).map(|(_, _, body)| body.clone());
    found.unwrap_or_else(|| {
        panic!("no {state} receipt; got {:?}", receipts.iter().map(|r| (&r.0, &r.1)).collect::<Vec<_>>())
    })
}

/// A nursing handover from the hospital to the home-care organisation at `address`.
pub fn nursing_to(address: &str) -> Value {
    let mut bundle = fresh(fixture("nursing-handover-nl.json"));
    header(&mut bundle)["destination"][0]["endpoint"] = json!(address);
    bundle
}

/// The tracking id from a 202 acknowledgement.
pub async fn accepted(response: reqwest::Response) -> TrackingId {
    assert_eq!(response.status().as_u16(), 202);
    tracking_id(&response.json::<Value>().await.unwrap())
}

/// Posts and returns the tracking id.
pub async fn send(app: &TestApp, token: &str, bundle: &Value) -> TrackingId {
    accepted(app.post_message(token, bundle).await).await
}

/// Waits until `receiver` got at least `n` posts.
pub async fn wait_got(receiver: &Receiver, n: usize) -> Vec<Got> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = receiver.state.got();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "the receiver got {} of {n}", got.len());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The receipts (response messages) a sender's receiver got, as (delivery state, response code).
pub fn receipts(receiver: &Receiver) -> Vec<(String, String, Value)> {
    receiver
        .state
        .bodies()
        .into_iter()
        .map(|b| {
            let header = &b["entry"][0]["resource"];
            let state = header["extension"]
                .as_array()
                .and_then(|extensions| {
                    extensions.iter().find(|e| e["url"].as_str().is_some_and(|url| url.ends_with("delivery-state")))
                })
                .and_then(|e| e["valueCoding"]["code"].as_str())
                .unwrap_or_else(|| panic!("a receipt without its delivery state: {b}"))
                .to_owned();
            (state, header["response"]["code"].as_str().unwrap().to_owned(), b.clone())
        })
        .collect()
}

#[tokio::test]
async fn a_handover_is_pushed_byte_identical_and_the_sender_gets_a_delivered_receipt() {
    let (home_care, hospital) = (Receiver::plain(), Receiver::plain());
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |_| {})
            .await;
    let bundle = nursing_to(&home_care.address);
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), bytes.clone()).await;
    let tracking = accepted(response).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 1);
    let got = home_care.state.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, bytes, "the exact bytes accepted");
    // Kept packed (the single writer copies a fraction of the bytes), delivered exactly as received.
    let stored = stored_payload_len(&app, &tracking).await;
    assert!(stored < bytes.len() / 2, "{stored} bytes stored for {}", bytes.len());
    assert_eq!(got[0].hash_header, hex::encode(sha2::Sha256::digest(&bytes)));
    let trace: Vec<&str> = got[0].traceparent.split('-').collect();
    assert_eq!(trace.iter().map(|p| p.len()).collect::<Vec<_>>(), [2, 32, 16, 2], "{}", got[0].traceparent);
    assert_eq!(got[0].message_id, bundle["entry"][0]["resource"]["id"].as_str().unwrap());
    // Who sent it, as the broker authenticated it (not as the payload says).
    let ura = "http://fhir.nl/fhir/NamingSystem/ura|90000011";
    let agb = "http://fhir.nl/fhir/NamingSystem/agb-z|06010011";
    assert_eq!(got[0].sender, ("zzl-hospital".to_owned(), vec![agb.to_owned(), ura.to_owned()]));

    // The sender's receipt: a response message to the original MessageHeader.id.
    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    let receipts = receipts(&hospital);
    assert_eq!(receipts.len(), 1);
    assert_eq!(hospital.state.got()[0].sender.0, "", "a receipt is the broker's own message");
    assert_eq!(receipts[0].0, "delivered");
    assert_eq!(receipts[0].1, "ok");
    assert_eq!(receipts[0].2["entry"][0]["resource"]["response"]["identifier"], bundle["entry"][0]["resource"]["id"]);

    let receipt = app.receipt(HOSPITAL, &tracking).await.text().await.unwrap();
    assert!(receipt.contains("\"delivered\""), "{receipt}");
    let admin = admin_token(&app).await;
    let metrics = app.get(Some(&admin), "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("handover_broker_delivery_attempts_total{outbox=\"handover\",outcome=\"delivered\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("handover_broker_delivery_latency_seconds_count 1"), "{metrics}");
}

#[tokio::test]
async fn a_receiver_answering_500_five_times_then_200_gets_the_message_once() {
    let home_care = Receiver::plain();
    home_care.script((0..5).map(|_| Reply::Status(500)));
    let (initial, max) = (20, 80);
    let app = stepped_broker(&[("thuiszorg-parkstad", &home_care.address)], |s| {
        s.delivery.initial_backoff_ms = initial;
        s.delivery.max_backoff_ms = max;
    })
    .await;
    let tracking = send(&app, HOSPITAL, &nursing_to(&home_care.address)).await;
    for attempt in 1..=5 {
        assert_eq!(app.deliver_pending().await.handovers, retried(1), "attempt {attempt}");
        // Backoff: each retry is scheduled after the attempt, doubling (with jitter in the upper half)
        // up to the cap, not immediate.
        let schedule = schedule(&app, &tracking).await;
        let wait = schedule.next_attempt_at - schedule.updated_at;
        let full = i64::try_from((initial << (attempt - 1)).min(max)).unwrap();
        assert!((full / 2..=full).contains(&wait), "retry {attempt} after {wait} ms, not {}..={full}", full / 2);
        sleep_until(schedule.next_attempt_at).await;
    }
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 6);
    assert_eq!(home_care.state.got().len(), 6);
    assert_eq!(home_care.state.stored.lock().unwrap().len(), 1);
    // The retries were spread out, not immediate.
    let got = home_care.state.got();
    assert!(got[5].at - got[0].at >= Duration::from_millis(5 * initial / 2), "{:?}", got[5].at - got[0].at);
}

#[tokio::test]
async fn a_400_fails_at_once_and_the_sender_gets_a_non_delivery_receipt() {
    let (home_care, hospital) = (Receiver::plain(), Receiver::plain());
    home_care.script([Reply::Status(400)]);
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |_| {})
            .await;
    let tracking = send(&app, HOSPITAL, &nursing_to(&home_care.address)).await;
    assert_eq!(app.deliver_pending().await.handovers, failed(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "failed");
    assert_eq!(deliveries[0].attempts, 1);
    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    let receipts = receipts(&hospital);
    assert_eq!(receipts.len(), 1);
    assert_eq!((receipts[0].0.as_str(), receipts[0].1.as_str()), ("failed", "fatal-error"));
    // A retry would be due at once (no backoff): none comes.
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(queued(&app).await, 0, "nothing left to push");
    assert_eq!(home_care.state.got().len(), 1, "no retry after a permanent error");
}

/// The background dispatcher itself (the other delivery tests step it): a new handover and then the
/// sender's receipt are pushed as soon as they are committed, the loop woken by the commits and not by
/// its poll timer.
#[tokio::test]
async fn the_background_workers_are_woken_by_a_new_handover_and_by_its_receipt() {
    let (home_care, hospital) = (Receiver::plain(), Receiver::plain());
    let app = broker_with(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |s| {
        // Longer than the waits below: only a wake-up can get either push through in time.
        s.delivery.poll_ms = 120_000;
    })
    .await;
    let tracking = send(&app, HOSPITAL, &nursing_to(&home_care.address)).await;
    let deliveries = wait_deliveries(&app, &tracking, |d| d.iter().all(|d| d.state.as_str() == "delivered")).await;
    assert_eq!(deliveries[0].attempts, 1);
    assert_eq!(home_care.state.got().len(), 1);
    wait_got(&hospital, 1).await;
    assert_eq!(receipts(&hospital)[0].0, "delivered");
}
