//! Issue 12's findings, each tried as an attacker would: the sender is bound to the caller whatever
//! part of the message names it, and a business response answers only the delivery it is about.

use serde_json::{json, Value};

use crate::helpers::*;

/// The discharge fixture with its sender Reference also pointing at the Organization entry `org`.
fn sender_points_to(org_entry: usize) -> Value {
    let mut bundle = discharge();
    let full_url = bundle["entry"][org_entry]["fullUrl"].clone();
    header(&mut bundle)["sender"]["reference"] = full_url;
    bundle
}

/// The entry of the Organization that is not the hospital (the GP, the receiver).
fn other_organization(bundle: &Value) -> usize {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| {
            e["resource"]["resourceType"] == "Organization" && e["resource"]["identifier"][0]["value"] == "90000012"
        })
        .expect("the GP's Organization entry")
}

fn hospital_organization(bundle: &Value) -> usize {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| {
            e["resource"]["resourceType"] == "Organization" && e["resource"]["identifier"][0]["value"] == "90000011"
        })
        .expect("the hospital's Organization entry")
}

#[tokio::test]
async fn a_sender_whose_reference_points_to_another_organisation_is_refused() {
    let app = spawn_app().await;
    // sender.identifier is the hospital's, sender.reference the GP's Organization.
    let bundle = sender_points_to(other_organization(&discharge()));
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 403).await;
    assert!(issues_text(&refused).contains("several organisations"), "{}", issues_text(&refused));
    assert_eq!(app.store.message_count().await.unwrap(), 0);

    // The same, pointing at the hospital's own Organization: accepted.
    let bundle = sender_points_to(hospital_organization(&discharge()));
    assert_eq!(app.post_message(HOSPITAL, &bundle).await.status().as_u16(), 202);
}

#[tokio::test]
async fn a_sender_organization_that_lists_another_organisations_identifier_too_is_refused() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let own = hospital_organization(&bundle);
    let full_url = bundle["entry"][own]["fullUrl"].clone();
    header(&mut bundle)["sender"] = json!({ "reference": full_url });
    // The hospital's Organization also carries the home-care organisation's URA.
    bundle["entry"][own]["resource"]["identifier"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "system": URA, "value": "90000013" }));
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 403).await;
    assert!(issues_text(&refused).contains("thuiszorg-parkstad"), "{}", issues_text(&refused));

    // The home-care organisation itself cannot send it either: it names the hospital as well.
    outcome(app.post_message(HOME_CARE, &bundle).await, 403).await;
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn identifiers_the_directory_does_not_know_neither_help_nor_hurt() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let own = hospital_organization(&bundle);
    bundle["entry"][own]["resource"]["identifier"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "system": "http://fhir.nl/fhir/NamingSystem/kvk", "value": "12345678" }));
    let full_url = bundle["entry"][own]["fullUrl"].clone();
    header(&mut bundle)["sender"]["reference"] = full_url;
    assert_eq!(app.post_message(HOSPITAL, &bundle).await.status().as_u16(), 202);
}

/// A business response of the GP to `original`, addressed to the organisation `to` (system, value) if given.
fn gp_response(original: &Value, code: &str, to: Option<(&str, &str)>) -> Value {
    let original_header = &original["entry"][0]["resource"];
    let mut header = json!({
        "resourceType": "MessageHeader",
        "id": uuid::Uuid::new_v4().to_string(),
        "eventCoding": original_header["eventCoding"],
        "source": { "name": "GP system", "endpoint": GP_HEERLEN_MAILBOX },
        "sender": identifier_ref(URA, "90000012"),
        "response": { "identifier": original_header["id"], "code": code },
    });
    if let Some((system, value)) = to {
        header["destination"] = json!([destination(system, value, "https://ehr.example/fhir")]);
    }
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": "2026-11-30T10:00:00Z",
        "entry": [{ "fullUrl": format!("urn:uuid:{}", header["id"].as_str().unwrap()), "resource": header }],
    })
}

