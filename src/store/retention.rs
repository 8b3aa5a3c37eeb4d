//! Payload retention: the bytes of a message are removed once no delivery of it has been queued for the
//! retention period (each was delivered, answered, failed or expired), and the bytes of a receipt once it
//! has left its outbox for as long. The rows (ids, hashes, states, the acknowledgement) and the ledger
//! entries stay; a `purged` entry records each removal.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::StoreError;
use crate::ledger::{LedgerEvent, LedgerRecord};
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
    pub messages: Vec<String>,
    /// Ids of the receipts whose payload was removed.
    pub receipts: Vec<String>,
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
) -> Result<(Vec<String>, Vec<LedgerRecord>), StoreError> {
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
        "UPDATE messages SET payload = NULL WHERE tracking_id = $1 AND payload IS NOT NULL",
        purge.at,
        |row, entry| {
            entry.tracking_id = row.try_get("tracking_id")?;
            entry.header_id = row.try_get("header_id")?;
            entry.sender_org = row.try_get("sender_org")?;
            entry.event_code = row.try_get("event_code")?;
            entry.payload_sha256 = row.try_get("payload_sha256")?;
            entry.outcome = Some("payload removed after its retention period".to_owned());
            Ok(())
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
) -> Result<(Vec<String>, Vec<LedgerRecord>), StoreError> {
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
            entry.tracking_id = row.try_get("tracking_id")?;
            entry.delivery_id = row.try_get("delivery_id")?;
            // The receipt's own MessageHeader.id, and the organisation it was addressed to (the sender).
            entry.header_id = row.try_get("header_id")?;
            entry.receiver_org = row.try_get("recipient_org")?;
            entry.outcome = Some("receipt payload removed after its retention period".to_owned());
            Ok(())
        },
    )
    .await
}

/// Clears the payload of each candidate row with `clear` (guarded, so that when two broker nodes sweep
/// at once only one removes, and records, each) and describes it in a `purged` entry. Returns the ids
/// (`id_column`) cleared and their entries.
async fn clear_each(
    tx: &mut Transaction<'_, Any>,
    candidates: &[AnyRow],
    id_column: &str,
    clear: &str,
    at: Millis,
    describe: impl Fn(&AnyRow, &mut LedgerRecord) -> Result<(), StoreError>,
) -> Result<(Vec<String>, Vec<LedgerRecord>), StoreError> {
    let mut cleared = Vec::with_capacity(candidates.len());
    let mut entries = Vec::with_capacity(candidates.len());
    for row in candidates {
        let id: String = row.try_get(id_column)?;
        if sqlx::query(clear).bind(&id).execute(&mut **tx).await?.rows_affected() == 0 {
            continue;
        }
        let mut entry = LedgerRecord::new(LedgerEvent::Purged, at);
        describe(row, &mut entry)?;
        entries.push(entry);
        cleared.push(id);
    }
    Ok((cleared, entries))
}
