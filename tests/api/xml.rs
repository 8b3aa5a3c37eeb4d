//! FHIR XML on the HTTP interface (issue 15): XML accepted wherever JSON is, answers in the format
//! asked for, the exact XML bytes kept and delivered to receivers registered for XML, conversions for
//! the others, and the ledger naming the hash of every form.

use handover_broker::model::Format;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::delivery::{nursing_to, stepped_broker_where, Receiver};
use crate::helpers::*;

const FHIR_XML: &str = "application/fhir+xml";

/// The FHIR XML of a JSON resource, as a system writing XML would send it.
fn as_xml(resource: &Value) -> Vec<u8> {
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let order = handover_broker::fhirxml::ElementOrder::load().unwrap();
    handover_broker::fhirxml::to_xml(resource, &model, &order).unwrap().into_bytes()
}

/// JSON read back from FHIR XML (by the broker's reader, which the corpus tests hold to the R4 rules).
fn from_xml(xml: &[u8]) -> Value {
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let limits = handover_broker::fhirxml::XmlLimits { max_depth: 64, max_elements: 1_000_000 };
    serde_json::from_str(&handover_broker::fhirxml::to_json(xml, &model, limits).unwrap()).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl TestApp {
    async fn post_xml(&self, token: &str, path: &str, body: Vec<u8>, accept: Option<&str>) -> reqwest::Response {
        let mut request =
            self.client.post(format!("{}{path}", self.base)).bearer_auth(token).header("Content-Type", FHIR_XML);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        request.body(body).send().await.expect("request sent")
    }

    async fn get_as(&self, token: Option<&str>, path: &str, accept: &str) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base)).header("Accept", accept);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers().get("Content-Type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// One ledger entry: (event, receiver, payload hash, outcome).
type Entry = (String, Option<String>, Option<String>, Option<String>);

/// The ledger entries of one message, in order.
async fn entries(app: &TestApp, tracking_id: &str) -> Vec<Entry> {
    let query =
        handover_broker::store::LedgerQuery { message: Some(tracking_id.to_owned()), limit: 100, ..Default::default() };
    app.store
        .query_ledger(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let entry = e.entry;
            let receiver = entry.receiver_org.map(|o| o.to_string());
            (entry.event.to_string(), receiver, entry.payload_sha256.map(|h| h.as_str().to_owned()), entry.outcome)
        })
        .collect()
}

/// The one mailbox item of `org` (its id).
async fn only_item(app: &TestApp, org: &str) -> String {
    let listing: Value = app.get(Some(&format!("demo-{org}")), "/fhir/mailbox").await.json().await.unwrap();
    assert_eq!(listing["total"], 1, "{listing}");
    let id = listing["entry"][0]["resource"]["id"].as_str().or_else(|| listing["entry"][0]["fullUrl"].as_str());
    let url = listing["entry"][0]["fullUrl"].as_str().unwrap();
    let _ = id;
    url.rsplit('/').next().unwrap().to_owned()
}

