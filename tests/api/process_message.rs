//! `POST /fhir/$process-message`: acceptance, routing refusals, and what is stored.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_complete_handover_is_acknowledged_after_commit_and_stored_byte_identical() {
    let app = spawn_app().await;
    let bundle = discharge();
    let body = serde_json::to_vec_pretty(&bundle).unwrap();
    let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), body.clone()).await;

    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let ack_bytes = response.bytes().await.unwrap();
    let ack: Value = serde_json::from_slice(&ack_bytes).unwrap();
    assert_eq!(ack["resourceType"], "Bundle");
    assert_eq!(ack["type"], "message");
    let ack_header = &ack["entry"][0]["resource"];
    assert_eq!(ack_header["resourceType"], "MessageHeader");
    assert_eq!(ack_header["response"]["identifier"], bundle["entry"][0]["resource"]["id"]);
    assert_eq!(ack_header["response"]["code"], "ok");
    assert_eq!(ack_header["eventCoding"]["code"], "discharge-summary");
    assert_eq!(ack_header["destination"][0]["receiver"]["identifier"]["value"], "90000011");
    let tracking = tracking_id(&ack);
    assert_eq!(location, format!("/fhir/receipts/{tracking}"));
    // Well-formed for a FHIR library that did not write it.
    let (kind, bundle_type) = handover_fhir::parse_bundle_type(&ack_bytes).unwrap();
    assert_eq!((kind.as_str(), bundle_type.as_deref()), ("Bundle", Some("message")));

    // Committed before the answer: the message, its bytes exactly, one queued delivery.
    assert_eq!(app.store.message_count().await.unwrap(), 1);
    assert_eq!(app.store.payload(&tracking).await.unwrap(), Some(body));
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].receiver_org, "gp-heerlen");
    assert_eq!(deliveries[0].state.as_str(), "queued");
}

#[tokio::test]
async fn application_json_with_utf8_charset_is_accepted_as_a_synonym() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&discharge()).unwrap();
    let response = app.post_raw(Some(HOSPITAL), Some("application/json; charset=UTF-8"), body).await;
    assert_eq!(response.status().as_u16(), 202);
}

#[tokio::test]
async fn every_receiver_gets_one_delivery_and_the_ledger_records_each_step() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([
        destination(URA, "90000012", GP_HEERLEN_MAILBOX),
        destination(URA, "90000013", "http://127.0.0.1:9103/fhir"),
        destination(NIHDI, "10000000200", "http://127.0.0.1:9104/fhir"),
        destination(URA, "90000012", GP_HEERLEN_MAILBOX),
    ]);
    let response = app.post_message(HOSPITAL, &bundle).await;
    assert_eq!(response.status().as_u16(), 202);
    let tracking = tracking_id(&response.json().await.unwrap());

    let mut receivers: Vec<String> =
        app.store.deliveries(&tracking).await.unwrap().into_iter().map(|d| d.receiver_org.to_string()).collect();
    receivers.sort();
    assert_eq!(receivers, ["gp-heerlen", "thuiszorg-parkstad", "wzc-de-duinen"]);
    let events: Vec<&str> =
        app.store.ledger_for_message(&tracking).await.unwrap().iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["received", "accepted", "routed", "routed", "routed"]);
}

async fn assert_refused(app: &TestApp, token: &str, bundle: &Value, status: u16, expected: &[&str]) -> Value {
    let body = outcome(app.post_message(token, bundle).await, status).await;
    let text = issues_text(&body);
    for needle in expected {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0, "a refused message must not be stored");
    body
}

#[tokio::test]
async fn an_unknown_receiver_is_refused_naming_it() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([destination(URA, "12345678", "https://unknown.example/fhir")]);
    assert_refused(&app, HOSPITAL, &bundle, 422, &["not-found", "12345678", "destination[0].receiver"]).await;
}

#[tokio::test]
async fn a_receiver_that_does_not_accept_the_kind_is_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    // The hospital takes referrals and admissions, not discharge summaries.
    header(&mut bundle)["destination"] = json!([destination(URA, "90000011", "http://127.0.0.1:9101/fhir")]);
    assert_refused(&app, HOSPITAL, &bundle, 422, &["business-rule", "does not accept discharge-summary"]).await;
}

