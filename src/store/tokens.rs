//! API tokens, stored only as SHA-256 hashes.

use sqlx::Row;

use super::{Store, StoreError};
use crate::time::Millis;

/// A token as stored: never the token itself.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub token_id: String,
    pub org_id: String,
    pub role: String,
}

impl Store {
    pub async fn insert_token(
        &self,
        token_id: &str,
        token_hash: &str,
        org_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (token_id, token_hash, org_id, role, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_id)
        .bind(token_hash)
        .bind(org_id)
        .bind(role)
        .bind(Millis::now().as_i64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live (not revoked) token with this hash.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row =
            sqlx::query("SELECT token_id, org_id, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => Some(TokenRecord {
                token_id: row.try_get("token_id")?,
                org_id: row.try_get("org_id")?,
                role: row.try_get("role")?,
            }),
            None => None,
        })
    }

    /// Revokes by token id or token hash; returns whether a live token was revoked.
    pub async fn revoke_token(&self, token_id_or_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE (token_id = $2 OR token_hash = $2) AND revoked_at IS NULL",
        )
        .bind(Millis::now().as_i64())
        .bind(token_id_or_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
