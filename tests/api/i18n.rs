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

/// Pushed and pulled receipts are written in the language the sender's directory entry names
/// (`preferred-language`), whatever language the request that caused them was in: a receipt is read
/// later, by the sender's people.
#[tokio::test]
async fn a_senders_receipts_are_written_in_its_preferred_language() {
    use crate::delivery::{accepted, delivered, stepped_broker_where, Receiver};
    let hospital = Receiver::plain();
    let app = stepped_broker_where(
        &[("zzl-hospital", &hospital.address)],
        |_| {},
        |org| {
            if org.id.as_str() == "gp-heerlen" {
                org.language = Some(handover_broker::i18n::Language::Nl);
            }
        },
    )
    .await;
    let mut referral = fresh(fixture("referral-nl.json"));
    referral["entry"][0]["resource"]["destination"][0]["endpoint"] = serde_json::json!(hospital.address);
    let tracking = accepted(app.post_message(GP_HEERLEN, &referral).await).await;
    assert_eq!(app.deliver_pending().await.handovers, delivered(1));

    let page = app.get(Some(GP_HEERLEN), "/fhir/mailbox").await.json::<Value>().await.unwrap();
    let receipt = &page["entry"][0]["resource"];
    let outcome = receipt["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "OperationOutcome")
        .expect("the receipt's OperationOutcome");
    let text = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "Afgeleverd bij het systeem van de ontvanger. Ontvanger http://fhir.nl/fhir/NamingSystem/ura|90000011; \
             tracking-id {tracking}."
        )
    );
    assert_eq!(outcome["issue"][0]["code"], "informational");

    // The directory export names the language, and the organisation's view shows it.
    let admin = admin_token(&app).await;
    let export = app.get(Some(&admin), "/admin/directory").await.text().await.unwrap();
    let extension =
        r#"{"url":"https://fhir.handover-broker.eu/StructureDefinition/preferred-language","valueCode":"nl"}"#;
    assert!(export.contains(extension), "{export}");
    let gp = app.get(Some(&admin), "/admin/organizations/gp-heerlen").await.json::<Value>().await.unwrap();
    assert_eq!(gp["language"], "nl");
}

/// `handover-broker validate` writes its summary and the issues' texts in `--lang`, else in the
/// language of the POSIX locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), else English; codes and locations
/// are the same in every language.
#[test]
fn the_cli_summary_is_in_the_language_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incomplete.json");
    let bundle = fixture("incomplete/discharge-summary--missing-medication-section.json");
    std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let validate = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"));
        command.arg("validate").args(args).arg(&file);
        command.env("HANDOVER_PROFILES_DIR", project_dir().join("profiles"));
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8(output.stdout).unwrap()
    };
    let english = validate(&[], &[("LANG", "C.UTF-8")]);
    assert!(english.contains(": 1 error, 0 warnings") || english.contains(" errors, "), "{english}");
    assert!(english.contains("Required section missing"), "{english}");
    let french = validate(&["--lang", "fr"], &[("LANG", "nl_BE.UTF-8")]);
    assert!(french.contains("erreur") && french.contains("Section obligatoire manquante"), "{french}");
    let dutch = validate(&[], &[("LC_ALL", "nl_BE.UTF-8"), ("LANG", "fr_BE.UTF-8")]);
    assert!(dutch.contains("fout") && dutch.contains("Verplichte sectie ontbreekt"), "{dutch}");
    // Each language's lines carry the same codes and locations.
    let columns = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with(|c: char| c.is_uppercase()))
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
            .collect()
    };
    assert_eq!(columns(&french).len(), columns(&english).len());
    // A language the broker does not write is an error, not a silent English.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"));
    let refused = command.args(["validate", "--lang", "de"]).arg(&file).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nl, fr and en"));
}

/// The HTTP edge's refusals (credentials, media type, a mailbox item that is not there, XML the broker
/// will not read, a role that does not fit) in the caller's language, with the same codes; the details
/// that name things (media types, ids, XML constructs) stay as they are.
#[tokio::test]
async fn the_edges_refusals_are_in_the_callers_language() {
    let app = spawn_app().await;
    let ask = |language: Option<&'static str>, method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut request = app.client.request(method, format!("{}{path}", app.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(language) = language {
            request = request.header("Accept-Language", language);
        }
        request
    };
    let doctype = br#"<?xml version="1.0"?><!DOCTYPE Bundle [<!ENTITY x "y">]><Bundle xmlns="http://hl7.org/fhir"/>"#;
    type Case = (&'static str, u16, &'static [&'static str; 3]);
    type Request<'a> = Box<dyn Fn(Option<&'static str>) -> reqwest::RequestBuilder + 'a>;
    let cases: [(Case, Request<'_>); 5] = [
        (
            ("no token", 401, &["no bearer token", "geen bearer-token", "pas de jeton bearer"]),
            Box::new(|l| ask(l, reqwest::Method::GET, "/fhir/mailbox", None)),
        ),
        (
            ("media type", 415, &["is not accepted", "wordt niet geaccepteerd", "n'est pas accepté"]),
            Box::new(|l| {
                ask(l, reqwest::Method::POST, "/fhir/$process-message", Some(HOSPITAL))
                    .header("Content-Type", "text/plain")
                    .body("hello")
            }),
        ),
        (
            ("no such item", 404, &["no such message", "staat niet in deze postbus", "n'est pas dans cette"]),
            Box::new(|l| ask(l, reqwest::Method::GET, "/fhir/mailbox/no-such-item", Some(GP_HEERLEN))),
        ),
        (
            ("DTD", 400, &["not a FHIR XML resource", "geen FHIR XML-resource", "pas une ressource FHIR XML"]),
            Box::new(move |l| {
                ask(l, reqwest::Method::POST, "/fhir/$process-message", Some(HOSPITAL))
                    .header("Content-Type", "application/fhir+xml")
                    .header("Accept", FHIR_JSON)
                    .body(doctype.to_vec())
            }),
        ),
        (
            ("role", 403, &["this needs a token with role", "hiervoor is een token met rol", "il faut un jeton"]),
            Box::new(|l| ask(l, reqwest::Method::GET, "/fhir/AuditEvent?patient-identifier=a|b", Some(HOSPITAL))),
        ),
    ];
    for ((name, status, words), request) in &cases {
        let response = request(None).send().await.unwrap();
        assert_eq!(response.headers().get("Content-Language"), None, "{name}");
        let english = outcome(response, *status).await;
        assert!(english.to_string().contains(words[0]), "{name}: {english}");
        for (language, word) in [("nl-BE", words[1]), ("fr", words[2])] {
            let response = request(Some(language)).send().await.unwrap();
            let content_language = response.headers().get("Content-Language").map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(content_language.as_deref(), Some(&language[..2]), "{name}");
            let translated = outcome(response, *status).await;
            assert!(translated.to_string().contains(word), "{name} in {language}: {translated}");
            assert_eq!(codes_and_expressions(&translated), codes_and_expressions(&english), "{name}");
        }
    }
}
