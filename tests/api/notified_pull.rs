//! Notified Pull receivers (issue 15): the home-care organisation is registered with a notified-pull
//! endpoint served by a real HTTP server here; the broker notifies it, and it reads its Task and the
//! document from the broker and reports progress by updating the Task.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use handover_broker::delivery::Outcomes;
use handover_broker::model::{DeliveryMode, TrackingId};
use serde_json::{json, Value};

use crate::delivery::{received_receipt, sleep_until, stepped_broker_where, Receiver};
use crate::helpers::*;

/// A notification as the receiver got it.
#[derive(Debug, Clone)]
struct Notification {
    method: String,
    path: String,
    content_type: String,
    body: Value,
}

#[derive(Default)]
struct NotifiedState {
    got: Mutex<Vec<Notification>>,
    /// Statuses to answer, in turn; 201 when none is left.
    script: Mutex<VecDeque<u16>>,
}

/// A Notified Pull receiver's notification endpoint (its FHIR base), on a real loopback port.
struct NotifiedReceiver {
    /// The FHIR base registered in the directory.
    base: String,
    state: Arc<NotifiedState>,
}

async fn take_notification(req: HttpRequest, body: web::Bytes, state: web::Data<NotifiedState>) -> HttpResponse {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    state.got.lock().unwrap().push(Notification {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        content_type: content_type.to_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let status = state.script.lock().unwrap().pop_front().unwrap_or(201);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl NotifiedReceiver {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(NotifiedState::default());
        let data = web::Data::from(state.clone());
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(take_notification)))
                .workers(1)
                .shutdown_timeout(1)
                .listen(listener)
                .unwrap()
                .run();
        tokio::spawn(server);
        Self { base: format!("http://127.0.0.1:{port}/fhir"), state }
    }

    fn got(&self) -> Vec<Notification> {
        self.state.got.lock().unwrap().clone()
    }

    fn script(&self, statuses: &[u16]) {
        self.state.script.lock().unwrap().extend(statuses);
    }
}

/// A broker (delivery stepped by the test) where the home-care organisation receives by notified pull
/// at `receiver` and the hospital gets its receipts pushed to `hospital`.
async fn broker(receiver: &NotifiedReceiver, hospital: &Receiver, ttl_secs: Option<u64>) -> TestApp {
    let base = receiver.base.clone();
    stepped_broker_where(
        &[("zzl-hospital", &hospital.address)],
        |s| {
            if let Some(ttl) = ttl_secs {
                s.message_ttl_secs = ttl;
            }
        },
        move |org| {
            if org.id.as_str() == "thuiszorg-parkstad" {
                org.delivery = DeliveryMode::NotifiedPull;
                org.address = base.clone();
            }
        },
    )
    .await
}

fn notified(n: usize) -> Outcomes {
    Outcomes { notified: n, ..Outcomes::default() }
}

/// A nursing handover to the home-care organisation as bytes whose entries are each pretty-printed
/// on their own (white space a re-serialisation would lose), with those entries' texts.
fn handover_bytes(receiver: &NotifiedReceiver) -> (Value, Vec<u8>, Vec<String>) {
    let mut bundle = fresh(fixture("nursing-handover-nl.json"));
    header(&mut bundle)["destination"][0]["endpoint"] = json!(receiver.base);
    let entries: Vec<String> =
        bundle["entry"].as_array().unwrap().iter().map(|e| serde_json::to_string_pretty(e).unwrap()).collect();
    let mut head = bundle.clone();
    head.as_object_mut().unwrap().remove("entry");
    let head = serde_json::to_string(&head).unwrap();
    let text = format!("{},\n  \"entry\": [\n{}\n]}}", &head[..head.len() - 1], entries.join(",\n"));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), bundle);
    (bundle, text.into_bytes(), entries)
}

async fn send_bytes(app: &TestApp, bytes: Vec<u8>) -> TrackingId {
    let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), bytes).await;
    assert_eq!(response.status().as_u16(), 202);
    tracking_id(&response.json::<Value>().await.unwrap())
}

/// The value of the notification's input `code` (every one, in order).
fn inputs(task: &Value, code: &str) -> Vec<String> {
    task["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"]["coding"][0]["code"] == code)
        .map(|i| i["valueUrl"].as_str().or(i["valueString"].as_str()).unwrap().to_owned())
        .collect()
}

