//! SMART Backend Services (HL7 SMART App Launch v2, "Backend Services", as Nuts and Twiin use it): an
//! organisation's system asks `POST /oauth/token` for a short-lived access token with the client
//! credentials grant, authenticating with a JWT client assertion (`private_key_jwt`, RFC 7523) signed
//! RS384 or ES384 by a key of the JWK Set registered for it in the directory, and asking for `system/`
//! scopes that map onto the broker's roles ([`SCOPES`]).
//!
//! Signatures are checked by `jsonwebtoken` (RustCrypto backend), never by hand. Only RS384 and ES384
//! are accepted, whatever the header says: `none`, HMAC (a shared secret would be the broker's to keep)
//! and every other algorithm are refused before any key is touched, and a key verifies only the one
//! algorithm of its type. The checks follow the specification: `iss` = `sub` = the client id, `aud` = the
//! token URL exactly, `exp` not passed and at most five minutes ahead (each with [`CLOCK_SKEW_SECS`] of
//! allowance), and a `jti` that was never used before: it is recorded in the transaction that issues
//! the token, so a replay gets nothing, however the requests race.
//!
//! The access token is a broker bearer token like the operator's (only its SHA-256 is stored, with a
//! `token-issued` ledger entry in the same transaction), for one role and the organisation's own scope,
//! living `smart.access_token_lifetime_secs` (5 minutes by default, 15 at most).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::{hash_token, new_token, Role, Scope};
use crate::config::SmartSettings;
use crate::directory::Directory;
use crate::ledger::LedgerRecord;
use crate::model::smart::{KeyAlgorithm, PublicJwk, PublicKey};
use crate::model::{ClientRole, OrgId, SmartClient};
use crate::store::{NewToken, Store, StoreError, TokenChange, TokenRecord, UsedAssertion};
use crate::time::Millis;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The only grant type: client credentials (RFC 6749 section 4.4).
pub const GRANT_TYPE: &str = "client_credentials";
/// How far ahead an assertion's `exp` may be (SMART: no more than five minutes).
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 300;
/// Allowance for clocks that differ, on both sides of the `exp` checks (and for `nbf`).
pub const CLOCK_SKEW_SECS: u64 = 30;
/// The longest `jti` kept.
const MAX_JTI_CHARS: usize = 256;
/// How often, at most, used assertions and long-expired access tokens are purged.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// How long an expired SMART access token is kept, so that a client still presenting it is told it
/// expired (not that it is unknown); its ledger entry stays for good.
const EXPIRED_TOKENS_KEPT_SECS: u64 = 24 * 3600;

/// One `system/` scope the broker grants, and the role it stands for. A role is the unit: every scope
/// of a role grants the whole role (all its routes in `api::authz`), never a part of it.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRule {
    pub scope: &'static str,
    pub role: ClientRole,
    pub what: &'static str,
}

/// The scopes of `scopes_supported` (SMART v2 syntax), each onto one role.
pub const SCOPES: &[ScopeRule] = &[
    ScopeRule {
        scope: "system/Bundle.crs",
        role: ClientRole::Sender,
        what: "send handover messages, read the mailbox and receipts, acknowledge (role sender)",
    },
    ScopeRule {
        scope: "system/MessageHeader.c",
        role: ClientRole::Sender,
        what: "the same role sender, named after the message it sends (FHIR messaging)",
    },
    ScopeRule {
        scope: "system/AuditEvent.rs",
        role: ClientRole::Auditor,
        what: "read and search the ledger of its own organisation (role auditor, organisation scope)",
    },
];

