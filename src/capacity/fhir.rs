//! Capacity in FHIR: reading a posted `MeasureReport` (every issue, with its expression) and writing
//! the stored report, the latest reports as a searchset and the regional summary.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{CapacityError, BED_CAPACITY_MEASURE, CLOCK_SKEW_SECS};
use crate::directory::Snapshot;
use crate::model::codes::{CareType, CARE_TYPE_SYSTEM};
use crate::model::{OrgId, OrgIdentifier};
use crate::outcome::{Issue, IssueCode, Text};
use crate::store::{CapacityCount, CapacityRow, CareTypeTotals};
use crate::time::{parse_instant, Millis};

/// The code system of the populations `total`, `occupied` and `available`.
pub const CAPACITY_POPULATION_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/capacity-population";
/// `valueBoolean` true on counts older than `capacity.stale_after_secs` (and on a report or summary
/// group holding any).
pub const STALE_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-stale";
/// `valueDuration` (seconds): how old the counts are (for a summary group: the oldest).
const AGE_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-age";
/// `valueDateTime`: when a group's counts held (its report's `period.end`).
const AS_OF_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-as-of";
/// `valueInteger` on a summary group: organisations reporting the care type.
const ORGANIZATIONS_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-organizations";
/// `valueInteger` on a summary group: of those, how many are stale.
const STALE_COUNT_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/capacity-stale-count";

/// The most groups (care types) in one report.
pub const MAX_GROUPS: usize = 50;
/// The largest count accepted: beds of one care type at one organisation.
const MAX_COUNT: i64 = 1_000_000;
const POPULATIONS: [&str; 3] = ["total", "occupied", "available"];

/// A checked report.
#[derive(Debug, Clone)]
pub struct Report {
    pub as_of: Millis,
    pub start: Option<Millis>,
    pub counts: Vec<CapacityCount>,
    pub reporter: OrgId,
}

/// What a report is checked against.
pub struct Context<'a> {
    pub caller: &'a OrgId,
    pub snapshot: &'a Snapshot,
    pub care_types: &'a [String],
    pub now: Millis,
}

fn at(code: IssueCode, expression: &str, text: Text) -> Issue {
    Issue::says(code, text).at(expression)
}

/// Reads and checks a posted MeasureReport; every issue is collected.
pub fn parse_report(body: &[u8], cx: &Context<'_>) -> Result<Report, CapacityError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        CapacityError::Malformed(vec![Issue::says(
            IssueCode::Structure,
            Text::new("capacity-body-not-json").num("line", e.line()).num("column", e.column()),
        )])
    })?;
    let Some(report) = value.as_object().filter(|o| o.get("resourceType") == Some(&json!("MeasureReport"))) else {
        return Err(CapacityError::Malformed(vec![at(
            IssueCode::Structure,
            "resourceType",
            Text::new("capacity-not-measure-report"),
        )]));
    };
    // Whose report it is comes first: a report for another organisation is refused whatever it holds.
    let reporter = match report.get("reporter") {
        None => cx.caller.clone(),
        Some(reference) => {
            let identifier = reference.get("identifier");
            let system = identifier.and_then(|i| i.get("system")).and_then(Value::as_str);
            let value = identifier.and_then(|i| i.get("value")).and_then(Value::as_str);
            let named = system.zip(value).and_then(|(s, v)| OrgIdentifier::new(s, v));
            let Some(named) = named else {
                return Err(CapacityError::Invalid(vec![at(
                    IssueCode::Required,
                    "MeasureReport.reporter.identifier",
                    Text::new("capacity-reporter-no-identifier"),
                )]));
            };
            match cx.snapshot.by_identifier(&named) {
                Some(org) if &org.id == cx.caller => org.id.clone(),
                _ => {
                    return Err(CapacityError::Forbidden(vec![at(
                        IssueCode::Forbidden,
                        "MeasureReport.reporter",
                        Text::new("capacity-reporter-not-caller"),
                    )]))
                }
            }
        }
    };
    let mut issues = Vec::new();
    let text = |name: &str| report.get(name).and_then(Value::as_str);
    if text("status") != Some("complete") {
        issues.push(at(IssueCode::Value, "MeasureReport.status", Text::new("capacity-status")));
    }
    if text("type") != Some("summary") {
        issues.push(at(IssueCode::Value, "MeasureReport.type", Text::new("capacity-type")));
    }
    if text("measure").and_then(|m| m.split('|').next()) != Some(BED_CAPACITY_MEASURE) {
        issues.push(at(
            IssueCode::Value,
            "MeasureReport.measure",
            Text::new("capacity-measure").arg("measure", BED_CAPACITY_MEASURE),
        ));
    }
    let (as_of, start) = period(report.get("period"), cx.now, &mut issues);
    let counts = groups(report.get("group"), cx.care_types, &mut issues);
    match (as_of, issues.is_empty()) {
        (Some(as_of), true) => Ok(Report { as_of, start, counts, reporter }),
        _ => Err(CapacityError::Invalid(issues)),
    }
}

