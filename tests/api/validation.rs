//! Completeness validation: every rule fires on its fixture with the right expression, never on the
//! complete handovers; `$validate` is a dry run; `$process-message` refuses with 422 and stores nothing.

use std::collections::HashMap;

use serde_json::Value;

use crate::helpers::*;

/// Demo token of the organisation that sends `bundle` (by its MessageHeader.sender identifier).
fn sender_token(bundle: &Value) -> String {
    let directory: Value =
        serde_json::from_slice(&std::fs::read(project_dir().join("fixtures/demo-directory.json")).unwrap()).unwrap();
    let sender = &bundle["entry"][0]["resource"]["sender"]["identifier"];
    let org = directory["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| {
            r["resourceType"] == "Organization"
                && r["identifier"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["system"] == sender["system"] && i["value"] == sender["value"])
        })
        .expect("the sender is a demo organisation");
    format!("demo-{}", org["id"].as_str().unwrap())
}

/// One complete handover per kind and country.
const COMPLETE: [&str; 10] = [
    "care-request-nl.json",
    "care-request-be.json",
    "discharge-summary-nl.json",
    "discharge-summary-be.json",
    "nursing-handover-nl.json",
    "nursing-handover-be.json",
    "referral-nl.json",
    "referral-be.json",
    "admission-handover-nl.json",
    "admission-handover-be.json",
];

fn complete_fixtures() -> Vec<(String, Value)> {
    COMPLETE.into_iter().map(|name| (name.to_owned(), fixture(name))).collect()
}

