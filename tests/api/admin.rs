//! `/admin/...`: directory management by `admin` tokens: list, get, export, import, delete.

use handover_broker::auth::Role;
use handover_broker::directory::{
    organizations_from_bundle, read_bundle_file, CA_CERTIFICATE_URL, CLIENT_CERTIFICATE_URL, PUSH_CODE, PUSH_SYSTEM,
    RECEIPT_PREFERENCE_URL,
};
use handover_broker::model::codes::EVENT_SYSTEM;
use handover_broker::model::Organization;
use serde_json::{json, Value};

use crate::helpers::*;

const NEW_URA: &str = "90000099";
const NEW_ADDRESS: &str = "http://127.0.0.1:9199/fhir";

/// A directory Bundle with one new push organisation (`gp-nieuw`) that accepts discharge summaries.
fn new_organization(address: &str, identifier: &str) -> Value {
    let ca = rcgen::generate_simple_self_signed(vec!["ca.gp-nieuw.example".to_owned()]).unwrap().cert.pem();
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            { "fullUrl": "urn:uuid:6a4c52a2-52cf-4a32-9b1c-0d7c3d4a1f01", "resource": {
                "resourceType": "Organization", "id": "gp-nieuw",
                "extension": [{ "url": RECEIPT_PREFERENCE_URL, "valueCode": "business-only" }],
                "identifier": [{ "system": URA, "value": identifier }],
                "active": true, "name": "Huisartsenpraktijk Nieuw (test)",
                "endpoint": [{ "reference": "urn:uuid:6a4c52a2-52cf-4a32-9b1c-0d7c3d4a1f02" }] } },
            { "fullUrl": "urn:uuid:6a4c52a2-52cf-4a32-9b1c-0d7c3d4a1f02", "resource": {
                "resourceType": "Endpoint", "id": "gp-nieuw-endpoint",
                "extension": [
                    { "url": CA_CERTIFICATE_URL, "valueString": ca },
                    { "url": CLIENT_CERTIFICATE_URL, "valueBoolean": true }
                ],
                "status": "active",
                "connectionType": { "system": PUSH_SYSTEM, "code": PUSH_CODE },
                "payloadType": [{ "coding": [{ "system": EVENT_SYSTEM, "code": "discharge-summary" }] }],
                "address": address } }
        ]
    })
}

/// A discharge summary from the hospital to the new organisation.
fn discharge_to_new() -> Value {
    let mut bundle = discharge();
    header(&mut bundle)["destination"] = json!([destination(URA, NEW_URA, NEW_ADDRESS)]);
    bundle
}

/// Organisations in the store's order: by id, identifiers and events sorted.
fn normalised(mut organizations: Vec<Organization>) -> Vec<Organization> {
    for org in &mut organizations {
        org.identifiers.sort();
        org.events.sort();
    }
    organizations.sort_by(|a, b| a.id.cmp(&b.id));
    organizations
}

