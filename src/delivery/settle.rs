//! Settling deliveries: the changes of outbox rows that end or answer a delivery (delivered, failed,
//! expired, accepted or rejected by the receiver), whoever makes them: the push workers, a mailbox
//! acknowledgement, a receiver's business response. The change, its ledger entries and the sender's
//! receipt are one commit, guarded by the states the change may come from.

use crate::directory::{Directory, Snapshot};
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, DeliveryState, ForwardMode, OrgId, TrackingId};
use crate::outcome::{Issue, Text};
use crate::receipts::{receipt_for, withdrawal_for, ReceiptInput};
use crate::signals::Signals;
use crate::store::{
    Change, DeliveryContext, ForwardingRecord, NewReceipt, Outbox, Placement, Settlement, Store, StoreError, TaskWrite,
    Unplaced,
};
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

/// The most links of a chain of forwardings that one acceptance answers (a request escalated, then
/// forwarded by the escalation triage point, is two).
pub const MAX_CHAIN: usize = 4;

/// What became of a business response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Applied,
    /// The delivery had moved on already (answered, expired, withdrawn).
    Moved,
    /// Mode `first-accept`: another candidate was placed first.
    PlacedElsewhere,
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

    /// The broker's base URL as clients reach it (links in what it sends).
    pub fn base_url(&self) -> &str {
        &self.base_url
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
        summary: &Text,
        outcome: &str,
        first: Option<LedgerRecord>,
    ) -> Result<bool, StoreError> {
        self.finish_with_task(row, to, summary, outcome, first, None).await
    }

    /// [`Settler::finish`] carrying out a Notified Pull receiver's Task update (`task`) in the same
    /// commit: the change applies only if the Task is still at the version the update was decided on.
    pub async fn finish_with_task(
        &self,
        row: &OutboxRow<'_>,
        to: DeliveryState,
        summary: &Text,
        outcome: &str,
        first: Option<LedgerRecord>,
        task: Option<TaskWrite>,
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
        let mut settlement =
            Settlement::new(row.outbox, row.id.clone(), now, Change::Finish { to, error }, ledger, receipt);
        settlement.task = task.map(Box::new);
        if row.outbox == Outbox::Deliveries && to != DeliveryState::Delivered {
            // A candidate of a forwarding that cannot be reached counts as one that declined.
            if let (Some(forwarding), Some(context)) =
                (self.store.forwarding(row.tracking_id).await?, self.store.delivery_context(row.id).await?)
            {
                settlement.unplaced = Some(Box::new(self.unplaced(&forwarding, &context, to, &[], now).await?));
            }
        }
        self.settle(settlement).await
    }

    /// A receiver's business response to its delivery: `to` is `AcceptedByReceiver` or
    /// `RejectedByReceiver`, `answer` the entry of the response itself.
    ///
    /// A delivery of a forwarded message answers the chain too: its first acceptance answers the
    /// original (and, in mode `first-accept`, withdraws the other candidates, or does not apply if
    /// another was placed first); a refusal that leaves no candidate tells the triage point so.
    pub async fn answer(
        &self,
        context: &DeliveryContext,
        to: DeliveryState,
        answer: LedgerRecord,
        receiver_issues: &[Issue],
    ) -> Result<Answered, StoreError> {
        self.answer_with_task(context, to, answer, receiver_issues, None).await
    }

    /// [`Settler::answer`] given as a Notified Pull receiver's Task update (`task`), carried out in the
    /// same commit (see [`Settler::finish_with_task`]).
    pub async fn answer_with_task(
        &self,
        context: &DeliveryContext,
        to: DeliveryState,
        answer: LedgerRecord,
        receiver_issues: &[Issue],
        task: Option<TaskWrite>,
    ) -> Result<Answered, StoreError> {
        let now = answer.at;
        let summary = match to {
            DeliveryState::AcceptedByReceiver => Text::new("receipt-accepted"),
            _ => Text::new("receipt-rejected"),
        };
        let mut ledger = vec![answer];
        let receipt = self.receipt(context, to, &summary, receiver_issues, now, &mut ledger);
        let change = Change::Finish { to, error: None };
        let mut settlement =
            Settlement::new(Outbox::Deliveries, context.delivery_id.clone(), now, change, ledger, receipt);
        settlement.task = task.map(Box::new);
        let forwarding = self.store.forwarding(&context.tracking_id).await?;
        if let Some(forwarding) = &forwarding {
            if to == DeliveryState::AcceptedByReceiver {
                settlement.placement = Some(Box::new(self.placement(forwarding, context, now).await?));
            } else {
                settlement.unplaced =
                    Some(Box::new(self.unplaced(forwarding, context, to, receiver_issues, now).await?));
            }
        }
        if self.settle(settlement).await? {
            return Ok(Answered::Applied);
        }
        if let (Some(forwarding), DeliveryState::AcceptedByReceiver) = (&forwarding, to) {
            let now_placed = self.store.forwarding(&forwarding.tracking_id).await?.and_then(|f| f.placed_delivery_id);
            if forwarding.mode == ForwardMode::FirstAccept
                && now_placed.is_some_and(|placed| placed != context.delivery_id)
            {
                return Ok(Answered::PlacedElsewhere);
            }
        }
        Ok(Answered::Moved)
    }

    /// What the acceptance of `context` (a delivery of forwarded message `forwarding`) decides, if it
    /// is the first: the other candidates' withdrawals (first-accept) and the original's answer.
    async fn placement(
        &self,
        forwarding: &ForwardingRecord,
        context: &DeliveryContext,
        now: Millis,
    ) -> Result<Placement, StoreError> {
        self.placement_in_chain(forwarding, context, context, now, 0).await
    }

    /// [`Settler::placement`] at `depth` links up a chain: `accepted` is the delivery accepted at this
    /// link (of `forwarding`'s message), `by` the one the provider accepted at the end of the chain. If
    /// the original was itself forwarded to this triage point (escalated, or passed on by another
    /// triage point), its answer decides that forwarding's placement too, up to [`MAX_CHAIN`] links.
    async fn placement_in_chain(
        &self,
        forwarding: &ForwardingRecord,
        accepted: &DeliveryContext,
        by: &DeliveryContext,
        now: Millis,
        depth: usize,
    ) -> Result<Placement, StoreError> {
        let exclusive = forwarding.mode == ForwardMode::FirstAccept;
        let snapshot = self.directory.snapshot();
        let placed_with = format!("{}|{}", by.receiver_system, by.receiver_value);
        let mut then = Vec::new();
        if exclusive {
            for candidate in self.store.deliveries(&forwarding.tracking_id).await? {
                let waiting = matches!(candidate.state, DeliveryState::Queued | DeliveryState::Delivered);
                if candidate.delivery_id == accepted.delivery_id || !waiting {
                    continue;
                }
                let Some(other) = self.store.delivery_context(&candidate.delivery_id).await? else { continue };
                then.push(self.withdrawal(&snapshot, &other, &placed_with, now));
            }
        }
        if let Some(original) = self.store.delivery_context(&forwarding.original_delivery_id).await? {
            let summary =
                Text::new("receipt-placed").arg("placed", placed_with).arg("forwarded", &forwarding.tracking_id);
            let entry = LedgerRecord::new(LedgerEvent::BusinessResponse, now)
                .tracking(original.tracking_id.clone())
                .header(original.header_id.clone())
                .delivery(original.delivery_id.clone())
                .actor(by.receiver_org.clone())
                .sender(original.sender_org.clone())
                .receiver(original.receiver_org.clone())
                .event_code(original.event_code.clone())
                .outcome(format!("ok via forwarding {}", forwarding.tracking_id));
            let mut ledger = vec![entry];
            let to = DeliveryState::AcceptedByReceiver;
            let receipt = self.receipt(&original, to, &summary, &[], now, &mut ledger);
            let change = Change::Finish { to, error: None };
            let mut answer =
                Settlement::new(Outbox::Deliveries, original.delivery_id.clone(), now, change, ledger, receipt);
            if depth < MAX_CHAIN {
                if let Some(upstream) = self.store.forwarding(&original.tracking_id).await? {
                    let link = Box::pin(self.placement_in_chain(&upstream, &original, by, now, depth + 1)).await?;
                    answer.placement = Some(Box::new(link));
                }
            }
            then.push(answer);
        }
        Ok(Placement { forwarded: forwarding.tracking_id.clone(), exclusive, then })
    }

    /// A candidate's withdrawal: its delivery ends `withdrawn`, and it is told so by a message.
    fn withdrawal(&self, directory: &Snapshot, other: &DeliveryContext, placed_with: &str, now: Millis) -> Settlement {
        let input = ReceiptInput {
            state: DeliveryState::Withdrawn,
            summary: &Text::new("receipt-withdrawn"),
            receiver_issues: &[],
            base_url: &self.base_url,
            now,
            ttl_secs: self.ttl_secs,
        };
        let notice = withdrawal_for(directory, other, &input).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot build a withdrawal");
            None
        });
        let entry = |event| {
            LedgerRecord::new(event, now)
                .tracking(other.tracking_id.clone())
                .header(other.header_id.clone())
                .delivery(other.delivery_id.clone())
                .sender(other.sender_org.clone())
                .receiver(other.receiver_org.clone())
                .event_code(other.event_code.clone())
        };
        let mut ledger = vec![entry(LedgerEvent::Withdrawn).outcome(format!("placed with {placed_with}"))];
        if notice.is_some() {
            ledger.push(entry(LedgerEvent::ReceiptCreated).outcome("withdrawn"));
        }
        let change = Change::Finish { to: DeliveryState::Withdrawn, error: None };
        Settlement::new(Outbox::Deliveries, other.delivery_id.clone(), now, change, ledger, notice)
    }

    /// What a refusal (or failure) of candidate `context` entails if no candidate is left: a ledger
    /// entry, and the triage point's receipt saying that nobody was placed.
    async fn unplaced(
        &self,
        forwarding: &ForwardingRecord,
        context: &DeliveryContext,
        to: DeliveryState,
        receiver_issues: &[Issue],
        now: Millis,
    ) -> Result<Unplaced, StoreError> {
        let entry = LedgerRecord::new(LedgerEvent::ForwardingDeclined, now)
            .tracking(forwarding.tracking_id.clone())
            .header(context.header_id.clone())
            .sender(context.sender_org.clone())
            .event_code(context.event_code.clone())
            .outcome("every candidate declined or could not be reached");
        // Mode `all` handed the request over: its receivers' refusal answers the original. A placement
        // (`first-accept`) is the triage point's to try again: the original waits, still `forwarded`.
        let mut original = None;
        let summary = match forwarding.mode {
            ForwardMode::All => {
                if let Some(first) = self.store.delivery_context(&forwarding.original_delivery_id).await? {
                    original =
                        Some(Box::new(self.declined_original(forwarding, context, &first, receiver_issues, now)));
                }
                Text::new("receipt-unplaced-declined")
            }
            ForwardMode::FirstAccept => Text::new("receipt-unplaced-back"),
        };
        let summary = summary.arg("state", to).arg("original", &forwarding.original_tracking_id);
        // The receipt replaces the delivery's own, whose ledger entry already says it was created.
        let receipt = self.receipt(context, to, &summary, receiver_issues, now, &mut Vec::new());
        Ok(Unplaced { forwarded: forwarding.tracking_id.clone(), ledger: vec![entry], receipt, original })
    }

    /// The original's answer when every receiver of a forwarding in mode `all` declined: rejected, with
    /// the last refusal's reasons, for the original sender.
    fn declined_original(
        &self,
        forwarding: &ForwardingRecord,
        last: &DeliveryContext,
        original: &DeliveryContext,
        receiver_issues: &[Issue],
        now: Millis,
    ) -> Settlement {
        let by = format!("{}|{}", last.receiver_system, last.receiver_value);
        let summary = Text::new("receipt-declined-via").arg("by", by).arg("forwarded", &forwarding.tracking_id);
        let entry = LedgerRecord::new(LedgerEvent::BusinessResponse, now)
            .tracking(original.tracking_id.clone())
            .header(original.header_id.clone())
            .delivery(original.delivery_id.clone())
            .actor(last.receiver_org.clone())
            .sender(original.sender_org.clone())
            .receiver(original.receiver_org.clone())
            .event_code(original.event_code.clone())
            .outcome(format!("fatal-error via forwarding {}", forwarding.tracking_id));
        let mut ledger = vec![entry];
        let to = DeliveryState::RejectedByReceiver;
        let receipt = self.receipt(original, to, &summary, receiver_issues, now, &mut ledger);
        let change = Change::Finish { to, error: None };
        Settlement::new(Outbox::Deliveries, original.delivery_id.clone(), now, change, ledger, receipt)
    }

    /// Commits one settlement and wakes whoever waits for its receipts.
    async fn settle(&self, settlement: Settlement) -> Result<bool, StoreError> {
        let mut recipients: Vec<OrgId> = settlement.receipt.iter().map(|r| r.recipient_org.clone()).collect();
        if let Some(placement) = &settlement.placement {
            recipients
                .extend(placement.then.iter().filter_map(|t| t.receipt.as_ref()).map(|r| r.recipient_org.clone()));
        }
        if let Some(unplaced) = &settlement.unplaced {
            recipients.extend(unplaced.receipt.iter().map(|r| r.recipient_org.clone()));
            let original = unplaced.original.as_ref().and_then(|o| o.receipt.as_ref());
            recipients.extend(original.map(|r| r.recipient_org.clone()));
        }
        let applied = self.store.writer().settle(vec![settlement]).await?.first() == Some(&true);
        if applied {
            for recipient in &recipients {
                self.signals.arrived(recipient);
            }
        }
        Ok(applied)
    }

    /// The sender's receipt for a state change, if it wants one; its ledger entry goes to `ledger`.
    pub fn receipt(
        &self,
        context: &DeliveryContext,
        state: DeliveryState,
        summary: &Text,
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
