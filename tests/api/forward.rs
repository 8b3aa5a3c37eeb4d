//! The regional triage point forwards a care request from its mailbox: the broker builds the message,
//! the clinical entries arrive unchanged, the original leaves the triage point's mailbox, and only a
//! triage point may forward.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::mailbox::ids;

const ZORGPUNT: &str = "demo-zorgpunt-zuid-limburg";
const HOOGVELD: &str = "demo-vpl-hoogveld";

fn parameters(receivers: &[&str], extra: Value) -> Value {
    let mut parameter: Vec<Value> = receivers
        .iter()
        .map(|ura| json!({ "name": "receiver", "valueIdentifier": { "system": URA, "value": ura } }))
        .collect();
    parameter.extend(extra.as_array().cloned().unwrap_or_default());
    json!({ "resourceType": "Parameters", "parameter": parameter })
}

async fn mailbox(app: &TestApp, token: &str) -> Value {
    let response = app.get(Some(token), "/fhir/mailbox").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// The GP's care request, waiting in the triage point's mailbox: (the request as sent, its mailbox id).
async fn care_request_at_the_triage_point(app: &TestApp) -> (Value, String) {
    let request = fresh(fixture("care-request-nl.json"));
    let response = app.post_message(GP_HEERLEN, &request).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let page = mailbox(app, ZORGPUNT).await;
    let [id]: [String; 1] = ids(&page).try_into().unwrap();
    (request, id)
}

fn entries_after_the_header(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().unwrap()[1..].to_vec()
}

#[tokio::test]
async fn a_triage_point_forwards_a_care_request_with_its_clinical_content_unchanged() {
    let app = spawn_app().await;
    let (request, id) = care_request_at_the_triage_point(&app).await;

    let note =
        json!([{ "name": "mode", "valueCode": "all" }, { "name": "note", "valueString": "Kamer op de begane grond." }]);
    let path = format!("/fhir/mailbox/{id}/$forward");
    let response = app.post_json(Some(ZORGPUNT), &path, &parameters(&["90000015"], note)).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let forwarded_tracking = tracking_id(&response.json().await.unwrap());

    // The nursing home has the forwarded message: the triage point as sender, linked to the original,
    // every entry of the GP's request unchanged, and the note.
    let page = mailbox(&app, HOOGVELD).await;
    let [item]: [String; 1] = ids(&page).try_into().unwrap();
    let forwarded: Value = app.get(Some(HOOGVELD), &format!("/fhir/mailbox/{item}")).await.json().await.unwrap();
    let header = &forwarded["entry"][0]["resource"];
    assert_eq!(header["sender"]["identifier"]["value"], "90000014");
    assert_eq!(header["destination"][0]["receiver"]["identifier"]["value"], "90000015");
    assert_eq!(header["extension"][0]["url"], handover_broker::forward::FORWARDED_FROM_URL);
    let mut kept = entries_after_the_header(&forwarded);
    let note = kept.pop().unwrap();
    assert_eq!(note["resource"]["resourceType"], "Communication");
    assert_eq!(note["resource"]["payload"][0]["contentString"], "Kamer op de begane grond.");
    assert_eq!(kept, entries_after_the_header(&request));

    // The original left the triage point's mailbox as delivered; the forwarded message has its receipt.
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 0);
    let receipt = app.receipt(ZORGPUNT, forwarded_tracking.as_str()).await;
    assert_eq!(receipt.status().as_u16(), 200);
}

#[tokio::test]
async fn only_a_triage_point_forwards_and_only_what_it_received() {
    let app = spawn_app().await;
    let (_, id) = care_request_at_the_triage_point(&app).await;
    let body = parameters(&["90000015"], json!([]));

    // The nursing home is no triage point, and the item is not in its mailbox anyway.
    let refused = app.post_json(Some(HOOGVELD), &format!("/fhir/mailbox/{id}/$forward"), &body).await;
    assert_eq!(refused.status().as_u16(), 403);
    let said = outcome(refused, 403).await;
    assert!(issues_text(&said).contains("triage point"), "{said}");
    // Another triage point cannot forward the Zorgpunt's item: not found (its mailbox holds no such id).
    let other = app.post_json(Some("demo-triage-westkust"), &format!("/fhir/mailbox/{id}/$forward"), &body).await;
    assert_eq!(other.status().as_u16(), 404);
    // Without a token: 401.
    assert_eq!(app.post_json(None, &format!("/fhir/mailbox/{id}/$forward"), &body).await.status().as_u16(), 401);
    // Nothing was forwarded: the request still waits at the triage point.
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 1);
}

#[tokio::test]
async fn a_bad_forwarding_request_is_refused_with_its_expression_and_nothing_moves() {
    let app = spawn_app().await;
    let (_, id) = care_request_at_the_triage_point(&app).await;
    let path = format!("/fhir/mailbox/{id}/$forward");
    let long_note = "x".repeat(handover_broker::forward::MAX_NOTE_CHARS + 1);
    let too_many: Vec<&str> = vec!["90000015"; handover_broker::forward::MAX_RECEIVERS + 1];
    for (body, at) in [
        (parameters(&[], json!([])), "Parameters.parameter"),
        (parameters(&["99999999"], json!([])), "Parameters.parameter[0].valueIdentifier"),
        (parameters(&too_many, json!([])), "Parameters.parameter"),
        (
            parameters(&["90000015"], json!([{ "name": "mode", "valueCode": "first-accept" }])),
            "Parameters.parameter[1].valueCode",
        ),
        (
            parameters(&["90000015"], json!([{ "name": "mode", "valueCode": "some" }])),
            "Parameters.parameter[1].valueCode",
        ),
        (
            parameters(&["90000015"], json!([{ "name": "priority", "valueCode": "stat" }])),
            "Parameters.parameter[1].name",
        ),
        (json!({ "resourceType": "Bundle" }), "Parameters"),
        (
            json!({ "resourceType": "Parameters", "parameter": [{ "name": "receiver", "valueString": "90000015" }] }),
            "Parameters.parameter[0].valueIdentifier",
        ),
    ] {
        let said = outcome(app.post_json(Some(ZORGPUNT), &path, &body).await, 422).await;
        assert!(said["issue"].as_array().unwrap().iter().any(|i| i["expression"][0] == at), "{at}: {said}");
    }
    let note = json!([{ "name": "note", "valueString": long_note }]);
    outcome(app.post_json(Some(ZORGPUNT), &path, &parameters(&["90000015"], note)).await, 422).await;
    let not_json = app.post_fhir_bytes(Some(ZORGPUNT), &path, "{not json").await;
    assert_eq!(not_json.status().as_u16(), 422);
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 1, "nothing moved");
    assert_eq!(mailbox(&app, HOOGVELD).await["total"], 0);
}
