//! FHIR XML (issue 15, first part): a resource in FHIR's XML representation becomes the same resource in
//! its JSON representation, as JSON text that the envelope then parses and the validator checks like any
//! JSON submission ([`to_json`]); and back ([`to_xml`], elements in definition order).
//!
//! XML and JSON carry the same content by different rules (hl7.org/fhir/R4/xml.html, json.html), and
//! the conversion needs the base model to know them: whether an element repeats (JSON array), whether
//! it is a primitive (XML `value` attribute, JSON scalar of its kind, with `id` and extensions moved to
//! `_name`), a resource (XML wraps it in an element named after its type, JSON names it in
//! `resourceType`) or narrative XHTML (XML markup, a JSON string of that markup). Numbers keep their
//! written form (a decimal's precision is part of its value).
//!
//! Hostile XML is refused, never expanded: no DTD (so no entity can be declared, and no external one
//! fetched), no entity but the five predefined and character references, no processing instruction,
//! no text where FHIR has none; nesting and the number of elements are limited like JSON's.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::profiles::base::{BaseModel, ElementShape, ValueKind};

/// The FHIR namespace, the default namespace of every FHIR XML document.
pub const FHIR_NS: &str = "http://hl7.org/fhir";
/// The XHTML namespace of narrative `div`s.
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Why an XML document was refused: what, and where (a FHIRPath-like location when known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct XmlError {
    pub problem: String,
    pub at: Option<String>,
}

impl XmlError {
    /// The refusal as the issue a client reads (400 wherever XML is read).
    pub fn issue(&self) -> crate::outcome::Issue {
        let issue = crate::outcome::Issue::error(
            crate::outcome::IssueCode::Structure,
            format!("not a FHIR XML resource: {}", self.problem),
        );
        match &self.at {
            Some(at) => issue.at(at),
            None => issue,
        }
    }
}

fn refuse(problem: impl Into<String>, at: Option<&str>) -> XmlError {
    XmlError { problem: problem.into(), at: at.map(str::to_owned) }
}

/// How much XML is read.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// Element nesting (as `limits.max_json_depth`).
    pub max_depth: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
}

impl XmlLimits {
    /// The limits of a request body: JSON's nesting limit, and one element per 20 bytes of the body
    /// limit (a real handover has far fewer: the 116 KB discharge letter about 3,000), which bounds the
    /// tree held while converting whatever the body holds.
    pub fn of(limits: &crate::config::Limits) -> Self {
        Self { max_depth: limits.max_json_depth, max_elements: (limits.max_body_bytes / 20).max(10_000) }
    }
}

/// One element as read: its name, attributes and children, or (a narrative `div`) its markup. Names
/// and attribute values are borrowed from the received bytes unless unescaping changed them: the tree
/// costs one allocation per element with children, not one per string.
#[derive(Debug)]
struct Node<'x> {
    name: &'x str,
    attributes: Vec<(&'x str, Cow<'x, str>)>,
    children: Vec<Node<'x>>,
    /// The exact markup of an XHTML `div`.
    markup: Option<Cow<'x, str>>,
}

/// Where an element is, as a chain of steps from the root: rendered (`Bundle.entry[2].resource`) only
/// when a refusal names it, so that reading a valid document builds no location strings.
#[derive(Clone, Copy)]
struct At<'p> {
    parent: Option<&'p At<'p>>,
    name: &'p str,
    index: Option<usize>,
}

impl<'p> At<'p> {
    fn root(name: &'p str) -> Self {
        Self { parent: None, name, index: None }
    }

    fn child(&'p self, name: &'p str) -> Self {
        Self { parent: Some(self), name, index: None }
    }

    /// This element's `i`-th occurrence, when it repeats.
    fn nth(self, repeats: bool, i: usize) -> Self {
        Self { index: repeats.then_some(i), ..self }
    }

    fn render(&self) -> String {
        let mut out = match self.parent {
            Some(parent) => parent.render() + ".",
            None => String::new(),
        };
        out.push_str(self.name);
        if let Some(i) = self.index {
            let _ = write!(out, "[{i}]");
        }
        out
    }
}

