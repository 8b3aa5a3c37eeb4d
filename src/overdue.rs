//! Overdue requests: a request with a priority (its focus ServiceRequest's) that its receiver has not
//! answered within the response time it states for that priority, counted in its opening hours
//! ([`crate::service_hours`]), is reported to the sender once: an `overdue` ledger entry and an
//! `overdue` receipt, in one writer transaction with the delivery's `overdue_at` mark.
//!
//! "Answered" means a business response (the delivery is no longer queued or delivered); overdue is not
//! a delivery state, and an overdue request may still be answered. The sweep returns what it found,
//! with the receiver's escalation organisation, for whoever passes such requests on; it never forwards
//! anything itself, and it decides nothing from a message's content beyond its stored priority.

use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, OrgId, Priority, TrackingId};
use crate::receipts::{overdue_receipt_for, OverdueInput};
use crate::service_hours;
use crate::signals::Signals;
use crate::store::{CandidateCursor, OverdueCandidate, OverdueMark, Store, StoreError};
use crate::time::Millis;

/// Candidates read per page, and marks committed per transaction.
const PAGE: usize = 200;

/// A delivery newly reported overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub delivery_id: DeliveryId,
    pub tracking_id: TrackingId,
    /// Who has not answered.
    pub receiver_org: OrgId,
    pub priority: Priority,
    /// When the answer was due.
    pub due: Millis,
    /// Where the receiver's directory entry says such a request goes now, if anywhere.
    pub escalation: Option<OrgId>,
}

/// Finds and reports overdue deliveries. Built once at start (cheap to clone).
#[derive(Clone)]
pub struct OverdueSweep {
    store: Store,
    directory: Directory,
    base_url: String,
    ttl_secs: u64,
    signals: Signals,
}

impl OverdueSweep {
    pub fn new(store: Store, directory: Directory, base_url: String, ttl_secs: u64, signals: Signals) -> Self {
        Self { store, directory, base_url, ttl_secs, signals }
    }

    /// Reports every delivery overdue now; returns those this call reported (a delivery reported
    /// before, here or by another node, is not reported again).
    pub async fn sweep(&self) -> Result<Vec<Overdue>, StoreError> {
        self.sweep_at(Millis::now()).await
    }

    /// [`OverdueSweep::sweep`] as if it were `now`.
    #[tracing::instrument(skip_all, fields(stage = "overdue"))]
    pub async fn sweep_at(&self, now: Millis) -> Result<Vec<Overdue>, StoreError> {
        let mut reported = Vec::new();
        let mut cursor: Option<CandidateCursor> = None;
        loop {
            let page = self.store.overdue_candidates(now, cursor.as_ref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.received_at, last.delivery_id.clone()));
            let mut due = Vec::new();
            for candidate in &page {
                if let Some(found) = self.check(candidate, now).await? {
                    due.push(found);
                }
            }
            reported.extend(self.report(due, now).await?);
            if page.len() < PAGE {
                break;
            }
        }
        Ok(reported)
    }

    /// The candidate with its mark, if its deadline in the receiver's opening hours has passed.
    async fn check(
        &self,
        candidate: &OverdueCandidate,
        now: Millis,
    ) -> Result<Option<(Overdue, OverdueMark)>, StoreError> {
        let snapshot = self.directory.snapshot();
        let Some(receiver) = snapshot.organizations().iter().find(|org| org.id == candidate.receiver_org) else {
            return Ok(None);
        };
        // The snapshot may lag the table the candidates came from by a refresh; it decides.
        let Some(rule) = receiver.response_rule(candidate.priority) else { return Ok(None) };
        let due = match service_hours::deadline(receiver.hours.as_ref(), candidate.received_at, rule.within) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(delivery_id = %candidate.delivery_id, receiver_org = %receiver.id, error = %e,
                    "cannot count the response time in the receiver's opening hours");
                return Ok(None);
            }
        };
        if due > now {
            return Ok(None);
        }
        let Some(context) = self.store.delivery_context(&candidate.delivery_id).await? else { return Ok(None) };
        let escalation = rule.escalation.clone();
        let mut outcome = format!("{} {} passed at {}", candidate.priority, rule.within, due.to_rfc3339_secs());
        if let Some(target) = &escalation {
            outcome.push_str(&format!("; escalation {target}"));
        }
        let entry = |event| {
            LedgerRecord::new(event, now)
                .tracking(context.tracking_id.clone())
                .header(context.header_id.clone())
                .delivery(context.delivery_id.clone())
                .sender(context.sender_org.clone())
                .receiver(context.receiver_org.clone())
                .event_code(context.event_code.clone())
        };
        let mut ledger = vec![entry(LedgerEvent::Overdue).outcome(outcome)];
        let input = OverdueInput {
            priority: candidate.priority,
            within: rule.within,
            due,
            base_url: &self.base_url,
            now,
            ttl_secs: self.ttl_secs,
        };
        let receipt = match overdue_receipt_for(&snapshot, &context, &input) {
            Ok(receipt) => receipt,
            Err(e) => {
                tracing::error!(error = %e, "cannot build an overdue receipt");
                None
            }
        };
        if receipt.is_some() {
            ledger.push(entry(LedgerEvent::ReceiptCreated).outcome("overdue"));
        }
        let overdue = Overdue {
            delivery_id: candidate.delivery_id.clone(),
            tracking_id: candidate.tracking_id.clone(),
            receiver_org: candidate.receiver_org.clone(),
            priority: candidate.priority,
            due,
            escalation,
        };
        let mark = OverdueMark {
            delivery_id: candidate.delivery_id.clone(),
            tracking_id: candidate.tracking_id.clone(),
            at: now,
            ledger,
            receipt,
        };
        Ok(Some((overdue, mark)))
    }

    /// Commits the marks; returns the deliveries whose mark applied, logged, their senders woken.
    async fn report(&self, due: Vec<(Overdue, OverdueMark)>, now: Millis) -> Result<Vec<Overdue>, StoreError> {
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let (found, marks): (Vec<Overdue>, Vec<OverdueMark>) = due.into_iter().unzip();
        let recipients: Vec<Option<OrgId>> =
            marks.iter().map(|m| m.receipt.as_ref().map(|r| r.recipient_org.clone())).collect();
        let applied = self.store.mark_overdue(marks).await?;
        let mut reported = Vec::new();
        for ((overdue, recipient), applied) in found.into_iter().zip(recipients).zip(applied) {
            if !applied {
                continue;
            }
            if let Some(recipient) = recipient {
                self.signals.arrived(&recipient);
            }
            tracing::warn!(
                delivery_id = %overdue.delivery_id,
                tracking_id = %overdue.tracking_id,
                receiver_org = %overdue.receiver_org,
                priority = %overdue.priority,
                overdue_ms = now.as_i64() - overdue.due.as_i64(),
                escalation = overdue.escalation.as_ref().map(OrgId::as_str),
                "request not answered within the receiver's response time"
            );
            reported.push(overdue);
        }
        Ok(reported)
    }
}
