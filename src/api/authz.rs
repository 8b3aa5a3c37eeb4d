//! The authorization table: for every route, who may call it and whose data it reaches. Every handler
//! asks [`super::AppState::authorize`], which finds the request's route here; a route missing from the
//! table is refused (and fails the tests), so no route is reachable by accident.
//!
//! Ownership is enforced by the flow the handler calls, never by the caller's word: a sender reads only
//! receipts of its own messages, an organisation only its own mailbox items (404 for anyone else, so ids
//! leak nothing), a business response answers only deliveries addressed to its author, and an auditor
//! sees the entries of its own organisation unless its token is regional. `tests/api/matrix.rs` walks
//! the whole table with every kind of caller.

use crate::auth::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, without credentials (discovery and health).
    Anyone,
    /// A caller holding this role.
    Role(Role),
    /// A caller holding any of these roles.
    AnyRole(&'static [Role]),
}

/// Whose data a route reaches, beyond the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Nobody's in particular (the broker's own, or the whole directory for its administrator).
    Nobody,
    /// Messages the caller sends as its own organisation (sender = caller, every name of it), and
    /// business responses to deliveries addressed to the caller.
    Sender,
    /// Receipts of messages the caller sent.
    MessagesSent,
    /// Mailbox items addressed to the caller.
    Addressee,
    /// Ledger entries where the auditor's organisation is sender or receiver; all for a regional one. For
    /// a patient portal: the handovers of the one patient asked about.
    AuditScope,
    /// A capacity report of the caller's own organisation (reporter = caller).
    Reporter,
    /// Bed capacity: the region for triage points and auditors, its own for a provider, 403 for others.
    CapacityReaders,
    /// The region's capacity: triage points and auditors only.
    Region,
    /// Handover quality figures: an organisation's where it is sender or receiver; all for the quality
    /// role and auditors.
    QualityScope,
}

/// One route's rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    /// The route's pattern, as registered.
    pub route: &'static str,
    pub who: Who,
    pub owner: Owner,
}

const fn rule(method: &'static str, route: &'static str, who: Who, owner: Owner) -> Rule {
    Rule { method, route, who, owner }
}

const SENDER: Who = Who::Role(Role::Sender);
const AUDITOR: Who = Who::Role(Role::Auditor);
const ADMIN: Who = Who::Role(Role::Admin);
/// Organisations and auditors (bed capacity; the flow decides which organisations).
const SENDER_OR_AUDITOR: Who = Who::AnyRole(&[Role::Sender, Role::Auditor]);
/// The ledger: auditors, and patient portals for one patient at a time.
const AUDITOR_OR_PORTAL: Who = Who::AnyRole(&[Role::Auditor, Role::PatientPortal]);
/// Handover quality: organisations (their own), auditors and quality coordinators (the region).
const QUALITY_READERS: Who = Who::AnyRole(&[Role::Sender, Role::Auditor, Role::Quality]);

