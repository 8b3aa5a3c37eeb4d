//! Reading the directory from FHIR `Organization` + `Endpoint` resources.

use std::collections::HashMap;

use serde_json::Value;

use super::{DeliveryMode, DirectoryError, OrgId, OrgIdentifier, Organization};
use super::{MAILBOX_CODE, MAILBOX_SYSTEM, PUSH_CODE, PUSH_SYSTEM};
use crate::profiles::EVENT_SYSTEM;

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
        let (delivery, address, events) = read_endpoint(endpoint, &format!("Bundle.entry[{ei}].resource"))?;
        organizations.push(Organization { id, name, identifiers, events, delivery, address });
    }
    Ok(organizations)
}

fn read_endpoint(endpoint: &Value, at: &str) -> Result<(DeliveryMode, String, Vec<String>), DirectoryError> {
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
        _ => {
            return Err(invalid(
                format!("{at}.connectionType"),
                "connectionType must be hl7-fhir-msg (push) or the broker's mailbox code",
            ))
        }
    };
    let events = endpoint
        .get("payloadType")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .flat_map(|concept| concept.get("coding").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default())
        .filter(|coding| coding.get("system").and_then(Value::as_str) == Some(EVENT_SYSTEM))
        .filter_map(|coding| coding.get("code").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok((delivery, address, events))
}

/// Push endpoints must be `https`, except on loopback (tests, local demo receivers).
fn check_push_address(address: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(address).map_err(|_| "the address is not a valid URL")?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err("a push address must use https (plain http only on loopback)")
            }
        }
        _ => Err("a push address must be an https URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_push_address;

    #[test]
    fn push_addresses_need_https_off_loopback() {
        assert!(check_push_address("https://gp.example/fhir").is_ok());
        assert!(check_push_address("http://127.0.0.1:9000/fhir").is_ok());
        assert!(check_push_address("http://localhost:9000/fhir").is_ok());
        assert!(check_push_address("http://[::1]:9000/fhir").is_ok());
        assert!(check_push_address("http://gp.example/fhir").is_err());
        assert!(check_push_address("http://10.0.0.5/fhir").is_err());
        assert!(check_push_address("ftp://gp.example/fhir").is_err());
        assert!(check_push_address("not a url").is_err());
    }
}
