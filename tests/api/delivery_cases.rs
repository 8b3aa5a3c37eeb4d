//! Push delivery against real receivers on loopback: receivers down and back, Retry-After, timeouts,
//! time to live, fan-out without head-of-line blocking, business responses, a broker restart, endpoint
//! checks, TLS (directory CA, mTLS) and the senders' handling keys. The harness is in `delivery.rs`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use handover_broker::delivery::Outcomes;
use handover_broker::store::DeliveryRecord;
use serde_json::{json, Value};

use crate::delivery::*;
use crate::helpers::*;

const HOSPITAL_URA: &str = "90000011";
const GP_HEERLEN_URA: &str = "90000012";
const HOME_CARE_URA: &str = "90000013";
const DE_DUINEN_NIHDI: &str = "10000000200";

/// The delivery to organisation `org`.
fn to<'a>(deliveries: &'a [DeliveryRecord], org: &str) -> &'a DeliveryRecord {
    deliveries.iter().find(|d| d.receiver_org == org).unwrap_or_else(|| panic!("a delivery to {org}"))
}

fn state_of<'a>(deliveries: &'a [DeliveryRecord], org: &str) -> Option<&'a str> {
    deliveries.iter().find(|d| d.receiver_org == org).map(|d| d.state.as_str())
}

fn attempts_of(deliveries: &[DeliveryRecord], org: &str) -> i64 {
    deliveries.iter().find(|d| d.receiver_org == org).map_or(0, |d| d.attempts)
}

fn header_id(bundle: &Value) -> String {
    bundle["entry"][0]["resource"]["id"].as_str().unwrap().to_owned()
}

/// Ledger entries of `tracking` as (event, outcome).
async fn ledger(app: &TestApp, tracking: &handover_broker::model::TrackingId) -> Vec<(String, String)> {
    app.store
        .ledger_for_message(tracking)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event.as_str().to_owned(), e.outcome.unwrap_or_default()))
        .collect()
}

/// A business response to `original`, sent by the organisation with `sender` (system, value) from
/// `source`, back to the hospital at `hospital`; with `diagnostics`, an OperationOutcome gives the reason.
fn answer(
    original: &Value,
    code: &str,
    sender: (&str, &str),
    source: &str,
    hospital: &str,
    diagnostics: Option<&str>,
) -> Value {
    let original_header = &original["entry"][0]["resource"];
    let header_id = uuid::Uuid::new_v4().to_string();
    let mut header = json!({
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": original_header["eventCoding"],
        "source": { "name": "Home care EHR", "endpoint": source },
        "sender": identifier_ref(sender.0, sender.1),
        "destination": [destination(URA, HOSPITAL_URA, hospital)],
        "response": { "identifier": original_header["id"], "code": code },
    });
    let mut entries = Vec::new();
    if let Some(diagnostics) = diagnostics {
        let outcome_id = uuid::Uuid::new_v4().to_string();
        header["response"]["details"] = json!({ "reference": format!("urn:uuid:{outcome_id}") });
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{outcome_id}"),
            "resource": {
                "resourceType": "OperationOutcome",
                "id": outcome_id,
                "issue": [{ "severity": "error", "code": "not-found", "diagnostics": diagnostics }],
            },
        }));
    }
    entries.insert(0, json!({ "fullUrl": format!("urn:uuid:{header_id}"), "resource": header }));
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": "2026-11-16T11:00:00+01:00",
        "entry": entries,
    })
}

/// A response from home care at `home_care` to the hospital at `hospital`.
fn home_care_answer(original: &Value, code: &str, home_care: &str, hospital: &str, why: Option<&str>) -> Value {
    answer(original, code, (URA, HOME_CARE_URA), home_care, hospital, why)
}

/// The receipt's `MessageHeader.response`.
fn response_of(receipt: &Value) -> &Value {
    &receipt["entry"][0]["resource"]["response"]
}

