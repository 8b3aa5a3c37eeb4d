//! The JSON tree a submitted message is checked on.
//!
//! Strings borrow from the received bytes (only escaped strings are copied) and objects are vectors of
//! members in document order, not search trees: parsing the discharge fixture this way costs about 0.6x
//! of a `serde_json::Value` (measured in `benches/ingest.rs`), and the walks over it are no slower,
//! because FHIR objects have few members. Conformance resources, read once at start, stay
//! `serde_json::Value`.

/// A parsed JSON value borrowing from its bytes.
pub type Json<'a> = serde_json_borrow::Value<'a>;

/// A JSON object: its members in document order (duplicates kept, see [`duplicate_key`]).
pub type Object<'a> = serde_json_borrow::ObjectAsVec<'a>;

/// Member access by name, answering `None` for a missing member and for a value that is not an object.
pub trait Field<'a> {
    fn field(&self, key: &str) -> Option<&Json<'a>>;
    /// A member that is a JSON string.
    fn str_field(&self, key: &str) -> Option<&str>;
    /// A member that is a JSON array (empty when missing or not an array).
    fn items(&self, key: &str) -> &[Json<'a>];
}

impl<'a> Field<'a> for Json<'a> {
    fn field(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object()?.get(key)
    }
    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key)?.as_str()
    }
    fn items(&self, key: &str) -> &[Json<'a>] {
        self.field(key).and_then(Json::as_array).unwrap_or_default()
    }
}

/// A member name that occurs twice in `object`. JSON leaves duplicates undefined and FHIR forbids
/// them; a tree that kept only one of them could check one value and forward another.
///
/// Small objects (all of FHIR's) are compared pairwise; a large one through a hash set, so that a
/// hostile object with 100,000 members costs linear time.
pub fn duplicate_key<'o>(object: &'o Object<'_>) -> Option<&'o str> {
    const PAIRWISE: usize = 24;
    if object.len() <= PAIRWISE {
        let keys = object.as_vec();
        return keys
            .iter()
            .enumerate()
            .find(|(i, (key, _))| keys[..*i].iter().any(|(k, _)| k == key))
            .map(|(_, (k, _))| &**k);
    }
    let mut seen = rustc_hash::FxHashSet::default();
    object.keys().find(|key| !seen.insert(*key))
}

/// Parses `text` (tests and tools; the broker parses through `ingest`).
pub fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The byte ranges of the elements of the top-level `entry` array, or `None` when there is none (or the
/// JSON is malformed). A scan of the bytes that knows strings and escapes; nothing is parsed twice.
///
/// What lets the broker build a message around received entries (a forwarding, a wrapped document)
/// without re-serialising them: the entries it passes on are the sender's bytes, so nothing clinical
/// can change on the way. Callers check that the count equals the parsed tree's.
pub fn entry_spans(bytes: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let mut depth = 0usize;
    let mut i = 0;
    // The key last read at depth 1, and whether we are inside the entry array (depth 2).
    let mut key_at_1: Option<std::ops::Range<usize>> = None;
    let mut in_entries = false;
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let from = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return None;
                }
                if depth == 1 && !in_entries {
                    key_at_1 = Some(from + 1..i);
                }
                if in_entries && depth == 2 && start.is_none() {
                    start = Some(from);
                }
            }
            b'{' | b'[' => {
                if in_entries && depth == 2 && start.is_none() {
                    start = Some(i);
                }
                if depth == 1 && bytes[i] == b'[' && key_at_1.as_ref().is_some_and(|k| &bytes[k.clone()] == b"entry") {
                    in_entries = true;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if in_entries && depth == 1 {
                    // The entry array closes.
                    spans.extend(start.take().map(|s| s..trim_end(bytes, s, i)));
                    return Some(spans);
                }
            }
            b',' if in_entries && depth == 2 => spans.push(start.take()?..trim_end(bytes, 0, i)),
            b':' if depth == 1 => {}
            _ => {
                if in_entries && depth == 2 && start.is_none() && !bytes[i].is_ascii_whitespace() {
                    start = Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// `end` moved back over white space (to just after the last byte of the element).
fn trim_end(bytes: &[u8], floor: usize, mut end: usize) -> usize {
    while end > floor && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_found_in_small_and_large_objects() {
        let small = parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(small.as_object().and_then(duplicate_key), Some("a"));
        let unique = parse(r#"{"a":1,"b":2}"#).unwrap();
        assert_eq!(unique.as_object().and_then(duplicate_key), None);
        let mut text = (0..100).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>().join(",");
        text.push_str(",\"k7\":0");
        let text = format!("{{{text}}}");
        let large = parse(&text).unwrap();
        assert_eq!(large.as_object().and_then(duplicate_key), Some("k7"));
    }

    #[test]
    fn fields_answer_none_for_missing_members_and_non_objects() {
        let doc = parse(r#"{"a":"x","n":[1,2]}"#).unwrap();
        assert_eq!(doc.str_field("a"), Some("x"));
        assert_eq!(doc.items("n").len(), 2);
        assert!(doc.field("b").is_none());
        assert!(doc.items("a").is_empty());
        assert!(Json::Null.field("a").is_none());
    }
}
