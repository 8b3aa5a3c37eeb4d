//! Live bed capacity (issue 14 item 4): providers report MeasureReports, triage points read the region.

use handover_broker::auth::Role;
use handover_broker::store::LedgerQuery;
use serde_json::{json, Value};

use crate::helpers::*;

pub const VPL_HOOGVELD: &str = "demo-vpl-hoogveld";
pub const VPL_HOOGVELD_URA: &str = "90000015";
pub const ZC_KERKRADE: &str = "demo-zc-kerkrade";
pub const ZORGPUNT: &str = "demo-zorgpunt-zuid-limburg";
const MEASURE: &str = "https://fhir.handover-broker.eu/Measure/bed-capacity";
const STALE: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-stale";

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A bed-capacity report of the organisation with URA `ura`, as of now: (care type, total, occupied,
/// available) per group.
pub fn report(ura: &str, groups: &[(&str, i64, i64, i64)]) -> Value {
    report_at(ura, groups, time::OffsetDateTime::now_utc())
}

fn report_at(ura: &str, groups: &[(&str, i64, i64, i64)], end: time::OffsetDateTime) -> Value {
    let population = |code: &str, n: i64| json!({"code": {"coding": [{"system": "https://fhir.handover-broker.eu/CodeSystem/capacity-population", "code": code}]}, "count": n});
    json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE,
        "reporter": {"identifier": {"system": URA, "value": ura}},
        "period": {"start": rfc3339(end - time::Duration::minutes(1)), "end": rfc3339(end)},
        "group": groups.iter().map(|(care, total, occupied, available)| json!({
            "code": {"coding": [{"system": "https://fhir.handover-broker.eu/CodeSystem/care-type", "code": care}]},
            "population": [population("total", *total), population("occupied", *occupied), population("available", *available)],
        })).collect::<Vec<_>>(),
    })
}

impl TestApp {
    pub async fn post_capacity(&self, token: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut request =
            self.client.post(format!("{}/fhir/MeasureReport", self.base)).header("Content-Type", FHIR_JSON).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    async fn report_capacity(&self, token: &str, report: &Value) -> Value {
        let response = self.post_capacity(Some(token), serde_json::to_vec(report).unwrap()).await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    async fn read_json(&self, token: &str, path: &str, status: u16) -> Value {
        let response = self.get(Some(token), path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().await.unwrap()
    }
}

/// The group of `care` in a MeasureReport: (total, occupied, available).
fn counts(report: &Value, care: &str) -> Option<(i64, i64, i64)> {
    let group = report["group"].as_array()?.iter().find(|g| g["code"]["coding"][0]["code"] == care)?;
    let n = |code: &str| {
        group["population"].as_array().unwrap().iter().find(|p| p["code"]["coding"][0]["code"] == code).unwrap()
            ["count"]
            .as_i64()
            .unwrap()
    };
    Some((n("total"), n("occupied"), n("available")))
}

fn extension<'a>(element: &'a Value, url: &str) -> Option<&'a Value> {
    element["extension"].as_array()?.iter().find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(url)))
}

