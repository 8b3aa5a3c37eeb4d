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
use super::settle::{OutboxRow, Settler};
use super::tls::Clients;
use crate::address::TargetPolicy;
use crate::config::DeliverySettings;
use crate::directory::Directory;
use crate::fhirxml::Converter;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::metrics::Metrics;
use crate::model::{DeliveryId, DeliveryMode, DeliveryState, Format, OrgId};
use crate::outcome::Text;
use crate::store::{Change, Claimed, Outbox, Renewal, Settlement, Store, StoreError};
use crate::time::Millis;

/// Header carrying the original `MessageHeader.id`, so that a receiver can drop a duplicate after a
/// retry without parsing the body.
pub const MESSAGE_ID_HEADER: &str = "X-Message-Id";
/// Header carrying the broker's tracking id of the message (the same in the ledger and the receipts).
pub const TRACKING_ID_HEADER: &str = "X-Tracking-Id";
/// Header carrying the hex SHA-256 of the body, so that a receiver can verify it got the exact bytes.
pub const PAYLOAD_HASH_HEADER: &str = "X-Payload-SHA256";
/// Header carrying the sending organisation as the broker authenticated it: its directory id, set by
/// the broker and never taken from the payload, so that a receiver need not trust `MessageHeader.sender`.
pub const SENDER_ORG_HEADER: &str = "X-Sender-Organization";
/// Header carrying each identifier the directory records for that organisation (`system|value`).
pub const SENDER_IDENTIFIER_HEADER: &str = "X-Sender-Identifier";

/// Rows looked at per expiry sweep.
const EXPIRY_BATCH: usize = 200;

/// Everything the workers share.
pub struct Pusher {
    store: Store,
    directory: Directory,
    /// Settles outcomes; the one the whole broker shares.
    settler: Settler,
    /// Where pushes may go (checked again here for addresses written as IP literals, which are not
    /// resolved; names are checked by the clients' resolver).
    targets: TargetPolicy,
    clients: Clients,
    backoff: Backoff,
    lease: Duration,
    poll: Duration,
    max_in_flight: usize,
    per_receiver: usize,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// Receipts for organisations that take XML are written as XML on the way out.
    xml: Arc<Converter>,
    /// The rows this node holds (claimed, not yet settled) with the end of their lease, renewed
    /// every third of a lease while the node lives ([`Pusher::keep_leases`]): a node that dies lets
    /// its rows go within one lease, however long their pushes would have taken.
    leases: Leases,
}

/// Held rows by id: their outbox and the end of their lease as last renewed.
type Leases = Arc<Mutex<HashMap<DeliveryId, (Outbox, Millis)>>>;

/// What the dispatcher knows of one organisation it pushes to.
struct Receiver {
    /// Rows claimed for it and not yet settled (waiting for the gate or being pushed).
    held: usize,
    /// `per_receiver` permits: pushes to it at once.
    gate: Arc<Semaphore>,
    /// Its last answer was a success or a refusal, not a retry. A healthy receiver gets rows claimed
    /// ahead ([`PREFETCH`] times its gate), so that claiming never limits it; an unhealthy one only
    /// as many as it may take at once, so that no claimed row outlives its lease waiting.
    healthy: bool,
}

type Receivers = Arc<Mutex<HashMap<OrgId, Receiver>>>;

/// Claimed-ahead rows per push slot for a healthy receiver.
const PREFETCH: usize = 16;

/// A claimed row's share of the bounds and its lease; given back (and the dispatcher woken) when
/// dropped, once the row is settled.
struct Held {
    _permit: tokio::sync::OwnedSemaphorePermit,
    receivers: Receivers,
    org: OrgId,
    wake: Arc<Notify>,
    id: DeliveryId,
    leases: Leases,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut receivers) = self.receivers.lock() {
            if let Some(receiver) = receivers.get_mut(&self.org) {
                receiver.held = receiver.held.saturating_sub(1);
            }
        }
        if let Ok(mut leases) = self.leases.lock() {
            leases.remove(&self.id);
        }
        self.wake.notify_one();
    }
}

