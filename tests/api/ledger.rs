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
    // The three of the handover, the auditor token's `token-issued`, and the auditor's request to verify,
    // recorded before it ran.
    assert_eq!(report["entries_checked"], 5);
    let asked = app.store.ledger_tail(1).await.unwrap().remove(0);
    assert_eq!((asked.event.as_str(), asked.outcome.as_deref()), ("audit-query", Some("ledger verify")));
    // Organisations cannot read the ledger; the auditor cannot change it (there is no endpoint that would).
    assert_eq!(app.get(Some(HOSPITAL), "/ledger/verify").await.status().as_u16(), 403);
    let before = app.store.ledger_tail(100).await.unwrap().len();
    for (method, path) in [
        (reqwest::Method::POST, "/ledger/verify"),
        (reqwest::Method::POST, "/fhir/AuditEvent"),
        (reqwest::Method::PUT, "/fhir/AuditEvent/1"),
        (reqwest::Method::DELETE, "/fhir/AuditEvent/1"),
    ] {
        let url = format!("{}{path}", app.base);
        let response = app.client.request(method.clone(), url).bearer_auth(&auditor).send().await.unwrap();
        assert!([404, 405].contains(&response.status().as_u16()), "{method} {path}: {}", response.status());
    }
    assert_eq!(app.store.ledger_tail(100).await.unwrap().len(), before, "nothing was written");
    // The refused attempt is itself in the ledger, with who tried.
    let tail = app.store.ledger_tail(1).await.unwrap();
    assert_eq!(tail[0].event.as_str(), "denied-access");
    assert_eq!(tail[0].actor_org.as_deref(), Some("zzl-hospital"));
    // Reading another organisation's receipt or mailbox item: 404, and a ledger entry.
    let gp = app.get(Some(GP_HEERLEN), &format!("/fhir/receipts/{tracking}")).await;
    assert_eq!(gp.status().as_u16(), 404);
    let tail = app.store.ledger_tail(1).await.unwrap();
    assert_eq!((tail[0].event.as_str(), tail[0].actor_org.as_deref()), ("denied-access", Some("gp-heerlen")));
    let delivery = app.store.deliveries(&tracking).await.unwrap().remove(0).delivery_id;
    let hospital = app.get(Some(HOSPITAL), &format!("/fhir/mailbox/{delivery}")).await;
    assert_eq!(hospital.status().as_u16(), 404);
    let tail = app.store.ledger_tail(1).await.unwrap();
    assert_eq!((tail[0].event.as_str(), tail[0].actor_org.as_deref()), ("denied-access", Some("zzl-hospital")));
    assert!(app.store.verify_ledger().await.unwrap().ok);
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
    let checkpoint = handover_broker::audit::checkpoint(&app.store).await.unwrap();
    assert_eq!(checkpoint.seq, 6);
    tamper(&app, "DELETE FROM ledger WHERE seq > 4").await;
    // The chain that is left is whole ...
    assert!(app.store.verify_ledger().await.unwrap().ok);
    // ... but the checkpoint kept elsewhere tells.
    let report = handover_broker::audit::verify(&app.store, Some(&checkpoint)).await.unwrap();
    assert!(!report.ok);
    assert!(report.problem.unwrap().contains("truncated"));
    // An intact ledger passes its checkpoint, also after more entries were added.
    let app = spawn_app().await;
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let checkpoint = handover_broker::audit::checkpoint(&app.store).await.unwrap();
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    assert!(handover_broker::audit::verify(&app.store, Some(&checkpoint)).await.unwrap().ok);
}

#[tokio::test]
async fn the_ledger_names_the_patient_by_a_keyed_hash_only() {
    let app = spawn_app().await;
    let tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let mut refused = discharge();
    header(&mut refused)["destination"] = serde_json::json!([destination(URA, "12345678", "https://x.example/fhir")]);
    assert_eq!(app.post_message(HOSPITAL, &refused).await.status().as_u16(), 422);

    let all = app.store.ledger_tail(1000).await.unwrap();
    let text = format!("{all:?}");
    assert!(!text.contains("999911120"), "the BSN is in the ledger");
    let keyed: Vec<(&str, &str)> =
        all.iter().filter_map(|e| Some((e.event.as_str(), e.patient_key.as_deref()?))).collect();
    let events: Vec<&str> = keyed.iter().map(|(event, _)| *event).collect();
    // Accepted: on `received` (the others are found through the message); refused: on both entries.
    assert_eq!(events, ["received", "received", "rejected"]);
    assert!(keyed.iter().all(|(_, k)| k.len() == 64 && *k == keyed[0].1), "one patient, one key: {keyed:?}");
    let entries = app.store.ledger_for_message(&tracking).await.unwrap();
    assert_eq!(entries[0].patient_key.as_deref(), Some(keyed[0].1));
}

const BSN: &str = "http://fhir.nl/fhir/NamingSystem/bsn|999911120";

