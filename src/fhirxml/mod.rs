//! FHIR XML (issue 15): a resource in FHIR's XML representation read into the tree the validator checks
//! ([`to_tree`], no JSON text in between) and written as the JSON text the broker stores ([`to_json`]),
//! both from one walk; and back ([`to_xml`], elements in definition order).
//!
//! XML and JSON carry the same content by different rules (hl7.org/fhir/R4/xml.html, json.html), and
//! the conversion needs the base model to know them: whether an element repeats (JSON array), whether
//! it is a primitive (XML `value` attribute, JSON scalar of its kind, with `id` and extensions moved to
//! `_name`), a resource (XML wraps it in an element named after its type, JSON names it in
//! `resourceType`) or narrative XHTML (XML markup, a JSON string of that markup). The JSON text keeps
//! numbers in their written form (a decimal's precision is part of its value).
//!
//! Hostile XML is refused, never expanded: no DTD (so no entity can be declared, and no external one
//! fetched), no entity but the five predefined and character references, no processing instruction,
//! no text where FHIR has none; nesting and the number of elements are limited like JSON's.
//!
//! Stages: [`read`] (bytes to elements), [`walk`] (the FHIR XML rules, to a sink), [`sink`] (tree or
//! text), [`write`] (JSON to XML).

mod read;
mod sink;
mod walk;
mod write;

use std::fmt::Write as _;

pub use write::{to_xml, ElementOrder};

use crate::json::Json;
use crate::outcome::Text;
use crate::profiles::base::BaseModel;

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
    /// The refusal as the issue a client reads (400 wherever XML is read), in the caller's language.
    pub fn issue(&self) -> crate::outcome::Issue {
        let issue = crate::outcome::Issue::says(crate::outcome::IssueCode::Structure, self.text());
        match &self.at {
            Some(at) => issue.at(at),
            None => issue,
        }
    }

    /// The refusal's words from the catalogues. The reader and the walk say what they met in English
    /// ([`refuse`]); each of their sentences has a catalogue text, found here by its English wording
    /// with the names, numbers and parser details it carries as arguments. A sentence not listed is
    /// shown as written inside the translated frame (`xml-not-fhir`); a unit test keeps the list and
    /// the refusals the tests provoke in step.
    fn text(&self) -> Text {
        // Most specific first: a template matches a problem that is it with its `{name}`s filled in.
        let known = [
            ("a document type declaration (DTD) is refused: FHIR XML has none", Text::new("xml-doctype-refused")),
            ("processing instructions are refused", Text::new("xml-processing-instruction-refused")),
            ("CDATA sections are not FHIR XML", Text::new("xml-cdata-refused")),
            (
                "text outside a narrative div: FHIR XML carries values in value attributes",
                Text::new("xml-text-outside-div"),
            ),
            ("the document ends before its root element does", Text::new("xml-ends-early")),
            ("content after the root element", Text::new("xml-content-after-root")),
            ("cannot delimit a div", Text::new("xml-div-undelimited")),
            ("an end tag without its start", Text::new("xml-end-without-start")),
            ("a narrative div is no resource", Text::new("xml-div-no-resource")),
            ("an element name outside the document", Text::new("xml-name-outside")),
            ("an attribute outside the document", Text::new("xml-attribute-outside")),
            ("narrative without markup", Text::new("xml-narrative-without-markup")),
            ("a primitive holds only extensions", Text::new("xml-primitive-only-extensions")),
            ("an element with neither a value nor extensions", Text::new("xml-element-empty")),
            ("no resource was read", Text::new("xml-no-resource")),
            ("the document is not UTF-8 (from byte {byte})", Text::new("xml-not-utf8")),
            ("nested deeper than {limit} elements", Text::new("xml-too-deep")),
            ("more than {limit} elements", Text::new("xml-too-many-elements")),
            ("not well-formed XML: {detail}", Text::new("xml-not-well-formed")),
            ("namespace prefixes are not FHIR XML: {name}", Text::new("xml-namespace-prefix")),
            ("a malformed attribute: {detail}", Text::new("xml-attribute-malformed")),
            ("refused attribute {key}: {detail}", Text::new("xml-attribute-refused")),
            ("a resource element takes no attribute {key}", Text::new("xml-resource-attribute")),
            ("unknown attribute {key}", Text::new("xml-attribute-unknown")),
            ("a primitive takes value and id attributes, not {key}", Text::new("xml-primitive-attribute")),
            ("not a valid {kind} value", Text::new("xml-value-invalid")),
            ("the root element {name} is no FHIR resource", Text::new("xml-root-not-a-resource")),
            ("the root element must be in the FHIR namespace {namespace}", Text::new("xml-root-namespace")),
            ("{name} is no primitive: it takes no value attribute", Text::new("xml-not-primitive")),
            ("{name} holds exactly one resource element", Text::new("xml-one-resource")),
            ("{name} appears {count} times; it does not repeat", Text::new("xml-element-repeats")),
            ("{owner} has no element {name}", Text::new("xml-element-unknown")),
            ("{name} is no FHIR resource", Text::new("xml-not-a-resource")),
        ];
        for (template, text) in known {
            if let Some(values) = filled_in(template, &self.problem) {
                return values.into_iter().fold(text, |text, (name, value)| match value.parse::<i64>() {
                    Ok(n) if ["byte", "limit", "count"].contains(&name) => text.num(name, n),
                    _ => text.arg(name, value),
                });
            }
        }
        Text::new("xml-not-fhir").arg("detail", &self.problem)
    }
}