/// Why a token request was refused. Each maps to one OAuth 2.0 error (RFC 6749 section 5.2); the
/// public description never tells an unauthenticated caller more than that authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum SmartError {
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// Client authentication failed. `org` is the organisation of the client the assertion named, when
    /// that client is registered; `reason` is the broker's own text for the ledger and the log, and
    /// `public` what the caller is told.
    #[error("client authentication failed: {reason}")]
    InvalidClient { org: Option<OrgId>, reason: String, public: String },
    /// The authenticated client asked for scopes it may not have.
    #[error("scope refused: {reason}")]
    InvalidScope { org: OrgId, reason: String },
    #[error("cannot issue a token: {0}")]
    Issue(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What callers are told when they did not prove they hold one of the client's keys: the same words
/// for an unknown client, an unknown `kid` and a bad signature, so that none of them is told apart.
const NOT_VERIFIED: &str = "the client assertion could not be verified with a key registered for the client";

impl SmartError {
    fn client(org: Option<&OrgId>, reason: impl Into<String>, public: impl Into<String>) -> Self {
        Self::InvalidClient { org: org.cloned(), reason: reason.into(), public: public.into() }
    }

    /// A failure after the signature verified: the caller holds the key, and is told what was wrong.
    fn claims(org: &OrgId, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::InvalidClient { org: Some(org.clone()), public: reason.clone(), reason }
    }

    /// The OAuth 2.0 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidScope { .. } => "invalid_scope",
            Self::Issue(_) => "server_error",
            Self::Store(_) => "temporarily_unavailable",
        }
    }

    /// What the caller is told (`error_description`).
    pub fn description(&self) -> String {
        match self {
            Self::InvalidRequest(what) => (*what).to_owned(),
            Self::UnsupportedGrantType => format!("grant_type must be {GRANT_TYPE}"),
            Self::InvalidClient { public, .. } => public.clone(),
            Self::InvalidScope { reason, .. } => {
                format!("{reason}; scopes supported: {}", scopes_supported().join(" "))
            }
            Self::Issue(_) => "the token could not be issued; the broker's log has the details".to_owned(),
            Self::Store(_) => "the broker cannot reach its database; retry later".to_owned(),
        }
    }

    /// The `denied-access` ledger entry of a refusal that concerns a registered client: a failed client
    /// authentication or a refused scope, with the route's pattern and the broker's reason (never the
    /// assertion or other caller text). `None` for the rest, above all for assertions that name no
    /// registered client: an entry for each would let anyone, without any credential, grow the
    /// append-only ledger at will; those are logged.
    pub fn denied_entry(&self, method: &str, route: &str) -> Option<LedgerRecord> {
        match self {
            Self::InvalidClient { org: Some(org), reason, .. } => {
                Some(LedgerRecord::denied(org, format!("401 {method} {route} invalid_client: {reason}")))
            }
            Self::InvalidScope { org, reason } => {
                Some(LedgerRecord::denied(org, format!("400 {method} {route} invalid_scope: {reason}")))
            }
            _ => None,
        }
    }
}

/// The scopes the broker grants, in [`SCOPES`] order.
pub fn scopes_supported() -> Vec<&'static str> {
    SCOPES.iter().map(|rule| rule.scope).collect()
}

/// The parameters of a token request (`application/x-www-form-urlencoded`). No `Debug`, here and
/// below: the assertion and the access token never reach a log.
#[derive(Default)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
}

impl TokenForm {
    /// Parses the form body. A parameter given twice is refused (RFC 6749 section 3.2); unknown ones
    /// are ignored (section 3.2 too).
    pub fn parse(body: &[u8]) -> Result<Self, SmartError> {
        let mut form = Self::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "grant_type" => &mut form.grant_type,
                "client_assertion_type" => &mut form.client_assertion_type,
                "client_assertion" => &mut form.client_assertion,
                "scope" => &mut form.scope,
                "client_id" => &mut form.client_id,
                _ => continue,
            };
            if slot.is_some() {
                return Err(SmartError::InvalidRequest("a parameter appears more than once"));
            }
            *slot = Some(value.into_owned());
        }
        Ok(form)
    }
}

