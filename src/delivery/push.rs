//! The push workers: deliver queued handovers to receivers' endpoints and receipts to senders'.
//!
//! One dispatcher loop claims due rows from the database with a lease (so that a crash mid-push leads
//! to a retry when the lease runs out, never to a loss, and several broker nodes never push the same
//! row at once) and hands each to a task. Concurrency is bounded twice: overall (`max_in_flight`) and
//! per organisation (`per_receiver`), and the dispatcher claims per organisation, so a receiver that is
//! down or slow holds only its own slots and its own queue; every other receiver is served as before
//! (no head-of-line blocking). A failing row is rescheduled with backoff, which lets the rows behind it
//! go first.
//!
//! Each outcome is settled through the store's writer in one transaction with its ledger entries and
//! the sender's receipt, guarded by the state machine of [`super::DeliveryState`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};

use super::retry::{judge, judge_error, Backoff, Verdict};
use super::tls::Clients;
use super::DeliveryState;
use crate::config::DeliverySettings;
use crate::directory::{DeliveryMode, Directory};
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::metrics::Metrics;
use crate::receipts::{receipt_for, ReceiptInput};
use crate::store::{Change, Claimed, DeliveryContext, Outbox, Settlement, Store, StoreError};
use crate::time::Millis;

/// Header carrying the original `MessageHeader.id`, so that a receiver can drop a duplicate after a
/// retry without parsing the body.
pub const MESSAGE_ID_HEADER: &str = "X-Message-Id";
/// Header carrying the broker's tracking id of the message (the same in the ledger and the receipts).
pub const TRACKING_ID_HEADER: &str = "X-Tracking-Id";
/// Header carrying the hex SHA-256 of the body, so that a receiver can verify it got the exact bytes.
pub const PAYLOAD_HASH_HEADER: &str = "X-Payload-SHA256";

/// Rows looked at per expiry sweep.
const EXPIRY_BATCH: usize = 200;

/// Everything the workers share.
pub struct Pusher {
    store: Store,
    directory: Directory,
    clients: Clients,
    backoff: Backoff,
    lease: Duration,
    poll: Duration,
    max_in_flight: usize,
    per_receiver: usize,
    ttl_secs: u64,
    base_url: String,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

/// Handle to the running dispatcher.
pub struct PushWorkers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PushWorkers {
    /// Stops claiming, lets the pushes in flight finish (each is bounded by the request timeout), and
    /// returns. Rows not finished stay leased and are retried when their lease runs out.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Client(#[from] super::tls::ClientError),
}

impl Pusher {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        directory: Directory,
        settings: &DeliverySettings,
        ttl_secs: u64,
        base_url: String,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, PushError> {
        Ok(Self {
            store,
            directory,
            clients: Clients::new(settings)?,
            backoff: Backoff {
                initial: Duration::from_millis(settings.initial_backoff_ms),
                max: Duration::from_millis(settings.max_backoff_ms),
            },
            lease: Duration::from_millis(settings.lease_ms),
            poll: Duration::from_millis(settings.poll_ms),
            max_in_flight: settings.max_in_flight,
            per_receiver: settings.per_receiver,
            ttl_secs,
            base_url,
            wake,
            metrics,
        })
    }

