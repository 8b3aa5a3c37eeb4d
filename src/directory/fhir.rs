//! The directory as FHIR `Organization` + `Endpoint` resources: read from a `Bundle`, and written back
//! as one (the exact inverse: reading what was written gives the same organisations).

use std::collections::HashMap;

use rustls::pki_types::pem::{PemObject, SectionKind};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::DirectoryError;
use super::{CARE_TYPE_PROVIDED_URL, CA_CERTIFICATE_URL, CERTIFICATE_SHA256_URL, CLIENT_CERTIFICATE_URL};
use super::{MAILBOX_CODE, MAILBOX_SYSTEM, NOTIFIED_PULL_CODE, PUSH_CODE, PUSH_SYSTEM};
use super::{OPENING_HOURS_URL, RESPONSE_TIME_URL};
use super::{PREFERRED_LANGUAGE_URL, RECEIPT_PREFERENCE_URL};
use crate::address::TargetPolicy;
use crate::model::codes::{CareType, CARE_TYPE_SYSTEM, EVENT_SYSTEM, ORGANIZATION_ROLE_SYSTEM, TRIAGE_POINT_CODE};
use crate::model::{
    CertificateSha256, DeliveryMode, EventCode, Format, OrgId, OrgIdentifier, Organization, ReceiptPreference,
};
use crate::model::{ClientId, ClientRole, JwkSet, SmartClient};
use crate::model::{OpenPeriod, OpeningHours, Priority, ResponseRule, ResponseTime, TimeOfDay, TimeZoneName, Weekdays};

/// `Organization` extension: the organisation's SMART Backend Services client, with sub-extensions
/// `clientId` (valueString, once), `jwks` (valueString, once: the JWK Set JSON, inline; never a URL)
/// and `role` (valueCode `sender` or `auditor`, any number; none means sender).
pub const SMART_CLIENT_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/smart-client";

fn invalid(expression: String, problem: &str) -> DirectoryError {
    DirectoryError::Invalid { expression, problem: problem.to_owned() }
}

/// Parses a `Bundle` (type `collection`) of Organizations, each with exactly one Endpoint.
pub fn organizations_from_bundle(bytes: &[u8]) -> Result<Vec<Organization>, DirectoryError> {
    let bundle: Value = serde_json::from_slice(bytes).map_err(|e| DirectoryError::NotJson(e.to_string()))?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(invalid("Bundle".into(), "not a Bundle"));
    }
    let entries = bundle.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // Endpoints by every name a reference may use: fullUrl and Endpoint/{id}.
    let mut endpoints: HashMap<String, (usize, &Value)> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        if resource.get("resourceType").and_then(Value::as_str) == Some("Endpoint") {
            if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
                endpoints.insert(url.to_owned(), (i, resource));
            }
            if let Some(id) = resource.get("id").and_then(Value::as_str) {
                endpoints.insert(format!("Endpoint/{id}"), (i, resource));
            }
        }
    }
    let names = OrgNames::of(entries);
    let mut organizations = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(org) = entry.get("resource") else {
            continue;
        };
        if org.get("resourceType").and_then(Value::as_str) != Some("Organization") {
            continue;
        }
        if org.get("active").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let at = format!("Bundle.entry[{i}].resource");
        let id = org
            .get("id")
            .and_then(Value::as_str)
            .and_then(OrgId::parse)
            .ok_or_else(|| invalid(format!("{at}.id"), "an Organization needs a valid id"))?;
        let name = org.get("name").and_then(Value::as_str).unwrap_or(id.as_str()).to_owned();
        let identifiers: Vec<OrgIdentifier> = org
            .get("identifier")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|ident| OrgIdentifier::new(ident.get("system")?.as_str()?, ident.get("value")?.as_str()?))
            .collect();
        if identifiers.is_empty() {
            return Err(invalid(
                format!("{at}.identifier"),
                "an Organization needs an identifier with system and value",
            ));
        }
        let references: Vec<&str> = org
            .get("endpoint")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.get("reference").and_then(Value::as_str))
            .collect();
        let [reference] = references.as_slice() else {
            return Err(invalid(format!("{at}.endpoint"), "an Organization needs exactly one Endpoint"));
        };
        let &(ei, endpoint) = endpoints.get(*reference).ok_or_else(|| {
            invalid(format!("{at}.endpoint[0]"), "the Endpoint reference does not resolve in the Bundle")
        })?;
        let receipts = match extension(org, RECEIPT_PREFERENCE_URL, &at)? {
            None => ReceiptPreference::default(),
            Some((xi, ext)) => {
                ext.get("valueCode").and_then(Value::as_str).and_then(ReceiptPreference::parse).ok_or_else(|| {
                    invalid(
                        format!("{at}.extension[{xi}].valueCode"),
                        "the receipt preference must be all, business-only or none",
                    )
                })?
            }
        };
        let language = match extension(org, PREFERRED_LANGUAGE_URL, &at)? {
            None => None,
            Some((xi, ext)) => Some(
                ext.get("valueCode")
                    .and_then(Value::as_str)
                    .filter(|code| code.len() <= 35)
                    .and_then(crate::i18n::Language::of)
                    .ok_or_else(|| {
                        invalid(
                            format!("{at}.extension[{xi}].valueCode"),
                            "the preferred language must be Dutch, French or English (nl, fr, en, e.g. nl-BE)",
                        )
                    })?,
            ),
        };
        let certificates = pinned_certificates(org, &at)?;
        let smart = match extension(org, SMART_CLIENT_URL, &at)? {
            None => None,
            Some((xi, ext)) => Some(read_smart_client(ext, &format!("{at}.extension[{xi}]"))?),
        };
        let endpoint = read_endpoint(endpoint, &format!("Bundle.entry[{ei}].resource"))?;
        let triage_point = codings(org, "type").any(|coding| {
            coding.get("system").and_then(Value::as_str) == Some(ORGANIZATION_ROLE_SYSTEM)
                && coding.get("code").and_then(Value::as_str) == Some(TRIAGE_POINT_CODE)
        });
        let care_types = care_types_provided(org, &at)?;
        let hours = match extension(org, OPENING_HOURS_URL, &at)? {
            None => None,
            Some((xi, ext)) => Some(read_opening_hours(ext, &format!("{at}.extension[{xi}]"))?),
        };
        let response_rules = read_response_rules(org, &at, &id, &names)?;
        organizations.push(Organization {
            id,
            name,
            identifiers,
            smart,
            events: endpoint.events,
            delivery: endpoint.delivery,
            address: endpoint.address,
            ca_pem: endpoint.ca_pem,
            client_certificate: endpoint.client_certificate,
            receipts,
            certificates,
            triage_point,
            format: endpoint.format,
            care_types,
            hours,
            response_rules,
            language,
        });
    }
    Ok(organizations)
}

/// The Organizations of a directory Bundle by the names an escalation reference may use: `fullUrl`
/// and identifier (`Organization/{id}` names itself).
struct OrgNames {
    by_url: HashMap<String, OrgId>,
    by_identifier: HashMap<OrgIdentifier, OrgId>,
}

impl OrgNames {
    fn of(entries: &[Value]) -> Self {
        let (mut by_url, mut by_identifier) = (HashMap::new(), HashMap::new());
        for entry in entries {
            let Some(org) =
                entry.get("resource").filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Organization"))
            else {
                continue;
            };
            let Some(id) = org.get("id").and_then(Value::as_str).and_then(OrgId::parse) else { continue };
            if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
                by_url.insert(url.to_owned(), id.clone());
            }
            for ident in org.get("identifier").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                let system = ident.get("system").and_then(Value::as_str).unwrap_or_default();
                let value = ident.get("value").and_then(Value::as_str).unwrap_or_default();
                if let Some(identifier) = OrgIdentifier::new(system, value) {
                    by_identifier.insert(identifier, id.clone());
                }
            }
        }
        Self { by_url, by_identifier }
    }
}