#[tokio::test]
async fn a_business_response_answers_the_delivery_of_the_sender_it_is_addressed_to_only() {
    let app = spawn_app().await;
    // Two senders use the same MessageHeader.id for messages to the same GP (ids are unique per sender).
    let from_hospital = discharge();
    let mut from_home_care = discharge();
    header(&mut from_home_care)["id"] = header(&mut from_hospital.clone())["id"].clone();
    header(&mut from_home_care)["sender"] = identifier_ref(URA, "90000013");
    let hospital_tracking = tracking_id(&app.post_message(HOSPITAL, &from_hospital).await.json().await.unwrap());
    let home_care_tracking = tracking_id(&app.post_message(HOME_CARE, &from_home_care).await.json().await.unwrap());

    // Without saying whose message it answers, the GP's answer is ambiguous: refused, nothing changes.
    let refused =
        outcome(app.post_message(GP_HEERLEN, &gp_response(&from_hospital, "fatal-error", None)).await, 422).await;
    assert!(issues_text(&refused).contains("name the original sender"), "{}", issues_text(&refused));

    // Addressed to the home-care organisation: its delivery is rejected, the hospital's stays queued.
    let response =
        app.post_message(GP_HEERLEN, &gp_response(&from_home_care, "fatal-error", Some((URA, "90000013")))).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let state = |deliveries: Vec<handover_broker::store::DeliveryRecord>| deliveries[0].state.as_str().to_owned();
    assert_eq!(state(app.store.deliveries(&home_care_tracking).await.unwrap()), "rejected-by-receiver");
    assert_eq!(state(app.store.deliveries(&hospital_tracking).await.unwrap()), "queued");

    // Addressed to an organisation that sent no such message to the GP: 403, as for an unknown id.
    let nursing_home = Some((NIHDI, "10000000200"));
    outcome(app.post_message(GP_HEERLEN, &gp_response(&from_hospital, "ok", nursing_home)).await, 403).await;
    assert_eq!(state(app.store.deliveries(&hospital_tracking).await.unwrap()), "queued");
}

#[tokio::test]
async fn demo_mode_is_never_inferred_from_an_empty_database() {
    let app = spawn_app_with(|s| {
        s.demo = false;
    })
    .await;
    assert_eq!(app.store.organization_count().await.unwrap(), 0, "no demo directory loaded");
    outcome(app.post_message(HOSPITAL, &discharge()).await, 401).await;
    // Importing the demo directory's organisations as a real directory gives them no demo tokens.
    let organizations = demo_organizations();
    import_directory(&app, &organizations).await;
    outcome(app.post_message(HOSPITAL, &discharge()).await, 401).await;
}

#[tokio::test]
async fn outside_demo_mode_the_broker_does_not_start_without_a_configured_ledger_secret() {
    // A demo ran on this database first and generated a secret there.
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.ledger.secret = None;
    let app = spawn_with(settings.clone(), dir).await;
    let dir = app.stop().await;

    settings.demo = false;
    let refused = handover_broker::startup::Application::build(settings.clone()).await;
    let error = refused.err().expect("refused without ledger.secret").to_string();
    assert!(error.contains("ledger.secret"), "{error}");
    settings.ledger.secret = Some("a-configured-secret-of-at-least-32-characters".to_owned());
    spawn_with(settings, dir).await.stop().await;
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_at_start_unless_said_to_be_behind_a_proxy() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.listen = "0.0.0.0:0".parse().unwrap();
    let refused = handover_broker::startup::Application::build(settings.clone()).await;
    let error = refused.err().expect("refused").to_string();
    assert!(error.contains("allow_plain_http"), "{error}");
    settings.allow_plain_http = true;
    spawn_with(settings, dir).await.stop().await;
}

/// The newest ledger entries of `event`, newest last.
async fn entries_of(app: &TestApp, event: &str) -> Vec<handover_broker::ledger::LedgerRecord> {
    app.store.ledger_tail(1000).await.unwrap().into_iter().filter(|e| e.event.as_str() == event).collect()
}

