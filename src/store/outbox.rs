//! The two outboxes the push workers drain: deliveries of handovers to receivers, and receipts to
//! senders. Both are queues in the database with leases (claimed rows are reserved until their lease
//! runs out, so a crashed worker's rows come back) and a time to live.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::forwarding::{self, Placement, Unplaced};
use super::row::{self, id};
use super::tasks::{self, TaskWrite};
use super::{Backend, Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::{
    DeliveryId, DeliveryState, EventCode, Format, HeaderId, OrgId, Priority, ReceiptKind, StateSet, TrackingId,
};
use crate::time::Millis;

/// Which queue a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outbox {
    /// `deliveries`: a handover for a receiver.
    Deliveries,
    /// `receipts`: a receipt for a sender.
    Receipts,
}

impl Outbox {
    pub(super) fn table(self) -> &'static str {
        match self {
            Self::Deliveries => "deliveries",
            Self::Receipts => "receipts",
        }
    }
    pub(super) fn id_column(self) -> &'static str {
        match self {
            Self::Deliveries => "delivery_id",
            Self::Receipts => "receipt_id",
        }
    }
    pub(super) fn org_column(self) -> &'static str {
        match self {
            Self::Deliveries => "receiver_org",
            Self::Receipts => "recipient_org",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deliveries => "handover",
            Self::Receipts => "receipt",
        }
    }
}

/// A queued row, claimed by a worker (or found expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub outbox: Outbox,
    pub id: DeliveryId,
    pub tracking_id: TrackingId,
    /// The organisation it goes to.
    pub org: OrgId,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: Millis,
}

/// A request to claim due rows (see [`Store::claim_due`]).
#[derive(Debug, Clone)]
pub struct Claim {
    pub outbox: Outbox,
    pub org: OrgId,
    pub now: Millis,
    pub lease_until: Millis,
    pub limit: usize,
}

/// Claims inside the writer's transaction. On PostgreSQL the candidates are locked with `SKIP LOCKED`
/// ([`Backend::claim_lock`]), so broker nodes claiming at once take different rows; the outer
/// condition re-checks the lease, so a row is never claimed twice (and a later step of the same claim
/// never takes a row an earlier one leased).
///
/// Handovers are claimed in three steps, each a range of the index `deliveries_claim`: the urgent
/// ones (by the request's priority, most urgent first), then of the rest half the room for the newest
/// due and the remainder for the oldest due. A receiver back from an outage so gets its backlog from
/// the oldest end while what arrives meanwhile goes out at once, instead of waiting behind the
/// backlog. Receipts are claimed oldest first.
pub(super) async fn claim(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    claim: &Claim,
) -> Result<Vec<Claimed>, StoreError> {
    if claim.outbox == Outbox::Receipts {
        return claim_ordered(tx, backend, claim, "", "next_attempt_at", claim.limit).await;
    }
    let routine = Priority::Routine.claim_rank();
    let mut rows = claim_ordered(
        tx,
        backend,
        claim,
        &format!(" AND urgency < {routine}"),
        "urgency, next_attempt_at",
        claim.limit,
    )
    .await?;
    let room = claim.limit.saturating_sub(rows.len());
    let newest = room - room / 2;
    let routine_only = format!(" AND urgency = {routine}");
    if newest > 0 {
        rows.extend(claim_ordered(tx, backend, claim, &routine_only, "next_attempt_at DESC", newest).await?);
    }
    let oldest = claim.limit.saturating_sub(rows.len());
    if oldest > 0 {
        rows.extend(claim_ordered(tx, backend, claim, &routine_only, "next_attempt_at", oldest).await?);
    }
    Ok(rows)
}

