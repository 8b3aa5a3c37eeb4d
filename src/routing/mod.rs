//! Routing: from the MessageHeader to the organisations that must receive the message.
//!
//! Architecture invariant: routing reads only the MessageHeader (sender, destinations, event), never
//! the clinical content, and resolves every receiver through the directory. An address in the message
//! is checked against the registered one and otherwise ignored: the broker never delivers to an address
//! taken from message content.

use crate::auth::Principal;
use crate::directory::Snapshot;
use crate::message::{PartyRef, Submission};
use crate::model::{OrgId, OrgIdentifier, Organization};
use crate::outcome::{Issue, IssueCode, Text};

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The message claims a sender other than the caller (HTTP 403).
    #[error("the message's sender is not the authenticated organisation")]
    Forbidden(Vec<Issue>),
    /// Receivers unknown, not accepting this kind, or misaddressed (HTTP 422).
    #[error("the message cannot be routed")]
    Unroutable(Vec<Issue>),
}

/// One receiver of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub receiver: OrgId,
    /// The identifier the sender used for it.
    pub identifier: OrgIdentifier,
    /// The format it takes handovers in (the directory's `Endpoint.payloadMimeType`).
    pub format: crate::model::Format,
}

/// Where a message goes, and which of the sender's identifiers it used.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    pub sender_identifier: OrgIdentifier,
    pub routes: Vec<Route>,
}

/// Whom a party of the message names in the directory.
enum Named<'a> {
    /// One organisation: every identifier the directory knows is its (the first is the one used).
    One(&'a Organization, OrgIdentifier),
    /// No identifier the directory knows.
    Unknown,
    /// Identifiers of two or more organisations (e.g. the Reference's identifier one organisation and
    /// the referenced Organization resource another): never taken for either.
    Several(Vec<&'a Organization>),
}

/// The organisation `party` names. Identifiers the directory does not know (a registry the directory
/// does not record) do not count either way; every known one must be the same organisation's.
fn resolve_party<'a>(directory: &'a Snapshot, party: &PartyRef) -> Named<'a> {
    let mut first: Option<(&Organization, &OrgIdentifier)> = None;
    let mut others: Vec<&Organization> = Vec::new();
    for identifier in &party.identifiers {
        let Some(org) = directory.by_identifier(identifier) else { continue };
        match first {
            None => first = Some((org, identifier)),
            Some((one, _)) if one.id == org.id => {}
            Some(_) if others.iter().any(|o| o.id == org.id) => {}
            Some(_) => others.push(org),
        }
    }
    match first {
        None => Named::Unknown,
        Some((org, identifier)) if others.is_empty() => Named::One(org, identifier.clone()),
        Some((org, _)) => Named::Several(std::iter::once(org).chain(others).collect()),
    }
}

fn ids(orgs: &[&Organization]) -> String {
    orgs.iter().map(|o| o.id.as_str()).collect::<Vec<_>>().join(", ")
}

/// `text` naming `party` by its identifiers (`party`), or, when it has none (`identifiers` 0), as a
/// reference without an organisation identifier.
fn naming(text: &'static str, party: &PartyRef) -> Text {
    let shown: Vec<String> = party.identifiers.iter().map(ToString::to_string).collect();
    Text::new(text).arg("party", shown.join(", ")).num("identifiers", shown.len())
}

const HEADER: &str = "Bundle.entry[0].resource";

/// The identifier under which the caller sends: `MessageHeader.sender` must be the caller's own
/// organisation (403 otherwise).
pub fn sender(
    directory: &Snapshot,
    caller: &Principal,
    submission: &Submission,
) -> Result<OrgIdentifier, RoutingError> {
    Ok(match submission.sender() {
        None => {
            return Err(RoutingError::Unroutable(vec![Issue::says(
                IssueCode::Required,
                Text::new("routing-no-sender"),
            )
            .at(format!("{HEADER}.sender"))]))
        }
        Some(party) => match resolve_party(directory, party) {
            Named::One(org, identifier) if org.id == caller.org => identifier,
            Named::Several(orgs) => {
                return Err(RoutingError::Forbidden(vec![Issue::says(
                    IssueCode::Forbidden,
                    naming("routing-sender-several", party).arg("organisations", ids(&orgs)).arg("caller", &caller.org),
                )
                .at(&party.expression)]))
            }
            Named::One(org, _) => {
                return Err(RoutingError::Forbidden(vec![Issue::says(
                    IssueCode::Forbidden,
                    naming("routing-sender-other", party).arg("organisation", &org.id).arg("caller", &caller.org),
                )
                .at(&party.expression)]))
            }
            Named::Unknown => {
                return Err(RoutingError::Forbidden(vec![Issue::says(
                    IssueCode::Forbidden,
                    naming("routing-sender-unknown", party),
                )
                .at(&party.expression)]))
            }
        },
    })
}

