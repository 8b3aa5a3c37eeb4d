//! The workflow Tasks of Notified Pull receivers (issue 15): what a receiver set on the Task of one of
//! its deliveries (status, businessStatus, statusReason) and the Task's version. A delivery without a
//! row has a Task nobody changed yet (version 1). Rows are written only inside the writer's transaction,
//! as part of the settlement that moves the delivery (or holds it), so a Task and its delivery never
//! disagree about what was committed.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::row::{self, id};
use super::{Store, StoreError};
use crate::model::{DeliveryId, DeliveryState, EventCode, HeaderId, OrgId, TrackingId};
use crate::time::Millis;

/// A change of a Task, decided on the version `version` (the row then holds `version + 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskWrite {
    pub delivery_id: DeliveryId,
    pub receiver_org: OrgId,
    pub status: String,
    pub business_status: Option<String>,
    pub status_reason: Option<String>,
    /// The version the change was decided on: it applies only if the Task is still at it.
    pub version: i64,
    pub at: Millis,
}

/// A delivery seen as a Task: the delivery's facts and what its receiver set, if anything.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub delivery_id: DeliveryId,
    pub tracking_id: TrackingId,
    pub receiver_org: OrgId,
    pub receiver_system: String,
    pub receiver_value: String,
    pub state: DeliveryState,
    pub created_at: Millis,
    /// The delivery's last change.
    pub delivery_updated_at: Millis,
    pub header_id: HeaderId,
    pub sender_org: OrgId,
    pub event_code: EventCode,
    /// What the receiver set (`None`: nothing yet).
    pub status: Option<String>,
    pub business_status: Option<String>,
    pub status_reason: Option<String>,
    /// 1 while nothing was set.
    pub version: i64,
    /// When the receiver last changed it.
    pub task_updated_at: Option<Millis>,
}

const TASK_COLUMNS: &str = "d.delivery_id, d.tracking_id, d.receiver_org, d.receiver_system, d.receiver_value, \
     d.state, d.created_at, d.updated_at AS delivery_updated_at, m.header_id, m.sender_org, m.event_code, \
     t.status, t.business_status, t.status_reason, t.version, t.updated_at AS task_updated_at";

fn task_from_row(row: &AnyRow) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        delivery_id: id(row, "delivery_id")?,
        tracking_id: id(row, "tracking_id")?,
        receiver_org: id(row, "receiver_org")?,
        receiver_system: row.try_get("receiver_system")?,
        receiver_value: row.try_get("receiver_value")?,
        state: row::delivery_state(row, "state")?,
        created_at: Millis::from_i64(row.try_get("created_at")?),
        delivery_updated_at: Millis::from_i64(row.try_get("delivery_updated_at")?),
        header_id: id(row, "header_id")?,
        sender_org: id(row, "sender_org")?,
        event_code: id(row, "event_code")?,
        status: row.try_get("status")?,
        business_status: row.try_get("business_status")?,
        status_reason: row.try_get("status_reason")?,
        version: row.try_get::<Option<i64>, _>("version")?.unwrap_or(1),
        task_updated_at: row.try_get::<Option<i64>, _>("task_updated_at")?.map(Millis::from_i64),
    })
}

impl Store {
    /// The Task of a delivery, whoever it is addressed to (the caller compares, so that a refused read
    /// can be ledgered).
    pub async fn task(&self, delivery_id: &DeliveryId) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM deliveries d JOIN messages m ON m.tracking_id = d.tracking_id \
             LEFT JOIN tasks t ON t.delivery_id = d.delivery_id WHERE d.delivery_id = $1"
        );
        let row = sqlx::query(&sql).bind(delivery_id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// The Tasks of the (at most `limit`) newest deliveries addressed to `org`, newest first.
    pub async fn tasks_of(&self, org: &OrgId, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM deliveries d JOIN messages m ON m.tracking_id = d.tracking_id \
             LEFT JOIN tasks t ON t.delivery_id = d.delivery_id \
             WHERE d.receiver_org = $1 ORDER BY d.created_at DESC, d.delivery_id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// The delivery of message `tracking_id` to `org`, if there is one: who may read the message.
    pub async fn delivery_to(
        &self,
        tracking_id: &TrackingId,
        org: &OrgId,
    ) -> Result<Option<(DeliveryId, DeliveryState)>, StoreError> {
        let row = sqlx::query(
            "SELECT delivery_id, state FROM deliveries WHERE tracking_id = $1 AND receiver_org = $2 \
             ORDER BY created_at LIMIT 1",
        )
        .bind(tracking_id.as_str())
        .bind(org.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((id(&row, "delivery_id")?, row::delivery_state(&row, "state")?))).transpose()
    }
}

/// Whether the Task is still at the version `write` was decided on (inside the writer's transaction,
/// before the delivery's change).
pub(super) async fn still_at(tx: &mut Transaction<'_, Any>, write: &TaskWrite) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT version FROM tasks WHERE delivery_id = $1")
        .bind(write.delivery_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let current = match row {
        Some(row) => row.try_get::<i64, _>("version")?,
        None => 1,
    };
    Ok(current == write.version)
}

/// Writes the Task's new state, guarded by its version. The guard failing here means another broker
/// node changed it since [`still_at`]: an error, so that the whole transaction (the delivery's change
/// with it) rolls back and the receiver retries.
pub(super) async fn write(tx: &mut Transaction<'_, Any>, write: &TaskWrite) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO tasks (delivery_id, receiver_org, status, business_status, status_reason, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, \
         business_status = excluded.business_status, status_reason = excluded.status_reason, \
         version = excluded.version, updated_at = excluded.updated_at WHERE tasks.version = $8",
    )
    .bind(write.delivery_id.as_str())
    .bind(write.receiver_org.as_str())
    .bind(&write.status)
    .bind(write.business_status.as_deref())
    .bind(write.status_reason.as_deref())
    .bind(write.version + 1)
    .bind(write.at.as_i64())
    .bind(write.version)
    .execute(&mut **tx)
    .await?;
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Raced)
    }
}
