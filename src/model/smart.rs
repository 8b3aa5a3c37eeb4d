//! SMART Backend Services clients as the directory registers them: a client id, the JWK Set of the
//! public keys its assertions are signed with, and the roles its access tokens may carry.
//!
//! The JWK Set is registered inline (the JSON text, in the directory), never as a URL: a URL taken from
//! the directory would make the broker fetch addresses chosen by whoever edits the directory (another
//! SSRF surface, and the broker's trust in a key would follow someone else's web server). It is checked
//! once, where it enters ([`JwkSet::parse`]): at most [`MAX_JWKS_BYTES`] and [`MAX_KEYS`] keys, only
//! public RSA keys of 2048 to 8192 bits and P-384 EC keys (points on the curve), no private or symmetric
//! key material, unique `kid`s. The text is kept as given, so that the directory exports what it
//! imported.

use std::fmt;

use base64::Engine;
use serde_json::{Map, Value};

/// The largest JWK Set text accepted (bytes): a few 4096-bit keys fit, a key rotation of several too.
pub const MAX_JWKS_BYTES: usize = 16 * 1024;
/// The most keys in one JWK Set: every assertion without `kid` may be tried against each of them.
pub const MAX_KEYS: usize = 10;
/// RSA modulus sizes accepted, in bits: 2048 at least (NIST SP 800-131A), 8192 at most (the `rsa`
/// crate's limit, and an upper bound on the work of one verification).
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;
/// The longest client id and `kid` accepted.
const MAX_ID_CHARS: usize = 128;

/// A SMART client id: 1-128 visible ASCII characters (no spaces), unique in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= MAX_ID_CHARS && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role an access token of a SMART client may carry. Never admin: the directory is managed on the
/// host (CLI) or with an admin token, not by a client of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientRole {
    Sender,
    Auditor,
}

impl ClientRole {
    /// The code in the directory's extension and in the database: the names of `auth::Role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "sender" => Some(Self::Sender),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }
}

impl fmt::Display for ClientRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation's SMART Backend Services client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartClient {
    pub client_id: ClientId,
    pub jwks: JwkSet,
    /// The roles its tokens may carry: sorted, without repeats, never empty (sender by default).
    pub roles: Vec<ClientRole>,
}

impl SmartClient {
    /// `roles` sorted and without repeats; an empty list means the default, sender only.
    pub fn new(client_id: ClientId, jwks: JwkSet, mut roles: Vec<ClientRole>) -> Self {
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            roles.push(ClientRole::Sender);
        }
        Self { client_id, jwks, roles }
    }

    pub fn allows(&self, role: ClientRole) -> bool {
        self.roles.contains(&role)
    }

    /// The roles as stored: their codes separated by one space.
    pub fn roles_text(&self) -> String {
        self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Roles from [`SmartClient::roles_text`]; `None` for an unknown code.
    pub fn parse_roles(text: &str) -> Option<Vec<ClientRole>> {
        text.split_whitespace().map(ClientRole::parse).collect()
    }
}

/// The signature algorithm a key verifies: the only two the broker accepts for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-384, an RSA key.
    Rs384,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs384 => "RS384",
            Self::Es384 => "ES384",
        }
    }
}

/// One checked public key: components as base64url text, as the JWK gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa { n: String, e: String },
    P384 { x: String, y: String },
}

/// One key of a [`JwkSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: Option<String>,
    pub key: PublicKey,
}

impl PublicJwk {
    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.key {
            PublicKey::Rsa { .. } => KeyAlgorithm::Rs384,
            PublicKey::P384 { .. } => KeyAlgorithm::Es384,
        }
    }
}

/// A checked JWK Set: the text as registered, and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkSet {
    text: String,
    keys: Vec<PublicJwk>,
}

/// Members that only private or symmetric keys have (RFC 7518 section 6): never in a registered set.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl JwkSet {
    /// Parses and checks a JWK Set (RFC 7517 section 5); the problem in the broker's words otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(format!("the JWK Set is larger than {MAX_JWKS_BYTES} bytes"));
        }
        let value: Value = serde_json::from_str(text).map_err(|_| "the JWK Set is not JSON".to_owned())?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "a JWK Set is an object with a `keys` array".to_owned())?;
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(format!("a JWK Set needs 1 to {MAX_KEYS} keys"));
        }
        let mut checked: Vec<PublicJwk> = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let key = key.as_object().ok_or_else(|| format!("keys[{i}] is not an object"))?;
            let jwk = check_key(key).map_err(|problem| format!("keys[{i}]: {problem}"))?;
            if jwk.kid.is_some() && checked.iter().any(|other| other.kid == jwk.kid) {
                return Err(format!("keys[{i}]: its kid is used by another key of the set"));
            }
            checked.push(jwk);
        }
        Ok(Self { text: text.to_owned(), keys: checked })
    }

    /// The text as registered.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }
}