/// All issue diagnostics of the receipt's OperationOutcome(s).
fn receipt_diagnostics(receipt: &Value) -> Vec<String> {
    receipt["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "OperationOutcome")
        .flat_map(|e| e["resource"]["issue"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["diagnostics"].as_str().map(str::to_owned))
        .collect()
}

fn receipt_states(receiver: &Receiver) -> Vec<String> {
    receipts(receiver).into_iter().map(|r| r.0).collect()
}

fn any_port() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_message_once_when_it_comes_back() {
    let (addr, address) = closed_port();
    let app = stepped_broker(&[("thuiszorg-parkstad", &address)], |_| {}).await;
    let bundle = nursing_to(&address);
    let tracking = send(&app, HOSPITAL, &bundle).await;

    // Two attempts while it is down (each retry is due at once).
    for attempt in 1..=2 {
        assert_eq!(app.deliver_pending().await.handovers, retried(1), "attempt {attempt}");
    }
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].attempts, 2);
    assert_eq!(deliveries[0].state.as_str(), "queued", "a refused connection is retried, not failed");
    let entries = ledger(&app, &tracking).await;
    assert!(
        entries.iter().any(|(event, outcome)| event == "delivery-attempt" && outcome.contains("connection failed")),
        "{entries:?}"
    );

    let home_care = Receiver::start(TcpListener::bind(addr).unwrap(), None);
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 3, "two attempts while it was down, then the one that delivered");
    assert!(app.deliver_pending().await.handovers.is_empty(), "nothing more to push");
    assert_eq!(home_care.state.got().len(), 1, "one push once the receiver is up");
    let stored = home_care.state.stored.lock().unwrap().clone();
    assert_eq!(stored.into_iter().collect::<Vec<_>>(), vec![header_id(&bundle)]);
    home_care.stop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_no_earlier_than_asked() {
    let home_care = Receiver::plain();
    home_care.script([Reply::RetryAfter(429, 1)]);
    // Retry-After is capped at the maximum backoff: make room for the 1 s asked.
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address)], |s| s.delivery.max_backoff_ms = 5_000).await;
    let tracking = send(&app, HOSPITAL, &nursing_to(&home_care.address)).await;
    assert_eq!(app.deliver_pending().await.handovers, retried(1));
    // Without Retry-After the retry would be due at once (no backoff in these tests).
    let schedule = schedule(&app, &tracking).await;
    let wait = schedule.next_attempt_at - schedule.updated_at;
    assert!(wait >= 1_000, "retry scheduled after {wait} ms, before the Retry-After of 1 s");
    assert!(wait < 4_000, "retry scheduled after {wait} ms");
    assert!(app.deliver_pending().await.handovers.is_empty(), "not retried before the Retry-After of 1 s");
    sleep_until(schedule.next_attempt_at).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 2);
    let got = home_care.state.got();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(990), "retried after {gap:?}, before the Retry-After of 1 s");
    assert!(gap < Duration::from_secs(4), "retried after {gap:?}");
    let entries = ledger(&app, &tracking).await;
    assert!(entries.iter().any(|(e, o)| e == "delivery-attempt" && o.contains("429")), "{entries:?}");
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried_and_the_ledger_says_timeout() {
    let home_care = Receiver::plain();
    home_care.script([Reply::Slow(Duration::from_secs(2))]);
    let app = stepped_broker(&[("thuiszorg-parkstad", &home_care.address)], |s| {
        s.delivery.timeout_ms = 500;
    })
    .await;
    let bundle = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, retried(1), "the first push times out");
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 2);
    let entries = ledger(&app, &tracking).await;
    assert!(
        entries.iter().any(|(event, outcome)| event == "delivery-attempt" && outcome.contains("timeout")),
        "{entries:?}"
    );
    assert!(home_care.state.stored.lock().unwrap().contains(&header_id(&bundle)));
}

