//! API tokens, stored only as SHA-256 hashes. Issuing and revoking go through the writer, each in one
//! transaction with its `token-issued` / `token-revoked` ledger entries.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::row::id;
use super::smart::{self, UsedAssertion};
use super::{Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::OrgId;
use crate::time::Millis;

/// The columns of [`TokenRecord`], in every statement that reads one.
const COLUMNS: &str = "token_id, org_id, role, scope, created_at, expires_at, revoked_at, client_id";

/// A token as stored: never the token itself, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_id: String,
    pub org_id: OrgId,
    /// `sender`, `auditor` or `admin` (the names of `auth::Role`).
    pub role: String,
    /// `organization` or `regional` (the names of `auth::Scope`).
    pub scope: String,
    pub created_at: Millis,
    /// `None` for tokens issued before tokens had a life: valid until revoked.
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// The SMART client it was issued to (`POST /oauth/token`); `None` for a token issued by the
    /// operator (`token issue`).
    pub client_id: Option<String>,
}

impl TokenRecord {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            token_id: row.try_get("token_id")?,
            org_id: id(row, "org_id")?,
            role: row.try_get("role")?,
            scope: row.try_get("scope")?,
            created_at: Millis::from_i64(row.try_get("created_at")?),
            expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(Millis::from_i64),
            revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Millis::from_i64),
            client_id: row.try_get("client_id")?,
        })
    }

    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| expires > now)
    }

    /// Its `token-issued` ledger entry. A SMART access token was asked for by the organisation itself
    /// (the actor), and the entry names the client.
    pub fn issued_entry(&self) -> LedgerRecord {
        let entry = LedgerRecord::token_issued(
            self.created_at,
            &self.org_id,
            &self.token_id,
            &self.role,
            &self.scope,
            self.expires_at,
        );
        match &self.client_id {
            None => entry,
            Some(client) => {
                let outcome = format!("{}, SMART client {client}", entry.outcome.as_deref().unwrap_or_default());
                entry.actor(self.org_id.clone()).outcome(outcome)
            }
        }
    }
}

/// A token to store: its record (not revoked) and the SHA-256 of the token.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub record: TokenRecord,
    pub token_hash: String,
    /// For a SMART access token, the client assertion it is issued for: recorded in the same
    /// transaction, and no token is issued when it was used before (a replay).
    pub assertion: Option<UsedAssertion>,
}

/// Which tokens a revocation ends.
#[derive(Debug, Clone)]
pub enum Revocation {
    /// The token that has this id, or whose hash is one of these (the hash itself, or the hash of a
    /// token given in clear), if it is not revoked yet.
    Token { id_or_hash: String, hash: String },
    /// Every live (neither revoked nor expired) token of the organisation.
    Organization(OrgId),
}

/// A change of the tokens, for the writer.
#[derive(Debug, Clone)]
pub enum TokenChange {
    Issue(Box<NewToken>),
    Revoke {
        which: Revocation,
        at: Millis,
    },
    /// Forget used SMART client assertions that could no longer be accepted at `now`, and delete SMART
    /// access tokens that expired before `tokens_before`. Returns no tokens and no ledger entries.
    Purge {
        now: Millis,
        tokens_before: Millis,
    },
}

/// Applies `change` in the writer's transaction. Returns the tokens issued or revoked, and their ledger
/// entries for the writer to append.
pub(super) async fn apply(
    tx: &mut Transaction<'_, Any>,
    change: &TokenChange,
) -> Result<(Vec<TokenRecord>, Vec<LedgerRecord>), StoreError> {
    let (changed, at) = match change {
        TokenChange::Issue(new) => {
            if let Some(used) = &new.assertion {
                if !smart::record_assertion(tx, used).await? {
                    // A replayed assertion: nothing issued, which the caller reads as the refusal.
                    return Ok((Vec::new(), Vec::new()));
                }
            }
            let r = &new.record;
            sqlx::query(
                "INSERT INTO api_tokens (token_id, token_hash, org_id, role, scope, created_at, expires_at, \
                 client_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&r.token_id)
            .bind(&new.token_hash)
            .bind(r.org_id.as_str())
            .bind(&r.role)
            .bind(&r.scope)
            .bind(r.created_at.as_i64())
            .bind(r.expires_at.map(Millis::as_i64))
            .bind(r.client_id.as_deref())
            .execute(&mut **tx)
            .await?;
            return Ok((vec![r.clone()], vec![r.issued_entry()]));
        }
        TokenChange::Purge { now, tokens_before } => {
            let gone = smart::purge(tx, *now, *tokens_before).await?;
            tracing::debug!(stage = "store", rows = gone, "purged used SMART assertions and expired access tokens");
            return Ok((Vec::new(), Vec::new()));
        }
        TokenChange::Revoke { which: Revocation::Token { id_or_hash, hash }, at } => {
            let rows = sqlx::query(&format!(
                "UPDATE api_tokens SET revoked_at = $1 \
                 WHERE (token_id = $2 OR token_hash = $2 OR token_hash = $3) AND revoked_at IS NULL \
                 RETURNING {COLUMNS}"
            ))
            .bind(at.as_i64())
            .bind(id_or_hash)
            .bind(hash)
            .fetch_all(&mut **tx)
            .await?;
            (rows, *at)
        }
        TokenChange::Revoke { which: Revocation::Organization(org), at } => {
            let rows = sqlx::query(&format!(
                "UPDATE api_tokens SET revoked_at = $1 \
                 WHERE org_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
                 RETURNING {COLUMNS}"
            ))
            .bind(at.as_i64())
            .bind(org.as_str())
            .fetch_all(&mut **tx)
            .await?;
            (rows, *at)
        }
    };
    let mut revoked = changed.iter().map(TokenRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    // RETURNING gives no order: the entries follow the tokens' issue.
    revoked.sort_by(|a, b| (a.created_at, &a.token_id).cmp(&(b.created_at, &b.token_id)));
    let entries =
        revoked.iter().map(|t| LedgerRecord::token_revoked(at, &t.org_id, &t.token_id, &t.role, &t.scope)).collect();
    Ok((revoked, entries))
}

impl Store {
    /// The token with this hash unless it is revoked (an expired one too: the caller tells it apart).
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(TokenRecord::from_row).transpose()
    }

    /// Every token, revoked and expired ones too, by organisation and then in order of issue.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY org_id, created_at, token_id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(TokenRecord::from_row).collect()
    }
}
