//! Checking a message Bundle: the Bundle's integrity, then the focus resource against its kind's
//! profile, following `targetProfile`s into the resources it references.
//!
//! One pass over the parsed JSON: references are resolved through an index built once (no quadratic
//! search), each (resource, profile) pair is checked at most once (so reference cycles terminate), and
//! FHIRPath constraints run on the element they belong to, not on the whole Bundle.

use std::collections::HashSet;

use serde_json::Value;

use super::base::{ReferenceSite, Site};
use super::structure::{equals_fixed, matches_pattern, Node, Profile};
use super::Catalog;
use crate::json::{Field, Json, Object};
use crate::message::{BundleIndex, Submission};
use crate::outcome::{Issue, IssueCode, Report, Severity, Text};

/// The Bundle's entries with their reference index (built once, by the envelope), so resolving is O(1).
struct Index<'a> {
    entries: &'a [Json<'a>],
    refs: &'a BundleIndex,
    /// The entry of the handover's patient: the first Patient in the Bundle.
    patient: Option<usize>,
}

struct Walk<'a> {
    catalog: &'a Catalog,
    index: Index<'a>,
    checked: HashSet<(usize, &'a str)>,
    issues: Vec<Issue>,
}

fn entry_expr(i: usize) -> String {
    format!("Bundle.entry[{i}].resource")
}

/// An issue at `expression`, in the catalogues' words (built only when there is something to report).
fn issue(severity: Severity, code: IssueCode, text: Text, expression: String) -> Issue {
    Issue::says(code, text).severity(severity).at(expression)
}

/// Resource types as a list for a text: all but the last (`A, B`) and the last (`C`), which the
/// catalogue joins with its own word for "or" (`A, B or C`); one type alone is `last`.
fn alternatives(text: Text, types: &[&str]) -> Text {
    match types.split_last() {
        Some((last, [])) => text.arg("last", last),
        Some((last, rest)) => text.arg("allowed", rest.join(", ")).arg("last", last),
        None => text.arg("last", ""),
    }
}

/// A short, non-identifying description of a pattern (codes from the profile, never instance data).
fn describe(pattern: &Value) -> String {
    let coding = pattern.pointer("/coding/0").unwrap_or(pattern);
    match (coding.get("system").and_then(Value::as_str), coding.get("code").and_then(Value::as_str)) {
        (Some(system), Some(code)) => match coding.get("display").and_then(Value::as_str) {
            Some(display) => format!("{system}|{code} ({display})"),
            None => format!("{system}|{code}"),
        },
        (None, Some(code)) => code.to_owned(),
        _ => pattern.to_string(),
    }
}

impl<'a> Index<'a> {
    fn new(entries: &'a [Json<'a>], refs: &'a BundleIndex) -> Self {
        let patient = entries
            .iter()
            .position(|e| e.field("resource").and_then(|r| r.str_field("resourceType")) == Some("Patient"));
        Self { entries, refs, patient }
    }

    fn resource(&self, i: usize) -> Option<&'a Json<'a>> {
        self.entries.get(i).and_then(|e| e.field("resource"))
    }

    fn kind(&self, i: usize) -> Option<&'a str> {
        self.resource(i).and_then(|r| r.str_field("resourceType"))
    }

    fn resolve(&self, reference: &str) -> Option<usize> {
        self.refs.resolve(reference)
    }

    /// A Reference met by the base walk: it resolves inside the Bundle (or to a contained resource),
    /// to a resource type its element allows, and not to a second patient.
    fn check_reference(&self, site: ReferenceSite<'_>, issues: &mut Vec<Issue>) {
        let target = match site.reference.strip_prefix('#') {
            Some(local) => {
                if !local.is_empty() && !site.contained.contains(&local) {
                    issues.report(issue(
                        Severity::Error,
                        IssueCode::NotFound,
                        Text::new("profile-reference-not-contained"),
                        site.path.to_owned(),
                    ));
                }
                return;
            }
            None => self.resolve(site.reference),
        };
        let Some(target) = target else {
            issues.report(issue(
                Severity::Error,
                IssueCode::NotFound,
                Text::new("profile-reference-unresolved"),
                site.path.to_owned(),
            ));
            return;
        };
        let kind = self.kind(target).unwrap_or_default();
        if let Some(allowed) = site.allowed.filter(|allowed| !allowed.iter().any(|a| a == kind)) {
            issues.report(issue(
                Severity::Error,
                IssueCode::Invalid,
                Text::new("profile-reference-type").arg("type", kind).arg("allowed", allowed.join(", ")),
                site.path.to_owned(),
            ));
        }
        if let Some(patient) = self.patient.filter(|&p| kind == "Patient" && target != p) {
            issues.report(issue(
                Severity::Error,
                IssueCode::BusinessRule,
                Text::new("profile-reference-other-patient").num("entry", patient),
                site.path.to_owned(),
            ));
        }
    }
}