fn period(period: Option<&Value>, now: Millis, issues: &mut Vec<Issue>) -> (Option<Millis>, Option<Millis>) {
    let instant = |name: &str, issues: &mut Vec<Issue>| {
        let text = period.and_then(|p| p.get(name))?;
        let parsed = text.as_str().filter(|t| t.contains('T')).and_then(parse_instant);
        if parsed.is_none() {
            issues.push(at(
                IssueCode::Value,
                &format!("MeasureReport.period.{name}"),
                Text::new("capacity-bad-instant"),
            ));
        }
        parsed
    };
    if period.and_then(|p| p.get("end")).is_none() {
        issues.push(at(IssueCode::Required, "MeasureReport.period.end", Text::new("capacity-no-period-end")));
        return (None, None);
    }
    let end = instant("end", issues);
    let start = instant("start", issues);
    if let Some(end) = end {
        if end > now.plus_secs(CLOCK_SKEW_SECS) {
            issues.push(at(
                IssueCode::Value,
                "MeasureReport.period.end",
                Text::new("capacity-period-future").num("seconds", CLOCK_SKEW_SECS),
            ));
        }
        if start.is_some_and(|start| start > end) {
            issues.push(at(IssueCode::Invariant, "MeasureReport.period", Text::new("capacity-period-reversed")));
        }
    }
    (end, start)
}

