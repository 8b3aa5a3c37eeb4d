//! Messages, deliveries and ledger rows.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::row::{self, id, id_opt};
use super::{Backend, Store, StoreError};
use crate::ledger::LedgerRecord;
use crate::model::{
    DeliveryId, DeliveryState, EventCode, Format, HeaderId, MessageState, OrgId, PatientKey, PayloadHash, Priority,
    TrackingId,
};
use crate::time::Millis;

/// An accepted message, ready to be stored with its deliveries and ledger entries.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub tracking_id: TrackingId,
    pub sender_org: OrgId,
    pub header_id: HeaderId,
    pub bundle_id: Option<String>,
    pub event_system: String,
    pub event_code: EventCode,
    /// Hex SHA-256 of the exact bytes received.
    pub payload_sha256: PayloadHash,
    /// The message as JSON: the bytes received, or (received as XML) their conversion, which the
    /// broker checked; stored packed (see `packed`).
    pub payload: super::Packed,
    /// The format it was received in.
    pub received_format: Format,
    /// The message as XML: the bytes received, or the conversion made for receivers that take XML.
    pub payload_xml: Option<super::Packed>,
    /// The acknowledgement returned to the sender, replayed on an identical resubmission (packed).
    pub ack: super::Packed,
    pub received_at: Millis,
    /// Receipts the sender wants: `delivered` (infrastructure) and the receiver's business response.
    /// Non-delivery (failed, expired) is reported regardless.
    pub want_infack: bool,
    pub want_busack: bool,
    /// The request's priority (its focus ServiceRequest's), which response times are stated for.
    pub priority: Option<Priority>,
    /// Keys of the patient's identifiers (see `ledger::patient`), for auditors' queries by patient.
    pub patient_keys: Vec<PatientKey>,
    /// When the patient's stay ended (`Encounter.period.end`), for the quality report's 24-hour mark.
    pub stay_ended_at: Option<Millis>,
    /// How many warnings the message was accepted with.
    pub warnings: u32,
    pub deliveries: Vec<NewDelivery>,
    pub ledger: Vec<LedgerRecord>,
    /// A triage point's forwarded message: the original it passes on, stored in the same commit.
    pub forwarding: Option<Box<super::forwarding::NewForwarding>>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub delivery_id: DeliveryId,
    pub receiver_org: OrgId,
    /// The identifier the sender used for this receiver, echoed in receipts.
    pub receiver_system: String,
    pub receiver_value: String,
    pub expires_at: Millis,
}

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// New: stored with its deliveries.
    Stored,
    /// The (sender, MessageHeader.id) key is taken: the caller compares the entries with the stored
    /// `payload` (`None` once purged) to tell an identical resubmission from a conflict.
    KeyTaken { tracking_id: TrackingId, ack: Vec<u8>, payload: Option<Vec<u8>> },
    /// The same (sender, Bundle.id) for another MessageHeader.id.
    BundleIdReused,
    /// A forwarded message whose original was no longer the triage point's to pass on (forwarded,
    /// answered or expired meanwhile): nothing was stored.
    OriginalMoved,
}

/// A stored message, without its payload.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub tracking_id: TrackingId,
    pub sender_org: OrgId,
    pub header_id: HeaderId,
    pub event_system: String,
    pub event_code: EventCode,
    pub payload_sha256: PayloadHash,
    pub state: MessageState,
    pub received_at: Millis,
}

#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub delivery_id: DeliveryId,
    pub receiver_org: OrgId,
    pub receiver_system: String,
    pub receiver_value: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub updated_at: Millis,
}

/// Rows per multi-row INSERT. A fixed size keeps the number of distinct statement texts small, so the
/// prepared-statement cache keeps them; 32 rows of at most 16 columns (the messages') stay far below the parameter
/// limits of both backends.
pub(super) const ROWS_PER_STATEMENT: usize = 32;