/// A token request whose assertion names a registered client, before anything is verified: it
/// tells which organisation to count the request against (rate limit) before the costly signature
/// check.
pub struct Claimant {
    assertion: String,
    algorithm: KeyAlgorithm,
    kid: Option<String>,
    scope: String,
    pub org: OrgId,
    client: SmartClient,
}

/// An issued access token, for the token response.
pub struct Grant {
    pub access_token: String,
    pub expires_in: u64,
    /// The scopes granted: those asked for, each once, in the order asked.
    pub scope: String,
    pub org: OrgId,
    pub role: Role,
}

/// The token endpoint's service: built once at start, shared by the workers (clones share the purge
/// clock).
#[derive(Clone)]
pub struct Smart {
    store: Store,
    directory: Directory,
    token_url: String,
    lifetime: Duration,
    last_purge: Arc<AtomicI64>,
}

/// The claims of an assertion that the broker reads itself (`jsonwebtoken` checks `iss`, `sub`, `aud`,
/// `exp` and `nbf`). Optional here so that a missing one is reported by the validation, by name.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    jti: Option<String>,
}

/// The claims of a verified assertion.
#[derive(Debug)]
struct Verified {
    exp: u64,
    jti: Option<String>,
}

/// The claim read before verification: only to pick the client whose keys verify the signature.
#[derive(Debug, Deserialize)]
struct Issuer {
    #[serde(default)]
    iss: Option<String>,
}

impl Smart {
    /// The service for a broker reached at `base_url`: assertions must name `{base_url}/oauth/token`.
    pub fn new(store: Store, directory: Directory, base_url: &str, settings: &SmartSettings) -> Self {
        Self {
            store,
            directory,
            token_url: format!("{}/oauth/token", base_url.trim_end_matches('/')),
            lifetime: Duration::from_secs(settings.access_token_lifetime_secs),
            last_purge: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The discovery document (`/.well-known/smart-configuration`).
    pub fn configuration(&self) -> serde_json::Value {
        serde_json::json!({
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "grant_types_supported": [GRANT_TYPE],
            "scopes_supported": scopes_supported(),
            "capabilities": ["client-confidential-asymmetric", "permission-v2"],
        })
    }

    /// The registered client a token request's assertion names, and the request's parameters checked
    /// for form; nothing verified yet.
    pub fn claimant(&self, form: TokenForm) -> Result<Claimant, SmartError> {
        match form.grant_type.as_deref() {
            None => return Err(SmartError::InvalidRequest("grant_type is required")),
            Some(GRANT_TYPE) => {}
            Some(_) => return Err(SmartError::UnsupportedGrantType),
        }
        if form.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            let public = format!("client authentication needs client_assertion_type {ASSERTION_TYPE}");
            return Err(SmartError::client(None, "no JWT client assertion", public));
        }
        let Some(assertion) = form.client_assertion.filter(|a| !a.is_empty()) else {
            return Err(SmartError::client(None, "no client assertion", "client_assertion is required"));
        };
        let Some(scope) = form.scope.filter(|s| !s.trim().is_empty()) else {
            return Err(SmartError::InvalidRequest("scope is required"));
        };
        let algorithm = assertion_algorithm(&assertion)?;
        let not_jwt = || SmartError::client(None, "the client assertion is not a JWT", "client_assertion is not a JWT");
        let header = jsonwebtoken::decode_header(&assertion).map_err(|_| not_jwt())?;
        // Read without verification, only to find the client whose keys are to verify the signature;
        // `iss` is verified with the rest of the claims once the signature is.
        let issuer: Issuer = jsonwebtoken::dangerous::insecure_decode_claims(&assertion).map_err(|_| not_jwt())?;
        let iss = issuer.iss.unwrap_or_default();
        if form.client_id.as_deref().is_some_and(|id| id != iss) {
            return Err(SmartError::client(None, "client_id is not the assertion's iss", NOT_VERIFIED));
        }
        let snapshot = self.directory.snapshot();
        let found = snapshot
            .organizations()
            .iter()
            .find_map(|org| org.smart.as_ref().filter(|c| c.client_id.as_str() == iss).map(|c| (org.id.clone(), c)));
        let Some((org, client)) = found else {
            return Err(SmartError::client(None, "the assertion names no registered client", NOT_VERIFIED));
        };
        Ok(Claimant { assertion, algorithm, kid: header.kid, scope, org, client: client.clone() })
    }

    /// Verifies the claimant's assertion and scopes, and issues its access token (recording the
    /// assertion's `jti` in the same transaction).
    pub async fn grant(&self, claimant: Claimant) -> Result<Grant, SmartError> {
        let Claimant { assertion, algorithm, kid, scope, org, client } = claimant;
        let claims = self.verify(&assertion, algorithm, kid.as_deref(), &org, &client)?;
        let (role, scope) = granted(&scope, &client, &org)?;
        let jti = claims.jti.filter(|j| !j.is_empty() && j.chars().count() <= MAX_JTI_CHARS);
        let jti = jti.ok_or_else(|| SmartError::claims(&org, "jti must be a string of 1 to 256 characters"))?;
        let now = Millis::now();
        let used = UsedAssertion {
            client_id: client.client_id.clone(),
            jti,
            // Kept as long as the assertion could pass the `exp` check, so a replay is always found.
            until: Millis::from_i64(0).plus_secs(claims.exp.saturating_add(CLOCK_SKEW_SECS).saturating_add(1)),
        };
        let token = new_token().map_err(|e| SmartError::Issue(e.to_string()))?;
        let expires_at = now.plus_millis(u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX));
        let record = TokenRecord {
            token_id: uuid::Uuid::new_v4().to_string(),
            org_id: org.clone(),
            role: role.as_str().to_owned(),
            scope: Scope::Organization.as_str().to_owned(),
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
            client_id: Some(client.client_id.to_string()),
        };
        let new = NewToken { record, token_hash: hash_token(&token), assertion: Some(used) };
        let issued = self.store.writer().change_tokens(TokenChange::Issue(Box::new(new))).await?;
        if issued.is_empty() {
            return Err(SmartError::claims(&org, "the assertion's jti was used before (a replay)"));
        }
        self.purge_now_and_then(now);
        Ok(Grant { access_token: token, expires_in: self.lifetime.as_secs(), scope, org, role })
    }

