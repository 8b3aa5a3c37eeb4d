//! Documents (issue 15): `POST /fhir/Bundle?receiver=system|value` takes a FHIR document Bundle,
//! wraps it in a message of the kind its Composition.type names and routes it like any message: the
//! receiver gets the document's entries byte for byte, the sender its receipts, the ledger the hash of
//! what was posted. Every refusal is an OperationOutcome, ledgered, with nothing stored.

use serde_json::{json, Value};
use sha2::Digest;

use crate::delivery::{stepped_broker, Receiver};
use crate::helpers::*;

const GP_BRUGGE: &str = "demo-gp-brugge";

/// The IPS example documents of the shared corpus.
fn ips_example(name: &str) -> Option<Vec<u8>> {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent (IPS example documents)");
        return None;
    };
    Some(std::fs::read(corpus.join("hl7-uv-ips-2.0.0/examples").join(name)).expect("IPS example readable"))
}

/// The broker's own IPS fixture (the IPS 2.0 minimal example, CC0): runs without the corpus.
fn ips_fixture() -> Vec<u8> {
    std::fs::read(project_dir().join("fixtures/documents/patient-summary-ips-minimal.json")).expect("fixture")
}

/// `?receiver=...` for these organisation identifiers, each `system|value` URL-encoded.
fn to(receivers: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = receivers
        .iter()
        .map(|(system, value)| {
            let token = format!("{system}|{value}");
            format!("receiver={}", url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>())
        })
        .collect();
    format!("?{}", encoded.join("&"))
}

fn to_gp_heerlen() -> String {
    to(&[(URA, "90000012")])
}

async fn post_document(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.post_fhir_bytes(Some(token), &format!("/fhir/Bundle{query}"), body).await
}