/// The path of a broker URL.
fn path_of(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.base).unwrap_or_else(|| panic!("{url} is not the broker's")).to_owned()
}

async fn state_of(app: &TestApp, tracking: &TrackingId) -> String {
    app.store.deliveries(tracking).await.unwrap()[0].state.as_str().to_owned()
}

async fn ledger(app: &TestApp, tracking: &TrackingId) -> Vec<(String, String)> {
    let entries = app.store.ledger_for_message(tracking).await.unwrap();
    entries.into_iter().map(|e| (e.event.as_str().to_owned(), e.outcome.unwrap_or_default())).collect()
}

impl TestApp {
    async fn put_task(&self, token: &str, id: &str, task: &Value, if_match: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .put(format!("{}/fhir/Task/{id}", self.base))
            .bearer_auth(token)
            .header("Content-Type", FHIR_JSON)
            .body(serde_json::to_vec(task).unwrap());
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        request.send().await.unwrap()
    }

    async fn patch_task(&self, token: &str, id: &str, patch: &Value, content_type: &str) -> reqwest::Response {
        self.client
            .patch(format!("{}/fhir/Task/{id}", self.base))
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(serde_json::to_vec(patch).unwrap())
            .send()
            .await
            .unwrap()
    }

    async fn task(&self, token: &str, id: &str) -> Value {
        let response = self.get(Some(token), &format!("/fhir/Task/{id}")).await;
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }
}

/// Sends a handover, lets the broker notify, and returns its tracking id and Task id.
async fn notified_handover(app: &TestApp, receiver: &NotifiedReceiver) -> (TrackingId, String) {
    let (_, bytes, _) = handover_bytes(receiver);
    let tracking = send_bytes(app, bytes).await;
    assert_eq!(app.deliver_pending().await.handovers, notified(1));
    let delivery = app.store.deliveries(&tracking).await.unwrap()[0].delivery_id.to_string();
    (tracking, delivery)
}