/// One claim statement: up to `limit` due rows of `claim`'s organisation matching `only` (an extra
/// condition, from the code, never from input), in `order`.
async fn claim_ordered(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    claim: &Claim,
    only: &str,
    order: &str,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let outbox = claim.outbox;
    let (table, id, org_column) = (outbox.table(), outbox.id_column(), outbox.org_column());
    let lock = backend.claim_lock();
    // The candidates are picked once, in a materialised CTE: as a plain `IN (subquery)` PostgreSQL may
    // evaluate the subquery again for each row it updates, and each evaluation, seeing the rows
    // already leased as taken, picks others: a claim of 3 then took 7.
    let sql = format!(
        "WITH picked AS MATERIALIZED (SELECT {id} FROM {table} \
             WHERE {org_column} = $3 AND state = 'queued' AND next_attempt_at <= $2 AND expires_at > $2 \
             AND (leased_until IS NULL OR leased_until <= $2){only} \
             ORDER BY {order} LIMIT $4{lock}) \
         UPDATE {table} SET leased_until = $1, attempts = attempts + 1, updated_at = $2 \
         WHERE {id} IN (SELECT {id} FROM picked) \
         AND state = 'queued' AND (leased_until IS NULL OR leased_until <= $2) \
         RETURNING {id} AS id, tracking_id, {org_column} AS org, attempts, \
             created_at"
    );
    let rows = sqlx::query(&sql)
        .bind(claim.lease_until.as_i64())
        .bind(claim.now.as_i64())
        .bind(claim.org.as_str())
        .bind(limit as i64)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|row| claimed_from_row(outbox, row)).collect()
}

/// Leases to extend: rows of one outbox that a broker node still holds (waiting for their turn or
/// being pushed), so that only a node that died lets its rows go, and soon (see `delivery::push`).
#[derive(Debug, Clone)]
pub struct Renewal {
    pub outbox: Outbox,
    pub ids: Vec<DeliveryId>,
    pub now: Millis,
    pub lease_until: Millis,
}

/// Rows renewed per statement.
const RENEWED_PER_STATEMENT: usize = 500;

/// Extends the leases of `renewal`'s rows that are still queued and still leased: a lease that ran out
/// may be another node's by now, and a settled row needs none. Returns how many were extended.
pub(super) async fn renew(tx: &mut Transaction<'_, Any>, renewal: &Renewal) -> Result<usize, StoreError> {
    let (table, id) = (renewal.outbox.table(), renewal.outbox.id_column());
    let mut renewed = 0;
    for chunk in renewal.ids.chunks(RENEWED_PER_STATEMENT) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE {table} SET leased_until = $1 WHERE leased_until > $2 AND state = 'queued' AND {id} IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(renewal.lease_until.as_i64()).bind(renewal.now.as_i64());
        for row in chunk {
            query = query.bind(row.as_str());
        }
        renewed += usize::try_from(query.execute(&mut **tx).await?.rows_affected()).unwrap_or(usize::MAX);
    }
    Ok(renewed)
}

/// What is pushed: the exact stored bytes and the message id a receiver deduplicates on.
#[derive(Debug, Clone)]
pub struct Parcel {
    pub header_id: HeaderId,
    /// The organisation that sent it, as the broker authenticated it (`None` for a receipt: the
    /// broker's own message).
    pub sender_org: Option<OrgId>,
    /// The JSON form (a handover as received or converted from XML; a receipt).
    pub payload: Vec<u8>,
    /// The XML form of a handover, if it has one (received as XML, or converted at ingest).
    pub payload_xml: Option<Vec<u8>>,
    pub received_format: Format,
    /// Hex SHA-256 of the bytes received, when stored (handovers; the ledger has it from acceptance).
    pub sha256: Option<String>,
}

impl Parcel {
    /// The stored bytes in `format`, with their SHA-256 when they are the bytes received; `Err` with
    /// the JSON when no XML is stored (a receipt), for the caller to convert.
    pub fn in_format(self, format: Format) -> Result<(Vec<u8>, Option<String>), Vec<u8>> {
        let sha256 = self.sha256.filter(|_| format == self.received_format);
        match (format, self.payload_xml) {
            (Format::Json, _) => Ok((self.payload, sha256)),
            (Format::Xml, Some(xml)) => Ok((xml, sha256)),
            (Format::Xml, None) => Err(self.payload),
        }
    }
}

/// How a settlement changes its row.
#[derive(Debug, Clone)]
pub enum Change {
    /// Try again at `next_attempt_at`.
    Retry { next_attempt_at: Millis, error: String },
    /// Give a claimed row back untried: lease dropped, its claimed attempt not counted.
    Release,
    /// Move to `to`, provided the row is in one of `to.sources()` (a guard: the state machine decides,
    /// and a concurrent change, e.g. a business response overtaking the push's answer, wins).
    Finish { to: DeliveryState, error: Option<String> },
    /// A Notified Pull receiver took the notification (2xx): the row stays `queued` (it is delivered
    /// when the receiver fetches), its lease is dropped and it is not due again before its time to
    /// live ends, when the expiry sweep takes it.
    Notified,
    /// No move: the row must still be in one of `states` (a Task update that leaves the delivery where
    /// it is, guarded like a move).
    Hold { states: StateSet },
}