/// A hospital that writes XML sends the discharge letter as FHIR XML; the GP practice (registered for
/// JSON) pulls the JSON the broker checked, which is the same handover; the acknowledgement comes back
/// in XML; the ledger names both forms.
#[tokio::test]
async fn an_xml_message_is_accepted_acknowledged_in_xml_and_delivered_as_json() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let bundle = discharge();
    let xml = as_xml(&bundle);
    let response = app.post_xml("demo-zzl-hospital", "/fhir/$process-message", xml.clone(), None).await;
    assert_eq!(response.status().as_u16(), 202);
    assert!(content_type(&response).starts_with(FHIR_XML), "{}", content_type(&response));
    let location = response.headers()["Location"].to_str().unwrap().to_owned();
    let ack = from_xml(&response.bytes().await.unwrap());
    assert_eq!(ack["type"], "message");
    assert_eq!(ack["entry"][0]["resource"]["response"]["code"], "ok");
    let tracking = tracking_id(&ack);
    assert!(location.ends_with(tracking.as_str()));

    // The receiver registered for JSON gets JSON: the same handover, entry by entry.
    let item = only_item(&app, "gp-heerlen").await;
    let download = app.get(Some("demo-gp-heerlen"), &format!("/fhir/mailbox/{item}")).await;
    assert_eq!(download.status().as_u16(), 200);
    assert!(content_type(&download).starts_with("application/fhir+json"));
    let delivered = download.bytes().await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&delivered).unwrap(), bundle);

    // Asked for XML, the same receiver gets the exact bytes the hospital sent.
    let as_sent = app.get_as(Some("demo-gp-heerlen"), &format!("/fhir/mailbox/{item}"), FHIR_XML).await;
    assert!(content_type(&as_sent).starts_with(FHIR_XML));
    assert_eq!(as_sent.bytes().await.unwrap(), xml);

    // The ledger: `received` names the XML received, `accepted` the JSON made of it, and the routed
    // entry (a JSON receiver) the JSON it gets.
    let entries = entries(&app, tracking.as_str()).await;
    let hash_of = |event: &str| entries.iter().find(|e| e.0 == event).and_then(|e| e.2.clone());
    assert_eq!(hash_of("received"), Some(sha256(&xml)));
    assert_eq!(hash_of("accepted"), Some(sha256(&delivered)));
    assert_eq!(hash_of("routed"), Some(sha256(&delivered)));

    // Receipts in XML when asked for.
    let receipt = app.get_as(Some("demo-zzl-hospital"), &location, FHIR_XML).await;
    assert_eq!(receipt.status().as_u16(), 200);
    assert_eq!(from_xml(&receipt.bytes().await.unwrap())["resourceType"], "Parameters");

    // A resend of the same message as JSON is the same message (deduplication across formats).
    let again = app.post_message("demo-zzl-hospital", &bundle).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(tracking_id(&again.json().await.unwrap()), tracking);
}

/// A receiver registered for XML (`Endpoint.payloadMimeType`): a push receiver gets a JSON message as
/// XML, converted once at ingest, with its hash in the routed ledger entry and the push's hash header;
/// an XML message it gets byte for byte, hash as received.
#[tokio::test]
async fn a_receiver_registered_for_xml_gets_xml_exact_or_converted() {
    let receiver = Receiver::plain();
    let app = stepped_broker_where(
        &[("thuiszorg-parkstad", &receiver.address)],
        |s| s.demo = true,
        |org| {
            if org.id.as_str() == "thuiszorg-parkstad" {
                org.format = Format::Xml;
            }
        },
    )
    .await;
    // JSON in: converted for this receiver.
    let json_message = nursing_to(&receiver.address);
    let response = app.post_message("demo-zzl-hospital", &json_message).await;
    assert_eq!(response.status().as_u16(), 202);
    let json_tracking = tracking_id(&response.json().await.unwrap());
    // XML in: kept as sent.
    let xml_message = nursing_to(&receiver.address);
    let xml = as_xml(&xml_message);
    let response =
        app.post_xml("demo-zzl-hospital", "/fhir/$process-message", xml.clone(), Some("application/fhir+json")).await;
    assert_eq!(response.status().as_u16(), 202);
    assert!(content_type(&response).starts_with("application/fhir+json"), "Accept decides over the body's format");
    let xml_tracking = tracking_id(&response.json().await.unwrap());

    app.deliver_pending().await;
    let got = receiver.state.got();
    assert_eq!(got.len(), 2);
    for g in &got {
        assert!(g.content_type.starts_with(FHIR_XML), "{}", g.content_type);
        assert_eq!(g.hash_header, sha256(&g.body), "the hash header names the bytes sent");
    }
    let converted = got.iter().find(|g| g.body != xml).expect("the JSON message, converted");
    assert_eq!(from_xml(&converted.body), json_message);
    assert!(got.iter().any(|g| g.body == xml), "the XML message arrives byte for byte");

    let routed_hash = |entries: &[Entry]| entries.iter().find(|e| e.0 == "routed").and_then(|e| e.2.clone());
    let json_entries = entries(&app, json_tracking.as_str()).await;
    assert_eq!(routed_hash(&json_entries), Some(sha256(&converted.body)));
    assert_eq!(
        json_entries.iter().find(|e| e.0 == "received").and_then(|e| e.2.clone()),
        Some(sha256(&serde_json::to_vec(&json_message).unwrap()))
    );
    let xml_entries = entries(&app, xml_tracking.as_str()).await;
    assert_eq!(xml_entries.iter().find(|e| e.0 == "received").and_then(|e| e.2.clone()), Some(sha256(&xml)));
    // The receiver takes the form received: the routed entry names no other.
    assert_eq!(routed_hash(&xml_entries), None);
    receiver.stop().await;
}

