//! StructureDefinitions compiled into trees of element rules.
//!
//! A profile's `differential` is turned into one [`Node`] per element id (`Composition.section`,
//! `Composition.section:medications`, `Composition.section:medications.entry`), children under their
//! parents and slices under their sliced element, so that validation walks the instance and the rules
//! together, once.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fhirpath::Expr;
use crate::json::Json;

#[derive(Debug, thiserror::Error)]
pub enum StructureError {
    #[error("StructureDefinition {url}: {problem}")]
    Invalid { url: String, problem: String },
}

/// A `constraint` of an element.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub key: String,
    pub error: bool,
    pub human: String,
    pub expr: Expr,
}

/// How items of a sliced element are told apart.
#[derive(Debug, Clone)]
pub struct Discriminator {
    /// Path inside the item, e.g. `code` or `system` (`$this` for the item itself).
    pub path: Vec<String>,
}

/// The rules of one element (or slice).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub min: Option<u32>,
    /// `None`: not constrained here; `Some(None)`: `*`.
    pub max: Option<Option<u32>>,
    /// `pattern[x]` (instance contains it) or `fixed[x]` (instance equals it).
    pub pattern: Option<Value>,
    pub fixed: bool,
    pub target_profiles: Vec<String>,
    /// A required binding: the ValueSet canonical.
    pub required_value_set: Option<String>,
    pub constraints: Vec<Constraint>,
    pub discriminators: Vec<Discriminator>,
    /// The slicing uses discriminators this validator does not evaluate: its slices are not checked.
    pub slicing_unchecked: bool,
    pub slices: Vec<Node>,
    pub children: Vec<Node>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        if let Some(i) = self.children.iter().position(|c| c.name == name) {
            return &mut self.children[i];
        }
        self.children.push(Node { name: name.to_owned(), ..Node::default() });
        self.children.last_mut().unwrap_or_else(|| unreachable!("just pushed"))
    }

    fn slice(&mut self, name: &str) -> &mut Node {
        if let Some(i) = self.slices.iter().position(|c| c.name == name) {
            return &mut self.slices[i];
        }
        self.slices.push(Node { name: name.to_owned(), ..Node::default() });
        self.slices.last_mut().unwrap_or_else(|| unreachable!("just pushed"))
    }

    /// The `max` in force: unconstrained means `*`.
    pub fn max_count(&self) -> Option<u32> {
        self.max.flatten()
    }
}

/// A compiled profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub url: String,
    pub resource_type: String,
    pub root: Node,
    /// Compiled with [`Unsupported::Refuse`]: everything it says is checked.
    pub strict: bool,
    /// What an adopted profile says that this validator does not check (see [`Unsupported::Skip`]).
    pub not_checked: Vec<String>,
}

/// What to do with a profile feature outside the supported subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// Fail to load: for the broker's own handover profiles, where a rule that is not checked would be
    /// a silent hole.
    Refuse,
    /// Load what is supported and list the rest in `Profile::not_checked`: for adopted published
    /// profiles (e.g. the HL7 IPS), whose full feature set this validator does not cover yet.
    Skip,
}

fn pattern_of(element: &Value) -> Option<(Value, bool)> {
    let map = element.as_object()?;
    map.iter().find_map(|(key, value)| {
        if key.starts_with("pattern") {
            Some((value.clone(), false))
        } else if key.starts_with("fixed") {
            Some((value.clone(), true))
        } else {
            None
        }
    })
}

/// Compiles a StructureDefinition's differential.
pub fn compile(sd: &Value, unsupported: Unsupported) -> Result<Profile, StructureError> {
    let url = sd.get("url").and_then(Value::as_str).unwrap_or("(no url)").to_owned();
    let mut compiler = Compiler { url, unsupported, not_checked: Vec::new() };
    let resource_type =
        sd.get("type").and_then(Value::as_str).ok_or_else(|| compiler.invalid("no type".into()))?.to_owned();
    let elements = sd
        .get("differential")
        .and_then(|d| d.get("element"))
        .and_then(Value::as_array)
        .ok_or_else(|| compiler.invalid("no differential.element".into()))?;
    let mut root = Node { name: resource_type.clone(), ..Node::default() };
    for element in elements {
        compiler.element(&mut root, &resource_type, element)?;
    }
    if unsupported == Unsupported::Refuse {
        if let Some(node) = slices_without_discriminator(&root) {
            return Err(compiler.invalid(format!("{}: slices without slicing.discriminator", node.name)));
        }
    }
    let Compiler { url, not_checked, .. } = compiler;
    Ok(Profile { url, resource_type, root, strict: unsupported == Unsupported::Refuse, not_checked })
}

