//! The entries of a Bundle by every name a reference may use, built once per message and shared by the
//! envelope (sender and receiver references) and the validator (every reference).

use std::collections::HashMap;

use serde_json::Value;

/// Entry positions by `fullUrl` and by `Type/id`.
#[derive(Debug, Clone, Default)]
pub struct BundleIndex {
    by_reference: HashMap<String, usize>,
}

impl BundleIndex {
    pub fn new(entries: &[Value]) -> Self {
        let mut by_reference = HashMap::with_capacity(entries.len() * 2);
        for (i, entry) in entries.iter().enumerate() {
            if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
                by_reference.insert(url.to_owned(), i);
            }
            let resource = entry.get("resource");
            let kind = resource.and_then(|r| r.get("resourceType")).and_then(Value::as_str);
            let id = resource.and_then(|r| r.get("id")).and_then(Value::as_str);
            if let (Some(kind), Some(id)) = (kind, id) {
                by_reference.insert(format!("{kind}/{id}"), i);
            }
        }
        Self { by_reference }
    }

    /// The entry a reference points to, if it is inside the Bundle: by fullUrl, `Type/id`, or an
    /// absolute URL ending in `Type/id[/_history/v]`.
    pub fn resolve(&self, reference: &str) -> Option<usize> {
        if let Some(&i) = self.by_reference.get(reference) {
            return Some(i);
        }
        let path = reference.split("/_history/").next().unwrap_or(reference);
        let mut parts = path.rsplit('/');
        let (id, kind) = (parts.next()?, parts.next()?);
        self.by_reference.get(&format!("{kind}/{id}")).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::BundleIndex;
    use serde_json::json;

    #[test]
    fn references_resolve_by_full_url_type_and_id_or_absolute_url() {
        let entries = [
            json!({ "fullUrl": "urn:uuid:1", "resource": { "resourceType": "Patient", "id": "p" } }),
            json!({ "fullUrl": "urn:uuid:2", "resource": { "resourceType": "Encounter" } }),
        ];
        let index = BundleIndex::new(&entries);
        assert_eq!(index.resolve("urn:uuid:2"), Some(1));
        assert_eq!(index.resolve("Patient/p"), Some(0));
        assert_eq!(index.resolve("https://ehr.example/fhir/Patient/p/_history/3"), Some(0));
        assert_eq!(index.resolve("Patient/q"), None);
        assert_eq!(index.resolve("urn:uuid:3"), None);
    }
}
