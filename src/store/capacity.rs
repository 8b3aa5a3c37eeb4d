//! Bed capacity: the latest counts per (organisation, care type), replaced by newer reports through
//! the writer in one transaction with the report's ledger entry, and read per organisation or summed
//! per care type for the region.

use sqlx::{Any, Row, Transaction};

use super::row::id;
use super::{Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::codes::CareType;
use crate::model::OrgId;
use crate::time::Millis;

/// The counts of one care type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityCount {
    pub care_type: CareType,
    pub total: i64,
    pub occupied: i64,
    pub available: i64,
}

/// An accepted report: its counts replace the stored ones of the same organisation and care types,
/// unless those hold for a later time.
#[derive(Debug, Clone)]
pub struct CapacityUpdate {
    pub org: OrgId,
    pub report_id: String,
    /// When the counts held (`MeasureReport.period.end`).
    pub as_of: Millis,
    pub received_at: Millis,
    pub counts: Vec<CapacityCount>,
    /// The `capacity-reported` entry, appended in the same transaction.
    pub ledger: LedgerRecord,
}

/// One stored row: the latest counts of an organisation for a care type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRow {
    pub org: OrgId,
    pub count: CapacityCount,
    pub as_of: Millis,
    pub received_at: Millis,
    pub report_id: String,
}

/// The region's figures for one care type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareTypeTotals {
    pub care_type: CareType,
    pub total: i64,
    pub occupied: i64,
    pub available: i64,
    /// Organisations reporting this care type.
    pub organizations: i64,
    /// Of those, how many report counts older than the staleness limit.
    pub stale: i64,
    /// The oldest `as_of` among them.
    pub oldest_as_of: Millis,
}

/// Upserts the counts of `update`; a stored row whose `as_of` is later stays.
pub(super) async fn apply(tx: &mut Transaction<'_, Any>, update: &CapacityUpdate) -> Result<(), StoreError> {
    for count in &update.counts {
        sqlx::query(
            "INSERT INTO capacity (org_id, care_type, total, occupied, available, as_of, received_at, report_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (org_id, care_type) DO UPDATE SET total = excluded.total, occupied = excluded.occupied, \
             available = excluded.available, as_of = excluded.as_of, received_at = excluded.received_at, \
             report_id = excluded.report_id WHERE capacity.as_of <= excluded.as_of",
        )
        .bind(update.org.as_str())
        .bind(count.care_type.as_str())
        .bind(count.total)
        .bind(count.occupied)
        .bind(count.available)
        .bind(update.as_of.as_i64())
        .bind(update.received_at.as_i64())
        .bind(update.report_id.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The latest counts of every organisation (or of `org` only), ordered by organisation and care type.
    #[tracing::instrument(skip_all)]
    pub async fn capacity_latest(&self, org: Option<&OrgId>) -> Result<Vec<CapacityRow>, StoreError> {
        let select = "SELECT org_id, care_type, total, occupied, available, as_of, received_at, report_id \
                      FROM capacity";
        let rows = match org {
            Some(org) => {
                sqlx::query(&format!("{select} WHERE org_id = $1 ORDER BY org_id, care_type"))
                    .bind(org.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(&format!("{select} ORDER BY org_id, care_type")).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|row| {
                Ok(CapacityRow {
                    org: id(row, "org_id")?,
                    count: CapacityCount {
                        care_type: CareType::from_stored(row.try_get("care_type")?),
                        total: row.try_get("total")?,
                        occupied: row.try_get("occupied")?,
                        available: row.try_get("available")?,
                    },
                    as_of: Millis::from_i64(row.try_get("as_of")?),
                    received_at: Millis::from_i64(row.try_get("received_at")?),
                    report_id: row.try_get("report_id")?,
                })
            })
            .collect()
    }

    /// The region per care type: sums, organisations reporting, how many hold counts older than
    /// `stale_before`, and the oldest. One grouped statement over the latest rows.
    #[tracing::instrument(skip_all)]
    pub async fn capacity_summary(&self, stale_before: Millis) -> Result<Vec<CareTypeTotals>, StoreError> {
        let rows = sqlx::query(
            // PostgreSQL sums BIGINTs as NUMERIC: cast back, on both backends alike.
            "SELECT care_type, CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(occupied) AS BIGINT) AS occupied, \
             CAST(SUM(available) AS BIGINT) AS available, CAST(COUNT(*) AS BIGINT) AS organizations, \
             CAST(SUM(CASE WHEN as_of < $1 THEN 1 ELSE 0 END) AS BIGINT) AS stale, MIN(as_of) AS oldest \
             FROM capacity GROUP BY care_type ORDER BY care_type",
        )
        .bind(stale_before.as_i64())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CareTypeTotals {
                    care_type: CareType::from_stored(row.try_get("care_type")?),
                    total: row.try_get("total")?,
                    occupied: row.try_get("occupied")?,
                    available: row.try_get("available")?,
                    organizations: row.try_get("organizations")?,
                    stale: row.try_get("stale")?,
                    oldest_as_of: Millis::from_i64(row.try_get("oldest")?),
                })
            })
            .collect()
    }
}