/// Every route of the broker.
pub const RULES: &[Rule] = &[
    rule("GET", "/fhir/metadata", Who::Anyone, Owner::Nobody),
    rule("GET", "/healthz", Who::Anyone, Owner::Nobody),
    rule("GET", "/readyz", Who::Anyone, Owner::Nobody),
    // SMART Backend Services: discovery, and the token endpoint, where the client assertion is the
    // credential (checked by `auth::smart`, rate-limited per organisation once the client is known).
    rule("GET", "/.well-known/smart-configuration", Who::Anyone, Owner::Nobody),
    rule("POST", "/oauth/token", Who::Anyone, Owner::Nobody),
    rule("POST", "/fhir/$process-message", SENDER, Owner::Sender),
    rule("POST", "/fhir/$validate", SENDER, Owner::Sender),
    rule("GET", "/fhir/receipts/{tracking_id}", SENDER, Owner::MessagesSent),
    rule("GET", "/fhir/mailbox", SENDER, Owner::Addressee),
    rule("GET", "/fhir/mailbox/{id}", SENDER, Owner::Addressee),
    rule("POST", "/fhir/mailbox/{id}/$acknowledge", SENDER, Owner::Addressee),
    // A triage point passes a request on; the flow refuses any other organisation (403).
    rule("POST", "/fhir/mailbox/{id}/$forward", SENDER, Owner::Addressee),
    // The same for a message pushed to (or acknowledged by) the triage point, named by its tracking id.
    rule("POST", "/fhir/$forward", SENDER, Owner::Addressee),
    // Auditors search the ledger; a patient portal (issue 16) reads one patient's handovers per request.
    rule("GET", "/fhir/AuditEvent", AUDITOR_OR_PORTAL, Owner::AuditScope),
    rule("POST", "/fhir/MeasureReport", SENDER, Owner::Reporter),
    rule("GET", "/fhir/MeasureReport", SENDER_OR_AUDITOR, Owner::CapacityReaders),
    rule("GET", "/fhir/MeasureReport/$region-summary", SENDER_OR_AUDITOR, Owner::Region),
    // The same capacity as a page for people (issue 16): read through the same two stage calls, so the
    // same callers reach the same figures (the region, or a provider's own).
    rule("GET", "/capacity", SENDER_OR_AUDITOR, Owner::CapacityReaders),
    rule("GET", "/ledger/verify", AUDITOR, Owner::Nobody),
    // Handover quality (issue 16): the region for the quality role and auditors, an organisation's own
    // figures (as sender or receiver) for the organisation; 403 for another's.
    rule("GET", "/fhir/Measure/handover-quality/$evaluate-measure", QUALITY_READERS, Owner::QualityScope),
    // The same figures as a page for people, and the sign-in form that gives a browser its session.
    rule("GET", "/quality", QUALITY_READERS, Owner::QualityScope),
    rule("GET", "/login", Who::Anyone, Owner::Nobody),
    rule("POST", "/login", Who::Anyone, Owner::Nobody),
    rule("GET", "/metrics", ADMIN, Owner::Nobody),
    rule("GET", "/admin/organizations", ADMIN, Owner::Nobody),
    rule("GET", "/admin/organizations/{id}", ADMIN, Owner::Nobody),
    rule("DELETE", "/admin/organizations/{id}", ADMIN, Owner::Nobody),
    rule("GET", "/admin/directory", ADMIN, Owner::Nobody),
    rule("POST", "/admin/directory", ADMIN, Owner::Nobody),
    // A document (issue 15): sent as the caller's own organisation, like a message.
    rule("POST", "/fhir/Bundle", SENDER, Owner::Sender),
    // Notified Pull (issue 15): a receiver's own workflow Tasks and the handovers addressed to it; the
    // flow answers 404 (and ledgers the refusal) for another organisation's.
    rule("GET", "/fhir/Task", SENDER, Owner::Addressee),
    rule("GET", "/fhir/Task/{id}", SENDER, Owner::Addressee),
    rule("PUT", "/fhir/Task/{id}", SENDER, Owner::Addressee),
    rule("PATCH", "/fhir/Task/{id}", SENDER, Owner::Addressee),
    rule("GET", "/fhir/Composition/{id}/$document", SENDER, Owner::Addressee),
    rule("GET", "/fhir/Bundle/{id}", SENDER, Owner::Addressee),
];

/// The rule of a method on a route pattern.
pub fn rule_for(method: &str, route: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.method == method && r.route == route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_rule() {
        for (i, a) in RULES.iter().enumerate() {
            assert!(RULES[i + 1..].iter().all(|b| (a.method, a.route) != (b.method, b.route)), "{a:?} twice");
        }
        assert!(rule_for("GET", "/fhir/metadata").is_some());
        assert!(rule_for("PUT", "/fhir/metadata").is_none());
    }
}
