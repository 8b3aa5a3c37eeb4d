//! Handover kinds and completeness validation.
//!
//! A handover kind is a `MessageDefinition` in `profiles/` (event code, focus and its profile); users add
//! kinds by dropping conformance resources there, without a code change. This stage loads them once at
//! start into a [`Catalog`] and checks each submission against it.
//!
//! [`Catalog::validate`] checks a message: its event is a known kind, every reference resolves inside
//! the Bundle, it concerns one patient, and its focus conforms to the kind's profile, following the
//! profiles' `targetProfile`s into the resources the focus refers to (see [`validate`]). Profiles are
//! StructureDefinition differentials compiled at load ([`structure`]); constraints use a FHIRPath
//! subset ([`fhirpath`]). This stage never stores or routes anything; it only reports issues.

pub mod attachments;
pub mod base;
pub mod fhirpath;
pub mod identifiers;
pub mod structure;
pub mod validate;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::message::Submission;
use crate::model::codes::EVENT_SYSTEM;
use crate::outcome::{Issue, IssueCode, Text};
use structure::{Profile, StructureError, Unsupported, ValueSets};

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
    #[error("{path}: {problem}")]
    NamingSystem { path: String, problem: String },
    #[error(transparent)]
    Structure(#[from] StructureError),
    #[error(transparent)]
    Base(#[from] base::BaseError),
    #[error("{from} names {what} {url}, which is not in the profiles folder")]
    Missing { from: String, what: &'static str, url: String },
}

/// Canonical URLs of the core R4 resource definitions start with this.
const CORE_PROFILE: &str = "http://hl7.org/fhir/StructureDefinition/";

/// One handover kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverKind {
    pub definition_url: String,
    pub event_system: String,
    pub event_code: String,
    pub title: String,
    /// Resource type of the focus (`Composition`, `ServiceRequest`).
    pub focus_type: String,
    /// Profile the focus must conform to.
    pub focus_profile: Option<String>,
}

/// The loaded conformance resources.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The base R4 element model every resource is checked against.
    base: Arc<base::BaseModel>,
    /// Handover kinds by (event system, event code).
    kinds: BTreeMap<(String, String), HandoverKind>,
    /// Compiled profiles by canonical URL.
    profiles: BTreeMap<String, Profile>,
    value_sets: ValueSets,
    /// Identifier systems with a check (NamingSystem resources).
    identifiers: identifiers::IdentifierSystems,
    /// Attachment checks and their size limit ([`Catalog::with_attachment_limit`]).
    attachments: attachments::AttachmentChecks,
    /// Measures (e.g. bed capacity) by canonical URL: the codes of their groups, in order. Only read
    /// for the flows that take MeasureReports; nothing is validated against them here.
    measures: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// Loads every `*.json` conformance resource in `dirs` (not recursive), then checks that every
    /// profile and value set they name is there. The first folder holds the broker's own handover
    /// profiles and must be fully supported; later folders hold adopted profiles (e.g. the HL7 IPS),
    /// whose unsupported features are listed by [`Catalog::not_checked`] instead of failing the load.
    pub fn load_all(dirs: &[&Path]) -> Result<Self, ProfilesError> {
        let mut catalog = Self {
            base: Arc::new(base::BaseModel::load()?),
            kinds: BTreeMap::new(),
            profiles: BTreeMap::new(),
            value_sets: ValueSets::default(),
            identifiers: identifiers::IdentifierSystems::default(),
            attachments: attachments::AttachmentChecks::default(),
            measures: BTreeMap::new(),
        };
        for (i, dir) in dirs.iter().enumerate() {
            catalog.add_dir(dir, if i == 0 { Unsupported::Refuse } else { Unsupported::Skip })?;
        }
        catalog.add_core_targets();
        catalog.check_links()?;
        Ok(catalog)
    }

    /// Loads one folder: [`Catalog::load_all`] with one entry.
    pub fn load(dir: &Path) -> Result<Self, ProfilesError> {
        Self::load_all(&[dir])
    }

    fn add_dir(&mut self, dir: &Path, unsupported: Unsupported) -> Result<(), ProfilesError> {
        let read_err = |source| ProfilesError::Read { path: dir.display().to_string(), source };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|source| ProfilesError::Read { path: shown.clone(), source })?;
            let resource: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ProfilesError::NotJson { path: shown.clone(), problem: e.to_string() })?;
            match resource.get("resourceType").and_then(Value::as_str) {
                Some("MessageDefinition") => self.add_message_definition(&resource, &shown)?,
                // Logical models describe content, not instances: nothing to validate against.
                Some("StructureDefinition") if resource.get("kind").and_then(Value::as_str) == Some("logical") => {}
                Some("StructureDefinition") => {
                    let profile = structure::compile(&resource, unsupported)?;
                    self.profiles.insert(profile.url.clone(), profile);
                }
                Some("ValueSet") => self.value_sets.add(&resource),
                Some("Measure") => {
                    if let Some(url) = resource.get("url").and_then(Value::as_str) {
                        let codes = resource.get("group").and_then(Value::as_array).into_iter().flatten();
                        let codes = codes
                            .filter_map(|g| g.pointer("/code/coding/0/code").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect();
                        self.measures.insert(url.to_owned(), codes);
                    }
                }
                Some("NamingSystem") => self
                    .identifiers
                    .add(&resource)
                    .map_err(|problem| ProfilesError::NamingSystem { path: shown.clone(), problem })?,
                _ => {}
            }
        }
        Ok(())
    }

    /// A profile may name a core resource type as target (`http://hl7.org/fhir/StructureDefinition/Device`):
    /// that allows the type without further rules. Such targets get an empty profile of that type.
    fn add_core_targets(&mut self) {
        let mut core = Vec::new();
        for profile in self.profiles.values().filter(|p| p.strict) {
            let mut stack = vec![&profile.root];
            while let Some(node) = stack.pop() {
                for url in &node.target_profiles {
                    let name = url.strip_prefix(CORE_PROFILE).filter(|name| self.base.is_resource(name));
                    if let Some(name) = name.filter(|_| !self.profiles.contains_key(url)) {
                        core.push((url.clone(), name.to_owned()));
                    }
                }
                stack.extend(node.children.iter().chain(&node.slices));
            }
        }
        for (url, resource_type) in core {
            let root = structure::Node { name: resource_type.clone(), ..structure::Node::default() };
            let profile = Profile { url: url.clone(), resource_type, root, strict: true, not_checked: Vec::new() };
            self.profiles.insert(url, profile);
        }
    }

    /// Every profile and required value set named by a kind or a profile is loaded.
    fn check_links(&self) -> Result<(), ProfilesError> {
        let missing =
            |from: &str, what, url: &str| ProfilesError::Missing { from: from.to_owned(), what, url: url.to_owned() };
        for kind in self.kinds.values() {
            if let Some(url) = &kind.focus_profile {
                if self.profile(url).is_none() {
                    return Err(missing(&kind.definition_url, "profile", url));
                }
            }
        }
        for profile in self.profiles.values().filter(|p| p.strict) {
            let mut stack = vec![&profile.root];
            while let Some(node) = stack.pop() {
                for url in &node.target_profiles {
                    if self.profile(url).is_none() {
                        return Err(missing(&profile.url, "target profile", url));
                    }
                }
                if let Some(url) = &node.required_value_set {
                    if !self.value_sets.knows(url) {
                        return Err(missing(&profile.url, "value set", url));
                    }
                }
                stack.extend(node.children.iter().chain(&node.slices));
            }
        }
        Ok(())
    }

    /// What adopted profiles say that is not checked: (profile URL, feature).
    pub fn not_checked(&self) -> impl Iterator<Item = (&str, &str)> {
        self.profiles.values().flat_map(|p| p.not_checked.iter().map(move |n| (p.url.as_str(), n.as_str())))
    }

    /// The base R4 model.
    pub fn base(&self) -> &base::BaseModel {
        &self.base
    }

    /// The base model, shared (e.g. with the XML converter).
    pub fn shared_base(&self) -> Arc<base::BaseModel> {
        Arc::clone(&self.base)
    }

    /// The compiled profile with this canonical URL (a `|version` suffix is ignored).
    pub fn profile(&self, url: &str) -> Option<&Profile> {
        self.profiles.get(url.split('|').next().unwrap_or(url))
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
        let focus = md.pointer("/focus/0");
        let focus_type = text(focus.and_then(|f| f.get("code"))).unwrap_or_default();
        let focus_profile = text(focus.and_then(|f| f.get("profile")));
        let key = (system.clone(), code.clone());
        if self.kinds.contains_key(&key) {
            return Err(ProfilesError::DuplicateEvent(format!("{system}|{code}")));
        }
        self.kinds.insert(
            key,
            HandoverKind {
                definition_url: url,
                event_system: system,
                event_code: code,
                title,
                focus_type,
                focus_profile,
            },
        );
        Ok(())
    }

    /// Every handover kind, ordered by event.
    /// The group codes of the Measure `url` (`profiles/Measure-*.json`), if one is loaded.
    pub fn measure_groups(&self, url: &str) -> Option<&[String]> {
        self.measures.get(url).map(Vec::as_slice)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &HandoverKind> {
        self.kinds.values()
    }

    pub fn kind(&self, system: &str, code: &str) -> Option<&HandoverKind> {
        self.kinds.get(&(system.to_owned(), code.to_owned()))
    }

    /// Every document type a kind takes: for each kind whose focus is a Composition, the (system,
    /// code) pairs of the required ValueSet its profile binds `Composition.type` to. What a posted
    /// document's `Composition.type` is matched against (`document`); read from the profiles, so a kind
    /// dropped into `profiles/` takes documents without a code change.
    pub fn composition_types(&self) -> Vec<(&HandoverKind, &str, &str)> {
        let mut types = Vec::new();
        for kind in self.kinds.values().filter(|k| k.focus_type == "Composition") {
            let profile = kind.focus_profile.as_deref().and_then(|url| self.profile(url));
            let value_set = profile
                .and_then(|p| p.root.children.iter().find(|c| c.name == "type"))
                .and_then(|node| node.required_value_set.as_deref());
            for (system, code) in value_set.map(|url| self.value_sets.codes(url)).unwrap_or_default() {
                types.push((kind, system.as_str(), code.as_str()));
            }
        }
        types
    }

    /// Checks a parsed submission; returns every issue found (empty when complete).
    pub fn validate(&self, submission: &Submission) -> Vec<Issue> {
        let event = submission.event();
        if self.kind(&event.system, &event.code).is_none() {
            let known: Vec<&str> = self.kinds.values().map(|k| k.event_code.as_str()).collect();
            let text = Text::new("profile-unknown-event")
                .arg("system", &event.system)
                .arg("code", &event.code)
                .arg("known", known.join(", "))
                .arg("events", EVENT_SYSTEM);
            return vec![Issue::says(IssueCode::NotSupported, text).at("Bundle.entry[0].resource.eventCoding")];
        }
        let mut issues = validate::message(self, submission, true);
        self.attachments.check_bundle(&self.base, submission, &mut issues);
        issues
    }

    /// Checks a response message (a receiver's business response): base structure and Bundle
    /// integrity. Handover profiles describe handovers, not answers to them.
    pub fn validate_response(&self, submission: &Submission) -> Vec<Issue> {
        validate::message(self, submission, false)
    }
}
