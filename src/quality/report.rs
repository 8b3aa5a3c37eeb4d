//! The counters' totals as a `MeasureReport` of the handover-quality Measure: one group per figure,
//! counts as populations (codes of the broker's handover-quality-population CodeSystem), shares and
//! latencies as the group's `measureScore`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{ReportRequest, HANDOVER_QUALITY_MEASURE};
use crate::ledger::counters::{metric, BUCKETS};
use crate::time::Millis;

/// The codes of the report's groups and populations.
pub const GROUP_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/handover-quality-group";
pub const POPULATION_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/handover-quality-population";

/// How many refusal reasons the report names (the most frequent first).
pub const TOP_REFUSALS: usize = 5;

pub fn measure_report(request: &ReportRequest, totals: &BTreeMap<String, i64>, now: Millis) -> Vec<u8> {
    let count = |name: &str| totals.get(name).copied().unwrap_or(0);
    let mut groups = vec![
        share_group(
            "completeness",
            metric::ACCEPTED,
            &[metric::SUBMITTED, metric::ACCEPTED, metric::REFUSED, metric::WITH_WARNINGS],
            metric::SUBMITTED,
            &count,
        ),
        share_group(
            "delivery",
            metric::DELIVERED,
            &[
                metric::ROUTED,
                metric::DELIVERED,
                metric::ANSWERED_ACCEPTED,
                metric::ANSWERED_REJECTED,
                metric::FAILED,
                metric::EXPIRED,
            ],
            metric::ROUTED,
            &count,
        ),
        share_group(
            "sent-within-24h-of-stay-end",
            metric::SENT_WITHIN_24H,
            &[metric::STAY_END_KNOWN, metric::SENT_WITHIN_24H],
            metric::STAY_END_KNOWN,
            &count,
        ),
        share_group(
            "delivered-within-24h-of-stay-end",
            metric::DELIVERED_WITHIN_24H,
            &[metric::DELIVERED_STAY_END_KNOWN, metric::DELIVERED_WITHIN_24H],
            metric::DELIVERED_STAY_END_KNOWN,
            &count,
        ),
    ];
    groups[0]["stratifier"] = refusals(totals);
    for histogram in [
        metric::DELIVERY_LATENCY,
        metric::ANSWER_LATENCY,
        metric::SENT_AFTER_STAY_END,
        metric::DELIVERED_AFTER_STAY_END,
    ] {
        let buckets = histogram_of(totals, histogram);
        for (label, q) in [("median", 0.5), ("p90", 0.9)] {
            groups.push(latency_group(&format!("{histogram}-{label}"), &buckets, q));
        }
    }
    let mut report = json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": HANDOVER_QUALITY_MEASURE,
        "date": now.to_rfc3339_secs(),
        "period": { "start": request.start.to_string(), "end": request.end.to_string() },
        "group": groups,
    });
    // What the report was narrowed to, in the terms it was asked in.
    let mut filters = Vec::new();
    for (name, identifier) in [("sender", &request.sender), ("receiver", &request.receiver)] {
        if let Some(identifier) = identifier {
            filters.push(json!({ "url": name, "valueIdentifier": { "system": identifier.system(), "value": identifier.value() } }));
        }
    }
    if let Some(kind) = &request.kind {
        filters.push(json!({ "url": "kind", "valueCode": kind }));
    }
    if !filters.is_empty() {
        report["extension"] = json!([{
            "url": "https://fhir.handover-broker.eu/StructureDefinition/handover-quality-filter",
            "extension": filters,
        }]);
    }
    serde_json::to_vec(&report).unwrap_or_default()
}

fn coding(system: &str, code: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code }] })
}

/// A group of counts whose score is the share `numerator / denominator` (none when nothing was counted).
fn share_group(
    code: &str,
    numerator: &str,
    populations: &[&str],
    denominator: &str,
    count: &dyn Fn(&str) -> i64,
) -> Value {
    let population: Vec<Value> =
        populations.iter().map(|p| json!({ "code": coding(POPULATION_SYSTEM, p), "count": count(p) })).collect();
    let mut group = json!({ "code": coding(GROUP_SYSTEM, code), "population": population });
    let (n, d) = (count(numerator), count(denominator));
    if d > 0 {
        // Four decimals: a share to a hundredth of a percent.
        let share = (n as f64 / d as f64 * 10_000.0).round() / 10_000.0;
        group["measureScore"] =
            json!({ "value": share, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1" });
    }
    group
}

/// The most frequent refusals, each with its count.
fn refusals(totals: &BTreeMap<String, i64>) -> Value {
    let mut reasons: Vec<(&str, i64)> = totals
        .iter()
        .filter_map(|(name, n)| name.strip_prefix(metric::REFUSED_BY).map(|reason| (reason, *n)))
        .collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let strata: Vec<Value> = reasons
        .iter()
        .take(TOP_REFUSALS)
        .map(|(reason, n)| {
            json!({
                "value": { "text": reason },
                "population": [{ "code": coding(POPULATION_SYSTEM, metric::REFUSED), "count": n }],
            })
        })
        .collect();
    json!([{ "code": [coding(GROUP_SYSTEM, "refusal-reason")], "stratum": strata }])
}

/// A histogram's buckets in order of their bound (`None`: beyond the last).
fn histogram_of(totals: &BTreeMap<String, i64>, name: &str) -> Vec<(Option<u64>, i64)> {
    let mut buckets: Vec<(Option<u64>, i64)> = BUCKETS
        .iter()
        .map(|bound| (Some(*bound), totals.get(&format!("{name}:le={bound}")).copied().unwrap_or(0)))
        .collect();
    buckets.push((None, totals.get(&format!("{name}:le=inf")).copied().unwrap_or(0)));
    buckets
}

/// A latency group: how many were measured, and the quantile `q` as the upper bound of the bucket it
/// falls in (`<=`, the histogram's resolution), or beyond the last bound (`>`).
fn latency_group(code: &str, buckets: &[(Option<u64>, i64)], q: f64) -> Value {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    let mut group = json!({
        "code": coding(GROUP_SYSTEM, code),
        "population": [{ "code": coding(POPULATION_SYSTEM, "measured"), "count": total }],
    });
    if total > 0 {
        let rank = ((total as f64) * q).ceil().max(1.0) as i64;
        let mut seen = 0;
        let quantile = buckets.iter().find(|(_, n)| {
            seen += n;
            seen >= rank
        });
        let score = match quantile.map(|(bound, _)| *bound) {
            Some(Some(bound)) => json!({ "value": bound, "comparator": "<=" }),
            _ => json!({ "value": BUCKETS.last().copied().unwrap_or_default(), "comparator": ">" }),
        };
        let mut score = score;
        score["unit"] = json!("s");
        score["system"] = json!("http://unitsofmeasure.org");
        score["code"] = json!("s");
        group["measureScore"] = score;
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_the_bound_of_the_bucket_it_falls_in() {
        let buckets = vec![(Some(1), 1), (Some(2), 0), (Some(5), 8), (None, 1)];
        assert_eq!(latency_group("x", &buckets, 0.5)["measureScore"]["value"], 5);
        assert_eq!(latency_group("x", &buckets, 0.9)["measureScore"]["value"], 5);
        let p99 = latency_group("x", &buckets, 0.99);
        assert_eq!(p99["measureScore"]["comparator"], ">");
        assert!(latency_group("x", &[(None, 0)], 0.5).get("measureScore").is_none());
    }
}