impl<'a> Walk<'a> {
    fn resource(&self, i: usize) -> Option<&'a Json<'a>> {
        self.index.resource(i)
    }

    fn resolve(&self, reference: &str) -> Option<usize> {
        self.index.resolve(reference)
    }

    /// A handover is about one patient.
    fn check_one_patient(&mut self) {
        let patients: Vec<usize> =
            (0..self.index.entries.len()).filter(|&i| self.index.kind(i) == Some("Patient")).collect();
        for &second in patients.iter().skip(1) {
            self.issues.report(issue(
                Severity::Error,
                IssueCode::BusinessRule,
                Text::new("profile-second-patient").num("entry", patients[0]),
                entry_expr(second),
            ));
        }
    }

    fn check_resource(&mut self, i: usize, profile: &'a Profile) {
        if !self.checked.insert((i, profile.url.as_str())) {
            return;
        }
        let Some(resource) = self.resource(i) else { return };
        let kind = resource.str_field("resourceType").unwrap_or_default();
        if kind != profile.resource_type {
            self.issues.report(issue(
                Severity::Error,
                IssueCode::Structure,
                Text::new("profile-wrong-resource-type")
                    .arg("expected", &profile.resource_type)
                    .arg("profile", &profile.url)
                    .arg("type", kind),
                entry_expr(i),
            ));
            return;
        }
        self.check_element(&profile.root, resource, entry_expr(i));
    }

    fn check_element(&mut self, node: &'a Node, item: &'a Json<'a>, at: String) {
        if let Some(pattern) = &node.pattern {
            let ok = if node.fixed { equals_fixed(item, pattern) } else { matches_pattern(item, pattern) };
            if !ok {
                self.issues.report(issue(
                    Severity::Error,
                    IssueCode::Value,
                    Text::new("profile-pattern").arg("pattern", describe(pattern)),
                    at.clone(),
                ));
            }
        }
        if let Some(value_set) = &node.required_value_set {
            self.check_binding(value_set, item, &at);
        }
        if !node.target_profiles.is_empty() {
            if let Some(target) = item.str_field("reference").and_then(|r| self.resolve(r)) {
                let kind = self.index.kind(target);
                let known: Vec<&'a Profile> =
                    node.target_profiles.iter().filter_map(|url| self.catalog.profile(url)).collect();
                // A target profile narrows the types the base definition allows: a reference to another
                // type (a handover whose subject is not a Patient) is an error, not a silent pass.
                if let (Some(kind), false) = (kind, known.is_empty()) {
                    if !known.iter().any(|p| p.resource_type == kind) {
                        let mut allowed: Vec<&str> = known.iter().map(|p| p.resource_type.as_str()).collect();
                        allowed.dedup();
                        let text = match allowed.len() {
                            1 => Text::new("profile-target-type"),
                            _ => Text::new("profile-target-types"),
                        };
                        let text = alternatives(text, &allowed).arg("type", kind);
                        self.issues.report(issue(Severity::Error, IssueCode::Value, text, at.clone()));
                    }
                }
                for profile in known.into_iter().filter(|p| Some(p.resource_type.as_str()) == kind) {
                    self.check_resource(target, profile);
                }
            }
        }
        for constraint in &node.constraints {
            if !constraint.expr.holds(item) {
                let severity = if constraint.error { Severity::Error } else { Severity::Warning };
                // Written in the caller's language by its key, from `constraints.ftl` (`Issue::text_in`).
                let message = format!("{}: {}", constraint.key, constraint.human);
                self.issues.report(Issue::error(IssueCode::Invariant, message).severity(severity).at(at.clone()));
            }
        }
        if item.is_object() {
            self.check_children(node, item, &at);
        }
    }

