//! The capacity page (issue 16): `/capacity` shows the figures the capacity API answers, to the callers
//! the API answers, in Dutch, French or English; hostile filters get a 400 page, never a 500.

use handover_broker::store::LedgerQuery;
use serde_json::Value;

use crate::capacity::{report, VPL_HOOGVELD, VPL_HOOGVELD_URA, ZC_KERKRADE, ZORGPUNT};
use crate::helpers::*;

const SINT_JOZEF: &str = "demo-wzc-sint-jozef";
const SINT_JOZEF_NIHDI: &str = "10000000500";
const KERKRADE_URA: &str = "90000016";

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// Posts a report of the caller's own (no reporter: the caller is the reporter), as of `minutes_ago`.
async fn reported(app: &TestApp, token: &str, groups: &[(&str, i64, i64, i64)], minutes_ago: i64) {
    let mut body = report("unused", groups);
    body.as_object_mut().unwrap().remove("reporter");
    let end = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago);
    body["period"] = serde_json::json!({"start": rfc3339(end - time::Duration::minutes(1)), "end": rfc3339(end)});
    let response = app.post_capacity(Some(token), serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());
}

/// Three providers, one of them reporting two hours ago (stale after ten minutes).
pub async fn seeded() -> TestApp {
    let app = spawn_app_with(|s| s.capacity.stale_after_secs = 600).await;
    reported(&app, VPL_HOOGVELD, &[("elv-low", 10, 7, 3), ("respite", 2, 1, 1)], 0).await;
    reported(&app, ZC_KERKRADE, &[("elv-low", 20, 15, 5), ("acute-psychogeriatric", 3, 3, 0)], 1).await;
    reported(&app, SINT_JOZEF, &[("short-stay", 8, 6, 2), ("respite", 4, 4, 0)], 120).await;
    app
}

/// A GET with optional bearer token and extra headers.
async fn fetch(app: &TestApp, token: Option<&str>, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

/// The page's HTML, checked to be an HTML answer with `status`.
async fn page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let media = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(media.starts_with("text/html"), "{media}");
    response.text().await.unwrap()
}

/// The number in the element carrying `attribute` (`data-summary="elv-low/total"`).
fn shown(html: &str, attribute: &str) -> Option<i64> {
    let at = html.find(attribute)?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    rest[start..end].trim().parse().ok()
}

/// Every (care type, population, count) of a MeasureReport's groups.
fn populations(report: &Value) -> Vec<(String, String, i64)> {
    let mut found = Vec::new();
    for group in report["group"].as_array().into_iter().flatten() {
        let care = group["code"]["coding"][0]["code"].as_str().unwrap().to_owned();
        for population in group["population"].as_array().unwrap() {
            let code = population["code"]["coding"][0]["code"].as_str().unwrap().to_owned();
            found.push((care.clone(), code, population["count"].as_i64().unwrap()));
        }
    }
    found
}

fn extension<'a>(element: &'a Value, name: &str) -> Option<&'a Value> {
    element["extension"].as_array()?.iter().find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(name)))
}

