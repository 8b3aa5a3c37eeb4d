//! The mailbox: what waits for an organisation that pulls. Not a table of its own: the queued rows of
//! both outboxes addressed to it (handovers in `deliveries`, receipts in `receipts`), oldest first.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::outbox::Outbox;
use super::row::{self, id};
use super::{Store, StoreError};
use crate::model::{DeliveryId, DeliveryState, EventCode, OrgId, TrackingId};
use crate::time::Millis;

/// A position in a mailbox listing: after (created_at, id). Ids are unique, so no two items share a
/// position and a pass over the pages never lists an item twice. `created_at` is taken just before the
/// commit, so an item committed a moment after a page was read may sort just before that page's end:
/// such an item is not lost, only listed by the next pass (clients that acknowledge start each pass
/// from the first page, as `mailbox pull` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: Millis,
    pub id: DeliveryId,
}

/// One waiting message.
#[derive(Debug, Clone)]
pub struct MailboxItem {
    pub outbox: Outbox,
    /// The delivery or receipt id: the mailbox's name for it.
    pub id: DeliveryId,
    pub tracking_id: TrackingId,
    pub created_at: Millis,
    pub event_code: EventCode,
    /// The exact bytes (`None` once purged).
    pub payload: Option<Vec<u8>>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct MailboxQuery {
    pub after: Option<Cursor>,
    /// Only items that arrived at or after this time.
    pub since: Option<Millis>,
    /// Only this handover kind (event code).
    pub event: Option<EventCode>,
    pub limit: usize,
}

fn item_from_row(outbox: Outbox, row: &AnyRow) -> Result<MailboxItem, StoreError> {
    Ok(MailboxItem {
        outbox,
        id: id(row, "id")?,
        tracking_id: id(row, "tracking_id")?,
        created_at: Millis::from_i64(row.try_get("created_at")?),
        event_code: id(row, "event_code")?,
        payload: super::packed::column_opt(row, "payload")?,
    })
}

/// `(table, id column, org column)` of an outbox.
fn columns(outbox: Outbox) -> (&'static str, &'static str, &'static str) {
    (outbox.table(), outbox.id_column(), outbox.org_column())
}

impl Store {
    /// The XML form of a message, if it has one (and its payload is not purged).
    pub async fn payload_xml(&self, tracking_id: &TrackingId) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT payload_xml FROM messages WHERE tracking_id = $1")
            .bind(tracking_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => super::packed::column_opt(&row, "payload_xml")?,
            None => None,
        })
    }

    /// A page of `org`'s mailbox, oldest first: handovers and receipts merged. Each outbox is read
    /// along its index `(org, state, created_at, id)`, at most `limit` rows, so a page costs the same
    /// in a mailbox of a hundred or of a hundred thousand. Both outboxes are read by one statement
    /// (each statement is a round trip to SQLite's worker thread).
    pub async fn mailbox_page(&self, org: &OrgId, query: &MailboxQuery) -> Result<Vec<MailboxItem>, StoreError> {
        // The same numbered parameters serve both halves (SQLite and PostgreSQL both allow it).
        let mut n = 1;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        let (after, since, event) = (
            query.after.as_ref().map(|_| (param(), param())),
            query.since.map(|_| param()),
            query.event.as_ref().map(|_| param()),
        );
        let limit = param();
        let half = |outbox: Outbox| {
            let (table, id, org_column) = columns(outbox);
            let payload = match outbox {
                Outbox::Deliveries => "m.payload",
                Outbox::Receipts => "q.payload",
            };
            let mut sql = format!(
                "SELECT '{kind}' AS outbox, q.{id} AS id, q.tracking_id, q.created_at, m.event_code, {payload} AS payload \
                 FROM {table} q JOIN messages m ON m.tracking_id = q.tracking_id \
                 WHERE q.{org_column} = $1 AND q.state = 'queued'",
                kind = outbox.table(),
            );
            if let Some((at, last)) = &after {
                sql.push_str(&format!(" AND (q.created_at > {at} OR (q.created_at = {at} AND q.{id} > {last}))"));
            }
            if let Some(since) = &since {
                sql.push_str(&format!(" AND q.created_at >= {since}"));
            }
            if let Some(event) = &event {
                sql.push_str(&format!(" AND m.event_code = {event}"));
            }
            sql.push_str(&format!(" ORDER BY q.created_at, q.{id} LIMIT {limit}"));
            sql
        };
        let sql = format!(
            "SELECT * FROM ({}) AS handovers UNION ALL SELECT * FROM ({}) AS receipts ORDER BY created_at, id LIMIT {limit}",
            half(Outbox::Deliveries),
            half(Outbox::Receipts)
        );
        let mut q = sqlx::query(&sql).bind(org.as_str());
        if let Some(after) = &query.after {
            q = q.bind(after.created_at.as_i64()).bind(after.id.as_str());
        }
        if let Some(since) = query.since {
            q = q.bind(since.as_i64());
        }
        if let Some(event) = &query.event {
            q = q.bind(event.as_str());
        }
        let rows = q.bind(query.limit as i64).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("outbox")?;
                let outbox = [Outbox::Deliveries, Outbox::Receipts]
                    .into_iter()
                    .find(|outbox| outbox.table() == name)
                    .ok_or_else(|| StoreError::Corrupt(format!("a mailbox row from outbox {name:?}")))?;
                item_from_row(outbox, row)
            })
            .collect()
    }

    /// How many messages wait for `org` (with the same filters as a listing, without the cursor); with
    /// `up_to`, `None` when more than that wait: each outbox's index is then read for at most
    /// `up_to + 1` rows instead of all of them. One statement counts both outboxes.
    pub async fn mailbox_count(
        &self,
        org: &OrgId,
        query: &MailboxQuery,
        up_to: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        let mut n = 1;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        let (since, event) = (query.since.map(|_| param()), query.event.as_ref().map(|_| param()));
        let half = |outbox: Outbox| {
            let (table, _, org_column) = columns(outbox);
            // Without an event filter the count is read from the mailbox index alone.
            let join = if event.is_some() { "JOIN messages m ON m.tracking_id = q.tracking_id" } else { "" };
            let mut sql = format!("SELECT 1 FROM {table} q {join} WHERE q.{org_column} = $1 AND q.state = 'queued'");
            if let Some(since) = &since {
                sql.push_str(&format!(" AND q.created_at >= {since}"));
            }
            if let Some(event) = &event {
                sql.push_str(&format!(" AND m.event_code = {event}"));
            }
            if let Some(up_to) = up_to {
                sql.push_str(&format!(" LIMIT {}", up_to.saturating_add(1)));
            }
            format!("(SELECT COUNT(*) FROM ({sql}) AS waiting)")
        };
        let sql = format!("SELECT {} + {} AS n", half(Outbox::Deliveries), half(Outbox::Receipts));
        let mut q = sqlx::query(&sql).bind(org.as_str());
        if let Some(since) = query.since {
            q = q.bind(since.as_i64());
        }
        if let Some(event) = &query.event {
            q = q.bind(event.as_str());
        }
        let total: i64 = q.fetch_one(&self.pool).await?.try_get("n")?;
        Ok(match up_to {
            Some(up_to) if total > up_to => None,
            _ => Some(total),
        })
    }

    /// One item addressed to `org`, in whatever state (`None` if it is not addressed to `org`).
    /// Returns the item and its state.
    pub async fn mailbox_item(
        &self,
        org: &OrgId,
        id: &DeliveryId,
    ) -> Result<Option<(MailboxItem, DeliveryState)>, StoreError> {
        for outbox in [Outbox::Deliveries, Outbox::Receipts] {
            let (table, id_column, org_column) = columns(outbox);
            let payload = match outbox {
                Outbox::Deliveries => "m.payload",
                Outbox::Receipts => "q.payload",
            };
            let sql = format!(
                "SELECT q.{id_column} AS id, q.tracking_id, q.created_at, m.event_code, {payload} AS payload, q.state \
                 FROM {table} q JOIN messages m ON m.tracking_id = q.tracking_id \
                 WHERE q.{id_column} = $1 AND q.{org_column} = $2"
            );
            if let Some(row) = sqlx::query(&sql).bind(id.as_str()).bind(org.as_str()).fetch_optional(&self.pool).await?
            {
                return Ok(Some((item_from_row(outbox, &row)?, row::delivery_state(&row, "state")?)));
            }
        }
        Ok(None)
    }
}

impl Store {
    /// Who an outbox row (delivery or receipt) is addressed to, and its message, whoever asks: for the
    /// ledger entry of a refused read. `None` if no such row exists.
    pub async fn outbox_addressee(&self, id: &DeliveryId) -> Result<Option<(OrgId, TrackingId)>, StoreError> {
        for outbox in [Outbox::Deliveries, Outbox::Receipts] {
            let (table, id_column, org_column) = columns(outbox);
            let sql = format!("SELECT {org_column} AS org, tracking_id FROM {table} WHERE {id_column} = $1");
            if let Some(row) = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await? {
                return Ok(Some((row::id(&row, "org")?, row::id(&row, "tracking_id")?)));
            }
        }
        Ok(None)
    }
}
