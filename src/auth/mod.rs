//! Authentication: who is calling, as exactly one organisation in exactly one role.
//!
//! Bearer tokens are random 256-bit secrets bound to one organisation, one role and (for auditors) one
//! scope, with an expiry. The broker stores only their SHA-256, so a leaked database yields no usable
//! token; `token revoke` ends one (or every one of an organisation) at once, and issuing and revoking
//! are ledger entries. Demo tokens (`demo-<org-id>`) exist only in demo mode and only while the broker
//! listens on loopback, so a demo set-up exposed on a network does not accept well-known secrets.
//!
//! Client certificates (mTLS) are the other credential: [`certificate`] verifies them at the listener
//! and finds the organisation a verified one speaks for.
//!
//! Tokens the store does not know (or knows as expired) are remembered, by hash, in a small negative
//! cache ([`Authenticator`]), so that a client retrying with a bad token costs no database query each
//! time.

pub mod certificate;
pub mod smart;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::DEFAULT_TOKEN_LIFETIME_SECS;
use crate::model::{OrgId, OrgIdentifier, Organization};
use crate::store::{NewToken, Revocation, Store, StoreError, TokenChange, TokenRecord};
use crate::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("the token is unknown or revoked")]
    Unknown,
    #[error("the token has expired")]
    Expired,
    #[error("no organisation in the directory has identifier {0}")]
    UnknownOrganization(String),
    #[error("a regional scope is only for auditor tokens, not for role {0}")]
    RegionalNotAuditor(Role),
    #[error("a token's lifetime must be at least one second")]
    Lifetime,
    #[error("cannot generate a token: {0}")]
    Random(String),
    #[error("certificate not registered for any organisation")]
    CertificateNotRegistered,
    #[error("the client certificate names more than one organisation of the directory, so it identifies none")]
    CertificateAmbiguous,
    #[error("the client certificate was refused: {0}")]
    CertificateRefused(certificate::Refusal),
    #[error("the bearer token and the client certificate speak for different organisations")]
    CertificateDisagrees,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An organisation: sends handovers, receives its own, reads its own receipts and mailbox.
    Sender,
    /// Reads and verifies the ledger; nothing else.
    Auditor,
    /// Manages the directory and tokens.
    Admin,
    /// Reads the region's handover quality reports and pages (a quality coordinator); nothing else.
    Quality,
    /// A patient portal that authenticated the patient on its side: reads one patient's handovers per
    /// request, in plain words; nothing else.
    PatientPortal,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
            Self::Quality => "quality",
            Self::PatientPortal => "patient-portal",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sender" | "organization" | "organisation" => Ok(Self::Sender),
            "auditor" => Ok(Self::Auditor),
            "admin" => Ok(Self::Admin),
            "quality" => Ok(Self::Quality),
            "patient-portal" => Ok(Self::PatientPortal),
            other => Err(format!("unknown role {other:?} (sender, auditor, admin, quality or patient-portal)")),
        }
    }
}

/// How far a token reaches. Only auditors' tokens can be regional; every other token acts for its own
/// organisation alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The token's own organisation (an auditor: the ledger entries that concern it).
    #[default]
    Organization,
    /// The whole region (an auditor: every ledger entry).
    Regional,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Regional => "regional",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "organization" => Ok(Self::Organization),
            "regional" => Ok(Self::Regional),
            other => Err(format!("unknown scope {other:?} (organization or regional)")),
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org: OrgId,
    pub role: Role,
    /// What the caller may see beyond its own organisation: `Regional` only for regional auditors.
    pub scope: Scope,
}

impl Principal {
    /// A caller acting for its own organisation only.
    pub fn organization(org: OrgId, role: Role) -> Self {
        Self { org, role, scope: Scope::Organization }
    }

    /// A regional auditor: may read beyond its own organisation.
    pub fn is_regional(&self) -> bool {
        self.scope == Scope::Regional
    }
}