fn incomplete_fixtures() -> Vec<(String, Value, Value)> {
    let dir = project_dir().join("fixtures/handovers/incomplete");
    let expected: HashMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut all: Vec<(String, Value, Value)> = expected
        .into_iter()
        .map(|(name, want)| {
            let bundle = serde_json::from_slice(&std::fs::read(dir.join(&name)).unwrap()).unwrap();
            (name, bundle, want)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 30, "every rule has its fixture");
    all
}

async fn validate(app: &TestApp, token: &str, bundle: &Value) -> Value {
    let response = app
        .client
        .post(format!("{}/fhir/$validate", app.base))
        .bearer_auth(token)
        .header("Content-Type", FHIR_JSON)
        .body(serde_json::to_vec(bundle).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn errors(outcome: &Value) -> Vec<&Value> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
        .collect()
}

#[tokio::test]
async fn the_complete_handovers_of_every_kind_pass_and_are_accepted() {
    let app = spawn_app().await;
    for (name, bundle) in complete_fixtures() {
        let token = sender_token(&bundle);
        let outcome = validate(&app, &token, &bundle).await;
        assert!(errors(&outcome).is_empty(), "{name}: {}", issues_text(&outcome));
        let response = app.post_message(&token, &bundle).await;
        assert_eq!(response.status().as_u16(), 202, "{name}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), COMPLETE.len() as i64);
}

#[tokio::test]
async fn every_rule_fires_on_its_fixture_with_its_expression() {
    let app = spawn_app().await;
    for (name, bundle, want) in incomplete_fixtures() {
        let token = sender_token(&bundle);
        let outcome = validate(&app, &token, &bundle).await;
        let (code, expression) = (want["code"].as_str().unwrap(), want["expression"].as_str().unwrap());
        let hit = errors(&outcome).into_iter().any(|i| i["code"] == code && i["expression"][0] == expression);
        assert!(hit, "{name}: expected {code} at {expression}, got:\n{}", issues_text(&outcome));
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0, "$validate stores nothing");
}

#[tokio::test]
async fn an_incomplete_handover_is_refused_with_422_and_nothing_is_routed() {
    let app = spawn_app().await;
    for (name, bundle, want) in incomplete_fixtures() {
        let token = sender_token(&bundle);
        let body = outcome(app.post_message(&token, &bundle).await, 422).await;
        assert!(issues_text(&body).contains(want["expression"].as_str().unwrap()), "{name}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0);
    let tail = app.store.ledger_tail(2).await.unwrap();
    assert_eq!(tail[1].event.as_str(), "rejected");
    // The outcome names the first rule broken, by code and location without indices (issue 16's
    // refusal reasons), never content.
    let outcome = tail[1].outcome.as_deref().unwrap();
    assert!(
        outcome.starts_with("422 incomplete: ") && outcome.contains(" at Bundle") && !outcome.contains('['),
        "{outcome}"
    );
}

#[tokio::test]
async fn validate_reports_envelope_and_routing_problems_too() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    header(&mut bundle)["destination"] =
        serde_json::json!([destination(URA, "12345678", "https://unknown.example/fhir")]);
    let outcome = validate(&app, HOSPITAL, &bundle).await;
    assert!(issues_text(&outcome).contains("12345678"));
    let response = app.post_fhir_bytes(Some(HOSPITAL), "/fhir/$validate", "[1]").await;
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(errors(&outcome).len(), 1);
    outcome_is_401_without_token(&app).await;
}

async fn outcome_is_401_without_token(app: &TestApp) {
    let response = app.client.post(format!("{}/fhir/$validate", app.base)).body("{}").send().await.unwrap();
    outcome(response, 401).await;
}

/// Hostile but well-formed content: cycles, a huge string, many entries within the limit. Each is
/// answered with an OperationOutcome (never a panic, never a 500).
#[tokio::test]
async fn hostile_content_is_answered_within_limits() {
    let app = spawn_app().await;

    // A reference cycle: two Observations that refer to each other (hasMember), both in the Bundle.
    let mut cyclic = discharge();
    let patient_url = cyclic["entry"][entry_of(&cyclic, "Patient")]["fullUrl"].clone();
    let entries = cyclic["entry"].as_array_mut().unwrap();
    for (me, other) in [("urn:uuid:c1", "urn:uuid:c2"), ("urn:uuid:c2", "urn:uuid:c1")] {
        entries.push(serde_json::json!({ "fullUrl": me, "resource": {
            "resourceType": "Observation", "status": "final", "code": { "text": "cycle" },
            "subject": { "reference": patient_url }, "hasMember": [{ "reference": other }] } }));
    }
    let checked = validate(&app, HOSPITAL, &cyclic).await;
    assert!(errors(&checked).is_empty(), "{}", issues_text(&checked));

    // A 9 MB narrative string (under the 10 MiB body limit).
    let mut huge = discharge();
    huge["entry"][1]["resource"]["text"]["div"] =
        serde_json::json!(format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(9 * 1024 * 1024)));
    assert_eq!(app.post_message(HOSPITAL, &huge).await.status().as_u16(), 202);

    // 4,000 unresolved references: every one reported, in one answer.
    let mut many = discharge();
    let entries = many["entry"].as_array_mut().unwrap();
    for k in 0..4_000 {
        entries.push(serde_json::json!({ "fullUrl": format!("urn:uuid:m{k}"), "resource": {
            "resourceType": "Basic", "code": { "text": "filler" }, "subject": { "reference": format!("urn:uuid:missing{k}") } } }));
    }
    let body = outcome(app.post_message(HOSPITAL, &many).await, 422).await;
    let unresolved = body["issue"].as_array().unwrap().iter().filter(|i| i["code"] == "not-found").count();
    assert_eq!(unresolved, 4_000);

    // A member given twice: JSON leaves it undefined which one counts, so the broker takes neither.
    let twice = discharge();
    let patient = entry_of(&twice, "Patient");
    let text = serde_json::to_string(&twice).unwrap();
    let mut patient_text = serde_json::to_string(&twice["entry"][patient]["resource"]).unwrap();
    let doubled = patient_text.replacen("{", "{\"gender\":\"other\",", 1);
    assert!(text.contains(&patient_text));
    let text = text.replacen(&patient_text, &doubled, 1);
    let body = outcome(app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), text.into_bytes()).await, 422).await;
    assert!(issues_text(&body).contains(&format!("Bundle.entry[{patient}].resource.gender")), "{body}");

    // One object with 100,000 members: answered (unknown elements), in time linear in its size.
    let mut wide = discharge();
    patient_text = (0..100_000).map(|k| format!("\"k{k}\":{k}")).collect::<Vec<_>>().join(",");
    wide["entry"][patient]["resource"]["extension"] = serde_json::json!([{ "url": "urn:x", "valueString": "x" }]);
    let text = serde_json::to_string(&wide).unwrap().replacen(
        "\"url\":\"urn:x\"",
        &format!("\"url\":\"urn:x\",{patient_text}"),
        1,
    );
    let body = outcome(app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), text.into_bytes()).await, 422).await;
    let listed = body["issue"].as_array().unwrap();
    assert_eq!(listed.len(), handover_broker::outcome::MAX_ISSUES + 1);
    assert_eq!(listed.last().unwrap()["code"], "too-costly");
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

/// References point to a resource type their element allows (from the core definitions), and `#id`
/// references to a contained resource.
#[tokio::test]
async fn references_must_point_to_an_allowed_type_and_contained_ids_must_exist() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let composition = entry_of(&bundle, "Composition");
    let patient_url = bundle["entry"][entry_of(&bundle, "Patient")]["fullUrl"].clone();
    // Composition.custodian may refer to an Organization only.
    bundle["entry"][composition]["resource"]["custodian"] = serde_json::json!({ "reference": patient_url });
    // A contained reference to an id that is not contained.
    bundle["entry"][composition]["resource"]["section"][0]["author"] = serde_json::json!([{ "reference": "#nobody" }]);
    let checked = validate(&app, HOSPITAL, &bundle).await;
    let text = issues_text(&checked);
    let custodian = format!("Bundle.entry[{composition}].resource.custodian");
    assert!(
        errors(&checked).iter().any(|i| i["code"] == "invalid" && i["expression"][0] == custodian.as_str()),
        "{text}"
    );
    let author = format!("Bundle.entry[{composition}].resource.section[0].author[0]");
    assert!(
        errors(&checked).iter().any(|i| i["code"] == "not-found" && i["expression"][0] == author.as_str()),
        "{text}"
    );
}

