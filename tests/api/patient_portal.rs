//! Patient transparency (issue 16): a patient portal reads one patient's handovers, in plain words:
//! who sent which kind to whom, when, and whether it arrived; never another patient's, never the
//! broker's internals; every read ledgered.

use handover_broker::auth::Role;
use serde_json::{json, Value};

use crate::helpers::*;

const BSN: &str = "http://fhir.nl/fhir/NamingSystem/bsn";

/// A fresh discharge about the patient with BSN `bsn`.
fn discharge_about(bsn: &str) -> Value {
    let mut bundle = discharge();
    let patient = entry_of(&bundle, "Patient");
    bundle["entry"][patient]["resource"]["identifier"][0]["value"] = json!(bsn);
    bundle
}

async fn read(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.get(Some(token), &format!("/fhir/AuditEvent{query}")).await
}

#[tokio::test]
async fn a_portal_sees_its_patients_handovers_in_plain_words_and_nothing_else() {
    let app = spawn_app().await;
    // Two discharges to the GP's mailbox, about two patients; the GP takes the first.
    let first: Value = app.post_message(HOSPITAL, &discharge_about("999911120")).await.json().await.unwrap();
    let other: Value = app.post_message(HOSPITAL, &discharge_about("999993653")).await.json().await.unwrap();
    let item = app.store.deliveries(&tracking_id(&first)).await.unwrap().remove(0).delivery_id;
    let ack = app.post_json(Some(GP_HEERLEN), &format!("/fhir/mailbox/{item}/$acknowledge"), &json!({})).await;
    assert_eq!(ack.status().as_u16(), 200);

    let portal = token_with_role(&app, Role::PatientPortal).await;
    let response = read(&app, &portal, &format!("?patient-identifier={BSN}%7C999911120")).await;
    assert_eq!(response.status().as_u16(), 200);
    let found: Value = response.json().await.unwrap();
    assert_eq!(found["total"], 1, "{found}");
    let event = &found["entry"][0]["resource"];
    let words = event["outcomeDesc"].as_str().unwrap();
    assert!(words.contains("sent a discharge summary about you to") && words.contains("It arrived on"), "{words}");
    assert_eq!(event["agent"][0]["who"]["display"].as_str().unwrap(), words.split(" sent ").next().unwrap());
    assert_eq!(event["entity"][0]["detail"][1]["valueString"], "arrived");
    // Nothing of the broker's internals: no ids, hashes or the other patient's message.
    let text = found.to_string();
    for internal in
        [tracking_id(&first).as_str(), tracking_id(&other).as_str(), item.as_str(), "payload-sha256", "patient-key"]
    {
        assert!(!text.contains(internal), "{internal} shown to the patient");
    }
    // In the patient's language: Dutch for a Dutch browser.
    let dutch: Value = app
        .client
        .get(format!("{}/fhir/AuditEvent?patient-identifier={BSN}%7C999911120", app.base))
        .bearer_auth(&portal)
        .header("Accept-Language", "nl-NL,nl;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let woorden = dutch["entry"][0]["resource"]["outcomeDesc"].as_str().unwrap();
    assert!(
        woorden.contains("een ontslagbrief over u gestuurd naar") && woorden.contains("aangekomen op"),
        "{woorden}"
    );
    // The other patient's handover is theirs alone; it is on its way.
    let theirs: Value =
        read(&app, &portal, &format!("?patient-identifier={BSN}%7C999993653")).await.json().await.unwrap();
    assert_eq!(theirs["total"], 1);
    assert_eq!(theirs["entry"][0]["resource"]["entity"][0]["detail"][1]["valueString"], "on-its-way");
    // Nobody with that number: nothing.
    let nobody: Value =
        read(&app, &portal, &format!("?patient-identifier={BSN}%7C999990019")).await.json().await.unwrap();
    assert_eq!(nobody["total"], 0);

    // One patient per request, by identifier only: anything else is refused.
    for query in [
        String::new(),
        format!("?patient-identifier={BSN}%7C999911120&patient-identifier={BSN}%7C999993653"),
        format!("?patient-identifier={BSN}%7C999911120&sender=demo-zzl-hospital"),
        "?patient-identifier=no-bar".to_owned(),
        format!("?patient-identifier={BSN}%7C{}", "9".repeat(5000)),
    ] {
        let refused = read(&app, &portal, &query).await;
        assert_eq!(refused.status().as_u16(), 400, "{query}");
    }
    // Each read is in the ledger with the portal and the patient's key, never the number.
    let reads: Vec<_> = app
        .store
        .ledger_tail(20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome.as_deref() == Some("patient-portal read: the patient's handovers"))
        .collect();
    assert_eq!(reads.len(), 4);
    assert!(reads.iter().all(|e| e.patient_key.is_some() && e.actor_org.is_some()));
    assert!(reads.iter().all(|e| !format!("{e:?}").contains("999911120")));
    // A portal token reaches nothing else.
    assert_eq!(app.get(Some(&portal), "/fhir/mailbox").await.status().as_u16(), 403);
}
