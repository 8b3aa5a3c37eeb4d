//! Metadata and health endpoints.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn metadata_lists_the_handover_kinds_from_profiles() {
    let app = spawn_app().await;
    let response = app.get(None, "/fhir/metadata").await;
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.unwrap();
    let (kind, _) = handover_fhir::parse_bundle_type(&bytes).unwrap();
    assert_eq!(kind, "CapabilityStatement");
    let statement: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let mut definitions: Vec<&str> = statement["messaging"][0]["supportedMessage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["definition"].as_str().unwrap())
        .collect();
    definitions.sort();
    assert_eq!(
        definitions,
        [
            "https://fhir.handover-broker.eu/MessageDefinition/admission-handover",
            "https://fhir.handover-broker.eu/MessageDefinition/care-request",
            "https://fhir.handover-broker.eu/MessageDefinition/discharge-summary",
            "https://fhir.handover-broker.eu/MessageDefinition/nursing-handover",
            "https://fhir.handover-broker.eu/MessageDefinition/patient-summary",
            "https://fhir.handover-broker.eu/MessageDefinition/referral",
        ]
    );
    assert_eq!(statement["messaging"][0]["endpoint"][0]["address"], format!("{}/fhir/$process-message", app.base));
    // The broker's own operations and the capacity resource, each defined in profiles/.
    let rest = &statement["rest"][0];
    let operations: Vec<&str> =
        rest["operation"].as_array().unwrap().iter().map(|o| o["definition"].as_str().unwrap()).collect();
    assert!(operations.contains(&"https://fhir.handover-broker.eu/OperationDefinition/forward"), "{operations:?}");
    let capacity = &rest["resource"][0];
    assert_eq!(capacity["type"], "MeasureReport");
    assert_eq!(
        capacity["operation"][0]["definition"],
        "https://fhir.handover-broker.eu/OperationDefinition/region-summary"
    );
    // Documents (issue 15): FHIR's create of a Bundle.
    let resources = rest["resource"].as_array().unwrap();
    let bundle = resources.iter().find(|r| r["type"] == "Bundle").unwrap();
    assert_eq!((&bundle["type"], &bundle["interaction"][0]["code"]), (&Value::from("Bundle"), &Value::from("create")));
    for defined in ["forward", "region-summary"] {
        let path = project_dir().join(format!("profiles/OperationDefinition-{defined}.json"));
        let definition: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(definition["code"], defined);
    }
}

#[tokio::test]
async fn health_and_readiness_answer_without_credentials() {
    let app = spawn_app().await;
    assert_eq!(app.get(None, "/healthz").await.status().as_u16(), 200);
    let ready = app.get(None, "/readyz").await;
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}
