//! SMART Backend Services: the clients registered in the directory (`smart_clients`, one per
//! organisation at most) and the client assertions already used (`smart_assertions`, by client and
//! `jti`, kept until they could no longer be accepted anyway).

use std::collections::HashMap;

use sqlx::{Any, AnyPool, Row, Transaction};

use super::StoreError;
use crate::model::{ClientId, JwkSet, Organization, SmartClient};
use crate::time::Millis;

/// A client assertion that was used: its client, its `jti`, and until when it could be accepted
/// (its `exp` plus the clock-skew allowance), after which its row may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedAssertion {
    pub client_id: ClientId,
    pub jti: String,
    pub until: Millis,
}

/// Replaces the SMART clients of `organizations` (inserted or replaced by the directory change): the
/// old rows of all of them go first, so that a client id may move between two organisations of the
/// same import.
pub(super) async fn upsert_clients(
    tx: &mut Transaction<'_, Any>,
    organizations: &[Organization],
) -> Result<(), StoreError> {
    for org in organizations {
        sqlx::query("DELETE FROM smart_clients WHERE org_id = $1").bind(org.id.as_str()).execute(&mut **tx).await?;
    }
    for org in organizations {
        let Some(client) = &org.smart else {
            continue;
        };
        sqlx::query("INSERT INTO smart_clients (client_id, org_id, jwks, roles) VALUES ($1, $2, $3, $4)")
            .bind(client.client_id.as_str())
            .bind(org.id.as_str())
            .bind(client.jwks.as_str())
            .bind(client.roles_text())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Every SMART client, by organisation id. A row that no longer passes the checks of its way in is
/// `Corrupt`: the broker never trusts a key it would not have imported.
pub(super) async fn clients(pool: &AnyPool) -> Result<HashMap<String, SmartClient>, StoreError> {
    let rows = sqlx::query("SELECT client_id, org_id, jwks, roles FROM smart_clients").fetch_all(pool).await?;
    let mut clients = HashMap::with_capacity(rows.len());
    for row in &rows {
        let org: String = row.try_get("org_id")?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("organisation {org}: SMART client {what}"));
        let client_id: String = row.try_get("client_id")?;
        let client_id = ClientId::parse(&client_id).ok_or_else(|| corrupt("id"))?;
        let jwks: String = row.try_get("jwks")?;
        let jwks = JwkSet::parse(&jwks).map_err(|_| corrupt("JWK Set"))?;
        let roles: String = row.try_get("roles")?;
        let roles = SmartClient::parse_roles(&roles).ok_or_else(|| corrupt("roles"))?;
        clients.insert(org.clone(), SmartClient::new(client_id, jwks, roles));
    }
    Ok(clients)
}

/// Records a used assertion; `false` when its (client, `jti`) was recorded before: a replay. Inside the
/// transaction that issues the token, so that two concurrent requests with one assertion cannot both
/// get a token (the primary key decides).
pub(super) async fn record_assertion(tx: &mut Transaction<'_, Any>, used: &UsedAssertion) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO smart_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(used.client_id.as_str())
    .bind(&used.jti)
    .bind(used.until.as_i64())
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets the used assertions that could no longer be accepted at `now`, and deletes the SMART access
/// tokens that expired before `tokens_before` (their `token-issued` ledger entries stay). Returns how
/// many rows went.
pub(super) async fn purge(
    tx: &mut Transaction<'_, Any>,
    now: Millis,
    tokens_before: Millis,
) -> Result<u64, StoreError> {
    let assertions = sqlx::query("DELETE FROM smart_assertions WHERE expires_at < $1")
        .bind(now.as_i64())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let tokens = sqlx::query("DELETE FROM api_tokens WHERE client_id IS NOT NULL AND expires_at < $1")
        .bind(tokens_before.as_i64())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(assertions + tokens)
}