/// The sub-extensions of a complex extension.
fn subs(ext: &Value) -> &[Value] {
    ext.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The opening-hours extension at `at` (see [`OPENING_HOURS_URL`]): every part checked, nothing unknown.
fn read_opening_hours(ext: &Value, at: &str) -> Result<OpeningHours, DirectoryError> {
    let (mut zone, mut periods) = (None, Vec::new());
    for (i, sub) in subs(ext).iter().enumerate() {
        let here = format!("{at}.extension[{i}]");
        match sub.get("url").and_then(Value::as_str) {
            Some("timeZone") if zone.is_none() => {
                let name = sub.get("valueCode").and_then(Value::as_str).and_then(TimeZoneName::parse);
                zone = Some(name.ok_or_else(|| {
                    invalid(
                        format!("{here}.valueCode"),
                        "timeZone must be an IANA time zone name, e.g. Europe/Amsterdam",
                    )
                })?);
            }
            Some("availableTime") if periods.len() < OpeningHours::MAX_PERIODS => {
                periods.push(read_available_time(sub, &here)?);
            }
            Some("availableTime") => {
                return Err(invalid(
                    here,
                    &format!("at most {} availableTime periods may be stated", OpeningHours::MAX_PERIODS),
                ))
            }
            Some("timeZone") => return Err(invalid(here, "timeZone may appear only once")),
            _ => return Err(invalid(here, "the opening hours extension takes only timeZone and availableTime")),
        }
    }
    let zone = zone.ok_or_else(|| invalid(at.to_owned(), "the opening hours need a timeZone"))?;
    OpeningHours::new(zone, periods)
        .ok_or_else(|| invalid(at.to_owned(), "the opening hours need at least one availableTime"))
}

/// One `availableTime`: `daysOfWeek` (1..7), `availableStartTime` and `availableEndTime` (once each).
fn read_available_time(ext: &Value, at: &str) -> Result<OpenPeriod, DirectoryError> {
    let (mut days, mut opens, mut closes) = (Vec::new(), None, None);
    for (i, sub) in subs(ext).iter().enumerate() {
        let here = format!("{at}.extension[{i}]");
        let time = || {
            sub.get("valueTime").and_then(Value::as_str).and_then(TimeOfDay::parse).ok_or_else(|| {
                invalid(format!("{here}.valueTime"), "a time of day is a valueTime hh:mm:ss (00:00:00 to 23:59:59)")
            })
        };
        match sub.get("url").and_then(Value::as_str) {
            Some("daysOfWeek") if days.len() < 7 => {
                let code = sub.get("valueCode").and_then(Value::as_str).filter(|c| Weekdays::parse([*c]).is_some());
                days.push(code.ok_or_else(|| {
                    invalid(
                        format!("{here}.valueCode"),
                        "daysOfWeek is a valueCode mon, tue, wed, thu, fri, sat or sun",
                    )
                })?);
            }
            Some("daysOfWeek") => return Err(invalid(here, "at most 7 daysOfWeek")),
            Some("availableStartTime") if opens.is_none() => opens = Some(time()?),
            Some("availableEndTime") if closes.is_none() => closes = Some(time()?),
            Some("availableStartTime" | "availableEndTime") => {
                return Err(invalid(here, "availableStartTime and availableEndTime may appear only once"))
            }
            _ => {
                return Err(invalid(
                    here,
                    "availableTime takes only daysOfWeek, availableStartTime and availableEndTime",
                ))
            }
        }
    }
    let days = Weekdays::parse(days).ok_or_else(|| invalid(at.to_owned(), "availableTime needs daysOfWeek"))?;
    let (Some(opens), Some(closes)) = (opens, closes) else {
        return Err(invalid(at.to_owned(), "availableTime needs availableStartTime and availableEndTime"));
    };
    OpenPeriod::new(days, opens, closes).ok_or_else(|| {
        invalid(
            at.to_owned(),
            &format!("availableEndTime {closes} is not after availableStartTime {opens} (a period ends on its day)"),
        )
    })
}

/// Every response-time extension of an Organization (see [`RESPONSE_TIME_URL`]): at most one per
/// priority, sorted by priority.
fn read_response_rules(
    org: &Value,
    at: &str,
    own: &OrgId,
    names: &OrgNames,
) -> Result<Vec<ResponseRule>, DirectoryError> {
    let mut rules: Vec<ResponseRule> = Vec::new();
    let extensions = org.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (xi, ext) in extensions.iter().enumerate() {
        if ext.get("url").and_then(Value::as_str) != Some(RESPONSE_TIME_URL) {
            continue;
        }
        let here = format!("{at}.extension[{xi}]");
        if rules.len() == Priority::ALL.len() {
            return Err(invalid(here, "at most one response time per priority (four)"));
        }
        let rule = read_response_rule(ext, &here, own, names)?;
        if rules.iter().any(|r| r.priority == rule.priority) {
            return Err(invalid(here, &format!("a second response time for priority {}", rule.priority)));
        }
        rules.push(rule);
    }
    rules.sort_by_key(|rule| rule.priority);
    Ok(rules)
}

fn read_response_rule(ext: &Value, at: &str, own: &OrgId, names: &OrgNames) -> Result<ResponseRule, DirectoryError> {
    let (mut priority, mut within, mut escalation) = (None, None, None);
    for (i, sub) in subs(ext).iter().enumerate() {
        let here = format!("{at}.extension[{i}]");
        match sub.get("url").and_then(Value::as_str) {
            Some("priority") if priority.is_none() => {
                let code = sub.get("valueCode").and_then(Value::as_str).and_then(Priority::parse);
                priority = Some(code.ok_or_else(|| {
                    invalid(format!("{here}.valueCode"), "priority is a valueCode routine, urgent, asap or stat")
                })?);
            }
            Some("responseTime") if within.is_none() => {
                within = Some(read_duration(sub.get("valueDuration"), &format!("{here}.valueDuration"))?);
            }
            Some("escalation") if escalation.is_none() => {
                let target = read_escalation(sub.get("valueReference"), &format!("{here}.valueReference"), names)?;
                if &target == own {
                    return Err(invalid(format!("{here}.valueReference"), "an organisation cannot escalate to itself"));
                }
                escalation = Some(target);
            }
            Some("priority" | "responseTime" | "escalation") => {
                return Err(invalid(here, "priority, responseTime and escalation may appear only once"))
            }
            _ => {
                return Err(invalid(
                    here,
                    "the response time extension takes only priority, responseTime and escalation",
                ))
            }
        }
    }
    let priority = priority.ok_or_else(|| invalid(at.to_owned(), "the response time needs a priority"))?;
    let within = within.ok_or_else(|| invalid(at.to_owned(), "the response time needs a responseTime"))?;
    Ok(ResponseRule { priority, within, escalation })
}

/// UCUM, the units of a `Duration`.
const UCUM: &str = "http://unitsofmeasure.org";

/// A `Duration` of whole seconds, minutes, hours or days (UCUM `s`, `min`, `h`, `d`).
fn read_duration(duration: Option<&Value>, at: &str) -> Result<ResponseTime, DirectoryError> {
    let problem = || {
        invalid(
            at.to_owned(),
            &format!(
                "responseTime is a valueDuration of a whole number of UCUM s, min, h or d (system {UCUM}),                  1 second to {} days",
                ResponseTime::MAX_SECS / 86_400
            ),
        )
    };
    let duration = duration.ok_or_else(problem)?;
    if duration.get("system").and_then(Value::as_str) != Some(UCUM) {
        return Err(problem());
    }
    let unit_secs = match duration.get("code").and_then(Value::as_str) {
        Some("s") => 1,
        Some("min") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        _ => return Err(problem()),
    };
    let value = duration.get("value").and_then(Value::as_u64).ok_or_else(problem)?;
    value.checked_mul(unit_secs).and_then(ResponseTime::from_secs).ok_or_else(problem)
}

/// An escalation Reference: `Organization/{id}`, the `fullUrl` of an Organization of this Bundle, or an
/// identifier of one. Whether an `Organization/{id}` outside the Bundle exists is the import's question.
fn read_escalation(reference: Option<&Value>, at: &str, names: &OrgNames) -> Result<OrgId, DirectoryError> {
    let reference = reference.ok_or_else(|| invalid(at.to_owned(), "escalation is a valueReference"))?;
    if let Some(text) = reference.get("reference").and_then(Value::as_str) {
        if let Some(id) = names.by_url.get(text) {
            return Ok(id.clone());
        }
        return text.strip_prefix("Organization/").and_then(OrgId::parse).ok_or_else(|| {
            invalid(
                format!("{at}.reference"),
                "the escalation is Organization/{id} or the fullUrl of an Organization of this Bundle",
            )
        });
    }
    if let Some(identifier) = reference.get("identifier") {
        let system = identifier.get("system").and_then(Value::as_str).unwrap_or_default();
        let value = identifier.get("value").and_then(Value::as_str).unwrap_or_default();
        let Some(identifier) = OrgIdentifier::new(system, value) else {
            return Err(invalid(format!("{at}.identifier"), "the escalation's identifier needs a system and a value"));
        };
        return names.by_identifier.get(&identifier).cloned().ok_or_else(|| {
            invalid(
                format!("{at}.identifier"),
                &format!(
                    "no Organization of this Bundle has the identifier {identifier}; name an organisation outside \
                     the Bundle as Organization/{{id}}"
                ),
            )
        });
    }
    Err(invalid(at.to_owned(), "the escalation Reference needs a reference or an identifier"))
}

/// Every Coding of the CodeableConcepts in `resource[key]`.
fn codings<'v>(resource: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    let concepts = resource.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    concepts
        .iter()
        .flat_map(|concept| concept.get("coding").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default())
}

