//! Settling deliveries: the changes of outbox rows that end or answer a delivery (delivered, failed,
//! expired, accepted or rejected by the receiver), whoever makes them: the push workers, a mailbox
//! acknowledgement, a receiver's business response. The change, its ledger entries and the sender's
//! receipt are one commit, guarded by the states the change may come from.

use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, DeliveryState, OrgId, TrackingId};
use crate::outcome::Issue;
use crate::receipts::{receipt_for, ReceiptInput};
use crate::signals::Signals;
use crate::store::{Change, DeliveryContext, NewReceipt, Outbox, Settlement, Store, StoreError};
use crate::time::Millis;

/// The outbox row being settled.
#[derive(Debug, Clone, Copy)]
pub struct OutboxRow<'a> {
    pub outbox: Outbox,
    pub id: &'a DeliveryId,
    pub tracking_id: &'a TrackingId,
    /// The organisation it is for.
    pub org: &'a OrgId,
}

/// Makes the settlements of deliveries. Built once at start and shared (cheap to clone).
#[derive(Clone)]
pub struct Settler {
    store: Store,
    directory: Directory,
    base_url: String,
    ttl_secs: u64,
    signals: Signals,
}

impl Settler {
    pub fn new(store: Store, directory: Directory, base_url: String, ttl_secs: u64, signals: Signals) -> Self {
        Self { store, directory, base_url, ttl_secs, signals }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// A ledger entry about `row`.
    pub fn entry(&self, row: &OutboxRow<'_>, event: LedgerEvent, at: Millis, outcome: &str) -> LedgerRecord {
        let outcome = match row.outbox {
            Outbox::Deliveries => outcome.to_owned(),
            Outbox::Receipts => format!("receipt {outcome}"),
        };
        LedgerRecord::new(event, at)
            .tracking(row.tracking_id.clone())
            .delivery(row.id.clone())
            .receiver(row.org.clone())
            .outcome(outcome)
    }

    /// Moves `row` to `to` (`Delivered`, `Failed`, `Expired`) with its ledger entries (`first`
    /// before the state's own, e.g. the attempt or the acknowledgement) and the sender's receipt.
    /// Returns whether the change applied (`false`: the row had already moved on).
    pub async fn finish(
        &self,
        row: &OutboxRow<'_>,
        to: DeliveryState,
        summary: &str,
        outcome: &str,
        first: Option<LedgerRecord>,
    ) -> Result<bool, StoreError> {
        let now = Millis::now();
        let event = match to {
            DeliveryState::Delivered => LedgerEvent::Delivered,
            DeliveryState::Expired => LedgerEvent::Expired,
            _ => LedgerEvent::Failed,
        };
        let mut ledger: Vec<LedgerRecord> = first.into_iter().collect();
        ledger.push(self.entry(row, event, now, outcome));
        let mut receipt = None;
        if row.outbox == Outbox::Deliveries {
            if let Some(context) = self.store.delivery_context(row.id).await? {
                for entry in &mut ledger {
                    entry.header_id.get_or_insert_with(|| context.header_id.clone());
                    entry.sender_org.get_or_insert_with(|| context.sender_org.clone());
                    entry.event_code.get_or_insert_with(|| context.event_code.clone());
                }
                receipt = self.receipt(&context, to, summary, &[], now, &mut ledger);
            }
        }
        let error = (to != DeliveryState::Delivered).then(|| outcome.to_owned());
        self.settle(row.outbox, row.id, Change::Finish { to, error }, ledger, receipt, now).await
    }

    /// A receiver's business response to its delivery: `to` is `AcceptedByReceiver` or
    /// `RejectedByReceiver`, `answer` the entry of the response itself. Returns whether it applied.
    pub async fn answer(
        &self,
        context: &DeliveryContext,
        to: DeliveryState,
        answer: LedgerRecord,
        receiver_issues: &[Issue],
    ) -> Result<bool, StoreError> {
        let now = answer.at;
        let summary = match to {
            DeliveryState::AcceptedByReceiver => "The receiver accepted the message.",
            _ => "The receiver rejected the message; its reasons follow.",
        };
        let mut ledger = vec![answer];
        let receipt = self.receipt(context, to, summary, receiver_issues, now, &mut ledger);
        let change = Change::Finish { to, error: None };
        self.settle(Outbox::Deliveries, &context.delivery_id, change, ledger, receipt, now).await
    }

    /// Commits one settlement and wakes whoever waits for its receipt.
    async fn settle(
        &self,
        outbox: Outbox,
        id: &DeliveryId,
        change: Change,
        ledger: Vec<LedgerRecord>,
        receipt: Option<NewReceipt>,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let recipient = receipt.as_ref().map(|r| r.recipient_org.clone());
        let settlement = Settlement { outbox, id: id.clone(), at, change, ledger, receipt };
        let applied = self.store.writer().settle(vec![settlement]).await?.first() == Some(&true);
        if let (true, Some(recipient)) = (applied, recipient) {
            self.signals.arrived(&recipient);
        }
        Ok(applied)
    }

    /// The sender's receipt for a state change, if it wants one; its ledger entry goes to `ledger`.
    fn receipt(
        &self,
        context: &DeliveryContext,
        state: DeliveryState,
        summary: &str,
        receiver_issues: &[Issue],
        now: Millis,
        ledger: &mut Vec<LedgerRecord>,
    ) -> Option<NewReceipt> {
        let input =
            ReceiptInput { state, summary, receiver_issues, base_url: &self.base_url, now, ttl_secs: self.ttl_secs };
        match receipt_for(&self.directory.snapshot(), context, &input) {
            Ok(Some(receipt)) => {
                ledger.push(
                    LedgerRecord::new(LedgerEvent::ReceiptCreated, now)
                        .tracking(context.tracking_id.clone())
                        .header(context.header_id.clone())
                        .delivery(context.delivery_id.clone())
                        .sender(context.sender_org.clone())
                        .receiver(context.receiver_org.clone())
                        .event_code(context.event_code.clone())
                        .outcome(state.as_str()),
                );
                Some(receipt)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "cannot build a receipt");
                None
            }
        }
    }
}