fn groups(groups: Option<&Value>, care_types: &[String], issues: &mut Vec<Issue>) -> Vec<CapacityCount> {
    let Some(groups) = groups.and_then(Value::as_array).filter(|g| !g.is_empty()) else {
        issues.push(at(IssueCode::Required, "MeasureReport.group", Text::new("capacity-no-group")));
        return Vec::new();
    };
    if groups.len() > MAX_GROUPS {
        issues.push(at(
            IssueCode::TooCostly,
            "MeasureReport.group",
            Text::new("capacity-too-many-groups").num("max", MAX_GROUPS).num("count", groups.len()),
        ));
        return Vec::new();
    }
    let mut counts: Vec<CapacityCount> = Vec::with_capacity(groups.len());
    for (i, group) in groups.iter().enumerate() {
        let path = format!("MeasureReport.group[{i}]");
        let codings = group.pointer("/code/coding").and_then(Value::as_array).into_iter().flatten();
        let code = codings
            .filter(|c| c.get("system").and_then(Value::as_str) == Some(CARE_TYPE_SYSTEM))
            .find_map(|c| c.get("code").and_then(Value::as_str));
        let care_type = code.filter(|c| care_types.iter().any(|k| k == c)).and_then(CareType::parse);
        let Some(care_type) = care_type else {
            issues.push(at(
                IssueCode::CodeInvalid,
                &format!("{path}.code"),
                Text::new("capacity-bad-care-type").arg("system", CARE_TYPE_SYSTEM),
            ));
            continue;
        };
        if counts.iter().any(|c| c.care_type == care_type) {
            issues.push(at(
                IssueCode::Duplicate,
                &format!("{path}.code"),
                Text::new("capacity-care-type-twice").arg("careType", &care_type),
            ));
            continue;
        }
        let (mut found, mut seen): ([Option<i64>; 3], [bool; 3]) = ([None; 3], [false; 3]);
        let populations = group.get("population").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (j, population) in populations.iter().enumerate() {
            let ppath = format!("{path}.population[{j}]");
            let codings = population.pointer("/code/coding").and_then(Value::as_array).into_iter().flatten();
            let code = codings
                .filter(|c| c.get("system").and_then(Value::as_str) == Some(CAPACITY_POPULATION_SYSTEM))
                .find_map(|c| c.get("code").and_then(Value::as_str));
            let Some(slot) = code.and_then(|code| POPULATIONS.iter().position(|p| *p == code)) else {
                issues.push(at(
                    IssueCode::CodeInvalid,
                    &format!("{ppath}.code"),
                    Text::new("capacity-bad-population").arg("system", CAPACITY_POPULATION_SYSTEM),
                ));
                continue;
            };
            if seen[slot] {
                issues.push(at(
                    IssueCode::Duplicate,
                    &format!("{ppath}.code"),
                    Text::new("capacity-population-twice").arg("population", POPULATIONS[slot]),
                ));
                continue;
            }
            seen[slot] = true;
            match population.get("count").and_then(Value::as_i64).filter(|n| (0..=MAX_COUNT).contains(n)) {
                Some(n) => found[slot] = Some(n),
                None => issues.push(at(
                    IssueCode::Value,
                    &format!("{ppath}.count"),
                    Text::new("capacity-bad-count").num("max", MAX_COUNT),
                )),
            }
        }
        for (slot, name) in POPULATIONS.iter().enumerate() {
            if !seen[slot] {
                issues.push(at(
                    IssueCode::Required,
                    &format!("{path}.population"),
                    Text::new("capacity-population-missing").arg("population", name),
                ));
            }
        }
        let [Some(total), Some(occupied), Some(available)] = found else { continue };
        if available > total {
            issues.push(at(IssueCode::Invariant, &path, Text::new("capacity-available-over-total")));
        }
        if occupied > total {
            issues.push(at(IssueCode::Invariant, &path, Text::new("capacity-occupied-over-total")));
        }
        counts.push(CapacityCount { care_type, total, occupied, available });
    }
    counts
}

fn population(code: &str, count: i64) -> Value {
    json!({"code": {"coding": [{"system": CAPACITY_POPULATION_SYSTEM, "code": code}]}, "count": count})
}

fn group(count: &CapacityCount, extensions: Vec<Value>) -> Value {
    let mut group = Map::new();
    if !extensions.is_empty() {
        group.insert("extension".into(), Value::Array(extensions));
    }
    group.insert("code".into(), json!({"coding": [{"system": CARE_TYPE_SYSTEM, "code": count.care_type.as_str()}]}));
    group.insert(
        "population".into(),
        json!([
            population("total", count.total),
            population("occupied", count.occupied),
            population("available", count.available)
        ]),
    );
    Value::Object(group)
}

fn reporter(org: &OrgId, snapshot: &Snapshot) -> Value {
    let found = snapshot.organizations().iter().find(|o| &o.id == org);
    match found.and_then(|o| o.identifiers.first().map(|i| (o, i))) {
        Some((o, identifier)) => {
            json!({"identifier": {"system": identifier.system(), "value": identifier.value()}, "display": o.name})
        }
        None => json!({"display": org.as_str()}),
    }
}

fn age_secs(now: Millis, as_of: Millis) -> i64 {
    ((now.as_i64() - as_of.as_i64()) / 1000).max(0)
}

fn age(secs: i64) -> Value {
    json!({"url": AGE_URL, "valueDuration": {"value": secs, "unit": "s", "system": "http://unitsofmeasure.org", "code": "s"}})
}

fn stale() -> Value {
    json!({"url": STALE_URL, "valueBoolean": true})
}

/// The report as stored, with the id the broker gave it.
pub fn stored_report(report: &Report, id: &str, received: Millis, snapshot: &Snapshot) -> serde_json::Result<Vec<u8>> {
    let mut period = Map::new();
    if let Some(start) = report.start {
        period.insert("start".into(), json!(start.to_rfc3339_secs()));
    }
    period.insert("end".into(), json!(report.as_of.to_rfc3339_secs()));
    serde_json::to_vec(&json!({
        "resourceType": "MeasureReport",
        "id": id,
        "status": "complete",
        "type": "summary",
        "measure": BED_CAPACITY_MEASURE,
        "reporter": reporter(&report.reporter, snapshot),
        "date": received.to_rfc3339_secs(),
        "period": period,
        "group": report.counts.iter().map(|c| group(c, Vec::new())).collect::<Vec<_>>(),
    }))
}