#[tokio::test]
async fn all_unroutable_destinations_are_reported_at_once() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([
        destination(URA, "00000001", "https://unknown.example/fhir"),
        destination(URA, "90000012", GP_HEERLEN_MAILBOX),
        { "endpoint": "https://x.example" },
    ]);
    let body =
        assert_refused(&app, HOSPITAL, &bundle, 422, &["destination[0].receiver", "destination[2].receiver"]).await;
    assert_eq!(body["issue"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_destination_endpoint_other_than_the_registered_one_is_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"][0]["endpoint"] = json!("https://attacker.example/fhir");
    assert_refused(&app, HOSPITAL, &bundle, 422, &["destination[0].endpoint", "registered"]).await;
}

#[tokio::test]
async fn a_message_without_destination_is_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle).as_object_mut().unwrap().remove("destination");
    assert_refused(&app, HOSPITAL, &bundle, 422, &["required", "destination"]).await;
}

#[tokio::test]
async fn an_unknown_event_is_not_supported() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["eventCoding"]["code"] = json!("lab-result");
    assert_refused(&app, HOSPITAL, &bundle, 422, &["not-supported", "lab-result", "eventCoding"]).await;
}

#[tokio::test]
async fn a_sender_cannot_post_as_another_organisation() {
    let app = spawn_app().await;
    let bundle = discharge();
    // The home-care organisation's token, the hospital's message.
    assert_refused(&app, HOME_CARE, &bundle, 403, &["forbidden", "sender", "thuiszorg-parkstad"]).await;
}

#[tokio::test]
async fn a_sender_unknown_to_the_directory_is_forbidden() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["sender"] = identifier_ref(URA, "99999999");
    assert_refused(&app, HOSPITAL, &bundle, 403, &["forbidden", "99999999"]).await;
}

#[tokio::test]
async fn a_message_without_sender_is_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle).as_object_mut().unwrap().remove("sender");
    assert_refused(&app, HOSPITAL, &bundle, 422, &["required", "sender"]).await;
}

#[tokio::test]
async fn a_sender_given_by_reference_to_an_organization_entry_is_resolved() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    // The fixture's hospital Organization entry carries the URA; point the sender at it.
    let org_url = bundle["entry"][entry_of(&bundle, "Organization")]["fullUrl"].clone();
    header(&mut bundle)["sender"] = json!({ "reference": org_url });
    assert_eq!(app.post_message(HOSPITAL, &bundle).await.status().as_u16(), 202);
}

#[tokio::test]
async fn a_token_of_another_role_cannot_send() {
    let app = spawn_app().await;
    let auditor = handover_broker::auth::issue_token(
        &app.store,
        &handover_broker::model::OrgIdentifier::new(URA, "90000011").unwrap(),
        handover_broker::auth::Role::Auditor,
    )
    .await
    .unwrap();
    assert_refused(&app, &auditor.token, &discharge(), 403, &["role sender"]).await;
}

#[tokio::test]
async fn a_response_to_a_message_never_addressed_to_the_caller_is_forbidden() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["response"] = json!({ "identifier": uuid::Uuid::new_v4().to_string(), "code": "ok" });
    assert_refused(&app, HOSPITAL, &bundle, 403, &["forbidden", "response.identifier"]).await;
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_refusal_is_in_the_ledger_without_patient_data() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let header_id = header(&mut bundle)["id"].as_str().unwrap().to_owned();
    header(&mut bundle)["destination"] = json!([destination(URA, "12345678", "https://unknown.example/fhir")]);
    let sent = serde_json::to_vec(&bundle).unwrap();
    let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), sent.clone()).await;
    assert_eq!(response.status().as_u16(), 422);

    let tail = app.store.ledger_tail(2).await.unwrap();
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[0].event.as_str(), "received");
    assert_eq!(tail[1].event.as_str(), "rejected");
    assert_eq!(tail[1].outcome.as_deref(), Some("422 unroutable"));
    assert_eq!(tail[0].header_id.as_deref(), Some(header_id.as_str()));
    assert_eq!(tail[0].actor_org.as_deref(), Some("zzl-hospital"));
    let expected_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&sent))
    };
    assert_eq!(tail[0].payload_sha256.as_deref(), Some(expected_hash.as_str()));
    let all = format!("{tail:?}");
    assert!(!all.contains("999911120"), "the ledger must not hold the patient's BSN");
}