/// The values of the `{name}`s of `template` when `text` is `template` with them filled in. A value is
/// never empty, and only a `{detail}` (a parser's message) holds white space: names and numbers do not.
fn filled_in<'t>(template: &'static str, text: &'t str) -> Option<Vec<(&'static str, &'t str)>> {
    let mut pieces = template.split('{');
    let mut rest = text.strip_prefix(pieces.next()?)?;
    let pieces: Vec<&'static str> = pieces.collect();
    let mut values = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        let (name, literal) = piece.split_once('}')?;
        let value = if i + 1 == pieces.len() {
            let value = rest.strip_suffix(literal)?;
            rest = "";
            value
        } else {
            let at = rest.find(literal).filter(|_| !literal.is_empty())?;
            let value = &rest[..at];
            rest = &rest[at + literal.len()..];
            value
        };
        if value.is_empty() || (name != "detail" && value.contains(char::is_whitespace)) {
            return None;
        }
        values.push((name, value));
    }
    rest.is_empty().then_some(values)
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

/// The root element of `xml`, read within the limits: a FHIR resource in the FHIR namespace.
fn root<'x>(xml: &'x [u8], model: &BaseModel, limits: XmlLimits) -> Result<read::Node<'x>, XmlError> {
    let root = read::read(xml, limits)?;
    if !model.is_resource(root.name) {
        return Err(refuse(format!("the root element {} is no FHIR resource", root.name), None));
    }
    if read::attribute(&root, "xmlns") != Some(FHIR_NS) {
        return Err(refuse(format!("the root element must be in the FHIR namespace {FHIR_NS}"), Some(root.name)));
    }
    Ok(root)
}

/// The JSON text of the FHIR resource in `xml`.
pub fn to_json(xml: &[u8], model: &BaseModel, limits: XmlLimits) -> Result<String, XmlError> {
    let root = root(xml, model, limits)?;
    let mut text = sink::Text::with_capacity(xml.len());
    walk::resource(&root, model, &mut text, &At::root(root.name))?;
    Ok(text.finish())
}

/// The FHIR resource in `xml` as the tree the validator checks, its strings borrowed from `xml`.
pub fn to_tree<'x>(xml: &'x [u8], model: &BaseModel, limits: XmlLimits) -> Result<Json<'x>, XmlError> {
    let root = root(xml, model, limits)?;
    let mut tree = sink::Tree::new();
    walk::resource(&root, model, &mut tree, &At::root(root.name))?;
    tree.finish().ok_or_else(|| refuse("no resource was read", None))
}

