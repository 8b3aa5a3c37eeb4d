//! The authorization matrix: every route of the authorization table (`api::authz::RULES`) called by
//! every kind of caller, against what the table says. A route added without a rule, or a rule that the
//! handlers do not keep, fails here.

use std::time::Duration;

use handover_broker::api::authz::{Owner, Who, RULES};
use handover_broker::auth::{issue, revoke, Role, Scope, TokenRequest};
use handover_broker::model::OrgIdentifier;
use serde_json::Value;

use crate::capacity::{VPL_HOOGVELD, VPL_HOOGVELD_URA, ZORGPUNT};
use crate::delivery::{closed_port, nursing_to};
use crate::helpers::*;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    Expired,
    Revoked,
    /// The organisation whose data the route's example reaches.
    OrgA,
    /// Another organisation.
    OrgB,
    AuditorOfA,
    RegionalAuditor,
    Admin,
    /// A quality coordinator (issue 16).
    Quality,
    /// A patient portal (issue 16).
    Portal,
}

const CALLERS: [Caller; 10] = [
    Caller::NoToken,
    Caller::Expired,
    Caller::Revoked,
    Caller::OrgA,
    Caller::OrgB,
    Caller::AuditorOfA,
    Caller::RegionalAuditor,
    Caller::Admin,
    Caller::Quality,
    Caller::Portal,
];

struct Tokens {
    expired: String,
    revoked: String,
    auditor: String,
    regional: String,
    admin: String,
    quality: String,
    portal: String,
}