#[tokio::test]
async fn a_notified_pull_receiver_is_notified_reads_its_task_and_document_and_completes_it() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, None).await;
    let (_, bytes, entries) = handover_bytes(&receiver);
    let tracking = send_bytes(&app, bytes.clone()).await;

    // The notification: a Twiin notification Task at the receiver's FHIR base, ids and URLs only.
    assert_eq!(app.deliver_pending().await.handovers, notified(1));
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].method.as_str(), got[0].path.as_str()), ("POST", "/fhir/Task"));
    assert!(got[0].content_type.starts_with(FHIR_JSON));
    let notification = &got[0].body;
    assert_eq!(notification["resourceType"], "Task");
    assert_eq!(notification["status"], "requested");
    assert_eq!(notification["intent"], "proposal");
    assert_eq!(notification["code"]["coding"][0]["system"], "http://fhir.nl/fhir/NamingSystem/TaskCode");
    assert_eq!(notification["code"]["coding"][0]["code"], "pull-notification");
    assert_eq!(inputs(notification, "authorization-base").len(), 1);
    let text = notification.to_string();
    assert!(!text.contains("Patient") && !text.contains("999911120"), "no patient data in a notification: {text}");
    assert_eq!(state_of(&app, &tracking).await, "queued", "notified is not delivered");
    assert!(app.deliver_pending().await.is_empty(), "a notified delivery is not notified again");

    // The workflow Task: reading it is the receiver fetching the handover.
    let task_url = &inputs(notification, "get-workflow-task")[0];
    assert_eq!(notification["focus"]["reference"], task_url.as_str());
    let response = app.get(Some(HOME_CARE), &path_of(&app, task_url)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    let task: Value = response.json().await.unwrap();
    assert_eq!(task["status"], "requested");
    assert_eq!(task["intent"], "order");
    assert_eq!(task["code"]["coding"][0]["code"], "308292007");
    assert_eq!(task["requester"]["identifier"]["value"], "90000011");
    assert_eq!(state_of(&app, &tracking).await, "delivered");

    // The document: the Composition first, every clinical entry byte for byte as sent, no MessageHeader.
    let resources = inputs(notification, "read-available-resource");
    let document_url = resources.iter().find(|u| u.ends_with("/$document")).unwrap();
    let response = app.get(Some(HOME_CARE), &path_of(&app, document_url)).await;
    assert_eq!(response.status().as_u16(), 200);
    let document = response.text().await.unwrap();
    let parsed: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(parsed["type"], "document");
    assert_eq!(parsed["entry"][0]["resource"]["resourceType"], "Composition");
    assert_eq!(parsed["entry"].as_array().unwrap().len(), entries.len() - 1);
    for entry in &entries[1..] {
        assert!(document.contains(entry.as_str()), "entry not byte for byte: {entry}");
    }
    assert!(!document.contains("MessageHeader"));

    // The message as accepted: the exact bytes.
    let message_url = resources.iter().find(|u| u.contains("/fhir/Bundle/")).unwrap();
    let response = app.get(Some(HOME_CARE), &path_of(&app, message_url)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Another organisation finds nothing, and its attempts are in the ledger.
    let id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(Some(GP_HEERLEN), &format!("/fhir/Task/{id}")).await.status().as_u16(), 404);
    assert_eq!(app.get(Some(GP_HEERLEN), &path_of(&app, document_url)).await.status().as_u16(), 404);
    let mut stolen = task.clone();
    stolen["status"] = json!("completed");
    outcome(app.put_task(GP_HEERLEN, &id, &stolen, None).await, 404).await;
    let denied = ledger(&app, &tracking).await.into_iter().filter(|(e, _)| e == "denied-access").count();
    assert_eq!(denied, 3, "{:?}", ledger(&app, &tracking).await);
    let searched: Value = app.get(Some(GP_HEERLEN), "/fhir/Task").await.json().await.unwrap();
    assert_eq!(searched["total"], 0);

    // The receiver completes the Task: the sender's receipt says accepted by the receiver.
    let mut completed = task.clone();
    completed["status"] = json!("completed");
    let response = app.put_task(HOME_CARE, &id, &completed, Some("W/\"1\"")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!((updated["status"].as_str(), updated["meta"]["versionId"].as_str()), (Some("completed"), Some("2")));
    assert_eq!(state_of(&app, &tracking).await, "accepted-by-receiver");
    let receipt = app.receipt(HOSPITAL, &tracking).await.text().await.unwrap();
    assert!(receipt.contains("accepted-by-receiver"), "{receipt}");
    assert_eq!(app.deliver_pending().await.receipts, Outcomes { delivered: 2, ..Outcomes::default() });
    received_receipt(&hospital, "delivered");
    received_receipt(&hospital, "accepted-by-receiver");
    let entries = ledger(&app, &tracking).await;
    for (event, outcome) in [
        ("delivery-attempt", "notified 2xx"),
        ("mailbox-read", "task read"),
        ("delivered", "fetched"),
        ("mailbox-read", "document downloaded"),
        ("mailbox-read", "message downloaded"),
        ("business-response", "ok via task completed"),
    ] {
        assert!(entries.iter().any(|(e, o)| e == event && o == outcome), "no {event} {outcome}: {entries:?}");
    }
}

#[tokio::test]
async fn a_notification_is_retried_with_backoff_while_the_receiver_is_down() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    receiver.script(&[503, 503]);
    let app = broker(&receiver, &hospital, None).await;
    let (_, bytes, _) = handover_bytes(&receiver);
    let tracking = send_bytes(&app, bytes).await;
    for _ in 0..2 {
        assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..Outcomes::default() });
    }
    assert_eq!(app.deliver_pending().await.handovers, notified(1));
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|n| n.body["identifier"] == got[0].body["identifier"]), "one identifier for every try");
    assert_eq!(state_of(&app, &tracking).await, "queued");
    let attempts = ledger(&app, &tracking).await.into_iter().filter(|(e, _)| e == "delivery-attempt").count();
    assert_eq!(attempts, 3);
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].attempts, 3);
}

#[tokio::test]
async fn a_notification_never_taken_expires_with_its_time_to_live_as_a_push_does() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    receiver.script(&[503; 50]);
    let app = broker(&receiver, &hospital, Some(1)).await;
    let (_, bytes, _) = handover_bytes(&receiver);
    let tracking = send_bytes(&app, bytes).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { retried: 1, ..Outcomes::default() });
    sleep_until(crate::delivery::schedule(&app, &tracking).await.expires_at).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { expired: 1, ..Outcomes::default() });
    assert_eq!(state_of(&app, &tracking).await, "expired");
    app.deliver_pending().await;
    received_receipt(&hospital, "expired");
    assert_eq!(receiver.got().len(), 1, "not notified after it expired");
}