#[tokio::test]
async fn redirecting_an_organisations_push_endpoint_is_a_ledger_entry_with_before_after_and_who() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let export: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    // The export itself is an administrator's read, ledgered with the route.
    let reads = entries_of(&app, "admin-read").await;
    assert_eq!(reads.last().and_then(|e| e.outcome.as_deref()), Some("GET /admin/directory"));
    assert_eq!(reads.last().and_then(|e| e.actor_org.as_deref()), Some("zzl-hospital"));

    // Redirect the home-care organisation's push endpoint somewhere else.
    let mut changed = export.clone();
    for entry in changed["entry"].as_array_mut().unwrap() {
        if entry["resource"]["resourceType"] == "Endpoint"
            && entry["resource"]["address"] == "http://127.0.0.1:9103/fhir"
        {
            entry["resource"]["address"] = json!("https://elsewhere.example/fhir");
        }
    }
    assert_eq!(app.post_json(Some(&admin), "/admin/directory", &changed).await.status().as_u16(), 200);
    let changes = entries_of(&app, "directory-changed").await;
    assert_eq!(changes.len(), 1, "only the organisation that changed: {changes:?}");
    let change = &changes[0];
    assert_eq!(change.receiver_org.as_deref(), Some("thuiszorg-parkstad"));
    assert_eq!(change.actor_org.as_deref(), Some("zzl-hospital"), "who");
    let text = change.outcome.as_deref().unwrap_or_default();
    assert_eq!(text, "changed: endpoint push http://127.0.0.1:9103/fhir -> push https://elsewhere.example/fhir");

    // Removing an organisation is one too.
    assert_eq!(
        app.client
            .delete(format!("{}/admin/organizations/gp-brugge", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let removed = entries_of(&app, "directory-changed").await.pop().unwrap();
    assert_eq!(removed.receiver_org.as_deref(), Some("gp-brugge"));
    assert!(removed.outcome.as_deref().unwrap_or_default().starts_with("removed:"));
    assert!(app.store.verify_ledger().await.unwrap().ok);
}

#[tokio::test]
async fn an_auditors_patient_query_is_ledgered_by_patient_key_never_the_identifier() {
    let app = spawn_app().await;
    let auditor = token_with_role(&app, handover_broker::auth::Role::Auditor).await;
    let identifier = "http://fhir.nl/fhir/NamingSystem/bsn|999911120";
    let query = format!("/fhir/AuditEvent?patient-identifier={}&date=ge2026-01-01", url_encode(identifier));
    assert_eq!(app.get(Some(&auditor), &query).await.status().as_u16(), 200);
    let asked = entries_of(&app, "audit-query").await.pop().expect("the query is an entry");
    assert_eq!(asked.actor_org.as_deref(), Some("zzl-hospital"));
    assert_eq!(asked.outcome.as_deref(), Some("AuditEvent search: patient-identifier, date"));
    assert!(asked.patient_key.is_some(), "the patient, by key");
    let everything = format!("{:?}", app.store.ledger_tail(1000).await.unwrap());
    assert!(!everything.contains("999911120"), "no identifier in the ledger");
}

#[tokio::test]
async fn a_refusal_records_the_route_pattern_never_the_text_the_caller_sent() {
    let app = spawn_app().await;
    let chosen = "/admin/organizations/BSN-999911120-Jansen";
    assert_eq!(app.get(Some(HOSPITAL), chosen).await.status().as_u16(), 403);
    let denied = entries_of(&app, "denied-access").await.pop().expect("the refusal is an entry");
    assert_eq!(denied.outcome.as_deref(), Some("403 GET /admin/organizations/{id} needs role admin"));
    let everything = format!("{:?}", app.store.ledger_tail(1000).await.unwrap());
    assert!(!everything.contains("Jansen") && !everything.contains("999911120"));
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A broker outside demo mode with private targets refused (the default), its directory the demo's
/// stored as is (bypassing the import's check, as a directory imported under another policy would be),
/// delivery stepped by the test. Returns it with an admin and a sender token of the hospital.
async fn strict_broker(edit: impl Fn(&mut handover_broker::model::Organization)) -> (TestApp, String, String) {
    use handover_broker::auth::{issue_token, Role};
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.demo = false;
    crate::delivery::stepped(&mut settings);
    let mut organizations = demo_organizations();
    organizations.iter_mut().for_each(edit);
    let update =
        handover_broker::store::DirectoryUpdate { upsert: organizations, source: Some("import"), ..Default::default() };
    let store = handover_broker::store::Store::open(&settings.database_url, 2, 8).await.unwrap();
    store.writer().change_directory(update).await.unwrap();
    store.close().await;
    let app = spawn_with(settings, dir).await;
    let hospital = handover_broker::model::OrgIdentifier::new(URA, "90000011").unwrap();
    let admin = issue_token(&app.store, &hospital, Role::Admin).await.unwrap().token;
    let sender = issue_token(&app.store, &hospital, Role::Sender).await.unwrap().token;
    (app, admin, sender)
}

#[tokio::test]
async fn push_addresses_that_reach_inward_or_carry_credentials_are_refused_at_import() {
    let (app, admin, _) = strict_broker(|_| {}).await;
    let export: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    for hostile in [
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:2375/",
        "https://10.0.0.1/fhir",
        "https://[::ffff:192.168.1.1]/fhir",
        "https://localhost/fhir",
        "https://user:password@ehr.example/fhir",
    ] {
        let mut changed = export.clone();
        for entry in changed["entry"].as_array_mut().unwrap() {
            if entry["resource"]["resourceType"] == "Endpoint"
                && entry["resource"]["address"] == "http://127.0.0.1:9103/fhir"
            {
                entry["resource"]["address"] = json!(hostile);
            }
        }
        let refused = outcome(app.post_json(Some(&admin), "/admin/directory", &changed).await, 422).await;
        assert!(!issues_text(&refused).contains("user:password@"), "the answer does not echo credentials");
    }
    assert!(entries_of(&app, "directory-changed").await.is_empty(), "nothing was imported");
    // Public https addresses are fine (and the loopback ones already stored stay as they were).
    let mut changed = export.clone();
    for entry in changed["entry"].as_array_mut().unwrap() {
        if entry["resource"]["resourceType"] == "Endpoint"
            && entry["resource"]["address"].as_str().unwrap_or("").starts_with("http://127.0.0.1")
        {
            entry["resource"]["address"] = json!("https://ehr.example/fhir");
        }
    }
    assert_eq!(app.post_json(Some(&admin), "/admin/directory", &changed).await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_push_address_that_reaches_inward_is_refused_at_connect_time_by_address_and_by_name() {
    let home_care = crate::delivery::Receiver::plain();
    let port = home_care.address.rsplit(':').next().unwrap().trim_end_matches("/fhir").to_owned();
    for address in [home_care.address.clone(), format!("http://localhost:{port}/fhir")] {
        let registered = address.clone();
        let (app, _, sender) = strict_broker(move |org| {
            if org.id.as_str() == "thuiszorg-parkstad" {
                org.address = registered.clone();
            }
        })
        .await;
        let response = app.post_message(&sender, &crate::delivery::nursing_to(&address)).await;
        assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
        let tracking = app.store.ledger_tail(10).await.unwrap().into_iter().find_map(|e| e.tracking_id).unwrap();
        let report = app.deliver_pending().await;
        assert_eq!(report.handovers.retried, 1, "{address}: {report:?}");
        assert!(home_care.state.got().is_empty(), "{address}: no connection was made");
        let attempt = app.store.ledger_for_message(&tracking).await.unwrap().pop().unwrap();
        assert_eq!(attempt.event.as_str(), "delivery-attempt");
        let why = attempt.outcome.unwrap_or_default();
        assert!(why.contains("private") || why.contains("loopback"), "{address}: {why}");
    }
}

#[tokio::test]
async fn a_body_that_trickles_in_slower_than_allowed_gets_408_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|s| {
        s.limits.body_timeout_ms = 300;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /fhir/$process-message HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {HOSPITAL}\r\n\
         Content-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n{{\"resourceType\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The rest never comes; the broker answers when its time runs out.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the broker closed the slow request itself");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("OperationOutcome") && answer.contains("timeout"), "{answer}");
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn an_organisation_over_its_request_rate_gets_429_with_retry_after_and_others_are_unaffected() {
    let app = spawn_app_with(|s| {
        s.limits.requests_per_second = 1;
        s.limits.request_burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get(Some(HOSPITAL), "/fhir/mailbox").await.status().as_u16(), 200);
    }
    let refused = app.get(Some(HOSPITAL), "/fhir/mailbox").await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    outcome(refused, 429).await;
    // Another organisation has its own allowance.
    assert_eq!(app.get(Some(GP_HEERLEN), "/fhir/mailbox").await.status().as_u16(), 200);
}

#[tokio::test]
async fn an_organisation_holds_at_most_its_share_of_long_polls() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path()).await;
    settings.limits.max_long_polls = 2;
    let app = std::sync::Arc::new(spawn_with(settings, dir).await);
    let mut polls = Vec::new();
    for _ in 0..2 {
        let app = app.clone();
        polls.push(tokio::spawn(
            async move { app.get(Some(GP_HEERLEN), "/fhir/mailbox?_wait=3").await.status().as_u16() },
        ));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let third = app.get(Some(GP_HEERLEN), "/fhir/mailbox?_wait=3").await;
    assert_eq!(third.headers()["retry-after"], "1");
    outcome(third, 429).await;
    // A listing without waiting is not a long-poll; another organisation has its own share.
    assert_eq!(app.get(Some(GP_HEERLEN), "/fhir/mailbox").await.status().as_u16(), 200);
    assert_eq!(app.get(Some(HOSPITAL), "/fhir/mailbox?_wait=1").await.status().as_u16(), 200);
    for poll in polls {
        assert_eq!(poll.await.unwrap(), 200);
    }
    // Once they ended, the organisation may wait again.
    assert_eq!(app.get(Some(GP_HEERLEN), "/fhir/mailbox?_wait=1").await.status().as_u16(), 200);
}

#[tokio::test]
async fn metrics_need_an_admin_token() {
    let app = spawn_app().await;
    outcome(app.get(None, "/metrics").await, 401).await;
    outcome(app.get(Some(HOSPITAL), "/metrics").await, 403).await;
    let admin = admin_token(&app).await;
    assert_eq!(app.get(Some(&admin), "/metrics").await.status().as_u16(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    if !uses_sqlite(&app) {
        return;
    }
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);
    let dir = app.stop().await;
    for name in ["broker.db", "broker.db-wal"] {
        let Ok(meta) = std::fs::metadata(dir.path().join(name)) else { continue };
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    // A file another tool left readable by all is narrowed at the next start.
    let file = dir.path().join("broker.db");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let settings = test_settings(dir.path()).await;
    spawn_with(settings, dir.clone()).await.stop().await;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn an_auditor_sees_its_own_organisations_entries_unless_its_token_is_regional() {
    use handover_broker::auth::{issue, Role, Scope, TokenRequest};
    let app = spawn_app().await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);
    let brugge = handover_broker::model::OrgIdentifier::new(NIHDI, "10000000100").unwrap();
    let own = issue(&app.store, &brugge, &TokenRequest::new(Role::Auditor)).await.unwrap().token;
    let regional =
        issue(&app.store, &brugge, &TokenRequest::new(Role::Auditor).scope(Scope::Regional)).await.unwrap().token;
    let count = |token: String| {
        let app = &app;
        async move {
            let page: Value = app.get(Some(&token), "/fhir/AuditEvent?_format=json").await.json().await.unwrap();
            page["entries"].as_array().unwrap().iter().filter(|e| e["sender_org"] == "zzl-hospital").count()
        }
    };
    assert_eq!(count(own).await, 0, "the hospital's handover is not the Brugge practice's business");
    assert_eq!(count(regional).await, 3, "received, accepted, routed");
}

#[tokio::test]
async fn a_message_id_that_is_not_a_fhir_id_is_refused_and_never_written_into_the_ledger() {
    let app = spawn_app().await;
    let chosen = format!("Jansen-BSN-999911120 {}", "x".repeat(10_000));
    let mut bundle = discharge();
    header(&mut bundle)["id"] = json!(chosen);
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 400).await;
    assert!(issues_text(&refused).contains("not a FHIR id"), "{}", issues_text(&refused));
    let rejected = entries_of(&app, "rejected").await.pop().expect("the refusal is an entry");
    assert_eq!(rejected.header_id, None);
    let everything = format!("{:?}", app.store.ledger_tail(1000).await.unwrap());
    assert!(!everything.contains("Jansen") && !everything.contains("xxxxxxxx"));
}
