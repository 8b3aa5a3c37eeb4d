//! The regional triage point forwards a care request: the broker builds the message, the clinical
//! entries arrive unchanged, the original leaves the triage point's mailbox, only a triage point may
//! forward, the original sender's receipts follow the chain, and placement among several candidates
//! has exactly one winner however the answers race.

use handover_broker::model::TrackingId;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::mailbox::ids;

const ZORGPUNT: &str = "demo-zorgpunt-zuid-limburg";
const HOOGVELD: &str = "demo-vpl-hoogveld";

fn parameters(receivers: &[&str], extra: Value) -> Value {
    let mut parameter: Vec<Value> = receivers
        .iter()
        .map(|ura| json!({ "name": "receiver", "valueIdentifier": { "system": URA, "value": ura } }))
        .collect();
    parameter.extend(extra.as_array().cloned().unwrap_or_default());
    json!({ "resourceType": "Parameters", "parameter": parameter })
}

async fn mailbox(app: &TestApp, token: &str) -> Value {
    let response = app.get(Some(token), "/fhir/mailbox").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// The GP's care request, waiting in the triage point's mailbox: (the request as sent, its mailbox id,
/// its tracking id).
async fn care_request_at_the_triage_point(app: &TestApp) -> (Value, String, TrackingId) {
    let request = fresh(fixture("care-request-nl.json"));
    let response = app.post_message(GP_HEERLEN, &request).await;
    assert_eq!(response.status().as_u16(), 202);
    let tracking = tracking_id(&response.json().await.unwrap());
    let page = mailbox(app, ZORGPUNT).await;
    let [id]: [String; 1] = ids(&page).try_into().unwrap();
    (request, id, tracking)
}

fn entries_after_the_header(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().unwrap()[1..].to_vec()
}

#[tokio::test]
async fn a_triage_point_forwards_a_care_request_with_its_clinical_content_unchanged() {
    let app = spawn_app().await;
    let (request, id, _) = care_request_at_the_triage_point(&app).await;

    let note =
        json!([{ "name": "mode", "valueCode": "all" }, { "name": "note", "valueString": "Kamer op de begane grond." }]);
    let path = format!("/fhir/mailbox/{id}/$forward");
    let response = app.post_json(Some(ZORGPUNT), &path, &parameters(&["90000015"], note)).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let forwarded_tracking = tracking_id(&response.json().await.unwrap());

    // The nursing home has the forwarded message: the triage point as sender, linked to the original,
    // every entry of the GP's request unchanged, and the note.
    let page = mailbox(&app, HOOGVELD).await;
    let [item]: [String; 1] = ids(&page).try_into().unwrap();
    let forwarded: Value = app.get(Some(HOOGVELD), &format!("/fhir/mailbox/{item}")).await.json().await.unwrap();
    let header = &forwarded["entry"][0]["resource"];
    assert_eq!(header["sender"]["identifier"]["value"], "90000014");
    assert_eq!(header["destination"][0]["receiver"]["identifier"]["value"], "90000015");
    assert_eq!(header["extension"][0]["url"], handover_broker::forward::FORWARDED_FROM_URL);
    let mut kept = entries_after_the_header(&forwarded);
    let note = kept.pop().unwrap();
    assert_eq!(note["resource"]["resourceType"], "Communication");
    assert_eq!(note["resource"]["payload"][0]["contentString"], "Kamer op de begane grond.");
    assert_eq!(kept, entries_after_the_header(&request));

    // The original left the triage point's mailbox as delivered; the forwarded message has its receipt.
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 0);
    let receipt = app.receipt(ZORGPUNT, forwarded_tracking.as_str()).await;
    assert_eq!(receipt.status().as_u16(), 200);
}