/// The state of one compilation: the profile's url for errors, and what it does not check.
struct Compiler {
    url: String,
    unsupported: Unsupported,
    not_checked: Vec<String>,
}

impl Compiler {
    /// An error about the StructureDefinition being compiled.
    fn invalid(&self, problem: String) -> StructureError {
        StructureError::Invalid { url: self.url.clone(), problem }
    }

    /// A feature outside the supported subset: refused, or noted and gone on from.
    fn unsupported_here(&mut self, problem: String) -> Result<(), StructureError> {
        match self.unsupported {
            Unsupported::Refuse => Err(self.invalid(problem)),
            Unsupported::Skip => {
                self.not_checked.push(problem);
                Ok(())
            }
        }
    }

    /// Adds the rules of one differential element to the node its id names.
    fn element(&mut self, root: &mut Node, resource_type: &str, element: &Value) -> Result<(), StructureError> {
        let id = element
            .get("id")
            .or_else(|| element.get("path"))
            .and_then(Value::as_str)
            .ok_or_else(|| self.invalid("an element without id or path".into()))?;
        let Some(node) = self.node(root, resource_type, id)? else { return Ok(()) };
        self.cardinality(node, id, element)?;
        if let Some((pattern, fixed)) = pattern_of(element) {
            node.pattern = Some(pattern);
            node.fixed = fixed;
        }
        for kind in element.get("type").and_then(Value::as_array).into_iter().flatten() {
            let targets = kind.get("targetProfile").and_then(Value::as_array).into_iter().flatten();
            node.target_profiles.extend(targets.filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(binding) = element.get("binding") {
            if binding.get("strength").and_then(Value::as_str) == Some("required") {
                node.required_value_set = binding.get("valueSet").and_then(Value::as_str).map(str::to_owned);
            }
        }
        self.slicing(node, id, element)?;
        self.constraints(node, element)
    }

    /// The node an element id names, made on the way; `None` for an element not on the profile's type.
    fn node<'r>(
        &mut self,
        root: &'r mut Node,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<&'r mut Node>, StructureError> {
        let mut segments = id.split('.');
        if segments.next().map(|s| s.split(':').next()) != Some(Some(resource_type)) {
            self.unsupported_here(format!("element {id} is not on {resource_type}"))?;
            return Ok(None);
        }
        let mut node = root;
        for segment in segments {
            let (name, slice) = match segment.split_once(':') {
                Some((name, slice)) => (name, Some(slice)),
                None => (segment, None),
            };
            node = node.child(name);
            if let Some(slice) = slice {
                node = node.slice(slice);
            }
        }
        Ok(Some(node))
    }

    /// Reads `min` and `max` (a `max` that is neither `*` nor a number is invalid).
    fn cardinality(&self, node: &mut Node, id: &str, element: &Value) -> Result<(), StructureError> {
        if let Some(min) = element.get("min").and_then(Value::as_u64) {
            node.min = Some(u32::try_from(min).unwrap_or(u32::MAX));
        }
        if let Some(max) = element.get("max").and_then(Value::as_str) {
            node.max = Some(if max == "*" {
                None
            } else {
                Some(max.parse().map_err(|_| self.invalid(format!("{id}: max {max:?}")))?)
            });
        }
        Ok(())
    }

    /// `slicing.discriminator`: all supported, or none kept and the slicing marked unchecked.
    fn slicing(&mut self, node: &mut Node, id: &str, element: &Value) -> Result<(), StructureError> {
        let mut discriminators = Vec::new();
        for discriminator in element.pointer("/slicing/discriminator").and_then(Value::as_array).into_iter().flatten() {
            let path = discriminator.get("path").and_then(Value::as_str).unwrap_or("$this");
            let kind = discriminator.get("type").and_then(Value::as_str).unwrap_or("value");
            if (kind != "pattern" && kind != "value") || path.contains('(') {
                // All or nothing: a slicing checked on some of its discriminators would mis-assign items.
                self.unsupported_here(format!("{id}: slicing by {kind} discriminator at {path}"))?;
                discriminators.clear();
                node.slicing_unchecked = true;
                break;
            }
            let path = if path == "$this" { Vec::new() } else { path.split('.').map(str::to_owned).collect() };
            discriminators.push(Discriminator { path });
        }
        node.discriminators.extend(discriminators);
        Ok(())
    }

    /// `constraint`s, their FHIRPath parsed; one that does not parse is refused or skipped.
    fn constraints(&mut self, node: &mut Node, element: &Value) -> Result<(), StructureError> {
        for constraint in element.get("constraint").and_then(Value::as_array).into_iter().flatten() {
            let key = constraint.get("key").and_then(Value::as_str).unwrap_or("(no key)").to_owned();
            let expression = constraint.get("expression").and_then(Value::as_str).unwrap_or_default();
            let expr = match Expr::parse(expression) {
                Ok(expr) => expr,
                Err(e) => {
                    self.unsupported_here(format!("constraint {key}: {e}"))?;
                    continue;
                }
            };
            node.constraints.push(Constraint {
                error: constraint.get("severity").and_then(Value::as_str) != Some("warning"),
                human: constraint.get("human").and_then(Value::as_str).unwrap_or(&key).to_owned(),
                key,
                expr,
            });
        }
        Ok(())
    }
}

/// A node (depth first, last child first) that has slices but no discriminator to assign items to them.
fn slices_without_discriminator(root: &Node) -> Option<&Node> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if !node.slices.is_empty() && node.discriminators.is_empty() {
            return Some(node);
        }
        stack.extend(node.children.iter().chain(&node.slices));
    }
    None
}