/// Inserts the messages that are new; returns the tracking ids of those inserted. One multi-row
/// statement per chunk: the batch costs a few round trips to the database, not a few per message.
///
/// The write comes first in the transaction, so that SQLite takes its write lock before any read (no
/// lock upgrade), and the UNIQUE keys decide between duplicates, even within one statement.
pub(super) async fn insert_messages(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    messages: &[&NewMessage],
) -> Result<HashSet<TrackingId>, StoreError> {
    const COLS: usize = 18;
    let mut inserted = HashSet::with_capacity(messages.len());
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO messages (tracking_id, sender_org, header_id, bundle_id, event_system, event_code, \
             payload_sha256, payload, ack, state, received_at, want_infack, want_busack, priority, \
             received_format, payload_xml, stay_ended_at, warnings) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING tracking_id",
            backend.values_list(chunk.len(), COLS)
        );
        let mut query = sqlx::query(&sql);
        for m in chunk {
            query = query
                .bind(m.tracking_id.as_str())
                .bind(m.sender_org.as_str())
                .bind(m.header_id.as_str())
                .bind(m.bundle_id.as_deref())
                .bind(&m.event_system)
                .bind(m.event_code.as_str())
                .bind(m.payload_sha256.as_str())
                .bind(m.payload.as_bytes())
                .bind(m.ack.as_bytes())
                .bind(MessageState::Accepted.as_str())
                .bind(m.received_at.as_i64())
                .bind(i64::from(m.want_infack))
                .bind(i64::from(m.want_busack))
                .bind(m.priority.map(Priority::as_str))
                .bind(m.received_format.as_str())
                .bind(m.payload_xml.as_ref().map(super::Packed::as_bytes))
                .bind(m.stay_ended_at.map(Millis::as_i64))
                .bind(i64::from(m.warnings));
        }
        for row in query.fetch_all(&mut **tx).await? {
            inserted.insert(id(&row, "tracking_id")?);
        }
    }
    Ok(inserted)
}

