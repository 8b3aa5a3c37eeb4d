//! Bad input: every refusal is an OperationOutcome with the right status, and nothing is stored.

use serde_json::json;

use crate::helpers::*;

async fn refused(app: &TestApp, content_type: Option<&str>, body: Vec<u8>, status: u16, needle: &str) {
    let response = app.post_raw(Some(HOSPITAL), content_type, body).await;
    let body = outcome(response, status).await;
    let text = issues_text(&body);
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    assert_eq!(app.store.message_count().await.unwrap(), 0);
    // Every refusal is ledgered, the ones the HTTP edge makes (413, 415) too: the hospital's attempt,
    // with its status as the outcome.
    let tail = app.store.ledger_tail(2).await.unwrap();
    let [received, rejected] = &tail[..] else { panic!("expected two ledger entries, got {tail:?}") };
    assert_eq!((received.event.as_str(), rejected.event.as_str()), ("received", "rejected"));
    assert!(rejected.sender_org.is_some(), "{rejected:?}");
    let outcome = rejected.outcome.as_deref().unwrap_or_default();
    assert!(outcome.starts_with(&status.to_string()), "{outcome:?} for a {status}");
}

#[tokio::test]
async fn an_empty_body_is_a_bad_request() {
    let app = spawn_app().await;
    refused(&app, Some(FHIR_JSON), Vec::new(), 400, "empty").await;
}

#[tokio::test]
async fn a_json_array_is_not_a_bundle() {
    let app = spawn_app().await;
    refused(&app, Some(FHIR_JSON), b"[1,2,3]".to_vec(), 400, "JSON object").await;
}

#[tokio::test]
async fn invalid_utf8_is_a_bad_request() {
    let app = spawn_app().await;
    let mut body = serde_json::to_vec(&discharge()).unwrap();
    let at = body.windows(9).position(|w| w == b"999911120").unwrap();
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    refused(&app, Some(FHIR_JSON), body, 400, "not valid JSON").await;
}

#[tokio::test]
async fn truncated_json_is_a_bad_request() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&discharge()).unwrap();
    refused(&app, Some(FHIR_JSON), body[..body.len() / 2].to_vec(), 400, "ends too early").await;
}

#[tokio::test]
async fn a_body_over_the_10_mb_limit_is_too_large() {
    let app = spawn_app().await;
    // A syntactically plausible 12 MB message: the size alone must refuse it.
    let mut bundle = discharge();
    header(&mut bundle)["text"] = json!({ "status": "generated", "div": "x".repeat(12 * 1024 * 1024) });
    refused(&app, Some(FHIR_JSON), serde_json::to_vec(&bundle).unwrap(), 413, "10485760").await;
}

#[tokio::test]
async fn nesting_10000_deep_is_refused_before_parsing() {
    let app = spawn_app().await;
    let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    refused(&app, Some(FHIR_JSON), body, 400, "too-costly").await;
    let nested =
        format!(r#"{{"resourceType":"Bundle","type":"message","entry":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
    refused(&app, Some(FHIR_JSON), nested.into_bytes(), 400, "limit of 64").await;
}

#[tokio::test]
async fn a_document_bundle_is_not_a_message() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    bundle["type"] = json!("document");
    refused(&app, Some(FHIR_JSON), serde_json::to_vec(&bundle).unwrap(), 400, "Bundle.type").await;
}

#[tokio::test]
async fn another_resource_type_is_not_a_bundle() {
    let app = spawn_app().await;
    let patient = json!({ "resourceType": "Patient", "id": "p1" });
    refused(&app, Some(FHIR_JSON), serde_json::to_vec(&patient).unwrap(), 400, "Bundle.resourceType").await;
}

#[tokio::test]
async fn the_first_entry_must_be_a_message_header() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    bundle["entry"].as_array_mut().unwrap().swap(0, 1);
    refused(&app, Some(FHIR_JSON), serde_json::to_vec(&bundle).unwrap(), 400, "first entry").await;
}

#[tokio::test]
async fn envelope_problems_are_all_reported_with_their_paths() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let h = header(&mut bundle).as_object_mut().unwrap();
    h.remove("id");
    h.remove("eventCoding");
    h.remove("source");
    let response = app.post_message(HOSPITAL, &bundle).await;
    let body = outcome(response, 400).await;
    let expressions: Vec<&str> =
        body["issue"].as_array().unwrap().iter().map(|i| i["expression"][0].as_str().unwrap()).collect();
    assert_eq!(
        expressions,
        [
            "Bundle.entry[0].resource.id",
            "Bundle.entry[0].resource.eventCoding",
            "Bundle.entry[0].resource.source.endpoint"
        ]
    );
}

#[tokio::test]
async fn more_entries_than_the_limit_are_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let filler = json!({ "fullUrl": "urn:uuid:x", "resource": { "resourceType": "Basic" } });
    let entries = bundle["entry"].as_array_mut().unwrap();
    while entries.len() <= 5_000 {
        entries.push(filler.clone());
    }
    refused(&app, Some(FHIR_JSON), serde_json::to_vec(&bundle).unwrap(), 400, "the limit is 5000").await;
}

#[tokio::test]
async fn other_media_types_are_unsupported() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&discharge()).unwrap();
    refused(&app, Some("text/plain"), body.clone(), 415, "text/plain").await;
    refused(&app, None, body.clone(), 415, "(none)").await;
    refused(&app, Some("application/fhir+json; charset=iso-8859-1"), body.clone(), 415, "iso-8859-1").await;
    refused(&app, Some("application/fhir+turtle"), body, 415, "fhir+turtle").await;
}

#[tokio::test]
async fn a_wrong_method_is_not_allowed_and_an_unknown_path_not_found() {
    let app = spawn_app().await;
    outcome(app.get(Some(HOSPITAL), "/fhir/$process-message").await, 405).await;
    outcome(app.get(Some(HOSPITAL), "/fhir/Patient").await, 404).await;
}