    /// The verified claims of `assertion`: signed by a key of the client's set (the one its `kid`
    /// names, or any that fits the algorithm when it names none), with `iss` = `sub` = the client id,
    /// `aud` = the token URL, `exp` neither passed nor too far ahead.
    fn verify(
        &self,
        assertion: &str,
        algorithm: KeyAlgorithm,
        kid: Option<&str>,
        org: &OrgId,
        client: &SmartClient,
    ) -> Result<Verified, SmartError> {
        let keys: Vec<&PublicJwk> = client
            .jwks
            .keys()
            .iter()
            .filter(|key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid)))
            .filter(|key| key.algorithm() == algorithm)
            .collect();
        let mut validation = Validation::new(match algorithm {
            KeyAlgorithm::Rs384 => Algorithm::RS384,
            KeyAlgorithm::Es384 => Algorithm::ES384,
        });
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.set_issuer(&[client.client_id.as_str()]);
        validation.sub = Some(client.client_id.to_string());
        validation.set_audience(&[&self.token_url]);
        validation.leeway = CLOCK_SKEW_SECS;
        validation.validate_nbf = true;
        for key in keys {
            let Ok(decoding) = decoding_key(key) else {
                continue;
            };
            match jsonwebtoken::decode::<Claims>(assertion, &decoding, &validation) {
                Ok(data) => {
                    let Claims { exp, jti } = data.claims;
                    let exp = exp.ok_or_else(|| SmartError::claims(org, "iss, sub, aud and exp are required"))?;
                    let latest = jsonwebtoken::get_current_timestamp() + MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS;
                    if exp > latest {
                        return Err(SmartError::claims(org, "exp is more than 5 minutes ahead"));
                    }
                    return Ok(Verified { exp, jti });
                }
                Err(e) => {
                    if let Some(reason) = claims_problem(e.kind()) {
                        return Err(SmartError::claims(org, reason));
                    }
                }
            }
        }
        let reason = match kid {
            Some(_) => "no key of the client's JWK Set with the assertion's kid verifies its signature",
            None => "no key of the client's JWK Set verifies the assertion's signature",
        };
        Err(SmartError::client(Some(org), reason, NOT_VERIFIED))
    }

    /// Purges used assertions and long-expired access tokens, at most every [`PURGE_EVERY`], in the
    /// background: the request that happens to trigger it does not wait.
    fn purge_now_and_then(&self, now: Millis) {
        let last = self.last_purge.load(Ordering::Relaxed);
        let every = i64::try_from(PURGE_EVERY.as_millis()).unwrap_or(i64::MAX);
        if now.as_i64().saturating_sub(last) < every
            || self.last_purge.compare_exchange(last, now.as_i64(), Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let writer = self.store.writer().clone();
        let change = TokenChange::Purge { now, tokens_before: now.minus_secs(EXPIRED_TOKENS_KEPT_SECS) };
        tokio::spawn(async move {
            if let Err(e) = writer.change_tokens(change).await {
                tracing::warn!(stage = "auth", error = %e, "purging used SMART assertions failed; retried later");
            }
        });
    }
}

