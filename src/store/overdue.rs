//! Overdue deliveries: the candidates of the overdue sweep, and marking one overdue with its ledger
//! entries and the sender's `overdue` receipt in the writer's transaction.
//!
//! `deliveries.overdue_at` records that a delivery was reported overdue; it is not a delivery state (an
//! overdue delivery is still queued or delivered and may yet be answered). The mark is guarded by
//! `overdue_at IS NULL`, so that when two broker nodes sweep at once only one reports each delivery.

use sqlx::{Any, Row, Transaction};

use super::outbox::NewReceipt;
use super::row::id;
use super::{Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::{DeliveryId, OrgId, Priority, TrackingId};
use crate::time::Millis;

/// The states of a delivery that has no answer yet: the only ones that can become overdue.
const UNANSWERED: &str = "('queued', 'delivered')";

/// A delivery that may be overdue: unanswered, not reported yet, of a message with a priority for which
/// its receiver states a response time, and received at least that response time ago (the deadline in
/// opening hours is never earlier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCandidate {
    pub delivery_id: DeliveryId,
    pub tracking_id: TrackingId,
    pub receiver_org: OrgId,
    pub priority: Priority,
    pub received_at: Millis,
}

/// Where a page of candidates starts: after this (received_at, delivery_id).
pub type CandidateCursor = (Millis, DeliveryId);

/// Marks one delivery overdue, with what that entails, applied atomically.
#[derive(Debug, Clone)]
pub struct OverdueMark {
    pub delivery_id: DeliveryId,
    pub tracking_id: TrackingId,
    pub at: Millis,
    /// Appended only if the mark applied.
    pub ledger: Vec<LedgerRecord>,
    /// Queued only if the mark applied.
    pub receipt: Option<NewReceipt>,
}

/// An overdue delivery whose receiver names an escalation organisation for its priority, and that is
/// still unanswered: what the escalation pass forwards (an escalated delivery becomes `forwarded`, so it
/// is found until it is escalated, also after a crash between the overdue mark and the escalation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationDue {
    pub delivery_id: DeliveryId,
    pub receiver_org: OrgId,
    pub priority: Priority,
    pub within_secs: i64,
    pub escalation_org: OrgId,
}

impl Store {
    /// Up to `limit` overdue deliveries to escalate (see [`EscalationDue`]), longest overdue first.
    pub async fn escalations_due(&self, limit: usize) -> Result<Vec<EscalationDue>, StoreError> {
        let sql = format!(
            "SELECT d.delivery_id, d.receiver_org, m.priority, r.within_secs, r.escalation_org \
             FROM deliveries d \
             JOIN messages m ON m.tracking_id = d.tracking_id \
             JOIN organization_response_times r ON r.org_id = d.receiver_org AND r.priority = m.priority \
             WHERE d.overdue_at IS NOT NULL AND d.state IN {UNANSWERED} AND r.escalation_org IS NOT NULL \
             ORDER BY d.overdue_at, d.delivery_id LIMIT $1"
        );
        let rows = sqlx::query(&sql).bind(i64::try_from(limit).unwrap_or(i64::MAX)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let priority: String = row.try_get("priority")?;
                Ok(EscalationDue {
                    delivery_id: id(row, "delivery_id")?,
                    receiver_org: id(row, "receiver_org")?,
                    priority: Priority::parse(&priority)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown priority {priority:?}")))?,
                    within_secs: row.try_get("within_secs")?,
                    escalation_org: id(row, "escalation_org")?,
                })
            })
            .collect()
    }

    /// Up to `limit` candidates at `now` (see [`OverdueCandidate`]), oldest first, after `after`.
    pub async fn overdue_candidates(
        &self,
        now: Millis,
        after: Option<&CandidateCursor>,
        limit: usize,
    ) -> Result<Vec<OverdueCandidate>, StoreError> {
        let (after_at, after_id) = match after {
            Some((at, id)) => (at.as_i64(), id.as_str()),
            None => (i64::MIN, ""),
        };
        let sql = format!(
            "SELECT d.delivery_id, d.tracking_id, d.receiver_org, m.priority, m.received_at \
             FROM messages m \
             JOIN deliveries d ON d.tracking_id = m.tracking_id \
             JOIN organization_response_times r ON r.org_id = d.receiver_org AND r.priority = m.priority \
             WHERE m.priority IS NOT NULL AND d.overdue_at IS NULL AND d.state IN {UNANSWERED} \
             AND m.received_at + r.within_secs * 1000 <= $1 \
             AND (m.received_at > $2 OR (m.received_at = $2 AND d.delivery_id > $3)) \
             ORDER BY m.received_at, d.delivery_id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(now.as_i64())
            .bind(after_at)
            .bind(after_id)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let priority: String = row.try_get("priority")?;
                Ok(OverdueCandidate {
                    delivery_id: id(row, "delivery_id")?,
                    tracking_id: id(row, "tracking_id")?,
                    receiver_org: id(row, "receiver_org")?,
                    priority: Priority::parse(&priority)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown priority {priority:?}")))?,
                    received_at: Millis::from_i64(row.try_get("received_at")?),
                })
            })
            .collect()
    }

    /// Marks deliveries overdue with their ledger entries and receipts, in one transaction of the
    /// writer; `true` for each mark that applied (`false`: already reported, or answered meanwhile).
    pub async fn mark_overdue(&self, marks: Vec<OverdueMark>) -> Result<Vec<bool>, StoreError> {
        self.writer.mark_overdue(marks).await
    }
}

/// Applies `marks` inside the writer's transaction; `true` for each that applied, and the ledger
/// entries of those that did (for the writer to append).
pub(super) async fn apply<'m>(
    tx: &mut Transaction<'_, Any>,
    marks: &'m [OverdueMark],
) -> Result<(Vec<bool>, Vec<&'m LedgerRecord>), StoreError> {
    let mut applied = Vec::with_capacity(marks.len());
    let mut ledger = Vec::new();
    let sql = format!(
        "UPDATE deliveries SET overdue_at = $1 WHERE delivery_id = $2 AND overdue_at IS NULL AND state IN {UNANSWERED}"
    );
    for mark in marks {
        let result =
            sqlx::query(&sql).bind(mark.at.as_i64()).bind(mark.delivery_id.as_str()).execute(&mut **tx).await?;
        let done = result.rows_affected() == 1;
        if done {
            ledger.extend(mark.ledger.iter());
            if let Some(receipt) = &mark.receipt {
                super::outbox::insert_receipt(tx, receipt, mark.at).await?;
            }
        }
        applied.push(done);
    }
    Ok((applied, ledger))
}
