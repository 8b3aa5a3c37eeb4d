//! Bearer tokens: issued, checked, revoked; stored only as hashes; demo tokens only in demo mode.

use handover_broker::auth::{issue_token, revoke, Role};
use handover_broker::model::OrgIdentifier;

use crate::helpers::*;

#[tokio::test]
async fn requests_without_valid_credentials_get_401_with_an_operation_outcome() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&discharge()).unwrap();
    for token in [None, Some("not-a-token"), Some("")] {
        let response = app.post_raw(token, Some(FHIR_JSON), body.clone()).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        outcome(response, 401).await;
    }
    let response = app
        .client
        .post(format!("{}/fhir/$process-message", app.base))
        .header("Authorization", format!("Basic {HOSPITAL}"))
        .header("Content-Type", FHIR_JSON)
        .body(body)
        .send()
        .await
        .unwrap();
    outcome(response, 401).await;
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn an_issued_token_works_until_revoked_and_is_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let hospital = OrgIdentifier::new(URA, "90000011").unwrap();
    let issued = issue_token(&app.store, &hospital, Role::Sender).await.unwrap();
    assert!(issued.token.starts_with("hbt_") && issued.token.len() > 40);
    assert_eq!(app.post_message(&issued.token, &discharge()).await.status().as_u16(), 202);

    assert_eq!(revoke(&app.store, &issued.token_id).await.unwrap().len(), 1);
    outcome(app.post_message(&issued.token, &discharge()).await, 401).await;
    if !uses_sqlite(&app) {
        return;
    }

    let db_dir = app.stop().await;
    let mut raw = Vec::new();
    for name in ["broker.db", "broker.db-wal"] {
        raw.extend(std::fs::read(db_dir.path().join(name)).unwrap_or_default());
    }
    let secret = issued.token.as_bytes();
    assert!(!raw.is_empty());
    assert!(!raw.windows(secret.len()).any(|w| w == secret), "the token must not be stored in clear");
}

#[tokio::test]
async fn issuing_for_an_unknown_organisation_fails() {
    let app = spawn_app().await;
    let unknown = OrgIdentifier::new(URA, "00000000").unwrap();
    assert!(issue_token(&app.store, &unknown, Role::Sender).await.is_err());
}

#[tokio::test]
async fn demo_tokens_do_not_exist_off_loopback() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    // Listening on every interface: the demo directory loads, its well-known tokens do not.
    settings.listen = "0.0.0.0:0".parse().unwrap();
    settings.allow_plain_http = true;
    let mut app = spawn_with(settings, dir).await;
    app.base = app.base.replace("0.0.0.0", "127.0.0.1");
    outcome(app.post_message(HOSPITAL, &discharge()).await, 401).await;
    assert!(app.store.organization_count().await.unwrap() > 0);
}