    /// Starts the dispatcher.
    pub fn spawn(self) -> PushWorkers {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(Arc::new(self).run(stopped));
        PushWorkers { stop, task }
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.max_in_flight));
        let busy: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            if *stopped.borrow() {
                break;
            }
            if let Err(e) = self.round(&slots, &busy, &mut tasks).await {
                tracing::warn!(stage = "delivery", error = %e, "dispatch round failed; retrying");
            }
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = stopped.changed() => {}
            }
        }
        tracing::info!(stage = "delivery", in_flight = tasks.len(), "push workers stopping");
        while tasks.join_next().await.is_some() {}
    }

    /// Expires what outlived its time to live, then claims what is due, per organisation.
    async fn round(
        self: &Arc<Self>,
        slots: &Arc<Semaphore>,
        busy: &Arc<Mutex<HashMap<String, usize>>>,
        tasks: &mut tokio::task::JoinSet<()>,
    ) -> Result<(), StoreError> {
        let now = Millis::now();
        for outbox in [Outbox::Handovers, Outbox::Receipts] {
            for row in self.store.expired_due(outbox, now, EXPIRY_BATCH).await? {
                self.expire(row).await?;
            }
        }
        for outbox in [Outbox::Handovers, Outbox::Receipts] {
            for (org, due) in self.store.due_orgs(outbox, now).await? {
                let running = busy.lock().map(|b| b.get(&org).copied().unwrap_or(0)).unwrap_or(usize::MAX);
                let take = self.per_receiver.saturating_sub(running).min(slots.available_permits());
                let take = take.min(usize::try_from(due).unwrap_or(usize::MAX));
                if take == 0 {
                    continue;
                }
                let lease_until = now.plus_millis(u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX));
                for row in self.store.claim_due(outbox, &org, now, lease_until, take).await? {
                    let Ok(permit) = slots.clone().acquire_owned().await else { return Ok(()) };
                    if let Ok(mut b) = busy.lock() {
                        *b.entry(row.org.clone()).or_default() += 1;
                    }
                    let (pusher, busy) = (self.clone(), busy.clone());
                    tasks.spawn(async move {
                        let org = row.org.clone();
                        if let Err(e) = pusher.push(row).await {
                            // The row stays leased; when the lease runs out it is tried again.
                            tracing::error!(stage = "delivery", error = %e, "push could not be settled");
                        }
                        if let Ok(mut b) = busy.lock() {
                            if let Some(n) = b.get_mut(&org) {
                                *n = n.saturating_sub(1);
                            }
                        }
                        drop(permit);
                        pusher.wake.notify_one();
                    });
                }
            }
        }
        Ok(())
    }

    /// One attempt for one claimed row, settled.
    #[tracing::instrument(skip_all, fields(stage = "delivery", outbox = row.outbox.as_str(), id = %row.id, tracking_id = %row.tracking_id, org = %row.org, attempt = row.attempts))]
    async fn push(&self, row: Claimed) -> Result<(), StoreError> {
        let Some(parcel) = self.store.parcel(&row).await? else {
            return self.finish(&row, DeliveryState::Failed, "the payload is no longer stored", "purged").await;
        };
        let snapshot = self.directory.snapshot();
        let org = snapshot.organizations().iter().find(|o| o.id.as_str() == row.org);
        let Some(org) = org.filter(|o| o.delivery == DeliveryMode::Push) else {
            // The organisation left the directory or now pulls: not ours to push. Look again later.
            return self.retry(&row, None, "no push endpoint in the directory").await;
        };
        let url = format!("{}/$process-message", org.address.trim_end_matches('/'));
        let client = match self.clients.for_endpoint(org.ca_pem.as_deref(), org.client_certificate) {
            Ok(client) => client,
            Err(e) => return self.retry(&row, None, &e.to_string()).await,
        };
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&parcel.payload));
        let result = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
            .header(reqwest::header::ACCEPT, "application/fhir+json")
            .header(MESSAGE_ID_HEADER, &parcel.header_id)
            .header(TRACKING_ID_HEADER, &row.tracking_id)
            .header(PAYLOAD_HASH_HEADER, &hash)
            .body(parcel.payload)
            .send()
            .await;
        let verdict = match result {
            Ok(response) => {
                let verdict = judge(response.status(), response.headers());
                // Read (and drop) the answer so that the connection can be reused.
                let _ = response.bytes().await;
                verdict
            }
            Err(e) => judge_error(&e),
        };
        match verdict {
            Verdict::Delivered => {
                self.metrics.attempt(row.outbox, "delivered");
                tracing::info!("delivered");
                self.finish(&row, DeliveryState::Delivered, "Delivered to the receiver's system.", "2xx").await
            }
            Verdict::Retry { not_before, reason } => {
                self.metrics.attempt(row.outbox, "retry");
                tracing::info!(reason = %reason, "push failed; will retry");
                self.retry(&row, not_before, &reason).await
            }
            Verdict::Failed { reason } => {
                self.metrics.attempt(row.outbox, "failed");
                tracing::warn!(reason = %reason, "push refused by the receiver; not retried");
                let summary = format!("The receiver's system refused the message permanently (HTTP {reason}).");
                self.finish(&row, DeliveryState::Failed, &summary, &reason).await
            }
        }
    }

    fn entry(&self, row: &Claimed, event: LedgerEvent, at: Millis, outcome: &str) -> LedgerRecord {
        let mut entry = LedgerRecord::new(event, at);
        entry.tracking_id = Some(row.tracking_id.clone());
        entry.delivery_id = Some(row.id.clone());
        entry.receiver_org = Some(row.org.clone());
        entry.outcome = Some(match row.outbox {
            Outbox::Handovers => outcome.to_owned(),
            Outbox::Receipts => format!("receipt {outcome}"),
        });
        entry
    }

    async fn retry(&self, row: &Claimed, not_before: Option<Duration>, reason: &str) -> Result<(), StoreError> {
        let now = Millis::now();
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let wait = self.backoff.delay(attempts, not_before);
        let next_attempt_at = now.plus_millis(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        let settlement = Settlement {
            outbox: row.outbox,
            id: row.id.clone(),
            at: now,
            change: Change::Retry { next_attempt_at, error: reason.to_owned() },
            ledger: vec![self.entry(row, LedgerEvent::DeliveryAttempt, now, &format!("{reason}; retry"))],
            receipt: None,
        };
        self.store.writer().settle(vec![settlement]).await?;
        Ok(())
    }

    /// Moves a row to a final state (`Delivered`, `Failed`, `Expired`), with its receipt.
    async fn finish(&self, row: &Claimed, to: DeliveryState, summary: &str, outcome: &str) -> Result<(), StoreError> {
        let now = Millis::now();
        let event = match to {
            DeliveryState::Delivered => LedgerEvent::Delivered,
            DeliveryState::Expired => LedgerEvent::Expired,
            _ => LedgerEvent::Failed,
        };
        let mut ledger = Vec::new();
        if to != DeliveryState::Expired {
            ledger.push(self.entry(row, LedgerEvent::DeliveryAttempt, now, outcome));
        }
        ledger.push(self.entry(row, event, now, outcome));
        let mut receipt = None;
        if row.outbox == Outbox::Handovers {
            if let Some(context) = self.store.delivery_context(&row.id).await? {
                fill_parties(&mut ledger, &context);
                receipt = self.receipt(&context, to, summary, now, &mut ledger);
            }
        }
        let from = from_states(to);
        let change = Change::Finish {
            to: to.as_str(),
            from,
            error: (to != DeliveryState::Delivered).then(|| outcome.to_owned()),
            delivered: to == DeliveryState::Delivered,
        };
        let settlement = Settlement { outbox: row.outbox, id: row.id.clone(), at: now, change, ledger, receipt };
        let applied = self.store.writer().settle(vec![settlement]).await?;
        if to == DeliveryState::Delivered && row.outbox == Outbox::Handovers && applied.first() == Some(&true) {
            self.metrics.delivered_after(now.as_i64().saturating_sub(row.created_at.as_i64()) as f64 / 1000.0);
        }
        Ok(())
    }

    /// The sender's receipt for a state change, if it wants one; its ledger entry goes to `ledger`.
    fn receipt(
        &self,
        context: &DeliveryContext,
        state: DeliveryState,
        summary: &str,
        now: Millis,
        ledger: &mut Vec<LedgerRecord>,
    ) -> Option<crate::store::NewReceipt> {
        let input = ReceiptInput {
            state,
            summary,
            receiver_issues: &[],
            base_url: &self.base_url,
            now,
            ttl_secs: self.ttl_secs,
        };
        match receipt_for(&self.directory.snapshot(), context, &input) {
            Ok(Some(receipt)) => {
                let mut entry = LedgerRecord::new(LedgerEvent::ReceiptCreated, now);
                entry.tracking_id = Some(context.tracking_id.clone());
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

    async fn expire(&self, row: Claimed) -> Result<(), StoreError> {
        tracing::info!(stage = "delivery", outbox = row.outbox.as_str(), id = %row.id, "time to live passed");
        let summary = "The message was not delivered within its time to live and will not be delivered.";
        self.finish(&row, DeliveryState::Expired, summary, "ttl").await
    }
}

/// The states from which `to` may be reached (the state machine's inverse), for the store's guard.
pub fn from_states(to: DeliveryState) -> Vec<&'static str> {
    use super::DeliveryEvent as E;
    let event = match to {
        DeliveryState::Delivered => E::Delivered,
        DeliveryState::Failed => E::PermanentFailure,
        DeliveryState::Expired => E::TimeToLivePassed,
        DeliveryState::AcceptedByReceiver => E::ReceiverAccepted,
        DeliveryState::RejectedByReceiver => E::ReceiverRejected,
        DeliveryState::Queued => return Vec::new(),
    };
    DeliveryState::ALL.into_iter().filter(|s| s.transition(event) == Some(to)).map(DeliveryState::as_str).collect()
}

fn fill_parties(ledger: &mut [LedgerRecord], context: &DeliveryContext) {
    for entry in ledger {
        entry.header_id.get_or_insert_with(|| context.header_id.clone());
        entry.sender_org.get_or_insert_with(|| context.sender_org.clone());
        entry.event_code.get_or_insert_with(|| context.event_code.clone());
    }
}