#[tokio::test]
async fn a_message_not_delivered_within_its_time_to_live_expires_with_a_non_delivery_receipt() {
    let (_, closed) = closed_port();
    let hospital = Receiver::plain();
    let app = stepped_broker(&[("thuiszorg-parkstad", &closed), ("zzl-hospital", &hospital.address)], |s| {
        s.message_ttl_secs = 1;
    })
    .await;
    let bundle = nursing_to(&closed);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, retried(1), "it is tried before it expires");
    sleep_until(schedule(&app, &tracking).await.expires_at).await;
    assert_eq!(app.deliver_pending().await.handovers, expired(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "expired");
    assert_eq!(deliveries[0].attempts, 1, "it was tried before it expired");

    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    let receipt = received_receipt(&hospital, "expired");
    assert_eq!(response_of(&receipt)["code"], "fatal-error");
    assert_eq!(response_of(&receipt)["identifier"], header_id(&bundle).as_str());
    let entries = ledger(&app, &tracking).await;
    assert!(entries.iter().any(|(e, _)| e == "expired"), "{entries:?}");
    assert!(entries.iter().any(|(e, o)| e == "receipt-created" && o == "expired"), "{entries:?}");
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(queued(&app).await, 0, "nothing left to push or expire");
    assert_eq!(receipt_states(&hospital), vec!["expired"], "one non-delivery receipt, nothing else");
}

#[tokio::test]
async fn a_receiver_that_is_down_does_not_hold_up_the_others_of_a_fan_out() {
    let (home_care, gp) = (Receiver::plain(), Receiver::plain());
    let (_, closed) = closed_port();
    let app = stepped_broker(
        &[("thuiszorg-parkstad", &home_care.address), ("wzc-de-duinen", &closed), ("gp-heerlen", &gp.address)],
        |_| {},
    )
    .await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([
        destination(URA, HOME_CARE_URA, &home_care.address),
        destination(NIHDI, DE_DUINEN_NIHDI, &closed),
        destination(URA, GP_HEERLEN_URA, &gp.address),
    ]);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..delivered(2) });
    assert_eq!(app.deliver_pending().await.handovers, retried(1), "only the one that is down is tried again");
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(state_of(&deliveries, "thuiszorg-parkstad"), Some("delivered"));
    assert_eq!(state_of(&deliveries, "gp-heerlen"), Some("delivered"));
    assert_eq!(attempts_of(&deliveries, "wzc-de-duinen"), 2);
    assert_eq!(to(&deliveries, "wzc-de-duinen").state.as_str(), "queued");
    assert_eq!(to(&deliveries, "thuiszorg-parkstad").attempts, 1);
    assert_eq!(to(&deliveries, "gp-heerlen").attempts, 1);
    assert_eq!(home_care.state.got().len(), 1);
    assert_eq!(gp.state.got().len(), 1);
    assert_eq!(home_care.state.got()[0].message_id, header_id(&bundle));
    assert_eq!(gp.state.got()[0].message_id, header_id(&bundle));
}

