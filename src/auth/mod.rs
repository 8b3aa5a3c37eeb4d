//! Authentication: who is calling, as exactly one organisation in exactly one role.
//!
//! Bearer tokens are random 256-bit secrets bound to one organisation and one role. The broker stores
//! only their SHA-256, so a leaked database yields no usable token; `token revoke` ends one at once.
//! Demo tokens (`demo-<org-id>`) exist only in demo mode and only while the broker listens on loopback,
//! so a demo set-up exposed on a network does not accept well-known secrets.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::model::{OrgId, OrgIdentifier, Organization};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("the token is unknown or revoked")]
    Unknown,
    #[error("no organisation in the directory has identifier {0}")]
    UnknownOrganization(String),
    #[error("cannot generate a token: {0}")]
    Random(String),
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
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
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
            other => Err(format!("unknown role {other:?} (sender, auditor or admin)")),
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org: OrgId,
    pub role: Role,
}

/// Hex SHA-256 of a token: the only form in which tokens are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A freshly issued token. `token` is shown once and never stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub token_id: String,
    pub token: String,
    pub org: OrgId,
}

/// Issues a token for the organisation that owns `identifier`.
pub async fn issue_token(store: &Store, identifier: &OrgIdentifier, role: Role) -> Result<IssuedToken, AuthError> {
    let org = store
        .organization_by_identifier(identifier)
        .await?
        .ok_or_else(|| AuthError::UnknownOrganization(identifier.to_string()))?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AuthError::Random(e.to_string()))?;
    let token = format!("hbt_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let token_id = uuid::Uuid::new_v4().to_string();
    store.insert_token(&token_id, &hash_token(&token), org.as_str(), role.as_str()).await?;
    Ok(IssuedToken { token_id, token, org })
}

/// Checks bearer tokens against the store (and the demo tokens, when enabled).
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    demo: HashMap<String, Principal>,
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Self { store, demo: HashMap::new() }
    }

    /// Enables `demo-<org-id>` sender tokens for `organizations`. Call only in demo mode on loopback.
    pub fn with_demo_tokens(mut self, organizations: &[Organization]) -> Self {
        self.demo = organizations
            .iter()
            .map(|o| (format!("demo-{}", o.id), Principal { org: o.id.clone(), role: Role::Sender }))
            .collect();
        self
    }

    pub fn demo_tokens(&self) -> impl Iterator<Item = &str> {
        self.demo.keys().map(String::as_str)
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
        let record = self.store.token_by_hash(&hash_token(token)).await?.ok_or(AuthError::Unknown)?;
        let role = record.role.parse().map_err(|_| AuthError::Unknown)?;
        Ok(Principal { org: OrgId::from_stored(record.org_id), role })
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
    fn token_hash_is_hex_sha256() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