#[tokio::test]
async fn the_directory_shows_and_exports_the_notified_pull_mode() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, None).await;
    let admin = admin_token(&app).await;
    let org: Value = app.get(Some(&admin), "/admin/organizations/thuiszorg-parkstad").await.json().await.unwrap();
    assert_eq!(
        (org["delivery"].as_str(), org["address"].as_str()),
        (Some("notified-pull"), Some(receiver.base.as_str()))
    );
    let directory: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    let endpoint = directory["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Endpoint" && e["resource"]["id"] == "thuiszorg-parkstad")
        .unwrap();
    assert_eq!(endpoint["resource"]["connectionType"]["code"], "notified-pull");
    // Imported back as it was exported: still notified pull.
    assert_eq!(app.post_json(Some(&admin), "/admin/directory", &directory).await.status().as_u16(), 200);
    let again: Value = app.get(Some(&admin), "/admin/organizations/thuiszorg-parkstad").await.json().await.unwrap();
    assert_eq!(again["delivery"], "notified-pull");
}

#[tokio::test]
async fn a_task_never_read_expires_with_a_non_delivery_receipt() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, Some(1)).await;
    let (tracking, id) = notified_handover(&app, &receiver).await;
    sleep_until(crate::delivery::schedule(&app, &tracking).await.expires_at).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { expired: 1, ..Outcomes::default() });
    assert_eq!(state_of(&app, &tracking).await, "expired");
    assert_eq!(app.deliver_pending().await.receipts, Outcomes { delivered: 1, ..Outcomes::default() });
    received_receipt(&hospital, "expired");
    // The Task says so, and can no longer change.
    let task = app.task(HOME_CARE, &id).await;
    assert_eq!(task["status"], "failed");
    let mut accepted = task.clone();
    accepted["status"] = json!("accepted");
    outcome(app.put_task(HOME_CARE, &id, &accepted, None).await, 409).await;
}

#[tokio::test]
async fn a_notification_that_is_refused_for_good_fails_the_delivery() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    receiver.script(&[404]);
    let app = broker(&receiver, &hospital, None).await;
    let (_, bytes, _) = handover_bytes(&receiver);
    let tracking = send_bytes(&app, bytes).await;
    assert_eq!(app.deliver_pending().await.handovers, Outcomes { failed: 1, ..Outcomes::default() });
    assert_eq!(state_of(&app, &tracking).await, "failed");
}

#[tokio::test]
async fn each_task_status_means_its_delivery_state() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, None).await;
    for (status, state) in [
        ("received", "delivered"),
        ("accepted", "delivered"),
        ("in-progress", "delivered"),
        ("completed", "accepted-by-receiver"),
        ("rejected", "rejected-by-receiver"),
        ("cancelled", "rejected-by-receiver"),
    ] {
        let (tracking, id) = notified_handover(&app, &receiver).await;
        // Updated before it was ever read: the update itself proves the receiver has it.
        let search: Value = app.get(Some(HOME_CARE), "/fhir/Task?status=requested").await.json().await.unwrap();
        let task = search["entry"].as_array().unwrap().iter().find(|e| e["resource"]["id"] == id.as_str()).unwrap();
        let mut task = task["resource"].clone();
        task["status"] = json!(status);
        task["businessStatus"] = json!({ "text": format!("now {status}") });
        if status == "rejected" {
            task["statusReason"] = json!({ "text": "no place for this care need" });
        }
        let response = app.put_task(HOME_CARE, &id, &task, None).await;
        assert_eq!(response.status().as_u16(), 200, "{status}: {}", response.text().await.unwrap());
        assert_eq!(state_of(&app, &tracking).await, state, "{status}");
        let shown = app.task(HOME_CARE, &id).await;
        assert_eq!(shown["status"], status);
        assert_eq!(shown["businessStatus"]["text"], format!("now {status}"));
    }
    // The refusal's reason reaches the sender.
    app.deliver_pending().await;
    let rejected = received_receipt(&hospital, "rejected-by-receiver").to_string();
    assert!(rejected.contains("no place for this care need"), "{rejected}");
    // The search by status and time.
    let search: Value = app.get(Some(HOME_CARE), "/fhir/Task?status=completed,cancelled").await.json().await.unwrap();
    assert_eq!(search["total"], 2);
    let later: Value = app.get(Some(HOME_CARE), "/fhir/Task?_lastUpdated=gt2100-01-01").await.json().await.unwrap();
    assert_eq!(later["total"], 0);
    assert!(later.get("entry").is_none());
    outcome(app.get(Some(HOME_CARE), "/fhir/Task?status=done").await, 400).await;
}