/// The assertion's `alg`, read from its header before anything else: only RS384 and ES384 go on.
/// Read here rather than by `jsonwebtoken`, which does not parse `none`, so that every refused
/// algorithm gets the same answer.
fn assertion_algorithm(assertion: &str) -> Result<KeyAlgorithm, SmartError> {
    let not_jwt = || SmartError::client(None, "the client assertion is not a JWT", "client_assertion is not a JWT");
    let encoded = assertion.split('.').next().ok_or_else(not_jwt)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).map_err(|_| not_jwt())?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| not_jwt())?;
    match header.get("alg").and_then(serde_json::Value::as_str) {
        Some("RS384") => Ok(KeyAlgorithm::Rs384),
        Some("ES384") => Ok(KeyAlgorithm::Es384),
        _ => Err(SmartError::client(
            None,
            "the client assertion's alg is not RS384 or ES384",
            "the client assertion must be signed with RS384 or ES384",
        )),
    }
}

fn decoding_key(key: &PublicJwk) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
    match &key.key {
        PublicKey::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
        PublicKey::P384 { x, y } => DecodingKey::from_ec_components(x, y),
    }
}

/// What was wrong with the claims of an assertion whose signature verified; `None` when the error is
/// the signature's (or the key's), and the next key may be tried.
fn claims_problem(kind: &jsonwebtoken::errors::ErrorKind) -> Option<&'static str> {
    use jsonwebtoken::errors::ErrorKind as K;
    Some(match kind {
        K::InvalidSignature
        | K::InvalidAlgorithm
        | K::InvalidKeyFormat
        | K::InvalidRsaKey(_)
        | K::InvalidEcdsaKey
        | K::InvalidToken
        | K::Base64(_) => return None,
        K::ExpiredSignature => "exp has passed",
        K::ImmatureSignature => "nbf is in the future",
        K::InvalidAudience => "aud is not the token endpoint's URL",
        K::InvalidIssuer => "iss is not the client id",
        K::InvalidSubject => "sub is not the client id",
        K::MissingRequiredClaim(_) => "iss, sub, aud and exp are required",
        K::InvalidClaimFormat(_) | K::Json(_) | K::Utf8(_) => "the claims are not in the expected form",
        _ => "the assertion was not accepted",
    })
}