/// The care types an Organization provides: every extension [`CARE_TYPE_PROVIDED_URL`], each a
/// `valueCoding` of the care-type code system; sorted, duplicates dropped.
fn care_types_provided(org: &Value, at: &str) -> Result<Vec<CareType>, DirectoryError> {
    let mut care_types = Vec::new();
    let extensions = org.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (xi, ext) in extensions.iter().enumerate() {
        if ext.get("url").and_then(Value::as_str) != Some(CARE_TYPE_PROVIDED_URL) {
            continue;
        }
        let coding = ext.get("valueCoding");
        let care_type = coding
            .filter(|c| c.get("system").and_then(Value::as_str) == Some(CARE_TYPE_SYSTEM))
            .and_then(|c| c.get("code").and_then(Value::as_str))
            .and_then(CareType::parse)
            .ok_or_else(|| {
                invalid(
                    format!("{at}.extension[{xi}].valueCoding"),
                    "a care type provided is a valueCoding of the care-type code system with a code",
                )
            })?;
        care_types.push(care_type);
    }
    care_types.sort();
    care_types.dedup();
    Ok(care_types)
}

/// The client certificates pinned on an Organization: every extension [`CERTIFICATE_SHA256_URL`], each a
/// `valueString` of a SHA-256 fingerprint; sorted and without repeats, the order the store keeps them in.
fn pinned_certificates(org: &Value, at: &str) -> Result<Vec<CertificateSha256>, DirectoryError> {
    let mut certificates = Vec::new();
    let extensions = org.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (xi, ext) in extensions.iter().enumerate() {
        if ext.get("url").and_then(Value::as_str) != Some(CERTIFICATE_SHA256_URL) {
            continue;
        }
        let certificate = ext.get("valueString").and_then(Value::as_str).and_then(CertificateSha256::parse);
        certificates.push(certificate.ok_or_else(|| {
            invalid(
                format!("{at}.extension[{xi}].valueString"),
                "a pinned certificate is the hex SHA-256 fingerprint of its DER encoding (64 hex digits)",
            )
        })?);
    }
    certificates.sort();
    certificates.dedup();
    Ok(certificates)
}

/// The SMART client extension at `at`: exactly one `clientId` and one `jwks`, any number of `role`s,
/// nothing else (a misspelt sub-extension is refused rather than ignored).
fn read_smart_client(ext: &Value, at: &str) -> Result<SmartClient, DirectoryError> {
    let subs = ext.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let (mut client_id, mut jwks, mut roles) = (None, None, Vec::new());
    for (i, sub) in subs.iter().enumerate() {
        let here = format!("{at}.extension[{i}]");
        let string = || sub.get("valueString").and_then(Value::as_str);
        match sub.get("url").and_then(Value::as_str) {
            Some("clientId") if client_id.is_none() => {
                let id = string().and_then(ClientId::parse).ok_or_else(|| {
                    invalid(format!("{here}.valueString"), "clientId must be 1 to 128 visible ASCII characters")
                })?;
                client_id = Some(id);
            }
            Some("jwks") if jwks.is_none() => {
                let text =
                    string().ok_or_else(|| invalid(format!("{here}.valueString"), "jwks needs a valueString"))?;
                jwks = Some(JwkSet::parse(text).map_err(|problem| invalid(format!("{here}.valueString"), &problem))?);
            }
            Some("role") => {
                let role = sub.get("valueCode").and_then(Value::as_str).and_then(ClientRole::parse);
                roles.push(role.ok_or_else(|| invalid(format!("{here}.valueCode"), "role must be sender or auditor"))?);
            }
            Some("clientId" | "jwks") => return Err(invalid(here, "clientId and jwks may appear only once")),
            _ => return Err(invalid(here, "the SMART client extension takes only clientId, jwks and role")),
        }
    }
    let client_id = client_id.ok_or_else(|| invalid(at.to_owned(), "the SMART client extension needs a clientId"))?;
    let jwks = jwks.ok_or_else(|| invalid(at.to_owned(), "the SMART client extension needs a jwks (a JWK Set)"))?;
    Ok(SmartClient::new(client_id, jwks, roles))
}

/// What the directory takes from an `Endpoint`.
struct EndpointFields {
    delivery: DeliveryMode,
    address: String,
    events: Vec<EventCode>,
    ca_pem: Option<String>,
    client_certificate: bool,
    format: Format,
}

/// The one extension of `resource` with this `url` (and its position), if any; two are refused.
fn extension<'a>(resource: &'a Value, url: &str, at: &str) -> Result<Option<(usize, &'a Value)>, DirectoryError> {
    let mut found = resource
        .get("extension")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, ext)| ext.get("url").and_then(Value::as_str) == Some(url));
    let first = found.next();
    if let Some((i, _)) = found.next() {
        return Err(invalid(format!("{at}.extension[{i}]"), &format!("the extension {url} may appear only once")));
    }
    Ok(first)
}