/// Every answer follows `_format` and `Accept`: the CapabilityStatement, errors (401, 404, 415, 400),
/// the `$validate` outcome and AuditEvent searches; a format the broker does not write is 406.
#[tokio::test]
async fn answers_follow_format_and_accept_errors_included() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let metadata = app.get(None, "/fhir/metadata?_format=xml").await;
    assert_eq!(metadata.status().as_u16(), 200);
    assert!(content_type(&metadata).starts_with(FHIR_XML));
    let capability = from_xml(&metadata.bytes().await.unwrap());
    assert_eq!(capability["resourceType"], "CapabilityStatement");
    assert!(capability["format"].as_array().unwrap().contains(&Value::from(FHIR_XML)), "{}", capability["format"]);

    let unauthorized = app.get_as(None, "/fhir/mailbox", "application/fhir+xml").await;
    assert_eq!(unauthorized.status().as_u16(), 401);
    assert_eq!(from_xml(&unauthorized.bytes().await.unwrap())["resourceType"], "OperationOutcome");

    let missing = app.get_as(Some("demo-gp-heerlen"), "/fhir/nothing-here", "text/xml").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(from_xml(&missing.bytes().await.unwrap())["issue"][0]["code"], "not-found");

    // `_format` wins over Accept.
    let json = app.get_as(None, "/fhir/metadata?_format=json", FHIR_XML).await;
    assert!(content_type(&json).starts_with("application/fhir+json"));

    for (accept, query) in [("text/html", ""), ("application/fhir+json", "?_format=turtle")] {
        let refused = app.get_as(None, &format!("/fhir/metadata{query}"), accept).await;
        assert_eq!(refused.status().as_u16(), 406, "{accept} {query}");
        assert_eq!(refused.json::<Value>().await.unwrap()["issue"][0]["code"], "not-supported");
    }
    // A browser's Accept (XML among others, a wildcard last) gets XML.
    let browser =
        app.get_as(None, "/fhir/metadata", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8").await;
    assert!(content_type(&browser).starts_with(FHIR_XML));

    // An incomplete handover in XML: the same issues, with the same expressions, as in JSON.
    let mut incomplete = discharge();
    let patient = entry_of(&incomplete, "Patient");
    incomplete["entry"][patient]["resource"].as_object_mut().unwrap().remove("birthDate");
    let as_json = app.post_json(Some("demo-zzl-hospital"), "/fhir/$validate", &incomplete).await;
    let as_json: Value = as_json.json().await.unwrap();
    let in_xml = app.post_xml("demo-zzl-hospital", "/fhir/$validate", as_xml(&incomplete), None).await;
    assert!(content_type(&in_xml).starts_with(FHIR_XML));
    let in_xml = from_xml(&in_xml.bytes().await.unwrap());
    assert_eq!(in_xml["issue"], as_json["issue"]);
    assert!(issues_text(&as_json).contains("birthDate"), "{as_json}");

    // The auditor's AuditEvent search in XML.
    let auditor = token_with_role(&app, handover_broker::auth::Role::Auditor).await;
    let audit = app.get_as(Some(&auditor), "/fhir/AuditEvent?_count=5", FHIR_XML).await;
    assert_eq!(audit.status().as_u16(), 200);
    assert_eq!(from_xml(&audit.bytes().await.unwrap())["type"], "searchset");

    // A media type the broker does not read: 415, as an OperationOutcome in the format asked for.
    let response = app
        .client
        .post(format!("{}/fhir/$process-message", app.base))
        .bearer_auth("demo-zzl-hospital")
        .header("Content-Type", "application/fhir+turtle")
        .header("Accept", FHIR_XML)
        .body("@prefix fhir: <http://hl7.org/fhir/> .")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    assert_eq!(from_xml(&response.bytes().await.unwrap())["resourceType"], "OperationOutcome");
}