/// The latest counts as a searchset: one MeasureReport per organisation, rebuilt from its rows. Each
/// group carries its time and age, and the stale flag when older than `stale_before`; the report
/// carries the age of its oldest group, and the flag if any group has it.
pub fn searchset(
    rows: &[CapacityRow],
    now: Millis,
    stale_before: Millis,
    snapshot: &Snapshot,
    base_url: &str,
) -> serde_json::Result<Vec<u8>> {
    let mut by_org: BTreeMap<&str, Vec<&CapacityRow>> = BTreeMap::new();
    for row in rows {
        by_org.entry(row.org.as_str()).or_default().push(row);
    }
    let entries: Vec<Value> = by_org
        .values()
        .map(|rows| {
            let newest = rows.iter().max_by_key(|r| (r.received_at, r.as_of)).expect("a group per organisation");
            let oldest = rows.iter().map(|r| r.as_of).min().unwrap_or(newest.as_of);
            let latest = rows.iter().map(|r| r.as_of).max().unwrap_or(newest.as_of);
            let any_stale = rows.iter().any(|r| r.as_of < stale_before);
            let mut extensions = vec![age(age_secs(now, oldest))];
            if any_stale {
                extensions.push(stale());
            }
            let groups: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut ext = vec![
                        json!({"url": AS_OF_URL, "valueDateTime": r.as_of.to_rfc3339_secs()}),
                        age(age_secs(now, r.as_of)),
                    ];
                    if r.as_of < stale_before {
                        ext.push(stale());
                    }
                    group(&r.count, ext)
                })
                .collect();
            json!({
                "fullUrl": format!("urn:uuid:{}", newest.report_id),
                "resource": {
                    "resourceType": "MeasureReport",
                    "id": newest.report_id,
                    "extension": extensions,
                    "status": "complete",
                    "type": "summary",
                    "measure": BED_CAPACITY_MEASURE,
                    "reporter": reporter(&newest.org, snapshot),
                    "date": newest.received_at.to_rfc3339_secs(),
                    "period": {"start": oldest.to_rfc3339_secs(), "end": latest.to_rfc3339_secs()},
                    "group": groups,
                },
                "search": {"mode": "match"},
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base_url}/fhir/MeasureReport?measure={BED_CAPACITY_MEASURE}")}],
        "entry": entries,
    }))
}

/// The region per care type as one MeasureReport of type `summary` (SANER's aggregate of the
/// providers' reports): the summed populations, with the organisations reporting, how many are
/// stale, and the oldest age on each group.
pub fn summary(totals: &[CareTypeTotals], now: Millis) -> serde_json::Result<Vec<u8>> {
    let groups: Vec<Value> = totals
        .iter()
        .map(|t| {
            let mut ext = vec![
                json!({"url": ORGANIZATIONS_URL, "valueInteger": t.organizations}),
                json!({"url": STALE_COUNT_URL, "valueInteger": t.stale}),
                age(age_secs(now, t.oldest_as_of)),
            ];
            if t.stale > 0 {
                ext.push(stale());
            }
            let count = CapacityCount {
                care_type: t.care_type.clone(),
                total: t.total,
                occupied: t.occupied,
                available: t.available,
            };
            group(&count, ext)
        })
        .collect();
    let oldest = totals.iter().map(|t| t.oldest_as_of).min();
    let mut report = json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": BED_CAPACITY_MEASURE,
        "date": now.to_rfc3339_secs(),
        "period": {"start": oldest.unwrap_or(now).to_rfc3339_secs(), "end": now.to_rfc3339_secs()},
        "group": groups,
    });
    if totals.iter().any(|t| t.stale > 0) {
        report["extension"] = json!([stale()]);
    }
    serde_json::to_vec(&report)
}
