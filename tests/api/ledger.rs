//! The tamper-evident ledger: a hash chain that finds any change, removal or reordering of entries,
//! and, against a checkpoint, the removal of the newest ones.

use handover_broker::auth::Role;
use serde_json::Value;
use sqlx::Connection;

use crate::delivery::accepted;
use crate::helpers::*;

async fn verify(app: &TestApp, token: &str) -> Value {
    let response = app.get(Some(token), "/ledger/verify").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn tamper(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    sqlx::query(sql).execute(&mut db).await.unwrap();
}

#[tokio::test]
async fn every_step_of_a_handover_is_chained_and_an_auditor_can_verify_it() {
    let app = spawn_app().await;
    let tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let entries = app.store.ledger_for_message(&tracking).await.unwrap();
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["received", "accepted", "routed"]);

    let auditor = token_with_role(&app, Role::Auditor).await;
    let report = verify(&app, &auditor).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries_checked"], 3);
    // Organisations cannot read the ledger; the auditor cannot change it (there is no endpoint that would).
    assert_eq!(app.get(Some(HOSPITAL), "/ledger/verify").await.status().as_u16(), 403);
    let post = app.client.post(format!("{}/ledger/verify", app.base)).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 405);
}

#[tokio::test]
async fn an_edited_removed_or_swapped_entry_is_found() {
    for (what, sql, broken_at) in [
        ("edited", "UPDATE ledger SET outcome = '202 but changed' WHERE seq = 5", 5),
        ("removed", "DELETE FROM ledger WHERE seq = 4", 5),
        ("edited again", "UPDATE ledger SET receiver_org = 'gp-brugge' WHERE seq = 6", 6),
    ] {
        let app = spawn_app().await;
        for _ in 0..3 {
            accepted(app.post_message(HOSPITAL, &discharge()).await).await;
        }
        assert!(app.store.verify_ledger().await.unwrap().ok);
        tamper(&app, sql).await;
        let report = app.store.verify_ledger().await.unwrap();
        assert!(!report.ok, "{what}: not found");
        assert_eq!(report.first_broken_seq, Some(broken_at), "{what}: {report:?}");
    }

    // Two entries swapped (their content exchanged, each keeping its place and hashes).
    let app = spawn_app().await;
    for _ in 0..2 {
        accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    }
    tamper(
        &app,
        "UPDATE ledger SET tracking_id = CASE seq WHEN 1 THEN (SELECT tracking_id FROM ledger WHERE seq = 4) \
         ELSE (SELECT tracking_id FROM ledger WHERE seq = 1) END WHERE seq IN (1, 4)",
    )
    .await;
    let report = app.store.verify_ledger().await.unwrap();
    assert_eq!((report.ok, report.first_broken_seq), (false, Some(1)));
}

#[tokio::test]
async fn removing_the_newest_entries_is_found_against_a_checkpoint() {
    let app = spawn_app().await;
    for _ in 0..2 {
        accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    }
    let checkpoint = handover_broker::ledger::checkpoint(&app.store).await.unwrap();
    assert_eq!(checkpoint.seq, 6);
    tamper(&app, "DELETE FROM ledger WHERE seq > 4").await;
    // The chain that is left is whole ...
    assert!(app.store.verify_ledger().await.unwrap().ok);
    // ... but the checkpoint kept elsewhere tells.
    let report = handover_broker::ledger::verify(&app.store, Some(&checkpoint)).await.unwrap();
    assert!(!report.ok);
    assert!(report.problem.unwrap().contains("truncated"));
    // An intact ledger passes its checkpoint, also after more entries were added.
    let app = spawn_app().await;
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let checkpoint = handover_broker::ledger::checkpoint(&app.store).await.unwrap();
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    assert!(handover_broker::ledger::verify(&app.store, Some(&checkpoint)).await.unwrap().ok);
}