#[tokio::test]
async fn a_push_that_outlasts_its_lease_keeps_it_and_is_not_made_twice() {
    // The receiver takes 2.5 s to answer; the lease is 600 ms. The lease is renewed while the push
    // is alive, so the dispatcher (polling every 50 ms) never finds the row due again meanwhile.
    let home_care = Receiver::plain();
    home_care.script([Reply::Slow(Duration::from_millis(2_500))]);
    let app = broker_with(&[("thuiszorg-parkstad", &home_care.address)], |s| {
        s.delivery.timeout_ms = 5_000;
        s.delivery.lease_ms = 600;
        s.delivery.poll_ms = 50;
    })
    .await;
    let bundle = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    let deliveries = wait_deliveries(&app, &tracking, |d| d.iter().all(|d| d.state.as_str() == "delivered")).await;
    assert_eq!(deliveries[0].attempts, 1);
    // Had the lease run out, a second push would have reached the receiver while the first hung.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(home_care.state.got().len(), 1, "the message was pushed again while its first push was alive");
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_the_others_of_a_fan_out() {
    // Accepts connections (the kernel's backlog) and never answers: each push to it waits for the
    // request timeout.
    let black_hole = any_port();
    let hole = format!("http://{}/fhir", black_hole.local_addr().unwrap());
    let (home_care, gp) = (Receiver::plain(), Receiver::plain());
    let app = broker_with(
        &[("wzc-de-duinen", &hole), ("thuiszorg-parkstad", &home_care.address), ("gp-heerlen", &gp.address)],
        |s| {
            s.delivery.timeout_ms = 5_000;
            s.delivery.lease_ms = 10_000;
        },
    )
    .await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([
        destination(NIHDI, DE_DUINEN_NIHDI, &hole),
        destination(URA, HOME_CARE_URA, &home_care.address),
        destination(URA, GP_HEERLEN_URA, &gp.address),
    ]);
    let sent = std::time::Instant::now();
    let tracking = send(&app, HOSPITAL, &bundle).await;
    let deliveries = wait_deliveries(&app, &tracking, |d| {
        state_of(d, "thuiszorg-parkstad") == Some("delivered") && state_of(d, "gp-heerlen") == Some("delivered")
    })
    .await;
    assert!(sent.elapsed() < Duration::from_secs(4), "the others waited {:?} for the hanging push", sent.elapsed());
    assert_eq!(to(&deliveries, "wzc-de-duinen").state.as_str(), "queued");
    assert_eq!(to(&deliveries, "wzc-de-duinen").attempts, 1, "its first push is still waiting");
    drop(black_hole);
}

#[tokio::test]
async fn a_message_that_keeps_failing_does_not_hold_up_the_next_for_the_same_receiver() {
    let home_care = Receiver::plain();
    // One push at a time to this receiver: the failing message must still let the next one through.
    let app = stepped_broker(&[("thuiszorg-parkstad", &home_care.address)], |s| s.delivery.per_receiver = 1).await;
    let failing = nursing_to(&home_care.address);
    home_care.state.refuse.lock().unwrap().insert(header_id(&failing));
    let stuck = send(&app, HOSPITAL, &failing).await;
    for attempt in 1..=2 {
        assert_eq!(app.deliver_pending().await.handovers, retried(1), "attempt {attempt}");
    }

    // Both are due now, the failing one first in line (no backoff in these tests).
    let next = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &next).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..delivered(1) });
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "delivered");
    let deliveries = app.store.deliveries(&stuck).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "queued");
    assert_eq!(deliveries[0].attempts, 3);
    let stored = home_care.state.stored.lock().unwrap().clone();
    assert_eq!(stored.into_iter().collect::<Vec<_>>(), vec![header_id(&next)]);
    assert_eq!(home_care.state.got().iter().filter(|g| g.message_id == header_id(&next)).count(), 1);
}

#[tokio::test]
async fn business_accept_and_reject_reach_the_sender_as_receipts() {
    let (home_care, hospital) = (Receiver::plain(), Receiver::plain());
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |_| {})
            .await;

    // Accepted.
    let first = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &first).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "delivered");
    let ok = home_care_answer(&first, "ok", &home_care.address, &hospital.address, None);
    let answered = accepted(app.post_message(HOME_CARE, &ok).await).await;
    assert_eq!(answered, tracking, "the acknowledgement names the original's tracking id");
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "accepted-by-receiver");
    assert_eq!(app.deliver_pending().await.receipts, delivered(2), "the delivered and the accepted receipt");
    let receipt = received_receipt(&hospital, "accepted-by-receiver");
    assert_eq!(response_of(&receipt)["code"], "ok");
    assert_eq!(response_of(&receipt)["identifier"], header_id(&first).as_str());
    let entries = ledger(&app, &tracking).await;
    assert!(entries.iter().any(|(e, o)| e == "business-response" && o == "ok"), "{entries:?}");

    // The same answer again is a resend; another answer after the final one is a conflict.
    assert_eq!(app.post_message(HOME_CARE, &ok).await.status().as_u16(), 200);
    let other = home_care_answer(&first, "fatal-error", &home_care.address, &hospital.address, Some("too late"));
    outcome(app.post_message(HOME_CARE, &other).await, 409).await;
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "accepted-by-receiver");

    // Rejected, with the receiver's reason.
    let second = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &second).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "delivered");
    let why = "patient unknown here";
    let reject = home_care_answer(&second, "fatal-error", &home_care.address, &hospital.address, Some(why));
    assert_eq!(accepted(app.post_message(HOME_CARE, &reject).await).await, tracking);
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "rejected-by-receiver");
    assert_eq!(app.deliver_pending().await.receipts, delivered(2), "the delivered and the rejected receipt");
    let receipt = received_receipt(&hospital, "rejected-by-receiver");
    assert_eq!(response_of(&receipt)["identifier"], header_id(&second).as_str());
    assert_eq!(response_of(&receipt)["code"], "fatal-error");
    let diagnostics = receipt_diagnostics(&receipt);
    assert!(diagnostics.iter().any(|d| d.contains(why)), "{diagnostics:?}");

    assert_eq!(app.post_message(HOME_CARE, &reject).await.status().as_u16(), 200);
    let late_ok = home_care_answer(&second, "ok", &home_care.address, &hospital.address, None);
    outcome(app.post_message(HOME_CARE, &late_ok).await, 409).await;
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "rejected-by-receiver");

    // One receipt per state change: resends and refused answers queue nothing.
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(queued(&app).await, 0, "nothing queued");
    let mut states = receipt_states(&hospital);
    states.sort();
    assert_eq!(states, ["accepted-by-receiver", "delivered", "delivered", "rejected-by-receiver"]);
}