/// Hex SHA-256 of a token: the only form in which tokens are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token's lifetime as an operator writes it: `30d`, `12h`, `90m`, `3600s`, `1h 30m` (humantime's
/// units); at least one second.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (e.g. 30d, 12h, 90m, 3600s)"))?;
    if lifetime < Duration::from_secs(1) {
        return Err("must be at least 1s".to_owned());
    }
    Ok(lifetime)
}

/// What a token to issue allows, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRequest {
    pub role: Role,
    pub scope: Scope,
    pub lifetime: Duration,
}

impl TokenRequest {
    /// A token of `role` for its own organisation, for the default lifetime (90 days).
    pub fn new(role: Role) -> Self {
        Self { role, scope: Scope::Organization, lifetime: Duration::from_secs(DEFAULT_TOKEN_LIFETIME_SECS) }
    }

    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }
}

/// A freshly issued token. `token` is shown once and never stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub token_id: String,
    pub token: String,
    pub org: OrgId,
    pub role: Role,
    pub scope: Scope,
    pub expires_at: Millis,
}

/// Issues a token of `role` for the organisation that owns `identifier`, for its own organisation and
/// for the default lifetime (see [`issue`]).
pub async fn issue_token(store: &Store, identifier: &OrgIdentifier, role: Role) -> Result<IssuedToken, AuthError> {
    issue(store, identifier, &TokenRequest::new(role)).await
}

/// Issues a token for the organisation that owns `identifier`, with its `token-issued` ledger entry in
/// the same transaction. A regional scope is refused for every role but auditor.
pub async fn issue(
    store: &Store,
    identifier: &OrgIdentifier,
    request: &TokenRequest,
) -> Result<IssuedToken, AuthError> {
    if request.scope == Scope::Regional && request.role != Role::Auditor {
        return Err(AuthError::RegionalNotAuditor(request.role));
    }
    if request.lifetime < Duration::from_secs(1) {
        return Err(AuthError::Lifetime);
    }
    let org = store
        .organization_by_identifier(identifier)
        .await?
        .ok_or_else(|| AuthError::UnknownOrganization(identifier.to_string()))?;
    let token = new_token()?;
    let token_id = uuid::Uuid::new_v4().to_string();
    let now = Millis::now();
    let expires_at = now.plus_millis(u64::try_from(request.lifetime.as_millis()).unwrap_or(u64::MAX));
    let record = TokenRecord {
        token_id: token_id.clone(),
        org_id: org.clone(),
        role: request.role.as_str().to_owned(),
        scope: request.scope.as_str().to_owned(),
        created_at: now,
        expires_at: Some(expires_at),
        revoked_at: None,
        client_id: None,
    };
    let new = NewToken { record, token_hash: hash_token(&token), assertion: None };
    store.writer().change_tokens(TokenChange::Issue(Box::new(new))).await?;
    Ok(IssuedToken { token_id, token, org, role: request.role, scope: request.scope, expires_at })
}

