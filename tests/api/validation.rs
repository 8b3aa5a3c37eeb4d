//! Completeness validation: every rule fires on its fixture with the right expression, never on the
//! complete handovers; `$validate` is a dry run; `$process-message` refuses with 422 and stores nothing.

use std::collections::HashMap;

use serde_json::Value;

use crate::helpers::*;

/// Demo token of the organisation that sends `bundle` (by its MessageHeader.sender identifier).
fn sender_token(bundle: &Value) -> String {
    let directory: Value =
        serde_json::from_slice(&std::fs::read(project_dir().join("fixtures/demo-directory.json")).unwrap()).unwrap();
    let sender = &bundle["entry"][0]["resource"]["sender"]["identifier"];
    let org = directory["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| {
            r["resourceType"] == "Organization"
                && r["identifier"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["system"] == sender["system"] && i["value"] == sender["value"])
        })
        .expect("the sender is a demo organisation");
    format!("demo-{}", org["id"].as_str().unwrap())
}

fn complete_fixtures() -> Vec<(String, Value)> {
    ["discharge-summary.json", "nursing-handover.json", "referral.json", "admission-handover.json"]
        .into_iter()
        .map(|name| (name.to_owned(), fixture(name)))
        .collect()
}

fn incomplete_fixtures() -> Vec<(String, Value, Value)> {
    let dir = project_dir().join("fixtures/handovers/incomplete");
    let expected: HashMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut all: Vec<(String, Value, Value)> = expected
        .into_iter()
        .map(|(name, want)| {
            let bundle = serde_json::from_slice(&std::fs::read(dir.join(&name)).unwrap()).unwrap();
            (name, bundle, want)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 20, "every rule has its fixture");
    all
}

async fn validate(app: &TestApp, token: &str, bundle: &Value) -> Value {
    let response = app
        .client
        .post(format!("{}/fhir/$validate", app.base))
        .bearer_auth(token)
        .header("Content-Type", FHIR_JSON)
        .body(serde_json::to_vec(bundle).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn errors(outcome: &Value) -> Vec<&Value> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
        .collect()
}

#[tokio::test]
async fn the_complete_handovers_of_every_kind_pass_and_are_accepted() {
    let app = spawn_app().await;
    for (name, bundle) in complete_fixtures() {
        let token = sender_token(&bundle);
        let outcome = validate(&app, &token, &bundle).await;
        assert!(errors(&outcome).is_empty(), "{name}: {}", issues_text(&outcome));
        let response = app.post_message(&token, &bundle).await;
        assert_eq!(response.status().as_u16(), 202, "{name}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), 4);
}

#[tokio::test]
async fn every_rule_fires_on_its_fixture_with_its_expression() {
    let app = spawn_app().await;
    for (name, bundle, want) in incomplete_fixtures() {
        let token = sender_token(&bundle);
        let outcome = validate(&app, &token, &bundle).await;
        let (code, expression) = (want["code"].as_str().unwrap(), want["expression"].as_str().unwrap());
        let hit = errors(&outcome).into_iter().any(|i| i["code"] == code && i["expression"][0] == expression);
        assert!(hit, "{name}: expected {code} at {expression}, got:\n{}", issues_text(&outcome));
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0, "$validate stores nothing");
}

#[tokio::test]
async fn an_incomplete_handover_is_refused_with_422_and_nothing_is_routed() {
    let app = spawn_app().await;
    for (name, bundle, want) in incomplete_fixtures() {
        let token = sender_token(&bundle);
        let body = outcome(app.post_message(&token, &bundle).await, 422).await;
        assert!(issues_text(&body).contains(want["expression"].as_str().unwrap()), "{name}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0);
    let tail = app.store.ledger_tail(2).await.unwrap();
    assert_eq!(tail[1].event.as_str(), "rejected");
    assert_eq!(tail[1].outcome.as_deref(), Some("422 incomplete"));
}

#[tokio::test]
async fn validate_reports_envelope_and_routing_problems_too() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] =
        serde_json::json!([destination(URA, "12345678", "https://unknown.example/fhir")]);
    let outcome = validate(&app, HOSPITAL, &bundle).await;
    assert!(issues_text(&outcome).contains("12345678"));
    let response = app
        .client
        .post(format!("{}/fhir/$validate", app.base))
        .bearer_auth(HOSPITAL)
        .header("Content-Type", FHIR_JSON)
        .body("[1]")
        .send()
        .await
        .unwrap();
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(errors(&outcome).len(), 1);
    outcome_is_401_without_token(&app).await;
}

async fn outcome_is_401_without_token(app: &TestApp) {
    let response = app.client.post(format!("{}/fhir/$validate", app.base)).body("{}").send().await.unwrap();
    outcome(response, 401).await;
}
