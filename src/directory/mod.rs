//! The directory: which organisations exist, the identifiers messages use for them, which handover
//! kinds they accept and how they receive (push to a registered endpoint, or mailbox).
//!
//! Imported and exported as a FHIR `Bundle` (type `collection`) of `Organization` + `Endpoint`
//! (DESIGN.md section 5). The directory is the only source of delivery addresses: the broker never
//! delivers to an address taken from a message.

mod fhir;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use fhir::{bundle_from_organizations, check_ca_pem, organizations_from_bundle, DirectoryBundle};

use crate::address::TargetPolicy;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{OrgId, OrgIdentifier, Organization, SmartClient};
use crate::store::{DirectoryUpdate, Removal, Store, StoreError};
use crate::time::Millis;

/// Connection type system/code of a push endpoint (FHIR messaging over HTTP).
pub const PUSH_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type";
pub const PUSH_CODE: &str = "hl7-fhir-msg";
/// The broker's own connection type for organisations that pull from their mailbox.
pub const MAILBOX_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/endpoint-connection-type";
pub const MAILBOX_CODE: &str = "mailbox";
/// The broker's own connection type (same system as [`MAILBOX_SYSTEM`]) for Notified Pull receivers:
/// the broker posts a notification `Task` to `{Endpoint.address}/Task`, and the organisation pulls.
pub const NOTIFIED_PULL_CODE: &str = "notified-pull";

/// `Endpoint` extension (`valueString`): PEM CA certificate(s) to trust for this push endpoint, in
/// addition to the broker's configured roots.
pub const CA_CERTIFICATE_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/endpoint-ca-certificate";
/// `Endpoint` extension (`valueBoolean`): whether the broker presents its client certificate (mTLS).
pub const CLIENT_CERTIFICATE_URL: &str =
    "https://fhir.handover-broker.eu/StructureDefinition/endpoint-client-certificate";
/// `Organization` extension (`valueCode`, a [`ReceiptPreference`] code): which receipts it wants.
pub const RECEIPT_PREFERENCE_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/receipt-preference";
/// `Organization` extension (`valueCode`, a BCP-47 tag of Dutch, French or English, e.g. `nl-BE`): the
/// language its people read, which the receipts it is sent are written in.
pub const PREFERRED_LANGUAGE_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/preferred-language";
/// `Organization` extension (`valueString`, 0..*): the SHA-256 fingerprint (hex) of a client certificate
/// pinned on the organisation; a verified client certificate (mTLS) with it speaks for the organisation.
pub const CERTIFICATE_SHA256_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/certificate-sha256";

/// `Organization` extension (`valueCoding` of the care-type code system, 0..*): a care type the
/// organisation provides.
pub const CARE_TYPE_PROVIDED_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/care-type-provided";

/// `Organization` extension (once): its opening hours, in the shape of R4's
/// `HealthcareService.availableTime` so that integrators recognise it: sub-extensions `timeZone`
/// (valueCode, an IANA name such as `Europe/Amsterdam`, once) and `availableTime` (1 to
/// [`crate::model::OpeningHours::MAX_PERIODS`]), each with `daysOfWeek` (valueCode `mon`..`sun`, 1..7),
/// `availableStartTime` and `availableEndTime` (valueTime `hh:mm:ss`, once each, start before end).
/// Without it an organisation counts as open around the clock.
pub const OPENING_HOURS_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/opening-hours";
/// `Organization` extension (0..4, one per priority): the time within which the organisation answers a
/// request of a priority, counted in its opening hours: sub-extensions `priority` (valueCode of FHIR's
/// request-priority codes, once), `responseTime` (valueDuration in UCUM `s`, `min`, `h` or `d`, once)
/// and `escalation` (valueReference to an Organization of the directory, by `Organization/{id}` or by
/// identifier; optional): where a request goes that was not answered in time.
pub const RESPONSE_TIME_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/response-time";

