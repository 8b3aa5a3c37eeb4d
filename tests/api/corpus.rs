//! Data written by others (`../shared/corpus`): the envelope reader must hold for it. Skips with a
//! message when the corpus is absent.

use std::path::Path;

use handover_broker::ingest;

use crate::helpers::*;

fn limits() -> handover_broker::config::Limits {
    test_settings(Path::new("/tmp")).limits
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
            match ingest::parse(&bytes, &limits()) {
                Ok(submission) => {
                    assert!(is_message, "{} read as a message", path.display());
                    assert_eq!(Some(submission.header_id()), doc["entry"][0]["resource"]["id"].as_str());
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

#[tokio::test]
async fn the_benchmark_bundles_are_accepted_and_stored_byte_identical() {
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
            event: Some(&format!("{}|discharge-summary", handover_broker::profiles::EVENT_SYSTEM)),
        };
        let template = handover_broker::loadgen::Template::new(&raw, overrides).unwrap();
        let body = template.render();
        let response = app.post_raw(Some(HOSPITAL), Some(FHIR_JSON), body.clone()).await;
        assert_eq!(response.status().as_u16(), 202, "{name}");
        let ack: serde_json::Value = response.json().await.unwrap();
        assert_eq!(app.store.payload(&tracking_id(&ack)).await.unwrap(), Some(body), "{name}");
    }
}