/// Why a message was not inserted: an identical resubmission, or a conflict.
pub(super) async fn classify_existing(
    tx: &mut Transaction<'_, Any>,
    m: &NewMessage,
) -> Result<CommitOutcome, StoreError> {
    let existing =
        sqlx::query("SELECT tracking_id, ack, payload FROM messages WHERE sender_org = $1 AND header_id = $2")
            .bind(m.sender_org.as_str())
            .bind(m.header_id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(match existing {
        Some(row) => CommitOutcome::KeyTaken {
            tracking_id: id(&row, "tracking_id")?,
            ack: super::packed::column(&row, "ack")?,
            payload: super::packed::column_opt(&row, "payload")?,
        },
        None => CommitOutcome::BundleIdReused,
    })
}

/// Inserts the patient keys of newly stored messages.
pub(super) async fn insert_patient_keys(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    messages: &[&NewMessage],
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &str)> = messages
        .iter()
        .flat_map(|m| m.patient_keys.iter().map(move |k| (m.tracking_id.as_str(), k.as_str())))
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO message_patients (tracking_id, patient_key) VALUES {}",
            backend.values_list(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (tracking_id, key) in chunk {
            query = query.bind(*tracking_id).bind(*key);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts deliveries, `queued`, each with its message.
pub(super) async fn insert_deliveries(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    deliveries: &[(&NewMessage, &NewDelivery)],
) -> Result<(), StoreError> {
    const COLS: usize = 12;
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO deliveries (delivery_id, tracking_id, receiver_org, receiver_system, receiver_value, state, \
             attempts, next_attempt_at, expires_at, created_at, updated_at, urgency) VALUES {}",
            backend.values_list(chunk.len(), COLS)
        );
        let mut query = sqlx::query(&sql);
        for (m, d) in chunk {
            let now = m.received_at.as_i64();
            query = query
                .bind(d.delivery_id.as_str())
                .bind(m.tracking_id.as_str())
                .bind(d.receiver_org.as_str())
                .bind(&d.receiver_system)
                .bind(&d.receiver_value)
                .bind(DeliveryState::Queued.as_str())
                .bind(0_i64)
                .bind(now)
                .bind(d.expires_at.as_i64())
                .bind(now)
                .bind(now)
                .bind(m.priority.map_or(Priority::Routine.claim_rank(), Priority::claim_rank));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

fn message_from_row(row: &AnyRow) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        tracking_id: id(row, "tracking_id")?,
        sender_org: id(row, "sender_org")?,
        header_id: id(row, "header_id")?,
        event_system: row.try_get("event_system")?,
        event_code: id(row, "event_code")?,
        payload_sha256: id(row, "payload_sha256")?,
        state: row::message_state(row, "state")?,
        received_at: Millis::from_i64(row.try_get("received_at")?),
    })
}

impl Store {
    /// The message with this tracking id.
    pub async fn message(&self, tracking_id: &TrackingId) -> Result<Option<MessageRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT tracking_id, sender_org, header_id, event_system, event_code, payload_sha256, state, received_at \
             FROM messages WHERE tracking_id = $1",
        )
        .bind(tracking_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// The exact bytes received for this message (`None` once purged or when unknown).
    pub async fn payload(&self, tracking_id: &TrackingId) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT payload FROM messages WHERE tracking_id = $1")
            .bind(tracking_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => super::packed::column_opt(&row, "payload")?,
            None => None,
        })
    }

    /// The deliveries of a message, in receiver order of the message.
    pub async fn deliveries(&self, tracking_id: &TrackingId) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, receiver_org, receiver_system, receiver_value, state, attempts, updated_at \
             FROM deliveries WHERE tracking_id = $1 ORDER BY created_at, delivery_id",
        )
        .bind(tracking_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryRecord {
                    delivery_id: id(row, "delivery_id")?,
                    receiver_org: id(row, "receiver_org")?,
                    receiver_system: row.try_get("receiver_system")?,
                    receiver_value: row.try_get("receiver_value")?,
                    state: row::delivery_state(row, "state")?,
                    attempts: row.try_get("attempts")?,
                    updated_at: Millis::from_i64(row.try_get("updated_at")?),
                })
            })
            .collect()
    }

    /// Number of stored messages (for tests and operators).
    pub async fn message_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM messages").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// The ledger entries of one message, oldest first.
    pub async fn ledger_for_message(&self, tracking_id: &TrackingId) -> Result<Vec<LedgerRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, event, tracking_id, header_id, delivery_id, actor_org, sender_org, receiver_org, event_code, outcome, \
             payload_sha256, patient_key FROM ledger WHERE tracking_id = $1 ORDER BY seq",
        )
        .bind(tracking_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_from_row).collect()
    }

    /// The newest `limit` ledger entries, oldest first (for operators and tests).
    pub async fn ledger_tail(&self, limit: i64) -> Result<Vec<LedgerRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, event, tracking_id, header_id, delivery_id, actor_org, sender_org, receiver_org, event_code, outcome, \
             payload_sha256, patient_key FROM (SELECT * FROM ledger ORDER BY seq DESC LIMIT $1) AS tail ORDER BY seq",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_from_row).collect()
    }
}

pub(super) fn ledger_from_row(row: &AnyRow) -> Result<LedgerRecord, StoreError> {
    Ok(LedgerRecord {
        at: Millis::from_i64(row.try_get("at")?),
        event: row::ledger_event(row, "event")?,
        tracking_id: id_opt(row, "tracking_id")?,
        header_id: id_opt(row, "header_id")?,
        delivery_id: id_opt(row, "delivery_id")?,
        actor_org: id_opt(row, "actor_org")?,
        sender_org: id_opt(row, "sender_org")?,
        receiver_org: id_opt(row, "receiver_org")?,
        event_code: id_opt(row, "event_code")?,
        outcome: row.try_get("outcome")?,
        payload_sha256: id_opt(row, "payload_sha256")?,
        patient_key: id_opt(row, "patient_key")?,
    })
}