/// The document's entries as posted: the exact bytes of each.
fn entries_of(document: &[u8]) -> Vec<Vec<u8>> {
    let spans = handover_broker::json::entry_spans(document).expect("the document's entries");
    spans.into_iter().map(|s| document[s].to_vec()).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The message's entries after its MessageHeader, byte for byte.
fn wrapped_entries(message: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = entries_of(message);
    let header: Value = serde_json::from_slice(&entries.remove(0)).unwrap();
    assert_eq!(header["resource"]["resourceType"], "MessageHeader");
    entries
}

/// Posts `document` from the hospital to GP Heerlen's mailbox and checks the acknowledgement.
async fn send_to_gp(app: &TestApp, document: &[u8]) -> handover_broker::model::TrackingId {
    let response = post_document(app, HOSPITAL, &to_gp_heerlen(), document.to_vec()).await;
    let status = response.status().as_u16();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ack: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{ack}");
    let tracking = tracking_id(&ack);
    assert_eq!(location.as_deref(), Some(format!("/fhir/receipts/{tracking}").as_str()));
    tracking
}

async fn mailbox_item(app: &TestApp, token: &str) -> (String, Vec<u8>) {
    let page: Value = app.get(Some(token), "/fhir/mailbox").await.json().await.unwrap();
    assert_eq!(page["total"], 1, "{page}");
    let id = page["entry"][0]["fullUrl"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let download = app.get(Some(token), &format!("/fhir/mailbox/{id}")).await;
    assert_eq!(download.status().as_u16(), 200);
    (id, download.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_ips_document_reaches_a_mailbox_receiver_unchanged_and_is_receipted() {
    let Some(document) = ips_example("Bundle-IPS-examples-Bundle-01.json") else { return };
    let app = spawn_app().await;
    let tracking = send_to_gp(&app, &document).await;

    // The GP pulls a message of kind patient-summary whose entries are the document's, byte for byte.
    let (id, message) = mailbox_item(&app, GP_HEERLEN).await;
    assert_eq!(wrapped_entries(&message), entries_of(&document));
    let message: Value = serde_json::from_slice(&message).unwrap();
    let header = &message["entry"][0]["resource"];
    assert_eq!(message["type"], "message");
    assert_eq!(header["eventCoding"]["code"], "patient-summary");
    assert_eq!(header["sender"]["identifier"], json!({ "system": URA, "value": "90000011" }));
    assert_eq!(header["destination"][0]["receiver"]["identifier"], json!({ "system": URA, "value": "90000012" }));
    assert_eq!(header["focus"][0]["reference"], "urn:uuid:30551ce1-5a28-4356-b684-1e639094ad4d");

    let ack = app.client.post(format!("{}/fhir/mailbox/{id}/$acknowledge", app.base)).bearer_auth(GP_HEERLEN);
    assert_eq!(ack.send().await.unwrap().status().as_u16(), 200);
    let receipt: Value = app.receipt(HOSPITAL, tracking.as_str()).await.json().await.unwrap();
    let delivery = receipt["parameter"].as_array().unwrap().iter().find(|p| p["name"] == "delivery").unwrap();
    let state = delivery["part"].as_array().unwrap().iter().find(|p| p["name"] == "state").unwrap();
    assert_eq!(state["valueCode"], "delivered", "{receipt}");

    // The ledger's `received` names the document as posted; `accepted` the message stored.
    let ledger = app.store.ledger_for_message(&tracking).await.unwrap();
    let hash_of = |event: &str| {
        let entry = ledger.iter().find(|e| e.event.as_str() == event).unwrap();
        entry.payload_sha256.as_ref().map(|h| h.as_str().to_owned())
    };
    assert_eq!(hash_of("received"), Some(sha256_hex(&document)));
    let stored = app.get(Some(GP_HEERLEN), &format!("/fhir/mailbox/{id}")).await.bytes().await.unwrap();
    assert_eq!(hash_of("accepted"), Some(sha256_hex(&stored)));
    assert_ne!(sha256_hex(&stored), sha256_hex(&document));
}

#[tokio::test]
async fn a_push_receiver_gets_the_document_wrapped_in_a_message() {
    let receiver = Receiver::plain();
    let app = stepped_broker(&[("gp-heerlen", &receiver.address)], |_| {}).await;
    let document = ips_fixture();
    let tracking = send_to_gp(&app, &document).await;
    app.deliver_pending().await;

    let got = receiver.state.got();
    assert_eq!(got.len(), 1);
    assert_eq!(wrapped_entries(&got[0].body), entries_of(&document));
    let message: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(message["entry"][0]["resource"]["eventCoding"]["code"], "patient-summary");
    assert_eq!(got[0].message_id, message["entry"][0]["resource"]["id"].as_str().unwrap());
    let deliveries = app.store.deliveries(&tracking).await.unwrap();
    assert_eq!(deliveries[0].state.as_str(), "delivered");
    receiver.stop().await;
}

#[tokio::test]
async fn a_resend_is_the_same_message_and_a_changed_document_under_its_identifier_a_conflict() {
    let app = spawn_app().await;
    let document = ips_fixture();
    let first = send_to_gp(&app, &document).await;
    // Pretty-printed anew: other bytes, same document.
    let value: Value = serde_json::from_slice(&document).unwrap();
    let again = post_document(&app, HOSPITAL, &to_gp_heerlen(), serde_json::to_vec_pretty(&value).unwrap()).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(tracking_id(&again.json().await.unwrap()), first);
    assert_eq!(app.store.message_count().await.unwrap(), 1);

    let mut changed = value.clone();
    changed["entry"][0]["resource"]["title"] = json!("Patient Summary, corrected");
    let conflict = post_document(&app, HOSPITAL, &to_gp_heerlen(), serde_json::to_vec(&changed).unwrap()).await;
    let body = outcome(conflict, 409).await;
    assert_eq!(body["issue"][0]["expression"][0], "Bundle.identifier", "{body}");

    // The same document to another receiver is another handover, not a resend.
    let brugge = to(&[(NIHDI, "10000000100")]);
    let other = post_document(&app, HOSPITAL, &brugge, document.clone()).await;
    assert_eq!(other.status().as_u16(), 202);
    assert_eq!(app.store.message_count().await.unwrap(), 2);
}

#[tokio::test]
async fn an_incomplete_document_is_refused_with_expressions_in_the_document() {
    let app = spawn_app().await;
    let mut document: Value = serde_json::from_slice(&ips_fixture()).unwrap();
    // Without its allergies section (IPS requires it).
    let sections = document["entry"][0]["resource"]["section"].as_array_mut().unwrap();
    sections.retain(|s| s["code"]["coding"][0]["code"] != "48765-2");
    let response = post_document(&app, HOSPITAL, &to_gp_heerlen(), serde_json::to_vec(&document).unwrap()).await;
    let body = outcome(response, 422).await;
    let issue = body["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["diagnostics"].as_str().unwrap_or_default().contains("Allergies"))
        .unwrap_or_else(|| panic!("{}", issues_text(&body)));
    assert_eq!(issue["expression"][0], "Bundle.entry[0].resource", "the Composition, as the document numbers it");

    // An entry's own problem is located at its index in the document, not in the wrap.
    let mut document: Value = serde_json::from_slice(&ips_fixture()).unwrap();
    let patient = entry_of(&document, "Patient");
    document["entry"][patient]["resource"]["gender"] = json!(42);
    let response = post_document(&app, HOSPITAL, &to_gp_heerlen(), serde_json::to_vec(&document).unwrap()).await;
    let body = outcome(response, 422).await;
    let at = format!("Bundle.entry[{patient}].resource.gender");
    assert!(
        body["issue"].as_array().unwrap().iter().any(|i| i["expression"][0] == at.as_str()),
        "{}",
        issues_text(&body)
    );

    let tail = app.store.ledger_tail(2).await.unwrap();
    assert_eq!((tail[0].event.as_str(), tail[1].event.as_str()), ("received", "rejected"));
    // The outcome names the first rule broken, by code and location without indices (issue 16's
    // refusal reasons), never content.
    let outcome = tail[1].outcome.as_deref().unwrap();
    assert!(
        outcome.starts_with("422 incomplete: ") && outcome.contains(" at Bundle") && !outcome.contains('['),
        "{outcome}"
    );
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn wrong_bundles_receivers_and_types_are_refused_and_ledgered() {
    let app = spawn_app().await;
    let ips: Value = serde_json::from_slice(&ips_fixture()).unwrap();
    let cases: Vec<(String, Vec<u8>, u16, &str, &str)> = vec![
        // A message belongs to $process-message.
        (to_gp_heerlen(), serde_json::to_vec(&discharge()).unwrap(), 400, "$process-message", "400 invalid-document"),
        (
            to_gp_heerlen(),
            serde_json::to_vec(&json!({"resourceType": "Bundle", "type": "collection"})).unwrap(),
            400,
            "collection",
            "400 invalid-document",
        ),
        // No receiver, a receiver that is no token, a misspelt parameter.
        (String::new(), ips_fixture(), 400, "at least one receiver", "400 invalid-request"),
        ("?receiver=90000012".to_owned(), ips_fixture(), 400, "system|value", "400 invalid-request"),
        (format!("?receivers={URA}%7C90000012"), ips_fixture(), 400, "unknown parameter", "400 invalid-request"),
        // A receiver the directory does not know; one that does not take patient summaries.
        (to(&[(URA, "12345678")]), ips_fixture(), 422, "not in the directory", "422 unroutable"),
        (to(&[(URA, "90000013")]), ips_fixture(), 422, "does not accept patient-summary", "422 unroutable"),
        // A Composition.type that is no kind's: the codes accepted are named.
        (
            to_gp_heerlen(),
            {
                let mut other = ips.clone();
                other["entry"][0]["resource"]["type"]["coding"][0]["code"] = json!("11503-0");
                serde_json::to_vec(&other).unwrap()
            },
            422,
            "60591-5",
            "422 unknown-document-type",
        ),
        // bdl-9 and bdl-10.
        (
            to_gp_heerlen(),
            {
                let mut bare = ips.clone();
                bare.as_object_mut().unwrap().remove("identifier");
                bare.as_object_mut().unwrap().remove("timestamp");
                serde_json::to_vec(&bare).unwrap()
            },
            400,
            "bdl-10",
            "400 invalid-document",
        ),
    ];
    for (query, body, status, needle, ledgered) in cases {
        let response = post_document(&app, HOSPITAL, &query, body.clone()).await;
        let outcome = outcome(response, status).await;
        let text = issues_text(&outcome);
        assert!(text.contains(needle), "{query}: expected {needle:?} in:\n{text}");
        let tail = app.store.ledger_tail(2).await.unwrap();
        assert_eq!((tail[0].event.as_str(), tail[1].event.as_str()), ("received", "rejected"), "{query}");
        assert_eq!(tail[1].outcome.as_deref(), Some(ledgered), "{query} {needle}");
        assert_eq!(tail[0].payload_sha256.as_ref().map(|h| h.as_str().to_owned()), Some(sha256_hex(&body)));
        if needle.contains("directory") || needle.contains("accept") {
            assert!(outcome["issue"][0]["expression"][0] == "http.receiver", "{outcome}");
        }
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn hostile_documents_are_refused_within_the_limits_and_nothing_is_stored() {
    let app = spawn_app_with(|s| {
        s.limits.max_body_bytes = 512 * 1024;
        s.limits.max_attachment_bytes = 256 * 1024;
    })
    .await;
    let query = to_gp_heerlen();
    let deep = format!(
        r#"{{"resourceType":"Bundle","type":"document","entry":[{{"resource":{}1{}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let many = format!(
        r#"{{"resourceType":"Bundle","type":"document","entry":[{}]}}"#,
        vec![r#"{"resource":{"resourceType":"Basic"}}"#; 6_000].join(",")
    );
    let big = vec![b' '; 600 * 1024];
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (big, 413, "larger than the limit"),
        (deep.into_bytes(), 400, "nesting"),
        (many.into_bytes(), 400, "entries"),
        (b"<Bundle xmlns=\"http://hl7.org/fhir\"/>".to_vec(), 400, "not valid JSON"),
        (Vec::new(), 400, "empty"),
        (b"[1,2]".to_vec(), 400, "JSON object"),
        (br#"{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Composition"}}],"entry":[]}"#.to_vec(), 400, "twice"),
    ];
    for (body, status, needle) in cases {
        let response = post_document(&app, HOSPITAL, &query, body).await;
        let outcome = outcome(response, status).await;
        assert!(issues_text(&outcome).contains(needle), "expected {needle:?} in {}", issues_text(&outcome));
    }
    // Neither FHIR JSON nor FHIR XML: the media type is refused before the body is read.
    let xml = app
        .client
        .post(format!("{}/fhir/Bundle{query}", app.base))
        .bearer_auth(HOSPITAL)
        .header("Content-Type", "text/plain")
        .body("Bundle")
        .send()
        .await
        .unwrap();
    outcome(xml, 415).await;
    assert_eq!(app.store.message_count().await.unwrap(), 0);
    // Every refusal left its two ledger entries, the edge's 413 and 415 too.
    let tail = app.store.ledger_tail(100).await.unwrap();
    let rejected: Vec<&str> =
        tail.iter().filter(|e| e.event.as_str() == "rejected").filter_map(|e| e.outcome.as_deref()).collect();
    assert_eq!(rejected.len(), 8, "{rejected:?}");
    assert!(rejected[0].starts_with("413 too-long") && rejected[7] == "415 unsupported-media-type", "{rejected:?}");
}

#[tokio::test]
async fn a_document_is_sent_only_as_the_callers_own_organisation() {
    let app = spawn_app().await;
    // GP Brugge sends the same summary to GP Heerlen: the wrap names GP Brugge, whatever the document says.
    let tracking = {
        let response = post_document(&app, GP_BRUGGE, &to_gp_heerlen(), ips_fixture()).await;
        assert_eq!(response.status().as_u16(), 202);
        tracking_id(&response.json().await.unwrap())
    };
    let (_, message) = mailbox_item(&app, GP_HEERLEN).await;
    let message: Value = serde_json::from_slice(&message).unwrap();
    assert_eq!(message["entry"][0]["resource"]["sender"]["identifier"]["value"], "10000000100");
    // Its receipts are GP Brugge's, not the hospital's.
    assert_eq!(app.receipt(GP_BRUGGE, tracking.as_str()).await.status().as_u16(), 200);
    outcome(app.receipt(HOSPITAL, tracking.as_str()).await, 404).await;
    // Without a token, or with an auditor's: refused.
    outcome(app.post_fhir_bytes(None, &format!("/fhir/Bundle{}", to_gp_heerlen()), ips_fixture()).await, 401).await;
    let auditor = token_with_role(&app, handover_broker::auth::Role::Auditor).await;
    outcome(post_document(&app, &auditor, &to_gp_heerlen(), ips_fixture()).await, 403).await;
}

#[tokio::test]
async fn every_ips_example_document_of_the_corpus_is_accepted() {
    let Some(_) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    // One broker each: two of the examples share their Bundle.identifier (the second is the first with an
    // immunization added), which one sender's broker rightly takes for a changed document (409).
    for name in [
        "Bundle-IPS-examples-Bundle-01.json",
        "Bundle-IPS-examples-Bundle-with-immunization.json",
        "Bundle-bundle-minimal.json",
        "Bundle-bundle-ips-all-sections.json",
        "Bundle-bundle-no-info-required-sections.json",
    ] {
        let app = spawn_app().await;
        let Some(document) = ips_example(name) else { return };
        let response = post_document(&app, HOSPITAL, &to(&[(URA, "90000012"), (NIHDI, "10000000100")]), document).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status == 202, "{name}: {status} {}", issues_text(&body));
    }
}

/// HL7 Belgium: the corpus holds no Belgian document Bundle (hl7-be-pss has collection Bundles,
/// hl7-be-medication single resources), so there is no Belgian document to send; say so rather than
/// pass silently.
#[test]
fn the_corpus_has_no_belgian_document_to_send() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let mut documents = Vec::new();
    for folder in ["hl7-be-pss/examples", "hl7-be-medication/examples"] {
        for entry in std::fs::read_dir(corpus.join(folder)).into_iter().flatten().flatten() {
            let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(entry.path()).unwrap_or_default()) else {
                continue;
            };
            if value["resourceType"] == "Bundle" && value["type"] == "document" {
                documents.push(entry.path());
            }
        }
    }
    if !documents.is_empty() {
        panic!("the corpus now has HL7 Belgium documents: add a test that sends them: {documents:?}");
    }
    eprintln!("skipped: no HL7 Belgium document Bundle in the corpus (only collections and single resources)");
}

/// One of the broker's message fixtures as the document it carries: its entries without the
/// MessageHeader (the Composition first), type document, with an identifier and a timestamp.
fn as_document(message: Value) -> Value {
    let entries: Vec<Value> = message["entry"].as_array().unwrap()[1..].to_vec();
    assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
    json!({
        "resourceType": "Bundle",
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", uuid::Uuid::new_v4()) },
        "type": "document",
        "timestamp": "2026-11-30T16:00:00+01:00",
        "entry": entries,
    })
}

#[tokio::test]
async fn a_belgian_discharge_letter_as_a_document_is_a_discharge_summary() {
    let app = spawn_app().await;
    let letter = as_document(fixture("discharge-summary-be.json"));
    let response =
        post_document(&app, HOSPITAL, &to(&[(NIHDI, "10000000100")]), serde_json::to_vec(&letter).unwrap()).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{}", issues_text(&body));
    let (_, message) = mailbox_item(&app, GP_BRUGGE).await;
    let message: Value = serde_json::from_slice(&message).unwrap();
    assert_eq!(message["entry"][0]["resource"]["eventCoding"]["code"], "discharge-summary");
}

#[tokio::test]
async fn a_type_shared_by_kinds_needs_the_event_parameter() {
    let app = spawn_app().await;
    // SNOMED 371535009 (transfer summary report) is the type of both nursing and admission handovers.
    let handover = serde_json::to_vec(&as_document(fixture("nursing-handover-nl.json"))).unwrap();
    let home_care = to(&[(URA, "90000013")]);
    let refused = outcome(post_document(&app, HOSPITAL, &home_care, handover.clone()).await, 422).await;
    let text = issues_text(&refused);
    assert!(
        text.contains("nursing-handover") && text.contains("admission-handover") && text.contains("event"),
        "{text}"
    );
    let wrong =
        outcome(post_document(&app, HOSPITAL, &format!("{home_care}&event=referral"), handover.clone()).await, 422)
            .await;
    assert_eq!(wrong["issue"][0]["expression"][0], "http.event");
    let chosen = post_document(&app, HOSPITAL, &format!("{home_care}&event=nursing-handover"), handover).await;
    let status = chosen.status().as_u16();
    let body: Value = chosen.json().await.unwrap();
    assert_eq!(status, 202, "{}", issues_text(&body));
    let tracking = tracking_id(&body);
    let ledger = app.store.ledger_for_message(&tracking).await.unwrap();
    assert_eq!(ledger[0].event_code.as_ref().map(|c| c.as_str().to_owned()).as_deref(), Some("nursing-handover"));
}

#[tokio::test]
async fn two_sends_of_one_document_at_once_make_one_message() {
    let app = spawn_app().await;
    let query = to_gp_heerlen();
    let (first, second) = tokio::join!(
        post_document(&app, HOSPITAL, &query, ips_fixture()),
        post_document(&app, HOSPITAL, &query, ips_fixture())
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 202], "the database's unique key decides");
    let (a, b): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(tracking_id(&a), tracking_id(&b));
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}
