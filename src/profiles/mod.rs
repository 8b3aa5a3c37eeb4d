//! Handover kinds and completeness validation.
//!
//! A handover kind is a `MessageDefinition` in `profiles/` (event code, focus and its profile); users add
//! kinds by dropping conformance resources there, without a code change. This stage loads them once at
//! start into a [`Catalog`] and checks each submission against it.
//!
//! Today the validation is the seam the profile validator plugs into: it checks that the message's event
//! is a known kind. Full structural and profile validation (StructureDefinitions, slicing, bindings,
//! invariants) fills [`Catalog::validate`] without changing its callers. This stage never stores or
//! routes anything; it only reports issues.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::ingest::Submission;
use crate::outcome::{Issue, IssueCode};

/// The broker's event CodeSystem (`MessageHeader.eventCoding.system` of every handover kind).
pub const EVENT_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/handover-event";

#[derive(Debug, thiserror::Error)]
pub enum ProfilesError {
    #[error("cannot read profiles folder {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not FHIR JSON: {problem}")]
    NotJson { path: String, problem: String },
    #[error("{path}: MessageDefinition needs url and eventCoding (system and code)")]
    Incomplete { path: String },
    #[error("two MessageDefinitions define event {0}")]
    DuplicateEvent(String),
}

/// One handover kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverKind {
    pub definition_url: String,
    pub event_system: String,
    pub event_code: String,
    pub title: String,
}

/// The loaded conformance resources.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Handover kinds by (event system, event code).
    kinds: BTreeMap<(String, String), HandoverKind>,
}

impl Catalog {
    /// Loads every `*.json` conformance resource in `dir` (not recursive).
    pub fn load(dir: &Path) -> Result<Self, ProfilesError> {
        let read_err = |source| ProfilesError::Read { path: dir.display().to_string(), source };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut catalog = Self::default();
        for path in paths {
            let shown = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|source| ProfilesError::Read { path: shown.clone(), source })?;
            let resource: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ProfilesError::NotJson { path: shown.clone(), problem: e.to_string() })?;
            if resource.get("resourceType").and_then(Value::as_str) == Some("MessageDefinition") {
                catalog.add_message_definition(&resource, &shown)?;
            }
        }
        Ok(catalog)
    }

    fn add_message_definition(&mut self, md: &Value, path: &str) -> Result<(), ProfilesError> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let coding = md.get("eventCoding");
        let (Some(url), Some(system), Some(code)) =
            (text(md.get("url")), text(coding.and_then(|c| c.get("system"))), text(coding.and_then(|c| c.get("code"))))
        else {
            return Err(ProfilesError::Incomplete { path: path.to_owned() });
        };
        let title = text(md.get("title")).unwrap_or_else(|| code.clone());
        let key = (system.clone(), code.clone());
        if self.kinds.contains_key(&key) {
            return Err(ProfilesError::DuplicateEvent(format!("{system}|{code}")));
        }
        self.kinds.insert(key, HandoverKind { definition_url: url, event_system: system, event_code: code, title });
        Ok(())
    }

    /// Every handover kind, ordered by event.
    pub fn kinds(&self) -> impl Iterator<Item = &HandoverKind> {
        self.kinds.values()
    }

    pub fn kind(&self, system: &str, code: &str) -> Option<&HandoverKind> {
        self.kinds.get(&(system.to_owned(), code.to_owned()))
    }

    /// Checks a parsed submission; returns every issue found (empty when complete).
    pub fn validate(&self, submission: &Submission) -> Vec<Issue> {
        let mut issues = Vec::new();
        let event = submission.event();
        if self.kind(&event.system, &event.code).is_none() {
            let known: Vec<&str> = self.kinds.values().map(|k| k.event_code.as_str()).collect();
            issues.push(
                Issue::error(
                    IssueCode::NotSupported,
                    format!(
                        "event {}|{} is not a handover kind of this broker (known: {} from {EVENT_SYSTEM})",
                        event.system,
                        event.code,
                        known.join(", ")
                    ),
                )
                .at("Bundle.entry[0].resource.eventCoding"),
            );
        }
        issues
    }
}
