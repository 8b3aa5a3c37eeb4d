//! The FHIR XML rules (hl7.org/fhir/R4/xml.html against json.html) applied to the elements read: one walk
//! over the nodes that says, in JSON's terms, what the resource holds, to a [`Sink`] that either builds the
//! tree the validator checks or writes JSON text. One walk for both, so that the tree checked and the text
//! stored cannot disagree.

use std::borrow::Cow;

use super::read::{attribute, Node};
use super::{refuse_at, At, XmlError};
use crate::profiles::base::{BaseModel, ElementShape, ValueKind};

/// What receives the walk's JSON: values in document order, members of an object each after its key.
pub(super) trait Sink<'x> {
    fn begin_object(&mut self);
    fn end_object(&mut self);
    fn begin_array(&mut self);
    fn end_array(&mut self);
    /// The key of the next member of the open object.
    fn key(&mut self, key: &'x str);
    /// The key `_name` (a primitive's ids and extensions).
    fn underscored_key(&mut self, name: &'x str);
    fn string(&mut self, text: Cow<'x, str>);
    /// A primitive's value of kind `kind`, its text checked by [`scalar_ok`].
    fn scalar(&mut self, text: Cow<'x, str>, kind: ValueKind);
    fn null(&mut self);
}

/// Walks resource `node` (whose name is its type) as a JSON object.
pub(super) fn resource<'x>(
    node: &Node<'x>,
    model: &BaseModel,
    out: &mut impl Sink<'x>,
    at: &At<'_>,
) -> Result<(), XmlError> {
    for (key, _) in &node.attributes {
        if *key != "xmlns" {
            return Err(refuse_at(format!("a resource element takes no attribute {key}"), at));
        }
    }
    out.begin_object();
    out.key("resourceType");
    out.string(Cow::Borrowed(node.name));
    members(node, node.name, model, out, at)?;
    out.end_object();
    Ok(())
}

/// Walks the members of `node`, an element of type `owner`, into the object already open.
fn members<'x>(
    node: &Node<'x>,
    owner: &str,
    model: &BaseModel,
    out: &mut impl Sink<'x>,
    at: &At<'_>,
) -> Result<(), XmlError> {
    // Attributes of a complex element: its id, an extension's url.
    for (key, value) in &node.attributes {
        match *key {
            "xmlns" if node.name == owner => {}
            "id" | "url" => {
                out.key(key);
                out.string(value.clone());
            }
            other => return Err(refuse_at(format!("unknown attribute {other}"), at)),
        }
    }
    // Children, grouped by name in the order they first appear (XML repeats an element; JSON lists it).
    // A name already walked is skipped: its group was walked where it first appeared. A repeat
    // follows its previous occurrence (FHIR XML keeps definition order), so only the first of a run
    // looks further back: a Bundle's thousand entries cost one comparison each, not a thousand.
    for (position, child) in node.children.iter().enumerate() {
        let name = child.name;
        let continues_run = position > 0 && node.children[position - 1].name == name;
        if continues_run || node.children[..position].iter().any(|earlier| earlier.name == name) {
            continue;
        }
        let group = || node.children[position..].iter().filter(move |c| c.name == name);
        let count = group().count();
        let here = at.child(name);
        let Some((shape, repeats)) = model.element_shape(owner, name) else {
            return Err(refuse_at(format!("{owner} has no element {name}"), &here));
        };
        if !repeats && count > 1 {
            return Err(refuse_at(format!("{name} appears {count} times; it does not repeat"), &here));
        }
        match shape {
            ElementShape::Primitive(kind) => primitive(group, name, kind, repeats, model, out, &here)?,
            ElementShape::Resource => {
                out.key(name);
                list(out, repeats, group(), |out, node, i| {
                    let at = here.nth(repeats, i);
                    let [inner] = node.children.as_slice() else {
                        return Err(refuse_at(format!("{name} holds exactly one resource element"), &at));
                    };
                    if !model.is_resource(inner.name) {
                        return Err(refuse_at(format!("{} is no FHIR resource", inner.name), &at));
                    }
                    resource(inner, model, out, &at)
                })?;
            }
            ElementShape::Xhtml => {
                let markup = child.markup.clone().ok_or_else(|| refuse_at("narrative without markup", &here))?;
                out.key(name);
                out.string(markup);
            }
            ElementShape::Complex(type_name) => {
                out.key(name);
                list(out, repeats, group(), |out, node, i| {
                    if attribute(node, "value").is_some() {
                        return Err(refuse_at(format!("{name} is no primitive: it takes no value attribute"), &here));
                    }
                    out.begin_object();
                    members(node, type_name, model, out, &here.nth(repeats, i))?;
                    out.end_object();
                    Ok(())
                })?;
            }
        }
    }
    Ok(())
}

/// Walks a primitive element: its values under `name`, its ids and extensions under `_name`.
fn primitive<'n, 'x: 'n, I>(
    group: impl Fn() -> I,
    name: &'x str,
    kind: ValueKind,
    repeats: bool,
    model: &BaseModel,
    out: &mut impl Sink<'x>,
    at: &At<'_>,
) -> Result<(), XmlError>
where
    I: Iterator<Item = &'n Node<'x>>,
{
    // First the checks, and whether any value and any id or extension is there at all.
    let (mut any_value, mut any_extra) = (false, false);
    for (i, node) in group().enumerate() {
        let here = at.nth(repeats, i);
        for (key, _) in &node.attributes {
            if *key != "value" && *key != "id" {
                return Err(refuse_at(format!("a primitive takes value and id attributes, not {key}"), &here));
            }
        }
        if node.children.iter().any(|c| c.name != "extension") {
            return Err(refuse_at("a primitive holds only extensions", &here));
        }
        let value = attribute(node, "value");
        if let Some(text) = value {
            if !scalar_ok(text, kind) {
                return Err(refuse_at(format!("not a valid {kind:?} value"), &here));
            }
        }
        let extra = attribute(node, "id").is_some() || !node.children.is_empty();
        if value.is_none() && !extra {
            return Err(refuse_at("an element with neither a value nor extensions", &here));
        }
        any_value |= value.is_some();
        any_extra |= extra;
    }
    // Then the values, and the ids and extensions, each a scalar or (repeating) an array with `null`
    // where an occurrence has none.
    if any_value {
        out.key(name);
        list(out, repeats, group(), |out, node, _| {
            match value_of(node) {
                Some(text) => out.scalar(text, kind),
                None => out.null(),
            }
            Ok(())
        })?;
    }
    if any_extra {
        out.underscored_key(name);
        list(out, repeats, group(), |out, node, i| {
            let id = node.attributes.iter().find(|(key, _)| *key == "id").map(|(_, v)| v.clone());
            if id.is_none() && node.children.is_empty() {
                out.null();
                return Ok(());
            }
            out.begin_object();
            if let Some(id) = id {
                out.key("id");
                out.string(id);
            }
            if !node.children.is_empty() {
                out.key("extension");
                out.begin_array();
                let extension = at.nth(repeats, i);
                let extension = extension.child("extension");
                for (j, child) in node.children.iter().enumerate() {
                    out.begin_object();
                    members(child, "Extension", model, out, &extension.nth(true, j))?;
                    out.end_object();
                }
                out.end_array();
            }
            out.end_object();
            Ok(())
        })?;
    }
    Ok(())
}