async fn json_ok(response: reqwest::Response) -> Value {
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn list(app: &TestApp, token: &str) -> Value {
    json_ok(app.get(Some(token), "/admin/organizations").await).await
}

#[tokio::test]
async fn admin_endpoints_need_an_admin_token() {
    let app = spawn_app().await;
    let auditor = token_with_role(&app, Role::Auditor).await;
    let sender = token_with_role(&app, Role::Sender).await;
    let bundle = new_organization(NEW_ADDRESS, NEW_URA);
    for token in [None, Some("not-a-token"), Some(sender.as_str()), Some(HOSPITAL), Some(auditor.as_str())] {
        let status = if token.is_some_and(|t| t != "not-a-token") { 403 } else { 401 };
        for path in ["/admin/organizations", "/admin/organizations/gp-heerlen", "/admin/directory"] {
            outcome(app.get(token, path).await, status).await;
        }
        outcome(app.post_json(token, "/admin/directory", &bundle).await, status).await;
        outcome(app.delete(token, "/admin/organizations/triage-westkust").await, status).await;
    }
    // Nothing changed.
    assert_eq!(app.store.organization_count().await.unwrap(), demo_organizations().len() as i64);
}

#[tokio::test]
async fn an_admin_lists_and_reads_organisations() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let all = list(&app, &admin).await;
    let ids: Vec<&str> = all.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut demo: Vec<String> = demo_organizations().iter().map(|o| o.id.to_string()).collect();
    demo.sort();
    assert_eq!(ids, demo, "every demo organisation, ordered by id");

    let gp = json_ok(app.get(Some(&admin), "/admin/organizations/gp-heerlen").await).await;
    assert_eq!(
        gp,
        json!({
            "id": "gp-heerlen",
            "name": "Huisartsenpraktijk Heerlen-Centrum (demo)",
            "identifiers": ["http://fhir.nl/fhir/NamingSystem/agb-z|01050012", format!("{URA}|90000012")],
            "smart_client": null,
            "events": ["discharge-summary", "patient-summary"],
            "delivery": "mailbox",
            "address": GP_HEERLEN_MAILBOX,
            "client_certificate": false,
            "receipts": "all",
            "language": null,
            "has_ca": false,
            "certificates": [],
            "triage_point": false,
            "care_types": [],
            "opening_hours": null,
            "response_times": [],
        })
    );
    assert_eq!(all[index_of(&all, "gp-heerlen")], gp);
    let triage = &all[index_of(&all, "zorgpunt-zuid-limburg")];
    assert_eq!((&triage["triage_point"], &triage["events"]), (&json!(true), &json!(["care-request"])));
    assert_eq!(triage["opening_hours"], "Europe/Amsterdam mon,tue,wed,thu,fri 08:30:00-17:00:00");
    assert_eq!(triage["response_times"], json!(["urgent 2h -> vpl-hoogveld", "asap 30min"]));
    let home = &all[index_of(&all, "vpl-hoogveld")];
    assert_eq!(
        home["care_types"],
        json!(["elv-high", "elv-low", "elv-palliative", "geriatric-rehabilitation", "respite"])
    );

    for unknown in ["no-such-org", "not%20an%20id"] {
        outcome(app.get(Some(&admin), &format!("/admin/organizations/{unknown}")).await, 404).await;
    }
}

#[tokio::test]
async fn the_export_is_the_directory_and_imports_back_unchanged() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let response = app.get(Some(&admin), "/admin/directory").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with(FHIR_JSON));
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["resourceType"], "Bundle");
    assert_eq!(export["type"], "collection");
    assert_eq!(export["entry"].as_array().unwrap().len(), 2 * demo_organizations().len());

    let fixture = read_bundle_file(&project_dir().join("fixtures/demo-directory.json")).unwrap();
    let exported = organizations_from_bundle(&serde_json::to_vec(&export).unwrap()).unwrap();
    assert_eq!(normalised(exported), normalised(fixture.clone()));

    let before = list(&app, &admin).await;
    let response = app.post_json(Some(&admin), "/admin/directory", &export).await;
    assert_eq!(json_ok(response).await, json!({ "imported": demo_organizations().len() }));
    assert_eq!(list(&app, &admin).await, before);
    assert_eq!(normalised(app.store.organizations().await.unwrap()), normalised(fixture));
    // And the same export again.
    assert_eq!(json_ok(app.get(Some(&admin), "/admin/directory").await).await, export);
}

#[tokio::test]
async fn an_organisation_imported_through_the_api_receives_messages_at_once() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    // Unknown before the import.
    let refused = outcome(app.post_message(HOSPITAL, &discharge_to_new()).await, 422).await;
    assert!(issues_text(&refused).contains(NEW_URA), "{}", issues_text(&refused));

    let response = app.post_json(Some(&admin), "/admin/directory", &new_organization(NEW_ADDRESS, NEW_URA)).await;
    assert_eq!(json_ok(response).await, json!({ "imported": 1 }));
    let org = json_ok(app.get(Some(&admin), "/admin/organizations/gp-nieuw").await).await;
    assert_eq!(org["delivery"], "push");
    assert_eq!(org["address"], NEW_ADDRESS);
    assert_eq!(org["receipts"], "business-only");
    assert_eq!(org["client_certificate"], true);
    assert_eq!(org["has_ca"], true);
    assert_eq!(list(&app, &admin).await.as_array().unwrap().len(), demo_organizations().len() + 1);

    // Routed without waiting for the periodic directory refresh.
    let response = app.post_message(HOSPITAL, &discharge_to_new()).await;
    assert_eq!(response.status().as_u16(), 202);
    let ack: Value = response.json().await.unwrap();
    let deliveries = app.store.deliveries(&tracking_id(&ack)).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].receiver_org, "gp-nieuw");

    // The extensions survive the export.
    let export = json_ok(app.get(Some(&admin), "/admin/directory").await).await;
    let exported = organizations_from_bundle(&serde_json::to_vec(&export).unwrap()).unwrap();
    let stored = app.store.organizations().await.unwrap();
    assert_eq!(exported, stored);
    let new = stored.iter().find(|o| o.id.as_str() == "gp-nieuw").unwrap();
    assert!(new.ca_pem.as_deref().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test]
