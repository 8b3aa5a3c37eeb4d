//! Attachments: the documents a handover carries, such as a PDF or narrative discharge letter in a
//! `DocumentReference`. Every Attachment-typed element of a message (typed by the base model,
//! extensions' `valueAttachment` included) and every `Binary` in it is checked:
//!
//! - `data` is well-formed base64 and decodes to at most the configured maximum; a larger one is
//!   refused as too costly, judged from its length before anything is decoded;
//! - the declared `contentType` (parameters aside, case-insensitive) agrees with the bytes: a PDF starts
//!   with `%PDF-`; plain text is UTF-8 without control characters but tab, CR, LF and FF; XHTML is UTF-8
//!   markup whose first element is `html` or `div` in the XHTML namespace; HTML is UTF-8 markup (HTML is
//!   not XML: no namespace is required). Bytes that are a PDF are refused under any of these text types.
//!   Other types (images, CDA, ...) and other charsets are carried with a warning that they were not
//!   checked;
//! - `size` and `hash` (R4: the base64 SHA-1 of the data), when given, match the bytes;
//! - a `url` in the form of a Bundle-local name (`urn:`, relative, `#id` or `.../Binary/id`) resolves to
//!   a Binary inside the Bundle: its `contentType` is the one checked against its bytes, and the
//!   Attachment's, when given, must agree with it. A url outside the Bundle is carried with a warning.
//!
//! Issues name the element and never quote its bytes, title or url: they may identify the patient.

use std::borrow::Cow;

use base64::Engine;
use rustc_hash::FxHashMap;
use sha1::{Digest, Sha1};

use super::base::BaseModel;
use super::identifiers::{expression, Step};
use super::Catalog;
use crate::json::{Field, Json};
use crate::message::{BundleIndex, Submission};
use crate::outcome::{Issue, IssueCode, Report, Severity, Text};

/// The XHTML namespace, which an XHTML attachment's first element must be in.
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// How many bytes at the end of a PDF may follow its `%%EOF` marker (readers tolerate 1024).
const PDF_TAIL: usize = 1024;

/// The attachment checks, with their limit.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentChecks {
    max_bytes: usize,
}

impl Default for AttachmentChecks {
    fn default() -> Self {
        Self { max_bytes: crate::config::DEFAULT_MAX_ATTACHMENT_BYTES }
    }
}

impl Catalog {
    /// The catalog with attachments limited to `max_bytes` decoded bytes each: startup passes
    /// `limits.max_attachment_bytes`; [`Catalog::load`] starts with its default (8 MiB).
    pub fn with_attachment_limit(mut self, max_bytes: usize) -> Self {
        self.attachments = AttachmentChecks { max_bytes };
        self
    }
}

impl AttachmentChecks {
    /// Checks every Binary and every Attachment in a submitted message.
    pub fn check_bundle(&self, base: &BaseModel, submission: &Submission, issues: &mut Vec<Issue>) {
        self.check(base, submission.document(), submission.index(), issues);
    }

    /// [`AttachmentChecks::check_bundle`] on a Bundle and its index.
    fn check(&self, base: &BaseModel, bundle: &Json<'_>, index: &BundleIndex, issues: &mut Vec<Issue>) {
        let entries = bundle.items("entry");
        let mut checker =
            Checker { base, max_bytes: self.max_bytes, entries, index, binaries: FxHashMap::default(), issues };
        // The Binaries first, each once: attachments anywhere in the Bundle may point at them.
        for (i, entry) in entries.iter().enumerate() {
            let Some(resource) = entry.field("resource") else { continue };
            if is_binary(resource) {
                let content = checker.binary(resource, &format!("Bundle.entry[{i}].resource"));
                checker.binaries.insert((i, None), content);
            }
            for (k, contained) in resource.items("contained").iter().enumerate().filter(|(_, c)| is_binary(c)) {
                let content = checker.binary(contained, &format!("Bundle.entry[{i}].resource.contained[{k}]"));
                checker.binaries.insert((i, Some(k)), content);
            }
        }
        let mut path = Vec::with_capacity(16);
        for (i, entry) in entries.iter().enumerate() {
            let Some(resource) = entry.field("resource") else { continue };
            path.clear();
            path.push(Step::Entry(i));
            checker.walk(resource, &mut path, Place { entry: i, nested: false });
        }
    }
}

fn is_binary(resource: &Json<'_>) -> bool {
    resource.str_field("resourceType") == Some("Binary")
}

/// Where the walk is: the entry whose resource it is in, and whether it went into a resource that is
/// neither the entry's nor contained in it (a Bundle inside the message: its urls name its own entries).
#[derive(Clone, Copy)]
struct Place {
    entry: usize,
    nested: bool,
}

/// A Binary's content as checked: its media type, and its bytes when they decoded within the limit.
struct Content {
    essence: Option<String>,
    bytes: Option<Vec<u8>>,
}

/// A Binary: its entry, and its position in that entry's `contained` when it is contained.
type BinaryKey = (usize, Option<usize>);

struct Checker<'c, 'j> {
    base: &'c BaseModel,
    max_bytes: usize,
    entries: &'j [Json<'j>],
    index: &'c BundleIndex,
    binaries: FxHashMap<BinaryKey, Content>,
    issues: &'c mut Vec<Issue>,
}

