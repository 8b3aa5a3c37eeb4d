//! What the page shows, read from the FHIR answers of the capacity API (the searchset of the latest
//! reports, the regional summary) and nothing else: the page copies their numbers, never sums them, so
//! the page and the API cannot disagree.

use serde_json::Value;

/// The extensions the capacity API writes on groups (`capacity::fhir`; their URLs are part of the API).
const SD: &str = "https://fhir.handover-broker.eu/StructureDefinition/";

/// A group's three populations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub total: i64,
    pub occupied: i64,
    pub available: i64,
}

/// One care type of one organisation's latest report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The reporter's identifier as `SYSTEM|VALUE` (how the filter names it).
    pub org: String,
    pub name: String,
    pub care: String,
    pub counts: Counts,
    /// When the counts held (the report's `period.end`), RFC 3339.
    pub as_of: Option<String>,
    pub age_secs: Option<i64>,
    pub stale: bool,
}

/// One care type's line: the region's totals, or one organisation's own group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareRow {
    pub care: String,
    pub counts: Counts,
    pub organizations: i64,
    pub stale_organizations: i64,
    /// The oldest counts' age.
    pub age_secs: Option<i64>,
}

fn code(group: &Value) -> String {
    group.pointer("/code/coding/0/code").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn counts(group: &Value) -> Counts {
    let count = |code: &str| {
        group["population"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p.pointer("/code/coding/0/code").and_then(Value::as_str) == Some(code)))
            .and_then(|p| p["count"].as_i64())
            .unwrap_or(0)
    };
    Counts { total: count("total"), occupied: count("occupied"), available: count("available") }
}

fn extension<'v>(element: &'v Value, name: &str) -> Option<&'v Value> {
    element["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"].as_str().and_then(|u| u.strip_prefix(SD)).is_some_and(|u| u == name))
}

fn age(element: &Value) -> Option<i64> {
    extension(element, "capacity-age")?.pointer("/valueDuration/value")?.as_i64()
}

fn stale(element: &Value) -> bool {
    extension(element, "capacity-stale").and_then(|e| e["valueBoolean"].as_bool()) == Some(true)
}

fn integer(element: &Value, name: &str) -> i64 {
    extension(element, name).and_then(|e| e["valueInteger"].as_i64()).unwrap_or(0)
}

/// Every group of every report in the searchset, in the searchset's order.
pub fn reports(searchset: &Value) -> Vec<ReportRow> {
    let entries = searchset["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut rows = Vec::new();
    for report in entries.iter().map(|e| &e["resource"]) {
        let reporter = &report["reporter"];
        let identifier = &reporter["identifier"];
        let org = match (identifier["system"].as_str(), identifier["value"].as_str()) {
            (Some(system), Some(value)) => format!("{system}|{value}"),
            _ => String::new(),
        };
        let name = reporter["display"].as_str().unwrap_or(&org).to_owned();
        for group in report["group"].as_array().into_iter().flatten() {
            rows.push(ReportRow {
                org: org.clone(),
                name: name.clone(),
                care: code(group),
                counts: counts(group),
                as_of: extension(group, "capacity-as-of").and_then(|e| e["valueDateTime"].as_str()).map(str::to_owned),
                age_secs: age(group),
                stale: stale(group),
            });
        }
    }
    rows
}

/// The regional summary's groups, one per care type.
pub fn summary(report: &Value) -> Vec<CareRow> {
    let groups = report["group"].as_array().map(Vec::as_slice).unwrap_or_default();
    groups
        .iter()
        .map(|group| CareRow {
            care: code(group),
            counts: counts(group),
            organizations: integer(group, "capacity-organizations"),
            stale_organizations: integer(group, "capacity-stale-count"),
            age_secs: age(group),
        })
        .collect()
}

/// One organisation's groups as care-type lines (a provider's own view, or the region narrowed to one
/// organisation): its numbers as reported, nothing added up.
pub fn own(rows: &[&ReportRow]) -> Vec<CareRow> {
    rows.iter()
        .map(|r| CareRow {
            care: r.care.clone(),
            counts: r.counts,
            organizations: 1,
            stale_organizations: i64::from(r.stale),
            age_secs: r.age_secs,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(care: &str, (total, occupied, available): (i64, i64, i64), extension: Value) -> Value {
        let population = |code: &str, n: i64| json!({"code": {"coding": [{"code": code}]}, "count": n});
        json!({
            "extension": extension,
            "code": {"coding": [{"code": care}]},
            "population": [population("total", total), population("occupied", occupied), population("available", available)],
        })
    }

    #[test]
    fn the_searchset_becomes_one_row_per_organisation_and_care_type() {
        let searchset = json!({"entry": [{"resource": {
            "reporter": {"identifier": {"system": "urn:s", "value": "1"}, "display": "Hoogveld"},
            "group": [
                group("elv-low", (10, 7, 3), json!([
                    {"url": format!("{SD}capacity-as-of"), "valueDateTime": "2026-12-01T10:00:00Z"},
                    {"url": format!("{SD}capacity-age"), "valueDuration": {"value": 7200}},
                    {"url": format!("{SD}capacity-stale"), "valueBoolean": true},
                ])),
                group("hospice", (4, 4, 0), json!([])),
            ],
        }}]});
        let rows = reports(&searchset);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].org, "urn:s|1");
        assert_eq!(rows[0].counts, Counts { total: 10, occupied: 7, available: 3 });
        assert_eq!(rows[0].as_of.as_deref(), Some("2026-12-01T10:00:00Z"));
        assert_eq!((rows[0].age_secs, rows[0].stale), (Some(7200), true));
        assert_eq!((rows[1].care.as_str(), rows[1].stale, rows[1].as_of.as_deref()), ("hospice", false, None));
    }

    #[test]
    fn an_answer_of_another_shape_gives_nothing_rather_than_failing() {
        assert!(reports(&json!({"entry": "x"})).is_empty());
        assert!(summary(&json!([1, 2])).is_empty());
        let odd = summary(&json!({"group": [{"code": 3, "population": [{"count": "x"}]}]}));
        assert_eq!(odd[0].counts, Counts::default());
    }

    #[test]
    fn the_extensions_are_read_where_the_api_writes_them() {
        assert_eq!(crate::capacity::STALE_URL, format!("{SD}capacity-stale"));
    }

    #[test]
    fn summary_groups_keep_their_organisations_and_stale_counts() {
        let report = json!({"group": [group("elv-low", (30, 22, 8), json!([
            {"url": format!("{SD}capacity-organizations"), "valueInteger": 2},
            {"url": format!("{SD}capacity-stale-count"), "valueInteger": 1},
        ]))]});
        let rows = summary(&report);
        assert_eq!((rows[0].organizations, rows[0].stale_organizations), (2, 1));
        assert_eq!(rows[0].counts.available, 8);
    }
}
