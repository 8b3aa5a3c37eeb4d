//! Deduplication (DESIGN.md section 3): key (sender, MessageHeader.id), content by the entries' hash.

use serde_json::{json, Value};

use crate::helpers::*;

async fn accept(app: &TestApp, token: &str, bundle: &Value) -> (u16, Vec<u8>) {
    let response = app.post_message(token, bundle).await;
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_identical_resubmission_gets_the_original_acknowledgement_and_creates_nothing() {
    let app = spawn_app().await;
    let bundle = discharge();
    let (first, ack) = accept(&app, HOSPITAL, &bundle).await;
    let (second, again) = accept(&app, HOSPITAL, &bundle).await;
    assert_eq!((first, second), (202, 200));
    assert_eq!(ack, again);
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_resend_with_new_bundle_id_timestamp_meta_and_formatting_is_the_same_message() {
    let app = spawn_app().await;
    let bundle = discharge();
    let (_, ack) = accept(&app, HOSPITAL, &bundle).await;

    let mut resend = bundle.clone();
    resend["id"] = json!(uuid::Uuid::new_v4().to_string());
    resend["timestamp"] = json!("2026-11-22T23:59:59+01:00");
    resend["meta"] = json!({ "lastUpdated": "2026-11-22T23:59:59+01:00" });
    // Pretty-printed, and serde_json writes keys sorted here: different bytes, same entries.
    let body = serde_json::to_vec_pretty(&resend).unwrap();
    let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), body).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), ack);
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn the_same_message_id_with_other_content_is_a_conflict() {
    let app = spawn_app().await;
    let bundle = discharge();
    assert_eq!(accept(&app, HOSPITAL, &bundle).await.0, 202);
    let mut changed = bundle.clone();
    changed["id"] = json!(uuid::Uuid::new_v4().to_string());
    changed["entry"][1]["resource"]["title"] = json!("Ontslagbrief (gewijzigd)");
    let body = outcome(app.post_message(HOSPITAL, &changed).await, 409).await;
    assert!(issues_text(&body).contains("MessageHeader.id"));
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_bundle_id_reused_for_another_message_is_a_conflict() {
    let app = spawn_app().await;
    let bundle = discharge();
    assert_eq!(accept(&app, HOSPITAL, &bundle).await.0, 202);
    let mut other = discharge();
    other["id"] = bundle["id"].clone();
    let body = outcome(app.post_message(HOSPITAL, &other).await, 409).await;
    assert!(issues_text(&body).contains("Bundle.id"));
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn message_ids_are_scoped_to_their_sender() {
    let app = spawn_app().await;
    let discharge = discharge();
    let mut referral = fresh(fixture("referral-nl.json"));
    referral["entry"][0]["resource"]["id"] = discharge["entry"][0]["resource"]["id"].clone();
    referral["id"] = discharge["id"].clone();
    assert_eq!(accept(&app, HOSPITAL, &discharge).await.0, 202);
    assert_eq!(accept(&app, GP_HEERLEN, &referral).await.0, 202);
    assert_eq!(app.store.message_count().await.unwrap(), 2);
}

#[tokio::test]
async fn fifty_concurrent_identical_submissions_store_one_message_and_get_one_acknowledgement() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&discharge()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (client, url, body) = (app.client.clone(), format!("{}/fhir/$process-message", app.base), body.clone());
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(HOSPITAL)
                .header("Content-Type", FHIR_JSON)
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let created = results.iter().filter(|(status, _)| *status == 202).count();
    let replayed = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((created, replayed), (1, 49), "exactly one submission creates the message");
    assert!(results.iter().all(|(_, ack)| ack == &results[0].1), "every submitter gets the same acknowledgement");
    assert_eq!(app.store.message_count().await.unwrap(), 1);
    let ack: Value = serde_json::from_slice(&results[0].1).unwrap();
    assert_eq!(app.store.deliveries(&tracking_id(&ack)).await.unwrap().len(), 1);
}
