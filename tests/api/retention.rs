//! Payload retention: a message's bytes are purged once all its deliveries have ended and the
//! retention period has passed; its history stays in the ledger, which records the purge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use handover_broker::auth::Role;
use serde_json::{json, Value};

use crate::delivery::accepted;
use crate::helpers::*;
use crate::mailbox::ids;

/// The GP lists its mailbox and acknowledges every message in it.
async fn gp_acknowledges_all(app: &TestApp) -> Vec<String> {
    let page: Value = app.get(Some(GP_HEERLEN), "/fhir/mailbox").await.json().await.unwrap();
    let ids = ids(&page);
    for id in &ids {
        let url = format!("{}/fhir/mailbox/{id}/$acknowledge", app.base);
        let response = app.client.post(url).bearer_auth(GP_HEERLEN).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    ids
}

async fn payload_gone(app: &TestApp, tracking: &handover_broker::model::TrackingId) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.store.payload(tracking).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the payload of {tracking} was not purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_payload_is_purged_once_every_delivery_has_ended_and_its_history_stays() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.retention.payload_secs = 0;
    settings.retention.sweep_secs = 1;
    let app = spawn_with(settings, dir).await;

    // One letter for the GP alone; one for the GP and home care (whose push endpoint never answers here).
    let alone = discharge();
    let tracking_alone = accepted(app.post_message(HOSPITAL, &alone).await).await;
    let mut shared = discharge();
    header(&mut shared)["destination"] = json!([
        destination(URA, "90000012", GP_HEERLEN_MAILBOX),
        destination(URA, "90000013", "http://127.0.0.1:9103/fhir"),
    ]);
    let tracking_shared = accepted(app.post_message(HOSPITAL, &shared).await).await;
    let sha256 = app.store.message(&tracking_alone).await.unwrap().unwrap().payload_sha256;

    let delivered = gp_acknowledges_all(&app).await;
    assert_eq!(delivered.len(), 2);
    payload_gone(&app, &tracking_alone).await;
    // The sweep that purged the first looked at the second too: home care has not got it yet, so it stays.
    assert!(app.store.payload(&tracking_shared).await.unwrap().is_some());

    // The history stays, ends with the purge (naming the bytes by their hash), and the chain holds.
    let entries = app.store.ledger_for_message(&tracking_alone).await.unwrap();
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events.first(), Some(&"received"));
    assert_eq!(events.last(), Some(&"purged"), "{events:?}");
    assert_eq!(events.iter().filter(|e| **e == "purged").count(), 1, "purged once: {events:?}");
    assert_eq!(entries.last().unwrap().payload_sha256.as_deref(), Some(sha256.as_str()));
    assert!(app.store.verify_ledger().await.unwrap().ok);
    let receipt = app.receipt(HOSPITAL, &tracking_alone).await;
    assert_eq!(receipt.status().as_u16(), 200, "the sender still sees what happened");

    // The GP downloading it again: 410 Gone, said in an OperationOutcome; the other one is still there.
    let gp_copy = |tracking: &handover_broker::model::TrackingId| {
        let store = app.store.clone();
        let tracking = tracking.clone();
        async move {
            let deliveries = store.deliveries(&tracking).await.unwrap();
            deliveries.into_iter().find(|d| d.receiver_org == "gp-heerlen").unwrap().delivery_id
        }
    };
    let again = app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{}", gp_copy(&tracking_alone).await)).await;
    let gone = outcome(again, 410).await;
    assert_eq!(gone["issue"][0]["code"], "deleted");
    let kept = app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{}", gp_copy(&tracking_shared).await)).await;
    assert_eq!(kept.status().as_u16(), 200);

    // The hospital resending it: a conflict that says why it cannot be recognised.
    let resend = outcome(app.post_message(HOSPITAL, &alone).await, 409).await;
    assert!(issues_text(&resend).contains("purged"), "{resend}");

    // Auditors see the purge as a delete.
    let auditor = token_with_role(&app, Role::Auditor).await;
    let found: Value = app.get(Some(&auditor), "/fhir/AuditEvent?event=purged").await.json().await.unwrap();
    assert_eq!(found["entry"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["entry"][0]["resource"]["action"], "D");
}

#[tokio::test]
async fn a_payload_stays_until_the_retention_period_has_passed() {
    let app = spawn_app().await;
    let tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    gp_acknowledges_all(&app).await;

    let mut retention = handover_broker::config::Settings::load(None).unwrap().retention;
    retention.payload_secs = 3600;
    assert_eq!(handover_broker::retention::purge_due(&app.store, &retention).await.unwrap(), (0, 0));
    assert!(app.store.payload(&tracking).await.unwrap().is_some());

    // The hospital's receipt is still queued for its push endpoint: it stays.
    retention.payload_secs = 0;
    assert_eq!(handover_broker::retention::purge_due(&app.store, &retention).await.unwrap(), (1, 0));
    assert!(app.store.payload(&tracking).await.unwrap().is_none());
    // Nothing is purged twice.
    assert_eq!(handover_broker::retention::purge_due(&app.store, &retention).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_receipt_is_purged_once_its_addressee_has_it_and_a_refused_download_says_so() {
    let app = spawn_app().await;
    // The GP refers to the triage point; both pull from their mailboxes.
    let mut referral = fresh(fixture("referral-nl.json"));
    header(&mut referral)["destination"] = json!([destination(
        "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization",
        "10000000300",
        "https://fhir.handover-broker.eu/mailbox/triage-westkust",
    )]);
    let tracking = accepted(app.post_message(GP_HEERLEN, &referral).await).await;
    let triage = "demo-triage-westkust";
    let delivery = app.store.deliveries(&tracking).await.unwrap().remove(0).delivery_id;
    let ack = |token: &'static str, id: handover_broker::model::DeliveryId| {
        let (client, url) = (app.client.clone(), format!("{}/fhir/mailbox/{id}/$acknowledge", app.base));
        async move { client.post(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ack(triage, delivery).await, 200);
    // The GP's delivered receipt, from its mailbox.
    let receipts = gp_acknowledges_all(&app).await;
    assert_eq!(receipts.len(), 1);

    let mut retention = handover_broker::config::Settings::load(None).unwrap().retention;
    retention.payload_secs = 0;
    assert_eq!(handover_broker::retention::purge_due(&app.store, &retention).await.unwrap(), (1, 1));
    let again = app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{}", receipts[0])).await;
    assert_eq!(outcome(again, 410).await["issue"][0]["code"], "deleted");

    let entries = app.store.ledger_for_message(&tracking).await.unwrap();
    let purges = entries.iter().filter(|e| e.event.as_str() == "purged").count();
    assert_eq!(purges, 2, "the referral's payload and the receipt's");
    let last = entries.last().unwrap();
    assert_eq!(last.event.as_str(), "mailbox-read");
    assert!(last.outcome.as_deref().is_some_and(|o| o.ends_with("410 purged")), "{:?}", last.outcome);
    assert!(app.store.verify_ledger().await.unwrap().ok);
}