#[tokio::test]
async fn only_a_triage_point_forwards_and_only_what_it_received() {
    let app = spawn_app().await;
    let (_, id, _) = care_request_at_the_triage_point(&app).await;
    let body = parameters(&["90000015"], json!([]));

    // The nursing home is no triage point, and the item is not in its mailbox anyway.
    let refused = app.post_json(Some(HOOGVELD), &format!("/fhir/mailbox/{id}/$forward"), &body).await;
    assert_eq!(refused.status().as_u16(), 403);
    let said = outcome(refused, 403).await;
    assert!(issues_text(&said).contains("triage point"), "{said}");
    // Another triage point cannot forward the Zorgpunt's item: not found (its mailbox holds no such id).
    let other = app.post_json(Some("demo-triage-westkust"), &format!("/fhir/mailbox/{id}/$forward"), &body).await;
    assert_eq!(other.status().as_u16(), 404);
    // Without a token: 401.
    assert_eq!(app.post_json(None, &format!("/fhir/mailbox/{id}/$forward"), &body).await.status().as_u16(), 401);
    // Nothing was forwarded: the request still waits at the triage point.
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 1);
    // Both refusals are in the ledger, with who tried and why.
    let query =
        handover_broker::store::LedgerQuery { event: Some("denied-access".into()), limit: 10, ..Default::default() };
    let denied: Vec<String> =
        app.store.query_ledger(&query).await.unwrap().into_iter().filter_map(|e| e.entry.outcome).collect();
    assert!(denied.iter().any(|o| o.starts_with("403 $forward")), "{denied:?}");
    assert!(denied.iter().any(|o| o.starts_with("404 $forward")), "{denied:?}");
}

#[tokio::test]
async fn a_bad_forwarding_request_is_refused_with_its_expression_and_nothing_moves() {
    let app = spawn_app().await;
    let (_, id, _) = care_request_at_the_triage_point(&app).await;
    let path = format!("/fhir/mailbox/{id}/$forward");
    let long_note = "x".repeat(handover_broker::forward::MAX_NOTE_CHARS + 1);
    let distinct: Vec<String> = (0..=handover_broker::forward::MAX_RECEIVERS).map(|i| format!("9100{i:04}")).collect();
    let too_many: Vec<&str> = distinct.iter().map(String::as_str).collect();
    for (body, at) in [
        (parameters(&[], json!([])), "Parameters.parameter"),
        (parameters(&["99999999"], json!([])), "Parameters.parameter[0].valueIdentifier"),
        (parameters(&too_many, json!([])), "Parameters.parameter"),
        (parameters(&["90000015", "90000015"], json!([])), "Parameters.parameter[1].valueIdentifier"),
        // The triage point itself is no receiver of its own forwarding.
        (parameters(&["90000016", "90000014"], json!([])), "Parameters.parameter[1].valueIdentifier"),
        (
            parameters(
                &["90000015"],
                json!([{ "name": "mode", "valueCode": "all" }, { "name": "mode", "valueCode": "all" }]),
            ),
            "Parameters.parameter[2]",
        ),
        // The mailbox route names its item in the path, not by tracking id.
        (
            parameters(&["90000015"], json!([{ "name": "tracking-id", "valueId": uuid::Uuid::new_v4().to_string() }])),
            "Parameters",
        ),
        (
            parameters(&["90000015"], json!([{ "name": "mode", "valueCode": "some" }])),
            "Parameters.parameter[1].valueCode",
        ),
        (
            parameters(&["90000015"], json!([{ "name": "priority", "valueCode": "stat" }])),
            "Parameters.parameter[1].name",
        ),
        (json!({ "resourceType": "Bundle" }), "Parameters"),
        (
            json!({ "resourceType": "Parameters", "parameter": [{ "name": "receiver", "valueString": "90000015" }] }),
            "Parameters.parameter[0].valueIdentifier",
        ),
    ] {
        let said = outcome(app.post_json(Some(ZORGPUNT), &path, &body).await, 422).await;
        assert!(said["issue"].as_array().unwrap().iter().any(|i| i["expression"][0] == at), "{at}: {said}");
    }
    let note = json!([{ "name": "note", "valueString": long_note }]);
    outcome(app.post_json(Some(ZORGPUNT), &path, &parameters(&["90000015"], note)).await, 422).await;
    let not_json = app.post_fhir_bytes(Some(ZORGPUNT), &path, "{not json").await;
    assert_eq!(not_json.status().as_u16(), 422);
    assert_eq!(mailbox(&app, ZORGPUNT).await["total"], 1, "nothing moved");
    assert_eq!(mailbox(&app, HOOGVELD).await["total"], 0);
}

