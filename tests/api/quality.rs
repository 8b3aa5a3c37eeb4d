//! Handover quality (issue 16): a broker seeded with known traffic (complete, incomplete, late,
//! expired, answered) and every figure of its MeasureReport checked against that traffic, for the
//! region, for an organisation's own figures, and narrowed by kind.

use serde_json::{json, Value};

use crate::delivery::{closed_port, nursing_to, schedule, sleep_until, stepped_broker, Receiver};
use crate::helpers::*;

const QUALITY: &str = "/fhir/Measure/handover-quality/$evaluate-measure";
const GP_URA: &str = "90000012";
const HOSPITAL_URA: &str = "90000011";

/// `bundle` with its Encounter's stay ending `hours_ago` hours before now.
fn stay_ended(mut bundle: Value, hours_ago: i64) -> Value {
    let end = time::OffsetDateTime::now_utc() - time::Duration::hours(hours_ago);
    let end = end.format(&time::format_description::well_known::Rfc3339).unwrap();
    let encounter = entry_of(&bundle, "Encounter");
    bundle["entry"][encounter]["resource"]["period"]["end"] = json!(end);
    bundle
}

/// The GP's business response `code` to `original`, sent to the hospital's endpoint `hospital`.
fn gp_answer(original: &Value, code: &str, hospital: &str) -> Value {
    let header_id = uuid::Uuid::new_v4().to_string();
    let original_header = &original["entry"][0]["resource"];
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": "2026-11-30T11:00:00+01:00",
        "entry": [{ "fullUrl": format!("urn:uuid:{header_id}"), "resource": {
            "resourceType": "MessageHeader",
            "id": header_id,
            "eventCoding": original_header["eventCoding"],
            "source": { "name": "GP system", "endpoint": "https://gp.example/fhir" },
            "sender": identifier_ref(URA, GP_URA),
            "destination": [destination(URA, HOSPITAL_URA, hospital)],
            "response": { "identifier": original_header["id"], "code": code },
        }}],
    })
}

/// A group of the report by its code.
fn group<'r>(report: &'r Value, code: &str) -> &'r Value {
    report["group"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"]["coding"][0]["code"] == code)
        .unwrap_or_else(|| panic!("no group {code}"))
}

