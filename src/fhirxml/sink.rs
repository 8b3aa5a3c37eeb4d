//! The two ends of a walk: the tree the validator checks ([`Tree`], strings borrowed from the XML
//! received) and the JSON text the broker stores ([`Text`], numbers as written: a decimal's precision is
//! part of its value, and a tree of binary numbers would lose `1.50`'s zero).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use super::walk::Sink;
use crate::json::{Json, Object};
use crate::profiles::base::ValueKind;

/// JSON text, written as the walk goes.
pub(super) struct Text {
    out: String,
    /// Per open object or array: whether a value was written in it (so the next needs a comma).
    filled: Vec<bool>,
    /// A key was just written: the value that follows needs no comma.
    after_key: bool,
}

impl Text {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { out: String::with_capacity(bytes), filled: Vec::with_capacity(16), after_key: false }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some(filled) = self.filled.last_mut() {
            if *filled {
                self.out.push(',');
            }
            *filled = true;
        }
    }

    fn open(&mut self, bracket: char) {
        self.separate();
        self.out.push(bracket);
        self.filled.push(false);
    }

    fn close(&mut self, bracket: char) {
        self.filled.pop();
        self.out.push(bracket);
    }
}

impl<'x> Sink<'x> for Text {
    fn begin_object(&mut self) {
        self.open('{');
    }
    fn end_object(&mut self) {
        self.close('}');
    }
    fn begin_array(&mut self) {
        self.open('[');
    }
    fn end_array(&mut self) {
        self.close(']');
    }
    fn key(&mut self, key: &'x str) {
        self.separate();
        string(&mut self.out, key);
        self.out.push(':');
        self.after_key = true;
    }
    fn underscored_key(&mut self, name: &'x str) {
        self.separate();
        self.out.push_str("\"_");
        self.out.push_str(name);
        self.out.push_str("\":");
        self.after_key = true;
    }
    fn string(&mut self, text: Cow<'x, str>) {
        self.separate();
        string(&mut self.out, &text);
    }
    fn scalar(&mut self, text: Cow<'x, str>, kind: ValueKind) {
        match kind {
            ValueKind::Boolean | ValueKind::Number => {
                self.separate();
                self.out.push_str(&text);
            }
            ValueKind::String => self.string(text),
        }
    }
    fn null(&mut self) {
        self.separate();
        self.out.push_str("null");
    }
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
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&text[run..]);
    out.push('"');
}

/// The tree the validator checks, built as the walk goes: the same tree the JSON path parses, so that
/// every check holds for XML without a JSON text in between.
pub(super) struct Tree<'x> {
    open: Vec<Open<'x>>,
    root: Option<Json<'x>>,
}

enum Open<'x> {
    Object(Object<'x>, &'x str),
    Array(Vec<Json<'x>>),
}

impl<'x> Tree<'x> {
    pub fn new() -> Self {
        Self { open: Vec::with_capacity(16), root: None }
    }

    /// The tree, once the walk closed every object it opened.
    pub fn finish(self) -> Option<Json<'x>> {
        self.root
    }

    fn value(&mut self, value: Json<'x>) {
        match self.open.last_mut() {
            // Keys are unique: the walk writes each member once.
            Some(Open::Object(object, key)) => {
                object.insert_unchecked_and_get_mut(key, value);
            }
            Some(Open::Array(items)) => items.push(value),
            None => self.root = Some(value),
        }
    }
}

impl<'x> Sink<'x> for Tree<'x> {
    fn begin_object(&mut self) {
        self.open.push(Open::Object(Object::default(), ""));
    }
    fn end_object(&mut self) {
        if let Some(Open::Object(object, _)) = self.open.pop() {
            self.value(Json::Object(object));
        }
    }
    fn begin_array(&mut self) {
        self.open.push(Open::Array(Vec::new()));
    }
    fn end_array(&mut self) {
        if let Some(Open::Array(items)) = self.open.pop() {
            self.value(Json::Array(items));
        }
    }
    fn key(&mut self, key: &'x str) {
        if let Some(Open::Object(_, pending)) = self.open.last_mut() {
            *pending = key;
        }
    }
    fn underscored_key(&mut self, name: &'x str) {
        self.key(underscored(name));
    }
    fn string(&mut self, text: Cow<'x, str>) {
        self.value(Json::Str(text));
    }
    fn scalar(&mut self, text: Cow<'x, str>, kind: ValueKind) {
        let value = match kind {
            ValueKind::Boolean => Json::Bool(text == "true"),
            ValueKind::Number => number(&text),
            ValueKind::String => Json::Str(text),
        };
        self.value(value);
    }
    fn null(&mut self) {
        self.value(Json::Null);
    }
}

/// A number as serde_json reads the same text: an integer when it is one and fits 64 bits, otherwise
/// a float (the walk checked that it is a finite JSON number).
fn number(text: &str) -> Json<'static> {
    let integral = !text.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(n) = text.parse::<u64>() {
            return Json::from(n);
        }
        if let Ok(n) = text.parse::<i64>() {
            return Json::from(n);
        }
    }
    Json::from(text.parse::<f64>().unwrap_or_default())
}

/// `_name` for a primitive element `name`: the tree's keys borrow, and this one is in no XML, so each
/// is made once per process. Only names of the base model get here (the walk checks the element
/// first), which bounds the set whatever a document holds.
fn underscored(name: &str) -> &'static str {
    // Keyed by the name without its underscore, which is the tail of the same leaked string.
    static NAMES: LazyLock<RwLock<HashMap<&'static str, &'static str>>> = LazyLock::new(Default::default);
    if let Some(found) = NAMES.read().ok().and_then(|names| names.get(name).copied()) {
        return found;
    }
    let mut names = match NAMES.write() {
        Ok(names) => names,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(found) = names.get(name) {
        return found;
    }
    let made: &'static str = Box::leak(format!("_{name}").into_boxed_str());
    names.insert(&made[1..], made);
    made
}
