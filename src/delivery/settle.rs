//! Final states of outbox rows (delivered, failed, expired), whoever reaches them: the push workers,
//! or a mailbox acknowledgement. The change, its ledger entries and the sender's receipt are one
//! commit, guarded by the states the change may come from.

use super::push::from_states;
use super::DeliveryState;
use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::mailbox::Signals;
use crate::receipts::{receipt_for, ReceiptInput};
use crate::store::{Change, DeliveryContext, NewReceipt, Outbox, Settlement, Store, StoreError};
use crate::time::Millis;

/// The row being settled.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub outbox: Outbox,
    pub id: &'a str,
    pub tracking_id: &'a str,
    /// The organisation it is for.
    pub org: &'a str,
}

#[derive(Clone)]
pub struct Settler {
    pub store: Store,
    pub directory: Directory,
    pub base_url: String,
    pub ttl_secs: u64,
    pub signals: Signals,
}

impl Settler {
    /// A ledger entry about `target`.
    pub fn entry(&self, target: &Target<'_>, event: LedgerEvent, at: Millis, outcome: &str) -> LedgerRecord {
        let mut entry = LedgerRecord::new(event, at);
        entry.tracking_id = Some(target.tracking_id.to_owned());
        entry.delivery_id = Some(target.id.to_owned());
        entry.receiver_org = Some(target.org.to_owned());
        entry.outcome = Some(match target.outbox {
            Outbox::Handovers => outcome.to_owned(),
            Outbox::Receipts => format!("receipt {outcome}"),
        });
        entry
    }

    /// Moves `target` to `to` (`Delivered`, `Failed`, `Expired`) with its ledger entries (`first`
    /// before the state's own, e.g. the attempt or the acknowledgement) and the sender's receipt.
    /// Returns whether the change applied (`false`: the row had already moved on).
    pub async fn finish(
        &self,
        target: &Target<'_>,
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
        ledger.push(self.entry(target, event, now, outcome));
        let mut receipt = None;
        if target.outbox == Outbox::Handovers {
            if let Some(context) = self.store.delivery_context(target.id).await? {
                for entry in &mut ledger {
                    entry.header_id.get_or_insert_with(|| context.header_id.clone());
                    entry.sender_org.get_or_insert_with(|| context.sender_org.clone());
                    entry.event_code.get_or_insert_with(|| context.event_code.clone());
                }
                receipt = self.receipt(&context, to, summary, &[], now, &mut ledger);
            }
        }
        let recipient = receipt.as_ref().map(|r| r.recipient_org.clone());
        let change = Change::Finish {
            to: to.as_str(),
            from: from_states(to),
            error: (to != DeliveryState::Delivered).then(|| outcome.to_owned()),
            delivered: to == DeliveryState::Delivered,
        };
        let settlement =
            Settlement { outbox: target.outbox, id: target.id.to_owned(), at: now, change, ledger, receipt };
        let applied = self.store.writer().settle(vec![settlement]).await?.first() == Some(&true);
        if let (true, Some(recipient)) = (applied, recipient) {
            self.signals.arrived(&recipient);
        }
        Ok(applied)
    }

    /// The sender's receipt for a state change, if it wants one; its ledger entry goes to `ledger`.
    pub fn receipt(
        &self,
        context: &DeliveryContext,
        state: DeliveryState,
        summary: &str,
        receiver_issues: &[crate::outcome::Issue],
        now: Millis,
        ledger: &mut Vec<LedgerRecord>,
    ) -> Option<NewReceipt> {
        let input =
            ReceiptInput { state, summary, receiver_issues, base_url: &self.base_url, now, ttl_secs: self.ttl_secs };
        match receipt_for(&self.directory.snapshot(), context, &input) {
            Ok(Some(receipt)) => {
                let mut entry = LedgerRecord::new(LedgerEvent::ReceiptCreated, now);
                entry.tracking_id = Some(context.tracking_id.clone());
                entry.header_id = Some(context.header_id.clone());
                entry.delivery_id = Some(context.delivery_id.clone());
                entry.sender_org = Some(context.sender_org.clone());
                entry.receiver_org = Some(context.receiver_org.clone());
                entry.event_code = Some(context.event_code.clone());
                entry.outcome = Some(state.as_str().to_owned());
                ledger.push(entry);
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
