//! The directory tables.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::{
    CareType, CertificateSha256, DeliveryMode, EventCode, Format, OpenPeriod, OpeningHours, OrgId, OrgIdentifier,
    Organization, Priority, ReceiptPreference, ResponseRule, ResponseTime, TimeOfDay, TimeZoneName, Weekdays,
};
use crate::time::Millis;

/// What the store did when asked to remove an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// Messages or deliveries refer to it; nothing was changed.
    InUse,
}

impl Store {
    pub async fn organization_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM organizations").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// A value kept in `broker_state`, set once: the stored value if there is one, else `value`, stored
    /// now (two broker nodes starting at once agree on the first one written).
    pub async fn state_value_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO broker_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(self.state_value(key).await?.unwrap_or_else(|| value.to_owned()))
    }

    /// A value kept in `broker_state`.
    pub async fn state_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT value FROM broker_state WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
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

    /// The organisation a client certificate with this fingerprint is pinned on.
    pub async fn organization_by_certificate(&self, sha256: &CertificateSha256) -> Result<Option<OrgId>, StoreError> {
        let row = sqlx::query("SELECT org_id FROM organization_certificates WHERE sha256 = $1")
            .bind(sha256.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(OrgId::from_stored(row.try_get("org_id")?)),
            None => None,
        })
    }

    /// The whole directory, ordered by id.
    pub async fn organizations(&self) -> Result<Vec<Organization>, StoreError> {
        let orgs = sqlx::query(
            "SELECT org_id, name, delivery_mode, endpoint_url, endpoint_ca_pem, client_certificate, receipt_preference, \
             triage_point, time_zone, payload_format, notified_pull, language FROM organizations ORDER BY org_id",
        )
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
        let certificates = sqlx::query("SELECT org_id, sha256 FROM organization_certificates ORDER BY org_id, sha256")
            .fetch_all(&self.pool)
            .await?;
        let mut certificates_of: HashMap<String, Vec<CertificateSha256>> = HashMap::new();
        for r in &certificates {
            certificates_of
                .entry(r.try_get("org_id")?)
                .or_default()
                .push(CertificateSha256::from_stored(r.try_get("sha256")?));
        }
        let care_types =
            sqlx::query("SELECT org_id, care_type FROM organization_care_types ORDER BY org_id, care_type")
                .fetch_all(&self.pool)
                .await?;
        let mut care_types_of: HashMap<String, Vec<CareType>> = HashMap::new();
        for r in &care_types {
            care_types_of.entry(r.try_get("org_id")?).or_default().push(CareType::from_stored(r.try_get("care_type")?));
        }
        let mut events_of: HashMap<String, Vec<EventCode>> = HashMap::new();
        for r in &events {
            events_of.entry(r.try_get("org_id")?).or_default().push(super::row::id(r, "event_code")?);
        }
        let mut smart_of = super::smart::clients(&self.pool).await?;
        let mut periods_of = opening_periods(&self.pool).await?;
        let mut rules_of = response_rules(&self.pool).await?;
        let mut result = Vec::with_capacity(orgs.len());
        for row in &orgs {
            let id: String = row.try_get("org_id")?;
            let mode: String = row.try_get("delivery_mode")?;
            // Notified pull is stored as a flagged mailbox (see the migration `notified_pull`).
            let notified_pull = row.try_get::<i64, _>("notified_pull")? != 0;
            let delivery = match mode.as_str() {
                "push" => DeliveryMode::Push,
                "mailbox" if notified_pull => DeliveryMode::NotifiedPull,
                "mailbox" => DeliveryMode::Mailbox,
                _ => return Err(StoreError::Corrupt(format!("organisation {id} has delivery mode {mode}"))),
            };
            let receipts: String = row.try_get("receipt_preference")?;
            let Some(receipts) = ReceiptPreference::parse(&receipts) else {
                return Err(StoreError::Corrupt(format!("organisation {id} has receipt preference {receipts}")));
            };
            let client_certificate: i64 = row.try_get("client_certificate")?;
            let triage_point: i64 = row.try_get("triage_point")?;
            let id_for_care = id.clone();
            let zone: Option<String> = row.try_get("time_zone")?;
            let periods = periods_of.remove(&id).unwrap_or_default();
            let hours = match zone {
                None => None,
                Some(zone) => {
                    let hours = TimeZoneName::parse(&zone).and_then(|zone| OpeningHours::new(zone, periods));
                    Some(hours.ok_or_else(|| StoreError::Corrupt(format!("organisation {id} has hours in {zone}")))?)
                }
            };
            let response_rules = rules_of.remove(&id).unwrap_or_default();
            let language: Option<String> = row.try_get("language")?;
            let format: String = row.try_get("payload_format")?;
            let Some(format) = Format::from_stored(&format) else {
                return Err(StoreError::Corrupt(format!("organisation {id} has payload format {format}")));
            };
            result.push(Organization {
                identifiers: identifiers_of.remove(&id).unwrap_or_default(),
                smart: smart_of.remove(&id),
                events: events_of.remove(&id).unwrap_or_default(),
                certificates: certificates_of.remove(&id).unwrap_or_default(),
                id: OrgId::from_stored(id),
                name: row.try_get("name")?,
                delivery,
                address: row.try_get("endpoint_url")?,
                ca_pem: row.try_get("endpoint_ca_pem")?,
                client_certificate: client_certificate != 0,
                receipts,
                triage_point: triage_point != 0,
                format,
                care_types: care_types_of.remove(&id_for_care).unwrap_or_default(),
                hours,
                response_rules,
                language: language.as_deref().and_then(crate::i18n::Language::of),
            });
        }
        Ok(result)
    }
}