/// The organisations the destinations name that the directory knows as exactly one organisation: for
/// a business response, the original sender it answers.
pub fn named_receivers(directory: &Snapshot, submission: &Submission) -> Vec<OrgId> {
    let mut named: Vec<OrgId> = Vec::new();
    for receiver in submission.destinations().iter().filter_map(|d| d.receiver.as_ref()) {
        if let Named::One(org, _) = resolve_party(directory, receiver) {
            if !named.contains(&org.id) {
                named.push(org.id.clone());
            }
        }
    }
    named
}

/// Checks the sender against the caller and resolves every destination. Collects all issues.
pub fn plan(directory: &Snapshot, caller: &Principal, submission: &Submission) -> Result<RoutePlan, RoutingError> {
    let sender = sender(directory, caller, submission)?;
    let mut issues = Vec::new();
    let mut routes: Vec<Route> = Vec::new();
    if submission.destinations().is_empty() {
        issues.push(
            Issue::says(IssueCode::Required, Text::new("routing-no-destination")).at(format!("{HEADER}.destination")),
        );
    }
    let event = &submission.event().code;
    for destination in submission.destinations() {
        let Some(receiver) = &destination.receiver else {
            issues.push(
                Issue::says(IssueCode::Required, Text::new("routing-no-receiver"))
                    .at(format!("{}.receiver", destination.expression)),
            );
            continue;
        };
        let (org, identifier) = match resolve_party(directory, receiver) {
            Named::One(org, identifier) => (org, identifier),
            Named::Unknown => {
                issues.push(
                    Issue::says(IssueCode::NotFound, naming("routing-unknown-receiver", receiver))
                        .at(&receiver.expression),
                );
                continue;
            }
            Named::Several(orgs) => {
                issues.push(
                    Issue::says(
                        IssueCode::BusinessRule,
                        naming("routing-receiver-several", receiver).arg("organisations", ids(&orgs)),
                    )
                    .at(&receiver.expression),
                );
                continue;
            }
        };
        if !org.events.iter().any(|e| e == event) {
            issues.push(
                Issue::says(
                    IssueCode::BusinessRule,
                    Text::new("routing-event-not-accepted").arg("receiver", &identifier).arg("event", event),
                )
                .at(&receiver.expression),
            );
            continue;
        }
        if let Some(endpoint) = &destination.endpoint {
            if org.address != endpoint.trim_end_matches('/') {
                issues.push(
                    Issue::says(
                        IssueCode::Value,
                        Text::new("routing-endpoint-not-registered").arg("receiver", &identifier),
                    )
                    .at(format!("{}.endpoint", destination.expression)),
                );
                continue;
            }
        }
        // One delivery per receiving organisation, however often it is named.
        if !routes.iter().any(|r| r.receiver == org.id) {
            routes.push(Route { receiver: org.id.clone(), identifier, format: org.format });
        }
    }
    if issues.is_empty() {
        Ok(RoutePlan { sender_identifier: sender, routes })
    } else {
        Err(RoutingError::Unroutable(issues))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    fn party(identifiers: Vec<OrgIdentifier>) -> PartyRef {
        PartyRef { identifiers, expression: "Bundle.entry[0].resource.sender".into() }
    }

    #[test]
    fn a_party_is_named_by_its_identifiers_or_as_a_reference_without_one() {
        let ura = |value| OrgIdentifier::new("http://fhir.nl/fhir/NamingSystem/ura", value).unwrap();
        let two = naming("routing-unknown-receiver", &party(vec![ura("00000123"), ura("00000124")]));
        assert_eq!(
            two.render(Language::En),
            "receiver http://fhir.nl/fhir/NamingSystem/ura|00000123, http://fhir.nl/fhir/NamingSystem/ura|00000124 \
             is not in the directory"
        );
        let none = naming("routing-sender-unknown", &party(Vec::new()));
        assert_eq!(
            none.render(Language::En),
            "the sender a reference without an organisation identifier is not in the directory; a token may only \
             send as its own organisation"
        );
        assert_eq!(
            none.render(Language::Nl),
            "de verzender een verwijzing zonder identificatie van een organisatie staat niet in het adresboek; met \
             een token kan alleen namens de eigen organisatie verzonden worden"
        );
        let one = naming("routing-unknown-receiver", &party(vec![ura("00000123")]));
        assert_eq!(
            one.render(Language::Fr),
            "le destinataire http://fhir.nl/fhir/NamingSystem/ura|00000123 ne figure pas dans l'annuaire"
        );
    }
}
