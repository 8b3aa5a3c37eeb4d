//! The HTTP edge's and the envelope's refusals in Dutch, French and English (issue 16): a request
//! without a token, a body of the wrong media type, a format the broker does not write, a message
//! Bundle whose envelope is wrong and a FHIR XML body with a DOCTYPE are each answered in the language of `Accept-Language`, with the same
//! status, `code` and `expression` in every language; the answer names its language in
//! `Content-Language`, and without the header it is English and names none. Media types, element
//! names and expressions stay as they are inside the translated words.

use serde_json::{json, Value};

use crate::helpers::*;

/// A request built for the `Accept-Language` given (if any).
type Request = Box<dyn Fn(&TestApp, Option<&str>) -> reqwest::RequestBuilder>;

/// One refused request, as a function of the `Accept-Language` sent (if any).
struct Case {
    name: &'static str,
    status: u16,
    request: Request,
    /// Words that must stay as they are in every language (media types, element names).
    kept: &'static [&'static str],
    /// A few words of the text in English, Dutch and French.
    words: [&'static str; 3],
}

fn post(
    app: &TestApp,
    language: Option<&str>,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let mut request = app
        .client
        .post(format!("{}/fhir/$process-message", app.base))
        .header("Content-Type", content_type)
        .header("Accept", FHIR_JSON)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    with_language(request, language)
}

fn with_language(request: reqwest::RequestBuilder, language: Option<&str>) -> reqwest::RequestBuilder {
    match language {
        Some(language) => request.header("Accept-Language", language),
        None => request,
    }
}

fn first_entry_not_a_header() -> Vec<u8> {
    let mut bundle = discharge();
    bundle["entry"].as_array_mut().unwrap().swap(0, 1);
    serde_json::to_vec(&bundle).unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "no token (401)",
            status: 401,
            request: Box::new(|app, language| {
                post(app, language, None, FHIR_JSON, serde_json::to_vec(&discharge()).unwrap())
            }),
            kept: &["`Authorization: Bearer <token>`"],
            words: ["no bearer token", "bearer", "bearer"],
        },
        Case {
            name: "wrong media type (415)",
            status: 415,
            request: Box::new(|app, language| post(app, language, Some(HOSPITAL), "text/plain", b"hello".to_vec())),
            kept: &["text/plain", "application/fhir+json", "application/fhir+xml"],
            words: ["is not accepted", "niet geaccepteerd", "n'est pas accepté"],
        },
        Case {
            name: "no media type (415)",
            status: 415,
            request: Box::new(|app, language| {
                let request = app.client.post(format!("{}/fhir/$process-message", app.base)).bearer_auth(HOSPITAL);
                with_language(request.body(serde_json::to_vec(&discharge()).unwrap()), language)
            }),
            kept: &["Content-Type", "application/fhir+json"],
            words: ["Content-Type (none) is not accepted", "Content-Type (geen) wordt", "le Content-Type (aucun)"],
        },
        Case {
            // Refused by the format middleware, outside the language middleware: localized all the same.
            name: "a format the broker does not write (406)",
            status: 406,
            request: Box::new(|app, language| {
                with_language(app.client.get(format!("{}/fhir/metadata?_format=text/html", app.base)), language)
            }),
            kept: &["application/fhir+json", "application/fhir+xml", "text/html"],
            words: ["the broker answers in", "de broker antwoordt", "le broker répond"],
        },
        Case {
            name: "first entry not a MessageHeader (400)",
            status: 400,
            request: Box::new(|app, language| {
                post(app, language, Some(HOSPITAL), FHIR_JSON, first_entry_not_a_header())
            }),
            kept: &["MessageHeader"],
            words: [
                "the first entry of a message Bundle must be a MessageHeader",
                "de eerste entry van een message-Bundle moet een MessageHeader zijn",
                "la première entry d'un Bundle de type message doit être un MessageHeader",
            ],
        },
        Case {
            name: "XML with a DOCTYPE (400)",
            status: 400,
            request: Box::new(|app, language| {
                let xml = br#"<?xml version="1.0"?><!DOCTYPE Bundle [<!ENTITY x "y">]><Bundle xmlns="http://hl7.org/fhir"><id value="&x;"/></Bundle>"#;
                post(app, language, Some(HOSPITAL), "application/fhir+xml", xml.to_vec())
            }),
            kept: &["FHIR XML", "(DTD)"],
            words: [
                "not a FHIR XML resource: a document type declaration (DTD) is refused",
                "documenttypedeclaratie (DTD)",
                "déclaration de type de document (DTD)",
            ],
        },
    ]
}

