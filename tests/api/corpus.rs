//! Data written by others (`../shared/corpus`): the envelope reader must hold for it. Skips with a
//! message when the corpus is absent.

use handover_broker::json::Json;
use handover_broker::message;

use crate::helpers::*;

fn limits() -> handover_broker::config::Limits {
    handover_broker::config::Settings::load(None).unwrap().limits
}

#[test]
fn every_r4_example_bundle_is_read_or_refused_for_its_envelope_only() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let mut messages = 0;
    for dir in ["hl7-r4-examples/examples", "hl7-uv-ips-2.0.0/examples", "carebundle-synthetic"] {
        let Ok(files) = std::fs::read_dir(corpus.join(dir)) else { continue };
        for file in files.flatten() {
            let path = file.path();
            let bytes = std::fs::read(&path).unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let is_message = doc["resourceType"] == "Bundle" && doc["type"] == "message";
            match message::parse(bytes.into(), &limits()) {
                Ok(submission) => {
                    assert!(is_message, "{} read as a message", path.display());
                    assert_eq!(Some(submission.header_id().as_str()), doc["entry"][0]["resource"]["id"].as_str());
                    messages += 1;
                }
                Err(e) => {
                    assert!(!is_message, "{}: a message Bundle was refused: {:?}", path.display(), e.issues);
                    let at = e.issues[0].expression.as_deref().unwrap_or_default();
                    assert!(at == "Bundle.type" || at == "Bundle.resourceType", "{}: {at}", path.display());
                }
            }
        }
    }
    assert!(messages >= 2, "the R4 examples hold two message Bundles");
}

/// The benchmark bundles are realistic in size but, as their SOURCES note says, not complete handovers:
/// some references do not resolve. The broker must say exactly that, for each one, and store nothing.
#[tokio::test]
async fn the_benchmark_bundles_are_refused_for_their_unresolved_references() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let app = spawn_app().await;
    for name in ["handover-50k.json", "handover-200k.json", "handover-1m.json"] {
        let raw = std::fs::read(corpus.join("bench").join(name)).unwrap();
        let overrides = handover_broker::loadgen::Overrides {
            sender: Some(&format!("{URA}|90000011")),
            receiver: Some(&format!("{URA}|90000012")),
            receiver_endpoint: Some(GP_HEERLEN_MAILBOX),
            event: Some(&format!("{}|discharge-summary", handover_broker::model::codes::EVENT_SYSTEM)),
            compact: false,
        };
        let template = handover_broker::loadgen::Template::new(&raw, overrides).unwrap();
        let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), template.render().0).await;
        let body = outcome(response, 422).await;
        let unresolved = body["issue"].as_array().unwrap().iter().filter(|i| i["code"] == "not-found").count();
        assert!(unresolved > 0, "{name}: {}", issues_text(&body));
    }
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