impl<'j> Checker<'_, 'j> {
    /// Walks `value` and everything under it. The walk looks nothing up: only an object with a member
    /// an Attachment checks (and no `value[x]`, which makes an Extension) has its type worked out, from
    /// the path ([`Checker::is_attachment`]). Looking up the type of every member made validation a
    /// third slower (`benches/ingest.rs`, discharge summary); this costs under a tenth.
    fn walk(&mut self, value: &'j Json<'j>, path: &mut Vec<Step<'j>>, place: Place) {
        match value {
            Json::Object(members) => {
                let candidate = members.keys().any(|k| matches!(k, "data" | "contentType" | "size" | "hash"))
                    || (members.contains_key("url") && !members.keys().any(|k| k.starts_with("value")));
                if candidate && self.is_attachment(path) {
                    self.attachment(value, &expression(path), place);
                }
                for (key, child) in members.iter() {
                    if !matches!(child, Json::Object(_) | Json::Array(_)) {
                        continue;
                    }
                    path.push(Step::Key(key));
                    self.walk_into(key, child, path, place);
                    path.pop();
                }
            }
            Json::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    path.push(Step::Index(n));
                    self.walk(item, path, place);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// Walks the member `key` of an object: a resource in it other than a contained one (a Bundle's
    /// entry, a Parameters' resource) is nested: its urls name its own entries. A Binary there is
    /// checked here; contained ones were checked with the entries.
    fn walk_into(&mut self, key: &str, child: &'j Json<'j>, path: &mut Vec<Step<'j>>, place: Place) {
        if key != "contained" && child.str_field("resourceType").is_some() {
            if is_binary(child) {
                self.binary(child, &expression(path));
            }
            self.walk(child, path, Place { nested: true, ..place });
        } else {
            self.walk(child, path, place);
        }
    }

    /// Whether the element at `path` is an Attachment, by the base model's types along the path from
    /// its entry's resource.
    fn is_attachment(&self, path: &[Step<'_>]) -> bool {
        let Some(Step::Entry(i)) = path.first() else { return false };
        let Some(mut value) = self.entries[*i].field("resource") else { return false };
        let Some(mut kind) = value.str_field("resourceType") else { return false };
        for step in &path[1..] {
            let next = match step {
                Step::Key(key) => self.base.element_type(kind, key).zip(value.field(key)),
                Step::Index(n) => value.as_array().and_then(|items| items.get(*n)).map(|item| (kind, item)),
                Step::Entry(_) => None,
            };
            let Some(next) = next else { return false };
            (kind, value) = next;
            // A resource's own type is in it (after the index of a `contained` array).
            if kind == "ResourceList" && value.is_object() {
                let Some(resource_type) = value.str_field("resourceType") else { return false };
                kind = resource_type;
            }
        }
        kind == "Attachment"
    }

    /// Checks a Binary at `at`; returns its content for the attachments that point at it.
    fn binary(&mut self, resource: &Json<'_>, at: &str) -> Content {
        let essence = match resource.str_field("contentType").map(MediaType::parse) {
            Some(Some(media)) => Some(media),
            Some(None) => {
                self.issues.report(not_a_media_type(format!("{at}.contentType")));
                None
            }
            // Required in Binary: the base check reports it missing.
            None => None,
        };
        let bytes = resource.str_field("data").and_then(|data| self.decode(data, &format!("{at}.data")));
        if let (Some(media), Some(bytes)) = (&essence, &bytes) {
            self.sniff(media, bytes, at);
        }
        Content { essence: essence.map(|m| m.essence), bytes }
    }

    /// Checks one Attachment at `at`.
    fn attachment(&mut self, attachment: &Json<'_>, at: &str, place: Place) {
        let media = match attachment.str_field("contentType").map(MediaType::parse) {
            Some(Some(media)) => Some(media),
            Some(None) => {
                self.issues.report(not_a_media_type(format!("{at}.contentType")));
                None
            }
            None => None,
        };
        let data = attachment.str_field("data");
        if data.is_some() && attachment.field("contentType").is_none() {
            let text = Text::new("attachment-data-without-content-type");
            self.issues.report(Issue::says(IssueCode::Invariant, text).at(at));
        }
        let inline = data.and_then(|data| self.decode(data, &format!("{at}.data")));
        if let (Some(media), Some(bytes)) = (&media, &inline) {
            self.sniff(media, bytes, at);
        }
        let url = attachment.str_field("url");
        let target = url.and_then(|url| self.resolve(url, &format!("{at}.url"), place, data.is_some()));
        let binary = target.and_then(|key| self.binaries.get(&key));
        if let Some(binary) = binary {
            if let (Some(ours), Some(theirs)) = (&media, &binary.essence) {
                if ours.essence != *theirs {
                    let text = Text::new("attachment-content-type-differs-from-binary")
                        .arg("type", &ours.essence)
                        .arg("binary", theirs);
                    self.issues.report(Issue::says(IssueCode::Value, text).at(format!("{at}.contentType")));
                }
            }
            if let (Some(ours), Some(theirs)) = (&inline, &binary.bytes) {
                if ours != theirs {
                    let text = Text::new("attachment-data-differs-from-binary");
                    self.issues.report(Issue::says(IssueCode::Value, text).at(format!("{at}.data")));
                }
            }
        }
        let bytes = inline.as_deref().or_else(|| binary.and_then(|b| b.bytes.as_deref()));
        size_and_hash(attachment, bytes, at, self.issues);
    }

    /// The Binary a url names, when it names one inside the Bundle. A url that can only name something
    /// inside the Bundle and names no Binary there is an error; one outside it, a warning that its
    /// content is not checked, unless the Attachment has its `data` too (`inline`), which is.
    fn resolve(&mut self, url: &str, at: &str, place: Place, inline: bool) -> Option<BinaryKey> {
        if place.nested {
            if !inline {
                let text = Text::new("attachment-url-in-nested-resource");
                self.issues.report(warning(IssueCode::NotSupported, text, at));
            }
            return None;
        }
        if let Some(id) = url.strip_prefix('#') {
            let container = self.entries[place.entry].field("resource");
            let contained = container.map(|r| r.items("contained")).unwrap_or_default();
            return match contained.iter().position(|c| c.str_field("id") == Some(id)) {
                Some(k) if self.binaries.contains_key(&(place.entry, Some(k))) => Some((place.entry, Some(k))),
                Some(_) => {
                    let text = Text::new("attachment-url-contained-not-binary");
                    self.issues.report(Issue::says(IssueCode::Value, text).at(at));
                    None
                }
                None => {
                    let text = Text::new("attachment-url-no-contained-resource");
                    self.issues.report(Issue::says(IssueCode::NotFound, text).at(at));
                    None
                }
            };
        }
        match self.index.resolve(url) {
            Some(i) if self.binaries.contains_key(&(i, None)) => Some((i, None)),
            Some(i) => {
                let kind = self.entries[i].field("resource").and_then(|r| r.str_field("resourceType"));
                let text = match kind {
                    Some(kind) => Text::new("attachment-url-not-a-binary").arg("type", kind),
                    None => Text::new("attachment-url-entry-without-resource"),
                };
                self.issues.report(Issue::says(IssueCode::Value, text).at(at));
                None
            }
            None if names_in_bundle(url) => {
                let text = Text::new("attachment-url-no-binary");
                self.issues.report(Issue::says(IssueCode::NotFound, text).at(at));
                None
            }
            None if inline => None,
            None => {
                let text = Text::new("attachment-url-outside-bundle");
                self.issues.report(warning(IssueCode::NotSupported, text, at));
                None
            }
        }
    }

    /// The bytes of base64 `data` at `at`; `None`, with the reason reported, when it is not base64 or
    /// is over the limit, and `None` for an empty string (the base check reports that).
    fn decode(&mut self, data: &str, at: &str) -> Option<Vec<u8>> {
        match decode(data, self.max_bytes) {
            Ok(bytes) => bytes,
            Err(issue) => {
                self.issues.report(issue.at(at));
                None
            }
        }
    }

    /// Reports what [`sniff`] says of the bytes of the element at `at`.
    fn sniff(&mut self, media: &MediaType, bytes: &[u8], at: &str) {
        let issue = match sniff(media, bytes) {
            Verdict::Agrees => return,
            Verdict::Disagrees(why) => {
                Issue::says(IssueCode::Value, why.arg("type", &media.essence)).at(format!("{at}.data"))
            }
            Verdict::Doubt(why) => warning(IssueCode::Value, why.arg("type", &media.essence), format!("{at}.data")),
            Verdict::NotChecked(why) => warning(IssueCode::NotSupported, why, format!("{at}.contentType")),
        };
        self.issues.report(issue);
    }
}

/// `size` and `hash`, when given, against the bytes, when they are known.
fn size_and_hash(attachment: &Json<'_>, bytes: Option<&[u8]>, at: &str, issues: &mut Vec<Issue>) {
    if let (Some(size), Some(bytes)) = (attachment.field("size").and_then(Json::as_u64), bytes) {
        if size != bytes.len() as u64 {
            let text = Text::new("attachment-size-mismatch").num("size", size).num("bytes", bytes.len());
            issues.report(Issue::says(IssueCode::Value, text).at(format!("{at}.size")));
        }
    }
    let Some(hash) = attachment.str_field("hash") else { return };
    let at = format!("{at}.hash");
    let wrong_length = |text: Text| Issue::says(IssueCode::Value, text).at(at.clone());
    // Decoded only if no longer than the longest common digest (SHA-512).
    match decode(hash, 64) {
        // Empty: the base check reports it.
        Ok(None) => {}
        Ok(Some(digest)) if digest.len() == 20 => {
            if bytes.is_some_and(|bytes| Sha1::digest(bytes).as_slice() != digest) {
                issues.report(Issue::says(IssueCode::Value, Text::new("attachment-hash-mismatch")).at(at));
            }
        }
        Ok(Some(digest)) => issues.report(wrong_length(Text::new("attachment-hash-length").num("bytes", digest.len()))),
        Err(issue) if issue.code == IssueCode::TooCostly => {
            issues.report(wrong_length(Text::new("attachment-hash-too-long")))
        }
        Err(issue) => issues.report(issue.at(at)),
    }
}

/// Decodes base64Binary text: standard alphabet, padded, white space allowed (R4's pattern has it;
/// MIME writes line breaks). `Ok(None)` for an empty string. Text that would decode to more than
/// `max_bytes` is refused from its length, before anything is decoded.
fn decode(text: &str, max_bytes: usize) -> Result<Option<Vec<u8>>, Issue> {
    if text.is_empty() {
        return Ok(None);
    }
    let significant = |b: &u8| !b.is_ascii_whitespace();
    let length = text.bytes().filter(significant).count();
    if length % 4 != 0 {
        return Err(Issue::says(IssueCode::Value, Text::new("attachment-base64-length")));
    }
    let padding = text.bytes().rev().filter(significant).take(2).filter(|b| *b == b'=').count();
    let decoded = length / 4 * 3 - padding;
    if decoded > max_bytes {
        let text = Text::new("attachment-too-large").num("bytes", decoded).num("max", max_bytes);
        return Err(Issue::says(IssueCode::TooCostly, text));
    }
    let compact: Cow<'_, [u8]> = if length == text.len() {
        Cow::Borrowed(text.as_bytes())
    } else {
        Cow::Owned(text.bytes().filter(significant).collect())
    };
    base64::engine::general_purpose::STANDARD.decode(&compact).map(Some).map_err(|e| {
        let text = match e {
            base64::DecodeError::InvalidByte(at, _) => Text::new("attachment-base64-character").num("position", at),
            base64::DecodeError::InvalidLastSymbol(at, _) => {
                Text::new("attachment-base64-last-bits").num("position", at)
            }
            base64::DecodeError::InvalidLength(_) => Text::new("attachment-base64-no-length"),
            base64::DecodeError::InvalidPadding => Text::new("attachment-base64-padding"),
        };
        Issue::says(IssueCode::Value, text)
    })
}

/// Whether a url can only name something inside the Bundle: a `urn:` (uuid, oid), a relative url, or a
/// RESTful url of a Binary (`[base/]Binary/id[/_history/v]`), which the receiver could not fetch from
/// the sender. The broker requires these to resolve, as it does every reference.
fn names_in_bundle(url: &str) -> bool {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme.is_none_or(|s| s.eq_ignore_ascii_case("urn")) {
        return true;
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.split("/_history/").next().unwrap_or(path);
    let mut segments = path.rsplit('/');
    segments.next();
    segments.next() == Some("Binary")
}

fn warning(code: IssueCode, text: Text, at: impl Into<String>) -> Issue {
    Issue::says(code, text).severity(Severity::Warning).at(at)
}

fn not_a_media_type(at: String) -> Issue {
    Issue::says(IssueCode::Value, Text::new("attachment-not-a-media-type")).at(at)
}

/// A declared media type: `type/subtype` in lower case, and its charset parameter if any.
#[derive(Debug, PartialEq, Eq)]
struct MediaType {
    essence: String,
    charset: Option<String>,
}

impl MediaType {
    /// `type/subtype` with optional `; name=value` parameters (RFC 9110 section 8.3.1); `None` when
    /// `text` is not one. Only the charset parameter is kept.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let essence = parts.next()?.trim();
        let (kind, subtype) = essence.split_once('/')?;
        if !is_token(kind) || !is_token(subtype) {
            return None;
        }
        let charset = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, value)| value.trim().trim_matches('"').to_ascii_lowercase());
        Some(Self { essence: essence.to_ascii_lowercase(), charset })
    }

    /// Whether the text checks can read it: no charset declared, or UTF-8.
    fn utf8(&self) -> bool {
        self.charset.as_deref().is_none_or(|c| c == "utf-8" || c == "utf8")
    }

    /// The declared charset when it may be shown (a token of reasonable length).
    fn charset_shown(&self) -> Option<&str> {
        self.charset.as_deref().filter(|c| c.len() <= 40 && is_token(c))
    }
}