/// The counts of a group, by population code.
fn counts(report: &Value, code: &str) -> Vec<(String, i64)> {
    group(report, code)["population"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"]["coding"][0]["code"].as_str().unwrap().to_owned(), p["count"].as_i64().unwrap()))
        .collect()
}

fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
    expected.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

fn score(report: &Value, code: &str) -> Value {
    group(report, code)["measureScore"].clone()
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get(Some(token), &format!("{QUALITY}{query}")).await;
    assert_eq!(response.status().as_u16(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["resourceType"], "MeasureReport");
    assert_eq!(report["measure"], "https://fhir.handover-broker.eu/Measure/handover-quality");
    report
}

/// A broker with known traffic from the hospital: two discharges to the GP's mailbox (one sent 2 hours
/// after the stay ended, one 72 hours after; both taken, the first accepted), three incomplete ones (two
/// breaking the same rule) and a nursing handover that expires. Returns the broker, the hospital's
/// receiver (kept alive) and how many accepted handovers had warnings.
pub async fn seed_known_traffic() -> (TestApp, Receiver, i64) {
    let hospital = Receiver::plain();
    let (_, closed) = closed_port();
    let app = stepped_broker(&[("thuiszorg-parkstad", &closed), ("zzl-hospital", &hospital.address)], |s| {
        s.message_ttl_secs = 3;
    })
    .await;

    // Two discharges to the GP's mailbox: one sent 2 hours after the stay ended, one 72 hours after.
    let on_time = stay_ended(discharge(), 2);
    let late = stay_ended(discharge(), 72);
    let mut warned = 0;
    let mut trackings = Vec::new();
    for bundle in [&on_time, &late] {
        let ack: Value = app.post_message(HOSPITAL, bundle).await.json().await.unwrap();
        warned += i64::from(ack.to_string().contains("\"severity\":\"warning\""));
        trackings.push(tracking_id(&ack));
    }
    // The GP takes both from its mailbox at once and accepts the first.
    for tracking in &trackings {
        let item = app.store.deliveries(tracking).await.unwrap().remove(0).delivery_id;
        let ack = app.post_json(Some(GP_HEERLEN), &format!("/fhir/mailbox/{item}/$acknowledge"), &json!({})).await;
        assert_eq!(ack.status().as_u16(), 200);
    }
    let answered = app.post_message(GP_HEERLEN, &gp_answer(&on_time, "ok", &hospital.address)).await;
    assert!(answered.status().is_success(), "{}", answered.text().await.unwrap());

    // Three incomplete discharges: two break the same rule, one another.
    for name in [
        "discharge-summary--missing-medication-section.json",
        "discharge-summary--missing-medication-section.json",
        "discharge-summary--patient-without-bsn.json",
    ] {
        let refused = app.post_message(HOSPITAL, &fresh(fixture(&format!("incomplete/{name}")))).await;
        assert_eq!(refused.status().as_u16(), 422);
    }

    // A nursing handover, sent an hour after the stay ended, to home care that cannot be reached: it expires.
    let nursing = stay_ended(nursing_to(&closed), 1);
    let ack: Value = app.post_message(HOSPITAL, &nursing).await.json().await.unwrap();
    warned += i64::from(ack.to_string().contains("\"severity\":\"warning\""));
    let expiring = tracking_id(&ack);
    app.deliver_pending().await;
    sleep_until(schedule(&app, &expiring).await.expires_at).await;
    app.deliver_pending().await;
    assert_eq!(app.store.deliveries(&expiring).await.unwrap()[0].state.as_str(), "expired");
    (app, hospital, warned)
}

#[tokio::test]
async fn the_quality_report_counts_known_traffic_exactly() {
    let (app, _hospital, warned) = seed_known_traffic().await;
    // The hospital's own figures (an organisation's default: as the sender).
    let own = report(&app, HOSPITAL, "").await;
    assert_eq!(
        counts(&own, "completeness"),
        pairs(&[("submitted", 6), ("accepted", 3), ("refused", 3), ("accepted-with-warnings", warned)])
    );
    assert_eq!(score(&own, "completeness")["value"], 0.5);
    let strata = &group(&own, "completeness")["stratifier"][0]["stratum"];
    let reasons: Vec<(&str, i64)> = strata
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["value"]["text"].as_str().unwrap(), s["population"][0]["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(reasons.iter().map(|r| r.1).collect::<Vec<_>>(), vec![2, 1], "{reasons:?}");
    assert!(reasons.iter().all(|(text, _)| text.starts_with("422 incomplete: ") && !text.contains('[')), "{reasons:?}");
    assert_ne!(reasons[0].0, reasons[1].0);
    assert_eq!(
        counts(&own, "delivery"),
        pairs(&[
            ("routed", 3),
            ("delivered", 2),
            ("answered-accepted", 1),
            ("answered-rejected", 0),
            ("failed", 0),
            ("expired", 1)
        ])
    );
    assert_eq!(score(&own, "delivery")["value"], 0.6667);
    assert_eq!(counts(&own, "sent-within-24h-of-stay-end"), pairs(&[("stay-end-known", 3), ("sent-within-24h", 2)]));
    assert_eq!(score(&own, "sent-within-24h-of-stay-end")["value"], 0.6667);
    assert_eq!(
        counts(&own, "delivered-within-24h-of-stay-end"),
        pairs(&[("delivered-stay-end-known", 2), ("delivered-within-24h", 1)])
    );
    assert_eq!(score(&own, "delivered-within-24h-of-stay-end")["value"], 0.5);
    // Latencies, as the upper bounds of their histogram buckets: sent just over 1 h, 2 h and 72 h after
    // the stay ended (buckets ..., 3600, 7200, 14400, ... 172800, 345600 s).
    assert_eq!(counts(&own, "sent-after-stay-end-median"), pairs(&[("measured", 3)]));
    assert_eq!(score(&own, "sent-after-stay-end-median")["value"], 14_400);
    assert_eq!(score(&own, "sent-after-stay-end-median")["comparator"], "<=");
    assert_eq!(score(&own, "sent-after-stay-end-p90")["value"], 345_600);
    assert_eq!(score(&own, "delivered-after-stay-end-median")["value"], 14_400);
    assert_eq!(score(&own, "delivered-after-stay-end-p90")["value"], 345_600);
    assert_eq!(counts(&own, "delivery-latency-median"), pairs(&[("measured", 2)]));
    assert_eq!(score(&own, "delivery-latency-p90")["comparator"], "<=");
    assert!(score(&own, "delivery-latency-p90")["value"].as_i64().unwrap() <= 30, "delivered within seconds");
    assert_eq!(counts(&own, "answer-latency-median"), pairs(&[("measured", 1)]));

    // The GP, as the receiver: what reached it and what it answered; no submissions (they are the sender's).
    let incoming = report(&app, GP_HEERLEN, &format!("?receiver={URA}%7C{GP_URA}")).await;
    assert_eq!(counts(&incoming, "completeness")[0], ("submitted".to_owned(), 0));
    assert_eq!(
        counts(&incoming, "delivery"),
        pairs(&[
            ("routed", 2),
            ("delivered", 2),
            ("answered-accepted", 1),
            ("answered-rejected", 0),
            ("failed", 0),
            ("expired", 0)
        ])
    );
    assert_eq!(incoming["extension"][0]["extension"][0]["url"], "receiver");
    // The GP may not read the hospital's figures as a sender.
    let forbidden = app.get(Some(GP_HEERLEN), &format!("{QUALITY}?sender={URA}%7C{HOSPITAL_URA}")).await;
    assert_eq!(forbidden.status().as_u16(), 403);

    // A quality coordinator sees the region, and narrows it by kind.
    let quality = token_with_role(&app, handover_broker::auth::Role::Quality).await;
    let nursing_only = report(&app, &quality, "?kind=nursing-handover").await;
    assert_eq!(counts(&nursing_only, "delivery")[0], ("routed".to_owned(), 1));
    assert_eq!(counts(&nursing_only, "delivery")[5], ("expired".to_owned(), 1));
    // A period before any of this counts nothing.
    let before = report(&app, &quality, "?periodStart=2020-01-01&periodEnd=2020-12-31").await;
    assert_eq!(counts(&before, "completeness")[0], ("submitted".to_owned(), 0));
    assert!(group(&before, "completeness").get("measureScore").is_none(), "no share of nothing");

    // Every read is ledgered; bad parameters are refused with an OperationOutcome.
    let reads = app.store.ledger_tail(50).await.unwrap();
    let of = |event: &str| reads.iter().filter(|e| e.event.as_str() == event).collect::<Vec<_>>();
    assert_eq!(of("audit-query").len(), 4, "four reports read");
    let denied = of("denied-access");
    assert_eq!(denied.len(), 1);
    assert!(denied[0].outcome.as_deref().unwrap().contains("quality report of other organisations"));
    let bad = app.get(Some(&quality), &format!("{QUALITY}?periodStart=yesterday&color=blue")).await;
    let body = outcome(bad, 400).await;
    assert_eq!(body["issue"].as_array().unwrap().len(), 2, "{}", issues_text(&body));
}

/// The CapabilityStatement names the quality operation and the AuditEvent search, so that a client
/// finds them as it finds the rest of the broker.
#[tokio::test]
async fn the_capability_statement_lists_evaluate_measure_and_the_audit_event_search() {
    let app = spawn_app().await;
    let metadata: Value = app.get(None, "/fhir/metadata").await.json().await.unwrap();
    let resources = metadata["rest"][0]["resource"].as_array().unwrap();
    let of = |kind: &str| resources.iter().find(|r| r["type"] == kind).unwrap_or_else(|| panic!("{kind}"));
    assert_eq!(of("Measure")["operation"][0]["name"], "evaluate-measure");
    assert_eq!(
        of("Measure")["operation"][0]["definition"],
        "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"
    );
    assert_eq!(of("AuditEvent")["interaction"][0]["code"], "search-type");
}