fn issues(outcome: &Value) -> Vec<(Value, Value, String)> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["code"].clone(), i["expression"].clone(), i["diagnostics"].as_str().unwrap().to_owned()))
        .collect()
}

fn content_language(response: &reqwest::Response) -> Option<String> {
    response.headers().get("Content-Language").map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_edges_and_the_envelopes_refusals_are_in_the_callers_language_with_the_same_codes() {
    let app = spawn_app().await;
    for case in cases() {
        let name = case.name;
        let response = (case.request)(&app, None).send().await.unwrap();
        assert_eq!(content_language(&response), None, "{name}: English names no language");
        let english = issues(&outcome(response, case.status).await);
        assert!(english.iter().any(|(_, _, text)| text.contains(case.words[0])), "{name}: {english:?}");

        for (asked, code, words) in [("fr-BE, nl;q=0.5", "fr", case.words[2]), ("nl", "nl", case.words[1])] {
            let response = (case.request)(&app, Some(asked)).send().await.unwrap();
            assert_eq!(content_language(&response).as_deref(), Some(code), "{name} in {asked}");
            let translated = issues(&outcome(response, case.status).await);
            assert_eq!(translated.len(), english.len(), "{name} in {asked}");
            for ((en_code, en_expression, en_text), (code, expression, text)) in english.iter().zip(&translated) {
                assert_eq!((code, expression), (en_code, en_expression), "{name} in {asked}");
                assert_ne!(text, en_text, "{name} in {asked}: not translated");
                for kept in case.kept {
                    assert!(text.contains(kept), "{name} in {asked}: {kept:?} must stay in {text:?}");
                }
            }
            assert!(translated.iter().any(|(_, _, text)| text.contains(words)), "{name} in {asked}: {translated:?}");
        }
    }
}

/// Every problem of an envelope is reported in the caller's language, each at its own expression; a
/// JSON syntax error keeps its line and column.
#[tokio::test]
async fn all_envelope_problems_and_json_positions_are_translated() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    let h = header(&mut bundle).as_object_mut().unwrap();
    h.remove("id");
    h.insert("eventUri".into(), json!("urn:x"));
    h.remove("eventCoding");
    h.remove("source");
    let body = serde_json::to_vec(&bundle).unwrap();
    let english =
        issues(&outcome(post(&app, None, Some(HOSPITAL), FHIR_JSON, body.clone()).send().await.unwrap(), 400).await);
    let dutch =
        issues(&outcome(post(&app, Some("nl-NL"), Some(HOSPITAL), FHIR_JSON, body).send().await.unwrap(), 400).await);
    assert_eq!(english.len(), 3);
    let expressions =
        |issues: &[(Value, Value, String)]| issues.iter().map(|i| (i.0.clone(), i.1.clone())).collect::<Vec<_>>();
    assert_eq!(expressions(&dutch), expressions(&english));
    assert!(english[1].2.contains("eventUri is not supported"), "{english:?}");
    assert!(dutch[0].2.contains("MessageHeader.id is verplicht"), "{dutch:?}");
    assert!(dutch[1].2.contains("eventUri wordt niet ondersteund"), "{dutch:?}");
    assert!(dutch[2].2.contains("MessageHeader.source.endpoint is verplicht"), "{dutch:?}");

    let broken = b"{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"message\",\n}".to_vec();
    let english =
        issues(&outcome(post(&app, None, Some(HOSPITAL), FHIR_JSON, broken.clone()).send().await.unwrap(), 400).await);
    let french =
        issues(&outcome(post(&app, Some("fr"), Some(HOSPITAL), FHIR_JSON, broken).send().await.unwrap(), 400).await);
    assert_eq!(english[0].2, "the body is not valid JSON (UTF-8) at line 4 column 1");
    assert_eq!(french[0].2, "le corps n'est pas du JSON valide (UTF-8) à la ligne 4, colonne 1");
    assert_eq!(french[0].0, english[0].0);
}