#[tokio::test]
async fn a_patch_moves_the_task_and_an_illegal_move_is_a_conflict() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, None).await;
    let (tracking, id) = notified_handover(&app, &receiver).await;
    let patch = json!([
        { "op": "test", "path": "/meta/versionId", "value": "1" },
        { "op": "replace", "path": "/status", "value": "in-progress" },
        { "op": "add", "path": "/businessStatus", "value": { "text": "bed being prepared" } },
    ]);
    outcome(app.patch_task(HOME_CARE, &id, &patch, FHIR_JSON).await, 415).await;
    let response = app.patch_task(HOME_CARE, &id, &patch, "application/json-patch+json").await;
    assert_eq!(response.status().as_u16(), 200);
    let task: Value = response.json().await.unwrap();
    assert_eq!((task["status"].as_str(), task["meta"]["versionId"].as_str()), (Some("in-progress"), Some("2")));
    assert_eq!(state_of(&app, &tracking).await, "delivered");
    // The same patch again: its test of the version fails.
    outcome(app.patch_task(HOME_CARE, &id, &patch, "application/json-patch+json").await, 422).await;
    let complete = json!([{ "op": "replace", "path": "/status", "value": "completed" }]);
    let response = app.patch_task(HOME_CARE, &id, &complete, "application/json-patch+json").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(state_of(&app, &tracking).await, "accepted-by-receiver");
    // Completed is final: back to in-progress is a conflict, answered with an OperationOutcome.
    let back = json!([{ "op": "replace", "path": "/status", "value": "in-progress" }]);
    let refused = outcome(app.patch_task(HOME_CARE, &id, &back, "application/json-patch+json").await, 409).await;
    assert!(issues_text(&refused).contains("completed"), "{refused}");
    assert_eq!(app.task(HOME_CARE, &id).await["status"], "completed");
    // Receiver -> accepted -> rejected is not a move either.
    let (_, other) = notified_handover(&app, &receiver).await;
    let accept = json!([{ "op": "replace", "path": "/status", "value": "accepted" }]);
    assert_eq!(app.patch_task(HOME_CARE, &other, &accept, "application/json-patch+json").await.status().as_u16(), 200);
    let reject = json!([{ "op": "replace", "path": "/status", "value": "rejected" }]);
    outcome(app.patch_task(HOME_CARE, &other, &reject, "application/json-patch+json").await, 409).await;
}