fn read_endpoint(endpoint: &Value, at: &str) -> Result<EndpointFields, DirectoryError> {
    let connection = endpoint.get("connectionType");
    let system = connection.and_then(|c| c.get("system")).and_then(Value::as_str);
    let code = connection.and_then(|c| c.get("code")).and_then(Value::as_str);
    let address = endpoint
        .get("address")
        .and_then(Value::as_str)
        .map(|a| a.trim_end_matches('/').to_owned())
        .ok_or_else(|| invalid(format!("{at}.address"), "an Endpoint needs an address"))?;
    let delivery = match (system, code) {
        (Some(PUSH_SYSTEM), Some(PUSH_CODE)) => {
            check_push_address(&address).map_err(|problem| invalid(format!("{at}.address"), problem))?;
            DeliveryMode::Push
        }
        (Some(MAILBOX_SYSTEM), Some(MAILBOX_CODE)) => DeliveryMode::Mailbox,
        // The broker posts notifications to this address: the same rules as a push address.
        (Some(MAILBOX_SYSTEM), Some(NOTIFIED_PULL_CODE)) => {
            check_push_address(&address).map_err(|problem| invalid(format!("{at}.address"), problem))?;
            DeliveryMode::NotifiedPull
        }
        _ => {
            return Err(invalid(
                format!("{at}.connectionType"),
                "connectionType must be hl7-fhir-msg (push) or the broker's mailbox or notified-pull code",
            ))
        }
    };
    let events = codings(endpoint, "payloadType")
        .filter(|coding| coding.get("system").and_then(Value::as_str) == Some(EVENT_SYSTEM))
        .filter_map(|coding| coding.get("code").and_then(Value::as_str).and_then(EventCode::parse))
        .collect();
    let ca_pem = match extension(endpoint, CA_CERTIFICATE_URL, at)? {
        None => None,
        Some((xi, ext)) => {
            let expression = format!("{at}.extension[{xi}].valueString");
            let pem = ext
                .get("valueString")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(expression.clone(), "the CA certificate extension needs a valueString"))?;
            check_ca_pem(pem).map_err(|problem| invalid(expression, problem))?;
            Some(pem.to_owned())
        }
    };
    let client_certificate = match extension(endpoint, CLIENT_CERTIFICATE_URL, at)? {
        None => false,
        Some((xi, ext)) => ext.get("valueBoolean").and_then(Value::as_bool).ok_or_else(|| {
            invalid(
                format!("{at}.extension[{xi}].valueBoolean"),
                "the client certificate extension needs a valueBoolean",
            )
        })?,
    };
    let format = read_payload_format(endpoint, at)?;
    Ok(EndpointFields { delivery, address, events, ca_pem, client_certificate, format })
}

/// The format of `Endpoint.payloadMimeType`: one FHIR JSON or XML media type (none: JSON). An
/// endpoint that lists both takes the first; one that lists neither is refused, so that a typo does not
/// quietly mean JSON.
fn read_payload_format(endpoint: &Value, at: &str) -> Result<Format, DirectoryError> {
    let Some(types) = endpoint.get("payloadMimeType") else { return Ok(Format::Json) };
    let types = types.as_array().map(Vec::as_slice).unwrap_or_default();
    match types.first() {
        None => Ok(Format::Json),
        Some(first) => first.as_str().and_then(Format::from_media_type).ok_or_else(|| {
            invalid(
                format!("{at}.payloadMimeType[0]"),
                "payloadMimeType must be application/fhir+json or application/fhir+xml",
            )
        }),
    }
}

/// Checks that `pem` holds at least one `CERTIFICATE` block and nothing else (above all no private
/// key): the CA certificate(s) an organisation's push endpoint is trusted by.
pub fn check_ca_pem(pem: &str) -> Result<(), &'static str> {
    let mut certificates = 0;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
        match section {
            // A certificate is a DER SEQUENCE.
            Ok((SectionKind::Certificate, der)) if der.first() == Some(&0x30) => certificates += 1,
            Ok((SectionKind::Certificate, _)) => return Err("a CERTIFICATE block does not hold a DER certificate"),
            Ok(_) => return Err("only CERTIFICATE blocks are allowed (never a private key)"),
            Err(_) => return Err("the value is not valid PEM"),
        }
    }
    if certificates == 0 {
        return Err("the value holds no PEM CERTIFICATE block");
    }
    Ok(())
}

/// The directory as a FHIR `Bundle` (type `collection`) of `Organization` + `Endpoint`, in the order
/// given: what [`organizations_from_bundle`] reads back as the same organisations. Entry `fullUrl`s
/// are name-based `urn:uuid`s of the organisation id, so that exporting twice gives the same Bundle.
/// Serialise it with `serde_json` (members in FHIR's usual order, `resourceType` first).
pub fn bundle_from_organizations(organizations: &[Organization]) -> DirectoryBundle {
    let mut entry = Vec::with_capacity(organizations.len() * 2);
    for org in organizations {
        let org_url = entry_url("Organization", &org.id);
        let endpoint_url = entry_url("Endpoint", &org.id);
        entry.push(Entry {
            full_url: org_url.clone(),
            resource: Resource::Organization(OrganizationOut {
                resource_type: "Organization",
                id: org.id.to_string(),
                extension: std::iter::once(Extension {
                    url: RECEIPT_PREFERENCE_URL,
                    value: ExtensionValue::Code(org.receipts.as_str()),
                })
                .chain(org.certificates.iter().map(|certificate| Extension {
                    url: CERTIFICATE_SHA256_URL,
                    value: ExtensionValue::String(certificate.to_string()),
                }))
                .chain(org.smart.iter().map(smart_client_extension))
                .chain(org.care_types.iter().map(|care_type| Extension {
                    url: CARE_TYPE_PROVIDED_URL,
                    value: ExtensionValue::Coding(Coding { system: CARE_TYPE_SYSTEM, code: care_type.to_string() }),
                }))
                .chain(org.hours.iter().map(opening_hours_extension))
                .chain(org.response_rules.iter().map(response_rule_extension))
                .chain(
                    org.language.map(|lang| Extension {
                        url: PREFERRED_LANGUAGE_URL,
                        value: ExtensionValue::Code(lang.code()),
                    }),
                )
                .collect(),
                identifier: org
                    .identifiers
                    .iter()
                    .map(|i| IdentifierOut { system: i.system().to_owned(), value: i.value().to_owned() })
                    .collect(),
                active: true,
                kind: if org.triage_point {
                    let coding = Coding { system: ORGANIZATION_ROLE_SYSTEM, code: TRIAGE_POINT_CODE.to_owned() };
                    vec![Concept { coding: vec![coding], text: None }]
                } else {
                    Vec::new()
                },
                name: org.name.clone(),
                endpoint: [Reference { reference: endpoint_url.clone() }],
            }),
        });
        let (system, code) = match org.delivery {
            DeliveryMode::Push => (PUSH_SYSTEM, PUSH_CODE),
            DeliveryMode::Mailbox => (MAILBOX_SYSTEM, MAILBOX_CODE),
            DeliveryMode::NotifiedPull => (MAILBOX_SYSTEM, NOTIFIED_PULL_CODE),
        };
        let mut extension =
            vec![Extension { url: CLIENT_CERTIFICATE_URL, value: ExtensionValue::Boolean(org.client_certificate) }];
        if let Some(pem) = &org.ca_pem {
            extension.push(Extension { url: CA_CERTIFICATE_URL, value: ExtensionValue::String(pem.clone()) });
        }
        // R4 requires at least one payloadType; one without a coding of the event system accepts nothing.
        let payload_type = if org.events.is_empty() {
            vec![Concept { coding: Vec::new(), text: Some("no handover kinds") }]
        } else {
            org.events
                .iter()
                .map(|code| Concept {
                    coding: vec![Coding { system: EVENT_SYSTEM, code: code.to_string() }],
                    text: None,
                })
                .collect()
        };
        entry.push(Entry {
            full_url: endpoint_url,
            resource: Resource::Endpoint(EndpointOut {
                resource_type: "Endpoint",
                id: org.id.to_string(),
                extension,
                status: "active",
                connection_type: Coding { system, code: code.to_owned() },
                managing_organization: Reference { reference: org_url },
                payload_type,
                payload_mime_type: [org.format.media_type()],
                address: org.address.clone(),
            }),
        });
    }
    DirectoryBundle { resource_type: "Bundle", kind: "collection", entry }
}

