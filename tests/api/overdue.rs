//! Urgency: a request not answered within its receiver's response time is reported to its sender once,
//! as an `overdue` receipt and ledger entry; one answered in time never is. The receiver states its
//! response time in seconds and no opening hours (around the clock), so the test waits seconds, not
//! hours; the counting in opening hours is `service_hours`' unit tests.

use std::time::{Duration, Instant};

use handover_broker::auth::Role;
use handover_broker::directory::bundle_from_organizations;
use handover_broker::ledger::{LedgerEvent, LedgerRecord};
use handover_broker::model::{OrgId, Organization, Priority, ResponseRule, ResponseTime, TrackingId};
use handover_broker::overdue::Overdue;
use handover_broker::store::OverdueMark;
use handover_broker::time::Millis;
use serde_json::{json, Value};

use crate::delivery::accepted;
use crate::helpers::*;

const ZORGPUNT: &str = "demo-zorgpunt-zuid-limburg";
const ZORGPUNT_URA: &str = "90000014";
const GP_HEERLEN_URA: &str = "90000012";
/// The response time the tests give the triage point for urgent requests.
const WITHIN_SECS: u64 = 2;

/// The demo triage point, open around the clock, answering urgent requests within [`WITHIN_SECS`] and
/// escalating to the nursing home with the region's emergency beds.
fn quick_zorgpunt() -> Organization {
    let mut zorgpunt =
        demo_organizations().into_iter().find(|o| o.id.as_str() == "zorgpunt-zuid-limburg").expect("in the demo");
    zorgpunt.hours = None;
    zorgpunt.response_rules = vec![ResponseRule {
        priority: Priority::Urgent,
        within: ResponseTime::from_secs(WITHIN_SECS).unwrap(),
        escalation: OrgId::parse("vpl-hoogveld"),
    }];
    zorgpunt
}

/// A broker whose triage point is [`quick_zorgpunt`], imported through the admin API (which makes the
/// running broker see it at once).
async fn broker(background: Option<u64>) -> TestApp {
    let app = spawn_app_with(|s| match background {
        Some(secs) => s.overdue.sweep_secs = secs,
        None => s.overdue.background = false,
    })
    .await;
    let admin = admin_token(&app).await;
    let bundle = serde_json::to_value(bundle_from_organizations(&[quick_zorgpunt()])).unwrap();
    let response = app.post_json(Some(&admin), "/admin/directory", &bundle).await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    app
}

/// A new urgent care request from GP Heerlen to the triage point.
fn care_request() -> Value {
    let bundle = fresh(fixture("care-request-nl.json"));
    let focus = entry_of(&bundle, "ServiceRequest");
    assert_eq!(bundle["entry"][focus]["resource"]["priority"], "urgent");
    bundle
}

/// The triage point's business response `ok` to `original`.
fn answer(original: &Value) -> Value {
    let header_id = uuid::Uuid::new_v4().to_string();
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": "2026-12-01T10:00:00+01:00",
        "entry": [{ "fullUrl": format!("urn:uuid:{header_id}"), "resource": {
            "resourceType": "MessageHeader",
            "id": header_id,
            "eventCoding": original["entry"][0]["resource"]["eventCoding"],
            "source": { "name": "Zorgpunt triage desk", "endpoint": "https://fhir.handover-broker.eu/mailbox/zorgpunt-zuid-limburg" },
            "sender": identifier_ref(URA, ZORGPUNT_URA),
            "destination": [destination(URA, GP_HEERLEN_URA, GP_HEERLEN_MAILBOX)],
            "response": { "identifier": original["entry"][0]["resource"]["id"], "code": "ok" },
        } }],
    })
}

/// The receipts in GP Heerlen's mailbox with their delivery-state code.
async fn gp_receipts(app: &TestApp) -> Vec<(String, Value)> {
    let page: Value = app.get(Some(GP_HEERLEN), "/fhir/mailbox?_count=100").await.json().await.unwrap();
    let entries = page["entry"].as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|entry| {
            let receipt = entry["resource"].clone();
            let header = &receipt["entry"][0]["resource"];
            let state = header["extension"]
                .as_array()?
                .iter()
                .find(|e| e["url"].as_str().is_some_and(|u| u.ends_with("/delivery-state")))?["valueCoding"]["code"]
                .as_str()?
                .to_owned();
            Some((state, receipt))
        })
        .collect()
}