const KERKRADE: &str = "demo-zc-kerkrade";

/// A candidate's business response to the forwarded message `forwarded` (as it received it), sent by
/// the candidate with URA `from` to the triage point.
fn answer(forwarded: &Value, code: &str, from: &str) -> Value {
    let original_header = &forwarded["entry"][0]["resource"];
    let header_id = uuid::Uuid::new_v4().to_string();
    let header = json!({
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": original_header["eventCoding"],
        "source": { "name": "ECD", "endpoint": format!("https://fhir.handover-broker.eu/mailbox/{from}") },
        "sender": identifier_ref(URA, from),
        "destination": [destination(URA, "90000014", "https://fhir.handover-broker.eu/mailbox/zorgpunt-zuid-limburg")],
        "response": { "identifier": original_header["id"], "code": code },
    });
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "message",
        "timestamp": "2026-12-01T10:00:00Z",
        "entry": [{ "fullUrl": format!("urn:uuid:{header_id}"), "resource": header }],
    })
}

/// The one item in `token`'s mailbox: (its id, the message).
async fn only_item(app: &TestApp, token: &str) -> (String, Value) {
    let page = mailbox(app, token).await;
    let [id]: [String; 1] = ids(&page).try_into().unwrap_or_else(|_| panic!("one item for {token}: {page}"));
    let message = app.get(Some(token), &format!("/fhir/mailbox/{id}")).await.json().await.unwrap();
    (id, message)
}

fn first_accept(receivers: &[&str]) -> Value {
    parameters(receivers, json!([{ "name": "mode", "valueCode": "first-accept" }]))
}

fn part<'a>(parameter: &'a Value, name: &str) -> Vec<&'a Value> {
    parameter["part"].as_array().map(|p| p.iter().filter(|p| p["name"] == name).collect()).unwrap_or_default()
}

fn state_of(delivery: &Value) -> &str {
    part(delivery, "state")[0]["valueCode"].as_str().unwrap()
}

fn history_of(delivery: &Value) -> Vec<&str> {
    part(delivery, "history").iter().map(|h| part(h, "event")[0]["valueCode"].as_str().unwrap()).collect()
}