/// Hostile XML over HTTP: refused with a 400 OperationOutcome (in XML, the request's format), never
/// expanded, nothing stored, the refusal ledgered with the hash of the bytes received.
#[tokio::test]
async fn hostile_xml_is_refused_stored_nowhere_and_ledgered() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Bundle xmlns="http://hl7.org/fhir"><id value="&lol3;"/></Bundle>"#
        .to_vec();
    let external = br#"<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Bundle xmlns="http://hl7.org/fhir"><id value="&x;"/></Bundle>"#
        .to_vec();
    let deep = format!(
        "<Bundle xmlns=\"http://hl7.org/fhir\">{}{}</Bundle>",
        "<extension url=\"x\">".repeat(10_000),
        "</extension>".repeat(10_000)
    )
    .into_bytes();
    let not_fhir = b"<html><body>hello</body></html>".to_vec();
    let truncated = {
        let full = as_xml(&discharge());
        full[..full.len() / 2].to_vec()
    };
    for (name, body) in [
        ("billion laughs", laughs),
        ("external entity", external),
        ("10,000 deep", deep),
        ("not FHIR", not_fhir),
        ("truncated", truncated),
    ] {
        let hash = sha256(&body);
        let response = app.post_xml("demo-zzl-hospital", "/fhir/$process-message", body, None).await;
        assert_eq!(response.status().as_u16(), 400, "{name}");
        assert!(content_type(&response).starts_with(FHIR_XML), "{name}");
        let outcome = from_xml(&response.bytes().await.unwrap());
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{name}");
        assert!(!issues_text(&outcome).contains("lollol"), "{name}: nothing expanded");
        let query =
            handover_broker::store::LedgerQuery { event: Some("rejected".into()), limit: 100, ..Default::default() };
        let rejected = app.store.query_ledger(&query).await.unwrap();
        assert!(!rejected.is_empty(), "{name}");
        let received =
            handover_broker::store::LedgerQuery { event: Some("received".into()), limit: 100, ..Default::default() };
        let received = app.store.query_ledger(&received).await.unwrap();
        assert!(
            received.iter().any(|e| e.entry.payload_sha256.as_ref().map(|h| h.as_str()) == Some(hash.as_str())),
            "{name}"
        );
    }
    // A 50 MB attribute is over the body limit: 413 before anything is read into a tree.
    let huge = format!("<Bundle xmlns=\"http://hl7.org/fhir\"><id value=\"{}\"/></Bundle>", "a".repeat(50 << 20));
    let response = app.post_xml("demo-zzl-hospital", "/fhir/$process-message", huge.into_bytes(), None).await;
    assert_eq!(response.status().as_u16(), 413);
    // Nothing reached a mailbox.
    let listing: Value = app.get(Some("demo-gp-heerlen"), "/fhir/mailbox").await.json().await.unwrap();
    assert_eq!(listing["total"], 0);
}