/// Why a directory could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("not a FHIR JSON Bundle: {0}")]
    NotJson(String),
    #[error("{expression}: {problem}")]
    Invalid { expression: String, problem: String },
    #[error("identifier {0} belongs to two organisations")]
    DuplicateIdentifier(String),
    #[error("SMART client id {0} belongs to two organisations")]
    DuplicateClientId(String),
    #[error("no organisation with id {0}")]
    NotFound(String),
    #[error("organisation {0} has messages or deliveries; it cannot be removed")]
    InUse(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One organisation as plain JSON, for operators: the admin API's answers and `directory list --json`
/// (the FHIR form is [`bundle_from_organizations`]). A CA certificate shows as `has_ca`, not its text.
pub fn json_view(org: &Organization) -> serde_json::Value {
    let identifiers: Vec<String> = org.identifiers.iter().map(ToString::to_string).collect();
    let events: Vec<&str> = org.events.iter().map(|e| e.as_str()).collect();
    serde_json::json!({
        "id": org.id.as_str(),
        "name": org.name,
        "identifiers": identifiers,
        "smart_client": org.smart.as_ref().map(|client| serde_json::json!({
            "client_id": client.client_id.as_str(),
            "roles": client.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "keys": client.jwks.keys().len(),
        })),
        "events": events,
        "delivery": org.delivery.as_str(),
        "address": org.address,
        "client_certificate": org.client_certificate,
        "receipts": org.receipts.as_str(),
        "language": org.language.map(|lang| lang.code()),
        "has_ca": org.ca_pem.is_some(),
        "certificates": org.certificates.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "triage_point": org.triage_point,
        "care_types": org.care_types.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "opening_hours": org.hours.as_ref().map(hours_text),
        "response_times": org.response_rules.iter().map(rule_text).collect::<Vec<_>>(),
    })
}

/// Opening hours in a line: `Europe/Amsterdam mon,tue 08:30:00-17:00:00; sat 10:00:00-12:00:00`.
fn hours_text(hours: &crate::model::OpeningHours) -> String {
    let periods: Vec<String> = hours
        .periods()
        .iter()
        .map(|p| format!("{} {}-{}", p.days().codes().collect::<Vec<_>>().join(","), p.opens(), p.closes()))
        .collect();
    format!("{} {}", hours.zone(), periods.join("; "))
}

/// A response rule in a few words: `urgent 2h -> vpl-hoogveld`.
fn rule_text(rule: &crate::model::ResponseRule) -> String {
    match &rule.escalation {
        Some(target) => format!("{} {} -> {target}", rule.priority, rule.within),
        None => format!("{} {}", rule.priority, rule.within),
    }
}

/// Reads a directory Bundle from `path`.
pub fn read_bundle_file(path: &Path) -> Result<Vec<Organization>, DirectoryError> {
    let bytes =
        std::fs::read(path).map_err(|source| DirectoryError::Read { path: path.display().to_string(), source })?;
    organizations_from_bundle(&bytes)
}

/// Imports `organizations` (insert or replace by `Organization.id`); returns how many. Push addresses
/// must be allowed by `targets` (see [`crate::address`]). Every
/// organisation added or changed is a ledger entry of `actor` (`None`: the operator's command line), in
/// the commit that changes it. The caller refreshes its [`Directory`] (the admin API does, so routing
/// sees the change at once; other processes see it within [`REFRESH_EVERY`]).
pub async fn import(
    store: &Store,
    organizations: &[Organization],
    actor: Option<&OrgId>,
    targets: TargetPolicy,
) -> Result<usize, DirectoryError> {
    for org in organizations.iter().filter(|org| org.delivery.posts_to_address()) {
        targets.check_url(&org.address).map_err(|problem| DirectoryError::Invalid {
            expression: format!("Organization/{}: Endpoint.address", org.id),
            problem: problem.to_owned(),
        })?;
    }
    let current = store.organizations().await?;
    check_identifiers(&current, organizations)?;
    check_certificates(&current, organizations)?;
    check_client_ids(&current, organizations)?;
    check_escalations(&current, organizations)?;
    let ledger = organizations
        .iter()
        .filter_map(|org| {
            let before = current.iter().find(|o| o.id == org.id);
            describe_change(before, Some(org)).map(|change| change_entry(actor, &org.id, change))
        })
        .collect();
    let update = DirectoryUpdate { upsert: organizations.to_vec(), remove: None, source: Some("import"), ledger };
    store.writer().change_directory(update).await?;
    Ok(organizations.len())
}

/// The whole directory as a FHIR `Bundle` (type `collection`): the inverse of [`import`].
pub async fn export(store: &Store) -> Result<DirectoryBundle, DirectoryError> {
    Ok(bundle_from_organizations(&store.organizations().await?))
}

/// One organisation by its id.
pub async fn organization(store: &Store, id: &str) -> Result<Organization, DirectoryError> {
    let not_found = || DirectoryError::NotFound(id.chars().take(64).collect());
    let id = OrgId::parse(id).ok_or_else(not_found)?;
    store.organizations().await?.into_iter().find(|org| org.id == id).ok_or_else(not_found)
}

/// Removes an organisation (with its identifiers, accepted events and tokens), refused with
/// [`DirectoryError::InUse`] while a message it sent or a delivery to it is stored; a ledger entry of
/// `actor` when it is removed. The caller refreshes its [`Directory`].
pub async fn remove(store: &Store, id: &str, actor: Option<&OrgId>) -> Result<(), DirectoryError> {
    let not_found = || DirectoryError::NotFound(id.chars().take(64).collect());
    let id = OrgId::parse(id).ok_or_else(not_found)?;
    let before = store.organizations().await?.into_iter().find(|org| org.id == id).ok_or_else(not_found)?;
    let ledger = describe_change(Some(&before), None).map(|change| change_entry(actor, &id, change));
    let update = DirectoryUpdate {
        remove: Some(id.clone()),
        ledger: ledger.into_iter().collect(),
        ..DirectoryUpdate::default()
    };
    match store.writer().change_directory(update).await? {
        Removal::Removed => Ok(()),
        Removal::NotFound => Err(not_found()),
        Removal::InUse => Err(DirectoryError::InUse(id.to_string())),
    }
}

/// Identifiers must stay unique: within the import, and against the organisations already stored that
/// the import does not replace.
fn check_identifiers(current: &[Organization], organizations: &[Organization]) -> Result<(), DirectoryError> {
    let mut seen = std::collections::HashSet::new();
    for org in organizations {
        for identifier in &org.identifiers {
            if !seen.insert(identifier) {
                return Err(DirectoryError::DuplicateIdentifier(identifier.to_string()));
            }
        }
    }
    let replaced: std::collections::HashSet<&OrgId> = organizations.iter().map(|org| &org.id).collect();
    for kept in current.iter().filter(|org| !replaced.contains(&org.id)) {
        if let Some(identifier) = kept.identifiers.iter().find(|identifier| seen.contains(identifier)) {
            return Err(DirectoryError::DuplicateIdentifier(identifier.to_string()));
        }
    }
    Ok(())
}

/// A pinned certificate speaks for one organisation: within the import, and against the organisations
/// already stored that the import does not replace.
fn check_certificates(current: &[Organization], organizations: &[Organization]) -> Result<(), DirectoryError> {
    let replaced: std::collections::HashSet<&OrgId> = organizations.iter().map(|org| &org.id).collect();
    // Each certificate with the organisation that holds it: the kept ones first, then the import's.
    let mut holder: HashMap<&crate::model::CertificateSha256, &OrgId> = current
        .iter()
        .filter(|org| !replaced.contains(&org.id))
        .flat_map(|org| org.certificates.iter().map(move |certificate| (certificate, &org.id)))
        .collect();
    for org in organizations {
        for certificate in &org.certificates {
            if holder.insert(certificate, &org.id).is_some_and(|other| other != &org.id) {
                return Err(DirectoryError::Invalid {
                    expression: format!("Organization/{}: extension {CERTIFICATE_SHA256_URL}", org.id),
                    problem: format!("the certificate {certificate} is pinned on another organisation already"),
                });
            }
        }
    }
    Ok(())
}

/// SMART client ids must stay unique too, like identifiers: the token endpoint finds a client by its id.
fn check_client_ids(current: &[Organization], organizations: &[Organization]) -> Result<(), DirectoryError> {
    let duplicate = |id: &crate::model::ClientId| DirectoryError::DuplicateClientId(id.to_string());
    let mut seen = std::collections::HashSet::new();
    for client in organizations.iter().filter_map(|org| org.smart.as_ref()) {
        if !seen.insert(&client.client_id) {
            return Err(duplicate(&client.client_id));
        }
    }
    let replaced: std::collections::HashSet<&OrgId> = organizations.iter().map(|org| &org.id).collect();
    for kept in current.iter().filter(|org| !replaced.contains(&org.id)) {
        if let Some(client) = kept.smart.as_ref().filter(|client| seen.contains(&client.client_id)) {
            return Err(duplicate(&client.client_id));
        }
    }
    Ok(())
}

/// An escalation organisation must be in the directory: imported now, or stored and kept.
fn check_escalations(current: &[Organization], organizations: &[Organization]) -> Result<(), DirectoryError> {
    let known: std::collections::HashSet<&OrgId> = current.iter().chain(organizations).map(|org| &org.id).collect();
    for org in organizations {
        for rule in &org.response_rules {
            let Some(target) = rule.escalation.as_ref().filter(|target| !known.contains(target)) else { continue };
            return Err(DirectoryError::Invalid {
                expression: format!(
                    "Organization/{}.extension('{RESPONSE_TIME_URL}').where(extension('priority').value = '{}')\
                     .extension('escalation').value",
                    org.id, rule.priority
                ),
                problem: format!("the escalation organisation {target} is not in the directory"),
            });
        }
    }
    Ok(())
}

/// How a SMART client registration changed, in the ledger's words (`None`: it did not).
fn smart_change(old: Option<&SmartClient>, new: Option<&SmartClient>) -> Option<String> {
    let describe = |client: Option<&SmartClient>| match client {
        None => "none".to_owned(),
        Some(c) => format!("{} ({}; {} keys)", c.client_id, c.roles_text(), c.jwks.keys().len()),
    };
    match (old, new) {
        (Some(a), Some(b)) if a.client_id == b.client_id && a.roles == b.roles && a.jwks != b.jwks => {
            Some(format!("SMART client {} keys changed", b.client_id))
        }
        (a, b) if a != b => Some(format!("SMART client {} -> {}", describe(a), describe(b))),
        _ => None,
    }
}

/// The ledger's longest description of a directory change; a longer one is cut (and says so).
const MAX_CHANGE_TEXT: usize = 2000;

/// What a directory change did to one organisation, before and after, in the broker's words (`None`:
/// nothing changed). Directory data only: names, identifiers, addresses and codes, never patient data.
pub fn describe_change(before: Option<&Organization>, after: Option<&Organization>) -> Option<String> {
    let text = match (before, after) {
        (None, None) => return None,
        (None, Some(org)) => {
            format!(
                "added: {} {}; identifiers {}; events {}; receipts {}{}{}",
                org.delivery.as_str(),
                org.address,
                list(&org.identifiers),
                list(&org.events),
                org.receipts,
                if org.ca_pem.is_some() { "; own CA certificate" } else { "" },
                if org.certificates.is_empty() {
                    String::new()
                } else {
                    format!("; certificates {}", list(&org.certificates))
                },
            ) + if org.triage_point { "; triage point" } else { "" }
                + &if org.care_types.is_empty() {
                    String::new()
                } else {
                    format!("; care types {}", list(&org.care_types))
                }
                + &smart_change(None, org.smart.as_ref()).map(|c| format!("; {c}")).unwrap_or_default()
                + &org.hours.as_ref().map(|h| format!("; hours {}", hours_text(h))).unwrap_or_default()
                + &if org.response_rules.is_empty() {
                    String::new()
                } else {
                    let rules: Vec<String> = org.response_rules.iter().map(rule_text).collect();
                    format!("; response times {}", rules.join(", "))
                }
        }
        (Some(org), None) => {
            format!("removed: {} {}; identifiers {}", org.delivery.as_str(), org.address, list(&org.identifiers))
        }
        (Some(old), Some(new)) => {
            let mut changes = Vec::new();
            if old.name != new.name {
                changes.push("name changed".to_owned());
            }
            if old.delivery != new.delivery || old.address != new.address {
                changes.push(format!(
                    "endpoint {} {} -> {} {}",
                    old.delivery.as_str(),
                    old.address,
                    new.delivery.as_str(),
                    new.address
                ));
            }
            if let Some(change) = set_change("identifiers", &old.identifiers, &new.identifiers) {
                changes.push(change);
            }
            if let Some(change) = set_change("events", &old.events, &new.events) {
                changes.push(change);
            }
            if let Some(change) = set_change("certificates", &old.certificates, &new.certificates) {
                changes.push(change);
            }
            if let Some(change) = set_change("care types", &old.care_types, &new.care_types) {
                changes.push(change);
            }
            if old.hours != new.hours {
                let text =
                    |hours: &Option<crate::model::OpeningHours>| hours.as_ref().map_or("none".to_owned(), hours_text);
                changes.push(format!("hours {} -> {}", text(&old.hours), text(&new.hours)));
            }
            if old.response_rules != new.response_rules {
                let text = |rules: &[crate::model::ResponseRule]| {
                    if rules.is_empty() {
                        "none".to_owned()
                    } else {
                        rules.iter().map(rule_text).collect::<Vec<_>>().join(", ")
                    }
                };
                changes.push(format!("response times {} -> {}", text(&old.response_rules), text(&new.response_rules)));
            }
            if old.triage_point != new.triage_point {
                changes.push(format!("triage point {} -> {}", old.triage_point, new.triage_point));
            }
            changes.extend(smart_change(old.smart.as_ref(), new.smart.as_ref()));
            if old.ca_pem != new.ca_pem {
                let state = |pem: &Option<String>| if pem.is_some() { "own" } else { "none" };
                changes.push(format!("CA certificate {} -> {}", state(&old.ca_pem), state(&new.ca_pem)));
            }
            if old.client_certificate != new.client_certificate {
                changes.push(format!("client certificate {} -> {}", old.client_certificate, new.client_certificate));
            }
            if old.receipts != new.receipts {
                changes.push(format!("receipts {} -> {}", old.receipts, new.receipts));
            }
            if old.language != new.language {
                let code = |lang: Option<crate::i18n::Language>| lang.map_or("none", |lang| lang.code());
                changes.push(format!("language {} -> {}", code(old.language), code(new.language)));
            }
            if changes.is_empty() {
                return None;
            }
            format!("changed: {}", changes.join("; "))
        }
    };
    Some(match text.char_indices().nth(MAX_CHANGE_TEXT) {
        Some((cut, _)) => format!("{} (cut)", &text[..cut]),
        None => text,
    })
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// `+added -removed` between two lists, or `None` when they hold the same items.
fn set_change<T: PartialEq + std::fmt::Display>(name: &str, old: &[T], new: &[T]) -> Option<String> {
    let added: Vec<String> = new.iter().filter(|x| !old.contains(x)).map(|x| format!("+{x}")).collect();
    let removed: Vec<String> = old.iter().filter(|x| !new.contains(x)).map(|x| format!("-{x}")).collect();
    (!added.is_empty() || !removed.is_empty()).then(|| format!("{name} {}", [added, removed].concat().join(" ")))
}

/// The ledger entry of a change to organisation `org` by `actor`.
fn change_entry(actor: Option<&OrgId>, org: &OrgId, change: String) -> LedgerRecord {
    LedgerRecord::new(LedgerEvent::DirectoryChanged, Millis::now())
        .actor(actor.cloned())
        .receiver(org.clone())
        .outcome(change)
}

/// Loads `fixtures/demo-directory.json` when the directory is empty. Returns whether it did.
pub async fn load_demo_if_empty(store: &Store, fixtures_dir: &Path) -> Result<bool, DirectoryError> {
    if store.organization_count().await? > 0 {
        return Ok(false);
    }
    let organizations = read_bundle_file(&fixtures_dir.join("demo-directory.json"))?;
    check_identifiers(&[], &organizations)?;
    check_certificates(&[], &organizations)?;
    check_client_ids(&[], &organizations)?;
    check_escalations(&[], &organizations)?;
    // Not ledgered: demo mode only, and a demo's ledger starts with its first handover.
    let update = DirectoryUpdate { upsert: organizations, remove: None, source: Some("demo"), ledger: Vec::new() };
    store.writer().change_directory(update).await?;
    Ok(true)
}

/// The directory as routing reads it: an in-memory snapshot, so that resolving a message's sender and
/// receivers costs no database round trip.
#[derive(Debug, Default)]
pub struct Snapshot {
    organizations: Vec<Organization>,
    by_identifier: HashMap<OrgIdentifier, usize>,
}

impl Snapshot {
    pub fn new(organizations: Vec<Organization>) -> Self {
        let by_identifier = organizations
            .iter()
            .enumerate()
            .flat_map(|(i, org)| org.identifiers.iter().map(move |id| (id.clone(), i)))
            .collect();
        Self { organizations, by_identifier }
    }

    /// The organisation that owns `identifier`.
    pub fn by_identifier(&self, identifier: &OrgIdentifier) -> Option<&Organization> {
        self.by_identifier.get(identifier).map(|&i| &self.organizations[i])
    }

    pub fn organizations(&self) -> &[Organization] {
        &self.organizations
    }
}

/// How often a running broker re-reads the directory, to see changes made by other processes (the
/// `directory import` CLI, other broker nodes). Changes made through this process apply at once.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// The current directory snapshot, shared by all request handlers. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    /// The snapshot and the number of the refresh that read it: a refresh that started earlier (and
    /// so may have read older rows) never replaces one that started later.
    current: RwLock<(u64, Arc<Snapshot>)>,
    refreshes: AtomicU64,
}

impl Directory {
    /// Reads the directory from the store.
    pub async fn load(store: Store) -> Result<Self, DirectoryError> {
        let snapshot = Snapshot::new(store.organizations().await?);
        let shared =
            Arc::new(Shared { store, current: RwLock::new((0, Arc::new(snapshot))), refreshes: AtomicU64::new(0) });
        Ok(Self { shared })
    }

    /// The directory as it is now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.shared.current.read() {
            Ok(guard) => guard.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Re-reads the directory from the store.
    pub async fn refresh(&self) -> Result<(), DirectoryError> {
        let number = self.shared.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        let snapshot = Arc::new(Snapshot::new(self.shared.store.organizations().await?));
        let mut guard = match self.shared.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.0 < number {
            *guard = (number, snapshot);
        }
        Ok(())
    }

    /// Refreshes every [`REFRESH_EVERY`] until the process ends. A failed refresh keeps the last
    /// snapshot and is logged.
    pub fn spawn_refresh(&self) -> tokio::task::JoinHandle<()> {
        let directory = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = directory.refresh().await {
                    tracing::warn!(stage = "directory", error = %e, "directory refresh failed; keeping the last snapshot");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CertificateSha256;

    fn demo() -> Vec<Organization> {
        read_bundle_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo-directory.json")).unwrap()
    }

    #[test]
    fn a_certificate_is_pinned_on_one_organisation_only() {
        let pin = CertificateSha256::of_der(b"a certificate");
        let mut organizations = demo();
        organizations[0].certificates.push(pin.clone());
        assert!(check_certificates(&[], &organizations).is_ok());
        organizations[1].certificates.push(pin.clone());
        let twice = check_certificates(&[], &organizations).unwrap_err().to_string();
        assert!(twice.contains(&format!("Organization/{}", organizations[1].id)), "{twice}");
        // Against the stored directory: refused on another organisation, allowed on the one that holds
        // it, and allowed when the import moves it off the one that held it.
        let stored = organizations[..1].to_vec();
        assert!(check_certificates(&stored, &organizations[1..2]).is_err());
        assert!(check_certificates(&stored, &organizations[..1]).is_ok());
        let mut moved = organizations[..2].to_vec();
        moved[0].certificates.clear();
        assert!(check_certificates(&stored, &moved).is_ok());
    }

    #[test]
    fn an_escalation_organisation_must_be_in_the_directory() {
        let organizations = demo();
        assert!(check_escalations(&[], &organizations).is_ok(), "the demo's escalations resolve");
        let zorgpunt = organizations.iter().find(|o| o.id.as_str() == "zorgpunt-zuid-limburg").unwrap().clone();
        // Imported alone, its escalation organisation must be stored already.
        let refused = check_escalations(&[], std::slice::from_ref(&zorgpunt)).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "Organization/zorgpunt-zuid-limburg.extension('{RESPONSE_TIME_URL}').where(extension('priority').value \
                 = 'urgent').extension('escalation').value: the escalation organisation vpl-hoogveld is not in the \
                 directory"
            )
        );
        assert!(check_escalations(&organizations, std::slice::from_ref(&zorgpunt)).is_ok());
    }

    #[test]
    fn hours_and_response_times_are_part_of_a_change_description() {
        let before = demo().into_iter().find(|o| o.id.as_str() == "zorgpunt-zuid-limburg").unwrap();
        let added = describe_change(None, Some(&before)).unwrap();
        assert!(
            added.contains("; hours Europe/Amsterdam mon,tue,wed,thu,fri 08:30:00-17:00:00")
                && added.contains("; response times urgent 2h -> vpl-hoogveld, asap 30min"),
            "{added}"
        );
        let mut after = before.clone();
        after.hours = None;
        after.response_rules.truncate(1);
        let change = describe_change(Some(&before), Some(&after)).unwrap();
        assert!(change.contains("hours Europe/Amsterdam mon,tue,wed,thu,fri 08:30:00-17:00:00 -> none"), "{change}");
        assert!(change.contains("response times urgent 2h -> vpl-hoogveld, asap 30min -> urgent 2h -> vpl-hoogveld"));
    }

    #[test]
    fn certificate_pins_are_part_of_a_change_description() {
        let before = demo().remove(0);
        let mut after = before.clone();
        after.certificates.push(CertificateSha256::of_der(b"a certificate"));
        let change = describe_change(Some(&before), Some(&after)).unwrap();
        assert!(change.contains(&format!("certificates +{}", after.certificates[0])), "{change}");
        assert!(describe_change(None, Some(&after)).unwrap().contains("; certificates "));
    }
}