fn refuse_at(problem: impl Into<String>, at: &At<'_>) -> XmlError {
    XmlError { problem: problem.into(), at: Some(at.render()) }
}

/// The JSON text of the FHIR resource in `xml`.
pub fn to_json(xml: &[u8], model: &BaseModel, limits: XmlLimits) -> Result<String, XmlError> {
    let root = read(xml, limits)?;
    if !model.is_resource(root.name) {
        return Err(refuse(format!("the root element {} is no FHIR resource", root.name), None));
    }
    if attribute(&root, "xmlns") != Some(FHIR_NS) {
        return Err(refuse(format!("the root element must be in the FHIR namespace {FHIR_NS}"), Some(root.name)));
    }
    let mut out = String::with_capacity(xml.len());
    resource(&root, model, &mut out, &At::root(root.name))?;
    Ok(out)
}

fn attribute<'n>(node: &'n Node<'_>, name: &str) -> Option<&'n str> {
    node.attributes.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_ref())
}

/// Reads the document into nodes, refusing what FHIR XML never holds.
fn read(xml: &[u8], limits: XmlLimits) -> Result<Node<'_>, XmlError> {
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<Node<'_>> = Vec::new();
    let mut elements = 0usize;
    let syntax = |e: quick_xml::Error| refuse(format!("not well-formed XML: {e}"), None);
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(syntax)?;
        match event {
            Event::Start(_) | Event::Empty(_) if stack.len() >= limits.max_depth => {
                return Err(refuse(format!("nested deeper than {} elements", limits.max_depth), None));
            }
            Event::Start(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(refuse(format!("more than {} elements", limits.max_elements), None));
                }
                let mut node = element(xml, &start)?;
                if node.name == "div" {
                    // Narrative: kept as written, markup and all, never interpreted here.
                    reader.read_to_end(start.name()).map_err(syntax)?;
                    let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                    let markup = xml.get(before..after).ok_or_else(|| refuse("cannot delimit a div", None))?;
                    let markup = std::str::from_utf8(markup).map_err(|_| refuse("a div is not UTF-8", None))?;
                    node.markup = Some(with_xhtml_namespace(markup.trim_start(), &node));
                    push(&mut stack, node)?;
                } else {
                    stack.push(node);
                }
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(refuse(format!("more than {} elements", limits.max_elements), None));
                }
                let node = element(xml, &start)?;
                if stack.is_empty() {
                    return finish(&mut reader, node);
                }
                if node.name == "div" {
                    let markup = std::str::from_utf8(xml.get(before..).unwrap_or_default())
                        .ok()
                        .and_then(|rest| rest.trim_start().split_inclusive("/>").next())
                        .unwrap_or_default();
                    let markup = with_xhtml_namespace(markup, &node);
                    let node = Node { markup: Some(markup), ..node };
                    push(&mut stack, node)?;
                } else {
                    push(&mut stack, node)?;
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| refuse("an end tag without its start", None))?;
                if stack.is_empty() {
                    return finish(&mut reader, node);
                }
                push(&mut stack, node)?;
            }
            Event::Text(text) => {
                // White space between elements is all FHIR XML has outside a div; anything else is
                // refused before unescaping (an entity there would be text too).
                if !text.iter().all(u8::is_ascii_whitespace) {
                    return Err(refuse(
                        "text outside a narrative div: FHIR XML carries values in value attributes",
                        None,
                    ));
                }
            }
            Event::CData(_) => return Err(refuse("CDATA sections are not FHIR XML", None)),
            Event::DocType(_) => {
                return Err(refuse("a document type declaration (DTD) is refused: FHIR XML has none", None))
            }
            Event::PI(_) => return Err(refuse("processing instructions are refused", None)),
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Eof => return Err(refuse("the document ends before its root element does", None)),
        }
    }
}

/// After the root element: only white space and comments may follow.
fn finish<'x>(reader: &mut Reader<&'x [u8]>, root: Node<'x>) -> Result<Node<'x>, XmlError> {
    loop {
        match reader.read_event().map_err(|e| refuse(format!("not well-formed XML: {e}"), None))? {
            Event::Eof => return Ok(root),
            Event::Comment(_) => {}
            Event::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
            _ => return Err(refuse("content after the root element", None)),
        }
    }
}