/// Real-world R4 content written by others passes the base structure checks, required-binding code lists
/// included: no false errors. The HL7 Belgium examples (medication and prescription support, 60 files of
/// IG Publisher output) pass with no exception.
#[test]
fn the_corpus_examples_pass_the_base_r4_checks() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in [
        "hl7-r4-examples/examples",
        "hl7-uv-ips-2.0.0/examples",
        "carebundle-synthetic",
        "bench",
        "hl7-be-medication/examples",
        "hl7-be-pss/examples",
    ] {
        let Ok(files) = std::fs::read_dir(corpus.join(dir)) else { continue };
        for file in files.flatten() {
            let path = file.path();
            let bytes = std::fs::read(&path).unwrap();
            let doc: Json = serde_json::from_slice(&bytes).unwrap();
            let mut issues = Vec::new();
            model.check_resource(&doc, "Resource", &mut issues);
            checked += 1;
            for issue in issues.iter().filter(|i| i.is_error()) {
                failures.push(format!("{}: {issue}", path.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    // 351 R4 examples, 44 IPS, 5 carebundle, 3 bench, 10 + 50 HL7 Belgium.
    assert!(checked >= 463, "checked {checked} files");
    assert!(failures.is_empty(), "{} false errors:\n{}", failures.len(), failures.join("\n"));
}

/// The HL7 IPS documents pass the IPS Composition profile loaded from the corpus (an adopted profile:
/// no code change), and the same documents with a required section removed fail it.
#[test]
fn the_ips_documents_pass_the_ips_composition_profile_and_fail_without_a_required_section() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    use handover_broker::profiles::{validate, Catalog};
    let ips = corpus.join("hl7-uv-ips-2.0.0");
    let catalog = Catalog::load_all(&[&project_dir().join("profiles"), &ips.join("profiles")]).unwrap();
    let profile = catalog.profile("http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips").unwrap();
    let mut documents = 0;
    for file in std::fs::read_dir(ips.join("examples")).unwrap().flatten() {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        if doc["resourceType"] != "Bundle" || doc["type"] != "document" {
            continue;
        }
        documents += 1;
        let name = file.file_name().to_string_lossy().into_owned();
        let issues = validate::against_profile(&catalog, &Json::from(&doc), profile);
        assert!(issues.iter().all(|i| !i.is_error()), "{name}: {issues:?}");

        // Remove the medication summary section (LOINC 10160-0), required by the IPS.
        let mut broken = doc.clone();
        let composition = entry_of(&broken, "Composition");
        let sections = broken["entry"][composition]["resource"]["section"].as_array_mut().unwrap();
        sections.retain(|s| s["code"]["coding"][0]["code"] != "10160-0");
        let issues = validate::against_profile(&catalog, &Json::from(&broken), profile);
        let expected = format!("Bundle.entry[{composition}].resource.section:sectionMedications");
        assert!(
            issues.iter().any(|i| i.is_error() && i.expression.as_deref() == Some(expected.as_str())),
            "{name}: {issues:?}"
        );
    }
    assert_eq!(documents, 5);
}

/// Every Nictiz R4 example in XML (zib2020, medication process 9) reads through the FHIR XML reader
/// into JSON that passes the base R4 checks: the XML rules (value attributes, repeats, primitive
/// extensions, narrative, contained resources) are applied as FHIR defines them, on data we did not write.
#[test]
fn the_nictiz_r4_xml_examples_read_as_fhir_json_that_passes_the_base_checks() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let limits = handover_broker::fhirxml::XmlLimits { max_depth: limits().max_json_depth, max_elements: 1_000_000 };
    let (mut read, mut failures) = (0, Vec::new());
    let mut files = Vec::new();
    for dir in ["nictiz-zib2020", "nictiz-r4-mp9"] {
        let mut pending = vec![corpus.join(dir)];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "xml") {
                    files.push(path);
                }
            }
        }
    }
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let text = match handover_broker::fhirxml::to_json(&bytes, &model, limits) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("{name}: {e} at {:?}", e.at));
                continue;
            }
        };
        read += 1;
        let doc: Json = match serde_json::from_str(&text) {
            Ok(doc) => doc,
            Err(e) => {
                failures.push(format!("{name}: not JSON: {e}"));
                continue;
            }
        };
        let mut issues = Vec::new();
        model.check_resource(&doc, "Resource", &mut issues);
        for issue in issues.iter().filter(|i| i.is_error()) {
            failures.push(format!("{name}: {issue}"));
        }
    }
    // 271 zib2020 and 19 medication examples.
    assert!(read + failures.len() >= 290, "read {read}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Every HL7 R4 example, JSON -> FHIR XML -> JSON, comes back equal (as JSON values): the writer puts
/// every element where FHIR XML wants it and the reader takes it back by the same rules.
#[test]
fn every_r4_example_survives_json_to_xml_and_back() {
    let Some(corpus) = shared_corpus() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let model = handover_broker::profiles::base::BaseModel::load().unwrap();
    let order = handover_broker::fhirxml::ElementOrder::load().unwrap();
    let limits = handover_broker::fhirxml::XmlLimits { max_depth: limits().max_json_depth, max_elements: 1_000_000 };
    let (mut checked, mut failures) = (0, Vec::new());
    for file in std::fs::read_dir(corpus.join("hl7-r4-examples/examples")).unwrap().flatten() {
        let path = file.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let original: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        checked += 1;
        let xml = match handover_broker::fhirxml::to_xml(&original, &model, &order) {
            Ok(xml) => xml,
            Err(e) => {
                failures.push(format!("{name}: to XML: {e} at {:?}", e.at));
                continue;
            }
        };
        match handover_broker::fhirxml::to_json(xml.as_bytes(), &model, limits) {
            Ok(text) => {
                let back: serde_json::Value = serde_json::from_str(&text).unwrap();
                if back != original {
                    failures.push(format!("{name}: differs after the round trip"));
                }
                // The tree the validator checks, read straight from the XML, holds the same.
                let tree = handover_broker::fhirxml::to_tree(xml.as_bytes(), &model, limits).unwrap();
                if serde_json::Value::from(&tree) != original {
                    failures.push(format!("{name}: the tree read from XML differs from the JSON"));
                }
            }
            Err(e) => failures.push(format!("{name}: back from XML: {e} at {:?}", e.at)),
        }
    }
    assert!(checked >= 351, "checked {checked}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
