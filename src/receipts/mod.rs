//! Receipts: the sender's view of what became of a message and of each of its deliveries.
//!
//! `GET /fhir/receipts/{tracking-id}` answers with a `Parameters` resource built from the stored states
//! and the ledger's timestamps. Only the sending organisation may read it; anyone else is told it does
//! not exist, so tracking ids leak nothing.

mod outgoing;

pub use outgoing::{overdue_receipt_for, receipt_for, wanted, withdrawal_for, OverdueInput, ReceiptInput};

use crate::auth::Principal;
use crate::directory::Snapshot;
use crate::ledger::LedgerRecord;
use crate::model::TrackingId;
use crate::store::{DeliveryRecord, Store, StoreError};

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
pub async fn receipt(
    store: &Store,
    directory: &Snapshot,
    caller: &Principal,
    tracking_id: &str,
) -> Result<Vec<u8>, ReceiptError> {
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
    // The chain: where a triage point forwarded it, each forwarding with its candidates' deliveries.
    let mut chain = Vec::new();
    for forwarding in store.forwardings_of(&tracking_id).await? {
        let deliveries = store.deliveries(&forwarding.tracking_id).await?;
        let ledger = store.ledger_for_message(&forwarding.tracking_id).await?;
        let forwarder = directory.organizations().iter().find(|o| o.id == forwarding.forwarder);
        let by = forwarder.and_then(|o| o.identifiers.first()).cloned();
        chain.push((forwarding, by, deliveries, ledger));
    }
    let receipt = handover_fhir::MessageReceipt {
        tracking_id: &message.tracking_id,
        message_header_id: &message.header_id,
        event_system: &message.event_system,
        event_code: &message.event_code,
        state: message.state.as_str(),
        received_at: message.received_at.to_datetime(),
        history: history(&ledger, None),
        deliveries: deliveries.iter().map(|d| delivery(&ledger, d)).collect(),
        forwardings: chain
            .iter()
            .map(|(f, by, deliveries, ledger)| handover_fhir::ForwardingReceipt {
                tracking_id: &f.tracking_id,
                by_system: by.as_ref().map_or("", |b| b.system()),
                by_value: by.as_ref().map_or(f.forwarder.as_str(), |b| b.value()),
                mode: f.mode.as_str(),
                at: f.created_at.to_datetime(),
                placed_delivery_id: f.placed_delivery_id.as_deref(),
                deliveries: deliveries.iter().map(|d| delivery(ledger, d)).collect(),
            })
            .collect(),
    };
    Ok(handover_fhir::receipt_parameters(&receipt)?)
}

/// The ledger's events about one delivery (`None`: about the message), with their times.
fn history<'a>(ledger: &'a [LedgerRecord], delivery: Option<&str>) -> Vec<handover_fhir::DeliveryHistory<'a>> {
    ledger
        .iter()
        .filter(|e| e.delivery_id.as_deref() == delivery)
        .map(|e| handover_fhir::DeliveryHistory { event: e.event.as_str(), at: e.at.to_datetime() })
        .collect()
}

/// One delivery in a receipt, with its history from `ledger`.
fn delivery<'a>(ledger: &'a [LedgerRecord], d: &'a DeliveryRecord) -> handover_fhir::DeliveryReceipt<'a> {
    handover_fhir::DeliveryReceipt {
        delivery_id: &d.delivery_id,
        receiver_system: &d.receiver_system,
        receiver_value: &d.receiver_value,
        state: d.state.as_str(),
        attempts: u32::try_from(d.attempts).unwrap_or(0),
        updated_at: d.updated_at.to_datetime(),
        history: history(ledger, Some(&d.delivery_id)),
    }
}