/// Every organisation's open periods, in their order.
async fn opening_periods(pool: &sqlx::AnyPool) -> Result<HashMap<String, Vec<OpenPeriod>>, StoreError> {
    let rows = sqlx::query("SELECT org_id, days, opens, closes FROM organization_hours ORDER BY org_id, position")
        .fetch_all(pool)
        .await?;
    let mut periods_of: HashMap<String, Vec<OpenPeriod>> = HashMap::new();
    for r in &rows {
        let org: String = r.try_get("org_id")?;
        let period = Weekdays::from_bits(r.try_get("days")?).and_then(|days| {
            let opens = TimeOfDay::from_seconds(r.try_get("opens").ok()?)?;
            let closes = TimeOfDay::from_seconds(r.try_get("closes").ok()?)?;
            OpenPeriod::new(days, opens, closes)
        });
        let period = period.ok_or_else(|| StoreError::Corrupt(format!("organisation {org} has a bad open period")))?;
        periods_of.entry(org).or_default().push(period);
    }
    Ok(periods_of)
}

/// Every organisation's response rules, by priority.
async fn response_rules(pool: &sqlx::AnyPool) -> Result<HashMap<String, Vec<ResponseRule>>, StoreError> {
    let rows = sqlx::query("SELECT org_id, priority, within_secs, escalation_org FROM organization_response_times")
        .fetch_all(pool)
        .await?;
    let mut rules_of: HashMap<String, Vec<ResponseRule>> = HashMap::new();
    for r in &rows {
        let org: String = r.try_get("org_id")?;
        let priority: String = r.try_get("priority")?;
        let within: i64 = r.try_get("within_secs")?;
        let corrupt = || StoreError::Corrupt(format!("organisation {org} has response time {priority} {within}"));
        let rule = ResponseRule {
            priority: Priority::parse(&priority).ok_or_else(corrupt)?,
            within: u64::try_from(within).ok().and_then(ResponseTime::from_secs).ok_or_else(corrupt)?,
            escalation: super::row::id_opt(r, "escalation_org")?,
        };
        rules_of.entry(org).or_default().push(rule);
    }
    for rules in rules_of.values_mut() {
        rules.sort_by_key(|rule| rule.priority);
    }
    Ok(rules_of)
}

/// A change of the directory, applied by the writer in one transaction with its ledger entries.
#[derive(Debug, Clone, Default)]
pub struct DirectoryUpdate {
    /// Inserted or replaced by id, with their identifiers and accepted events.
    pub upsert: Vec<Organization>,
    /// Removed (with identifiers, accepted events and tokens) unless a message or delivery refers to it.
    pub remove: Option<OrgId>,
    /// Where the directory now comes from (`demo` or `import`), when this says.
    pub source: Option<&'static str>,
    /// Appended only if the change applied.
    pub ledger: Vec<LedgerRecord>,
}

