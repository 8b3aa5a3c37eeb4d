//! The entries of a Bundle by every name a reference may use, built once per message and shared by the
//! envelope (sender and receiver references) and the validator (every reference).

use std::collections::HashMap;

use crate::json::{Field, Json};

/// Entry positions by `fullUrl` and by `Type/id`.
#[derive(Debug, Clone, Default)]
pub struct BundleIndex {
    by_reference: HashMap<String, usize>,
}

impl BundleIndex {
    pub fn new(entries: &[Json<'_>]) -> Self {
        let mut by_reference = HashMap::with_capacity(entries.len() * 2);
        for (i, entry) in entries.iter().enumerate() {
            if let Some(url) = entry.str_field("fullUrl") {
                by_reference.insert(url.to_owned(), i);
            }
            let resource = entry.field("resource");
            let kind = resource.and_then(|r| r.str_field("resourceType"));
            let id = resource.and_then(|r| r.str_field("id"));
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

    #[test]
    fn references_resolve_by_full_url_type_and_id_or_absolute_url() {
        let entries = crate::json::parse(
            r#"[{ "fullUrl": "urn:uuid:1", "resource": { "resourceType": "Patient", "id": "p" } },
                { "fullUrl": "urn:uuid:2", "resource": { "resourceType": "Encounter" } }]"#,
        )
        .unwrap();
        let index = BundleIndex::new(entries.as_array().unwrap());
        assert_eq!(index.resolve("urn:uuid:2"), Some(1));
        assert_eq!(index.resolve("Patient/p"), Some(0));
        assert_eq!(index.resolve("https://ehr.example/fhir/Patient/p/_history/3"), Some(0));
        assert_eq!(index.resolve("Patient/q"), None);
        assert_eq!(index.resolve("urn:uuid:3"), None);
    }
}
