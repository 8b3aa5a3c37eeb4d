//! Reading FHIR XML into elements: names and attribute values borrowed from the bytes received, a
//! narrative `div` kept as its markup, and everything FHIR XML never holds refused before anything is
//! expanded (a DTD, entities beyond XML's five, processing instructions, CDATA, text outside `div`).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use smallvec::SmallVec;

use super::{refuse, XmlError, XmlLimits, XHTML_NS};

/// One element as read: its name, attributes and children, or (a narrative `div`) its markup. Names
/// and attribute values are borrowed from the received bytes unless unescaping changed them: the tree
/// costs one allocation per element with children, not one per string.
#[derive(Debug)]
pub(super) struct Node<'x> {
    pub name: &'x str,
    /// Most elements have one (`value`): kept inline, not allocated.
    pub attributes: SmallVec<[(&'x str, Cow<'x, str>); 2]>,
    pub children: Vec<Node<'x>>,
    /// The exact markup of an XHTML `div`.
    pub markup: Option<Cow<'x, str>>,
}

pub(super) fn attribute<'n>(node: &'n Node<'_>, name: &str) -> Option<&'n str> {
    node.attributes.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_ref())
}

/// Reads the document into nodes, refusing what FHIR XML never holds.
/// FHIR XML is UTF-8: the whole document is checked once, so that names and values are slices of it.
pub(super) fn read(xml: &[u8], limits: XmlLimits) -> Result<Node<'_>, XmlError> {
    let xml = std::str::from_utf8(xml)
        .map_err(|e| refuse(format!("the document is not UTF-8 (from byte {})", e.valid_up_to()), None))?;
    let mut reader = Reader::from_str(xml);
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
                    let markup = xml
                        .get(before..)
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
fn within<'x>(xml: &'x str, part: &[u8]) -> Option<&'x str> {
    let start = (part.as_ptr() as usize).checked_sub(xml.as_ptr() as usize)?;
    xml.get(start..start.checked_add(part.len())?)
}

/// An element's name and attributes (namespace declarations kept as attributes, values unescaped:
/// only the predefined entities and character references are known, any other is an error).
fn element<'x>(xml: &'x str, start: &BytesStart<'_>) -> Result<Node<'x>, XmlError> {
    let qname = start.name();
    let name = within(xml, qname.as_ref()).ok_or_else(|| refuse("an element name outside the document", None))?;
    if name.contains(':') {
        return Err(refuse(format!("namespace prefixes are not FHIR XML: {name}"), None));
    }
    let mut attributes = SmallVec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| refuse(format!("a malformed attribute: {e}"), Some(name)))?;
        let key =
            within(xml, attribute.key.as_ref()).ok_or_else(|| refuse("an attribute outside the document", None))?;
        let value = match within(xml, &attribute.value) {
            // Most values hold no reference and are borrowed as they are.
            Some(raw) if !raw.as_bytes().contains(&b'&') => Cow::Borrowed(raw),
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