/// Applies `update` inside the writer's transaction; `Removed` also for a change without a removal.
pub(super) async fn apply(tx: &mut Transaction<'_, Any>, update: &DirectoryUpdate) -> Result<Removal, StoreError> {
    if let Some(id) = &update.remove {
        let removal = delete_organization(tx, id).await?;
        if removal != Removal::Removed {
            return Ok(removal);
        }
    }
    upsert_organizations(tx, &update.upsert).await?;
    super::smart::upsert_clients(tx, &update.upsert).await?;
    if let Some(source) = update.source {
        sqlx::query(
            "INSERT INTO broker_state (key, value) VALUES ('directory_source', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(source)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Removal::Removed)
}

/// Inserts or replaces organisations by id, with their identifiers, accepted events and pinned
/// certificates.
async fn upsert_organizations(tx: &mut Transaction<'_, Any>, organizations: &[Organization]) -> Result<(), StoreError> {
    let now = Millis::now().as_i64();
    for org in organizations {
        sqlx::query(
            "INSERT INTO organizations (org_id, name, delivery_mode, endpoint_url, created_at, endpoint_ca_pem, \
             client_certificate, receipt_preference, triage_point, time_zone, payload_format, notified_pull, \
             language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (org_id) DO UPDATE SET name = excluded.name, delivery_mode = excluded.delivery_mode, \
             endpoint_url = excluded.endpoint_url, endpoint_ca_pem = excluded.endpoint_ca_pem, \
             client_certificate = excluded.client_certificate, receipt_preference = excluded.receipt_preference, \
             triage_point = excluded.triage_point, time_zone = excluded.time_zone, \
             payload_format = excluded.payload_format, notified_pull = excluded.notified_pull, \
             language = excluded.language",
        )
        .bind(org.id.as_str())
        .bind(&org.name)
        .bind(match org.delivery {
            // Stored as a flagged mailbox (see the migration `notified_pull`).
            DeliveryMode::NotifiedPull => DeliveryMode::Mailbox.as_str(),
            mode => mode.as_str(),
        })
        .bind(&org.address)
        .bind(now)
        .bind(org.ca_pem.as_deref())
        .bind(i64::from(org.client_certificate))
        .bind(org.receipts.as_str())
        .bind(i64::from(org.triage_point))
        .bind(org.hours.as_ref().map(|hours| hours.zone().as_str()))
        .bind(org.format.as_str())
        .bind(i64::from(org.delivery == DeliveryMode::NotifiedPull))
        .bind(org.language.map(|lang| lang.code()))
        .execute(&mut **tx)
        .await?;
        for table in [
            "organization_identifiers",
            "organization_events",
            "organization_certificates",
            "organization_care_types",
            "organization_hours",
            "organization_response_times",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1"))
                .bind(org.id.as_str())
                .execute(&mut **tx)
                .await?;
        }
    }
    // Identifiers (and pinned certificates) after every imported organisation has dropped its old ones,
    // so that one may move between two organisations of the same import.
    for org in organizations {
        for identifier in &org.identifiers {
            sqlx::query("INSERT INTO organization_identifiers (system, value, org_id) VALUES ($1, $2, $3)")
                .bind(identifier.system())
                .bind(identifier.value())
                .bind(org.id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        for event in &org.events {
            sqlx::query("INSERT INTO organization_events (org_id, event_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(org.id.as_str())
                .bind(event.as_str())
                .execute(&mut **tx)
                .await?;
        }
        for care_type in &org.care_types {
            sqlx::query("INSERT INTO organization_care_types (org_id, care_type) VALUES ($1, $2)")
                .bind(org.id.as_str())
                .bind(care_type.as_str())
                .execute(&mut **tx)
                .await?;
        }
        for certificate in &org.certificates {
            sqlx::query("INSERT INTO organization_certificates (sha256, org_id) VALUES ($1, $2)")
                .bind(certificate.as_str())
                .bind(org.id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        let periods = org.hours.as_ref().map(OpeningHours::periods).unwrap_or_default();
        for (position, period) in periods.iter().enumerate() {
            sqlx::query(
                "INSERT INTO organization_hours (org_id, position, days, opens, closes) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(org.id.as_str())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(period.days().bits())
            .bind(i64::from(period.opens().seconds()))
            .bind(i64::from(period.closes().seconds()))
            .execute(&mut **tx)
            .await?;
        }
        // After every organisation of the import exists: an escalation may name one imported after it.
        for rule in &org.response_rules {
            sqlx::query(
                "INSERT INTO organization_response_times (org_id, priority, within_secs, escalation_org) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(org.id.as_str())
            .bind(rule.priority.as_str())
            .bind(i64::from(rule.within.secs()))
            .bind(rule.escalation.as_ref().map(OrgId::as_str))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Deletes an organisation with its identifiers, accepted events, pinned certificates and tokens,
/// unless a stored message or delivery refers to it.
async fn delete_organization(tx: &mut Transaction<'_, Any>, id: &OrgId) -> Result<Removal, StoreError> {
    let exists = sqlx::query("SELECT org_id FROM organizations WHERE org_id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if !exists {
        return Ok(Removal::NotFound);
    }
    for referring in [
        "SELECT delivery_id AS ref FROM deliveries WHERE receiver_org = $1 LIMIT 1",
        "SELECT tracking_id AS ref FROM messages WHERE sender_org = $1 LIMIT 1",
    ] {
        if sqlx::query(referring).bind(id.as_str()).fetch_optional(&mut **tx).await?.is_some() {
            return Ok(Removal::InUse);
        }
    }
    // A row written since the check above makes a statement fail on its foreign key: the batch fails
    // and is retried alone, where the check above then finds it.
    for statement in [
        "DELETE FROM api_tokens WHERE org_id = $1",
        "DELETE FROM smart_clients WHERE org_id = $1",
        "DELETE FROM organization_identifiers WHERE org_id = $1",
        "DELETE FROM organization_events WHERE org_id = $1",
        "DELETE FROM organization_certificates WHERE org_id = $1",
        "DELETE FROM organization_care_types WHERE org_id = $1",
        "DELETE FROM organization_hours WHERE org_id = $1",
        "DELETE FROM organization_response_times WHERE org_id = $1",
        "UPDATE organization_response_times SET escalation_org = NULL WHERE escalation_org = $1",
        "DELETE FROM organizations WHERE org_id = $1",
    ] {
        sqlx::query(statement).bind(id.as_str()).execute(&mut **tx).await?;
    }
    Ok(Removal::Removed)
}
