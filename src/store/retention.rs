//! Payload retention: the bytes of a message are removed once no delivery of it has been queued for the
//! retention period (each was delivered, answered, failed or expired), and the bytes of a receipt once it
//! has left its outbox for as long. The rows (ids, hashes, states, the acknowledgement) and the ledger
//! entries stay; a `purged` entry records each removal.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::row::{id, id_opt};
use super::StoreError;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, TrackingId};
use crate::time::Millis;

/// One round of purging.
#[derive(Debug, Clone, Copy)]
pub struct Purge {
    /// Purge payloads whose last delivery ended (and whose message arrived) at or before this time.
    pub cutoff: Millis,
    /// Most messages, and most receipts, purged in one transaction.
    pub limit: usize,
    /// The time of the `purged` entries.
    pub at: Millis,
}

/// What one round purged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Tracking ids of the messages whose payload was removed.
    pub messages: Vec<TrackingId>,
    /// Ids of the receipts whose payload was removed.
    pub receipts: Vec<DeliveryId>,
}

/// Removes the payloads due (oldest first, at most `purge.limit` messages and as many receipts) in the
/// caller's transaction. Returns what was purged and a `purged` entry for each (for the writer to
/// append).
pub(super) async fn purge(
    tx: &mut Transaction<'_, Any>,
    purge: &Purge,
) -> Result<(Purged, Vec<LedgerRecord>), StoreError> {
    let (messages, mut entries) = purge_messages(tx, purge).await?;
    let (receipts, receipt_entries) = purge_receipts(tx, purge).await?;
    entries.extend(receipt_entries);
    Ok((Purged { messages, receipts }, entries))
}

async fn purge_messages(
    tx: &mut Transaction<'_, Any>,
    purge: &Purge,
) -> Result<(Vec<TrackingId>, Vec<LedgerRecord>), StoreError> {
    // A message cannot have ended before it arrived: `received_at` bounds the scan along the
    // `messages_unpurged` index, and the deliveries are looked up by their tracking id.
    let candidates = sqlx::query(
        "SELECT m.tracking_id, m.header_id, m.sender_org, m.event_code, m.payload_sha256 FROM messages m \
         WHERE m.payload IS NOT NULL AND m.received_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tracking_id = m.tracking_id \
                         AND (d.state = 'queued' OR d.updated_at > $2)) \
         ORDER BY m.received_at LIMIT $3",
    )
    .bind(purge.cutoff.as_i64())
    .bind(purge.cutoff.as_i64())
    .bind(i64::try_from(purge.limit).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?;
    clear_each(
        tx,
        &candidates,
        "tracking_id",
        "UPDATE messages SET payload = NULL, payload_xml = NULL WHERE tracking_id = $1 AND payload IS NOT NULL",
        purge.at,
        |row, entry| {
            Ok(entry
                .tracking(id_opt(row, "tracking_id")?)
                .header(id_opt(row, "header_id")?)
                .sender(id_opt(row, "sender_org")?)
                .event_code(id_opt(row, "event_code")?)
                .payload(id_opt(row, "payload_sha256")?)
                .outcome("payload removed after its retention period"))
        },
    )
    .await
}

/// Receipts are the broker's own response messages, but a business receipt carries the receiver's
/// issues, free text that may name the patient: they are purged by the same period once they have left
/// their outbox (delivered, failed or expired).
async fn purge_receipts(
    tx: &mut Transaction<'_, Any>,
    purge: &Purge,
) -> Result<(Vec<DeliveryId>, Vec<LedgerRecord>), StoreError> {
    let candidates = sqlx::query(
        "SELECT receipt_id, tracking_id, delivery_id, recipient_org, header_id FROM receipts \
         WHERE payload IS NOT NULL AND updated_at <= $1 AND state <> 'queued' ORDER BY updated_at LIMIT $2",
    )
    .bind(purge.cutoff.as_i64())
    .bind(i64::try_from(purge.limit).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?;
    clear_each(
        tx,
        &candidates,
        "receipt_id",
        "UPDATE receipts SET payload = NULL WHERE receipt_id = $1 AND payload IS NOT NULL AND state <> 'queued'",
        purge.at,
        |row, entry| {
            // The receipt's own MessageHeader.id, and the organisation it was addressed to (the sender).
            Ok(entry
                .tracking(id_opt(row, "tracking_id")?)
                .delivery(id_opt(row, "delivery_id")?)
                .header(id_opt(row, "header_id")?)
                .receiver(id_opt(row, "recipient_org")?)
                .outcome("receipt payload removed after its retention period"))
        },
    )
    .await
}

/// Clears the payload of each candidate row with `clear` (guarded, so that when two broker nodes sweep
/// at once only one removes, and records, each) and describes it in a `purged` entry. Returns the ids
/// (`id_column`) cleared and their entries.
async fn clear_each<Id: super::row::IdColumn + std::ops::Deref<Target = str>>(
    tx: &mut Transaction<'_, Any>,
    candidates: &[AnyRow],
    id_column: &str,
    clear: &str,
    at: Millis,
    describe: impl Fn(&AnyRow, LedgerRecord) -> Result<LedgerRecord, StoreError>,
) -> Result<(Vec<Id>, Vec<LedgerRecord>), StoreError> {
    let mut cleared = Vec::with_capacity(candidates.len());
    let mut entries = Vec::with_capacity(candidates.len());
    for row in candidates {
        let cleared_id: Id = id(row, id_column)?;
        if sqlx::query(clear).bind(&*cleared_id).execute(&mut **tx).await?.rows_affected() == 0 {
            continue;
        }
        entries.push(describe(row, LedgerRecord::new(LedgerEvent::Purged, at))?);
        cleared.push(cleared_id);
    }
    Ok((cleared, entries))
}