/// Property-style: thousands of mutated copies of the complete handovers (an element removed, or its
/// value replaced) are each answered, never with a panic. Two things must always be reported: a removed
/// `resourceType`, and a value replaced by `null`, `""`, `[]` or `{}` (never valid FHIR JSON).
#[test]
fn mutated_handovers_are_always_answered() {
    use handover_broker::profiles::Catalog;
    let catalog = Catalog::load(&project_dir().join("profiles")).unwrap();
    let limits = handover_broker::config::Settings::load(None).unwrap().limits;
    // A fixed-seed xorshift: the same mutations on every run, so a failure can be replayed.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let replacements = [
        serde_json::json!(null),
        serde_json::json!(""),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!(7),
    ];
    let mut reported = 0;
    for name in COMPLETE {
        let original = fixture(name);
        for _ in 0..500 {
            let mut bundle = original.clone();
            // Walk down from a random entry's resource to a random object, then mutate one member.
            let entries = bundle["entry"].as_array().unwrap().len();
            let mut node = &mut bundle["entry"][1 + next(entries - 1)]["resource"];
            for _ in 0..next(4) {
                let keys: Vec<String> = match node.as_object() {
                    Some(map) => map.iter().filter(|(_, v)| v.is_object()).map(|(k, _)| k.clone()).collect(),
                    None => break,
                };
                if keys.is_empty() {
                    break;
                }
                node = &mut node[keys[next(keys.len())].as_str()];
            }
            let Some(map) = node.as_object_mut() else { continue };
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys[next(keys.len())].clone();
            let owner = map.get("resourceType").and_then(|t| t.as_str()).unwrap_or("(element)").to_owned();
            let must_report = if next(2) == 0 {
                map.remove(&key);
                key == "resourceType"
            } else {
                let replacement = next(replacements.len());
                map.insert(key.clone(), replacements[replacement].clone());
                replacement < 4
            };
            let bytes = serde_json::to_vec(&bundle).unwrap();
            let issues = match handover_broker::message::parse(bytes.into(), &limits) {
                Ok(submission) => catalog.validate(&submission),
                Err(e) => e.issues,
            };
            if must_report {
                assert!(issues.iter().any(|i| i.is_error()), "{name}: changing {owner}.{key} went unreported");
                reported += 1;
            }
        }
    }
    assert!(reported > 500, "the mutations that must be reported were made ({reported})");
}

/// A recommended section missing is a warning: the handover is accepted, and the acknowledgement says so.
#[tokio::test]
async fn warnings_do_not_block_and_reach_the_sender_in_the_acknowledgement() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let composition = entry_of(&bundle, "Composition");
    let sections = bundle["entry"][composition]["resource"]["section"].as_array_mut().unwrap();
    let before = sections.len();
    sections.retain(|s| s["code"]["coding"][0]["code"] != "8648-8");
    assert_eq!(sections.len(), before - 1, "the fixture has a hospital course section");

    let response = app.post_message(HOSPITAL, &bundle).await;
    assert_eq!(response.status().as_u16(), 202);
    let ack: Value = response.json().await.unwrap();
    let outcome = &ack["entry"][1]["resource"];
    let warning = outcome["issue"].as_array().unwrap().iter().find(|i| i["severity"] == "warning").expect("a warning");
    assert!(warning["diagnostics"].as_str().unwrap().contains("8648-8"), "{warning}");
    assert_eq!(warning["expression"][0], format!("Bundle.entry[{composition}].resource"));
}