/// The SMART client extension of [`read_smart_client`], roles always written out.
fn smart_client_extension(client: &SmartClient) -> Extension {
    let mut subs = vec![
        Extension { url: "clientId", value: ExtensionValue::String(client.client_id.to_string()) },
        Extension { url: "jwks", value: ExtensionValue::String(client.jwks.as_str().to_owned()) },
    ];
    subs.extend(client.roles.iter().map(|role| Extension { url: "role", value: ExtensionValue::Code(role.as_str()) }));
    Extension { url: SMART_CLIENT_URL, value: ExtensionValue::Extensions(subs) }
}

/// The opening-hours extension of [`read_opening_hours`].
fn opening_hours_extension(hours: &OpeningHours) -> Extension {
    let mut subs = vec![Extension { url: "timeZone", value: ExtensionValue::CodeText(hours.zone().to_string()) }];
    subs.extend(hours.periods().iter().map(|period| {
        let mut parts: Vec<Extension> = period
            .days()
            .codes()
            .map(|day| Extension { url: "daysOfWeek", value: ExtensionValue::Code(day) })
            .collect();
        parts.push(Extension { url: "availableStartTime", value: ExtensionValue::Time(period.opens().to_string()) });
        parts.push(Extension { url: "availableEndTime", value: ExtensionValue::Time(period.closes().to_string()) });
        Extension { url: "availableTime", value: ExtensionValue::Extensions(parts) }
    }));
    Extension { url: OPENING_HOURS_URL, value: ExtensionValue::Extensions(subs) }
}

/// The response-time extension of [`read_response_rule`]: the duration in its largest whole unit, the
/// escalation as `Organization/{id}`.
fn response_rule_extension(rule: &ResponseRule) -> Extension {
    let (value, code) = rule.within.in_largest_unit();
    let mut subs = vec![
        Extension { url: "priority", value: ExtensionValue::Code(rule.priority.as_str()) },
        Extension {
            url: "responseTime",
            value: ExtensionValue::Duration(DurationOut { value, unit: code, system: UCUM, code }),
        },
    ];
    if let Some(target) = &rule.escalation {
        subs.push(Extension {
            url: "escalation",
            value: ExtensionValue::Reference(Reference { reference: format!("Organization/{target}") }),
        });
    }
    Extension { url: RESPONSE_TIME_URL, value: ExtensionValue::Extensions(subs) }
}

