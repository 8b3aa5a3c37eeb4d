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
