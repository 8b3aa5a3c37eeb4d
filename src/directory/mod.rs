//! The directory: which organisations exist, the identifiers messages use for them, which handover
//! kinds they accept and how they receive (push to a registered endpoint, or mailbox).
//!
//! Imported and exported as a FHIR `Bundle` (type `collection`) of `Organization` + `Endpoint`
//! (DESIGN.md section 5). The directory is the only source of delivery addresses: the broker never
//! delivers to an address taken from a message.

mod fhir;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use fhir::organizations_from_bundle;

use crate::store::{Store, StoreError};

/// Connection type system/code of a push endpoint (FHIR messaging over HTTP).
pub const PUSH_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type";
pub const PUSH_CODE: &str = "hl7-fhir-msg";
/// The broker's own connection type for organisations that pull from their mailbox.
pub const MAILBOX_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/endpoint-connection-type";
pub const MAILBOX_CODE: &str = "mailbox";

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
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The broker's key of an organisation: the `Organization.id` of the directory (a FHIR id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    /// A FHIR id: 1-64 of `A-Z a-z 0-9 - .`.
    pub fn parse(s: &str) -> Option<Self> {
        let ok =
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        ok.then(|| Self(s.to_owned()))
    }

    /// From a value the store wrote (already checked on the way in).
    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation identifier (`system|value`), e.g. a URA, AGB or NIHDI number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgIdentifier {
    system: String,
    value: String,
}

impl OrgIdentifier {
    pub fn new(system: &str, value: &str) -> Option<Self> {
        let (system, value) = (system.trim(), value.trim());
        (!system.is_empty() && !value.is_empty()).then(|| Self { system: system.to_owned(), value: value.to_owned() })
    }

    /// Parses `SYSTEM|VALUE` (the FHIR search token form).
    pub fn parse_token(s: &str) -> Option<Self> {
        let (system, value) = s.rsplit_once('|')?;
        Self::new(system, value)
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for OrgIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.system, self.value)
    }
}

/// How an organisation receives its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// The broker POSTs to `{address}/$process-message`.
    Push,
    /// The organisation pulls from `GET /fhir/mailbox`.
    Mailbox,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Mailbox => "mailbox",
        }
    }
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub identifiers: Vec<OrgIdentifier>,
    /// Handover event codes it accepts.
    pub events: Vec<String>,
    pub delivery: DeliveryMode,
    /// `Endpoint.address`: where pushes go; for a mailbox, the address senders put in
    /// `MessageHeader.destination.endpoint`.
    pub address: String,
}

/// Reads a directory Bundle from `path`.
pub fn read_bundle_file(path: &Path) -> Result<Vec<Organization>, DirectoryError> {
    let bytes =
        std::fs::read(path).map_err(|source| DirectoryError::Read { path: path.display().to_string(), source })?;
    organizations_from_bundle(&bytes)
}

/// Imports `organizations` (insert or replace by `Organization.id`); returns how many. An operator's
/// import ends demo mode: from then on the directory is real.
pub async fn import(store: &Store, organizations: &[Organization]) -> Result<usize, DirectoryError> {
    let n = upsert(store, organizations).await?;
    store.set_directory_source("import").await?;
    Ok(n)
}

async fn upsert(store: &Store, organizations: &[Organization]) -> Result<usize, DirectoryError> {
    let mut seen = std::collections::HashSet::new();
    for org in organizations {
        for identifier in &org.identifiers {
            if !seen.insert(identifier) {
                return Err(DirectoryError::DuplicateIdentifier(identifier.to_string()));
            }
        }
    }
    store.upsert_organizations(organizations).await?;
    Ok(organizations.len())
}

/// Whether the broker runs in demo mode when the configuration does not say: when the directory is
/// empty, or holds the demo directory loaded earlier (so a restarted demo keeps its demo tokens).
pub async fn demo_by_default(store: &Store) -> Result<bool, DirectoryError> {
    Ok(store.organization_count().await? == 0 || store.directory_source().await?.as_deref() == Some("demo"))
}

/// Loads `fixtures/demo-directory.json` when the directory is empty. Returns whether it did.
pub async fn load_demo_if_empty(store: &Store, fixtures_dir: &Path) -> Result<bool, DirectoryError> {
    if store.organization_count().await? > 0 {
        return Ok(false);
    }
    let organizations = read_bundle_file(&fixtures_dir.join("demo-directory.json"))?;
    upsert(store, &organizations).await?;
    store.set_directory_source("demo").await?;
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
    store: Store,
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl Directory {
    /// Reads the directory from the store.
    pub async fn load(store: Store) -> Result<Self, DirectoryError> {
        let snapshot = Snapshot::new(store.organizations().await?);
        Ok(Self { store, current: Arc::new(RwLock::new(Arc::new(snapshot))) })
    }

    /// The directory as it is now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the directory from the store.
    pub async fn refresh(&self) -> Result<(), DirectoryError> {
        let snapshot = Arc::new(Snapshot::new(self.store.organizations().await?));
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
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