fn event_of(message: &Value) -> &str {
    message["entry"][0]["resource"]["eventCoding"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_first_candidate_to_accept_is_placed_the_other_is_withdrawn_and_the_gp_sees_the_chain() {
    let app = spawn_app().await;
    // The nursing homes report their ELV beds; the GP's request arrives at the Zorgpunt, which reads
    // the region's capacity before it chooses.
    for (token, ura, free) in [(HOOGVELD, "90000015", 2), (KERKRADE, "90000016", 1)] {
        let report = crate::capacity::report(ura, &[("elv-high", 10, 10 - free, free)]);
        let posted = app.post_capacity(Some(token), serde_json::to_vec(&report).unwrap()).await;
        assert_eq!(posted.status().as_u16(), 201);
    }
    let (_, id, original) = care_request_at_the_triage_point(&app).await;
    let summary: Value = app.get(Some(ZORGPUNT), "/fhir/MeasureReport/$region-summary").await.json().await.unwrap();
    let elv_high = summary["group"].as_array().unwrap().iter().find(|g| g["code"]["coding"][0]["code"] == "elv-high");
    let available = elv_high.unwrap()["population"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"]["coding"][0]["code"] == "available");
    assert_eq!(available.unwrap()["count"], 3, "{summary}");

    let path = format!("/fhir/mailbox/{id}/$forward");
    let response = app.post_json(Some(ZORGPUNT), &path, &first_accept(&["90000015", "90000016"])).await;
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
    let forwarded_tracking = tracking_id(&response.json().await.unwrap());

    // Both candidates have the request; Hoogveld accepts first.
    let (_, at_hoogveld) = only_item(&app, HOOGVELD).await;
    let (_, at_kerkrade) = only_item(&app, KERKRADE).await;
    let accepted = app.post_message(HOOGVELD, &answer(&at_hoogveld, "ok", "90000015")).await;
    assert_eq!(accepted.status().as_u16(), 202, "{}", accepted.text().await.unwrap());

    // Kerkrade's delivery is withdrawn: the request left its mailbox and a withdrawal took its place.
    let states: Vec<(String, String)> = app
        .store
        .deliveries(&forwarded_tracking)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.receiver_org.to_string(), d.state.as_str().to_owned()))
        .collect();
    assert!(states.contains(&("vpl-hoogveld".into(), "accepted-by-receiver".into())), "{states:?}");
    assert!(states.contains(&("zc-kerkrade".into(), "withdrawn".into())), "{states:?}");
    let (_, withdrawal) = only_item(&app, KERKRADE).await;
    assert_eq!(event_of(&withdrawal), "withdrawal");
    assert_eq!(withdrawal["entry"][0]["resource"]["focus"][0]["reference"], withdrawal["entry"][1]["fullUrl"]);
    let text = withdrawal.to_string();
    assert!(text.contains(at_kerkrade["entry"][0]["resource"]["id"].as_str().unwrap()), "names the withdrawn message");

    // A late acceptance: 409, the patient was placed elsewhere; nothing changes.
    let late = outcome(app.post_message(KERKRADE, &answer(&at_kerkrade, "ok", "90000016")).await, 409).await;
    assert!(issues_text(&late).contains("placed elsewhere"), "{late}");

    // The GP's receipt shows the whole chain: its delivery to the Zorgpunt was delivered, forwarded and
    // then accepted (by Hoogveld), and the forwarding with both candidates.
    let receipt: Value = app.receipt(GP_HEERLEN, original.as_str()).await.json().await.unwrap();
    let parameters = receipt["parameter"].as_array().unwrap();
    let delivery = parameters.iter().find(|p| p["name"] == "delivery").unwrap();
    assert_eq!(state_of(delivery), "accepted-by-receiver");
    let history = history_of(delivery);
    let position =
        |event: &str| history.iter().position(|e| *e == event).unwrap_or_else(|| panic!("{event}: {history:?}"));
    assert!(
        position("delivered") < position("forwarded") && position("forwarded") < position("business-response"),
        "{history:?}"
    );
    let forwarding = parameters.iter().find(|p| p["name"] == "forwarding").unwrap();
    assert_eq!(part(forwarding, "trackingId")[0]["valueId"], forwarded_tracking.as_str());
    assert_eq!(part(forwarding, "mode")[0]["valueCode"], "first-accept");
    assert_eq!(part(forwarding, "forwardedBy")[0]["valueIdentifier"]["value"], "90000014");
    let candidates = part(forwarding, "delivery");
    let mut candidate_states: Vec<&str> = candidates.iter().map(|d| state_of(d)).collect();
    candidate_states.sort();
    assert_eq!(candidate_states, ["accepted-by-receiver", "withdrawn"]);

    // The GP (a mailbox) got the receipts as messages too: forwarded, then accepted, naming Hoogveld.
    let page = mailbox(&app, GP_HEERLEN).await;
    let receipts = page["entry"].as_array().unwrap();
    let states: Vec<String> = receipts
        .iter()
        .filter_map(|e| {
            let header = e["resource"]["entry"][0]["resource"].clone();
            header["extension"]
                .as_array()?
                .iter()
                .find(|x| x["url"].as_str().is_some_and(|u| u.ends_with("delivery-state")))
                .map(|x| x["valueCoding"]["code"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert!(
        states.contains(&"forwarded".to_owned()) && states.contains(&"accepted-by-receiver".to_owned()),
        "{states:?}"
    );
    assert!(page.to_string().contains("90000015"), "the acceptance names the nursing home");

    // The ledger links both messages and verifies; the Zorgpunt's auditor finds the whole path by the
    // patient's BSN: the GP's request to the Zorgpunt and the forwarded message to both homes.
    let forwarded_entries = app.store.ledger_for_message(&original).await.unwrap();
    let link = forwarded_entries.iter().find(|e| e.event.as_str() == "forwarded").expect("a forwarded entry");
    assert!(link.outcome.as_deref().unwrap_or_default().contains(forwarded_tracking.as_str()));
    let zorgpunt = handover_broker::model::OrgIdentifier::new(URA, "90000014").unwrap();
    let auditor = handover_broker::auth::issue_token(&app.store, &zorgpunt, handover_broker::auth::Role::Auditor)
        .await
        .unwrap()
        .token;
    let verified = app.get(Some(&auditor), "/ledger/verify").await;
    assert_eq!(verified.status().as_u16(), 200);
    let verified: Value = verified.json().await.unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    let bsn =
        url::form_urlencoded::byte_serialize(b"http://fhir.nl/fhir/NamingSystem/bsn|999912021").collect::<String>();
    let trail = app.get(Some(&auditor), &format!("/fhir/AuditEvent?patient-identifier={bsn}&_count=1000")).await;
    assert_eq!(trail.status().as_u16(), 200);
    let trail: Value = trail.json().await.unwrap();
    let mut messages: Vec<&str> = trail["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["entity"][0]["what"]["identifier"]["value"].as_str())
        .collect();
    messages.sort();
    messages.dedup();
    let mut expected = vec![original.as_str(), forwarded_tracking.as_str()];
    expected.sort();
    assert_eq!(messages, expected);
    let subtypes = trail.to_string();
    for event in ["forwarded", "withdrawn", "business-response", "routed"] {
        assert!(subtypes.contains(&format!("\"{event}\"")), "{event} in the patient's trail");
    }
}

#[tokio::test]
async fn when_every_candidate_declines_the_triage_point_is_told_and_may_forward_again() {
    let app = spawn_app().await;
    let (_, id, original) = care_request_at_the_triage_point(&app).await;
    let path = format!("/fhir/mailbox/{id}/$forward");
    let response = app.post_json(Some(ZORGPUNT), &path, &first_accept(&["90000015", "90000016"])).await;
    assert_eq!(response.status().as_u16(), 202);
    let first_round = tracking_id(&response.json().await.unwrap());
    // While the forwarding is open, asking again is answered with the same forwarding (a retry)...
    let again = app
        .post_json(Some(ZORGPUNT), "/fhir/$forward", &with_tracking(first_accept(&["90000016", "90000015"]), &original))
        .await;
    assert_eq!(again.status().as_u16(), 200, "{}", again.text().await.unwrap());
    assert_eq!(tracking_id(&again.json().await.unwrap()), first_round);
    // ...and another choice of receivers is a conflict.
    let other = with_tracking(first_accept(&["90000015"]), &original);
    outcome(app.post_json(Some(ZORGPUNT), "/fhir/$forward", &other).await, 409).await;

    let (_, at_hoogveld) = only_item(&app, HOOGVELD).await;
    let (_, at_kerkrade) = only_item(&app, KERKRADE).await;
    for (token, ura, message) in [(HOOGVELD, "90000015", &at_hoogveld), (KERKRADE, "90000016", &at_kerkrade)] {
        let declined = app.post_message(token, &answer(message, "fatal-error", ura)).await;
        assert_eq!(declined.status().as_u16(), 202, "{}", declined.text().await.unwrap());
    }
    // The triage point's receipts say that nobody was placed; the GP's request waits at the triage point.
    let page = mailbox(&app, ZORGPUNT).await;
    assert!(page.to_string().contains("nobody was placed"), "{page}");
    let query = handover_broker::store::LedgerQuery {
        event: Some("forwarding-declined".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(app.store.query_ledger(&query).await.unwrap().len(), 1);
    let gp_receipt: Value = app.receipt(GP_HEERLEN, original.as_str()).await.json().await.unwrap();
    let delivery =
        gp_receipt["parameter"].as_array().unwrap().iter().find(|p| p["name"] == "delivery").unwrap().clone();
    assert_eq!(state_of(&delivery), "forwarded");

    // A second round, to the Belgian-border home Kerkrade alone, is a new forwarding.
    let second = app
        .post_json(Some(ZORGPUNT), "/fhir/$forward", &with_tracking(parameters(&["90000016"], json!([])), &original))
        .await;
    assert_eq!(second.status().as_u16(), 202, "{}", second.text().await.unwrap());
    assert_ne!(tracking_id(&second.json().await.unwrap()), first_round);
}

fn with_tracking(mut body: Value, tracking: &handover_broker::model::TrackingId) -> Value {
    body["parameter"].as_array_mut().unwrap().push(json!({ "name": "tracking-id", "valueId": tracking.as_str() }));
    body
}

/// Two candidates accept at the same moment, fifty times: every round has exactly one winner (200/202)
/// and one 409, one delivery accepted and one withdrawn. On PostgreSQL too when `HANDOVER_TEST_POSTGRES`
/// is set (the api tests run on both in CI).
#[tokio::test]
async fn fifty_rounds_of_simultaneous_acceptances_give_exactly_one_placement_each() {
    let app = spawn_app().await;
    for round in 0..50 {
        let (_, id, _) = care_request_at_the_triage_point(&app).await;
        let path = format!("/fhir/mailbox/{id}/$forward");
        let response = app.post_json(Some(ZORGPUNT), &path, &first_accept(&["90000015", "90000016"])).await;
        assert_eq!(response.status().as_u16(), 202, "round {round}");
        let forwarded = tracking_id(&response.json().await.unwrap());
        let (hoogveld_item, at_hoogveld) = only_item(&app, HOOGVELD).await;
        let (kerkrade_item, at_kerkrade) = only_item(&app, KERKRADE).await;
        let (yes_hoogveld, yes_kerkrade) =
            (answer(&at_hoogveld, "ok", "90000015"), answer(&at_kerkrade, "ok", "90000016"));
        let (a, b) = tokio::join!(app.post_message(HOOGVELD, &yes_hoogveld), app.post_message(KERKRADE, &yes_kerkrade));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [202, 409], "round {round}");
        let mut states: Vec<&str> = Vec::new();
        let deliveries = app.store.deliveries(&forwarded).await.unwrap();
        states.extend(deliveries.iter().map(|d| d.state.as_str()));
        states.sort();
        assert_eq!(states, ["accepted-by-receiver", "withdrawn"], "round {round}");
        // Clear both mailboxes for the next round (the withdrawal is the loser's only item).
        let _ = (hoogveld_item, kerkrade_item);
        for token in [HOOGVELD, KERKRADE, GP_HEERLEN, ZORGPUNT] {
            for left in ids(&mailbox(&app, token).await) {
                let url = format!("{}/fhir/mailbox/{left}/$acknowledge", app.base);
                let ack = app.client.post(url).bearer_auth(token).send().await.unwrap();
                assert!(ack.status().is_success(), "{}", ack.status());
            }
        }
    }
}

/// A triage point that receives by push forwards by tracking id (`POST /fhir/$forward`): the West
/// Flanders triage point passes a Bruges GP's request for a short stay to Sint-Jozef, whose acceptance
/// answers the GP.
#[tokio::test]
async fn a_pushed_request_is_forwarded_by_its_tracking_id_and_the_answer_reaches_the_gp() {
    use crate::delivery::{stepped_broker, Receiver};
    let triage = Receiver::plain();
    let app = stepped_broker(&[("triage-westkust", &triage.address)], |_| {}).await;
    let mut request = fresh(fixture("care-request-be.json"));
    header(&mut request)["destination"][0]["endpoint"] = json!(triage.address);
    let sent = app.post_message("demo-gp-brugge", &request).await;
    assert_eq!(sent.status().as_u16(), 202, "{}", sent.text().await.unwrap());
    let original = tracking_id(&sent.json().await.unwrap());
    app.deliver_pending().await;
    assert_eq!(triage.state.got().len(), 1, "pushed to the triage point");
    assert_eq!(app.store.deliveries(&original).await.unwrap()[0].state.as_str(), "delivered");

    let body = with_tracking(
        parameters(
            &[],
            json!([{ "name": "receiver", "valueIdentifier": { "system": NIHDI, "value": "10000000500" } }]),
        ),
        &original,
    );
    // Only the triage point that received it may forward it; for anyone else it does not exist.
    outcome(app.post_json(Some(ZORGPUNT), "/fhir/$forward", &body).await, 404).await;
    let forwarded = app.post_json(Some("demo-triage-westkust"), "/fhir/$forward", &body).await;
    assert_eq!(forwarded.status().as_u16(), 202, "{}", forwarded.text().await.unwrap());
    assert_eq!(app.store.deliveries(&original).await.unwrap()[0].state.as_str(), "forwarded");

    let (_, at_sint_jozef) = only_item(&app, "demo-wzc-sint-jozef").await;
    let mut yes = answer(&at_sint_jozef, "ok", "10000000500");
    let header = &mut yes["entry"][0]["resource"];
    header["sender"] = identifier_ref(NIHDI, "10000000500");
    header["destination"] = json!([destination(NIHDI, "10000000300", &triage.address)]);
    let accepted = app.post_message("demo-wzc-sint-jozef", &yes).await;
    assert_eq!(accepted.status().as_u16(), 202, "{}", accepted.text().await.unwrap());
    assert_eq!(app.store.deliveries(&original).await.unwrap()[0].state.as_str(), "accepted-by-receiver");
    let gp_mailbox = mailbox(&app, "demo-gp-brugge").await.to_string();
    assert!(gp_mailbox.contains("10000000500") && gp_mailbox.contains("accepted-by-receiver"), "{gp_mailbox}");
    triage.stop().await;
}

/// Mode `all` hands the request over: when its receiver declines, that answers the GP's request (the
/// GP's delivery to the triage point becomes rejected, and the GP's receipt says who declined).
#[tokio::test]
async fn when_the_receiver_of_a_handed_over_request_declines_the_gp_is_answered() {
    let app = spawn_app().await;
    let (_, id, original) = care_request_at_the_triage_point(&app).await;
    let path = format!("/fhir/mailbox/{id}/$forward");
    let response = app.post_json(Some(ZORGPUNT), &path, &parameters(&["90000015"], json!([]))).await;
    assert_eq!(response.status().as_u16(), 202);
    let (_, at_hoogveld) = only_item(&app, HOOGVELD).await;
    let declined = app.post_message(HOOGVELD, &answer(&at_hoogveld, "fatal-error", "90000015")).await;
    assert_eq!(declined.status().as_u16(), 202, "{}", declined.text().await.unwrap());
    assert_eq!(app.store.deliveries(&original).await.unwrap()[0].state.as_str(), "rejected-by-receiver");
    let gp = mailbox(&app, GP_HEERLEN).await.to_string();
    assert!(gp.contains("Declined by http://fhir.nl/fhir/NamingSystem/ura|90000015"), "{gp}");
    // The triage point is told too, and cannot forward the answered request again.
    assert!(mailbox(&app, ZORGPUNT).await.to_string().contains("answered as declined"));
    let again = with_tracking(parameters(&["90000016"], json!([])), &original);
    outcome(app.post_json(Some(ZORGPUNT), "/fhir/$forward", &again).await, 409).await;
}