/// An RFC 9110 token of at most 127 characters (RFC 6838's limit on type and subtype names).
fn is_token(text: &str) -> bool {
    (1..=127).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What the bytes are, as far as the broker checks them against their declared type. The texts of
/// `Disagrees` and `Doubt` name the declared type: the caller adds it as the argument `type`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Agrees,
    /// They are not what the type says (an error): why.
    Disagrees(Text),
    /// They are, but something looks wrong (a warning): what.
    Doubt(Text),
    /// The broker does not check this type or charset (a warning).
    NotChecked(Text),
}

/// Checks `bytes` against their declared media type by their signature.
fn sniff(media: &MediaType, bytes: &[u8]) -> Verdict {
    let pdf = bytes.starts_with(b"%PDF-");
    let essence = media.essence.as_str();
    match essence {
        "application/pdf" if !pdf => Verdict::Disagrees(Text::new("attachment-not-a-pdf")),
        "application/pdf" => {
            let tail = &bytes[bytes.len().saturating_sub(PDF_TAIL)..];
            if tail.windows(5).any(|w| w == b"%%EOF") {
                Verdict::Agrees
            } else {
                Verdict::Doubt(Text::new("attachment-pdf-cut-off").num("tail", PDF_TAIL))
            }
        }
        "text/plain" | "application/xhtml+xml" | "text/html" if pdf => {
            Verdict::Disagrees(Text::new("attachment-bytes-are-a-pdf"))
        }
        "text/plain" | "application/xhtml+xml" | "text/html" if !media.utf8() => {
            let text = match media.charset_shown() {
                Some(charset) => Text::new("attachment-charset-not-checked").arg("charset", charset),
                None => Text::new("attachment-unnamed-charset-not-checked"),
            };
            Verdict::NotChecked(text.arg("type", essence))
        }
        "text/plain" => match utf8_text(bytes, &['\t', '\r', '\n', '\x0C']) {
            Ok(_) => Verdict::Agrees,
            Err(why) => Verdict::Disagrees(why),
        },
        "application/xhtml+xml" => xhtml(bytes),
        "text/html" => html(bytes),
        other => Verdict::NotChecked(Text::new("attachment-type-not-checked").arg("type", other)),
    }
}