fn push<'x>(stack: &mut [Node<'x>], node: Node<'x>) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(node);
            Ok(())
        }
        None => Err(refuse("a narrative div is no resource", None)),
    }
}

/// The part of `xml` that `part` (a slice the reader handed out) is: events of a reader over a byte
/// slice borrow from it, which lets names and values outlive the event.
fn within<'x>(xml: &'x [u8], part: &[u8]) -> Option<&'x [u8]> {
    let start = (part.as_ptr() as usize).checked_sub(xml.as_ptr() as usize)?;
    xml.get(start..start.checked_add(part.len())?)
}

/// An element's name and attributes (namespace declarations kept as attributes, values unescaped:
/// only the predefined entities and character references are known, any other is an error).
fn element<'x>(xml: &'x [u8], start: &BytesStart<'_>) -> Result<Node<'x>, XmlError> {
    let qname = start.name();
    let name = within(xml, qname.as_ref()).ok_or_else(|| refuse("an element name outside the document", None))?;
    let name = std::str::from_utf8(name).map_err(|_| refuse("an element name is not UTF-8", None))?;
    if name.contains(':') {
        return Err(refuse(format!("namespace prefixes are not FHIR XML: {name}"), None));
    }
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| refuse(format!("a malformed attribute: {e}"), Some(name)))?;
        let key =
            within(xml, attribute.key.as_ref()).ok_or_else(|| refuse("an attribute outside the document", None))?;
        let key = std::str::from_utf8(key).map_err(|_| refuse("an attribute name is not UTF-8", None))?;
        let value = match within(xml, &attribute.value) {
            // Most values hold no reference and are borrowed as they are.
            Some(raw) if !raw.contains(&b'&') => {
                Cow::Borrowed(std::str::from_utf8(raw).map_err(|_| refuse("an attribute value is not UTF-8", None))?)
            }
            _ => Cow::Owned(
                attribute
                    .unescape_value()
                    .map_err(|e| refuse(format!("refused attribute {key}: {e}"), Some(name)))?
                    .into_owned(),
            ),
        };
        attributes.push((key, value));
    }
    Ok(Node { name, attributes, children: Vec::new(), markup: None })
}

/// JSON carries a div's markup with its namespace declared on the div itself.
fn with_xhtml_namespace<'x>(markup: &'x str, node: &Node<'_>) -> Cow<'x, str> {
    if attribute(node, "xmlns").is_some() {
        return Cow::Borrowed(markup);
    }
    match markup.strip_prefix("<div") {
        Some(rest) => Cow::Owned(format!("<div xmlns=\"{XHTML_NS}\"{rest}")),
        None => Cow::Borrowed(markup),
    }
}

/// Writes resource `node` (whose name is its type) as a JSON object.
fn resource(node: &Node<'_>, model: &BaseModel, out: &mut String, at: &At<'_>) -> Result<(), XmlError> {
    out.push_str("{\"resourceType\":");
    string(out, node.name);
    for (key, _) in &node.attributes {
        if *key != "xmlns" {
            return Err(refuse_at(format!("a resource element takes no attribute {key}"), at));
        }
    }
    members(node, node.name, model, out, at, false)?;
    out.push('}');
    Ok(())
}