/// How often queued rows are checked for an expired time to live.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);

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

/// What one pass of the dispatcher ([`Pusher::deliver_pending`]) did, per outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Handovers to their receivers.
    pub handovers: Outcomes,
    /// Receipts to their senders.
    pub receipts: Outcomes,
}

/// What became of the rows of one outbox in a pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Pushes answered with a 2xx.
    pub delivered: usize,
    /// Notifications to Notified Pull receivers answered with a 2xx: the delivery waits for the
    /// receiver to fetch.
    pub notified: usize,
    /// Attempts that failed in a way worth another try: rescheduled with backoff.
    pub retried: usize,
    /// Pushes refused for good (or whose payload was gone).
    pub failed: usize,
    /// Rows that outlived their time to live.
    pub expired: usize,
}

impl Outcomes {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl DispatchReport {
    /// Whether the pass pushed and expired nothing.
    pub fn is_empty(&self) -> bool {
        self.handovers.is_empty() && self.receipts.is_empty()
    }

    fn of(&mut self, outbox: Outbox) -> &mut Outcomes {
        match outbox {
            Outbox::Deliveries => &mut self.handovers,
            Outbox::Receipts => &mut self.receipts,
        }
    }

    /// Counts a finished push task; keeps the first error of one that could not settle its row.
    fn count_joined(&mut self, joined: Result<Pushed, tokio::task::JoinError>, first_error: &mut Option<StoreError>) {
        match joined {
            Ok((outbox, Ok(settled))) => {
                let outcomes = self.of(outbox);
                match settled {
                    Settled::Delivered => outcomes.delivered += 1,
                    Settled::Notified => outcomes.notified += 1,
                    Settled::Retried => outcomes.retried += 1,
                    Settled::Failed => outcomes.failed += 1,
                    Settled::Expired { applied } => outcomes.expired += usize::from(applied),
                    Settled::Released => {}
                }
            }
            Ok((_, Err(e))) => {
                first_error.get_or_insert(e);
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
}

/// How one claimed row was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Delivered,
    /// A Notified Pull receiver took the notification.
    Notified,
    Retried,
    Failed,
    Expired {
        applied: bool,
    },
    /// Given back untried (it waited too long for its turn); due again at once.
    Released,
}

/// What a push task returns: the outbox of its row and how the row was settled.
type Pushed = (Outbox, Result<Settled, StoreError>);

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Client(#[from] super::tls::ClientError),
}

impl Pusher {
    pub fn new(
        settler: Settler,
        directory: Directory,
        settings: &DeliverySettings,
        targets: TargetPolicy,
        metrics: Arc<Metrics>,
        xml: Arc<Converter>,
    ) -> Result<Self, PushError> {
        Ok(Self {
            store: settler.store().clone(),
            wake: settler.signals().push(),
            settler,
            directory,
            clients: Clients::new(settings, targets)?,
            targets,
            backoff: Backoff {
                initial: Duration::from_millis(settings.initial_backoff_ms),
                max: Duration::from_millis(settings.max_backoff_ms),
            },
            lease: Duration::from_millis(settings.lease_ms),
            poll: Duration::from_millis(settings.poll_ms),
            max_in_flight: settings.max_in_flight,
            per_receiver: settings.per_receiver,
            metrics,
            xml,
            leases: Arc::default(),
        })
    }

    /// The end of a lease taken or renewed at `now`.
    fn lease_from(&self, now: Millis) -> Millis {
        now.plus_millis(u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX))
    }

    /// How often held rows' leases are renewed: a third of a lease, so that one late renewal loses
    /// nothing.
    fn renew_every(&self) -> Duration {
        self.lease / 3
    }

    /// Renews the leases of every held row, every [`Pusher::renew_every`], until `stopped`.
    async fn keep_leases(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.renew_every()) => {}
                _ = stopped.changed() => {}
            }
            if *stopped.borrow() {
                break;
            }
            if let Err(e) = self.renew_held().await {
                tracing::warn!(stage = "delivery", error = %e, "lease renewal failed; retrying");
            }
        }
    }

    /// One renewal of the held rows' leases.
    async fn renew_held(&self) -> Result<(), StoreError> {
        let now = Millis::now();
        let until = self.lease_from(now);
        let held: Vec<(DeliveryId, Outbox)> = match self.leases.lock() {
            Ok(leases) => leases.iter().map(|(id, (outbox, _))| (id.clone(), *outbox)).collect(),
            Err(_) => return Ok(()),
        };
        for outbox in [Outbox::Deliveries, Outbox::Receipts] {
            let ids: Vec<DeliveryId> = held.iter().filter(|(_, o)| *o == outbox).map(|(id, _)| id.clone()).collect();
            if ids.is_empty() {
                continue;
            }
            let renewed =
                self.store.renew_leases(Renewal { outbox, ids: ids.clone(), now, lease_until: until }).await?;
            tracing::debug!(stage = "delivery", outbox = outbox.as_str(), held = ids.len(), renewed, "leases renewed");
            if let Ok(mut leases) = self.leases.lock() {
                for id in &ids {
                    if let Some(lease) = leases.get_mut(id) {
                        lease.1 = until;
                    }
                }
            }
        }
        Ok(())
    }

    /// The end of a held row's lease as last renewed.
    fn lease_of(&self, id: &DeliveryId) -> Option<Millis> {
        self.leases.lock().ok().and_then(|leases| leases.get(id).map(|(_, until)| *until))
    }

    /// Starts the dispatcher loop. Without it nothing is pushed unless [`Pusher::deliver_pending`] is
    /// called.
    pub fn spawn(self: &Arc<Self>) -> PushWorkers {
        let (stop, stopped) = watch::channel(false);
        let keeper = tokio::spawn(self.clone().keep_leases(stopped.clone()));
        let run = self.clone().run(stopped);
        let task = tokio::spawn(async move {
            run.await;
            let _ = keeper.await;
        });
        PushWorkers { stop, task }
    }

    /// One pass of the dispatcher, run to completion: expires what outlived its time to live, claims
    /// every row of both outboxes that is due now, pushes them (within the same bounds as the loop),
    /// and returns once every one of those pushes is settled, with what became of them.
    ///
    /// It runs the loop's own expiry sweep and claim rounds, for a caller that steps delivery itself
    /// (tests, with `delivery.background = false`, decide when each attempt happens). "Due now" is
    /// fixed when the pass starts: what the pass itself makes due (the receipt of a delivery it makes,
    /// a retry rescheduled with no backoff) waits for the next pass, so that each row is attempted at
    /// most once per pass and a pass always ends. Beside a running loop or other nodes it is safe (the
    /// leases keep them apart), but it then reports only the rows it claimed itself.
    pub async fn deliver_pending(self: &Arc<Self>) -> Result<DispatchReport, StoreError> {
        let due = Millis::now();
        // Every settlement of the pass then falls after `due`: what it reschedules is not due again
        // within the pass, even with no backoff.
        while Millis::now() <= due {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut report = DispatchReport::default();
        loop {
            let before = report;
            let looked_at = self.expire_due(&mut report).await?;
            if looked_at < EXPIRY_BATCH || report == before {
                break;
            }
        }
        let slots = Arc::new(Semaphore::new(self.max_in_flight.saturating_mul(PREFETCH)));
        let receivers: Receivers = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_error = None;
        // The pass holds its rows as the loop does: their leases are kept while it runs.
        let (stop_keeping, stopped) = watch::channel(false);
        let keeper = tokio::spawn(self.clone().keep_leases(stopped));
        // A round claims what the bounds leave room for; the rest waits for the pushes it started.
        loop {
            let claimed = match self.round(Some(due), &slots, &receivers, &mut tasks).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    first_error.get_or_insert(e);
                    0
                }
            };
            if claimed > 0 {
                continue;
            }
            if tasks.is_empty() || first_error.is_some() {
                break;
            }
            while let Some(joined) = tasks.join_next().await {
                report.count_joined(joined, &mut first_error);
            }
        }
        while let Some(joined) = tasks.join_next().await {
            report.count_joined(joined, &mut first_error);
        }
        let _ = stop_keeping.send(true);
        let _ = keeper.await;
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.max_in_flight.saturating_mul(PREFETCH)));
        let receivers: Receivers = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        let mut expired_at = tokio::time::Instant::now() - EXPIRY_EVERY;
        loop {
            if *stopped.borrow() {
                break;
            }
            if expired_at.elapsed() >= EXPIRY_EVERY {
                expired_at = tokio::time::Instant::now();
                if let Err(e) = self.expire_due(&mut DispatchReport::default()).await {
                    tracing::warn!(stage = "delivery", error = %e, "expiry sweep failed; retrying");
                }
            }
            if let Err(e) = self.round(None, &slots, &receivers, &mut tasks).await {
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

    /// Expires what outlived its time to live (up to [`EXPIRY_BATCH`] rows per outbox), counted in
    /// `report`. Returns how many rows it found in the fuller outbox.
    async fn expire_due(&self, report: &mut DispatchReport) -> Result<usize, StoreError> {
        let now = Millis::now();
        let mut looked_at = 0;
        for outbox in [Outbox::Deliveries, Outbox::Receipts] {
            let rows = self.store.expired_due(outbox, now, EXPIRY_BATCH).await?;
            looked_at = looked_at.max(rows.len());
            for row in rows {
                if self.expire(row).await? {
                    report.of(outbox).expired += 1;
                }
            }
        }
        Ok(looked_at)
    }

    /// Claims what is due (by `due`, or now), per organisation, within the bounds, and starts a task
    /// per row; the task waits for a push slot of its organisation. Returns how many rows it claimed.
    async fn round(
        self: &Arc<Self>,
        due: Option<Millis>,
        slots: &Arc<Semaphore>,
        receivers: &Receivers,
        tasks: &mut tokio::task::JoinSet<Pushed>,
    ) -> Result<usize, StoreError> {
        let now = Millis::now();
        let lease_until = self.lease_from(now);
        let now = due.unwrap_or(now);
        let mut free = slots.available_permits();
        let mut claims = Vec::new();
        // Organisations come from the directory (a handful), not from scanning the queue, so a round
        // costs the same with a backlog of a million rows as with none.
        let snapshot = self.directory.snapshot();
        for org in snapshot.organizations().iter().filter(|o| o.delivery.posts_to_address()) {
            for outbox in [Outbox::Deliveries, Outbox::Receipts] {
                // A Notified Pull receiver is notified of handovers; its receipts wait in its mailbox.
                if org.delivery == DeliveryMode::NotifiedPull && outbox == Outbox::Receipts {
                    continue;
                }
                let room = {
                    let Ok(mut receivers) = receivers.lock() else { return Ok(0) };
                    let receiver = receivers.entry(org.id.clone()).or_insert_with(|| Receiver {
                        held: 0,
                        gate: Arc::new(Semaphore::new(self.per_receiver)),
                        healthy: true,
                    });
                    let cap = if receiver.healthy { self.per_receiver * PREFETCH } else { self.per_receiver };
                    cap.saturating_sub(receiver.held).min(free)
                };
                if room == 0 || !self.store.has_due(outbox, &org.id, now).await? {
                    continue;
                }
                if let Ok(mut receivers) = receivers.lock() {
                    if let Some(receiver) = receivers.get_mut(&org.id) {
                        receiver.held += room;
                    }
                }
                free -= room;
                claims.push((outbox, org.id.clone(), room));
            }
        }
        // All claims of the round at once: they share one commit of the writer.
        let claimed = futures_util::future::join_all(
            claims.iter().map(|(outbox, org, take)| self.store.claim_due(*outbox, org, now, lease_until, *take)),
        )
        .await;
        let mut started = 0;
        for ((_, org, reserved), rows) in claims.into_iter().zip(claimed) {
            let rows = rows.unwrap_or_else(|e| {
                tracing::warn!(stage = "delivery", error = %e, "claim failed");
                Vec::new()
            });
            let gate = match receivers.lock() {
                Ok(mut receivers) => match receivers.get_mut(&org) {
                    // Give back what was reserved but not claimed.
                    Some(receiver) => {
                        receiver.held = receiver.held.saturating_sub(reserved - rows.len());
                        receiver.gate.clone()
                    }
                    None => continue,
                },
                Err(_) => return Ok(started),
            };
            for row in rows {
                let Ok(permit) = slots.clone().acquire_owned().await else { return Ok(started) };
                if let Ok(mut leases) = self.leases.lock() {
                    leases.insert(row.id.clone(), (row.outbox, lease_until));
                }
                let held = Held {
                    _permit: permit,
                    receivers: receivers.clone(),
                    org: org.clone(),
                    wake: self.wake.clone(),
                    id: row.id.clone(),
                    leases: self.leases.clone(),
                };
                let (pusher, gate) = (self.clone(), gate.clone());
                started += 1;
                tasks.spawn(async move {
                    let outbox = row.outbox;
                    // The gates are never closed.
                    let Ok(turn) = gate.acquire_owned().await else { return (outbox, Ok(Settled::Released)) };
                    let settled = pusher.push(row, lease_until, turn, held).await;
                    if let Err(e) = &settled {
                        // The row stays leased; when the lease runs out it is tried again.
                        tracing::error!(stage = "delivery", error = %e, "push could not be settled");
                    }
                    (outbox, settled)
                });
            }
        }
        Ok(started)
    }

    /// One attempt for one claimed row, settled.
    #[tracing::instrument(skip_all, fields(stage = "delivery", outbox = row.outbox.as_str(), id = %row.id, tracking_id = %row.tracking_id, org = %row.org, attempt = row.attempts, trace))]
    async fn push(
        &self,
        row: Claimed,
        lease_until: Millis,
        turn: tokio::sync::OwnedSemaphorePermit,
        held: Held,
    ) -> Result<Settled, StoreError> {
        // Leases are renewed while the row is held, so a long wait for its turn or a slow receiver
        // loses nothing. A row whose lease was not kept up (renewals failing: the database is
        // unreachable or the node stalled) goes back to the queue untried rather than risk a second
        // node claiming it while it is pushed here.
        let lease = self.lease_of(&row.id).unwrap_or(lease_until);
        let margin = u64::try_from(self.renew_every().as_millis()).unwrap_or(u64::MAX);
        if Millis::now().plus_millis(margin) >= lease {
            drop(turn);
            return self.release(&row).await;
        }
        let Some(parcel) = self.store.parcel(&row).await? else {
            return self.finish(&row, DeliveryState::Failed, &Text::new("receipt-purged"), "purged").await;
        };
        let snapshot = self.directory.snapshot();
        let org = snapshot.organizations().iter().find(|o| o.id == row.org);
        let notified = |o: &&crate::model::Organization| {
            o.delivery == DeliveryMode::NotifiedPull && row.outbox == Outbox::Deliveries
        };
        let Some(org) = org.filter(|o| o.delivery == DeliveryMode::Push || notified(o)) else {
            // The organisation left the directory or now pulls: not ours to push. Look again later.
            return self.retry(&row, None, "no push endpoint in the directory").await;
        };
        // A Notified Pull receiver gets a notification Task at its FHIR base, not the message.
        let notify = org.delivery == DeliveryMode::NotifiedPull;
        let url = if notify {
            format!("{}/Task", org.address.trim_end_matches('/'))
        } else {
            format!("{}/$process-message", org.address.trim_end_matches('/'))
        };
        if !self.address_allowed(&url) {
            // The directory may have been imported under another policy: no connection is made.
            return self
                .retry(
                    &row,
                    None,
                    "the push address is not one the broker pushes to (loopback, private, \
                 link-local)",
                )
                .await;
        }
        let client = match self.clients.for_endpoint(org.ca_pem.as_deref(), org.client_certificate) {
            Ok(client) => client,
            Err(e) => return self.retry(&row, None, &e.to_string()).await,
        };
        let format = org.format;
        let header_id = parcel.header_id.clone();
        let sender_org = parcel.sender_org.clone();
        let stored = if notify {
            let requester = parcel
                .sender_org
                .as_ref()
                .and_then(|sender| snapshot.organizations().iter().find(|o| &o.id == sender))
                .and_then(|o| super::notify::preferred(&o.identifiers));
            let now = Millis::now().to_rfc3339_secs();
            let notice = super::notify::Notice {
                delivery: &row.id,
                tracking: &row.tracking_id,
                base_url: self.settler.base_url(),
                requester,
                owner: super::notify::preferred(&org.identifiers),
                now: &now,
            };
            // The broker's own JSON, like a receipt.
            Err(super::notify::notification(&notice))
        } else {
            parcel.in_format(format)
        };
        let (body, hash) = match stored {
            Ok(stored) => stored,
            Err(json) if format == Format::Json => (json, None),
            // A receipt or a notification for an organisation that takes XML.
            Err(json) => match self.xml.write(&json) {
                Ok(xml) => (xml.into_bytes(), None),
                Err(e) => {
                    tracing::error!(error = %e, "cannot write the message as XML");
                    let summary = Text::new("receipt-xml-unwritable");
                    return self.finish(&row, DeliveryState::Failed, &summary, "xml").await;
                }
            },
        };
        let hash = hash.unwrap_or_else(|| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body)));
        // A W3C trace context per attempt, so that the receiver's logs and the broker's meet.
        let span_id = uuid::Uuid::new_v4().simple().to_string();
        let traceparent = format!("00-{}-{}-01", uuid::Uuid::new_v4().simple(), &span_id[..16]);
        tracing::Span::current().record("trace", traceparent.as_str());
        let mut request = client.post(&url);
        if let Some(sender) = &sender_org {
            request = request.header(SENDER_ORG_HEADER, sender.as_str());
            let identifiers = snapshot.organizations().iter().find(|o| &o.id == sender).map(|o| &o.identifiers[..]);
            for identifier in identifiers.unwrap_or_default() {
                request = request.header(SENDER_IDENTIFIER_HEADER, identifier.to_string());
            }
        }
        let result = request
            .header(reqwest::header::CONTENT_TYPE, format.media_type())
            .header(reqwest::header::ACCEPT, format.media_type())
            .header(MESSAGE_ID_HEADER, header_id.as_str())
            .header(TRACKING_ID_HEADER, row.tracking_id.as_str())
            .header(PAYLOAD_HASH_HEADER, &hash)
            .header("traceparent", &traceparent)
            .body(body)
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
        // The receiver is done with us: its slot goes to the next message now, while this outcome is
        // committed. The row stays leased (and held) until then, so no one claims it meanwhile.
        drop(turn);
        if let Ok(mut receivers) = held.receivers.lock() {
            if let Some(receiver) = receivers.get_mut(&row.org) {
                receiver.healthy = !matches!(verdict, Verdict::Retry { .. });
            }
        }
        match verdict {
            Verdict::Delivered if notify => {
                self.metrics.attempt(row.outbox, "notified");
                tracing::info!("notified");
                self.notified(&row).await
            }
            Verdict::Delivered => {
                self.metrics.attempt(row.outbox, "delivered");
                tracing::info!("delivered");
                self.finish(&row, DeliveryState::Delivered, &Text::new("receipt-delivered"), "2xx").await
            }
            Verdict::Retry { not_before, reason } => {
                self.metrics.attempt(row.outbox, "retry");
                tracing::info!(reason = %reason, "push failed; will retry");
                self.retry(&row, not_before, &reason).await
            }
            Verdict::Failed { reason } => {
                self.metrics.attempt(row.outbox, "failed");
                tracing::warn!(reason = %reason, "push refused by the receiver; not retried");
                let summary = Text::new("receipt-refused-permanently").arg("reason", &reason);
                self.finish(&row, DeliveryState::Failed, &summary, &reason).await
            }
        }
    }

    /// Whether the host of `url`, when written as an IP address, may be reached (names are checked by
    /// the clients' resolver at connect time).
    fn address_allowed(&self, url: &str) -> bool {
        match url::Url::parse(url).ok().and_then(|u| u.host().map(|h| h.to_owned())) {
            Some(url::Host::Ipv4(ip)) => self.targets.allows(ip.into()),
            Some(url::Host::Ipv6(ip)) => self.targets.allows(ip.into()),
            Some(url::Host::Domain(_)) => true,
            None => false,
        }
    }

    /// Gives a claimed row back to the queue as it was: due now, the claim's attempt not counted.
    async fn release(&self, row: &Claimed) -> Result<Settled, StoreError> {
        let settlement = Settlement::new(row.outbox, row.id.clone(), Millis::now(), Change::Release, Vec::new(), None);
        self.store.writer().settle(vec![settlement]).await?;
        Ok(Settled::Released)
    }

    fn entry(&self, row: &Claimed, event: LedgerEvent, at: Millis, outcome: &str) -> LedgerRecord {
        self.settler.entry(&outbox_row(row), event, at, outcome)
    }

    async fn retry(&self, row: &Claimed, not_before: Option<Duration>, reason: &str) -> Result<Settled, StoreError> {
        let now = Millis::now();
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let wait = self.backoff.delay(attempts, not_before);
        let next_attempt_at = now.plus_millis(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        let change = Change::Retry { next_attempt_at, error: reason.to_owned() };
        let ledger = vec![self.entry(row, LedgerEvent::DeliveryAttempt, now, &format!("{reason}; retry"))];
        let settlement = Settlement::new(row.outbox, row.id.clone(), now, change, ledger, None);
        self.store.writer().settle(vec![settlement]).await?;
        Ok(Settled::Retried)
    }

    /// The receiver took the notification: the delivery stays queued, not due again, until the
    /// receiver fetches it or its time to live ends.
    async fn notified(&self, row: &Claimed) -> Result<Settled, StoreError> {
        let now = Millis::now();
        let ledger = vec![self.entry(row, LedgerEvent::DeliveryAttempt, now, "notified 2xx")];
        let settlement = Settlement::new(row.outbox, row.id.clone(), now, Change::Notified, ledger, None);
        self.store.writer().settle(vec![settlement]).await?;
        Ok(Settled::Notified)
    }

    /// Moves a row to a final state (`Delivered`, `Failed`, `Expired`), with its receipt.
    async fn finish(
        &self,
        row: &Claimed,
        to: DeliveryState,
        summary: &Text,
        outcome: &str,
    ) -> Result<Settled, StoreError> {
        let now = Millis::now();
        let attempt =
            (to != DeliveryState::Expired).then(|| self.entry(row, LedgerEvent::DeliveryAttempt, now, outcome));
        let applied = self.settler.finish(&outbox_row(row), to, summary, outcome, attempt).await?;
        if to == DeliveryState::Delivered && row.outbox == Outbox::Deliveries && applied {
            self.metrics.delivered_after(now.as_i64().saturating_sub(row.created_at.as_i64()) as f64 / 1000.0);
        }
        Ok(match to {
            DeliveryState::Delivered => Settled::Delivered,
            DeliveryState::Expired => Settled::Expired { applied },
            _ => Settled::Failed,
        })
    }

    /// Returns whether it expired (`false`: the row had moved on meanwhile).
    async fn expire(&self, row: Claimed) -> Result<bool, StoreError> {
        tracing::info!(stage = "delivery", outbox = row.outbox.as_str(), id = %row.id, "time to live passed");
        let summary = Text::new("receipt-expired");
        let settled = self.finish(&row, DeliveryState::Expired, &summary, "ttl").await?;
        Ok(matches!(settled, Settled::Expired { applied: true }))
    }
}

fn outbox_row(row: &Claimed) -> OutboxRow<'_> {
    OutboxRow { outbox: row.outbox, id: &row.id, tracking_id: &row.tracking_id, org: &row.org }
}