async fn an_invalid_directory_is_refused_with_422_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let before = list(&app, &admin).await;

    // Plain http off loopback.
    let response =
        app.post_json(Some(&admin), "/admin/directory", &new_organization("http://gp.example/fhir", NEW_URA)).await;
    let refused = outcome(response, 422).await;
    assert!(issues_text(&refused).contains("Bundle.entry[1].resource.address"), "{}", issues_text(&refused));
    assert!(issues_text(&refused).contains("https"), "{}", issues_text(&refused));

    // An identifier that belongs to another organisation.
    let response = app.post_json(Some(&admin), "/admin/directory", &new_organization(NEW_ADDRESS, "90000012")).await;
    let refused = outcome(response, 422).await;
    assert!(issues_text(&refused).contains("90000012"), "{}", issues_text(&refused));

    // A CA certificate that is not a PEM certificate.
    let mut bundle = new_organization(NEW_ADDRESS, NEW_URA);
    bundle["entry"][1]["resource"]["extension"][0]["valueString"] = json!("not a certificate");
    let refused = outcome(app.post_json(Some(&admin), "/admin/directory", &bundle).await, 422).await;
    assert!(issues_text(&refused).contains("valueString"), "{}", issues_text(&refused));

    // Not a Bundle; not JSON at all.
    outcome(app.post_json(Some(&admin), "/admin/directory", &json!({ "resourceType": "Patient" })).await, 422).await;
    outcome(app.post_fhir_bytes(Some(&admin), "/admin/directory", "{not json").await, 400).await;

    assert_eq!(list(&app, &admin).await, before);
    outcome(app.post_message(HOSPITAL, &discharge_to_new()).await, 422).await;
}

#[tokio::test]
async fn an_organisation_with_messages_or_deliveries_cannot_be_deleted() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);

    // gp-heerlen has a delivery, the hospital sent a message (and holds the admin token).
    for id in ["gp-heerlen", "zzl-hospital"] {
        let conflict = outcome(app.delete(Some(&admin), &format!("/admin/organizations/{id}")).await, 409).await;
        assert!(issues_text(&conflict).contains("conflict"), "{}", issues_text(&conflict));
    }
    assert_eq!(list(&app, &admin).await.as_array().unwrap().len(), demo_organizations().len());
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);
}

#[tokio::test]
async fn an_unused_organisation_is_deleted_with_its_tokens_and_is_no_longer_routed() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let triage = handover_broker::model::OrgIdentifier::new(
        "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization",
        "10000000300",
    )
    .unwrap();
    let triage_token = handover_broker::auth::issue_token(&app.store, &triage, Role::Sender).await.unwrap().token;
    assert_eq!(app.get(Some(&triage_token), "/fhir/receipts/unknown").await.status().as_u16(), 404);

    let response = app.delete(Some(&admin), "/admin/organizations/triage-westkust").await;
    assert_eq!(response.status().as_u16(), 204);
    outcome(app.get(Some(&admin), "/admin/organizations/triage-westkust").await, 404).await;
    outcome(app.delete(Some(&admin), "/admin/organizations/triage-westkust").await, 404).await;
    assert_eq!(list(&app, &admin).await.as_array().unwrap().len(), demo_organizations().len() - 1);
    outcome(app.get(Some(&triage_token), "/fhir/receipts/unknown").await, 401).await;

    let mut bundle = discharge();
    header(&mut bundle)["destination"] =
        json!([destination(NIHDI, "10000000300", "https://fhir.handover-broker.eu/mailbox/triage-westkust")]);
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 422).await;
    assert!(issues_text(&refused).contains("10000000300"), "{}", issues_text(&refused));
}

fn index_of(all: &Value, id: &str) -> usize {
    all.as_array().unwrap().iter().position(|o| o["id"] == id).unwrap()
}
