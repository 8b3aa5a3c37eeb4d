//! Receipts: the sender's view of what became of a message and of each of its deliveries.
//!
//! `GET /fhir/receipts/{tracking-id}` answers with a `Parameters` resource built from the stored states
//! and the ledger's timestamps. Only the sending organisation may read it; anyone else is told it does
//! not exist, so tracking ids leak nothing.

mod outgoing;

pub use outgoing::{overdue_receipt_for, receipt_for, wanted, OverdueInput, ReceiptInput};

use crate::auth::Principal;
use crate::ledger::LedgerRecord;
use crate::model::TrackingId;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("no message with this tracking id for this organisation")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the receipt: {0}")]
    Fhir(#[from] handover_fhir::FhirError),
}

/// The receipt of `tracking_id` as FHIR JSON, for `caller` if it sent the message.
#[tracing::instrument(skip_all, fields(stage = "receipts", org = %caller.org, tracking_id))]
pub async fn receipt(store: &Store, caller: &Principal, tracking_id: &str) -> Result<Vec<u8>, ReceiptError> {
    // Tracking ids are UUIDs; anything else cannot exist and is not worth a query.
    let tracking_id = TrackingId::parse(tracking_id).ok_or(ReceiptError::NotFound)?;
    let message = store.message(&tracking_id).await?.ok_or(ReceiptError::NotFound)?;
    if message.sender_org != caller.org {
        // Someone else's message: the same 404 as for none, and a ledger entry of the attempt.
        let entry = LedgerRecord::denied(&caller.org, "404 receipt read by another organisation")
            .sender(message.sender_org.clone())
            .tracking(message.tracking_id.clone());
        if let Err(e) = store.writer().append_ledger(vec![entry]).await {
            tracing::error!(error = ?e, "cannot write the ledger entry of a refused read");
        }
        return Err(ReceiptError::NotFound);
    }
    let deliveries = store.deliveries(&tracking_id).await?;
    let ledger = store.ledger_for_message(&tracking_id).await?;
    let history = |delivery: Option<&str>| {
        ledger
            .iter()
            .filter(|e| e.delivery_id.as_deref() == delivery)
            .map(|e| handover_fhir::DeliveryHistory { event: e.event.as_str(), at: e.at.to_datetime() })
            .collect::<Vec<_>>()
    };
    let receipt = handover_fhir::MessageReceipt {
        tracking_id: &message.tracking_id,
        message_header_id: &message.header_id,
        event_system: &message.event_system,
        event_code: &message.event_code,
        state: message.state.as_str(),
        received_at: message.received_at.to_datetime(),
        history: history(None),
        deliveries: deliveries
            .iter()
            .map(|d| handover_fhir::DeliveryReceipt {
                delivery_id: &d.delivery_id,
                receiver_system: &d.receiver_system,
                receiver_value: &d.receiver_value,
                state: d.state.as_str(),
                attempts: u32::try_from(d.attempts).unwrap_or(0),
                updated_at: d.updated_at.to_datetime(),
                history: history(Some(&d.delivery_id)),
            })
            .collect(),
    };
    Ok(handover_fhir::receipt_parameters(&receipt)?)
}