/// A receipt to queue for a sender.
#[derive(Debug, Clone)]
pub struct NewReceipt {
    pub receipt_id: DeliveryId,
    pub tracking_id: TrackingId,
    /// The delivery it reports on.
    pub delivery_id: DeliveryId,
    pub recipient_org: OrgId,
    /// The delivery state (or `overdue`) it reports; one receipt per (delivery, kind).
    pub kind: ReceiptKind,
    pub header_id: HeaderId,
    pub payload: Vec<u8>,
    pub expires_at: Millis,
}

/// One change to one outbox row, with what the change entails, applied atomically.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub outbox: Outbox,
    pub id: DeliveryId,
    pub at: Millis,
    pub change: Change,
    /// Written only if the change applies.
    pub ledger: Vec<LedgerRecord>,
    /// Queued only if the change applies.
    pub receipt: Option<NewReceipt>,
    /// An acceptance of a forwarded message's delivery: the placement it decides.
    pub placement: Option<Box<Placement>>,
    /// A refusal (or failure) of a forwarded message's delivery: what follows if it was the last.
    pub unplaced: Option<Box<Unplaced>>,
    /// A Notified Pull receiver's Task update that the change carries out: it applies only with the
    /// change, and only if the Task is still at the version it was decided on.
    pub task: Option<Box<TaskWrite>>,
}

impl Settlement {
    /// A change of one row with its ledger entries and receipt, and nothing else.
    pub fn new(
        outbox: Outbox,
        id: DeliveryId,
        at: Millis,
        change: Change,
        ledger: Vec<LedgerRecord>,
        receipt: Option<NewReceipt>,
    ) -> Self {
        Self { outbox, id, at, change, ledger, receipt, placement: None, unplaced: None, task: None }
    }
}

/// What a receipt about one delivery needs to know.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub delivery_id: DeliveryId,
    pub tracking_id: TrackingId,
    pub state: DeliveryState,
    /// `MessageHeader.id` of the original message.
    pub header_id: HeaderId,
    pub sender_org: OrgId,
    pub event_system: String,
    pub event_code: EventCode,
    pub receiver_org: OrgId,
    pub receiver_system: String,
    pub receiver_value: String,
    pub want_infack: bool,
    pub want_busack: bool,
}

pub(super) const CONTEXT_COLUMNS: &str =
    "d.delivery_id, d.tracking_id, d.state, m.header_id, m.sender_org, m.event_system, \
     m.event_code, d.receiver_org, d.receiver_system, d.receiver_value, m.want_infack, m.want_busack";

pub(super) fn context_from_row(row: &AnyRow) -> Result<DeliveryContext, StoreError> {
    Ok(DeliveryContext {
        delivery_id: id(row, "delivery_id")?,
        tracking_id: id(row, "tracking_id")?,
        state: row::delivery_state(row, "state")?,
        header_id: id(row, "header_id")?,
        sender_org: id(row, "sender_org")?,
        event_system: row.try_get("event_system")?,
        event_code: id(row, "event_code")?,
        receiver_org: id(row, "receiver_org")?,
        receiver_system: row.try_get("receiver_system")?,
        receiver_value: row.try_get("receiver_value")?,
        want_infack: row.try_get::<i64, _>("want_infack")? != 0,
        want_busack: row.try_get::<i64, _>("want_busack")? != 0,
    })
}

fn claimed_from_row(outbox: Outbox, row: &AnyRow) -> Result<Claimed, StoreError> {
    Ok(Claimed {
        outbox,
        id: id(row, "id")?,
        tracking_id: id(row, "tracking_id")?,
        org: id(row, "org")?,
        attempts: row.try_get("attempts")?,
        created_at: Millis::from_i64(row.try_get("created_at")?),
    })
}

