//! Patient keys: the ledger names a patient by a keyed hash of an identifier, never the identifier.
//!
//! `key = hex(HMAC-SHA-256(secret, "system|value"))` with the broker's secret (configuration
//! `ledger.secret`, or generated once on the first start in demo mode and kept in the database). An
//! auditor queries with the plain identifier and the broker computes the key; without the secret the
//! keys cannot be tested against guessed identifiers (a BSN has only 10^9 values, a plain hash would be
//! reversed in minutes).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::json::{Field, Json};
use crate::model::PatientKey;

/// Computes patient keys. Cheap to clone.
#[derive(Clone)]
pub struct PatientKeys {
    secret: std::sync::Arc<Vec<u8>>,
}

impl std::fmt::Debug for PatientKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientKeys(secret hidden)")
    }
}

impl PatientKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { secret: std::sync::Arc::new(secret.to_vec()) }
    }

    /// The key of one identifier.
    pub fn key(&self, system: &str, value: &str) -> PatientKey {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else { return PatientKey::from_mac(&[]) };
        mac.update(system.trim().as_bytes());
        mac.update(b"|");
        mac.update(value.trim().as_bytes());
        PatientKey::from_mac(&mac.finalize().into_bytes())
    }

    /// The keys of every identifier of every Patient in a Bundle, in order, without repeats.
    pub fn of_bundle(&self, bundle: &Json<'_>) -> Vec<PatientKey> {
        let mut keys = Vec::new();
        let patients = bundle
            .items("entry")
            .iter()
            .filter_map(|e| e.field("resource"))
            .filter(|r| r.str_field("resourceType") == Some("Patient"));
        for patient in patients {
            for identifier in patient.items("identifier") {
                if let (Some(system), Some(value)) = (identifier.str_field("system"), identifier.str_field("value")) {
                    let key = self.key(system, value);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
        keys
    }
}

/// A new random secret (32 bytes, hex), for demo mode.
pub fn new_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_secret_and_the_whole_identifier() {
        let (a, b) = (PatientKeys::new(b"secret-a"), PatientKeys::new(b"secret-b"));
        let bsn = "http://fhir.nl/fhir/NamingSystem/bsn";
        assert_eq!(a.key(bsn, "999911120"), a.key(bsn, " 999911120 "));
        assert_ne!(a.key(bsn, "999911120"), b.key(bsn, "999911120"));
        assert_ne!(a.key(bsn, "999911120"), a.key(bsn, "999911121"));
        assert_ne!(a.key(bsn, "999911120"), a.key("urn:other", "999911120"));
        assert_eq!(a.key(bsn, "999911120").len(), 64);
        assert!(!a.key(bsn, "999911120").contains("999911120"));
    }

    #[test]
    fn every_identifier_of_every_patient_in_a_bundle_gets_a_key() {
        let keys = PatientKeys::new(b"s");
        let text = r#"{"entry":[{"resource":{"resourceType":"Patient","identifier":[
            {"system":"urn:a","value":"1"},{"system":"urn:b","value":"2"},{"system":"urn:a","value":"1"}]}},
            {"resource":{"resourceType":"Observation","identifier":[{"system":"urn:c","value":"3"}]}}]}"#;
        let bundle = crate::json::parse(text).unwrap();
        assert_eq!(keys.of_bundle(&bundle), [keys.key("urn:a", "1"), keys.key("urn:b", "2")]);
    }
}