#[tokio::test]
async fn an_organisation_cannot_answer_a_message_not_addressed_to_it() {
    let (home_care, hospital, gp) = (Receiver::plain(), Receiver::plain(), Receiver::plain());
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |_| {})
            .await;
    let bundle = nursing_to(&home_care.address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    received_receipt(&hospital, "delivered");

    for code in ["ok", "fatal-error"] {
        let forged = answer(&bundle, code, (URA, GP_HEERLEN_URA), &gp.address, &hospital.address, Some("not mine"));
        let refused = outcome(app.post_message(GP_HEERLEN, &forged).await, 403).await;
        assert!(issues_text(&refused).contains("response.identifier"), "{}", issues_text(&refused));
    }
    assert!(app.deliver_pending().await.is_empty(), "a refused answer queues nothing");
    assert_eq!(queued(&app).await, 0);
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered", "unchanged");
    assert_eq!(receipt_states(&hospital), vec!["delivered"], "no receipt for a refused answer");
    let entries = ledger(&app, &tracking).await;
    assert!(!entries.iter().any(|(e, _)| e == "business-response"), "{entries:?}");
}

#[tokio::test]
async fn deliveries_in_flight_survive_a_broker_restart_and_arrive_once() {
    let (addr, address) = closed_port();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    stepped(&mut settings);
    point_directory(&settings, &[("thuiszorg-parkstad", &address)]).await;
    let app = spawn_with(settings.clone(), dir).await;
    let bundle = nursing_to(&address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, retried(1));
    let dir = app.stop().await;

    let home_care = Receiver::start(TcpListener::bind(addr).unwrap(), None);
    // Same settings: same SQLite file or the same PostgreSQL database.
    let app = spawn_with(settings, dir).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    assert_eq!(deliveries[0].attempts, 2, "one before the restart, one after");
    assert!(app.deliver_pending().await.handovers.is_empty(), "nothing more to push");
    let got = home_care.state.got();
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert_eq!(got[0].message_id, header_id(&bundle));
    assert_eq!(home_care.state.stored.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_destination_endpoint_other_than_the_registered_one_is_refused_and_nothing_is_pushed() {
    let home_care = Receiver::plain();
    let app = stepped_broker(&[("thuiszorg-parkstad", &home_care.address)], |_| {}).await;
    let before = app.store.message_count().await.unwrap();
    let bundle = nursing_to("https://evil.example/fhir");
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 422).await;
    assert!(issues_text(&refused).contains("destination[0].endpoint"), "{}", issues_text(&refused));
    assert!(app.deliver_pending().await.is_empty(), "nothing to push");
    assert!(home_care.state.got().is_empty(), "nothing pushed");
    assert_eq!(app.store.message_count().await.unwrap(), before, "nothing stored");
}

/// A CA made in the test, issuing server and client certificates.
struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    fn new() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "handover test CA");
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate and its key, for `names` (server) or as a client certificate.
    fn issue(&self, names: &[&str], client: bool) -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        params.distinguished_name.push(rcgen::DnType::CommonName, if client { "handover broker" } else { "receiver" });
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert, key)
    }

    /// A receiver's TLS configuration for 127.0.0.1; with `client_auth`, client certificates from this
    /// CA are required.
    fn server_config(&self, client_auth: bool) -> rustls::ServerConfig {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (cert, key) = self.issue(&["127.0.0.1"], false);
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.cert.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        builder.with_single_cert(vec![cert.der().clone()], key).unwrap()
    }
}