#[tokio::test]
async fn identifiers_with_a_wrong_check_are_an_error_on_the_patient_and_a_warning_elsewhere() {
    let app = spawn_app().await;
    // The patient's BSN with its last digit changed: fails the 11-check.
    let mut wrong_bsn = discharge();
    let patient = entry_of(&wrong_bsn, "Patient");
    wrong_bsn["entry"][patient]["resource"]["identifier"][0]["value"] = serde_json::json!("999911121");
    let refused = outcome(app.post_message(HOSPITAL, &wrong_bsn).await, 422).await;
    let errors = errors(&refused);
    assert_eq!(errors.len(), 1, "{refused}");
    assert_eq!(errors[0]["expression"][0], format!("Bundle.entry[{patient}].resource.identifier[0].value"));
    assert!(errors[0]["diagnostics"].as_str().unwrap().contains("BSN fails the 11-check"), "{refused}");

    // A URA of the wrong length on the receiving organisation: accepted, with a warning that says where.
    let mut short_ura = discharge();
    let gp = short_ura["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| {
            e["resource"]["resourceType"] == "Organization" && e["resource"]["identifier"][0]["value"] == "90000012"
        })
        .unwrap();
    short_ura["entry"][gp]["resource"]["identifier"][1]["value"] = serde_json::json!("0105001");
    let response = app.post_message(HOSPITAL, &short_ura).await;
    assert_eq!(response.status().as_u16(), 202);
    let ack = response.text().await.unwrap();
    assert!(ack.contains(&format!("Bundle.entry[{gp}].resource.identifier[1].value")), "{ack}");
    assert!(ack.contains("AGB has the wrong number of digits"), "{ack}");
}

#[tokio::test]
async fn a_reference_to_another_type_than_its_target_profile_names_is_an_error() {
    let app = spawn_app().await;
    // The discharge letter's subject is the Encounter instead of the Patient (Reference(Any) in the base
    // definition; the profile narrows it to the handover Patient).
    let mut bundle = discharge();
    let (composition, encounter) = (entry_of(&bundle, "Composition"), entry_of(&bundle, "Encounter"));
    let encounter_url = bundle["entry"][encounter]["fullUrl"].clone();
    bundle["entry"][composition]["resource"]["subject"]["reference"] = encounter_url;
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 422).await;
    let at = format!("Bundle.entry[{composition}].resource.subject");
    let narrowed: Vec<&Value> = errors(&refused).into_iter().filter(|e| e["expression"][0] == at.as_str()).collect();
    assert_eq!(narrowed.len(), 1, "{refused}");
    assert!(
        narrowed[0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("allows a reference to Patient here; this one points to a resource of type Encounter"),
        "{refused}"
    );
}

/// What the first profiles got wrong (issue 13) stays fixed: a genuine eOverdracht-shaped nursing
/// transfer is accepted, as is a referral made as a proposal to the regional triage point.
#[tokio::test]
async fn an_eoverdracht_transfer_and_a_proposal_to_the_triage_point_are_accepted() {
    let app = spawn_app().await;

    let transfer = fresh(fixture("nursing-handover-nl.json"));
    let composition = &transfer["entry"][entry_of(&transfer, "Composition")]["resource"];
    assert_eq!(composition["type"]["coding"][0]["code"], "371535009", "SNOMED 'transfer summary report'");
    let author = composition["author"][0]["reference"].as_str().unwrap();
    let author_type = transfer["entry"].as_array().unwrap().iter().find(|e| e["fullUrl"] == author).unwrap()
        ["resource"]["resourceType"]
        .clone();
    assert_eq!(author_type, "PractitionerRole");
    let groups: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["405624007", "109481000146101", "371524004", "773130005", "5531000179105"]);
    let sections = serde_json::to_string(&composition["section"]).unwrap();
    for absent in ["47519-4", "10183-2", "29549-3"] {
        assert!(!sections.contains(absent), "no {absent} section, as in eOverdracht");
    }
    let accepted = app.post_message(&sender_token(&transfer), &transfer).await;
    assert_eq!(accepted.status().as_u16(), 202, "{}", accepted.text().await.unwrap());

    let proposal = fresh(fixture("referral-be.json"));
    let request = &proposal["entry"][entry_of(&proposal, "ServiceRequest")]["resource"];
    assert_eq!(request["intent"], "proposal");
    assert_eq!(header(&mut proposal.clone())["destination"][0]["receiver"]["identifier"]["value"], "10000000300");
    let accepted = app.post_message(&sender_token(&proposal), &proposal).await;
    assert_eq!(accepted.status().as_u16(), 202, "{}", accepted.text().await.unwrap());
}

