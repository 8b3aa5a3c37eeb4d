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
