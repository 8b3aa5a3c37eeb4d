//! Dutch, French, English (issue 16): a refused handover's OperationOutcome in the caller's language,
//! with the same codes and expressions; English without a preference; a hostile header harmless.

use serde_json::Value;

use crate::helpers::*;

async fn refused(app: &TestApp, accept_language: Option<&str>) -> (Value, Option<String>) {
    let bundle = fresh(fixture("incomplete/discharge-summary--missing-medication-section.json"));
    let mut request = app
        .client
        .post(format!("{}/fhir/$process-message", app.base))
        .bearer_auth(HOSPITAL)
        .header("Content-Type", FHIR_JSON)
        .body(serde_json::to_vec(&bundle).unwrap());
    if let Some(language) = accept_language {
        request = request.header("Accept-Language", language);
    }
    let response = request.send().await.unwrap();
    let language = response.headers().get("Content-Language").map(|v| v.to_str().unwrap().to_owned());
    (outcome(response, 422).await, language)
}

fn codes_and_expressions(outcome: &Value) -> Vec<(Value, Value)> {
    outcome["issue"].as_array().unwrap().iter().map(|i| (i["code"].clone(), i["expression"].clone())).collect()
}

fn texts(outcome: &Value) -> Vec<String> {
    outcome["issue"].as_array().unwrap().iter().map(|i| i["diagnostics"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_refused_handover_is_explained_in_the_callers_language_with_the_same_codes() {
    let app = spawn_app().await;
    let (english, no_language) = refused(&app, None).await;
    assert_eq!(no_language, None);
    let (french, language) = refused(&app, Some("fr-BE, nl;q=0.8")).await;
    assert_eq!(language.as_deref(), Some("fr"));
    let (dutch, _) = refused(&app, Some("nl-NL")).await;
    assert_eq!(codes_and_expressions(&french), codes_and_expressions(&english));
    assert_eq!(codes_and_expressions(&dutch), codes_and_expressions(&english));
    let medication = |outcome: &Value| {
        texts(outcome).into_iter().find(|t| t.starts_with("hb-dis-medications: ")).expect("the broken rule")
    };
    assert!(medication(&english).contains("Required section missing"), "{}", medication(&english));
    assert!(medication(&french).contains("Section obligatoire manquante"), "{}", medication(&french));
    assert!(medication(&dutch).contains("Verplichte sectie ontbreekt"), "{}", medication(&dutch));
    // XML answers are written from the translated words.
    let bundle = fresh(fixture("incomplete/discharge-summary--missing-medication-section.json"));
    let xml = app
        .client
        .post(format!("{}/fhir/$process-message?_format=xml", app.base))
        .bearer_auth(HOSPITAL)
        .header("Content-Type", FHIR_JSON)
        .header("Accept-Language", "fr")
        .body(serde_json::to_vec(&bundle).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("Section obligatoire manquante"), "{xml}");

    // Garbage or a huge header is English, never an error.
    for hostile in ["xx;q=abc, *;q=2", &"fr;q=0.1,".repeat(2000)] {
        let (outcome, _) = refused(&app, Some(hostile)).await;
        assert_eq!(codes_and_expressions(&outcome), codes_and_expressions(&english));
    }
}