/// The role and the granted scope text of a scope request: every scope known, all of one role, and
/// that role allowed for the client.
fn granted(requested: &str, client: &SmartClient, org: &OrgId) -> Result<(Role, String), SmartError> {
    let refuse = |reason: &str| SmartError::InvalidScope { org: org.clone(), reason: reason.to_owned() };
    let mut asked: Vec<&ScopeRule> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        let rule = SCOPES.iter().find(|rule| rule.scope == scope).ok_or_else(|| refuse("a scope is not supported"))?;
        if !asked.iter().any(|seen| seen.scope == rule.scope) {
            asked.push(rule);
        }
    }
    let [first, rest @ ..] = asked.as_slice() else {
        return Err(refuse("no scope asked for"));
    };
    if rest.iter().any(|rule| rule.role != first.role) {
        return Err(refuse("the scopes are of more than one role; ask for one role's scopes per token"));
    }
    if !client.allows(first.role) {
        return Err(SmartError::InvalidScope {
            org: org.clone(),
            reason: format!("this client is not registered for role {}", first.role),
        });
    }
    let role = match first.role {
        ClientRole::Sender => Role::Sender,
        ClientRole::Auditor => Role::Auditor,
    };
    Ok((role, asked.iter().map(|rule| rule.scope).collect::<Vec<_>>().join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientId, JwkSet};

    fn client(roles: Vec<ClientRole>) -> SmartClient {
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xd1u8; 256]);
        let jwks = JwkSet::parse(&format!(r#"{{"keys":[{{"kty":"RSA","n":"{n}","e":"AQAB"}}]}}"#)).unwrap();
        SmartClient::new(ClientId::parse("c").unwrap(), jwks, roles)
    }

    fn org() -> OrgId {
        OrgId::parse("o").unwrap()
    }

    #[test]
    fn scopes_map_onto_one_allowed_role() {
        let sender = client(vec![]);
        let (role, scope) =
            granted("system/Bundle.crs system/MessageHeader.c system/Bundle.crs", &sender, &org()).unwrap();
        assert_eq!((role, scope.as_str()), (Role::Sender, "system/Bundle.crs system/MessageHeader.c"));
        let refused = |scope: &str, client: &SmartClient| granted(scope, client, &org()).unwrap_err().code();
        assert_eq!(refused("system/AuditEvent.rs", &sender), "invalid_scope", "sender only by default");
        assert_eq!(refused("system/*.cruds", &sender), "invalid_scope");
        assert_eq!(refused("system/bundle.crs", &sender), "invalid_scope", "scopes are case-sensitive");
        assert_eq!(refused("   ", &sender), "invalid_scope");
        let both = client(vec![ClientRole::Auditor, ClientRole::Sender]);
        assert_eq!(granted("system/AuditEvent.rs", &both, &org()).unwrap().0, Role::Auditor);
        assert_eq!(refused("system/AuditEvent.rs system/Bundle.crs", &both), "invalid_scope", "one role per token");
    }

    #[test]
    fn only_rs384_and_es384_headers_pass() {
        let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let with = |alg: &str| format!("{}.e30.c2ln", b64(&format!(r#"{{"alg":"{alg}"}}"#)));
        assert_eq!(assertion_algorithm(&with("RS384")).unwrap(), KeyAlgorithm::Rs384);
        assert_eq!(assertion_algorithm(&with("ES384")).unwrap(), KeyAlgorithm::Es384);
        for alg in ["none", "None", "HS256", "HS384", "RS256", "PS384", "ES256", "EdDSA"] {
            assert_eq!(assertion_algorithm(&with(alg)).unwrap_err().code(), "invalid_client", "{alg}");
        }
        assert!(assertion_algorithm("not a jwt").is_err());
    }

    #[test]
    fn forms_refuse_repeated_parameters() {
        assert!(TokenForm::parse(b"grant_type=client_credentials&scope=a&other=1").is_ok());
        let twice = TokenForm::parse(b"grant_type=client_credentials&grant_type=client_credentials");
        assert!(matches!(twice, Err(SmartError::InvalidRequest(_))));
    }
}