fn check_key(key: &Map<String, Value>) -> Result<PublicJwk, String> {
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| key.contains_key(**m)) {
        return Err(format!("holds private or symmetric key material ({member}); register public keys only"));
    }
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if key.get("use").is_some() && text("use") != Some("sig") {
        return Err("`use` must be sig".into());
    }
    if let Some(ops) = key.get("key_ops") {
        let verify_only = ops.as_array().is_some_and(|ops| ops.iter().all(|op| op.as_str() == Some("verify")));
        if !verify_only {
            return Err("`key_ops` may only hold verify".into());
        }
    }
    let kid = match key.get("kid") {
        None => None,
        Some(kid) => {
            let kid = kid.as_str().filter(|k| !k.is_empty() && k.chars().count() <= MAX_ID_CHARS);
            Some(kid.ok_or("`kid` must be a string of 1 to 128 characters")?.to_owned())
        }
    };
    let component = |name: &str| -> Result<(String, Vec<u8>), String> {
        let value = text(name).ok_or_else(|| format!("`{name}` is missing"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| format!("`{name}` is not base64url without padding"))?;
        Ok((value.to_owned(), bytes))
    };
    let material = match text("kty") {
        Some("RSA") => {
            let (n, n_bytes) = component("n")?;
            let (e, e_bytes) = component("e")?;
            check_rsa(&n_bytes, &e_bytes)?;
            PublicKey::Rsa { n, e }
        }
        Some("EC") => {
            if text("crv") != Some("P-384") {
                return Err("an EC key must be on curve P-384".into());
            }
            let (x, x_bytes) = component("x")?;
            let (y, y_bytes) = component("y")?;
            check_p384(&x_bytes, &y_bytes)?;
            PublicKey::P384 { x, y }
        }
        _ => return Err("`kty` must be RSA or EC (symmetric and other keys are refused)".into()),
    };
    let jwk = PublicJwk { kid, key: material };
    if let Some(alg) = key_alg(key)? {
        if alg != jwk.algorithm().as_str() {
            return Err(format!("`alg` {alg} does not fit the key; it must be {}", jwk.algorithm().as_str()));
        }
    }
    Ok(jwk)
}

fn key_alg(key: &Map<String, Value>) -> Result<Option<&str>, String> {
    match key.get("alg") {
        None => Ok(None),
        Some(Value::String(alg)) if alg == "RS384" || alg == "ES384" => Ok(Some(alg)),
        Some(_) => Err("`alg` must be RS384 or ES384".into()),
    }
}

/// A valid RSA public key of an accepted size, by the `rsa` crate's own checks (odd modulus, exponent
/// in range).
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), String> {
    let modulus = rsa::BoxedUint::from_be_slice_vartime(n);
    let exponent = rsa::BoxedUint::from_be_slice_vartime(e);
    rsa::PublicKey::new_with_size_limits(modulus, exponent, RSA_BITS).map(|_| ()).map_err(|e| match e {
        rsa::Error::ModulusTooSmall => "the RSA key is shorter than 2048 bits".to_owned(),
        rsa::Error::ModulusTooLarge => "the RSA key is longer than 8192 bits".to_owned(),
        _ => "not a valid RSA public key".to_owned(),
    })
}