fn value_of<'x>(node: &Node<'x>) -> Option<Cow<'x, str>> {
    node.attributes.iter().find(|(key, _)| *key == "value").map(|(_, value)| value.clone())
}

/// Walks `group` as one value, or as an array when the element repeats.
fn list<'n, 'x: 'n, S: Sink<'x>>(
    out: &mut S,
    repeats: bool,
    group: impl Iterator<Item = &'n Node<'x>>,
    mut each: impl FnMut(&mut S, &'n Node<'x>, usize) -> Result<(), XmlError>,
) -> Result<(), XmlError> {
    if repeats {
        out.begin_array();
    }
    for (i, node) in group.enumerate() {
        each(out, node, i)?;
    }
    if repeats {
        out.end_array();
    }
    Ok(())
}

/// Whether `text` is a valid value of its JSON kind. A number must also fit a 64-bit float, as the
/// JSON path requires (`1e999` is refused there as out of range).
pub(super) fn scalar_ok(text: &str, kind: ValueKind) -> bool {
    match kind {
        ValueKind::Boolean => matches!(text, "true" | "false"),
        ValueKind::Number => is_json_number(text) && text.parse::<f64>().is_ok_and(f64::is_finite),
        ValueKind::String => true,
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: what JSON (and FHIR's decimal) allows.
pub(super) fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = i;
    if digits(&mut i) == 0 || (bytes[whole] == b'0' && i - whole > 1) {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}