/// A nursing handover to home care at `home_care` and to the nursing home De Duinen at `de_duinen`.
fn nursing_to_both(home_care: &str, de_duinen: &str) -> Value {
    let mut bundle = nursing_to(home_care);
    header(&mut bundle)["destination"].as_array_mut().unwrap().push(destination(NIHDI, DE_DUINEN_NIHDI, de_duinen));
    bundle
}

#[tokio::test]
async fn an_https_receiver_is_trusted_through_its_directory_ca_and_only_then() {
    let ca = TestCa::new();
    let trusted = Receiver::start(any_port(), Some(ca.server_config(false)));
    let untrusted = Receiver::start(any_port(), Some(ca.server_config(false)));
    assert!(trusted.address.starts_with("https://127.0.0.1:"), "{}", trusted.address);
    let ca_pem = ca.pem();
    let app = stepped_broker_where(
        &[("thuiszorg-parkstad", &trusted.address), ("wzc-de-duinen", &untrusted.address)],
        |_| {},
        |org| {
            if org.id.as_str() == "thuiszorg-parkstad" {
                org.ca_pem = Some(ca_pem.clone());
            }
        },
    )
    .await;
    let bundle = nursing_to_both(&trusted.address, &untrusted.address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..delivered(1) });
    assert_eq!(app.deliver_pending().await.handovers, retried(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(state_of(&deliveries, "thuiszorg-parkstad"), Some("delivered"));
    assert_eq!(attempts_of(&deliveries, "wzc-de-duinen"), 2);
    assert_eq!(to(&deliveries, "wzc-de-duinen").state.as_str(), "queued", "an unknown CA is not trusted");
    assert_eq!(trusted.state.got().len(), 1);
    assert_eq!(trusted.state.got()[0].message_id, header_id(&bundle));
    assert!(untrusted.state.got().is_empty(), "nothing reached the receiver whose CA is not trusted");
}

#[tokio::test]
async fn an_mtls_receiver_gets_the_message_when_the_broker_presents_its_client_certificate() {
    let ca = TestCa::new();
    let files = tempfile::tempdir().unwrap();
    let (client, client_key) = ca.issue(&[], true);
    let (cert_path, key_path) = (files.path().join("broker-client.pem"), files.path().join("broker-client.key"));
    std::fs::write(&cert_path, client.pem()).unwrap();
    std::fs::write(&key_path, client_key.serialize_pem()).unwrap();

    let with_mtls = Receiver::start(any_port(), Some(ca.server_config(true)));
    // Requires a client certificate too, but its directory entry does not say so: none is presented.
    let without = Receiver::start(any_port(), Some(ca.server_config(true)));
    let ca_pem = ca.pem();
    let app = stepped_broker_where(
        &[("thuiszorg-parkstad", &with_mtls.address), ("wzc-de-duinen", &without.address)],
        |s| {
            s.delivery.client_cert = Some(cert_path.clone());
            s.delivery.client_key = Some(key_path.clone());
        },
        |org| {
            if matches!(org.id.as_str(), "thuiszorg-parkstad" | "wzc-de-duinen") {
                org.ca_pem = Some(ca_pem.clone());
                org.client_certificate = org.id.as_str() == "thuiszorg-parkstad";
            }
        },
    )
    .await;
    let bundle = nursing_to_both(&with_mtls.address, &without.address);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..delivered(1) });
    assert_eq!(app.deliver_pending().await.handovers, retried(1));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(state_of(&deliveries, "thuiszorg-parkstad"), Some("delivered"));
    assert_eq!(attempts_of(&deliveries, "wzc-de-duinen"), 2);
    assert_eq!(to(&deliveries, "wzc-de-duinen").state.as_str(), "queued", "no client certificate, no delivery");
    assert_eq!(with_mtls.state.got().len(), 1);
    assert_eq!(with_mtls.state.got()[0].message_id, header_id(&bundle));
    assert!(without.state.got().is_empty());
}