/// The bytes as UTF-8 text (after an optional byte order mark), without control characters other than
/// `allowed`; otherwise why not.
fn utf8_text<'b>(bytes: &'b [u8], allowed: &[char]) -> Result<&'b str, Text> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let offset = bytes.len() - body.len();
    let text = std::str::from_utf8(body)
        .map_err(|e| Text::new("attachment-not-utf8").num("byte", offset + e.valid_up_to()))?;
    match text.char_indices().find(|(_, c)| c.is_control() && !allowed.contains(c)) {
        Some((at, c)) => Err(Text::new("attachment-control-character")
            .arg("character", format_args!("U+{:04X}", u32::from(c)))
            .num("byte", offset + at)),
        None => Ok(text),
    }
}

/// XHTML: UTF-8 XML whose first element, after the prolog, is `html` or `div` in the XHTML namespace.
fn xhtml(bytes: &[u8]) -> Verdict {
    let text = match utf8_text(bytes, &['\t', '\r', '\n']) {
        Ok(text) => text,
        Err(why) => return Verdict::Disagrees(why),
    };
    let (encoding, rest) = match skip_prolog(text) {
        Ok(found) => found,
        Err(why) => return Verdict::Disagrees(why),
    };
    if let Some(encoding) = encoding.filter(|e| !e.eq_ignore_ascii_case("utf-8") && !e.eq_ignore_ascii_case("utf8")) {
        return Verdict::NotChecked(if encoding.len() <= 40 && is_token(encoding) {
            Text::new("attachment-encoding-not-checked").arg("encoding", encoding)
        } else {
            Text::new("attachment-unnamed-encoding-not-checked")
        });
    }
    let (name, namespace) = match start_tag(rest) {
        Ok(tag) => tag,
        Err(why) => return Verdict::Disagrees(why),
    };
    let local = name.split_once(':').map_or(name, |(_, local)| local);
    if local != "html" && local != "div" {
        Verdict::Disagrees(Text::new("attachment-xhtml-first-element"))
    } else if namespace != Some(XHTML_NS) {
        Verdict::Disagrees(Text::new("attachment-xhtml-namespace").arg("namespace", XHTML_NS))
    } else {
        Verdict::Agrees
    }
}