/// Writes the members of `node`, an element of type `owner`, into the object already opened in `out`.
fn members(
    node: &Node<'_>,
    owner: &str,
    model: &BaseModel,
    out: &mut String,
    at: &At<'_>,
    mut first: bool,
) -> Result<(), XmlError> {
    let mut comma = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    // Attributes of a complex element: its id, an extension's url.
    for (key, value) in &node.attributes {
        match *key {
            "xmlns" if node.name == owner => {}
            "id" | "url" => {
                comma(out);
                string(out, key);
                out.push(':');
                string(out, value);
            }
            other => return Err(refuse_at(format!("unknown attribute {other}"), at)),
        }
    }
    // Children, grouped by name in the order they first appear (XML repeats an element; JSON lists it).
    // A name already written is skipped: its group was written where it first appeared. A repeat
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
            ElementShape::Primitive(kind) => primitive(group, name, kind, repeats, model, out, &here, &mut comma)?,
            ElementShape::Resource => {
                comma(out);
                string(out, name);
                out.push(':');
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
                comma(out);
                string(out, name);
                out.push(':');
                let markup = child.markup.as_deref().ok_or_else(|| refuse_at("narrative without markup", &here))?;
                string(out, markup);
            }
            ElementShape::Complex(type_name) => {
                comma(out);
                string(out, name);
                out.push(':');
                list(out, repeats, group(), |out, node, i| {
                    if attribute(node, "value").is_some() {
                        return Err(refuse_at(format!("{name} is no primitive: it takes no value attribute"), &here));
                    }
                    out.push('{');
                    members(node, type_name, model, out, &here.nth(repeats, i), true)?;
                    out.push('}');
                    Ok(())
                })?;
            }
        }
    }
    Ok(())
}

/// Writes a primitive element: its values under `name`, its ids and extensions under `_name`.
#[allow(clippy::too_many_arguments)]
fn primitive<'n, I>(
    group: impl Fn() -> I,
    name: &str,
    kind: ValueKind,
    repeats: bool,
    model: &BaseModel,
    out: &mut String,
    at: &At<'_>,
    comma: &mut dyn FnMut(&mut String),
) -> Result<(), XmlError>
where
    I: Iterator<Item = &'n Node<'n>>,
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
    let open = |out: &mut String| {
        if repeats {
            out.push('[');
        }
    };
    let close = |out: &mut String| {
        if repeats {
            out.push(']');
        }
    };
    if any_value {
        comma(out);
        string(out, name);
        out.push(':');
        open(out);
        for (i, node) in group().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match attribute(node, "value") {
                Some(text) => scalar(out, text, kind),
                None => out.push_str("null"),
            }
        }
        close(out);
    }
    if any_extra {
        comma(out);
        out.push_str("\"_");
        out.push_str(name);
        out.push_str("\":");
        open(out);
        for (i, node) in group().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let id = attribute(node, "id");
            if id.is_none() && node.children.is_empty() {
                out.push_str("null");
                continue;
            }
            out.push('{');
            if let Some(id) = id {
                out.push_str("\"id\":");
                string(out, id);
            }
            if !node.children.is_empty() {
                if id.is_some() {
                    out.push(',');
                }
                out.push_str("\"extension\":[");
                let here = at.nth(repeats, i);
                let extension = here.child("extension");
                for (j, child) in node.children.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push('{');
                    members(child, "Extension", model, out, &extension.nth(true, j), true)?;
                    out.push('}');
                }
                out.push(']');
            }
            out.push('}');
        }
        close(out);
    }
    Ok(())
}

/// Whether `text` is a valid value of its JSON kind.
fn scalar_ok(text: &str, kind: ValueKind) -> bool {
    match kind {
        ValueKind::Boolean => matches!(text, "true" | "false"),
        ValueKind::Number => is_json_number(text),
        ValueKind::String => true,
    }
}