impl Store {
    /// Whether `org` has a row of `outbox` due now (one probe of the claim index).
    pub async fn has_due(&self, outbox: Outbox, org: &OrgId, now: Millis) -> Result<bool, StoreError> {
        let (table, org_column) = (outbox.table(), outbox.org_column());
        let sql = format!(
            "SELECT 1 AS due FROM {table} WHERE {org_column} = $1 AND state = 'queued' AND next_attempt_at <= $2 \
             AND expires_at > $2 AND (leased_until IS NULL OR leased_until <= $2) LIMIT 1"
        );
        Ok(sqlx::query(&sql).bind(org.as_str()).bind(now.as_i64()).fetch_optional(&self.pool).await?.is_some())
    }

    /// Claims up to `limit` due rows of `outbox` for organisation `org`, oldest due first; each is
    /// leased until `lease_until` and its attempt counted. Through the writer: on SQLite a claim then
    /// shares the group commit (no fsync of its own, no wait for the write lock).
    pub async fn claim_due(
        &self,
        outbox: Outbox,
        org: &OrgId,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.writer.claim(Claim { outbox, org: org.clone(), now, lease_until, limit }).await
    }

    /// Extends the leases of rows this node still holds (see [`Renewal`]); through the writer, like a
    /// claim. Returns how many were extended.
    pub async fn renew_leases(&self, renewal: Renewal) -> Result<usize, StoreError> {
        if renewal.ids.is_empty() {
            return Ok(0);
        }
        self.writer.renew(renewal).await
    }

    /// Queued rows of either outbox whose time to live has passed (and that no worker holds).
    pub async fn expired_due(&self, outbox: Outbox, now: Millis, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        let (table, id, org) = (outbox.table(), outbox.id_column(), outbox.org_column());
        let sql = format!(
            "SELECT {id} AS id, tracking_id, {org} AS org, attempts, \
             created_at FROM {table} \
             WHERE state = 'queued' AND expires_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
             ORDER BY expires_at LIMIT $2"
        );
        let rows = sqlx::query(&sql).bind(now.as_i64()).bind(limit as i64).fetch_all(&self.pool).await?;
        rows.iter().map(|row| claimed_from_row(outbox, row)).collect()
    }

    /// The bytes to push for a claimed row (`None` if the payload was purged).
    pub async fn parcel(&self, claimed: &Claimed) -> Result<Option<Parcel>, StoreError> {
        let row = match claimed.outbox {
            Outbox::Deliveries => {
                sqlx::query(
                    "SELECT header_id, payload, payload_sha256, sender_org, payload_xml, received_format \
                     FROM messages WHERE tracking_id = $1",
                )
                .bind(claimed.tracking_id.as_str())
                .fetch_optional(&self.pool)
                .await?
            }
            Outbox::Receipts => {
                sqlx::query(
                    "SELECT header_id, payload, NULL AS payload_sha256, NULL AS sender_org FROM receipts \
                     WHERE receipt_id = $1",
                )
                .bind(claimed.id.as_str())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        let Some(row) = row else { return Ok(None) };
        let payload = super::packed::column_opt(&row, "payload")?;
        let header_id: HeaderId = id(&row, "header_id")?;
        let sha256: Option<String> = row.try_get("payload_sha256").ok().flatten();
        let sender_org = row::id_opt(&row, "sender_org").ok().flatten();
        // Receipts are the broker's own JSON.
        let (payload_xml, received_format) = match claimed.outbox {
            Outbox::Receipts => (None, Format::Json),
            Outbox::Deliveries => {
                let format: String = row.try_get("received_format")?;
                let received_format = Format::from_stored(&format).ok_or_else(|| {
                    StoreError::Corrupt(format!("message {} has format {format}", claimed.tracking_id))
                })?;
                (super::packed::column_opt(&row, "payload_xml")?, received_format)
            }
        };
        Ok(payload.map(|payload| Parcel { header_id, sender_org, payload, payload_xml, received_format, sha256 }))
    }

    /// A delivery with its message's facts, for receipts.
    pub async fn delivery_context(&self, delivery_id: &DeliveryId) -> Result<Option<DeliveryContext>, StoreError> {
        let sql = format!(
            "SELECT {CONTEXT_COLUMNS} FROM deliveries d JOIN messages m ON m.tracking_id = d.tracking_id \
             WHERE d.delivery_id = $1"
        );
        let row = sqlx::query(&sql).bind(delivery_id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(context_from_row).transpose()
    }

    /// The deliveries to `receiver_org` of messages whose `MessageHeader.id` is `header_id`: what a
    /// business response may answer. More than one when several senders used the same id (ids are
    /// unique per sender only); newest first, at most `limit`.
    pub async fn deliveries_answered(
        &self,
        header_id: &HeaderId,
        receiver_org: &OrgId,
        limit: usize,
    ) -> Result<Vec<DeliveryContext>, StoreError> {
        let sql = format!(
            "SELECT {CONTEXT_COLUMNS} FROM deliveries d JOIN messages m ON m.tracking_id = d.tracking_id \
             WHERE m.header_id = $1 AND d.receiver_org = $2 ORDER BY m.received_at DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(header_id.as_str())
            .bind(receiver_org.as_str())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(context_from_row).collect()
    }

    /// Rows of an outbox by state (for `/metrics`).
    pub async fn outbox_states(&self, outbox: Outbox) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!("SELECT state, COUNT(*) AS n FROM {} GROUP BY state ORDER BY state", outbox.table());
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("state")?, row.try_get("n")?))).collect()
    }