#[tokio::test]
async fn a_sender_that_asks_for_no_infack_gets_no_delivered_receipt_but_the_business_one() {
    let (home_care, hospital) = (Receiver::plain(), Receiver::plain());
    let app =
        stepped_broker(&[("thuiszorg-parkstad", &home_care.address), ("zzl-hospital", &hospital.address)], |_| {})
            .await;
    let mut bundle = nursing_to(&home_care.address);
    header(&mut bundle)["extension"] = json!([{
        "url": "https://fhir.handover-broker.eu/StructureDefinition/message-handling",
        "extension": [{ "url": "key", "valueCode": "INFACK" }, { "url": "value", "valueBoolean": false }],
    }]);
    let tracking = send(&app, HOSPITAL, &bundle).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "delivered");
    assert_eq!(home_care.state.got().len(), 1);
    assert!(app.deliver_pending().await.is_empty(), "no receipt to push");
    assert_eq!(queued(&app).await, 0, "no receipt queued");
    assert!(hospital.state.got().is_empty(), "no delivered receipt: {:?}", receipt_states(&hospital));
    let entries = ledger(&app, &tracking).await;
    assert!(!entries.iter().any(|(e, _)| e == "receipt-created"), "{entries:?}");

    let ok = home_care_answer(&bundle, "ok", &home_care.address, &hospital.address, None);
    assert_eq!(accepted(app.post_message(HOME_CARE, &ok).await).await, tracking);
    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    let receipt = received_receipt(&hospital, "accepted-by-receiver");
    assert_eq!(response_of(&receipt)["identifier"], header_id(&bundle).as_str());
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(queued(&app).await, 0, "nothing queued");
    assert_eq!(receipt_states(&hospital), vec!["accepted-by-receiver"]);
}

#[tokio::test]
async fn a_backlog_drains_from_its_oldest_end_while_urgent_and_new_handovers_go_first() {
    // Nothing is pushed until the test claims: the triage point's queue is a backlog of five care
    // requests, then one new, then one urgent.
    let zorgpunt = Receiver::plain();
    let app = stepped_broker(&[("zorgpunt-zuid-limburg", &zorgpunt.address)], |_| {}).await;
    let request = |priority: &str| {
        let mut bundle = fresh(fixture("care-request-nl.json"));
        let focus = entry_of(&bundle, "ServiceRequest");
        bundle["entry"][focus]["resource"]["priority"] = json!(priority);
        header(&mut bundle)["destination"][0]["endpoint"] = json!(zorgpunt.address);
        bundle
    };
    let mut sent = Vec::new();
    for priority in ["routine", "routine", "routine", "routine", "routine", "routine", "urgent"] {
        sent.push(send(&app, GP_HEERLEN, &request(priority)).await);
        // Distinct arrival times, so that "newest" and "oldest" are unambiguous.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let now = handover_broker::time::Millis::now();
    let zorgpunt_id = handover_broker::model::OrgId::parse("zorgpunt-zuid-limburg").unwrap();
    let claim = |limit| {
        app.store.claim_due(
            handover_broker::store::Outbox::Deliveries,
            &zorgpunt_id,
            now,
            now.plus_millis(60_000),
            limit,
        )
    };
    let tracking = |rows: Vec<handover_broker::store::Claimed>| -> Vec<handover_broker::model::TrackingId> {
        rows.into_iter().map(|r| r.tracking_id).collect()
    };
    // Three places: the urgent one, the newest routine one, the oldest.
    assert_eq!(tracking(claim(3).await.unwrap()), vec![sent[6].clone(), sent[5].clone(), sent[0].clone()]);
    // The next two: the newest and the oldest of what is left.
    assert_eq!(tracking(claim(2).await.unwrap()), vec![sent[4].clone(), sent[1].clone()]);
}