fn reports(bundle: &Value) -> Vec<&Value> {
    bundle["entry"].as_array().map(|e| e.iter().map(|e| &e["resource"]).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_provider_reports_and_the_triage_point_reads_the_latest_and_the_summary() {
    let app = spawn_app().await;
    let stored = app
        .report_capacity(VPL_HOOGVELD, &report(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3), ("elv-high", 4, 4, 0)]))
        .await;
    assert_eq!(stored["resourceType"], "MeasureReport");
    assert!(stored["id"].as_str().is_some_and(|id| !id.is_empty()), "{stored}");
    assert_eq!(counts(&stored, "elv-low"), Some((10, 7, 3)));
    assert_eq!(stored["reporter"]["identifier"]["value"], VPL_HOOGVELD_URA);
    // Kerkrade reports without a reporter: the caller is the reporter.
    let mut kerkrade = report("90000016", &[("elv-low", 20, 15, 5)]);
    kerkrade.as_object_mut().unwrap().remove("reporter");
    app.report_capacity(ZC_KERKRADE, &kerkrade).await;

    let bundle = app.read_json(ZORGPUNT, &format!("/fhir/MeasureReport?measure={MEASURE}"), 200).await;
    assert_eq!(bundle["type"], "searchset");
    let latest = reports(&bundle);
    assert_eq!(latest.len(), 2, "{bundle}");
    let hoogveld = latest.iter().find(|r| r["reporter"]["identifier"]["value"] == VPL_HOOGVELD_URA).unwrap();
    assert_eq!(counts(hoogveld, "elv-high"), Some((4, 4, 0)));
    assert!(extension(hoogveld, "capacity-age").is_some(), "{hoogveld}");
    assert!(extension(hoogveld, "capacity-stale").is_none(), "fresh: {hoogveld}");

    let summary = app.read_json(ZORGPUNT, "/fhir/MeasureReport/$region-summary", 200).await;
    assert_eq!(summary["resourceType"], "MeasureReport");
    assert_eq!(summary["type"], "summary");
    assert_eq!(counts(&summary, "elv-low"), Some((30, 22, 8)));
    let low =
        summary["group"].as_array().unwrap().iter().find(|g| g["code"]["coding"][0]["code"] == "elv-low").unwrap();
    assert_eq!(extension(low, "capacity-organizations").unwrap()["valueInteger"], 2);
    assert_eq!(extension(low, "capacity-stale-count").unwrap()["valueInteger"], 0);
    assert!(extension(low, "capacity-age").is_some());
    // The Belgian triage point and an auditor read the region too.
    app.read_json("demo-triage-westkust", "/fhir/MeasureReport/$region-summary", 200).await;
    let auditor = token_with_role(&app, Role::Auditor).await;
    assert_eq!(reports(&app.read_json(&auditor, "/fhir/MeasureReport", 200).await).len(), 2);
}

#[tokio::test]
async fn a_later_report_replaces_the_earlier_per_care_type_and_an_older_one_does_not() {
    let app = spawn_app().await;
    let now = time::OffsetDateTime::now_utc();
    app.report_capacity(
        VPL_HOOGVELD,
        &report_at(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3), ("respite", 2, 1, 1)], now - time::Duration::minutes(10)),
    )
    .await;
    app.report_capacity(VPL_HOOGVELD, &report_at(VPL_HOOGVELD_URA, &[("elv-low", 10, 9, 1)], now)).await;
    // A report of an earlier time arriving late changes nothing it would overwrite.
    app.report_capacity(
        VPL_HOOGVELD,
        &report_at(VPL_HOOGVELD_URA, &[("elv-low", 10, 0, 10)], now - time::Duration::minutes(5)),
    )
    .await;
    let bundle = app.read_json(ZORGPUNT, "/fhir/MeasureReport", 200).await;
    let latest = reports(&bundle);
    assert_eq!(latest.len(), 1);
    assert_eq!(counts(latest[0], "elv-low"), Some((10, 9, 1)));
    assert_eq!(counts(latest[0], "respite"), Some((2, 1, 1)), "a care type not reported again stays");
    // The provider reads its own, and only its own.
    app.report_capacity(ZC_KERKRADE, &report("90000016", &[("elv-low", 1, 1, 0)])).await;
    let own = app.read_json(VPL_HOOGVELD, "/fhir/MeasureReport", 200).await;
    assert_eq!(reports(&own).len(), 1);
    assert_eq!(reports(&own)[0]["reporter"]["identifier"]["value"], VPL_HOOGVELD_URA);
}

#[tokio::test]
async fn a_report_for_another_organisation_is_forbidden() {
    let app = spawn_app().await;
    let response = app
        .post_capacity(
            Some(ZC_KERKRADE),
            serde_json::to_vec(&report(VPL_HOOGVELD_URA, &[("elv-low", 1, 0, 1)])).unwrap(),
        )
        .await;
    let body = outcome(response, 403).await;
    assert!(issues_text(&body).contains("MeasureReport.reporter"), "{body}");
    assert_eq!(reports(&app.read_json(ZORGPUNT, "/fhir/MeasureReport", 200).await).len(), 0);
}

