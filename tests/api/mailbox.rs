//! The pull mailbox: list, download, acknowledge; only the addressee sees its messages; expiry.

use serde_json::Value;

use crate::delivery::{
    accepted, delivered, expired, queued, receipts, schedule, sleep_until, stepped_broker, Receiver,
};
use crate::helpers::*;

const GP_BRUGGE: &str = "demo-gp-brugge";

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get(Some(token), &format!("/fhir/mailbox{query}")).await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// The ids of the messages listed on a mailbox page.
pub fn ids(page: &Value) -> Vec<String> {
    page["entry"]
        .as_array()
        .map(|entries| {
            entries.iter().map(|e| e["fullUrl"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect()
        })
        .unwrap_or_default()
}

async fn acknowledge(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.client.post(format!("{}/fhir/mailbox/{id}/$acknowledge", app.base)).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn a_gp_lists_downloads_and_acknowledges_its_discharge_letter() {
    let app = spawn_app().await;
    let bundle = discharge();
    let sent = serde_json::to_vec_pretty(&bundle).unwrap();
    let tracking = accepted(app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), sent.clone()).await).await;

    let page = list(&app, GP_HEERLEN, "").await;
    assert_eq!(page["type"], "searchset");
    assert_eq!(page["total"], 1);
    assert_eq!(page["entry"][0]["resource"], bundle, "the entry is the message as accepted");
    let id = ids(&page).remove(0);

    // Download: the exact bytes. Downloading does not acknowledge.
    let response = app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{id}")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), sent.as_slice());
    assert_eq!(list(&app, GP_HEERLEN, "").await["total"], 1);
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "queued");

    // Acknowledge: delivered for the sender, gone from the list; again: the same answer, nothing changes.
    let first = acknowledge(&app, GP_HEERLEN, &id).await;
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.text().await.unwrap().contains("acknowledged"));
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "delivered");
    assert_eq!(list(&app, GP_HEERLEN, "").await["total"], 0);
    let again = acknowledge(&app, GP_HEERLEN, &id).await;
    assert_eq!(again.status().as_u16(), 200);
    assert!(again.text().await.unwrap().contains("already acknowledged"));

    // Every read and the acknowledgement are in the ledger, by the GP.
    let ledger = app.store.ledger_for_message(&tracking).await.unwrap();
    let by_gp = |event: &str| {
        ledger.iter().filter(|e| e.event.as_str() == event && e.actor_org.as_deref() == Some("gp-heerlen")).count()
    };
    assert_eq!(by_gp("mailbox-read"), 3, "two listings and one download");
    assert_eq!(by_gp("acknowledged"), 1);
    assert!(ledger.iter().any(|e| e.event.as_str() == "delivered"));
    assert!(ledger.iter().any(|e| e.event.as_str() == "receipt-created" && e.outcome.as_deref() == Some("delivered")));
}

#[tokio::test]
async fn another_organisation_cannot_see_read_or_acknowledge_a_message() {
    let app = spawn_app().await;
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let id = ids(&list(&app, GP_HEERLEN, "").await).remove(0);
    assert_eq!(list(&app, GP_BRUGGE, "").await["total"], 0);
    for token in [GP_BRUGGE, HOSPITAL] {
        let read = app.get(Some(token), &format!("/fhir/mailbox/{id}")).await;
        assert_eq!(read.status().as_u16(), 404, "not 403: ids leak nothing");
        assert_eq!(acknowledge(&app, token, &id).await.status().as_u16(), 404);
    }
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{unknown}")).await.status().as_u16(), 404);
    assert_eq!(app.get(None, "/fhir/mailbox").await.status().as_u16(), 401);
    assert_eq!(list(&app, GP_HEERLEN, "").await["total"], 1, "still waiting for its addressee");
}

#[tokio::test]
async fn an_unacknowledged_letter_expires_and_the_hospital_gets_a_non_delivery_receipt() {
    let hospital = Receiver::plain();
    let app = stepped_broker(&[("zzl-hospital", &hospital.address)], |s| s.message_ttl_secs = 1).await;
    let bundle = discharge();
    let tracking = accepted(app.post_message(HOSPITAL, &bundle).await).await;
    let id = ids(&list(&app, GP_HEERLEN, "").await).remove(0);
    assert!(app.deliver_pending().await.is_empty(), "a mailbox delivery is not pushed");
    sleep_until(schedule(&app, &tracking).await.expires_at).await;
    assert_eq!(app.deliver_pending().await.handovers, expired(1));
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "expired");
    assert_eq!(list(&app, GP_HEERLEN, "").await["total"], 0, "an expired letter leaves the mailbox");
    assert_eq!(acknowledge(&app, GP_HEERLEN, &id).await.status().as_u16(), 409);
    assert_eq!(app.deliver_pending().await.receipts, delivered(1));
    let receipts = receipts(&hospital);
    assert_eq!(receipts.len(), 1);
    assert_eq!((receipts[0].0.as_str(), receipts[0].1.as_str()), ("expired", "fatal-error"));
    assert_eq!(receipts[0].2["entry"][0]["resource"]["response"]["identifier"], bundle["entry"][0]["resource"]["id"]);
    // The receipt itself never expires into another receipt: nothing is left queued that could, however
    // long we wait.
    assert_eq!(queued(&app).await, 0, "nothing left to push or expire");
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(hospital.state.got().len(), 1);
}