#[tokio::test]
async fn an_auditor_finds_a_patients_handovers_as_valid_audit_events() {
    let app = spawn_app().await;
    let first = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let second = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    // Another patient's handover is not in the answer.
    let mut other = discharge();
    let patient = entry_of(&other, "Patient");
    other["entry"][patient]["resource"]["identifier"][0]["value"] = serde_json::json!("999911132");
    accepted(app.post_message(HOSPITAL, &other).await).await;

    let auditor = token_with_role(&app, Role::Auditor).await;
    let query = format!(
        "/fhir/AuditEvent?patient-identifier={}",
        url::form_urlencoded::byte_serialize(BSN.as_bytes()).collect::<String>()
    );
    let response = app.get(Some(&auditor), &query).await;
    assert_eq!(response.status().as_u16(), 200);
    let bundle: Value = response.json().await.unwrap();
    let events = bundle["entry"].as_array().unwrap();
    assert_eq!(events.len(), 6, "received, accepted, routed for each of the two");
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    for event in events {
        let resource = &event["resource"];
        let text = resource.to_string();
        let mut issues = Vec::new();
        model.check_resource(&handover_broker::json::parse(&text).unwrap(), "AuditEvent", &mut issues);
        assert!(issues.iter().all(|i| !i.is_error()), "not a valid R4 AuditEvent: {issues:?}\n{text}");
        let tracking = resource["entity"][0]["what"]["identifier"]["value"].as_str().unwrap();
        assert!(first == tracking || second == tracking);
        assert!(!text.contains("999911120"));
    }

    // Paging, filters and the JSON variant.
    let page: Value = app.get(Some(&auditor), &format!("{query}&_count=4")).await.json().await.unwrap();
    assert_eq!(page["entry"].as_array().unwrap().len(), 4);
    let next = page["link"][0]["url"].as_str().unwrap().to_owned();
    let rest: Value = app.client.get(next).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    // The last two of the handovers' six. The auditor's own questions about this patient are entries
    // too (who looked is part of the patient's trail), but they name no sender or receiver, so only a
    // regional auditor sees them; this one is the hospital's.
    let subtypes: Vec<&str> = rest["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["subtype"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(subtypes.len(), 2, "{subtypes:?}");
    assert!(!subtypes.contains(&"audit-query"), "{subtypes:?}");
    let routed: Value = app
        .get(Some(&auditor), &format!("{query}&event=routed&receiver=gp-heerlen&_format=json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(routed["entries"].as_array().unwrap().len(), 2);
    let by_message: Value =
        app.get(Some(&auditor), &format!("/fhir/AuditEvent?message={first}&_format=json")).await.json().await.unwrap();
    assert_eq!(by_message["entries"].as_array().unwrap().len(), 3);
    let future: Value =
        app.get(Some(&auditor), &format!("{query}&date=ge2099-01-01&_format=json")).await.json().await.unwrap();
    assert!(future["entries"].as_array().unwrap().is_empty());

    // Organisations cannot read the ledger; bad parameters are 400.
    assert_eq!(app.get(Some(HOSPITAL), &query).await.status().as_u16(), 403);
    assert_eq!(app.get(Some(&auditor), "/fhir/AuditEvent?date=2026").await.status().as_u16(), 400);
}

#[tokio::test]
async fn the_export_is_one_audit_event_per_line_for_the_window() {
    let app = spawn_app().await;
    for _ in 0..3 {
        accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    }
    let mut out = Vec::new();
    let n = handover_broker::audit::export(&app.store, &[], &mut out).await.unwrap();
    assert_eq!(n, 9);
    let lines: Vec<Value> =
        out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    assert_eq!(lines.len(), 9);
    assert!(lines.iter().all(|e| e["resourceType"] == "AuditEvent"));
    let ids: Vec<i64> = lines.iter().map(|e| e["id"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(ids, (1..=9).collect::<Vec<_>>(), "oldest first, none missing");
    let future = [("date".to_owned(), "ge2099-01-01".to_owned())];
    assert_eq!(handover_broker::audit::export(&app.store, &future, &mut Vec::new()).await.unwrap(), 0);
}

#[tokio::test]
async fn breaks_are_found_across_page_ends_too() {
    let app = spawn_app().await;
    for _ in 0..4 {
        accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    }
    for page in [1, 2, 5, 100] {
        assert_eq!(app.store.verify_ledger_in_pages(page).await.unwrap().entries_checked, 12, "page {page}");
    }
    // Entry 7 starts a page of 2 (pages are 1-2, 3-4, 5-6, 7-8, ...): its link back is checked on joining.
    tamper(&app, "UPDATE ledger SET prev_hash = hash WHERE seq = 7").await;
    for page in [1, 2, 3, 100] {
        let report = app.store.verify_ledger_in_pages(page).await.unwrap();
        assert_eq!((report.ok, report.first_broken_seq), (false, Some(7)), "page {page}: {report:?}");
    }
}

#[tokio::test]
async fn the_broker_writes_checkpoints_that_verification_accepts() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let checkpoints = dir.path().join("checkpoints");
    let mut settings = test_settings(dir.path()).await;
    settings.ledger.checkpoint_dir = Some(checkpoints.clone());
    settings.ledger.checkpoint_secs = 1;
    let app = spawn_with(settings, dir.clone()).await;
    accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let file = loop {
        let found = std::fs::read_dir(&checkpoints)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == "checkpoint-3.json"));
        if let Some(file) = found {
            break file;
        }
        assert!(std::time::Instant::now() < deadline, "no checkpoint of entry 3 written");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let checkpoint: handover_broker::ledger::Checkpoint =
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(checkpoint.seq, 3);
    assert!(handover_broker::audit::verify(&app.store, Some(&checkpoint)).await.unwrap().ok);
}

#[tokio::test]
async fn entries_with_any_characters_verify_and_an_edit_inside_them_is_found() {
    use handover_broker::ledger::{LedgerEvent, LedgerRecord};
    let app = spawn_app().await;
    // Verification reads pages packed as `{bytes}:{text}` fields: content that looks like framing,
    // multi-byte characters and JSON escapes must read back exactly.
    let mut entry = LedgerRecord::new(LedgerEvent::Rejected, handover_broker::time::Millis::now());
    entry.header_id = Some(handover_broker::model::HeaderId::from_stored("3:a;~;12:é€😀\"\\\n\t".to_owned()));
    entry.outcome = Some("~".to_owned());
    entry.actor_org = Some(handover_broker::model::OrgId::from_stored(String::new()));
    app.store.writer().append_ledger(vec![entry.clone(), entry]).await.unwrap();
    let v = app.store.verify_ledger().await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries_checked, 2);

    tamper(&app, "UPDATE ledger SET header_id = '3:a;~;12:é€😀' WHERE seq = 2").await;
    let v = app.store.verify_ledger().await.unwrap();
    assert_eq!((v.ok, v.first_broken_seq), (false, Some(2)), "{v:?}");
}

#[tokio::test]
async fn a_demo_broker_measuring_the_ledger_cost_writes_no_entries() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.ledger.enabled = false;
    let app = spawn_with(settings, dir).await;
    let tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    assert_eq!(app.store.deliveries(&tracking).await.unwrap().len(), 1, "routed as usual");
    assert!(app.store.ledger_tail(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_patient_query_follows_the_message_to_its_delivery_and_each_event_names_the_patient() {
    let app = spawn_app().await;
    let tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let delivery = app.store.deliveries(&tracking).await.unwrap().remove(0).delivery_id;
    let url = format!("{}/fhir/mailbox/{delivery}/$acknowledge", app.base);
    assert_eq!(app.client.post(url).bearer_auth(GP_HEERLEN).send().await.unwrap().status().as_u16(), 200);

    let auditor = token_with_role(&app, Role::Auditor).await;
    let query = format!(
        "/fhir/AuditEvent?patient-identifier={}",
        url::form_urlencoded::byte_serialize(BSN.as_bytes()).collect::<String>()
    );
    let bundle: Value = app.get(Some(&auditor), &query).await.json().await.unwrap();
    let events = bundle["entry"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["resource"]["subtype"][0]["code"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"delivered") && kinds.contains(&"acknowledged"), "{kinds:?}");
    let patient_key = handover_broker::ledger::patient::PatientKeys::new(b"test-secret-of-the-ledger-patient-keys")
        .key("http://fhir.nl/fhir/NamingSystem/bsn", "999911120");
    for event in events {
        let entities = event["resource"]["entity"].as_array().unwrap();
        let patient = entities.iter().find(|e| e["role"]["code"] == "1").expect("a patient entity");
        assert_eq!(patient["what"]["identifier"]["value"], patient_key.as_str());
    }
}

#[test]
fn the_benchmark_seed_makes_a_ledger_that_verifies_and_answers_patient_queries() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"))
            .args(args)
            .env("HANDOVER_DATABASE_URL", format!("sqlite://{}/broker.db", dir.path().display()))
            .env("HANDOVER_FIXTURES_DIR", project_dir().join("fixtures"))
            .env("HANDOVER_PROFILES_DIR", project_dir().join("profiles"))
            .env("HANDOVER_LEDGER__SECRET", "benchmark-secret-of-the-ledger-patient-keys")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    run(&["ledger", "seed", "--messages", "2000", "--patients", "10"]);
    let report: Value =
        serde_json::from_str(&run(&["ledger", "bench", "--patients", "10", "--queries", "20"])).unwrap();
    assert_eq!(report["entries_verified"], 12_000, "{report}");
    assert_eq!(report["queries"], 20);
    // 200 handovers a patient: each query fills its page of 100 with the whole history, also the entries
    // that do not carry the key.
    assert_eq!(report["query_entries_mean"], 100.0, "{report}");
}