/// A new bearer token: 256 random bits, base64url, with the broker's `hbt_` prefix.
fn new_token() -> Result<String, AuthError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(format!("hbt_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)))
}

/// Revokes one token, named by its id, by the token itself or by its hash, unless it is revoked
/// already; returns what was revoked (nothing, or that token). Each revocation is a ledger entry.
pub async fn revoke(store: &Store, token_or_id: &str) -> Result<Vec<TokenRecord>, AuthError> {
    let which = Revocation::Token { id_or_hash: token_or_id.to_owned(), hash: hash_token(token_or_id) };
    Ok(store.writer().change_tokens(TokenChange::Revoke { which, at: Millis::now() }).await?)
}

/// Revokes every live (neither revoked nor expired) token of the organisation that owns `identifier`;
/// returns the organisation and the tokens revoked. Each revocation is a ledger entry.
pub async fn revoke_organization(
    store: &Store,
    identifier: &OrgIdentifier,
) -> Result<(OrgId, Vec<TokenRecord>), AuthError> {
    let org = store
        .organization_by_identifier(identifier)
        .await?
        .ok_or_else(|| AuthError::UnknownOrganization(identifier.to_string()))?;
    let which = Revocation::Organization(org.clone());
    let revoked = store.writer().change_tokens(TokenChange::Revoke { which, at: Millis::now() }).await?;
    Ok((org, revoked))
}

/// A token as `token list --json` prints it: never the token nor its hash.
pub fn token_json(token: &TokenRecord, now: Millis) -> serde_json::Value {
    serde_json::json!({
        "token_id": token.token_id,
        "org": token.org_id.as_str(),
        "role": token.role,
        "scope": token.scope,
        "issued": token.created_at.to_rfc3339_secs(),
        "expires": token.expires_at.map(Millis::to_rfc3339_secs),
        "expired": token.expires_at.is_some_and(|at| at <= now),
        "revoked": token.revoked_at.is_some(),
        "revoked_at": token.revoked_at.map(Millis::to_rfc3339_secs),
        "smart_client": token.client_id,
    })
}

/// How many refused tokens the negative cache remembers, and for how long.
pub const REJECTED_CAPACITY: usize = 10_000;
pub const REJECTED_TTL: Duration = Duration::from_secs(30);

/// Why a token was refused, as the negative cache remembers it.
#[derive(Debug, Clone, Copy)]
enum Rejection {
    Unknown,
    Expired,
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Unknown => Self::Unknown,
            Rejection::Expired => Self::Expired,
        }
    }
}

/// The negative cache: SHA-256 of tokens that the store did not know (or knew as revoked or expired),
/// each for `ttl` after it was looked up, at most `capacity` of them (the least used go first).
///
/// Trade-off: a refused token stays refused for up to `ttl` without asking the store. Revoked and
/// expired tokens never come back, and a new token is 256 random bits that nobody can have presented
/// before it was issued, so in practice only a token restored into the database (a backup brought back)
/// waits up to `ttl`. [`Authenticator::issue`] also forgets the new token's hash in this process. Only
/// refusals are cached: a revocation or expiry takes effect at the next request.
struct Rejected {
    cache: quick_cache::sync::Cache<[u8; 32], (Instant, Rejection)>,
    ttl: Duration,
}

impl Rejected {
    fn new(capacity: usize, ttl: Duration) -> Self {
        Self { cache: quick_cache::sync::Cache::new(capacity.max(1)), ttl }
    }

    fn get(&self, digest: &[u8; 32]) -> Option<Rejection> {
        let (since, rejection) = self.cache.get(digest)?;
        if since.elapsed() < self.ttl {
            return Some(rejection);
        }
        self.cache.remove(digest);
        None
    }

    fn insert(&self, digest: [u8; 32], rejection: Rejection) {
        self.cache.insert(digest, (Instant::now(), rejection));
    }

    fn forget(&self, digest: &[u8; 32]) {
        self.cache.remove(digest);
    }
}