#[tokio::test]
async fn hostile_reports_are_refused_with_expressions() {
    let app = spawn_app().await;
    let good = report(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3)]);
    let changed = |change: &dyn Fn(&mut Value)| {
        let mut report = good.clone();
        change(&mut report);
        serde_json::to_vec(&report).unwrap()
    };
    let fifty_one: Vec<(&str, i64, i64, i64)> = (0..51).map(|_| ("elv-low", 1, 0, 1)).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "negative count",
            changed(&|r| r["group"][0]["population"][1]["count"] = json!(-1)),
            422,
            "MeasureReport.group[0].population[1].count",
        ),
        (
            "fractional count",
            changed(&|r| r["group"][0]["population"][0]["count"] = json!(2.5)),
            422,
            "MeasureReport.group[0].population[0].count",
        ),
        (
            "available over total",
            serde_json::to_vec(&report(VPL_HOOGVELD_URA, &[("elv-low", 3, 1, 4)])).unwrap(),
            422,
            "MeasureReport.group[0]",
        ),
        (
            "occupied over total",
            serde_json::to_vec(&report(VPL_HOOGVELD_URA, &[("elv-low", 3, 4, 0)])).unwrap(),
            422,
            "MeasureReport.group[0]",
        ),
        (
            "unknown care type",
            serde_json::to_vec(&report(VPL_HOOGVELD_URA, &[("space-station", 3, 1, 1)])).unwrap(),
            422,
            "MeasureReport.group[0].code",
        ),
        (
            "care type twice",
            serde_json::to_vec(&report(VPL_HOOGVELD_URA, &[("elv-low", 3, 1, 1), ("elv-low", 3, 1, 1)])).unwrap(),
            422,
            "MeasureReport.group[1].code",
        ),
        ("51 groups", serde_json::to_vec(&report(VPL_HOOGVELD_URA, &fifty_one)).unwrap(), 422, "MeasureReport.group"),
        ("no groups", changed(&|r| r["group"] = json!([])), 422, "MeasureReport.group"),
        (
            "wrong measure",
            changed(&|r| r["measure"] = json!("https://example.org/Measure/x")),
            422,
            "MeasureReport.measure",
        ),
        ("not complete", changed(&|r| r["status"] = json!("pending")), 422, "MeasureReport.status"),
        ("not a summary", changed(&|r| r["type"] = json!("individual")), 422, "MeasureReport.type"),
        ("no period end", changed(&|r| r["period"] = json!({})), 422, "MeasureReport.period.end"),
        ("period end a date", changed(&|r| r["period"]["end"] = json!("2027-01-01")), 422, "MeasureReport.period.end"),
        (
            "period end in the future",
            changed(&|r| {
                r["period"]["end"] = json!(rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1)))
            }),
            422,
            "MeasureReport.period.end",
        ),
        (
            "unknown population",
            changed(&|r| r["group"][0]["population"][2]["code"]["coding"][0]["code"] = json!("free")),
            422,
            "MeasureReport.group[0].population[2].code",
        ),
        ("not JSON", b"{\"resourceType\": \"MeasureReport\", ".to_vec(), 400, ""),
        ("not a MeasureReport", serde_json::to_vec(&json!({"resourceType": "Patient"})).unwrap(), 400, "resourceType"),
        ("a JSON array", b"[1, 2, 3]".to_vec(), 400, "resourceType"),
    ];
    for (name, body, status, expression) in cases {
        let response = app.post_capacity(Some(VPL_HOOGVELD), body).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body = outcome(response, status).await;
        assert!(issues_text(&body).contains(&format!("\"{expression}")), "{name}: {body}");
    }
    // A huge body is refused before it is read.
    let huge = vec![b' '; 2 * 1024 * 1024];
    outcome(app.post_capacity(Some(VPL_HOOGVELD), huge).await, 413).await;
    // Nothing was stored.
    assert_eq!(reports(&app.read_json(ZORGPUNT, "/fhir/MeasureReport", 200).await).len(), 0);
}

