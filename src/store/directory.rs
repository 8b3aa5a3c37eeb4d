//! The directory tables.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};
use crate::directory::{DeliveryMode, OrgId, OrgIdentifier, Organization};
use crate::time::Millis;

impl Store {
    pub async fn organization_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM organizations").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Inserts or replaces organisations by id, with their identifiers and accepted events, atomically.
    pub async fn upsert_organizations(&self, organizations: &[Organization]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = Millis::now().as_i64();
        for org in organizations {
            sqlx::query(
                "INSERT INTO organizations (org_id, name, delivery_mode, endpoint_url, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id) DO UPDATE SET name = excluded.name, delivery_mode = excluded.delivery_mode, \
                 endpoint_url = excluded.endpoint_url",
            )
            .bind(org.id.as_str())
            .bind(&org.name)
            .bind(org.delivery.as_str())
            .bind(&org.address)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for table in ["organization_identifiers", "organization_events"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1"))
                    .bind(org.id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for identifier in &org.identifiers {
                sqlx::query("INSERT INTO organization_identifiers (system, value, org_id) VALUES ($1, $2, $3)")
                    .bind(identifier.system())
                    .bind(identifier.value())
                    .bind(org.id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for event in &org.events {
                sqlx::query(
                    "INSERT INTO organization_events (org_id, event_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(org.id.as_str())
                .bind(event)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records where the directory came from (`demo` or `import`).
    pub async fn set_directory_source(&self, source: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO broker_state (key, value) VALUES ('directory_source', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(source)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Where the directory came from, if recorded.
    pub async fn directory_source(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM broker_state WHERE key = 'directory_source'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("value")?),
            None => None,
        })
    }

    /// The organisation that owns `identifier`.
    pub async fn organization_by_identifier(&self, identifier: &OrgIdentifier) -> Result<Option<OrgId>, StoreError> {
        let row = sqlx::query("SELECT org_id FROM organization_identifiers WHERE system = $1 AND value = $2")
            .bind(identifier.system())
            .bind(identifier.value())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(OrgId::from_stored(row.try_get("org_id")?)),
            None => None,
        })
    }

    /// The whole directory, ordered by id.
    pub async fn organizations(&self) -> Result<Vec<Organization>, StoreError> {
        let orgs = sqlx::query("SELECT org_id, name, delivery_mode, endpoint_url FROM organizations ORDER BY org_id")
            .fetch_all(&self.pool)
            .await?;
        let identifiers =
            sqlx::query("SELECT org_id, system, value FROM organization_identifiers ORDER BY org_id, system, value")
                .fetch_all(&self.pool)
                .await?;
        let events = sqlx::query("SELECT org_id, event_code FROM organization_events ORDER BY org_id, event_code")
            .fetch_all(&self.pool)
            .await?;
        // Grouped once by organisation: the directory is re-read every few seconds, and a per-organisation
        // scan of all identifier rows would grow with the square of the directory.
        let mut identifiers_of: HashMap<String, Vec<OrgIdentifier>> = HashMap::new();
        for r in &identifiers {
            let (system, value): (String, String) = (r.try_get("system")?, r.try_get("value")?);
            identifiers_of.entry(r.try_get("org_id")?).or_default().extend(OrgIdentifier::new(&system, &value));
        }
        let mut events_of: HashMap<String, Vec<String>> = HashMap::new();
        for r in &events {
            events_of.entry(r.try_get("org_id")?).or_default().push(r.try_get("event_code")?);
        }
        let mut result = Vec::with_capacity(orgs.len());
        for row in &orgs {
            let id: String = row.try_get("org_id")?;
            let mode: String = row.try_get("delivery_mode")?;
            let delivery = match mode.as_str() {
                "push" => DeliveryMode::Push,
                "mailbox" => DeliveryMode::Mailbox,
                _ => return Err(StoreError::Corrupt(format!("organisation {id} has delivery mode {mode}"))),
            };
            result.push(Organization {
                identifiers: identifiers_of.remove(&id).unwrap_or_default(),
                events: events_of.remove(&id).unwrap_or_default(),
                id: OrgId::from_stored(id),
                name: row.try_get("name")?,
                delivery,
                address: row.try_get("endpoint_url")?,
            });
        }
        Ok(result)
    }
}