    /// Queued rows per organisation (for `/metrics`).
    pub async fn queue_depths(&self, outbox: Outbox) -> Result<Vec<(String, i64)>, StoreError> {
        let org = outbox.org_column();
        let sql = format!(
            "SELECT {org} AS org, COUNT(*) AS n FROM {} WHERE state = 'queued' GROUP BY {org} ORDER BY {org}",
            outbox.table()
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("org")?, row.try_get("n")?))).collect()
    }
}

/// Applies settlements inside the writer's transaction; `true` for each whose change applied, and the
/// ledger entries of those that did (for the writer to append).
pub(super) async fn apply_settlements<'s>(
    tx: &mut Transaction<'_, Any>,
    settlements: &'s [Settlement],
) -> Result<(Vec<bool>, Vec<&'s LedgerRecord>), StoreError> {
    let mut applied = Vec::with_capacity(settlements.len());
    let mut ledger = Vec::new();
    for s in settlements {
        applied.push(apply_one(tx, s, &mut ledger).await?);
    }
    Ok((applied, ledger))
}

/// One settlement, with the placement or the end of a forwarding it decides.
async fn apply_one<'s>(
    tx: &mut Transaction<'_, Any>,
    s: &'s Settlement,
    ledger: &mut Vec<&'s LedgerRecord>,
) -> Result<bool, StoreError> {
    let placed = match &s.placement {
        Some(placement) => forwarding::claim_placement(tx, placement, &s.id).await?,
        None => false,
    };
    if s.placement.as_ref().is_some_and(|p| p.exclusive) && !placed {
        // First-accept, and another candidate was first: this acceptance does not apply.
        return Ok(false);
    }
    if let Some(task) = &s.task {
        if !tasks::still_at(tx, task).await? {
            return Ok(false);
        }
    }
    if !change_row(tx, s).await? {
        return Ok(false);
    }
    if let Some(task) = &s.task {
        tasks::write(tx, task).await?;
    }
    ledger.extend(s.ledger.iter());
    let mut receipt = s.receipt.as_ref();
    if let Some(unplaced) = &s.unplaced {
        if forwarding::nobody_left(tx, &unplaced.forwarded).await? {
            ledger.extend(unplaced.ledger.iter());
            receipt = unplaced.receipt.as_ref().or(receipt);
            if let Some(original) = &unplaced.original {
                apply_plain(tx, original, ledger).await?;
            }
        }
    }
    if let Some(receipt) = receipt {
        insert_receipt(tx, receipt, s.at).await?;
    }
    if let (true, Some(placement)) = (placed, &s.placement) {
        // The other candidates' withdrawals and the original's answer; each is guarded by its own
        // state (a candidate that declined meanwhile is not withdrawn).
        for then in &placement.then {
            // A link further up a chain decides its own placement (recursion bounded by the chain's
            // length, see `delivery::settle::MAX_CHAIN`).
            Box::pin(apply_one(tx, then, ledger)).await?;
        }
    }
    Ok(true)
}