/// HTML: UTF-8 text that starts (after white space) with markup: a tag, a comment or a DOCTYPE. HTML is
/// not XML, so no namespace is asked for (an HTML5 letter starts `<!DOCTYPE html><html>`).
fn html(bytes: &[u8]) -> Verdict {
    let text = match utf8_text(bytes, &['\t', '\r', '\n', '\x0C']) {
        Ok(text) => text,
        Err(why) => return Verdict::Disagrees(why),
    };
    let start = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let markup = start
        .strip_prefix('<')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!' || c == '?'));
    if markup {
        Verdict::Agrees
    } else {
        Verdict::Disagrees(Text::new("attachment-html-not-markup"))
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Skips an XML prolog: white space, the XML declaration and processing instructions, comments and a
/// DOCTYPE (its internal subset included). Returns the declared encoding and what follows.
fn skip_prolog(text: &str) -> Result<(Option<&str>, &str), Text> {
    let mut rest = text;
    let mut encoding = None;
    loop {
        rest = rest.trim_start_matches(is_xml_space);
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").ok_or_else(|| Text::new("attachment-instruction-does-not-end"))?;
            let instruction = &after[..end];
            if let Some(declaration) = instruction.strip_prefix("xml").filter(|d| d.starts_with(is_xml_space)) {
                encoding = pseudo_attribute(declaration, "encoding");
            }
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or_else(|| Text::new("attachment-comment-does-not-end"))?;
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            rest = skip_doctype(after).ok_or_else(|| Text::new("attachment-doctype-does-not-end"))?;
        } else {
            return Ok((encoding, rest));
        }
    }
}

/// `name="value"` (or single quotes) in an XML declaration.
fn pseudo_attribute<'t>(declaration: &'t str, name: &str) -> Option<&'t str> {
    let at = declaration.find(name)?;
    let rest = declaration[at + name.len()..].trim_start_matches(is_xml_space).strip_prefix('=')?;
    let rest = rest.trim_start_matches(is_xml_space);
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &rest[1..];
    value.find(quote).map(|end| &value[..end])
}

/// What follows a DOCTYPE whose `<!DOCTYPE` was read: up to its `>`, past quoted strings and an
/// internal subset in brackets.
fn skip_doctype(text: &str) -> Option<&str> {
    let (mut quote, mut subset) = (None, false);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => subset = true,
            (None, ']') => subset = false,
            (None, '>') if !subset => return Some(&text[i + 1..]),
            _ => {}
        }
    }
    None
}