/// A directory `Bundle` as written by [`bundle_from_organizations`]: a wire type, only serialised.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryBundle {
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    entry: Vec<Entry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    full_url: String,
    resource: Resource,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Resource {
    Organization(OrganizationOut),
    Endpoint(EndpointOut),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationOut {
    resource_type: &'static str,
    id: String,
    extension: Vec<Extension>,
    identifier: Vec<IdentifierOut>,
    active: bool,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    kind: Vec<Concept>,
    name: String,
    endpoint: [Reference; 1],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointOut {
    resource_type: &'static str,
    id: String,
    extension: Vec<Extension>,
    status: &'static str,
    connection_type: Coding,
    managing_organization: Reference,
    payload_type: Vec<Concept>,
    payload_mime_type: [&'static str; 1],
    address: String,
}

#[derive(Debug, Serialize)]
struct Extension {
    url: &'static str,
    #[serde(flatten)]
    value: ExtensionValue,
}

#[derive(Debug, Serialize)]
enum ExtensionValue {
    #[serde(rename = "valueCode")]
    Code(&'static str),
    #[serde(rename = "valueCode")]
    CodeText(String),
    #[serde(rename = "valueTime")]
    Time(String),
    #[serde(rename = "valueDuration")]
    Duration(DurationOut),
    #[serde(rename = "valueReference")]
    Reference(Reference),
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    #[serde(rename = "valueCoding")]
    Coding(Coding),
    /// A complex extension's sub-extensions.
    #[serde(rename = "extension")]
    Extensions(Vec<Extension>),
}

#[derive(Debug, Serialize)]
struct DurationOut {
    value: u32,
    unit: &'static str,
    system: &'static str,
    code: &'static str,
}

#[derive(Debug, Serialize)]
struct IdentifierOut {
    system: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Reference {
    reference: String,
}

#[derive(Debug, Serialize)]
struct Concept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Coding {
    system: &'static str,
    code: String,
}

/// `urn:uuid:` named by the resource type and organisation id (a version 8 UUID from SHA-256).
fn entry_url(resource_type: &str, id: &OrgId) -> String {
    let digest = Sha256::digest(format!("{resource_type}/{id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("urn:uuid:{}", uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The form of a push address: `https`, plain `http` only to a local host, no credentials. Whether the
/// host may be reached is the import's question ([`crate::address::TargetPolicy`]).
fn check_push_address(address: &str) -> Result<(), &'static str> {
    TargetPolicy::new(true).check_url(address)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{ClientId, ClientRole, JwkSet, SmartClient};

    const URA: &str = "http://fhir.nl/fhir/NamingSystem/ura";

    fn demo_bundle() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo-directory.json")).unwrap()
    }

    /// A directory of one push organisation, with these Organization and Endpoint extensions.
    fn one(org_extensions: Value, endpoint_extensions: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                { "fullUrl": "urn:uuid:o", "resource": {
                    "resourceType": "Organization", "id": "gp-test", "extension": org_extensions,
                    "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/ura", "value": "99999999" }],
                    "name": "GP test", "endpoint": [{ "reference": "urn:uuid:e" }] } },
                { "fullUrl": "urn:uuid:e", "resource": {
                    "resourceType": "Endpoint", "id": "gp-test-endpoint", "extension": endpoint_extensions,
                    "status": "active",
                    "connectionType": { "system": PUSH_SYSTEM, "code": PUSH_CODE },
                    "payloadType": [{ "coding": [{ "system": EVENT_SYSTEM, "code": "referral" }] }],
                    "address": "https://gp.example/fhir" } }
            ]
        }))
        .unwrap()
    }

    fn ca_pem() -> String {
        rcgen::generate_simple_self_signed(vec!["ca.example".to_owned()]).unwrap().cert.pem()
    }

    fn problem(result: Result<Vec<Organization>, DirectoryError>) -> String {
        match result {
            Err(DirectoryError::Invalid { expression, problem }) => format!("{expression}: {problem}"),
            other => panic!("expected an invalid directory, got {other:?}"),
        }
    }

    #[test]
    fn extensions_default_to_all_receipts_no_client_certificate_and_no_ca() {
        let [org] = organizations_from_bundle(&one(json!([]), json!([]))).unwrap().try_into().unwrap();
        assert_eq!(org.certificates, []);
        assert_eq!(org.receipts, ReceiptPreference::All);
        assert!(!org.client_certificate);
        assert_eq!(org.ca_pem, None);
    }

    #[test]
    fn triage_points_and_care_types_are_read_checked_and_written_back() {
        let demo = organizations_from_bundle(&demo_bundle()).unwrap();
        let by_id = |id: &str| demo.iter().find(|o| o.id.as_str() == id).unwrap();
        assert!(by_id("zorgpunt-zuid-limburg").triage_point && by_id("triage-westkust").triage_point);
        assert!(!by_id("vpl-hoogveld").triage_point);
        let care: Vec<&str> = by_id("wzc-de-duinen").care_types.iter().map(CareType::as_str).collect();
        assert_eq!(care, ["residential-care", "respite", "short-stay"]);

        let coding = |system: &str, code: &str| json!([{ "url": CARE_TYPE_PROVIDED_URL, "valueCoding": { "system": system, "code": code } }]);
        for (bad, why) in [
            (coding("urn:other", "respite"), "another code system"),
            (coding(CARE_TYPE_SYSTEM, "Respite Care"), "not a code"),
            (json!([{ "url": CARE_TYPE_PROVIDED_URL, "valueCode": "respite" }]), "not a valueCoding"),
        ] {
            let said = problem(organizations_from_bundle(&one(bad, json!([]))));
            assert!(
                said.starts_with("Bundle.entry[0].resource.extension[0].valueCoding: a care type"),
                "{why}: {said}"
            );
        }
    }

    const DEMO_ZONE: &str = "Europe/Amsterdam";

    fn available(days: &[&str], opens: &str, closes: &str) -> Value {
        let mut subs: Vec<Value> = days.iter().map(|d| json!({ "url": "daysOfWeek", "valueCode": d })).collect();
        subs.push(json!({ "url": "availableStartTime", "valueTime": opens }));
        subs.push(json!({ "url": "availableEndTime", "valueTime": closes }));
        json!({ "url": "availableTime", "extension": subs })
    }

    fn opening_hours(zone: &str, periods: Vec<Value>) -> Value {
        let mut subs = vec![json!({ "url": "timeZone", "valueCode": zone })];
        subs.extend(periods);
        json!({ "url": OPENING_HOURS_URL, "extension": subs })
    }

    fn duration(value: Value, code: &str) -> Value {
        json!({ "value": value, "unit": code, "system": UCUM, "code": code })
    }

    fn response_time(priority: &str, within: Value, escalation: Option<Value>) -> Value {
        let mut subs = vec![
            json!({ "url": "priority", "valueCode": priority }),
            json!({ "url": "responseTime", "valueDuration": within }),
        ];
        subs.extend(escalation.map(|reference| json!({ "url": "escalation", "valueReference": reference })));
        json!({ "url": RESPONSE_TIME_URL, "extension": subs })
    }

    #[test]
    fn the_demo_triage_points_state_their_hours_and_response_times() {
        let demo = organizations_from_bundle(&demo_bundle()).unwrap();
        let by_id = |id: &str| demo.iter().find(|o| o.id.as_str() == id).unwrap();
        let zorgpunt = by_id("zorgpunt-zuid-limburg");
        let hours = zorgpunt.hours.as_ref().unwrap();
        assert_eq!(hours.zone().as_str(), DEMO_ZONE);
        let [working_days] = hours.periods() else { panic!("{hours:?}") };
        assert_eq!(working_days.days().codes().collect::<Vec<_>>(), ["mon", "tue", "wed", "thu", "fri"]);
        assert_eq!(
            (working_days.opens().to_string(), working_days.closes().to_string()),
            ("08:30:00".to_owned(), "17:00:00".to_owned())
        );
        let rules: Vec<(Priority, u32, Option<&str>)> = zorgpunt
            .response_rules
            .iter()
            .map(|r| (r.priority, r.within.secs(), r.escalation.as_ref().map(OrgId::as_str)))
            .collect();
        // The escalation is given by URA in the file, and resolved to the organisation that has it.
        assert_eq!(rules, [(Priority::Urgent, 7200, Some("vpl-hoogveld")), (Priority::Asap, 1800, None)]);
        let westkust = by_id("triage-westkust").hours.as_ref().unwrap();
        assert_eq!((westkust.zone().as_str(), westkust.periods().len()), ("Europe/Brussels", 2));
        assert_eq!(by_id("gp-heerlen").hours, None);
        assert!(by_id("gp-heerlen").response_rules.is_empty());
    }

    #[test]
    fn hours_and_response_times_export_as_the_extensions_they_were_read_from() {
        let ext = json!([
            opening_hours("Europe/Brussels", vec![available(&["sat", "mon"], "09:00:00", "12:30:00")]),
            response_time("stat", duration(json!(90), "s"), Some(json!({ "reference": "Organization/other" }))),
            response_time("urgent", duration(json!(2), "h"), None),
        ]);
        let [org] = organizations_from_bundle(&one(ext, json!([]))).unwrap().try_into().unwrap();
        let bundle = serde_json::to_value(bundle_from_organizations(std::slice::from_ref(&org))).unwrap();
        let written = &bundle["entry"][0]["resource"]["extension"];
        assert_eq!(
            written[1],
            opening_hours("Europe/Brussels", vec![available(&["mon", "sat"], "09:00:00", "12:30:00")])
        );
        // Sorted by priority; durations in their largest whole unit.
        assert_eq!(written[2], response_time("urgent", duration(json!(2), "h"), None));
        let escalation = json!({ "reference": "Organization/other" });
        assert_eq!(written[3], response_time("stat", duration(json!(90), "s"), Some(escalation)));
        let again = organizations_from_bundle(&serde_json::to_vec(&bundle).unwrap()).unwrap();
        assert_eq!(again, [org]);
    }

    #[test]
    fn hostile_or_wrong_hours_are_refused_with_their_expression() {
        let week = |opens: &str, closes: &str| available(&["mon"], opens, closes);
        let too_many: Vec<Value> = (0..=OpeningHours::MAX_PERIODS).map(|_| week("08:00:00", "09:00:00")).collect();
        let cases = [
            (opening_hours("Europe/Atlantis", vec![week("08:00:00", "09:00:00")]), "extension[0].valueCode: timeZone"),
            (opening_hours(DEMO_ZONE, vec![week("8:00", "09:00:00")]), "extension[1].extension[1].valueTime: a time"),
            (opening_hours(DEMO_ZONE, vec![week("08:00:00", "24:00:00")]), "extension[1].extension[2].valueTime"),
            (
                opening_hours(DEMO_ZONE, vec![week("17:00:00", "08:30:00")]),
                "extension[1]: availableEndTime 08:30:00 is not after",
            ),
            (
                opening_hours(DEMO_ZONE, vec![available(&["monday"], "08:00:00", "09:00:00")]),
                "daysOfWeek is a valueCode",
            ),
            (
                opening_hours(DEMO_ZONE, vec![available(&[], "08:00:00", "09:00:00")]),
                "extension[1]: availableTime needs daysOfWeek",
            ),
            (opening_hours(DEMO_ZONE, too_many), "extension[22]: at most 21 availableTime"),
            (opening_hours(DEMO_ZONE, vec![]), "the opening hours need at least one availableTime"),
            (json!({ "url": OPENING_HOURS_URL, "extension": [week("08:00:00", "09:00:00")] }), "need a timeZone"),
            (
                json!({ "url": OPENING_HOURS_URL, "extension": [{ "url": "holidays", "valueCode": "nl" }] }),
                "takes only",
            ),
        ];
        for (ext, expected) in cases {
            let text = problem(organizations_from_bundle(&one(json!([ext]), json!([]))));
            assert!(
                text.starts_with("Bundle.entry[0].resource.extension[0]") && text.contains(expected),
                "{expected}: {text}"
            );
        }
    }

    #[test]
    fn hostile_or_wrong_response_times_are_refused_with_their_expression() {
        let hour = || duration(json!(1), "h");
        let five: Vec<Value> =
            ["routine", "urgent", "asap", "stat", "routine"].iter().map(|p| response_time(p, hour(), None)).collect();
        let cases = [
            (json!([response_time("urgent", hour(), None), response_time("urgent", hour(), None)]), "extension[1]: a second response time for priority urgent"),
            (json!(five), "extension[4]: at most one response time per priority"),
            (json!([response_time("emergency", hour(), None)]), "extension[0].extension[0].valueCode: priority is"),
            (json!([response_time("urgent", duration(json!(2), "wk"), None)]), "extension[0].extension[1].valueDuration: responseTime"),
            (json!([response_time("urgent", duration(json!(1.5), "h"), None)]), "valueDuration: responseTime"),
            (json!([response_time("urgent", duration(json!(0), "s"), None)]), "valueDuration: responseTime"),
            (json!([response_time("urgent", duration(json!(31), "d"), None)]), "valueDuration: responseTime"),
            (json!([response_time("urgent", duration(json!(u64::MAX), "d"), None)]), "valueDuration: responseTime"),
            (json!([response_time("urgent", json!({ "value": 2, "code": "h" }), None)]), "valueDuration: responseTime"),
            (
                json!([response_time("urgent", hour(), Some(json!({ "identifier": { "system": URA, "value": "1" } })))]),
                "extension[0].extension[2].valueReference.identifier: no Organization of this Bundle has the identifier",
            ),
            (
                json!([response_time("urgent", hour(), Some(json!({ "reference": "Practitioner/p" })))]),
                "extension[0].extension[2].valueReference.reference: the escalation is Organization/{id}",
            ),
            (
                json!([response_time("urgent", hour(), Some(json!({ "reference": "Organization/gp-test" })))]),
                "cannot escalate to itself",
            ),
            (json!([{ "url": RESPONSE_TIME_URL, "extension": [{ "url": "priority", "valueCode": "urgent" }] }]), "extension[0]: the response time needs a responseTime"),
            (json!([{ "url": RESPONSE_TIME_URL, "extension": [{ "url": "within", "valueCode": "x" }] }]), "takes only"),
        ];
        for (ext, expected) in cases {
            let text = problem(organizations_from_bundle(&one(ext.clone(), json!([]))));
            assert!(
                text.starts_with("Bundle.entry[0].resource.extension[") && text.contains(expected),
                "{ext}\n{expected}\n{text}"
            );
        }
    }

    #[test]
    fn an_escalation_names_an_organisation_of_the_bundle_by_identifier_or_full_url() {
        let mut bundle: Value = serde_json::from_slice(&demo_bundle()).unwrap();
        let entries = bundle["entry"].as_array_mut().unwrap();
        let hoogveld = entries.iter().position(|e| e["resource"]["id"] == "vpl-hoogveld").unwrap();
        let hoogveld_url = entries[hoogveld]["fullUrl"].clone();
        let zorgpunt = entries.iter().position(|e| e["resource"]["id"] == "zorgpunt-zuid-limburg").unwrap();
        entries[zorgpunt]["resource"]["extension"] =
            json!([response_time("urgent", duration(json!(2), "h"), Some(json!({ "reference": hoogveld_url })))]);
        let organizations = organizations_from_bundle(&serde_json::to_vec(&bundle).unwrap()).unwrap();
        let zorgpunt = organizations.iter().find(|o| o.id.as_str() == "zorgpunt-zuid-limburg").unwrap();
        assert_eq!(zorgpunt.response_rules[0].escalation.as_ref().map(OrgId::as_str), Some("vpl-hoogveld"));
    }

    #[test]
    fn extensions_are_read() {
        let pem = ca_pem();
        let bytes = one(
            json!([{ "url": RECEIPT_PREFERENCE_URL, "valueCode": "business-only" }]),
            json!([
                { "url": CA_CERTIFICATE_URL, "valueString": pem },
                { "url": CLIENT_CERTIFICATE_URL, "valueBoolean": true }
            ]),
        );
        let [org] = organizations_from_bundle(&bytes).unwrap().try_into().unwrap();
        assert_eq!(org.receipts, ReceiptPreference::BusinessOnly);
        assert!(org.client_certificate);
        assert_eq!(org.ca_pem, Some(pem));
    }

    #[test]
    fn pinned_certificates_are_read_in_any_spelling_and_kept_sorted_in_lower_case() {
        let (a, b) = ("aa".repeat(32), "0b".repeat(32));
        let bytes = one(
            json!([
                { "url": CERTIFICATE_SHA256_URL, "valueString": a.to_uppercase() },
                { "url": RECEIPT_PREFERENCE_URL, "valueCode": "all" },
                { "url": CERTIFICATE_SHA256_URL, "valueString": vec!["0B"; 32].join(":") },
                { "url": CERTIFICATE_SHA256_URL, "valueString": a }
            ]),
            json!([]),
        );
        let [org] = organizations_from_bundle(&bytes).unwrap().try_into().unwrap();
        let certificates: Vec<&str> = org.certificates.iter().map(CertificateSha256::as_str).collect();
        assert_eq!(certificates, [b.as_str(), a.as_str()]);
    }

    #[test]
    fn a_pinned_certificate_that_is_not_a_sha256_fingerprint_is_refused() {
        for ext in [json!({ "valueString": "ab" }), json!({ "valueCode": "ab".repeat(32) }), json!({})] {
            let mut ext = ext;
            ext["url"] = json!(CERTIFICATE_SHA256_URL);
            let other = json!({ "url": RECEIPT_PREFERENCE_URL, "valueCode": "all" });
            let text = problem(organizations_from_bundle(&one(json!([other, ext]), json!([]))));
            assert!(text.starts_with("Bundle.entry[0].resource.extension[1].valueString"), "{text}");
        }
    }

    #[test]
    fn a_receipt_preference_outside_the_codes_is_refused() {
        for ext in [json!({ "valueCode": "some" }), json!({ "valueString": "all" }), json!({ "valueCode": "ALL" })] {
            let mut ext = ext;
            ext["url"] = json!(RECEIPT_PREFERENCE_URL);
            let text = problem(organizations_from_bundle(&one(json!([ext]), json!([]))));
            assert!(text.contains("Bundle.entry[0].resource.extension[0].valueCode"), "{text}");
        }
    }

    #[test]
    fn a_ca_certificate_that_is_not_a_pem_certificate_is_refused() {
        let certified = rcgen::generate_simple_self_signed(vec!["ca.example".to_owned()]).unwrap();
        let not_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_owned();
        let unterminated = "-----BEGIN CERTIFICATE-----\nMIIB\n".to_owned();
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n".to_owned();
        for value in [
            "not a certificate".to_owned(),
            String::new(),
            not_base64,
            unterminated,
            not_der,
            certified.key_pair.serialize_pem(),
            format!("{}{}", certified.cert.pem(), certified.key_pair.serialize_pem()),
        ] {
            assert!(check_ca_pem(&value).is_err(), "accepted {value:?}");
            let bytes = one(json!([]), json!([{ "url": CA_CERTIFICATE_URL, "valueString": value }]));
            let text = problem(organizations_from_bundle(&bytes));
            assert!(text.starts_with("Bundle.entry[1].resource.extension[0].valueString"), "{text}");
        }
        let bytes = one(json!([]), json!([{ "url": CA_CERTIFICATE_URL, "valueBoolean": true }]));
        assert!(problem(organizations_from_bundle(&bytes)).contains("valueString"));
    }

    #[test]
    fn a_ca_bundle_of_several_certificates_is_accepted() {
        assert!(check_ca_pem(&format!("{}\n{}", ca_pem(), ca_pem())).is_ok());
    }

    #[test]
    fn client_certificate_must_be_a_boolean_and_extensions_appear_once() {
        let bytes = one(json!([]), json!([{ "url": CLIENT_CERTIFICATE_URL, "valueString": "true" }]));
        assert!(problem(organizations_from_bundle(&bytes)).contains("valueBoolean"));
        let twice = json!([
            { "url": RECEIPT_PREFERENCE_URL, "valueCode": "all" },
            { "url": RECEIPT_PREFERENCE_URL, "valueCode": "none" }
        ]);
        assert!(problem(organizations_from_bundle(&one(twice, json!([])))).contains("extension[1]"));
    }

    /// A JWK Set of one fresh P-384 public key.
    fn jwks() -> String {
        use base64::Engine;
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let raw = pair.public_key_raw();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        json!({ "keys": [{ "kty": "EC", "crv": "P-384", "kid": "k1", "x": b64(&raw[1..49]), "y": b64(&raw[49..]) }] })
            .to_string()
    }

    fn smart_extension(subs: Value) -> Value {
        json!([{ "url": SMART_CLIENT_URL, "extension": subs }])
    }

    #[test]
    fn a_smart_client_is_read_with_sender_as_its_default_role() {
        let text = jwks();
        let subs = json!([{ "url": "clientId", "valueString": "gp-ehr" }, { "url": "jwks", "valueString": text }]);
        let [org] = organizations_from_bundle(&one(smart_extension(subs), json!([]))).unwrap().try_into().unwrap();
        let client = org.smart.unwrap();
        assert_eq!((client.client_id.as_str(), client.jwks.as_str()), ("gp-ehr", text.as_str()));
        assert_eq!(client.roles, [ClientRole::Sender]);
        let [org] = organizations_from_bundle(&one(json!([]), json!([]))).unwrap().try_into().unwrap();
        assert_eq!(org.smart, None);
    }

    #[test]
    fn a_smart_client_extension_is_checked() {
        let text = jwks();
        let id = json!({ "url": "clientId", "valueString": "gp-ehr" });
        let keys = json!({ "url": "jwks", "valueString": text });
        let private = json!({ "url": "jwks", "valueString": r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"# });
        let cases = [
            (json!([keys]), "needs a clientId"),
            (json!([id]), "needs a jwks"),
            (json!([id, keys, id]), "only once"),
            (json!([{ "url": "clientId", "valueString": "with space" }, keys]), "clientId must be"),
            (json!([id, private]), "extension[0].extension[1].valueString: keys[0]: holds private"),
            (json!([id, { "url": "jwks", "valueUri": "https://keys.example/jwks.json" }]), "jwks needs a valueString"),
            (json!([id, keys, { "url": "role", "valueCode": "admin" }]), "role must be sender or auditor"),
            (json!([id, keys, { "url": "jwksUri", "valueUri": "https://keys.example" }]), "takes only"),
        ];
        for (subs, expected) in cases {
            let text = problem(organizations_from_bundle(&one(smart_extension(subs.clone()), json!([]))));
            assert!(
                text.contains(expected) && text.starts_with("Bundle.entry[0].resource.extension[0]"),
                "{subs}: {text}"
            );
        }
    }

    #[test]
    fn a_smart_client_exports_and_imports_as_itself() {
        let mut organizations = organizations_from_bundle(&demo_bundle()).unwrap();
        let jwks = JwkSet::parse(&jwks()).unwrap();
        let id = ClientId::parse("zzl-ehr").unwrap();
        organizations[0].smart = Some(SmartClient::new(id, jwks, vec![ClientRole::Auditor, ClientRole::Sender]));
        let bytes = serde_json::to_vec(&bundle_from_organizations(&organizations)).unwrap();
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        let extension = &bundle["entry"][0]["resource"]["extension"][1];
        assert_eq!(extension["url"], SMART_CLIENT_URL);
        let urls: Vec<&str> =
            extension["extension"].as_array().unwrap().iter().map(|e| e["url"].as_str().unwrap()).collect();
        assert_eq!(urls, ["clientId", "jwks", "role", "role"]);
        assert_eq!(organizations_from_bundle(&bytes).unwrap(), organizations);
    }

    #[test]
    fn export_then_import_gives_the_same_organisations() {
        let mut organizations = organizations_from_bundle(&demo_bundle()).unwrap();
        assert_eq!(organizations.len(), 12);
        organizations[0].ca_pem = Some(ca_pem());
        organizations[0].client_certificate = true;
        organizations[1].receipts = ReceiptPreference::None;
        organizations[2].receipts = ReceiptPreference::BusinessOnly;
        organizations[3].events.clear();
        organizations[4].certificates = vec![CertificateSha256::of_der(b"one"), CertificateSha256::of_der(b"two")];
        organizations[4].certificates.sort();
        organizations[5].language = Some(crate::i18n::Language::Fr);
        organizations[6].language = Some(crate::i18n::Language::Nl);
        let bytes = serde_json::to_vec(&bundle_from_organizations(&organizations)).unwrap();
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(bundle["type"], "collection");
        assert!(bytes.starts_with(br#"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"#));
        let again = organizations_from_bundle(&bytes).unwrap();
        assert_eq!(again, organizations);
        // Deterministic: the same directory exports to the same Bundle.
        assert_eq!(serde_json::to_vec(&bundle_from_organizations(&again)).unwrap(), bytes);
    }

    #[test]
    fn an_exported_endpoint_always_has_a_payload_type() {
        let mut organizations = organizations_from_bundle(&demo_bundle()).unwrap();
        organizations.truncate(1);
        organizations[0].events.clear();
        let bundle = serde_json::to_value(bundle_from_organizations(&organizations)).unwrap();
        assert_eq!(bundle["entry"][1]["resource"]["payloadType"], json!([{ "text": "no handover kinds" }]));
    }

    #[test]
    fn a_notified_pull_endpoint_reads_and_exports_as_itself_with_a_checked_address() {
        let mut organizations = organizations_from_bundle(&demo_bundle()).unwrap();
        organizations[3].delivery = DeliveryMode::NotifiedPull;
        organizations[3].address = "https://home-care.example/fhir".into();
        let bytes = serde_json::to_vec(&bundle_from_organizations(&organizations)).unwrap();
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        let endpoint = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["address"] == "https://home-care.example/fhir")
            .unwrap();
        assert_eq!(
            endpoint["resource"]["connectionType"],
            json!({ "system": MAILBOX_SYSTEM, "code": "notified-pull" })
        );
        assert_eq!(organizations_from_bundle(&bytes).unwrap(), organizations);
        // The broker posts notifications there: a plain-HTTP address off loopback is refused.
        let refused =
            String::from_utf8(bytes).unwrap().replace("https://home-care.example", "http://home-care.example");
        assert!(organizations_from_bundle(refused.as_bytes()).is_err());
    }

    #[test]
    fn push_addresses_need_https_off_loopback() {
        assert!(check_push_address("https://gp.example/fhir").is_ok());
        assert!(check_push_address("http://127.0.0.1:9000/fhir").is_ok());
        assert!(check_push_address("http://localhost:9000/fhir").is_ok());
        assert!(check_push_address("http://[::1]:9000/fhir").is_ok());
        assert!(check_push_address("http://gp.example/fhir").is_err());
        assert!(check_push_address("https://user:pw@gp.example/fhir").is_err());
        assert!(check_push_address("ftp://gp.example/fhir").is_err());
        assert!(check_push_address("not a url").is_err());
    }
}
