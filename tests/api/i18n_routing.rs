//! Dutch, French, English (issue 16) for routing, documents, capacity and quality: a refusal is
//! explained in the caller's language with the same codes and expressions as in English; organisation
//! identifiers, element names and codes stay as they are.

use serde_json::{json, Value};

use crate::capacity::{report, VPL_HOOGVELD, VPL_HOOGVELD_URA};
use crate::helpers::*;

/// Sends `request` with `Accept-Language` (none: no preference) and returns the OperationOutcome of
/// `status` with the answer's `Content-Language`.
async fn refused(
    request: reqwest::RequestBuilder,
    accept_language: Option<&str>,
    status: u16,
) -> (Value, Option<String>) {
    let request = match accept_language {
        Some(language) => request.header("Accept-Language", language),
        None => request,
    };
    let response = request.send().await.expect("request sent");
    let language = response.headers().get("Content-Language").map(|v| v.to_str().unwrap().to_owned());
    (outcome(response, status).await, language)
}

fn codes_and_expressions(outcome: &Value) -> Vec<(Value, Value)> {
    outcome["issue"].as_array().unwrap().iter().map(|i| (i["code"].clone(), i["expression"].clone())).collect()
}

fn texts(outcome: &Value) -> Vec<String> {
    outcome["issue"].as_array().unwrap().iter().map(|i| i["diagnostics"].as_str().unwrap().to_owned()).collect()
}

/// The same refusal in English (no preference), French and Dutch: the same codes and expressions, and
/// each language's texts.
async fn in_three_languages(
    request: impl Fn() -> reqwest::RequestBuilder,
    status: u16,
) -> [(Vec<String>, Vec<(Value, Value)>); 3] {
    let (english, none) = refused(request(), None, status).await;
    assert_eq!(none, None, "no preference, no Content-Language");
    let (french, fr) = refused(request(), Some("fr-BE, nl;q=0.5"), status).await;
    assert_eq!(fr.as_deref(), Some("fr"));
    let (dutch, nl) = refused(request(), Some("nl-NL"), status).await;
    assert_eq!(nl.as_deref(), Some("nl"));
    assert_eq!(codes_and_expressions(&french), codes_and_expressions(&english));
    assert_eq!(codes_and_expressions(&dutch), codes_and_expressions(&english));
    [english, french, dutch].map(|outcome| (texts(&outcome), codes_and_expressions(&outcome)))
}

