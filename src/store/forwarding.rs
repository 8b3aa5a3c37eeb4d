//! Forwardings (issue 14): which message a triage point's forwarded message passes on, and which of its
//! candidates was placed.
//!
//! Two decisions are made here, each by one guarded statement inside the writer's transaction, so
//! that racing requests (or broker nodes) cannot both win:
//! - the original delivery moves to `forwarded` together with the forwarded message's commit
//!   ([`claim_original`]): a forwarding is stored only if its original was still the triage point's to
//!   pass on;
//! - the first acceptance of a forwarded message sets `placed_delivery_id` ([`claim_placement`]); in
//!   mode `first-accept` an acceptance that finds it set does not apply (placed elsewhere).

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::outbox::{context_from_row, DeliveryContext, NewReceipt, CONTEXT_COLUMNS};
use super::row::{id, id_opt};
use super::{Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::{DeliveryId, DeliveryState, ForwardMode, OrgId, StateSet, TrackingId};
use crate::time::Millis;

/// The link a forwarded message carries into its commit (`NewMessage::forwarding`).
#[derive(Debug, Clone)]
pub struct NewForwarding {
    pub original_tracking_id: TrackingId,
    /// The triage point's delivery of the original.
    pub original_delivery_id: DeliveryId,
    pub mode: ForwardMode,
    /// The states the original delivery may be in: `queued` from the mailbox; `delivered` for a pushed
    /// or acknowledged message; `forwarded` when every earlier forwarding of it ended unplaced.
    pub from: StateSet,
    /// The entries of the original delivery's move (its `forwarded` entry, the receipt's).
    pub ledger: Vec<LedgerRecord>,
    /// The original sender's receipt: "forwarded by the triage point to ...".
    pub receipt: Option<NewReceipt>,
}

/// A stored forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardingRecord {
    /// The forwarded message.
    pub tracking_id: TrackingId,
    pub original_tracking_id: TrackingId,
    pub original_delivery_id: DeliveryId,
    /// The triage point that forwarded it (the forwarded message's sender).
    pub forwarder: OrgId,
    pub mode: ForwardMode,
    pub placed_delivery_id: Option<DeliveryId>,
    pub created_at: Millis,
}

/// What an acceptance of a forwarded message's delivery entails (`Settlement::placement`).
#[derive(Debug, Clone)]
pub struct Placement {
    /// The forwarded message.
    pub forwarded: TrackingId,
    /// `first-accept`: the acceptance applies only if it is the first.
    pub exclusive: bool,
    /// Applied after the acceptance, only if it placed the patient: the other candidates' withdrawals
    /// (each guarded by its own state) and the original delivery's answer.
    pub then: Vec<super::Settlement>,
}

/// What a candidate's refusal entails when it is the last open one (`Settlement::unplaced`).
#[derive(Debug, Clone)]
pub struct Unplaced {
    /// The forwarded message.
    pub forwarded: TrackingId,
    /// Appended only if no candidate is left open or placed.
    pub ledger: Vec<LedgerRecord>,
    /// Replaces the settlement's own receipt for the triage point, if no candidate is left.
    pub receipt: Option<NewReceipt>,
    /// Mode `all`: the original's answer (declined), applied if no candidate is left.
    pub original: Option<Box<super::Settlement>>,
}

const OPEN: &str = "('queued', 'delivered', 'forwarded')";

/// Moves the original delivery to `forwarded`, provided it is in one of `f.from` (and, from
/// `forwarded`, every earlier forwarding of it ended with nobody placed and no candidate still open).
pub(super) async fn claim_original(
    tx: &mut Transaction<'_, Any>,
    f: &NewForwarding,
    at: Millis,
) -> Result<bool, StoreError> {
    let plain: Vec<DeliveryState> = f.from.iter().filter(|s| *s != DeliveryState::Forwarded).collect();
    let mut conditions = Vec::new();
    if !plain.is_empty() {
        let list: Vec<String> = plain.iter().map(|s| format!("'{}'", s.as_str())).collect();
        conditions.push(format!("state IN ({})", list.join(", ")));
    }
    if f.from.contains(DeliveryState::Forwarded) {
        conditions.push(format!(
            "(state = 'forwarded' AND NOT EXISTS (SELECT 1 FROM forwardings f \
             WHERE f.original_delivery_id = $2 AND (f.placed_delivery_id IS NOT NULL OR EXISTS \
             (SELECT 1 FROM deliveries c WHERE c.tracking_id = f.tracking_id AND c.state IN {OPEN}))))"
        ));
    }
    if conditions.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "UPDATE deliveries SET state = 'forwarded', leased_until = NULL, updated_at = $1, \
         delivered_at = CASE WHEN state = 'queued' THEN $1 ELSE delivered_at END \
         WHERE delivery_id = $2 AND ({})",
        conditions.join(" OR ")
    );
    let done = sqlx::query(&sql).bind(at.as_i64()).bind(f.original_delivery_id.as_str()).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the link of forwarded message `tracking_id`, and the original sender's receipt.