/// Required-binding ValueSets: canonical → allowed (system, code) pairs.
#[derive(Debug, Clone, Default)]
pub struct ValueSets {
    sets: BTreeMap<String, Vec<(String, String)>>,
}

impl ValueSets {
    /// Adds a ValueSet whose codes are listed in `compose.include[].concept`.
    pub fn add(&mut self, vs: &Value) {
        let Some(url) = vs.get("url").and_then(Value::as_str) else { return };
        let mut codes = Vec::new();
        for include in vs.pointer("/compose/include").and_then(Value::as_array).into_iter().flatten() {
            let system = include.get("system").and_then(Value::as_str).unwrap_or_default();
            for concept in include.get("concept").and_then(Value::as_array).into_iter().flatten() {
                if let Some(code) = concept.get("code").and_then(Value::as_str) {
                    codes.push((system.to_owned(), code.to_owned()));
                }
            }
        }
        self.sets.insert(url.to_owned(), codes);
    }

    /// Whether `url` is loaded.
    pub fn knows(&self, url: &str) -> bool {
        self.sets.contains_key(url.split('|').next().unwrap_or(url))
    }

    /// The (system, code) pairs of a ValueSet (empty when it is not loaded).
    pub fn codes(&self, url: &str) -> &[(String, String)] {
        self.sets.get(url.split('|').next().unwrap_or(url)).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether a code (with its system, when the element carries one) is in the ValueSet.
    pub fn contains(&self, url: &str, system: Option<&str>, code: &str) -> bool {
        let url = url.split('|').next().unwrap_or(url);
        self.sets
            .get(url)
            .is_some_and(|codes| codes.iter().any(|(s, c)| c == code && system.is_none_or(|system| system == s)))
    }
}

/// Whether `instance` contains everything `pattern` says (FHIR pattern[x] semantics): objects by
/// member, arrays by each pattern item matching some instance item, primitives by equality.
pub fn matches_pattern(instance: &Json<'_>, pattern: &Value) -> bool {
    match (instance, pattern) {
        (Json::Object(i), Value::Object(p)) => {
            p.iter().all(|(key, pv)| i.get(key).is_some_and(|iv| matches_pattern(iv, pv)))
        }
        (Json::Array(i), Value::Array(p)) => p.iter().all(|pv| i.iter().any(|iv| matches_pattern(iv, pv))),
        (i, Value::Array(p)) => p.len() == 1 && matches_pattern(i, &p[0]),
        (i, p) => same_primitive(i, p),
    }
}

/// Whether `instance` is exactly `fixed` (FHIR fixed[x] semantics): nothing more, nothing less.
pub fn equals_fixed(instance: &Json<'_>, fixed: &Value) -> bool {
    match (instance, fixed) {
        (Json::Object(i), Value::Object(f)) => {
            i.len() == f.len() && f.iter().all(|(key, fv)| i.get(key).is_some_and(|iv| equals_fixed(iv, fv)))
        }
        (Json::Array(i), Value::Array(f)) => i.len() == f.len() && i.iter().zip(f).all(|(iv, fv)| equals_fixed(iv, fv)),
        (i, f) => same_primitive(i, f),
    }
}

fn same_primitive(instance: &Json<'_>, value: &Value) -> bool {
    match (instance, value) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::Str(a), Value::String(b)) => a == b,
        (Json::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(text: &str) -> Json<'_> {
        crate::json::parse(text).unwrap()
    }