/// R4 lets a document be written by a practitioner, a practitioner in a role, the organisation or the
/// sending system: real senders use all four. A patient or a related person is not an author of a
/// handover.
#[tokio::test]
async fn the_sending_system_or_the_organisation_may_author_a_handover() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let device_url = "urn:uuid:7d0b3c52-1b7e-4a53-9d1e-5f1a0c2e9b44";
    bundle["entry"].as_array_mut().unwrap().push(serde_json::json!({
        "fullUrl": device_url,
        "resource": {
            "resourceType": "Device", "id": "7d0b3c52-1b7e-4a53-9d1e-5f1a0c2e9b44",
            "deviceName": [{ "name": "ZZL-EPD (demo) 2026.3", "type": "manufacturer-name" }]
        }
    }));
    let composition = entry_of(&bundle, "Composition");
    let organization = bundle["entry"][entry_of(&bundle, "Organization")]["fullUrl"].clone();
    bundle["entry"][composition]["resource"]["author"] =
        serde_json::json!([{ "reference": device_url }, { "reference": organization }]);
    let response = app.post_message(HOSPITAL, &bundle).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());

    let mut bundle = discharge();
    let patient = bundle["entry"][entry_of(&bundle, "Patient")]["fullUrl"].clone();
    bundle["entry"][composition]["resource"]["author"] = serde_json::json!([{ "reference": patient }]);
    let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 422).await;
    let at = format!("Bundle.entry[{composition}].resource.author[0]");
    assert!(errors(&refused).iter().any(|e| e["expression"][0] == at.as_str()), "{refused}");
}

/// Required bindings the R4 JSON schema does not inline (issue 13): an unknown status of a
/// MedicationStatement or a Procedure, or a real code with an invisible character after it (U+200B), is
/// refused with 422 on that element, naming the element, never repeating the value.
#[tokio::test]
async fn unknown_codes_of_required_bindings_are_refused_on_their_element() {
    let app = spawn_app().await;
    for (resource_type, status) in
        [("MedicationStatement", "bogus"), ("MedicationStatement", "active\u{200B}"), ("Procedure", "finished")]
    {
        let mut bundle = discharge();
        let at = entry_of(&bundle, resource_type);
        bundle["entry"][at]["resource"]["status"] = serde_json::json!(status);
        let refused = outcome(app.post_message(HOSPITAL, &bundle).await, 422).await;
        let expression = format!("Bundle.entry[{at}].resource.status");
        let element = format!("{resource_type}.status: ");
        let issue = errors(&refused)
            .into_iter()
            .find(|i| i["expression"][0] == expression.as_str() && i["code"] == "code-invalid")
            .unwrap_or_else(|| panic!("{resource_type} {status:?}: {}", issues_text(&refused)));
        let diagnostics = issue["diagnostics"].as_str().unwrap();
        assert!(diagnostics.starts_with(&element), "{diagnostics}");
        assert!(!diagnostics.contains(status) && !diagnostics.contains('\u{200B}'), "{diagnostics}");
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0);

    // The same handover with its codes intact is accepted.
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);
}

/// Every complete fixture written as FHIR XML and read back is the same handover: it validates as
/// complete, and the handover profiles see exactly what they saw in the JSON (the XML rules lose nothing
/// the profiles check).
#[test]
fn every_complete_fixture_validates_the_same_when_it_arrives_as_xml() {
    let root = project_dir();
    let catalog = handover_broker::profiles::Catalog::load(&root.join("profiles")).unwrap();
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let order = handover_broker::fhirxml::ElementOrder::load().unwrap();
    let limits = handover_broker::config::Settings::load(None).unwrap().limits;
    let xml_limits = handover_broker::fhirxml::XmlLimits { max_depth: limits.max_json_depth, max_elements: 1_000_000 };
    let converter = handover_broker::fhirxml::Converter::new(catalog.shared_base(), xml_limits).unwrap();
    let fixtures = complete_fixtures();
    assert!(fixtures.len() >= 10);
    for (name, json) in fixtures {
        let xml = handover_broker::fhirxml::to_xml(&json, &model, &order).unwrap();
        assert!(xml.contains("<MessageHeader>"), "{name}");
        // As ingest reads it: straight into the tree checked, with the JSON text stored beside it.
        let submission = converter.read_message(xml.into(), &limits).unwrap();
        assert_eq!(serde_json::Value::from(submission.document()), json, "{name}");
        assert_eq!(serde_json::from_slice::<Value>(submission.payload()).unwrap(), json, "{name}");
        let errors: Vec<_> = catalog.validate(&submission).into_iter().filter(|i| i.is_error()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}
