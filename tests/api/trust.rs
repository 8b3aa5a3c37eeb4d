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
        .position(|e| e["resource"]["resourceType"] == "Organization" && e["resource"]["identifier"][0]["value"] == "90000012")
        .expect("the GP's Organization entry")
}

fn hospital_organization(bundle: &Value) -> usize {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["resource"]["resourceType"] == "Organization" && e["resource"]["identifier"][0]["value"] == "90000011")
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