/// The name of the start tag `text` begins with, and its namespace: the value of `xmlns` (or of
/// `xmlns:prefix` for a prefixed name) on that tag.
fn start_tag(text: &str) -> Result<(&str, Option<&str>), Text> {
    let malformed = || Text::new("attachment-start-tag-broken");
    let Some(after) = text.strip_prefix('<').filter(|a| a.starts_with(|c: char| c.is_alphabetic() || c == '_')) else {
        return Err(Text::new("attachment-xhtml-not-markup"));
    };
    let end = after.find(|c: char| is_xml_space(c) || c == '/' || c == '>').ok_or_else(malformed)?;
    let name = &after[..end];
    let wanted = match name.split_once(':') {
        Some((prefix, _)) => Cow::Owned(format!("xmlns:{prefix}")),
        None => Cow::Borrowed("xmlns"),
    };
    let mut rest = &after[end..];
    let mut namespace = None;
    loop {
        rest = rest.trim_start_matches(is_xml_space);
        if rest.starts_with('>') || rest.starts_with("/>") {
            return Ok((name, namespace));
        }
        let eq = rest.find('=').ok_or_else(malformed)?;
        let attribute = rest[..eq].trim_end_matches(is_xml_space);
        if attribute.is_empty() || attribute.contains(|c: char| is_xml_space(c) || c == '>' || c == '<') {
            return Err(malformed());
        }
        let value = rest[eq + 1..].trim_start_matches(is_xml_space);
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'').ok_or_else(malformed)?;
        let close = value[1..].find(quote).ok_or_else(malformed)?;
        if attribute == wanted {
            namespace = Some(&value[1..1 + close]);
        }
        rest = &value[close + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;
    use serde_json::json;

    const PDF: &[u8] =
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

    fn media(text: &str) -> MediaType {
        MediaType::parse(text).expect("a media type")
    }

    /// What a verdict says in English, without the declared type the caller puts in front of it.
    fn said(why: &Text) -> String {
        let plain = why.render(Language::En);
        if plain != why.id() {
            return plain;
        }
        let text = why.clone().arg("type", "T").render(Language::En);
        let text = text.strip_prefix("contentType is T, but ").or_else(|| text.strip_prefix("contentType is T: "));
        text.expect("a verdict's text").to_owned()
    }

    fn disagrees(verdict: Verdict) -> String {
        match verdict {
            Verdict::Disagrees(why) => said(&why),
            other => panic!("expected a disagreement, got {other:?}"),
        }
    }

    #[test]
    fn media_types_are_compared_without_parameters_and_case() {
        assert_eq!(
            media("Text/Plain; Charset=\"UTF-8\""),
            MediaType { essence: "text/plain".to_owned(), charset: Some("utf-8".to_owned()) }
        );
        assert_eq!(media("application/pdf").charset, None);
        for broken in ["pdf", "application/", "/pdf", "text /plain", "text/plain/x", ""] {
            assert_eq!(MediaType::parse(broken), None, "{broken}");
        }
        assert!(media("text/plain; charset=utf8").utf8());
        assert!(!media("text/plain; charset=iso-8859-1").utf8());
    }

    #[test]
    fn pdfs_are_told_from_text_by_their_signature() {
        assert_eq!(sniff(&media("application/pdf"), PDF), Verdict::Agrees);
        assert!(disagrees(sniff(&media("application/pdf"), b"Dear colleague")).contains("%PDF-"));
        assert!(
            matches!(sniff(&media("application/pdf"), &PDF[..40]), Verdict::Doubt(why) if said(&why).contains("cut off"))
        );
        for text_type in ["text/plain", "text/plain; charset=iso-8859-1", "application/xhtml+xml", "text/html"] {
            assert_eq!(disagrees(sniff(&media(text_type), PDF)), "the bytes are a PDF", "{text_type}");
        }
    }

    #[test]
    fn plain_text_is_utf8_without_control_characters_but_tab_cr_lf_and_ff() {
        let plain = media("text/plain");
        assert_eq!(sniff(&plain, "Ontslagbrief\r\n\tHartfalen,\x0c pagina 2 é €".as_bytes()), Verdict::Agrees);
        assert_eq!(sniff(&plain, b"\xEF\xBB\xBFwith a byte order mark"), Verdict::Agrees);
        assert_eq!(disagrees(sniff(&plain, b"caf\xE9")), "the bytes are not UTF-8 (from byte 3)");
        assert_eq!(disagrees(sniff(&plain, b"a\0b")), "the bytes hold a control character (U+0000) at byte 1");
        assert!(disagrees(sniff(&plain, "x\u{85}".as_bytes())).contains("U+0085"));
        assert!(matches!(sniff(&media("text/plain; charset=windows-1252"), b"caf\xE9"),
            Verdict::NotChecked(why) if said(&why).contains("windows-1252")));
        let hostile_charset = media("text/plain; charset=\"999911120 J. Jansen\"");
        assert!(matches!(sniff(&hostile_charset, b"x"), Verdict::NotChecked(why) if !said(&why).contains("Jansen")));
    }

    #[test]
    fn xhtml_is_an_html_or_div_element_in_the_xhtml_namespace_after_the_prolog() {
        let xhtml = media("application/xhtml+xml");
        for good in [
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Ontslag</p></div>"#,
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- letter -->\n<!DOCTYPE html PUBLIC \
             \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" lang='nl'><body/></html>",
            "<!DOCTYPE html [ <!ENTITY nbsp \"&#160;\"> ]><x:html xmlns:x='http://www.w3.org/1999/xhtml'/>",
        ] {
            assert_eq!(sniff(&xhtml, good.as_bytes()), Verdict::Agrees, "{good}");
        }
        assert!(disagrees(sniff(&xhtml, b"Dear colleague, <b>Mr J.</b>")).starts_with("the bytes are not markup"));
        assert!(disagrees(sniff(&xhtml, b"<html><body/></html>")).contains("XHTML namespace"));
        assert!(disagrees(sniff(&xhtml, b"<html xmlns=\"http://www.w3.org/1999/xhtml-not\"/>")).contains("namespace"));
        assert!(disagrees(sniff(&xhtml, br#"<p xmlns="http://www.w3.org/1999/xhtml"/>"#)).contains("not html or div"));
        assert!(disagrees(sniff(&xhtml, br#"<x:div xmlns="http://www.w3.org/1999/xhtml"/>"#)).contains("namespace"));
        assert!(disagrees(sniff(&xhtml, b"<!-- never ends")).contains("does not end"));
        assert!(disagrees(sniff(&xhtml, b"<div xmlns=http://www.w3.org/1999/xhtml>")).contains("broken"));
        assert!(disagrees(sniff(&xhtml, b"<div\x0c/>")).contains("control character"));
        let latin = b"<?xml version='1.0' encoding='ISO-8859-1'?><div/>";
        assert!(matches!(sniff(&xhtml, latin), Verdict::NotChecked(why) if said(&why).contains("ISO-8859-1")));
    }

    #[test]
    fn html_is_utf8_markup_without_a_namespace() {
        let html = media("text/html; charset=utf-8");
        assert_eq!(sniff(&html, b"<!DOCTYPE html>\n<html lang=\"nl\"><p>Ontslag</p></html>"), Verdict::Agrees);
        assert_eq!(sniff(&html, b"  <p>Ontslag</p>"), Verdict::Agrees);
        assert!(disagrees(sniff(&html, b"Dear colleague")).starts_with("the bytes are not markup"));
        assert!(disagrees(sniff(&html, b"<p>caf\xE9</p>")).contains("not UTF-8"));
    }

    #[test]
    fn other_types_are_carried_unchecked() {
        for other in ["image/png", "application/hl7-v3+xml", "text/xml"] {
            assert!(matches!(sniff(&media(other), b"\x89PNG"), Verdict::NotChecked(why) if said(&why).contains(other)));
        }
    }

    #[test]
    fn base64_is_decoded_with_white_space_and_refused_over_the_limit_from_its_length() {
        assert_eq!(decode("JVBE\r\nRi0=", 100).unwrap(), Some(b"%PDF-".to_vec()));
        assert_eq!(decode("", 100).unwrap(), None);
        let refused = |text: &str, max| decode(text, max).unwrap_err();
        assert_eq!(refused("JVBERi0=", 4).code, IssueCode::TooCostly);
        assert_eq!(decode("JVBERi0=", 5).unwrap().map(|b| b.len()), Some(5));
        for (invalid, why) in [
            ("JVBERi0", "multiple of 4"),
            ("JVB*Ri0=", "position 3"),
            ("JV=ERi0=", "not base64"),
            ("JVBERi1=", "bits"),
            ("JVBERi-_", "position 6"),
        ] {
            let issue = refused(invalid, 100);
            assert_eq!(issue.code, IssueCode::Value, "{invalid}");
            assert!(issue.message.contains(why), "{invalid}: {}", issue.message);
        }
    }

    #[test]
    fn urls_that_can_only_name_a_bundle_entry_are_told_from_others() {
        for local in [
            "urn:uuid:0c3b",
            "URN:oid:1.2.3",
            "Binary/letter",
            "letter.pdf",
            "https://ehr.example/fhir/Binary/7/_history/2",
        ] {
            assert!(names_in_bundle(local), "{local}");
        }
        for outside in ["https://pacs.example/studies/7", "https://ehr.example/fhir/DocumentReference/7"] {
            assert!(!names_in_bundle(outside), "{outside}");
        }
    }

    /// The issues of one Bundle holding `resources` as entries, with an attachment limit of `max_bytes`.
    fn check(resources: &[serde_json::Value], max_bytes: usize) -> Vec<Issue> {
        let entries: Vec<_> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| json!({ "fullUrl": format!("urn:uuid:{i}"), "resource": r }))
            .collect();
        let text = json!({ "resourceType": "Bundle", "type": "message", "entry": entries }).to_string();
        let bundle = crate::json::parse(&text).unwrap();
        let index = BundleIndex::new(bundle.items("entry"));
        let mut issues = Vec::new();
        AttachmentChecks { max_bytes }.check(&BaseModel::load().unwrap(), &bundle, &index, &mut issues);
        issues
    }

    fn document(attachment: serde_json::Value) -> serde_json::Value {
        json!({ "resourceType": "DocumentReference", "status": "current", "content": [{ "attachment": attachment }] })
    }

    fn base64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn sha1(bytes: &[u8]) -> String {
        base64(&Sha1::digest(bytes))
    }

    fn shown(issues: &[Issue]) -> String {
        issues.iter().map(|i| format!("{i}\n")).collect()
    }

    #[test]
    fn size_and_hash_are_checked_against_the_decoded_bytes() {
        let pdf =
            json!({ "contentType": "application/pdf", "data": base64(PDF), "size": PDF.len(), "hash": sha1(PDF) });
        assert_eq!(check(&[document(pdf.clone())], 1 << 20), []);

        let mut wrong = pdf.clone();
        wrong["size"] = json!(PDF.len() + 1);
        wrong["hash"] = json!(sha1(b"another letter"));
        let issues = check(&[document(wrong)], 1 << 20);
        let at = "Bundle.entry[0].resource.content[0].attachment";
        assert_eq!(issues.len(), 2, "{}", shown(&issues));
        assert_eq!(issues[0].expression.as_deref(), Some(format!("{at}.size").as_str()));
        assert_eq!(issues[0].message, format!("is {}, but the data is {} bytes", PDF.len() + 1, PDF.len()));
        assert_eq!(issues[1].expression.as_deref(), Some(format!("{at}.hash").as_str()));

        let mut sha256 = pdf;
        sha256["hash"] = json!(base64(&[7; 32]));
        let issues = check(&[document(sha256.clone())], 1 << 20);
        assert!(issues[0].message.starts_with("is 32 bytes; R4's"), "{}", shown(&issues));
        let mut long = sha256;
        long["hash"] = json!(base64(&[7; 3000]));
        let issues = check(&[document(long)], 1 << 20);
        assert!(issues[0].message.starts_with("is over 64 bytes; R4's"), "{}", shown(&issues));
    }

    #[test]
    fn a_url_is_checked_against_the_binary_it_names() {
        let binary = json!({ "resourceType": "Binary", "contentType": "application/pdf", "data": base64(PDF) });
        let pointing = |url: &str, extra: serde_json::Value| {
            let mut attachment = json!({ "url": url, "size": PDF.len(), "hash": sha1(PDF) });
            attachment.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            document(attachment)
        };
        assert_eq!(check(&[pointing("urn:uuid:1", json!({})), binary.clone()], 1 << 20), []);
        assert_eq!(
            check(&[pointing("urn:uuid:1", json!({ "contentType": "Application/PDF" })), binary.clone()], 1 << 20),
            []
        );

        let issues = check(
            &[pointing("urn:uuid:1", json!({ "contentType": "text/plain", "size": 1 })), binary.clone()],
            1 << 20,
        );
        let at = "Bundle.entry[0].resource.content[0].attachment";
        let wanted = [format!("{at}.contentType"), format!("{at}.size")];
        assert_eq!(
            issues.iter().filter_map(|i| i.expression.clone()).collect::<Vec<_>>(),
            wanted,
            "{}",
            shown(&issues)
        );

        let missing = check(&[pointing("urn:uuid:9", json!({})), binary.clone()], 1 << 20);
        assert_eq!((missing.len(), missing[0].code), (1, IssueCode::NotFound), "{}", shown(&missing));
        let not_binary = check(&[pointing("urn:uuid:0", json!({}))], 1 << 20);
        assert!(
            not_binary[0].message.contains("a DocumentReference in the Bundle, not a Binary"),
            "{}",
            shown(&not_binary)
        );
        let outside = check(&[pointing("https://pacs.example/studies/7", json!({}))], 1 << 20);
        assert_eq!((outside.len(), outside[0].severity), (1, Severity::Warning), "{}", shown(&outside));
        let also_inline = json!({ "contentType": "application/pdf", "data": base64(PDF) });
        assert_eq!(check(&[pointing("https://pacs.example/studies/7", also_inline)], 1 << 20), []);

        // A Bundle inside the message: its Binary is checked where it is; its urls name its own entries.
        let inner = json!({ "resourceType": "Bundle", "type": "collection", "entry": [
            { "resource": pointing("urn:uuid:1", json!({})) },
            { "resource": { "resourceType": "Binary", "contentType": "text/plain", "data": base64(PDF) } }] });
        let issues = check(&[inner], 1 << 20);
        let found: Vec<_> = issues.iter().map(|i| (i.severity, i.expression.clone().unwrap())).collect();
        let inner_at = "Bundle.entry[0].resource.entry";
        let wanted = [
            (Severity::Warning, format!("{inner_at}[0].resource.content[0].attachment.url")),
            (Severity::Error, format!("{inner_at}[1].resource.data")),
        ];
        assert_eq!(found, wanted, "{}", shown(&issues));

        // A contained Binary, named by `#id`, is checked where it is and resolved for its container.
        let mut container = pointing("#letter", json!({}));
        let mut contained = binary.clone();
        contained["id"] = json!("letter");
        contained["contentType"] = json!("text/plain");
        container["contained"] = json!([contained]);
        let issues = check(&[container], 1 << 20);
        assert_eq!(issues.len(), 1, "{}", shown(&issues));
        assert_eq!(issues[0].expression.as_deref(), Some("Bundle.entry[0].resource.contained[0].data"));
        assert_eq!(issues[0].message, "contentType is text/plain, but the bytes are a PDF");
    }

    #[test]
    fn attachments_are_found_wherever_the_base_model_types_one() {
        let photo = json!({ "contentType": "application/pdf", "data": base64(b"GIF89a") });
        let patient = json!({ "resourceType": "Patient", "photo": [photo.clone()],
            "extension": [{ "url": "https://example.org/letter", "valueAttachment": photo }] });
        let issues = check(&[patient], 1 << 20);
        let at: Vec<_> = issues.iter().filter_map(|i| i.expression.as_deref()).collect();
        assert_eq!(
            at,
            ["Bundle.entry[0].resource.extension[0].valueAttachment.data", "Bundle.entry[0].resource.photo[0].data"]
        );

        // Look-alikes are not: a SampledData's and a Signature's data, a Bundle link's url.
        let observation = json!({ "resourceType": "Observation", "status": "final", "code": { "text": "ECG" },
            "valueSampledData": { "origin": { "value": 0 }, "period": 10, "dimensions": 1, "data": "1 2 3" } });
        let signature = json!({ "type": [{ "code": "1.2.840.10065.1.12.1.1" }], "when": "2026-11-19T10:00:00Z",
            "who": { "reference": "urn:uuid:0" }, "data": "not base64!" });
        let provenance = json!({ "resourceType": "Provenance", "signature": [signature] });
        let inner =
            json!({ "resourceType": "Bundle", "type": "collection", "link": [{ "relation": "self", "url": "x" }] });
        assert_eq!(check(&[observation, provenance, inner], 1 << 20), []);
    }

    #[test]
    fn hostile_data_is_answered_without_decoding_it_or_quoting_it() {
        // 12 MB of base64 with a stray character at the end: refused from its length, never decoded
        // (the stray character would be reported otherwise).
        let mut huge = "QUFB".repeat(3_000_000);
        huge.push_str("*AA=");
        let issues = check(&[document(json!({ "contentType": "application/pdf", "data": huge }))], 8 << 20);
        assert_eq!(issues.len(), 1, "{}", shown(&issues));
        assert_eq!(issues[0].code, IssueCode::TooCostly);
        assert!(issues[0].message.starts_with("decodes to 9000002 bytes"), "{}", issues[0].message);

        let secret = "OTk5OTExMTIwIEouIEphbnNlbg==";
        for (data, code) in [(format!("{secret}!"), IssueCode::Value), (format!("!{secret}"), IssueCode::Value)] {
            let issues = check(&[document(json!({ "contentType": "text/plain", "data": data }))], 1 << 20);
            assert_eq!(issues.iter().map(|i| i.code).collect::<Vec<_>>(), [code], "{}", shown(&issues));
            assert!(!issues[0].message.contains(secret) && !issues[0].message.contains("Jansen"));
        }
        let decoded_text = check(&[document(json!({ "contentType": "application/pdf", "data": secret }))], 1 << 20);
        assert!(!shown(&decoded_text).contains("Jansen"), "{}", shown(&decoded_text));

        // Empty data is the base check's to report; here it is neither decoded nor sniffed.
        assert_eq!(check(&[document(json!({ "contentType": "application/pdf", "data": "" }))], 1 << 20), []);
        let no_type = check(&[document(json!({ "data": base64(PDF) }))], 1 << 20);
        assert_eq!(no_type.iter().map(|i| i.code).collect::<Vec<_>>(), [IssueCode::Invariant]);
    }
}