/// XML is accepted wherever JSON is: a bed-capacity report posted as XML is stored and read back.
#[tokio::test]
async fn other_fhir_posts_take_xml_too() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let report = crate::capacity::report("90000015", &[("elv-low", 10, 7, 3)]);
    let response = app.post_xml("demo-vpl-hoogveld", "/fhir/MeasureReport", as_xml(&report), None).await;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    assert_eq!(from_xml(&body)["resourceType"], "MeasureReport");
}

/// A Notified Pull receiver that asks for XML reads the message as the hospital sent it, byte for byte,
/// and the document made of it as XML.
#[tokio::test]
async fn a_notified_pull_receiver_reads_the_xml_as_sent() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let endpoint = demo_organizations()
        .into_iter()
        .find(|o| o.id.as_str() == "wijkverpleging-landgraaf")
        .expect("the demo's notified-pull receiver")
        .address;
    let mut bundle = fresh(fixture("nursing-handover-nl.json"));
    header(&mut bundle)["destination"] = serde_json::json!([{
        "receiver": identifier_ref("http://fhir.nl/fhir/NamingSystem/ura", "90000017"),
        "endpoint": endpoint,
    }]);
    let xml = as_xml(&bundle);
    let response =
        app.post_xml("demo-zzl-hospital", "/fhir/$process-message", xml.clone(), Some("application/fhir+json")).await;
    let status = response.status().as_u16();
    let ack: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{ack}");
    let tracking = tracking_id(&ack);
    let reader = "demo-wijkverpleging-landgraaf";
    let message = app.get_as(Some(reader), &format!("/fhir/Bundle/{tracking}"), FHIR_XML).await;
    assert_eq!(message.status().as_u16(), 200);
    assert!(content_type(&message).starts_with(FHIR_XML));
    assert_eq!(message.bytes().await.unwrap(), xml);
    // Without asking, it gets the format it registered (JSON here): the same handover.
    let json = app.get(Some(reader), &format!("/fhir/Bundle/{tracking}")).await;
    assert_eq!(json.json::<Value>().await.unwrap(), bundle);
    let document = app.get_as(Some(reader), &format!("/fhir/Composition/{tracking}/$document"), FHIR_XML).await;
    assert_eq!(document.status().as_u16(), 200);
    let document = from_xml(&document.bytes().await.unwrap());
    assert_eq!(document["type"], "document");
    assert_eq!(document["entry"][0]["resource"]["resourceType"], "Composition");
}

/// `handover-broker validate` reads FHIR XML files as the broker reads XML bodies: a complete handover
/// written as XML passes, an incomplete one fails with the same issue (code and location) as its JSON.
#[test]
fn the_cli_validates_xml_files_like_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"))
            .args(["validate", "--json"])
            .arg(file)
            .env("HANDOVER_PROFILES_DIR", project_dir().join("profiles"))
            .output()
            .unwrap()
    };
    let complete = dir.path().join("discharge.xml");
    std::fs::write(&complete, as_xml(&fixture("discharge-summary-nl.json"))).unwrap();
    let passed = validate(&complete);
    assert!(passed.status.success(), "{}", String::from_utf8_lossy(&passed.stdout));

    let incomplete = fixture("incomplete/admission-handover--missing-alerts.json");
    let as_json = dir.path().join("incomplete.json");
    std::fs::write(&as_json, serde_json::to_vec(&incomplete).unwrap()).unwrap();
    let as_xml_file = dir.path().join("incomplete.xml");
    // Leading white space, as files often have: still XML.
    std::fs::write(&as_xml_file, [b"\n  ".as_slice(), &as_xml(&incomplete)].concat()).unwrap();
    let issues = |output: std::process::Output| {
        assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stdout));
        let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
        let errors: Vec<(Value, Value)> = outcome["issue"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["severity"] == "error")
            .map(|i| (i["code"].clone(), i["expression"].clone()))
            .collect();
        assert!(!errors.is_empty());
        errors
    };
    assert_eq!(issues(validate(&as_xml_file)), issues(validate(&as_json)));
}