/// A point on P-384 (coordinates of 48 bytes each), by the `p384` crate.
fn check_p384(x: &[u8], y: &[u8]) -> Result<(), String> {
    if x.len() != 48 || y.len() != 48 {
        return Err("P-384 coordinates `x` and `y` are 48 bytes each".into());
    }
    let mut point = Vec::with_capacity(97);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    p384::PublicKey::from_sec1_bytes(&point).map(|_| ()).map_err(|_| "the EC key is not a point on P-384".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The public key of a fresh P-384 key pair, as JWK members `x` and `y`.
    fn p384_xy() -> (String, String) {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let raw = pair.public_key_raw();
        assert_eq!(raw.len(), 97);
        (b64(&raw[1..49]), b64(&raw[49..]))
    }

    /// An odd 2048-bit "modulus": the `rsa` crate checks size, oddness and exponent, not primality.
    fn modulus(bits: usize) -> String {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0xd1;
        if let Some(last) = n.last_mut() {
            *last |= 1;
        }
        b64(&n)
    }

    fn set(keys: Value) -> String {
        serde_json::json!({ "keys": keys }).to_string()
    }

    #[test]
    fn rsa_and_p384_public_keys_are_accepted() {
        let (x, y) = p384_xy();
        let text = set(serde_json::json!([
            { "kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS384", "n": modulus(2048), "e": "AQAB" },
            { "kty": "EC", "kid": "e1", "crv": "P-384", "x": x, "y": y, "key_ops": ["verify"] },
            { "kty": "RSA", "n": modulus(4096), "e": "AQAB" }
        ]));
        let jwks = JwkSet::parse(&text).unwrap();
        assert_eq!(jwks.as_str(), text);
        let algs: Vec<KeyAlgorithm> = jwks.keys().iter().map(PublicJwk::algorithm).collect();
        assert_eq!(algs, [KeyAlgorithm::Rs384, KeyAlgorithm::Es384, KeyAlgorithm::Rs384]);
        assert_eq!(jwks.keys()[0].kid.as_deref(), Some("r1"));
        assert_eq!(jwks.keys()[2].kid, None);
    }

    #[test]
    fn weak_private_symmetric_and_foreign_keys_are_refused() {
        let (x, y) = p384_xy();
        let cases = [
            (serde_json::json!({ "kty": "RSA", "n": modulus(1024), "e": "AQAB" }), "shorter than 2048"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "d": "AQAB" }), "private"),
            (serde_json::json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y, "d": "AA" }), "private"),
            (serde_json::json!({ "kty": "oct", "k": "c2VjcmV0" }), "private or symmetric"),
            (serde_json::json!({ "kty": "oct" }), "kty"),
            (serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": x }), "kty"),
            (serde_json::json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }), "P-384"),
            (serde_json::json!({ "kty": "EC", "crv": "P-384", "x": x, "y": x }), "not a point"),
            (serde_json::json!({ "kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA" }), "48 bytes"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "alg": "RS256" }), "RS384 or ES384"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "alg": "ES384" }), "does not fit"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "use": "enc" }), "sig"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "key_ops": ["sign"] }), "verify"),
            (serde_json::json!({ "kty": "RSA", "n": "n+/=", "e": "AQAB" }), "base64url"),
            (serde_json::json!({ "kty": "RSA", "e": "AQAB" }), "missing"),
            (serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB", "kid": "" }), "kid"),
        ];
        for (key, expected) in cases {
            let problem = JwkSet::parse(&set(serde_json::json!([key.clone()]))).unwrap_err();
            assert!(problem.contains(expected), "{key}: {problem}");
        }
    }

    #[test]
    fn the_set_itself_is_checked() {
        let rsa = serde_json::json!({ "kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB" });
        assert!(JwkSet::parse("not json").is_err());
        assert!(JwkSet::parse("{}").is_err());
        assert!(JwkSet::parse(r#"{"keys":[]}"#).is_err());
        assert!(JwkSet::parse(&set(serde_json::json!([rsa.clone(), rsa.clone()]))).unwrap_err().contains("kid"));
        let many: Vec<Value> =
            (0..=MAX_KEYS).map(|_| serde_json::json!({ "kty": "RSA", "n": modulus(2048), "e": "AQAB" })).collect();
        assert!(JwkSet::parse(&set(Value::Array(many))).is_err());
        let padded = format!("{}{}", set(serde_json::json!([rsa])), " ".repeat(MAX_JWKS_BYTES));
        assert!(JwkSet::parse(&padded).unwrap_err().contains("larger"));
    }

    #[test]
    fn client_ids_and_roles_parse() {
        assert!(ClientId::parse("hospital-ehr").is_some());
        assert!(ClientId::parse("urn:uuid:5b1e").is_some());
        for refused in ["", "with space", "é", &"x".repeat(129)] {
            assert!(ClientId::parse(refused).is_none(), "{refused:?}");
        }
        assert_eq!(SmartClient::parse_roles("sender auditor"), Some(vec![ClientRole::Sender, ClientRole::Auditor]));
        assert_eq!(SmartClient::parse_roles("admin"), None);
    }
}