/// Both at once, from one reading of `xml`: the tree to check and the JSON text to store.
pub fn to_tree_and_json<'x>(
    xml: &'x [u8],
    model: &BaseModel,
    limits: XmlLimits,
) -> Result<(Json<'x>, String), XmlError> {
    let root = root(xml, model, limits)?;
    let at = At::root(root.name);
    let mut tree = sink::Tree::new();
    walk::resource(&root, model, &mut tree, &at)?;
    let mut text = sink::Text::with_capacity(xml.len());
    walk::resource(&root, model, &mut text, &at)?;
    Ok((tree.finish().ok_or_else(|| refuse("no resource was read", None))?, text.finish()))
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

    /// The tree and the JSON text of an XML resource received ([`to_tree_and_json`] within the limits).
    pub fn read_tree<'x>(&self, xml: &'x [u8]) -> Result<(Json<'x>, String), XmlError> {
        to_tree_and_json(xml, &self.model, self.limits)
    }

    /// A message Bundle received as XML, read straight into the tree checked (see
    /// [`crate::message::parse_with`]), with the JSON text stored beside it.
    pub fn read_message(
        &self,
        xml: bytes::Bytes,
        limits: &crate::config::Limits,
    ) -> Result<crate::message::Submission, crate::message::EnvelopeError> {
        crate::message::parse_with(xml, limits, |xml| self.read_tree(xml).map_err(|e| e.issue()))
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
    use super::walk::is_json_number;
    use super::*;

    const LIMITS: XmlLimits = XmlLimits { max_depth: 64, max_elements: 100_000 };

    fn json(xml: &str) -> Result<serde_json::Value, XmlError> {
        let model = BaseModel::load().unwrap();
        let text = to_json(xml.as_bytes(), &model, LIMITS)?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        // The tree the validator checks is read by the same walk: it holds what the text holds.
        let tree = to_tree(xml.as_bytes(), &model, LIMITS).unwrap();
        assert_eq!(serde_json::Value::from(&tree), value);
        Ok(value)
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
        // The tree holds numbers as serde_json reads the same text: a float here, an integer where it is one.
        let tree = to_tree(xml.as_bytes(), &model, LIMITS).unwrap();
        let value = tree.get("valueQuantity").get("value");
        assert_eq!((value.as_f64(), value.as_u64()), (Some(1.5), None));
        let count = xml.replace("<value value=\"1.50\"/>", "<value value=\"3\"/>");
        assert_eq!(
            to_tree(count.as_bytes(), &model, LIMITS).unwrap().get("valueQuantity").get("value").as_u64(),
            Some(3)
        );
        // Out of a 64-bit float's range: refused, as the JSON path refuses it.
        let huge = xml.replace("1.50", "1e999");
        assert!(to_tree(huge.as_bytes(), &model, LIMITS).unwrap_err().problem.contains("not a valid Number"));
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

    /// Every refusal the reader and the walk make (as provoked here) has its own catalogue text, the
    /// same English sentence as before inside "not a FHIR XML resource: ", and its own words in Dutch and
    /// French; the names and numbers it carries stay as they are.
    #[test]
    fn every_refusal_is_said_in_every_language() {
        use crate::i18n::Language;
        let model = BaseModel::load().unwrap();
        let few = XmlLimits { max_depth: 64, max_elements: 100 };
        let refusals: Vec<(&[u8], &str)> = vec![
            (br#"<!DOCTYPE p><Patient xmlns="http://hl7.org/fhir"/>"#, "xml-doctype-refused"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><?php x?></Patient>"#, "xml-processing-instruction-refused"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><![CDATA[x]]></Patient>"#, "xml-cdata-refused"),
            (br#"<Patient xmlns="http://hl7.org/fhir">text</Patient>"#, "xml-text-outside-div"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/>"#, "xml-ends-early"),
            (br#"<Patient xmlns="http://hl7.org/fhir"/><Patient/>"#, "xml-content-after-root"),
            (b"<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"caf\xE9\"/></Patient>", "xml-not-utf8"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>"#, "xml-not-well-formed"),
            (br#"<f:Patient xmlns:f="http://hl7.org/fhir"/>"#, "xml-namespace-prefix"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>"#, "xml-attribute-refused"),
            (br#"<Patient xmlns="http://hl7.org/fhir" id="x"/>"#, "xml-resource-attribute"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><name use="x"/></Patient>"#, "xml-attribute-unknown"),
            (
                br#"<Patient xmlns="http://hl7.org/fhir"><active value="true" x="y"/></Patient>"#,
                "xml-primitive-attribute",
            ),
            (
                br#"<Patient xmlns="http://hl7.org/fhir"><active><id/></active></Patient>"#,
                "xml-primitive-only-extensions",
            ),
            (br#"<Patient xmlns="http://hl7.org/fhir"><active/></Patient>"#, "xml-element-empty"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#, "xml-value-invalid"),
            (br#"<Nonsense xmlns="http://hl7.org/fhir"/>"#, "xml-root-not-a-resource"),
            (br#"<Patient><id value="x"/></Patient>"#, "xml-root-namespace"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><name value="x"/></Patient>"#, "xml-not-primitive"),
            (br#"<Patient xmlns="http://hl7.org/fhir"><contained/></Patient>"#, "xml-one-resource"),
            (
                br#"<Patient xmlns="http://hl7.org/fhir"><contained><Nonsense/></contained></Patient>"#,
                "xml-not-a-resource",
            ),
            (
                br#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/><active value="true"/></Patient>"#,
                "xml-element-repeats",
            ),
            (br#"<Patient xmlns="http://hl7.org/fhir"><shoeSize value="44"/></Patient>"#, "xml-element-unknown"),
        ];
        let deep = format!("<Patient xmlns=\"http://hl7.org/fhir\">{}</Patient>", "<contact>".repeat(100));
        let many = format!("<Patient xmlns=\"http://hl7.org/fhir\">{}</Patient>", "<name/>".repeat(200));
        let mut cases: Vec<(XmlError, &str)> =
            refusals.into_iter().map(|(xml, id)| (to_json(xml, &model, LIMITS).expect_err(id), id)).collect();
        cases.push((to_json(deep.as_bytes(), &model, few).unwrap_err(), "xml-too-deep"));
        cases.push((to_json(many.as_bytes(), &model, few).unwrap_err(), "xml-too-many-elements"));
        cases.push((refuse("a sentence the list does not know", None), "xml-not-fhir"));
        for (refusal, id) in cases {
            let issue = refusal.issue();
            let text = issue.text.as_deref().expect("a catalogue text");
            assert_eq!(text.id(), id, "{refusal:?}");
            assert_eq!(issue.message, format!("not a FHIR XML resource: {}", refusal.problem));
            assert_eq!(issue.expression, refusal.at);
            for lang in [Language::Nl, Language::Fr] {
                let words = text.render(lang);
                assert_ne!(words, issue.message, "{id} in {}", lang.code());
                assert!(!words.contains('{') && !words.contains(id), "{id} in {}: {words}", lang.code());
            }
        }
        let doctype = to_json(b"<!DOCTYPE p><Patient/>", &model, LIMITS).unwrap_err().issue();
        let doctype = doctype.text.as_deref().unwrap();
        assert!(doctype.render(Language::Nl).starts_with("geen FHIR XML-resource: een documenttypedeclaratie (DTD)"));
        assert!(doctype.render(Language::Fr).contains("déclaration de type de document (DTD)"));
        let repeats = to_json(
            br#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/><active value="true"/></Patient>"#,
            &model,
            LIMITS,
        )
        .unwrap_err()
        .issue();
        assert!(repeats.text.as_deref().unwrap().render(Language::Nl).contains("active komt 2 keer voor"));
    }

    #[test]
    fn a_document_that_is_not_utf8_is_refused_where_it_breaks() {
        let model = BaseModel::load().unwrap();
        let xml = b"<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"caf\xE9\"/></Patient>";
        let refused = to_tree(xml, &model, LIMITS).unwrap_err();
        assert_eq!(refused.problem, "the document is not UTF-8 (from byte 51)");
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