/// A settlement that follows another (a withdrawal, the original's answer): its row change, guarded by
/// its own state, with its ledger entries and receipt if it applied.
async fn apply_plain<'s>(
    tx: &mut Transaction<'_, Any>,
    s: &'s Settlement,
    ledger: &mut Vec<&'s LedgerRecord>,
) -> Result<bool, StoreError> {
    if !change_row(tx, s).await? {
        return Ok(false);
    }
    ledger.extend(s.ledger.iter());
    if let Some(receipt) = &s.receipt {
        insert_receipt(tx, receipt, s.at).await?;
    }
    Ok(true)
}

/// The row change of a settlement; `true` if it applied.
async fn change_row(tx: &mut Transaction<'_, Any>, s: &Settlement) -> Result<bool, StoreError> {
    let (table, id) = (s.outbox.table(), s.outbox.id_column());
    let result = match &s.change {
        Change::Retry { next_attempt_at, error } => {
            let sql = format!(
                "UPDATE {table} SET next_attempt_at = $1, leased_until = NULL, last_error = $2, updated_at = $3 \
                 WHERE {id} = $4 AND state = 'queued'"
            );
            sqlx::query(&sql)
                .bind(next_attempt_at.as_i64())
                .bind(error)
                .bind(s.at.as_i64())
                .bind(s.id.as_str())
                .execute(&mut **tx)
                .await?
        }
        Change::Release => {
            let sql = format!(
                "UPDATE {table} SET leased_until = NULL, attempts = attempts - 1, updated_at = $1 \
                 WHERE {id} = $2 AND state = 'queued'"
            );
            sqlx::query(&sql).bind(s.at.as_i64()).bind(s.id.as_str()).execute(&mut **tx).await?
        }
        Change::Notified => {
            let sql = format!(
                "UPDATE {table} SET next_attempt_at = expires_at, leased_until = NULL, last_error = NULL, \
                 updated_at = $1 WHERE {id} = $2 AND state = 'queued'"
            );
            sqlx::query(&sql).bind(s.at.as_i64()).bind(s.id.as_str()).execute(&mut **tx).await?
        }
        Change::Hold { states } => {
            let guard: Vec<String> = states.iter().enumerate().map(|(n, _)| format!("${}", n + 3)).collect();
            if guard.is_empty() {
                return Ok(false);
            }
            let sql = format!("UPDATE {table} SET updated_at = $1 WHERE {id} = $2 AND state IN ({})", guard.join(", "));
            let mut query = sqlx::query(&sql).bind(s.at.as_i64()).bind(s.id.as_str());
            for state in states.iter() {
                query = query.bind(state.as_str());
            }
            query.execute(&mut **tx).await?
        }
        Change::Finish { to, error } => {
            let from: StateSet = to.sources();
            let guard: Vec<String> = from.iter().enumerate().map(|(n, _)| format!("${}", n + 6)).collect();
            let sql = format!(
                "UPDATE {table} SET state = $1, leased_until = NULL, last_error = $2, updated_at = $3, \
                 delivered_at = CASE WHEN $4 > 0 THEN $4 ELSE delivered_at END \
                 WHERE {id} = $5 AND state IN ({})",
                guard.join(", ")
            );
            // Only a push's 2xx or a mailbox acknowledgement delivers; a business response proves
            // receipt but does not say when.
            let delivered_at = if *to == DeliveryState::Delivered { s.at.as_i64() } else { 0 };
            let mut query = sqlx::query(&sql)
                .bind(to.as_str())
                .bind(error.as_deref())
                .bind(s.at.as_i64())
                .bind(delivered_at)
                .bind(s.id.as_str());
            for state in from.iter() {
                query = query.bind(state.as_str());
            }
            query.execute(&mut **tx).await?
        }
    };
    Ok(result.rows_affected() == 1)
}

pub(super) async fn insert_receipt(
    tx: &mut Transaction<'_, Any>,
    r: &NewReceipt,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO receipts (receipt_id, tracking_id, delivery_id, recipient_org, kind, header_id, payload, state, \
         attempts, next_attempt_at, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $10, $11) ON CONFLICT (delivery_id, kind) DO NOTHING",
    )
    .bind(r.receipt_id.as_str())
    .bind(r.tracking_id.as_str())
    .bind(r.delivery_id.as_str())
    .bind(r.recipient_org.as_str())
    .bind(r.kind.as_str())
    .bind(r.header_id.as_str())
    .bind(&r.payload)
    .bind(now.as_i64())
    .bind(r.expires_at.as_i64())
    .bind(now.as_i64())
    .bind(now.as_i64())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