#[tokio::test]
async fn a_message_that_cannot_be_routed_is_refused_in_the_callers_language() {
    let app = spawn_app().await;
    let mut bundle = discharge();
    // An organisation the directory does not know, and the hospital, which takes no discharge summaries.
    header(&mut bundle)["destination"] = json!([
        destination(URA, "12345678", "https://unknown.example/fhir"),
        destination(URA, "90000011", "http://127.0.0.1:9101/fhir"),
    ]);
    let body = serde_json::to_vec(&bundle).unwrap();
    let post = || {
        app.client
            .post(format!("{}/fhir/$process-message", app.base))
            .bearer_auth(HOSPITAL)
            .header("Content-Type", FHIR_JSON)
            .body(body.clone())
    };
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(post, 422).await;
    assert_eq!(at.iter().map(|(code, _)| code.as_str().unwrap()).collect::<Vec<_>>(), ["not-found", "business-rule"]);
    let unknown = format!("{URA}|12345678");
    let hospital = format!("{URA}|90000011");
    assert_eq!(
        english,
        [
            format!("receiver {unknown} is not in the directory"),
            format!("receiver {hospital} does not accept discharge-summary handovers"),
        ]
    );
    assert_eq!(
        french,
        [
            format!("le destinataire {unknown} ne figure pas dans l'annuaire"),
            format!("le destinataire {hospital} n'accepte pas les transferts de type discharge-summary"),
        ]
    );
    assert_eq!(
        dutch,
        [
            format!("ontvanger {unknown} staat niet in het adresboek"),
            format!("ontvanger {hospital} neemt geen overdrachten van het soort discharge-summary aan"),
        ]
    );
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_document_to_an_unknown_receiver_is_refused_in_the_callers_language() {
    let app = spawn_app().await;
    let document = std::fs::read(project_dir().join("fixtures/documents/patient-summary-ips-minimal.json")).unwrap();
    let post = || {
        app.client
            .post(format!("{}/fhir/Bundle?receiver={URA}%7C12345678", app.base))
            .bearer_auth(HOSPITAL)
            .header("Content-Type", FHIR_JSON)
            .body(document.clone())
    };
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(post, 422).await;
    assert_eq!(at, [(json!("not-found"), json!(["http.receiver"]))]);
    assert_eq!(english, [format!("receiver {URA}|12345678 is not in the directory")]);
    assert_eq!(french, [format!("le destinataire {URA}|12345678 ne figure pas dans l'annuaire")]);
    assert_eq!(dutch, [format!("ontvanger {URA}|12345678 staat niet in het adresboek")]);
}

#[tokio::test]
async fn an_invalid_capacity_report_is_refused_in_the_callers_language() {
    let app = spawn_app().await;
    let mut invalid = report(VPL_HOOGVELD_URA, &[("elv-low", 3, 4, 0)]);
    invalid["status"] = json!("pending");
    let body = serde_json::to_vec(&invalid).unwrap();
    let post = || {
        app.client
            .post(format!("{}/fhir/MeasureReport", app.base))
            .bearer_auth(VPL_HOOGVELD)
            .header("Content-Type", FHIR_JSON)
            .body(body.clone())
    };
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(post, 422).await;
    assert_eq!(
        at,
        [(json!("value"), json!(["MeasureReport.status"])), (json!("invariant"), json!(["MeasureReport.group[0]"])),]
    );
    assert_eq!(english, ["status must be complete", "occupied must not exceed total"]);
    assert_eq!(french, ["status doit valoir complete", "occupied ne doit pas dépasser total"]);
    assert_eq!(dutch, ["status moet complete zijn", "occupied mag niet groter zijn dan total"]);
}

#[tokio::test]
async fn bad_quality_parameters_are_refused_in_the_callers_language() {
    let app = spawn_app().await;
    let quality = token_with_role(&app, handover_broker::auth::Role::Quality).await;
    let get = || {
        app.client
            .get(format!(
                "{}/fhir/Measure/handover-quality/$evaluate-measure?periodStart=2026-02-01&periodEnd=2026-01-01",
                app.base
            ))
            .bearer_auth(&quality)
    };
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(get, 400).await;
    assert_eq!(at, [(json!("invalid"), json!(["periodStart"]))]);
    assert_eq!(english, ["periodStart is after periodEnd"]);
    assert_eq!(french, ["periodStart est postérieur à periodEnd"]);
    assert_eq!(dutch, ["periodStart ligt na periodEnd"]);
}

#[tokio::test]
async fn bad_search_parameters_are_refused_in_the_callers_language() {
    let app = spawn_app().await;
    let mailbox = || app.client.get(format!("{}/fhir/mailbox?_cursor=nonsense", app.base)).bearer_auth(GP_HEERLEN);
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(mailbox, 400).await;
    assert_eq!(at, [(json!("invalid"), Value::Null)]);
    assert_eq!(english, ["_cursor: not a cursor of this broker"]);
    assert_eq!(french, ["_cursor : ce n'est pas un curseur de ce broker"]);
    assert_eq!(dutch, ["_cursor: geen cursor van deze broker"]);

    let tasks = || app.client.get(format!("{}/fhir/Task?status=done", app.base)).bearer_auth(HOME_CARE);
    let [(english, at), (french, _), (dutch, _)] = in_three_languages(tasks, 400).await;
    assert_eq!(at, [(json!("invalid"), Value::Null)]);
    assert_eq!(english, ["status: not a Task status"]);
    assert_eq!(french, ["status : ce n'est pas un status de Task"]);
    assert_eq!(dutch, ["status: geen status van een Task"]);
}