    fn check_binding(&mut self, value_set: &str, item: &Json<'_>, at: &str) {
        let codes: Vec<(Option<&str>, &str)> = match item {
            Json::Str(code) => vec![(None, code.as_ref())],
            Json::Object(map) => {
                let codings: Vec<&Json<'_>> = match map.get("coding").and_then(Json::as_array) {
                    Some(codings) => codings.iter().collect(),
                    None => vec![item],
                };
                codings.into_iter().filter_map(|c| Some((c.str_field("system"), c.str_field("code")?))).collect()
            }
            _ => Vec::new(),
        };
        let values = &self.catalog.value_sets;
        if !codes.iter().any(|(system, code)| values.contains(value_set, *system, code)) {
            let shown: Vec<&str> = codes.iter().map(|(_, c)| *c).collect();
            self.issues.report(issue(
                Severity::Error,
                IssueCode::CodeInvalid,
                Text::new("profile-code-not-in-value-set").arg("codes", shown.join(", ")).arg("valueset", value_set),
                at.to_owned(),
            ));
        }
    }

    fn check_children(&mut self, node: &'a Node, object: &'a Json<'a>, at: &str) {
        let Some(map) = object.as_object() else { return };
        for child in &node.children {
            let name = child.name.trim_end_matches("[x]");
            let found = map.get_key_value(name).or_else(|| {
                child.name.ends_with("[x]").then(|| {
                    map.iter().find(|(k, _)| {
                        k.strip_prefix(name).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
                    })
                })?
            });
            let items: Vec<(&'a Json<'a>, String)> = match found {
                Some((key, Json::Array(items))) => {
                    items.iter().enumerate().map(|(k, v)| (v, format!("{at}.{key}[{k}]"))).collect()
                }
                Some((_, Json::Null)) | None => Vec::new(),
                Some((key, value)) => vec![(value, format!("{at}.{key}"))],
            };
            let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
            if let Some(min) = child.min.filter(|&min| count < min) {
                self.issues.report(issue(
                    Severity::Error,
                    IssueCode::Required,
                    Text::new("profile-min").arg("element", name).num("min", min).num("count", count),
                    format!("{at}.{name}"),
                ));
            }
            if let Some(max) = child.max_count().filter(|&max| count > max) {
                self.issues.report(issue(
                    Severity::Error,
                    IssueCode::Structure,
                    Text::new("profile-max").arg("element", name).num("max", max).num("count", count),
                    format!("{at}.{name}"),
                ));
            }
            if !child.slices.is_empty() {
                self.check_slices(child, &items, &format!("{at}.{name}"));
            }
            for (item, item_at) in items {
                self.check_element(child, item, item_at);
            }
        }
    }

    fn check_slices(&mut self, sliced: &'a Node, items: &[(&'a Json<'a>, String)], at: &str) {
        if sliced.slicing_unchecked {
            return;
        }
        let mut counts = vec![0u32; sliced.slices.len()];
        for (item, item_at) in items {
            let Some(s) = sliced.slices.iter().position(|slice| slice_matches(sliced, slice, item)) else { continue };
            counts[s] += 1;
            self.check_element(&sliced.slices[s], item, item_at.clone());
        }
        for (slice, count) in sliced.slices.iter().zip(counts) {
            if slice.min.is_none_or(|min| count >= min) && slice.max_count().is_none_or(|max| count <= max) {
                continue;
            }
            let what = slice_description(sliced, slice);
            let named = |plain: Text, with_pattern: Text| {
                let text = match &what {
                    Some(pattern) => with_pattern.arg("pattern", pattern),
                    None => plain,
                };
                text.arg("element", &sliced.name).arg("slice", &slice.name).num("count", count)
            };
            if let Some(min) = slice.min.filter(|&min| count < min) {
                self.issues.report(issue(
                    Severity::Error,
                    IssueCode::Required,
                    named(Text::new("profile-slice-min"), Text::new("profile-slice-min-pattern")).num("min", min),
                    format!("{at}:{}", slice.name),
                ));
            }
            if let Some(max) = slice.max_count().filter(|&max| count > max) {
                self.issues.report(issue(
                    Severity::Error,
                    IssueCode::Structure,
                    named(Text::new("profile-slice-max"), Text::new("profile-slice-max-pattern")).num("max", max),
                    format!("{at}:{}", slice.name),
                ));
            }
        }
    }
}

/// The slice's rule at a discriminator path: the node reached by following `path` from the slice.
fn rule_at<'n>(slice: &'n Node, path: &[String]) -> Option<&'n Node> {
    path.iter().try_fold(slice, |node, name| node.children.iter().find(|c| &c.name == name))
}

fn value_at<'v>(item: &'v Json<'v>, path: &[String]) -> Vec<&'v Json<'v>> {
    let mut current = vec![item];
    for name in path {
        current = current
            .into_iter()
            .filter_map(|v| v.field(name))
            .flat_map(|v| match v {
                Json::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            })
            .collect();
    }
    current
}