    #[test]
    fn patterns_match_by_containment() {
        let pattern = json!({ "coding": [{ "system": "http://loinc.org", "code": "18842-5" }] });
        let instance = r#"{ "coding": [
            { "system": "urn:other", "code": "x" },
            { "system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary" }
        ], "text": "Ontslagbrief" }"#;
        assert!(matches_pattern(&tree(instance), &pattern));
        let wrong = r#"{ "coding": [{ "system": "http://loinc.org", "code": "11488-4" }] }"#;
        assert!(!matches_pattern(&tree(wrong), &pattern));
        assert!(!matches_pattern(&tree("{}"), &pattern));
    }

    #[test]
    fn fixed_values_match_exactly_and_numbers_by_value() {
        let fixed = json!({ "system": "urn:s", "code": "a", "version": 2 });
        assert!(equals_fixed(&tree(r#"{"code":"a","version":2,"system":"urn:s"}"#), &fixed));
        assert!(!equals_fixed(&tree(r#"{"code":"a","version":2,"system":"urn:s","display":"x"}"#), &fixed));
        assert!(!equals_fixed(&tree(r#"{"code":"a","version":2.5,"system":"urn:s"}"#), &fixed));
        assert!(equals_fixed(&tree("1.5"), &json!(1.5)));
        assert!(!equals_fixed(&tree("\"1\""), &json!(1)));
    }

    #[test]
    fn a_differential_becomes_a_tree_with_slices() {
        let sd = json!({
            "url": "urn:p", "type": "Composition",
            "differential": { "element": [
                { "id": "Composition", "path": "Composition" },
                { "id": "Composition.section", "path": "Composition.section",
                  "slicing": { "discriminator": [{ "type": "pattern", "path": "code" }], "rules": "open" } },
                { "id": "Composition.section:meds", "path": "Composition.section", "sliceName": "meds", "min": 1, "max": "1",
                  "constraint": [{ "key": "k", "severity": "error", "human": "h", "expression": "entry.exists()" }] },
                { "id": "Composition.section:meds.code", "path": "Composition.section.code",
                  "patternCodeableConcept": { "coding": [{ "code": "10183-2" }] } },
                { "id": "Composition.subject", "path": "Composition.subject", "min": 1,
                  "type": [{ "code": "Reference", "targetProfile": ["urn:patient"] }] }
            ] }
        });
        let profile = compile(&sd, Unsupported::Refuse).unwrap();
        assert_eq!(profile.resource_type, "Composition");
        let section = &profile.root.children[0];
        assert_eq!(section.discriminators[0].path, ["code"]);
        let meds = &section.slices[0];
        assert_eq!((meds.name.as_str(), meds.min, meds.max_count()), ("meds", Some(1), Some(1)));
        assert!(meds.children[0].pattern.is_some());
        assert_eq!(profile.root.children[1].target_profiles, ["urn:patient"]);
    }

    #[test]
    fn unsupported_constraints_fail_to_load() {
        let sd = json!({ "url": "urn:p", "type": "Patient", "differential": { "element": [
            { "id": "Patient", "constraint": [{ "key": "x", "expression": "name.resolve()" }] } ] } });
        assert!(compile(&sd, Unsupported::Refuse).is_err());
        let lenient = compile(&sd, Unsupported::Skip).unwrap();
        assert!(lenient.root.constraints.is_empty());
        assert_eq!(lenient.not_checked.len(), 1);
    }
}