/// Checks bearer tokens against the store (and the demo tokens, when enabled). Clones share the
/// negative cache and the counter of store look-ups.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    demo: HashMap<String, Principal>,
    rejected: Arc<Rejected>,
    lookups: Arc<AtomicU64>,
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            demo: HashMap::new(),
            rejected: Arc::new(Rejected::new(REJECTED_CAPACITY, REJECTED_TTL)),
            lookups: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the negative cache with one of `capacity` entries kept for `ttl` (tests; the defaults
    /// are [`REJECTED_CAPACITY`] and [`REJECTED_TTL`]).
    pub fn with_rejected_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.rejected = Arc::new(Rejected::new(capacity, ttl));
        self
    }

    /// Enables `demo-<org-id>` sender tokens for `organizations`. Call only in demo mode on loopback.
    pub fn with_demo_tokens(mut self, organizations: &[Organization]) -> Self {
        self.demo = organizations
            .iter()
            .map(|o| (format!("demo-{}", o.id), Principal::organization(o.id.clone(), Role::Sender)))
            .collect();
        self
    }

    pub fn demo_tokens(&self) -> impl Iterator<Item = &str> {
        self.demo.keys().map(String::as_str)
    }

    /// How many tokens were looked up in the store so far (those answered from the negative cache or
    /// the demo tokens were not).
    pub fn store_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// [`issue`], and forgets the new token in this process's negative cache.
    pub async fn issue(&self, identifier: &OrgIdentifier, request: &TokenRequest) -> Result<IssuedToken, AuthError> {
        let issued = issue(&self.store, identifier, request).await?;
        self.rejected.forget(&Sha256::digest(issued.token.as_bytes()).into());
        Ok(issued)
    }

    /// The caller of a request with this `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed);
        }
        let token = token.trim();
        if token.is_empty() || token.len() > 512 {
            return Err(AuthError::Malformed);
        }
        if let Some(principal) = self.demo.get(token) {
            return Ok(principal.clone());
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(rejection) = self.rejected.get(&digest) {
            return Err(rejection.into());
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let Some(record) = self.store.token_by_hash(&hex::encode(digest)).await? else {
            self.rejected.insert(digest, Rejection::Unknown);
            return Err(AuthError::Unknown);
        };
        if !record.is_live(Millis::now()) {
            self.rejected.insert(digest, Rejection::Expired);
            return Err(AuthError::Expired);
        }
        let role = record.role.parse().map_err(|_| AuthError::Unknown)?;
        let scope = record.scope.parse().map_err(|_| AuthError::Unknown)?;
        Ok(Principal { org: record.org_id, role, scope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_names_only() {
        assert_eq!("sender".parse::<Role>(), Ok(Role::Sender));
        assert_eq!("auditor".parse::<Role>(), Ok(Role::Auditor));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn scopes_parse_from_their_names_only() {
        assert_eq!("organization".parse::<Scope>(), Ok(Scope::Organization));
        assert_eq!("regional".parse::<Scope>(), Ok(Scope::Regional));
        assert!("national".parse::<Scope>().is_err());
        assert_eq!(Scope::default(), Scope::Organization);
    }

    #[test]
    fn lifetimes_take_humantime_units_and_at_least_a_second() {
        assert_eq!(parse_lifetime("30d"), Ok(Duration::from_secs(30 * 24 * 3600)));
        assert_eq!(parse_lifetime("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_lifetime("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_lifetime("3600s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_lifetime("1h 30m"), Ok(Duration::from_secs(5400)));
        for refused in ["", "3600", "0s", "500ms", "soon", "-1d"] {
            assert!(parse_lifetime(refused).is_err(), "{refused:?} must be refused");
        }
    }

    #[test]
    fn the_negative_cache_forgets_after_its_time_and_on_request() {
        let cache = Rejected::new(10, Duration::from_millis(50));
        cache.insert([1; 32], Rejection::Unknown);
        cache.insert([2; 32], Rejection::Expired);
        assert!(matches!(cache.get(&[1; 32]), Some(Rejection::Unknown)));
        assert!(matches!(cache.get(&[2; 32]), Some(Rejection::Expired)));
        assert!(cache.get(&[3; 32]).is_none());
        cache.forget(&[2; 32]);
        assert!(cache.get(&[2; 32]).is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&[1; 32]).is_none(), "an entry older than the cache's time is gone");
    }

    #[test]
    fn the_negative_cache_is_bounded() {
        let cache = Rejected::new(100, Duration::from_secs(60));
        for i in 0..10_000u32 {
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            cache.insert(digest, Rejection::Unknown);
        }
        assert!(cache.cache.len() <= 110, "{} entries", cache.cache.len());
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
