//! Nothing acknowledged is lost across a restart.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn an_acknowledged_message_and_its_receipt_survive_a_restart() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let settings = test_settings(dir.path()).await;
    let app = spawn_with(settings.clone(), dir).await;
    let bundle = discharge();
    let ack: Value = app.post_message(HOSPITAL, &bundle).await.json().await.unwrap();
    let tracking = tracking_id(&ack);

    let db_dir = app.stop().await;
    let app = spawn_with(settings, db_dir).await;

    let response = app.receipt(HOSPITAL, &tracking).await;
    assert_eq!(response.status().as_u16(), 200);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["id"], tracking.as_str());
    // The deduplication record survived too.
    assert_eq!(app.post_message(HOSPITAL, &bundle).await.status().as_u16(), 200);
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_restarted_demo_keeps_its_demo_tokens_but_never_gives_one_to_an_organisation_imported_later() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let settings = test_settings(dir.path()).await;
    let app = spawn_with(settings.clone(), dir).await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);

    let dir = app.stop().await;
    let app = spawn_with(settings.clone(), dir).await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202, "demo survives a restart");

    // An import adds an organisation that is not in the demo directory: it has no demo token.
    let mut organizations = demo_organizations();
    let hospital = organizations.iter_mut().find(|o| o.id.as_str() == "zzl-hospital").unwrap();
    hospital.address = "https://ehr.zzl.example/fhir".to_owned();
    let mut newcomer = hospital.clone();
    newcomer.id = handover_broker::model::OrgId::parse("rehab-maastricht").unwrap();
    newcomer.identifiers = vec![handover_broker::model::OrgIdentifier::new(URA, "90000077").unwrap()];
    organizations.push(newcomer);
    import_directory(&app, &organizations).await;
    let dir = app.stop().await;
    let app = spawn_with(settings, dir).await;
    outcome(app.get(Some("demo-rehab-maastricht"), "/fhir/mailbox").await, 401).await;
    // The demo directory's own organisations keep theirs while the broker runs as a demo.
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);
}

/// The real binary under load gets SIGTERM: it stops accepting, finishes what it acknowledged, and exits
/// cleanly; every message it acknowledged is in the database afterwards.
#[tokio::test]
async fn sigterm_under_load_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = broker_command(dir.path()).spawn().unwrap();
    let base = listening_base(&mut child);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (base, stop) = (base.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = client
                    .post(format!("{base}/fhir/$process-message"))
                    .bearer_auth(HOSPITAL)
                    .header("Content-Type", FHIR_JSON)
                    .body(serde_json::to_vec(&discharge()).unwrap())
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status().as_u16() != 202 {
                    break;
                }
                let Ok(ack) = response.json::<serde_json::Value>().await else { break };
                acknowledged.push(tracking_id(&ack));
            }
            acknowledged
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(status.success(), "the broker exits cleanly on SIGTERM: {status}");

    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    assert!(!acknowledged.is_empty(), "the load ran before the signal");
    let store = handover_broker::store::Store::open(&format!("sqlite://{}/broker.db", dir.path().display()), 2, 8)
        .await
        .unwrap();
    for tracking in &acknowledged {
        assert!(store.message(tracking).await.unwrap().is_some(), "acknowledged {tracking} was lost");
    }
    assert!(store.message_count().await.unwrap() >= acknowledged.len() as i64);
}