/// Whether `item` belongs to `slice`: at every discriminator path, the item matches the slice's pattern.
fn slice_matches(sliced: &Node, slice: &Node, item: &Json<'_>) -> bool {
    !sliced.discriminators.is_empty()
        && sliced.discriminators.iter().all(|d| {
            let Some(pattern) = rule_at(slice, &d.path).and_then(|rule| rule.pattern.as_ref()) else { return false };
            value_at(item, &d.path).iter().any(|v| matches_pattern(v, pattern))
        })
}

/// The pattern a slice is told by, described (see [`describe`]), if it has one.
fn slice_description(sliced: &Node, slice: &Node) -> Option<String> {
    sliced
        .discriminators
        .first()
        .and_then(|d| rule_at(slice, &d.path))
        .and_then(|rule| rule.pattern.as_ref())
        .map(describe)
}

/// Validates a message Bundle: integrity, then (`with_profile`) the focus against the kind's profile.
pub fn message(catalog: &Catalog, submission: &Submission, with_profile: bool) -> Vec<Issue> {
    let bundle = submission.document();
    let (event_system, event_code) = (&submission.event().system, &submission.event().code);
    let entries = bundle.items("entry");
    let index = Index::new(entries, submission.index());
    let mut issues = Vec::new();
    // Identifiers of declared systems are checked in handovers, not in the receivers' answers.
    let identifiers = with_profile.then_some(&catalog.identifiers);
    catalog.base().walk(bundle, "Bundle", &mut issues, &mut |site, issues| match site {
        Site::Reference(site) => index.check_reference(site, issues),
        Site::Identifier(site) => identifiers.into_iter().for_each(|checks| checks.check(&site, issues)),
    });
    let mut walk = Walk { catalog, index, checked: HashSet::new(), issues };
    walk.check_one_patient();
    let header = entries.first().and_then(|e| e.field("resource"));
    let focus = header.and_then(|h| h.items("focus").first()).and_then(|f| f.str_field("reference"));
    if let Some(kind) = catalog.kind(event_system, event_code).filter(|_| with_profile) {
        match focus {
            None => walk.issues.report(issue(
                Severity::Error,
                IssueCode::Required,
                Text::new("profile-focus-missing").arg("type", &kind.focus_type),
                "Bundle.entry[0].resource.focus".into(),
            )),
            Some(reference) => {
                // An unresolved focus is already reported as an unresolved reference.
                if let Some(target) = walk.resolve(reference) {
                    if let Some(profile) = kind.focus_profile.as_deref().and_then(|url| catalog.profile(url)) {
                        walk.check_resource(target, profile);
                    }
                }
            }
        }
    }
    dedup(walk.issues)
}

/// One issue per (code, place): the base model and a profile may both require the same element. Broken
/// invariants are kept apart by their rule: several sections missing from one Composition are several
/// issues at the same place.
fn dedup(issues: Vec<Issue>) -> Vec<Issue> {
    let mut seen = HashSet::new();
    issues
        .into_iter()
        .filter(|i| {
            let rule = (i.code == IssueCode::Invariant).then(|| i.message.clone());
            seen.insert((i.code, i.expression.clone(), rule))
        })
        .collect()
}

/// Validates one resource (or the first resource of the profile's type in a Bundle) against a profile.
pub fn against_profile<'a>(catalog: &Catalog, document: &'a Json<'a>, profile: &Profile) -> Vec<Issue> {
    let single;
    let entries: &[Json<'_>] = match document.field("entry").and_then(Json::as_array) {
        Some(entries) if document.str_field("resourceType") == Some("Bundle") => entries,
        _ => {
            single = [Json::Object(Object::from(vec![("resource", document.clone())]))];
            &single
        }
    };
    let refs = BundleIndex::new(entries);
    let mut walk = Walk { catalog, index: Index::new(entries, &refs), checked: HashSet::new(), issues: Vec::new() };
    match (0..entries.len()).find(|&i| walk.index.kind(i) == Some(profile.resource_type.as_str())) {
        Some(i) => walk.check_resource(i, profile),
        None => walk.issues.report(issue(
            Severity::Error,
            IssueCode::NotFound,
            Text::new("profile-nothing-to-check").arg("type", &profile.resource_type).arg("profile", &profile.url),
            "Bundle.entry".into(),
        )),
    }
    dedup(walk.issues)
}