#[tokio::test]
async fn old_counts_are_flagged_stale_not_dropped() {
    let app = spawn_app_with(|s| s.capacity.stale_after_secs = 600).await;
    let now = time::OffsetDateTime::now_utc();
    app.report_capacity(
        VPL_HOOGVELD,
        &report_at(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3)], now - time::Duration::hours(2)),
    )
    .await;
    app.report_capacity(ZC_KERKRADE, &report("90000016", &[("elv-low", 5, 5, 0)])).await;
    let bundle = app.read_json(ZORGPUNT, "/fhir/MeasureReport", 200).await;
    let latest = reports(&bundle);
    assert_eq!(latest.len(), 2, "stale reports are kept");
    let old = latest.iter().find(|r| r["reporter"]["identifier"]["value"] == VPL_HOOGVELD_URA).unwrap();
    assert_eq!(extension(old, "capacity-stale").unwrap()["valueBoolean"], true, "{old}");
    assert!(extension(&old["group"][0], "capacity-stale").is_some());
    let age = extension(old, "capacity-age").unwrap()["valueDuration"]["value"].as_i64().unwrap();
    assert!((7190..7300).contains(&age), "{age}");
    let fresh = latest.iter().find(|r| r["reporter"]["identifier"]["value"] == "90000016").unwrap();
    assert!(extension(fresh, "capacity-stale").is_none());

    let summary = app.read_json(ZORGPUNT, "/fhir/MeasureReport/$region-summary", 200).await;
    assert_eq!(summary["extension"][0]["url"], STALE);
    let low = &summary["group"][0];
    assert_eq!(extension(low, "capacity-stale-count").unwrap()["valueInteger"], 1);
    assert_eq!(extension(low, "capacity-organizations").unwrap()["valueInteger"], 2);
    assert_eq!(counts(&summary, "elv-low"), Some((15, 12, 3)));
}

#[tokio::test]
async fn a_gp_may_neither_read_the_region_nor_a_summary() {
    let app = spawn_app().await;
    app.report_capacity(VPL_HOOGVELD, &report(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3)])).await;
    outcome(app.get(Some(GP_HEERLEN), &format!("/fhir/MeasureReport?measure={MEASURE}")).await, 403).await;
    outcome(app.get(Some(GP_HEERLEN), "/fhir/MeasureReport/$region-summary").await, 403).await;
    // A provider reads its own reports, not the region's summary.
    outcome(app.get(Some(VPL_HOOGVELD), "/fhir/MeasureReport/$region-summary").await, 403).await;
    // An admin is no reader at all.
    let admin = admin_token(&app).await;
    outcome(app.get(Some(&admin), "/fhir/MeasureReport").await, 403).await;
}

#[tokio::test]
async fn every_accepted_report_is_a_ledger_entry() {
    let app = spawn_app().await;
    let first = app.report_capacity(VPL_HOOGVELD, &report(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3)])).await;
    let second = app.report_capacity(VPL_HOOGVELD, &report(VPL_HOOGVELD_URA, &[("elv-low", 10, 8, 2)])).await;
    // A refused one is not.
    app.post_capacity(Some(VPL_HOOGVELD), b"not json".to_vec()).await;
    let query = LedgerQuery { event: Some("capacity-reported".into()), limit: 100, ..Default::default() };
    let entries = app.store.query_ledger(&query).await.unwrap();
    assert_eq!(entries.len(), 2);
    for (entry, stored) in entries.iter().zip([&first, &second]) {
        assert_eq!(entry.entry.actor_org.as_ref().map(|o| o.as_str()), Some("vpl-hoogveld"));
        let outcome = entry.entry.outcome.as_deref().unwrap();
        assert!(outcome.contains(stored["id"].as_str().unwrap()) && outcome.contains("elv-low"), "{outcome}");
        assert!(entry.entry.payload_sha256.is_some());
    }
    let verify: Value =
        app.get(Some(&token_with_role(&app, Role::Auditor).await), "/ledger/verify").await.json().await.unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}