/// Sweeps until something is reported (polling, never much past the deadline), at most 20 s.
async fn sweep_until_reported(app: &TestApp) -> Vec<Overdue> {
    let started = Instant::now();
    loop {
        let found = app.sweep_overdue().await;
        if !found.is_empty() || started.elapsed() > Duration::from_secs(20) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn received_at(app: &TestApp, tracking: &TrackingId) -> Millis {
    app.store.message(tracking).await.unwrap().expect("stored").received_at
}

#[tokio::test]
async fn an_urgent_request_not_answered_in_time_is_reported_overdue_to_its_sender_once() {
    let app = broker(None).await;
    let late = care_request();
    let late_tracking = accepted(app.post_message(GP_HEERLEN, &late).await).await;
    let answered = care_request();
    let answered_tracking = accepted(app.post_message(GP_HEERLEN, &answered).await).await;
    // The triage point answers the second at once.
    assert_eq!(accepted(app.post_message(ZORGPUNT, &answer(&answered)).await).await, answered_tracking);

    // Not before its deadline: a sweep a millisecond before it finds nothing.
    let late_received = received_at(&app, &late_tracking).await;
    let before = Millis::from_i64(late_received.plus_secs(WITHIN_SECS).as_i64() - 1);
    assert_eq!(app.overdue.sweep_at(before).await.unwrap(), []);

    let found = sweep_until_reported(&app).await;
    let delivery = app.store.deliveries(&late_tracking).await.unwrap().remove(0);
    assert_eq!(
        found,
        [Overdue {
            delivery_id: delivery.delivery_id.clone(),
            tracking_id: late_tracking.clone(),
            receiver_org: OrgId::parse("zorgpunt-zuid-limburg").unwrap(),
            priority: Priority::Urgent,
            due: late_received.plus_secs(WITHIN_SECS),
            escalation: OrgId::parse("vpl-hoogveld"),
        }]
    );
    assert_eq!(delivery.state.as_str(), "queued", "overdue is no delivery state");

    // A second sweep adds nothing, also once the answered request's deadline has passed too.
    let answered_due = received_at(&app, &answered_tracking).await.plus_secs(WITHIN_SECS);
    while Millis::now() <= answered_due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.sweep_overdue().await, []);

    // Another node that found it at the same time cannot report it again: the mark is guarded.
    let again = OverdueMark {
        delivery_id: delivery.delivery_id.clone(),
        tracking_id: late_tracking.clone(),
        at: Millis::now(),
        ledger: vec![LedgerRecord::new(LedgerEvent::Overdue, Millis::now()).tracking(late_tracking.clone())],
        receipt: None,
    };
    assert_eq!(app.store.mark_overdue(vec![again]).await.unwrap(), [false]);

    // The GP has exactly one overdue receipt, about the late request, saying who has not answered
    // within what.
    let receipts = gp_receipts(&app).await;
    let overdue: Vec<&Value> = receipts.iter().filter(|(state, _)| state == "overdue").map(|(_, r)| r).collect();
    assert_eq!(overdue.len(), 1, "{receipts:?}");
    let header = &overdue[0]["entry"][0]["resource"];
    assert_eq!(header["response"]["identifier"], late["entry"][0]["resource"]["id"]);
    assert_eq!(header["response"]["code"], "ok", "nothing was refused; the request still stands");
    let text = overdue[0].to_string();
    assert!(
        text.contains(&format!("{URA}|{ZORGPUNT_URA}"))
            && text.contains("urgent request within its response time of 2s"),
        "{text}"
    );
    assert!(receipts.iter().any(|(state, _)| state == "accepted-by-receiver"), "the answer's receipt: {receipts:?}");

    // The ledger has the entry, once, on the late delivery only, with nothing of the patient.
    let entries = app.store.ledger_for_message(&late_tracking).await.unwrap();
    let overdue_entries: Vec<_> = entries.iter().filter(|e| e.event.as_str() == "overdue").collect();
    assert_eq!(overdue_entries.len(), 1, "{entries:?}");
    let entry = overdue_entries[0];
    assert_eq!(entry.delivery_id.as_ref(), Some(&delivery.delivery_id));
    assert_eq!(entry.receiver_org.as_ref().map(|o| o.as_str()), Some("zorgpunt-zuid-limburg"));
    assert!(entry.outcome.as_deref().unwrap().starts_with("urgent 2s passed at "), "{entry:?}");
    assert!(entry.outcome.as_deref().unwrap().ends_with("; escalation vpl-hoogveld"), "{entry:?}");
    assert_eq!(entry.patient_key, None);
    let answered_entries = app.store.ledger_for_message(&answered_tracking).await.unwrap();
    assert!(!answered_entries.iter().any(|e| e.event.as_str() == "overdue"), "{answered_entries:?}");
    let auditor = token_with_role(&app, Role::Auditor).await;
    let report: Value = app.get(Some(&auditor), "/ledger/verify").await.json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");

    // The sender sees it in the delivery's history.
    let receipt: Value = app.receipt(GP_HEERLEN, late_tracking.as_str()).await.json().await.unwrap();
    let delivery_part = receipt["parameter"].as_array().unwrap().iter().find(|p| p["name"] == "delivery").unwrap();
    let events: Vec<&str> = delivery_part["part"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "history")
        .filter_map(|h| h["part"].as_array()?.iter().find(|p| p["name"] == "event")?["valueCode"].as_str())
        .collect();
    assert!(events.contains(&"overdue"), "{events:?}");
}

#[tokio::test]
async fn the_sweep_runs_on_its_own_at_its_configured_interval() {
    let app = broker(Some(1)).await;
    let tracking = accepted(app.post_message(GP_HEERLEN, &care_request()).await).await;
    let started = Instant::now();
    let reported = loop {
        let entries = app.store.ledger_for_message(&tracking).await.unwrap();
        if entries.iter().any(|e| e.event.as_str() == "overdue") || started.elapsed() > Duration::from_secs(20) {
            break entries.iter().filter(|e| e.event.as_str() == "overdue").count();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(reported, 1);
    // Already reported: the stepped sweep finds nothing more.
    assert_eq!(app.sweep_overdue().await, []);
}

#[tokio::test]
async fn only_priorities_the_receiver_states_a_response_time_for_become_overdue() {
    let app = broker(None).await;
    // A routine request: the triage point states a response time for urgent ones only.
    let mut routine = care_request();
    let focus = entry_of(&routine, "ServiceRequest");
    routine["entry"][focus]["resource"]["priority"] = json!("routine");
    let routine_tracking = accepted(app.post_message(GP_HEERLEN, &routine).await).await;
    // A discharge letter (no ServiceRequest, no priority) to a GP.
    let letter_tracking = accepted(app.post_message(HOSPITAL, &discharge()).await).await;
    let urgent_tracking = accepted(app.post_message(GP_HEERLEN, &care_request()).await).await;

    let found = sweep_until_reported(&app).await;
    let reported: Vec<&TrackingId> = found.iter().map(|o| &o.tracking_id).collect();
    assert_eq!(reported, [&urgent_tracking], "the urgent one, sent last, is due last");
    for tracking in [&routine_tracking, &letter_tracking] {
        let entries = app.store.ledger_for_message(tracking).await.unwrap();
        assert!(!entries.iter().any(|e| e.event.as_str() == "overdue"), "{entries:?}");
    }
}

#[tokio::test]
async fn an_escalation_to_an_organisation_outside_the_directory_is_refused_at_import() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let mut zorgpunt = quick_zorgpunt();
    zorgpunt.response_rules[0].escalation = OrgId::parse("nowhere");
    let bundle = serde_json::to_value(bundle_from_organizations(&[zorgpunt])).unwrap();
    let refused = outcome(app.post_json(Some(&admin), "/admin/directory", &bundle).await, 422).await;
    let text = issues_text(&refused);
    assert!(text.contains("the escalation organisation nowhere is not in the directory"), "{text}");
    assert!(text.contains("where(extension('priority').value = 'urgent').extension('escalation')"), "{text}");
}

/// The triage point did not answer an urgent request in time: the broker forwards it, on the triage
/// point's behalf and with the chain kept, to the escalation organisation its directory entry names.
/// The GP hears of it; the nursing home's acceptance answers the GP; the triage point's late answer is
/// refused; a second pass escalates nothing more.
#[tokio::test]
async fn an_overdue_request_is_escalated_with_the_chain_kept_and_the_escalation_answers_it() {
    let app = broker(None).await;
    let request = care_request();
    let tracking = accepted(app.post_message(GP_HEERLEN, &request).await).await;
    let found = sweep_until_reported(&app).await;
    assert_eq!(found.len(), 1);

    let escalated = app.escalate_overdue().await;
    assert_eq!(escalated.len(), 1, "one escalation");
    assert!(app.escalate_overdue().await.is_empty(), "escalated once");
    let original = app.store.deliveries(&tracking).await.unwrap().remove(0);
    assert_eq!(original.state.as_str(), "forwarded");

    // Hoogveld has the request, sent as the Zorgpunt's, linked to the original, with the broker's note.
    let page: Value = app.get(Some("demo-vpl-hoogveld"), "/fhir/mailbox").await.json().await.unwrap();
    let message = &page["entry"][0]["resource"];
    let header = &message["entry"][0]["resource"];
    assert_eq!(header["sender"]["identifier"]["value"], ZORGPUNT_URA);
    assert_eq!(header["extension"][0]["valueId"], tracking.as_str());
    assert!(message.to_string().contains("was not answered within 2s"), "{message}");

    // The GP's receipts: overdue, then escalated (state forwarded), then Hoogveld's acceptance.
    let to_zorgpunt = (URA, ZORGPUNT_URA, "https://fhir.handover-broker.eu/mailbox/zorgpunt-zuid-limburg");
    let yes = acceptance(header, (URA, "90000015"), to_zorgpunt);
    let response = app.post_message("demo-vpl-hoogveld", &yes).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let states: Vec<String> = gp_receipts(&app).await.into_iter().map(|(state, _)| state).collect();
    for state in ["overdue", "forwarded", "accepted-by-receiver"] {
        assert!(states.contains(&state.to_owned()), "{state}: {states:?}");
    }
    let escalation_receipt = gp_receipts(&app).await.into_iter().find(|(state, _)| state == "forwarded").unwrap().1;
    assert!(escalation_receipt.to_string().contains("escalated by the broker"), "{escalation_receipt}");
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "accepted-by-receiver");

    // The Zorgpunt's late answer finds the request answered.
    let late = app.post_message(ZORGPUNT, &answer(&request)).await;
    assert_eq!(late.status().as_u16(), 409, "{}", late.text().await.unwrap());
    // The ledger's forwarded entry has no actor: the broker escalated.
    let entries = app.store.ledger_for_message(&tracking).await.unwrap();
    let link = entries.iter().find(|e| e.event.as_str() == "forwarded").unwrap();
    assert_eq!(link.actor_org, None);
    assert!(link.outcome.as_deref().unwrap().contains(escalated[0].as_str()));
}

/// A chain of two: the Zorgpunt's overdue request is escalated to the West Flanders triage point, which
/// forwards it on to Sint-Jozef; Sint-Jozef's acceptance answers every link, up to the GP.
#[tokio::test]
async fn an_acceptance_at_the_end_of_a_chain_answers_every_link_up_to_the_gp() {
    let app = spawn_app_with(|s| s.overdue.background = false).await;
    let admin = admin_token(&app).await;
    let mut zorgpunt = quick_zorgpunt();
    zorgpunt.response_rules[0].escalation = OrgId::parse("triage-westkust");
    let bundle = serde_json::to_value(bundle_from_organizations(&[zorgpunt])).unwrap();
    assert_eq!(app.post_json(Some(&admin), "/admin/directory", &bundle).await.status().as_u16(), 200);

    let tracking = accepted(app.post_message(GP_HEERLEN, &care_request()).await).await;
    assert_eq!(sweep_until_reported(&app).await.len(), 1);
    let [escalated]: [TrackingId; 1] = app.escalate_overdue().await.try_into().unwrap();
    // The West Flanders triage point passes it on to Sint-Jozef.
    let nihdi = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization";
    let forward = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "receiver", "valueIdentifier": { "system": nihdi, "value": "10000000500" } },
        { "name": "tracking-id", "valueId": escalated.as_str() } ] });
    let response = app.post_json(Some("demo-triage-westkust"), "/fhir/$forward", &forward).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());

    let page: Value = app.get(Some("demo-wzc-sint-jozef"), "/fhir/mailbox").await.json().await.unwrap();
    let header = page["entry"][0]["resource"]["entry"][0]["resource"].clone();
    let to_westkust = (nihdi, "10000000300", "https://fhir.handover-broker.eu/mailbox/triage-westkust");
    let yes = acceptance(&header, (nihdi, "10000000500"), to_westkust);
    let response = app.post_message("demo-wzc-sint-jozef", &yes).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());

    // Every link is answered: the West Flanders triage point's delivery, then the Zorgpunt's (the GP's).
    assert_eq!(app.store.deliveries(&escalated).await.unwrap()[0].state.as_str(), "accepted-by-receiver");
    assert_eq!(app.store.deliveries(&tracking).await.unwrap()[0].state.as_str(), "accepted-by-receiver");
    let receipts = gp_receipts(&app).await;
    let accepted_receipt =
        receipts.iter().find(|(state, _)| state == "accepted-by-receiver").expect("the GP is answered");
    assert!(accepted_receipt.1.to_string().contains("10000000500"), "names Sint-Jozef: {}", accepted_receipt.1);
    let auditor = token_with_role(&app, Role::Auditor).await;
    let report: Value = app.get(Some(&auditor), "/ledger/verify").await.json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

/// The business response `ok` of the organisation `from` (system, value) to the message whose header is
/// `header`, addressed to `to` (system, value, endpoint): the one who forwarded it.
fn acceptance(header: &Value, from: (&str, &str), to: (&str, &str, &str)) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    json!({
        "resourceType": "Bundle", "id": uuid::Uuid::new_v4().to_string(), "type": "message",
        "timestamp": "2026-12-01T10:00:00+01:00",
        "entry": [{ "fullUrl": format!("urn:uuid:{id}"), "resource": {
            "resourceType": "MessageHeader", "id": id,
            "eventCoding": header["eventCoding"],
            "source": { "endpoint": "https://ecd.example/fhir" },
            "sender": identifier_ref(from.0, from.1),
            "destination": [destination(to.0, to.1, to.2)],
            "response": { "identifier": header["id"], "code": "ok" } } }],
    })
}
