//! Nothing acknowledged is lost across a restart.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn an_acknowledged_message_and_its_receipt_survive_a_restart() {
    let app = spawn_app().await;
    let bundle = discharge();
    let ack: Value = app.post_message(HOSPITAL, &bundle).await.json().await.unwrap();
    let tracking = tracking_id(&ack);

    let db_dir = app.stop().await;
    let app = spawn_with(test_settings(db_dir.path()), db_dir.clone()).await;

    let response = app.receipt(HOSPITAL, &tracking).await;
    assert_eq!(response.status().as_u16(), 200);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["id"], tracking.as_str());
    // The deduplication record survived too.
    assert_eq!(app.post_message(HOSPITAL, &bundle).await.status().as_u16(), 200);
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_restarted_demo_keeps_its_demo_tokens_until_a_real_directory_is_imported() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path());
    settings.demo = None;
    let app = spawn_with(settings.clone(), dir).await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);

    let dir = app.stop().await;
    let app = spawn_with(settings.clone(), dir).await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202, "demo survives a restart");

    let organizations =
        handover_broker::directory::read_bundle_file(&project_dir().join("fixtures/demo-directory.json")).unwrap();
    handover_broker::directory::import(&app.store, &organizations).await.unwrap();
    let dir = app.stop().await;
    let app = spawn_with(settings, dir).await;
    outcome(app.post_message(HOSPITAL, &discharge()).await, 401).await;
}