async fn tokens(app: &TestApp) -> Tokens {
    let hospital = OrgIdentifier::new(URA, "90000011").unwrap();
    let token = |request: TokenRequest| {
        let (store, hospital) = (app.store.clone(), hospital.clone());
        async move { issue(&store, &hospital, &request).await.unwrap().token }
    };
    let expired = token(TokenRequest::new(Role::Sender).lifetime(Duration::from_secs(1))).await;
    let revoked = token(TokenRequest::new(Role::Sender)).await;
    revoke(&app.store, &revoked).await.unwrap();
    let tokens = Tokens {
        expired,
        revoked,
        auditor: token(TokenRequest::new(Role::Auditor)).await,
        regional: token(TokenRequest::new(Role::Auditor).scope(Scope::Regional)).await,
        admin: token(TokenRequest::new(Role::Admin)).await,
        quality: token(TokenRequest::new(Role::Quality)).await,
        portal: token(TokenRequest::new(Role::PatientPortal)).await,
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    tokens
}

/// The example request of a route: the path with its parameters filled in, the body, and which demo
/// organisation is "A" (whose data it reaches) and "B" (another).
struct Example {
    path: String,
    body: Option<Value>,
    a: &'static str,
    b: &'static str,
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_authorization_table_says() {
    let app = spawn_app().await;
    let tokens = tokens(&app).await;
    // A discharge letter from the hospital to the GP: the hospital's receipt, the GP's mailbox item.
    let sent: Value = app.post_message(HOSPITAL, &discharge()).await.json().await.unwrap();
    let tracking = tracking_id(&sent);
    let delivery = app.store.deliveries(&tracking).await.unwrap().remove(0).delivery_id;
    let mut directory: Value = app.get(Some(&tokens.admin), "/admin/directory").await.json().await.unwrap();
    // Notified Pull (issue 15): the home-care organisation receives by notified pull; a nursing handover
    // from the hospital waits for it as a Task.
    let (_, notify_at) = closed_port();
    for entry in directory["entry"].as_array_mut().unwrap() {
        if entry["resource"]["resourceType"] == "Endpoint" && entry["resource"]["id"] == "thuiszorg-parkstad" {
            entry["resource"]["connectionType"]["system"] =
                serde_json::json!("https://fhir.handover-broker.eu/CodeSystem/endpoint-connection-type");
            entry["resource"]["connectionType"]["code"] = serde_json::json!("notified-pull");
            entry["resource"]["address"] = serde_json::json!(notify_at);
        }
    }
    let imported = app.post_json(Some(&tokens.admin), "/admin/directory", &directory).await;
    assert_eq!(imported.status().as_u16(), 200, "{}", imported.text().await.unwrap());
    let handover: Value = app.post_message(HOSPITAL, &nursing_to(&notify_at)).await.json().await.unwrap();
    let handover = tracking_id(&handover);
    let task_id = app.store.deliveries(&handover).await.unwrap().remove(0).delivery_id;
    let task: Value = app.get(Some(HOME_CARE), &format!("/fhir/Task/{task_id}")).await.json().await.unwrap();
    let mut accepted = task.clone();
    accepted["status"] = serde_json::json!("accepted");
    let in_progress = serde_json::json!([{ "op": "replace", "path": "/status", "value": "in-progress" }]);
    // A care request from the GP waiting in the Zorgpunt's mailbox: what a triage point forwards.
    let care: Value = app.post_message(GP_HEERLEN, &fresh(fixture("care-request-nl.json"))).await.json().await.unwrap();
    let care_item = app.store.deliveries(&tracking_id(&care)).await.unwrap().remove(0).delivery_id;
    let forward = serde_json::json!({ "resourceType": "Parameters", "parameter": [
        { "name": "receiver", "valueIdentifier": { "system": URA, "value": "90000015" } }] });

    let mut checked = 0;
    for rule in RULES {
        let example = match (rule.method, rule.route) {
            (_, "/fhir/receipts/{tracking_id}") => {
                Example { path: format!("/fhir/receipts/{tracking}"), body: None, a: HOSPITAL, b: GP_HEERLEN }
            }
            ("GET", "/fhir/mailbox/{id}") => {
                Example { path: format!("/fhir/mailbox/{delivery}"), body: None, a: GP_HEERLEN, b: HOSPITAL }
            }
            (_, "/fhir/mailbox/{id}/$acknowledge") => Example {
                path: format!("/fhir/mailbox/{delivery}/$acknowledge"),
                body: None,
                a: GP_HEERLEN,
                b: HOSPITAL,
            },
            // Another triage point does not see the Zorgpunt's item.
            (_, "/fhir/mailbox/{id}/$forward") => Example {
                path: format!("/fhir/mailbox/{care_item}/$forward"),
                body: Some(forward.clone()),
                a: "demo-zorgpunt-zuid-limburg",
                b: "demo-triage-westkust",
            },
            // The same by tracking id; the other triage point received no such message.
            (_, "/fhir/$forward") => {
                let mut body = forward.clone();
                body["parameter"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({ "name": "tracking-id", "valueId": tracking_id(&care).as_str() }));
                Example {
                    path: rule.route.to_owned(),
                    body: Some(body),
                    a: "demo-zorgpunt-zuid-limburg",
                    b: "demo-triage-westkust",
                }
            }
            (_, "/fhir/$process-message") | (_, "/fhir/$validate") => {
                Example { path: rule.route.to_owned(), body: Some(discharge()), a: HOSPITAL, b: GP_HEERLEN }
            }
            // A provider's capacity report: the provider is A, a GP (no provider, no triage point) is B.
            ("POST", "/fhir/MeasureReport") => Example {
                path: rule.route.to_owned(),
                body: Some(crate::capacity::report(VPL_HOOGVELD_URA, &[("elv-low", 10, 7, 3)])),
                a: VPL_HOOGVELD,
                b: GP_HEERLEN,
            },
            // The region's capacity, by the API and as the page: a triage point reads it, a GP may not.
            (_, route) if route.starts_with("/fhir/MeasureReport") || route == "/capacity" => {
                Example { path: route.to_owned(), body: None, a: ZORGPUNT, b: GP_HEERLEN }
            }
            // A document: each organisation sends it as itself (the wrap names the caller), so both may.
            ("POST", "/fhir/Bundle") => {
                let document = std::fs::read(project_dir().join("fixtures/documents/patient-summary-ips-minimal.json"));
                Example {
                    path: format!("{}?receiver={URA}%7C90000012", rule.route),
                    body: Some(serde_json::from_slice(&document.unwrap()).unwrap()),
                    a: HOSPITAL,
                    b: "demo-gp-brugge",
                }
            }
            // The hospital's figures as a sender: its own for the hospital, another's for the GP.
            (_, "/fhir/Measure/handover-quality/$evaluate-measure" | "/quality") => Example {
                path: format!("{}?sender={URA}%7C90000011&periodStart=2026-01-01", rule.route),
                body: None,
                a: HOSPITAL,
                b: GP_HEERLEN,
            },
            // One patient's entries: what auditors search and a patient portal reads.
            (_, "/fhir/AuditEvent") => Example {
                path: format!("{}?patient-identifier=http://fhir.nl/fhir/NamingSystem/bsn%7C999911120", rule.route),
                body: None,
                a: HOSPITAL,
                b: GP_HEERLEN,
            },
            ("GET", "/fhir/Task") => Example { path: rule.route.to_owned(), body: None, a: HOME_CARE, b: GP_HEERLEN },
            (method, "/fhir/Task/{id}") => Example {
                path: format!("/fhir/Task/{task_id}"),
                body: match method {
                    "PUT" => Some(accepted.clone()),
                    "PATCH" => Some(in_progress.clone()),
                    _ => None,
                },
                a: HOME_CARE,
                b: GP_HEERLEN,
            },
            (_, "/fhir/Composition/{id}/$document") => Example {
                path: format!("/fhir/Composition/{handover}/$document"),
                body: None,
                a: HOME_CARE,
                b: GP_HEERLEN,
            },
            (_, "/fhir/Bundle/{id}") => {
                Example { path: format!("/fhir/Bundle/{handover}"), body: None, a: HOME_CARE, b: GP_HEERLEN }
            }
            ("POST", "/admin/directory") => {
                Example { path: rule.route.to_owned(), body: Some(directory.clone()), a: HOSPITAL, b: GP_HEERLEN }
            }
            (_, route) => Example { path: route.replace("{id}", "gp-brugge"), body: None, a: HOSPITAL, b: GP_HEERLEN },
        };
        for caller in CALLERS {
            let token = match caller {
                Caller::NoToken => None,
                Caller::Expired => Some(tokens.expired.as_str()),
                Caller::Revoked => Some(tokens.revoked.as_str()),
                Caller::OrgA => Some(example.a),
                Caller::OrgB => Some(example.b),
                Caller::AuditorOfA => Some(tokens.auditor.as_str()),
                Caller::RegionalAuditor => Some(tokens.regional.as_str()),
                Caller::Admin => Some(tokens.admin.as_str()),
                Caller::Quality => Some(tokens.quality.as_str()),
                Caller::Portal => Some(tokens.portal.as_str()),
            };
            let method = reqwest::Method::from_bytes(rule.method.as_bytes()).unwrap();
            let mut request = app.client.request(method, format!("{}{}", app.base, example.path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &example.body {
                // A fresh message id each time: a resend would be answered as a duplicate.
                let mut body = body.clone();
                if body["type"] == "message" {
                    body = fresh(body);
                }
                // A JSON Patch has its own media type.
                let media = if rule.method == "PATCH" { "application/json-patch+json" } else { FHIR_JSON };
                request = request.header("Content-Type", media).body(serde_json::to_vec(&body).unwrap());
            }
            let status = request.send().await.unwrap().status().as_u16();
            let expected = expected(rule.who, rule.owner, rule.route, caller);
            assert!(
                expected.contains(&status),
                "{} {} as {caller:?}: {status}, expected one of {expected:?}",
                rule.method,
                rule.route
            );
            checked += 1;
        }
    }
    assert_eq!(checked, RULES.len() * CALLERS.len());
}

/// The statuses the table allows for `caller` on a route.
fn expected(who: Who, owner: Owner, route: &str, caller: Caller) -> &'static [u16] {
    const OK: &[u16] = &[200, 201, 202, 204];
    const UNAUTHENTICATED: &[u16] = &[401];
    const FORBIDDEN: &[u16] = &[403];
    const NOT_FOUND: &[u16] = &[404];
    // The token endpoint's credential is the signed client assertion in its body, never a bearer token
    // or a certificate: without one, every caller gets the same OAuth error (smart.rs tests the rest).
    if route == "/oauth/token" {
        return &[400];
    }
    // The sign-in form: shown to anyone (GET); a post without a token in its form answers it again (401).
    if route == "/login" {
        return &[200, 401];
    }
    let roles: Vec<Role> = match who {
        Who::Anyone => return OK,
        Who::Role(role) => vec![role],
        Who::AnyRole(roles) => roles.to_vec(),
    };
    let holds = match caller {
        Caller::NoToken | Caller::Expired | Caller::Revoked => return UNAUTHENTICATED,
        Caller::OrgA | Caller::OrgB => roles.contains(&Role::Sender),
        Caller::AuditorOfA | Caller::RegionalAuditor => roles.contains(&Role::Auditor),
        Caller::Admin => roles.contains(&Role::Admin),
        Caller::Quality => roles.contains(&Role::Quality),
        Caller::Portal => roles.contains(&Role::PatientPortal),
    };
    if !holds {
        return FORBIDDEN;
    }
    match (owner, caller) {
        // Someone else's message or mailbox item does not exist for the caller.
        (Owner::MessagesSent, Caller::OrgB) => NOT_FOUND,
        (Owner::Addressee, Caller::OrgB) if route.contains("{id}") || route == "/fhir/$forward" => NOT_FOUND,
        // The message names the hospital as its sender: no other organisation may send it.
        (Owner::Sender, Caller::OrgB) if route == "/fhir/$process-message" => FORBIDDEN,
        // A report names its reporter; the region's capacity is for triage points (and auditors).
        (Owner::Reporter | Owner::CapacityReaders | Owner::Region, Caller::OrgB) => FORBIDDEN,
        (Owner::Reporter, _) => &[201],
        // Another organisation's quality figures.
        (Owner::QualityScope, Caller::OrgB) => FORBIDDEN,
        // Removing an organisation the demo's messages refer to is a conflict, not a refusal.
        _ if route == "/admin/organizations/{id}" && caller == Caller::Admin => &[200, 204, 409],
        _ => OK,
    }
}
