//! `GET /fhir/receipts/{tracking-id}`: only the sender sees it.

use serde_json::Value;

use crate::helpers::*;

fn param<'a>(params: &'a Value, name: &str) -> Vec<&'a Value> {
    params["parameter"].as_array().unwrap().iter().filter(|p| p["name"] == name).collect()
}

fn part<'a>(param: &'a Value, name: &str) -> &'a Value {
    param["part"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()
}

#[tokio::test]
async fn the_sender_sees_the_message_and_each_delivery_with_timestamps() {
    let app = spawn_app().await;
    let bundle = discharge();
    let ack: Value = app.post_message(HOSPITAL, &bundle).await.json().await.unwrap();
    let tracking = tracking_id(&ack);

    let response = app.receipt(HOSPITAL, &tracking).await;
    assert_eq!(response.status().as_u16(), 200);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["resourceType"], "Parameters");
    assert_eq!(param(&receipt, "trackingId")[0]["valueId"], tracking.as_str());
    assert_eq!(param(&receipt, "messageHeaderId")[0]["valueId"], bundle["entry"][0]["resource"]["id"]);
    assert_eq!(param(&receipt, "state")[0]["valueCode"], "accepted");
    let history: Vec<&Value> = param(&receipt, "history").iter().map(|h| &part(h, "event")["valueCode"]).collect();
    assert_eq!(history, ["received", "accepted"]);

    let deliveries = param(&receipt, "delivery");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(part(deliveries[0], "state")["valueCode"], "queued");
    assert_eq!(part(deliveries[0], "receiver")["valueIdentifier"]["value"], "90000012");
    assert_eq!(part(deliveries[0], "attempts")["valueInteger"], 0);
    let routed = deliveries[0]["part"].as_array().unwrap().iter().find(|p| p["name"] == "history").unwrap();
    assert_eq!(part(routed, "event")["valueCode"], "routed");
    assert!(part(routed, "at")["valueInstant"].as_str().unwrap().starts_with("20"));
}

#[tokio::test]
async fn another_organisation_is_told_the_receipt_does_not_exist() {
    let app = spawn_app().await;
    let ack: Value = app.post_message(HOSPITAL, &discharge()).await.json().await.unwrap();
    let tracking = tracking_id(&ack);
    // Even the receiver: receipts are the sender's.
    outcome(app.receipt(GP_HEERLEN, &tracking).await, 404).await;
    outcome(app.receipt(HOSPITAL, &uuid::Uuid::new_v4().to_string()).await, 404).await;
    outcome(app.receipt(HOSPITAL, "not-a-tracking-id").await, 404).await;
    outcome(app.get(None, &format!("/fhir/receipts/{tracking}")).await, 401).await;
}