pub(super) async fn insert(
    tx: &mut Transaction<'_, Any>,
    tracking_id: &TrackingId,
    f: &NewForwarding,
    at: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO forwardings (tracking_id, original_tracking_id, original_delivery_id, mode, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tracking_id.as_str())
    .bind(f.original_tracking_id.as_str())
    .bind(f.original_delivery_id.as_str())
    .bind(f.mode.as_str())
    .bind(at.as_i64())
    .execute(&mut **tx)
    .await?;
    if let Some(receipt) = &f.receipt {
        super::outbox::insert_receipt(tx, receipt, at).await?;
    }
    Ok(())
}

/// Records `delivery` as the placement of `p.forwarded` if nobody was placed yet and the delivery is
/// still waiting for its answer (or, forwarded on, for its chain's). `false`: another candidate was first (or this one moved on).
pub(super) async fn claim_placement(
    tx: &mut Transaction<'_, Any>,
    p: &Placement,
    delivery: &DeliveryId,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE forwardings SET placed_delivery_id = $1 WHERE tracking_id = $2 AND placed_delivery_id IS NULL \
         AND EXISTS (SELECT 1 FROM deliveries WHERE delivery_id = $1 AND state IN ('queued', 'delivered', 'forwarded'))",
    )
    .bind(delivery.as_str())
    .bind(p.forwarded.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether every candidate of `forwarded` has ended with nobody placed.
pub(super) async fn nobody_left(tx: &mut Transaction<'_, Any>, forwarded: &TrackingId) -> Result<bool, StoreError> {
    let sql = "SELECT COUNT(*) AS n FROM deliveries WHERE tracking_id = $1 \
         AND state IN ('queued', 'delivered', 'forwarded', 'accepted-by-receiver')";
    let row = sqlx::query(sql).bind(forwarded.as_str()).fetch_one(&mut **tx).await?;
    Ok(row.try_get::<i64, _>("n")? == 0)
}

const COLUMNS: &str = "f.tracking_id, f.original_tracking_id, f.original_delivery_id, m.sender_org AS forwarder, \
     f.mode, f.placed_delivery_id, f.created_at";

fn record(row: &AnyRow) -> Result<ForwardingRecord, StoreError> {
    let mode: String = row.try_get("mode")?;
    Ok(ForwardingRecord {
        tracking_id: id(row, "tracking_id")?,
        original_tracking_id: id(row, "original_tracking_id")?,
        original_delivery_id: id(row, "original_delivery_id")?,
        forwarder: id(row, "forwarder")?,
        mode: mode.parse().map_err(|m| StoreError::Corrupt(format!("unknown forwarding mode {m:?}")))?,
        placed_delivery_id: id_opt(row, "placed_delivery_id")?,
        created_at: Millis::from_i64(row.try_get("created_at")?),
    })
}

/// Which delivery to the caller a forwarding passes on.
#[derive(Debug, Clone, Copy)]
pub enum Received<'a> {
    /// A mailbox item, by its id.
    Item(&'a DeliveryId),
    /// A message pushed to (or acknowledged by) the caller, by its tracking id.
    Message(&'a TrackingId),
}

impl Store {
    /// The delivery to `org` named by `received`, with its message's facts and stored bytes (`None`
    /// once purged); `None` when there is no such delivery to `org`.
    pub async fn received(
        &self,
        org: &OrgId,
        received: Received<'_>,
    ) -> Result<Option<(DeliveryContext, Option<Vec<u8>>)>, StoreError> {
        let (column, key) = match received {
            Received::Item(id) => ("d.delivery_id", id.as_str()),
            Received::Message(id) => ("d.tracking_id", id.as_str()),
        };
        let sql = format!(
            "SELECT {CONTEXT_COLUMNS}, m.payload FROM deliveries d JOIN messages m ON m.tracking_id = d.tracking_id \
             WHERE {column} = $1 AND d.receiver_org = $2"
        );
        let row = sqlx::query(&sql).bind(key).bind(org.as_str()).fetch_optional(&self.pool).await?;
        row.map(|row| Ok((context_from_row(&row)?, super::packed::column_opt(&row, "payload")?))).transpose()
    }

    /// The forwarding that forwarded message `tracking_id` is, if it is one.
    pub async fn forwarding(&self, tracking_id: &TrackingId) -> Result<Option<ForwardingRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM forwardings f JOIN messages m ON m.tracking_id = f.tracking_id \
             WHERE f.tracking_id = $1"
        );
        let row = sqlx::query(&sql).bind(tracking_id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(record).transpose()
    }

    /// The forwardings of message `original`, oldest first.
    pub async fn forwardings_of(&self, original: &TrackingId) -> Result<Vec<ForwardingRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM forwardings f JOIN messages m ON m.tracking_id = f.tracking_id \
             WHERE f.original_tracking_id = $1 ORDER BY f.created_at, f.tracking_id"
        );
        let rows = sqlx::query(&sql).bind(original.as_str()).fetch_all(&self.pool).await?;
        rows.iter().map(record).collect()
    }

    /// The acknowledgement stored with message `tracking_id` (an idempotent `$forward` replays it).
    pub async fn acknowledgement(&self, tracking_id: &TrackingId) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT ack FROM messages WHERE tracking_id = $1")
            .bind(tracking_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| super::packed::column(&row, "ack")).transpose()
    }
}