#[tokio::test]
async fn hostile_task_updates_are_answered_with_an_operation_outcome() {
    let (receiver, hospital) = (NotifiedReceiver::start(), Receiver::plain());
    let app = broker(&receiver, &hospital, None).await;
    let (tracking, id) = notified_handover(&app, &receiver).await;
    let task = app.task(HOME_CARE, &id).await;
    let put = |body: Vec<u8>| {
        let request = app
            .client
            .put(format!("{}/fhir/Task/{id}", app.base))
            .bearer_auth(HOME_CARE)
            .header("Content-Type", FHIR_JSON)
            .body(body);
        async move { request.send().await.unwrap() }
    };
    // Oversized.
    let mut big = task.clone();
    big["businessStatus"] = json!({ "text": "x".repeat(100 * 1024) });
    outcome(put(serde_json::to_vec(&big).unwrap()).await, 413).await;
    // Deeply nested.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    outcome(put(deep.into_bytes()).await, 400).await;
    let nested = format!(
        r#"{{"resourceType":"Task","id":"{id}","status":"accepted","businessStatus":{}1{}}}"#,
        "{\"a\":".repeat(3000),
        "}".repeat(3000)
    );
    outcome(put(nested.into_bytes()).await, 400).await;
    // Not JSON, not a Task, another id.
    outcome(put(b"{\"resourceType\":".to_vec()).await, 400).await;
    let mut patient = task.clone();
    patient["resourceType"] = json!("Patient");
    outcome(put(serde_json::to_vec(&patient).unwrap()).await, 400).await;
    let mut renamed = task.clone();
    renamed["id"] = json!("another");
    outcome(put(serde_json::to_vec(&renamed).unwrap()).await, 400).await;
    // Changing what only the sender's side sets.
    for (field, value) in [
        ("intent", json!("plan")),
        ("owner", json!({ "identifier": { "system": URA, "value": "90000012" } })),
        ("for", json!({ "reference": "Patient/x" })),
        ("input", json!([])),
    ] {
        let mut changed = task.clone();
        changed[field] = value;
        changed["status"] = json!("accepted");
        let refused = outcome(app.put_task(HOME_CARE, &id, &changed, None).await, 422).await;
        assert!(issues_text(&refused).contains(&format!("Task.{field}")), "{refused}");
    }
    // A status no receiver sets, a businessStatus that is no CodeableConcept.
    let mut draft = task.clone();
    draft["status"] = json!("draft");
    outcome(app.put_task(HOME_CARE, &id, &draft, None).await, 422).await;
    let mut odd = task.clone();
    odd["status"] = json!("accepted");
    odd["businessStatus"] = json!("accepted");
    outcome(app.put_task(HOME_CARE, &id, &odd, None).await, 422).await;
    // Versions: If-Match and meta.versionId.
    let mut accepted = task.clone();
    accepted["status"] = json!("accepted");
    outcome(app.put_task(HOME_CARE, &id, &accepted, Some("W/\"7\"")).await, 412).await;
    let mut stale = accepted.clone();
    stale["meta"]["versionId"] = json!("7");
    outcome(app.put_task(HOME_CARE, &id, &stale, None).await, 409).await;
    // Wrong media type, too many patch operations, an unknown Task.
    let response = app
        .client
        .put(format!("{}/fhir/Task/{id}", app.base))
        .bearer_auth(HOME_CARE)
        .header("Content-Type", "text/plain")
        .body("status=completed")
        .send()
        .await
        .unwrap();
    outcome(response, 415).await;
    let many: Vec<Value> = (0..100).map(|_| json!({ "op": "test", "path": "/status", "value": "requested" })).collect();
    outcome(app.patch_task(HOME_CARE, &id, &json!(many), "application/json-patch+json").await, 400).await;
    outcome(app.put_task(HOME_CARE, "not-a-task", &accepted, None).await, 404).await;
    outcome(app.put_task(HOME_CARE, &uuid::Uuid::now_v7().to_string(), &accepted, None).await, 404).await;
    // Nothing of it changed the Task.
    assert_eq!(app.task(HOME_CARE, &id).await["meta"]["versionId"], "1");
    assert_eq!(state_of(&app, &tracking).await, "delivered");
    // The well-formed update still works.
    assert_eq!(app.put_task(HOME_CARE, &id, &accepted, Some("W/\"1\"")).await.status().as_u16(), 200);
}

#[tokio::test]
async fn the_capability_statement_lists_the_notified_pull_interactions() {
    let app = spawn_app().await;
    let metadata: Value = app.get(None, "/fhir/metadata").await.json().await.unwrap();
    let resources = metadata["rest"][0]["resource"].as_array().unwrap();
    let of = |kind: &str| resources.iter().find(|r| r["type"] == kind).unwrap_or_else(|| panic!("no {kind}"));
    let codes: Vec<&str> =
        of("Task")["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["read", "search-type", "update", "patch"]);
    let params: Vec<&str> =
        of("Task")["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["status", "_lastUpdated"]);
    assert_eq!(of("Composition")["operation"][0]["name"], "document");
    assert_eq!(of("Bundle")["interaction"][1]["code"], "read");
    assert_eq!(resources.iter().filter(|r| r["type"] == "Bundle").count(), 1, "one entry per resource type");
}

#[tokio::test]
async fn the_demo_directory_has_a_notified_pull_receiver_that_finds_its_tasks() {
    let app = spawn_app().await;
    let mut bundle = fresh(fixture("nursing-handover-nl.json"));
    header(&mut bundle)["destination"] = json!([destination(URA, "90000017", "http://127.0.0.1:9105/fhir")]);
    let response = app.post_message(HOSPITAL, &bundle).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let found: Value =
        app.get(Some("demo-wijkverpleging-landgraaf"), "/fhir/Task?status=requested").await.json().await.unwrap();
    assert_eq!(found["total"], 1);
    assert_eq!(found["entry"][0]["resource"]["owner"]["identifier"]["value"], "90000017");
}