fn reporter(report: &Value) -> String {
    let identifier = &report["reporter"]["identifier"];
    format!("{}|{}", identifier["system"].as_str().unwrap(), identifier["value"].as_str().unwrap())
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get(Some(token), path).await;
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_page_shows_the_figures_the_api_answers_for_the_region() {
    let app = seeded().await;
    let html = page(fetch(&app, Some(ZORGPUNT), "/capacity", &[]).await, 200).await;

    // The totals per care type are the summary's, cell by cell.
    let summary = api(&app, ZORGPUNT, "/fhir/MeasureReport/$region-summary").await;
    let totals = populations(&summary);
    assert_eq!(totals.len(), 4 * 3, "four care types reported: {summary}");
    for (care, code, count) in &totals {
        assert_eq!(shown(&html, &format!("data-summary=\"{care}/{code}\"")), Some(*count), "{care} {code}");
    }
    // Not zeros compared with zeros: respite is Hoogveld's 2/1/1 and Sint-Jozef's 4/4/0.
    assert_eq!(shown(&html, "data-summary=\"respite/total\""), Some(6));
    assert_eq!(shown(&html, "data-summary=\"respite/available\""), Some(1));
    for group in summary["group"].as_array().unwrap() {
        let care = group["code"]["coding"][0]["code"].as_str().unwrap();
        let stale = extension(group, "capacity-stale-count").unwrap()["valueInteger"].as_i64();
        assert_eq!(shown(&html, &format!("data-summary=\"{care}/stale\"")), stale, "{care}");
        let organizations = extension(group, "capacity-organizations").unwrap()["valueInteger"].as_i64();
        assert_eq!(shown(&html, &format!("data-summary=\"{care}/organizations\"")), organizations, "{care}");
    }
    assert_eq!(shown(&html, "data-summary=\"respite/stale\""), Some(1));

    // Each organisation's latest counts are the searchset's, with their time, and stale where it says so.
    let latest = api(&app, ZORGPUNT, "/fhir/MeasureReport").await;
    let reports: Vec<&Value> = latest["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
    assert_eq!(reports.len(), 3);
    let mut cells = 0;
    for report in &reports {
        let org = reporter(report);
        for group in report["group"].as_array().unwrap() {
            let care = group["code"]["coding"][0]["code"].as_str().unwrap();
            for (_, code, count) in populations(&serde_json::json!({"group": [group]})) {
                assert_eq!(shown(&html, &format!("data-report=\"{org}/{care}/{code}\"")), Some(count), "{org} {care}");
                cells += 1;
            }
            let as_of = extension(group, "capacity-as-of").unwrap()["valueDateTime"].as_str().unwrap();
            assert!(
                html.contains(&format!("<time datetime=\"{as_of}\" data-as-of=\"{org}/{care}\">")),
                "the time of {org} {care}"
            );
            let stale = extension(group, "capacity-stale").is_some();
            assert_eq!(html.contains(&format!("data-stale=\"{org}/{care}\"")), stale, "{org} {care} stale: {stale}");
        }
    }
    assert_eq!(cells, 6 * 3);
    let sint_jozef = format!("{NIHDI}|{SINT_JOZEF_NIHDI}");
    assert!(html.contains(&format!("data-stale=\"{sint_jozef}/short-stay\"")), "two hours old is stale");
    assert!(html.contains("<svg") && html.contains("data-bar=\"elv-low\""), "a bar per care type, inline SVG");
    assert!(!html.contains("<script"), "no JavaScript");
}

#[tokio::test]
async fn filters_narrow_the_page_to_an_organisation_and_a_care_type() {
    let app = seeded().await;
    let kerkrade = format!("{URA}|{KERKRADE_URA}");
    let query = format!("/capacity?org={}&care=elv-low", kerkrade.replace('|', "%7C"));
    let html = page(fetch(&app, Some(ZORGPUNT), &query, &[]).await, 200).await;
    assert_eq!(shown(&html, &format!("data-report=\"{kerkrade}/elv-low/available\"")), Some(5));
    assert!(!html.contains(&format!("data-report=\"{kerkrade}/acute-psychogeriatric/")), "another care type");
    assert!(!html.contains(&format!("data-report=\"{URA}|{VPL_HOOGVELD_URA}/")), "another organisation");
    assert!(!html.contains("data-summary="), "one organisation: its own counts, not the region's totals");
    assert!(html.contains("Zorgcentrum Kerkrade (demo)"));
    assert!(html.contains(&format!("<option value=\"{kerkrade}\" selected>")), "the form keeps the filter");
    // A care type alone narrows the region's totals.
    let html = page(fetch(&app, Some(ZORGPUNT), "/capacity?care=respite&org=", &[]).await, 200).await;
    assert_eq!(shown(&html, "data-summary=\"respite/occupied\""), Some(5));
    assert!(!html.contains("data-summary=\"elv-low/"));
}

#[tokio::test]
async fn a_provider_sees_its_own_counts_only() {
    let app = seeded().await;
    let html = page(fetch(&app, Some(VPL_HOOGVELD), "/capacity", &[]).await, 200).await;
    let own: Value = api(&app, VPL_HOOGVELD, "/fhir/MeasureReport").await;
    let hoogveld = format!("{URA}|{VPL_HOOGVELD_URA}");
    assert_eq!(own["entry"].as_array().unwrap().len(), 1, "the API answers its own only: {own}");
    for (care, code, count) in populations(&own["entry"][0]["resource"]) {
        assert_eq!(shown(&html, &format!("data-report=\"{hoogveld}/{care}/{code}\"")), Some(count));
    }
    assert!(!html.contains(&format!("{URA}|{KERKRADE_URA}")), "nothing of Kerkrade, not even in the form");
    assert!(!html.contains(SINT_JOZEF_NIHDI));
    assert!(!html.contains("data-summary="), "no regional totals");
    // Its own by the filter; another organisation's is refused, as the region's summary is by the API.
    let mine = format!("/capacity?org={URA}%7C{VPL_HOOGVELD_URA}");
    page(fetch(&app, Some(VPL_HOOGVELD), &mine, &[]).await, 200).await;
    let theirs = format!("/capacity?org={URA}%7C{KERKRADE_URA}");
    let refused = page(fetch(&app, Some(VPL_HOOGVELD), &theirs, &[]).await, 403).await;
    assert!(!refused.contains("data-report="), "{refused}");
}

#[tokio::test]
async fn others_are_refused_and_people_without_credentials_asked_to_sign_in() {
    let app = seeded().await;
    // A GP is no reader of capacity (403, as by the API); an administrator holds no reading role.
    let refused = page(fetch(&app, Some(GP_HEERLEN), "/capacity", &[]).await, 403).await;
    assert!(refused.contains("triage"), "{refused}");
    assert!(!refused.contains("data-report=") && !refused.contains("data-summary="));
    page(fetch(&app, Some(&admin_token(&app).await), "/capacity", &[]).await, 403).await;
    // No credentials: the sign-in form, which leads back here with the filters.
    let form = page(fetch(&app, None, "/capacity?care=respite", &[]).await, 401).await;
    assert!(form.contains("name=\"token\""), "{form}");
    assert!(form.contains("value=\"/capacity?care=respite\""), "{form}");
    // Signing in: the token becomes the session cookie, which the page accepts (the API does not).
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed = no_redirects
        .post(format!("{}/login", app.base))
        .form(&[("token", ZORGPUNT), ("next", "/capacity?lang=nl")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(signed.headers()["location"], "/capacity?lang=nl");
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page(fetch(&app, None, "/capacity?lang=nl", &[("Cookie", &cookie)]).await, 200).await;
    assert!(html.contains("data-summary=\"elv-low/total\""));
    let api = fetch(&app, None, "/fhir/MeasureReport", &[("Cookie", &cookie)]).await;
    assert_eq!(api.status().as_u16(), 401, "the API takes no cookie");
}

#[tokio::test]
async fn a_page_read_leaves_the_same_ledger_trail_as_the_api_read() {
    let app = seeded().await;
    let admin = admin_token(&app).await;
    let entries = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            let query = LedgerQuery { limit: 10_000, ..Default::default() };
            store.query_ledger(&query).await.unwrap()
        }
    };
    for token in [ZORGPUNT, VPL_HOOGVELD, GP_HEERLEN, admin.as_str()] {
        let before = entries(&app).await.len();
        fetch(&app, Some(token), "/fhir/MeasureReport", &[]).await;
        fetch(&app, Some(token), "/fhir/MeasureReport/$region-summary", &[]).await;
        let by_api: Vec<String> =
            entries(&app).await[before..].iter().map(|e| e.entry.event.as_str().to_owned()).collect();
        let before = entries(&app).await.len();
        fetch(&app, Some(token), "/capacity", &[]).await;
        let by_page: Vec<String> =
            entries(&app).await[before..].iter().map(|e| e.entry.event.as_str().to_owned()).collect();
        // The page reads both answers at once: one read of it is the API's two, and a refusal once.
        let mut expected = by_api.clone();
        expected.dedup();
        assert_eq!(by_page, expected, "{token}: API {by_api:?}");
    }
    // An administrator's refusal is ledgered with the page's route, never the query it was asked with.
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(last.entry.event.as_str(), "denied-access");
    assert!(last.entry.outcome.as_deref().unwrap().contains("GET /capacity"), "{:?}", last.entry.outcome);
}

#[tokio::test]
async fn the_page_speaks_dutch_and_french() {
    let app = seeded().await;
    let nl = page(fetch(&app, Some(ZORGPUNT), "/capacity?lang=nl", &[]).await, 200).await;
    assert!(nl.contains("<html lang=\"nl\">"));
    for words in ["Beddencapaciteit", "Eerstelijnsverblijf laag complex", "Zorgvorm", "verouderd", "Bezet", "Vrij"] {
        assert!(nl.contains(words), "nl: {words}");
    }
    // The browser's language when no link was followed; Belgian French is French.
    let fr = page(fetch(&app, Some(ZORGPUNT), "/capacity", &[("Accept-Language", "fr-BE,fr;q=0.9")]).await, 200).await;
    assert!(fr.contains("<html lang=\"fr\">"));
    for words in ["Capacité en lits", "Séjour de soins de première ligne, faible complexité", "Court séjour", "périmé"]
    {
        assert!(fr.contains(words), "fr: {words}");
    }
    // The figures do not change with the language.
    assert_eq!(shown(&nl, "data-summary=\"elv-low/total\""), shown(&fr, "data-summary=\"elv-low/total\""));
    // Refusals speak the page's language too.
    let refused = page(fetch(&app, Some(GP_HEERLEN), "/capacity?lang=nl", &[]).await, 403).await;
    assert!(refused.contains("triagepunten"), "{refused}");
}

#[tokio::test]
async fn hostile_filters_get_a_400_page_never_a_500() {
    let app = seeded().await;
    let long = format!("/capacity?care={}", "a".repeat(5000));
    let cases: Vec<(&str, String)> = vec![
        ("unknown care type", "/capacity?care=space-station".into()),
        ("markup as care type", "/capacity?care=%3Cscript%3Ealert(1)%3C/script%3E".into()),
        ("organisation without a system", "/capacity?org=90000015".into()),
        ("organisation of nobody", "/capacity?org=urn:oid:1.2.3%7C999".into()),
        ("markup as organisation", "/capacity?org=%22%3E%3Cscript%3E%7C%3Cimg%3E".into()),
        ("control character", "/capacity?org=urn:x%7Cv%00".into()),
        ("not UTF-8", "/capacity?care=%ff%fe".into()),
        ("given twice", "/capacity?care=respite&care=elv-low".into()),
        ("a parameter the page does not take", "/capacity?measure=x".into()),
        ("a query too long", long),
    ];
    for (name, path) in cases {
        let html = page(fetch(&app, Some(ZORGPUNT), &path, &[]).await, 400).await;
        assert!(!html.contains("<script") && !html.contains("<img"), "{name}: {html}");
        assert!(!html.contains("data-report="), "{name}: no figures on a refusal");
    }
    // The page's language on a refusal, and a way back.
    let html = page(fetch(&app, Some(ZORGPUNT), "/capacity?lang=fr&care=x", &[]).await, 400).await;
    assert!(html.contains("type de soins") && html.contains("href=\"/capacity?lang=fr\""), "{html}");
    // A language that is none of the broker's is no error: English.
    let html = page(fetch(&app, Some(ZORGPUNT), "/capacity?lang=%3Cxx%3E", &[]).await, 200).await;
    assert!(html.contains("<html lang=\"en\">"));
}