/// A primitive's value as a JSON scalar of its kind ([`scalar_ok`] first); numbers keep the form they
/// were written in.
fn scalar(out: &mut String, text: &str, kind: ValueKind) {
    match kind {
        ValueKind::Boolean | ValueKind::Number => out.push_str(text),
        ValueKind::String => string(out, text),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: what JSON (and FHIR's decimal) allows.
fn is_json_number(text: &str) -> bool {
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

/// `at` with the index `i` of a repeating element (the writer's locations).
fn indexed(at: &str, repeats: bool, i: usize) -> String {
    if repeats {
        format!("{at}[{i}]")
    } else {
        at.to_owned()
    }
}

/// Writes `group` as one value, or as an array when the element repeats.
fn list<'n>(
    out: &mut String,
    repeats: bool,
    group: impl Iterator<Item = &'n Node<'n>>,
    mut each: impl FnMut(&mut String, &Node<'_>, usize) -> Result<(), XmlError>,
) -> Result<(), XmlError> {
    if repeats {
        out.push('[');
    }
    for (i, node) in group.enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, node, i)?;
    }
    if repeats {
        out.push(']');
    }
    Ok(())
}

/// A JSON string literal. Runs of characters that need no escape are copied whole (a base64
/// attachment is one run).
fn string(out: &mut String, text: &str) {
    out.push('"');
    let mut run = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&text[run..]);
    out.push('"');
}

/// The order of every R4 type's elements (`spec/r4-order.json`, generated by `tools/gen-r4-order.py`):
/// FHIR XML writes elements in the order of their definition.
pub struct ElementOrder(std::collections::HashMap<String, Vec<String>>);

const ORDER: &str = include_str!("../spec/r4-order.json");

impl ElementOrder {
    pub fn load() -> Result<Self, serde_json::Error> {
        Ok(Self(serde_json::from_str(ORDER)?))
    }

    fn of(&self, owner: &str) -> Option<&[String]> {
        self.0.get(owner).map(Vec::as_slice)
    }
}

/// FHIR XML out: the XML of the FHIR resource `resource` (JSON). Numbers are written as serde_json
/// holds them (a decimal's trailing zeros are not kept on this way out yet).
pub fn to_xml(resource: &serde_json::Value, model: &BaseModel, order: &ElementOrder) -> Result<String, XmlError> {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_resource(resource, model, order, &mut out, true, "Resource")?;
    Ok(out)
}

fn write_resource(
    value: &serde_json::Value,
    model: &BaseModel,
    order: &ElementOrder,
    out: &mut String,
    root: bool,
    at: &str,
) -> Result<(), XmlError> {
    let object = value.as_object().ok_or_else(|| refuse("a resource is a JSON object", Some(at)))?;
    let kind = object.get("resourceType").and_then(serde_json::Value::as_str).unwrap_or_default();
    if !model.is_resource(kind) {
        return Err(refuse(format!("{kind:?} is no FHIR resource type"), Some(at)));
    }
    out.push('<');
    out.push_str(kind);
    if root {
        out.push_str(" xmlns=\"http://hl7.org/fhir\"");
    }
    out.push('>');
    write_members(object, kind, true, model, order, out, kind)?;
    out.push_str("</");
    out.push_str(kind);
    out.push('>');
    Ok(())
}

/// The elements of `object` (of type `owner`) in definition order. Refuses a member the type lacks:
/// nothing is dropped on the way.
fn write_members(
    object: &serde_json::Map<String, serde_json::Value>,
    owner: &str,
    is_resource: bool,
    model: &BaseModel,
    order: &ElementOrder,
    out: &mut String,
    at: &str,
) -> Result<(), XmlError> {
    let names = order.of(owner).ok_or_else(|| refuse(format!("no element order for {owner}"), Some(at)))?;
    for key in object.keys() {
        let plain = key.strip_prefix('_').unwrap_or(key);
        let attribute = (!is_resource && key == "id") || (owner == "Extension" && key == "url");
        if key != "resourceType" && !attribute && !names.iter().any(|n| n == plain) {
            return Err(refuse(format!("{owner} has no element {plain}"), Some(&format!("{at}.{plain}"))));
        }
    }
    for name in names {
        let skip = (!is_resource && name == "id") || (owner == "Extension" && name == "url");
        let (value, extra) = (object.get(name.as_str()), object.get(&format!("_{name}")));
        if skip || (value.is_none() && extra.is_none()) {
            continue;
        }
        let here = format!("{at}.{name}");
        let (shape, repeats) = model
            .element_shape(owner, name)
            .ok_or_else(|| refuse(format!("{owner} has no element {name}"), Some(&here)))?;
        match shape {
            ElementShape::Primitive(_) => {
                let (values, extras) = (items(value, repeats), items(extra, repeats));
                for i in 0..values.len().max(extras.len()) {
                    let value = values.get(i).copied().flatten().filter(|v| !v.is_null());
                    let extra = extras.get(i).copied().flatten().and_then(serde_json::Value::as_object);
                    out.push('<');
                    out.push_str(name);
                    if let Some(id) = extra.and_then(|e| e.get("id")).and_then(serde_json::Value::as_str) {
                        out.push_str(" id=\"");
                        escape_attribute(out, id);
                        out.push('"');
                    }
                    if let Some(value) = value {
                        out.push_str(" value=\"");
                        match value {
                            serde_json::Value::String(text) => escape_attribute(out, text),
                            serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                            serde_json::Value::Number(n) => out.push_str(&n.to_string()),
                            _ => return Err(refuse("a primitive's value is a string, number or boolean", Some(&here))),
                        }
                        out.push('"');
                    }
                    let extensions = extra.and_then(|e| e.get("extension")).and_then(serde_json::Value::as_array);
                    match extensions {
                        Some(extensions) if !extensions.is_empty() => {
                            out.push('>');
                            for (j, extension) in extensions.iter().enumerate() {
                                let at = format!("{here}.extension[{j}]");
                                write_complex(extension, "extension", "Extension", model, order, out, &at)?;
                            }
                            out.push_str("</");
                            out.push_str(name);
                            out.push('>');
                        }
                        _ => out.push_str("/>"),
                    }
                }
            }
            ElementShape::Resource => {
                for (i, item) in items(value, repeats).into_iter().flatten().enumerate() {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                    write_resource(item, model, order, out, false, &indexed(&here, repeats, i))?;
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
            }
            ElementShape::Xhtml => {
                let markup = value
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| refuse("a div is a string", Some(&here)))?;
                out.push_str(markup);
            }
            ElementShape::Complex(type_name) => {
                for (i, item) in items(value, repeats).into_iter().flatten().enumerate() {
                    write_complex(item, name, type_name, model, order, out, &indexed(&here, repeats, i))?;
                }
            }
        }
    }
    Ok(())
}

/// The occurrences of an element: an array's items when it repeats, else the one value.
fn items(value: Option<&serde_json::Value>, repeats: bool) -> Vec<Option<&serde_json::Value>> {
    match value {
        None => Vec::new(),
        Some(serde_json::Value::Array(items)) if repeats => items.iter().map(Some).collect(),
        Some(value) => vec![Some(value)],
    }
}

/// A complex element: `id` (and an extension's `url`) as attributes, its elements inside.
fn write_complex(
    value: &serde_json::Value,
    name: &str,
    type_name: &str,
    model: &BaseModel,
    order: &ElementOrder,
    out: &mut String,
    at: &str,
) -> Result<(), XmlError> {
    let object = value.as_object().ok_or_else(|| refuse(format!("{name} is a JSON object"), Some(at)))?;
    out.push('<');
    out.push_str(name);
    for attribute in ["id", "url"] {
        if attribute == "url" && type_name != "Extension" {
            continue;
        }
        if let Some(text) = object.get(attribute).and_then(serde_json::Value::as_str) {
            out.push(' ');
            out.push_str(attribute);
            out.push_str("=\"");
            escape_attribute(out, text);
            out.push('"');
        }
    }
    out.push('>');
    write_members(object, type_name, false, model, order, out, at)?;
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    Ok(())
}

/// An attribute value: markup characters, and the white space XML would otherwise normalise, as
/// references.
fn escape_attribute(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// Both directions with the broker's model, order and limits: built once at start, shared by the
/// HTTP edge (content negotiation), ingest (XML received) and the push workers (XML receivers).
pub struct Converter {
    model: std::sync::Arc<BaseModel>,
    order: ElementOrder,
    limits: XmlLimits,
}

impl Converter {
    pub fn new(model: std::sync::Arc<BaseModel>, limits: XmlLimits) -> Result<Self, serde_json::Error> {
        Ok(Self { model, order: ElementOrder::load()?, limits })
    }

    /// The JSON text of an XML resource received ([`to_json`] within the limits).
    pub fn read(&self, xml: &[u8]) -> Result<String, XmlError> {
        to_json(xml, &self.model, self.limits)
    }

    /// The XML of a JSON resource (the broker's own answers, or a stored message).
    pub fn write(&self, json: &[u8]) -> Result<String, XmlError> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| refuse(format!("not JSON: {e}"), None))?;
        to_xml(&value, &self.model, &self.order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: XmlLimits = XmlLimits { max_depth: 64, max_elements: 100_000 };

    fn json(xml: &str) -> Result<serde_json::Value, XmlError> {
        let model = BaseModel::load().unwrap();
        let text = to_json(xml.as_bytes(), &model, LIMITS)?;
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }

    #[test]
    fn values_arrays_primitive_extensions_narrative_and_contained_resources_follow_the_json_rules() {
        let patient = json(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <Patient xmlns="http://hl7.org/fhir">
              <id value="p1"/>
              <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Jan &amp; Piet</p></div></text>
              <contained><Organization><id value="o"/><name value="Huisarts"/></Organization></contained>
              <identifier><system value="http://fhir.nl/fhir/NamingSystem/bsn"/><value value="999911120"/></identifier>
              <active value="true"/>
              <name><family value="Jansen"/><given value="Jan"/><given id="g2"><extension url="http://example.org/x"><valueString value="roepnaam"/></extension></given></name>
              <birthDate><extension url="http://hl7.org/fhir/StructureDefinition/data-absent-reason"><valueCode value="unknown"/></extension></birthDate>
              <multipleBirthInteger value="2"/>
            </Patient>"#,
        )
        .unwrap();
        assert_eq!(patient["resourceType"], "Patient");
        assert_eq!(patient["id"], "p1");
        assert_eq!(patient["active"], true);
        assert_eq!(patient["multipleBirthInteger"], 2);
        assert_eq!(patient["identifier"][0]["value"], "999911120");
        assert_eq!(patient["name"][0]["given"], serde_json::json!(["Jan", null]));
        assert_eq!(patient["name"][0]["_given"][0], serde_json::Value::Null);
        assert_eq!(patient["name"][0]["_given"][1]["id"], "g2");
        assert_eq!(patient["name"][0]["_given"][1]["extension"][0]["valueString"], "roepnaam");
        assert!(patient.get("birthDate").is_none());
        assert_eq!(patient["_birthDate"]["extension"][0]["valueCode"], "unknown");
        assert_eq!(patient["contained"][0]["resourceType"], "Organization");
        assert_eq!(patient["text"]["div"], "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Jan &amp; Piet</p></div>");
    }

    #[test]
    fn decimals_keep_their_written_precision() {
        let model = BaseModel::load().unwrap();
        let xml = r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="t"/></code><valueQuantity><value value="1.50"/></valueQuantity></Observation>"#;
        let text = to_json(xml.as_bytes(), &model, LIMITS).unwrap();
        assert!(text.contains("\"value\":1.50"), "{text}");
        for bad in ["1.", "01", "+1", "1e", "NaN", "0x10", ""] {
            assert!(!is_json_number(bad), "{bad}");
        }
        for good in ["0", "-0.5", "1.50", "6.02E23", "1e-7"] {
            assert!(is_json_number(good), "{good}");
        }
    }

    #[test]
    fn hostile_or_foreign_xml_is_refused_and_never_expanded() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Patient xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Patient>"#;
        let external = r#"<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>"#;
        let undeclared = r#"<Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>"#;
        let deep = format!(
            "<Patient xmlns=\"http://hl7.org/fhir\">{}{}</Patient>",
            "<contact>".repeat(10_000),
            "</contact>".repeat(10_000)
        );
        let cases: Vec<(&str, &str)> = vec![
            (laughs, "DTD"),
            (external, "DTD"),
            (undeclared, "refused attribute"),
            (&deep, "nested deeper"),
            (r#"<Patient><id value="x"/></Patient>"#, "FHIR namespace"),
            (r#"<Nonsense xmlns="http://hl7.org/fhir"/>"#, "no FHIR resource"),
            (r#"<Patient xmlns="http://hl7.org/fhir"><shoeSize value="44"/></Patient>"#, "no element shoeSize"),
            (r#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#, "not a valid"),
            (
                r#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/><active value="true"/></Patient>"#,
                "does not repeat",
            ),
            (r#"<Patient xmlns="http://hl7.org/fhir">text<active value="true"/></Patient>"#, "text outside"),
            (r#"<Patient xmlns="http://hl7.org/fhir"><?php x?></Patient>"#, "processing instructions"),
            (r#"<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>"#, "not well-formed"),
            (r#"<f:Patient xmlns:f="http://hl7.org/fhir"/>"#, "prefixes"),
        ];
        let model = BaseModel::load().unwrap();
        for (xml, why) in cases {
            let refused = to_json(xml.as_bytes(), &model, LIMITS).expect_err(why);
            assert!(refused.problem.contains(why), "{why}: {refused:?}");
        }
        // Nothing was expanded: a 50 MB attribute is refused by the body limit before it gets here; a big
        // one that does get here is kept as written, not multiplied.
        let big = format!(r#"<Patient xmlns="http://hl7.org/fhir"><id value="{}"/></Patient>"#, "a".repeat(1 << 20));
        let expected = format!(r#"{{"resourceType":"Patient","id":"{}"}}"#, "a".repeat(1 << 20));
        assert_eq!(to_json(big.as_bytes(), &model, LIMITS).unwrap(), expected);
    }

    #[test]
    fn the_number_of_elements_is_limited() {
        let model = BaseModel::load().unwrap();
        let xml = format!(
            "<Patient xmlns=\"http://hl7.org/fhir\">{}</Patient>",
            "<name><family value=\"x\"/></name>".repeat(60)
        );
        let few = XmlLimits { max_depth: 64, max_elements: 100 };
        assert!(to_json(xml.as_bytes(), &model, few).unwrap_err().problem.contains("more than 100 elements"));
    }

    #[test]
    fn xml_out_puts_elements_in_definition_order_with_ids_urls_and_values_as_attributes() {
        let model = BaseModel::load().unwrap();
        let order = ElementOrder::load().unwrap();
        let patient = serde_json::json!({
            "resourceType": "Patient", "active": true, "id": "p1",
            "name": [{ "given": ["Jan", "Piet"], "family": "Jansen", "id": "n1" }],
            "_birthDate": { "extension": [{ "url": "http://example.org/x", "valueString": "a \"b\" & <c>\n" }] },
            "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }
        });
        let xml = to_xml(&patient, &model, &order).unwrap();
        let expected = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir"><id value="p1"/>"#,
            r#"<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>"#,
            r#"<active value="true"/><name id="n1"><family value="Jansen"/><given value="Jan"/><given value="Piet"/></name>"#,
            r#"<birthDate><extension url="http://example.org/x"><valueString value="a &quot;b&quot; &amp; &lt;c&gt;&#10;"/></extension></birthDate>"#,
            r#"</Patient>"#
        );
        assert_eq!(xml, expected);
        let unknown = serde_json::json!({ "resourceType": "Patient", "shoeSize": 44 });
        assert!(to_xml(&unknown, &model, &order).unwrap_err().problem.contains("no element shoeSize"));
    }

    /// Truncated and bit-flipped XML is answered (converted or refused), never a panic.
    #[test]
    fn damaged_xml_is_answered_never_a_panic() {
        let model = BaseModel::load().unwrap();
        let order = ElementOrder::load().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("fixtures/handovers/nursing-handover-nl.json")).unwrap())
                .unwrap();
        let xml = to_xml(&json, &model, &order).unwrap().into_bytes();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut converted, mut refused) = (0, 0);
        for round in 0..400 {
            let mut damaged = xml.clone();
            if round % 2 == 0 {
                damaged.truncate(usize::try_from(next()).unwrap_or(0) % xml.len());
            } else {
                for _ in 0..3 {
                    let at = usize::try_from(next()).unwrap_or(0) % damaged.len();
                    damaged[at] = b"<>/\"&=' x;"[usize::try_from(next()).unwrap_or(0) % 10];
                }
            }
            match to_json(&damaged, &model, LIMITS) {
                Ok(text) => {
                    serde_json::from_str::<serde_json::Value>(&text).expect("what is converted is JSON");
                    converted += 1;
                }
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 200 && converted + refused == 400, "{converted} converted, {refused} refused");
    }
}
