//! The single writer of accepted messages: group commit.
//!
//! Request handlers send a job and wait for its reply; the writer takes every job already queued (up to
//! `max_batch`), applies them in one transaction and replies only after the commit. Under load one
//! fsync then covers many messages; when idle, a job is committed alone without waiting.
//!
//! If a batch fails, each of its jobs is retried alone so that one bad job cannot fail the others.

use std::collections::HashSet;

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::capacity::{self, CapacityUpdate};
use super::directory::{self, DirectoryUpdate, Removal};
use super::forwarding;
use super::messages::{self, CommitOutcome, NewMessage};
use super::outbox::{self, Claim, Claimed, Renewal, Settlement};
use super::overdue::{self, OverdueMark};
use super::retention::{self, Purge, Purged};
use super::tokens::{self, TokenChange, TokenRecord};
use super::{Backend, StoreError};
use crate::ledger::LedgerRecord;

enum Job {
    Accept(Box<NewMessage>, oneshot::Sender<Result<CommitOutcome, StoreError>>),
    Append(Vec<LedgerRecord>, oneshot::Sender<Result<(), StoreError>>),
    Settle(Vec<Settlement>, oneshot::Sender<Result<Vec<bool>, StoreError>>),
    Claim(Claim, oneshot::Sender<Result<Vec<Claimed>, StoreError>>),
    Renew(Renewal, oneshot::Sender<Result<usize, StoreError>>),
    Purge(Purge, oneshot::Sender<Result<Purged, StoreError>>),
    Directory(Box<DirectoryUpdate>, oneshot::Sender<Result<Removal, StoreError>>),
    Tokens(TokenChange, oneshot::Sender<Result<Vec<TokenRecord>, StoreError>>),
    Capacity(Box<CapacityUpdate>, oneshot::Sender<Result<(), StoreError>>),
    // Urgency (issue 14, item 5): deliveries reported overdue, each with its entries and receipt.
    Overdue(Vec<OverdueMark>, oneshot::Sender<Result<Vec<bool>, StoreError>>),
    Shutdown(oneshot::Sender<()>),
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// What the writer commits to.
struct Database {
    pool: AnyPool,
    backend: Backend,
    /// Append ledger entries and patient keys. Off only to measure what the ledger costs
    /// (`ledger.enabled`, demo mode only).
    ledger: bool,
    /// Keep the quality counters with the ledger entries they count. Off only to measure what they
    /// cost (`ledger.quality_counters`, demo mode only).
    quality: bool,
}

/// What the writer records beside the state it commits: both on, except to measure their cost.
#[derive(Debug, Clone, Copy)]
pub struct Recording {
    pub ledger: bool,
    pub quality_counters: bool,
}

impl Default for Recording {
    fn default() -> Self {
        Self { ledger: true, quality_counters: true }
    }
}

impl Writer {
    pub(super) fn spawn(pool: AnyPool, backend: Backend, max_batch: usize, recording: Recording) -> Self {
        // The queue holds a few batches; beyond that, senders wait (back-pressure on ingest).
        let (jobs, rx) = mpsc::channel(max_batch.saturating_mul(4).max(16));
        let Recording { ledger, quality_counters: quality } = recording;
        tokio::spawn(run(Database { pool, backend, ledger, quality }, rx, max_batch));
        Self { jobs }
    }

    /// Stores an accepted message with its deliveries and ledger entries, atomically.
    pub async fn accept(&self, message: NewMessage) -> Result<CommitOutcome, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Accept(Box::new(message), reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Appends ledger entries that belong to no stored message (e.g. a rejected submission).
    pub async fn append_ledger(&self, entries: Vec<LedgerRecord>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Append(entries, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Applies state changes of outbox rows (with their ledger entries and receipts); `true` for each
    /// change that applied (a guarded change whose row had moved on does not).
    pub async fn settle(&self, settlements: Vec<Settlement>) -> Result<Vec<bool>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Settle(settlements, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Claims due outbox rows (see `Store::claim_due`).
    pub async fn claim(&self, claim: Claim) -> Result<Vec<Claimed>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Claim(claim, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Extends the leases of held outbox rows (see `Store::renew_leases`).
    pub async fn renew(&self, renewal: Renewal) -> Result<usize, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Renew(renewal, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Removes the payloads due for purging, with their `purged` ledger entries; returns what was purged.
    pub async fn purge(&self, purge: Purge) -> Result<Purged, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Purge(purge, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Changes the directory with its ledger entries (appended only if it applied): `Removed` when the
    /// change applied, `NotFound` or `InUse` when its removal did not (and nothing changed).
    pub async fn change_directory(&self, update: DirectoryUpdate) -> Result<Removal, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Directory(Box::new(update), reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Issues or revokes tokens with their `token-issued` / `token-revoked` ledger entries, atomically;
    /// returns the tokens issued or revoked (none when nothing was left to revoke).
    pub async fn change_tokens(&self, change: TokenChange) -> Result<Vec<TokenRecord>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Tokens(change, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stores a capacity report's counts with its ledger entry, atomically.
    pub async fn report_capacity(&self, update: CapacityUpdate) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Capacity(Box::new(update), reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    // Urgency (issue 14, item 5).

    /// Marks deliveries overdue (guarded: each once, however many nodes sweep) with their ledger entries
    /// and the senders' receipts; `true` for each mark that applied.
    pub async fn mark_overdue(&self, marks: Vec<OverdueMark>) -> Result<Vec<bool>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job::Overdue(marks, reply)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Commits everything queued so far, then stops the writer. Later jobs get `WriterGone`.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.jobs.send(Job::Shutdown(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(target: Database, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut stop: Option<oneshot::Sender<()>> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::with_capacity(max_batch);
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Shutdown(reply) => {
                    // Refuse new jobs, but commit the ones already queued.
                    rx.close();
                    stop = Some(reply);
                }
                job => batch.push(job),
            }
            if batch.len() < max_batch {
                next = rx.try_recv().ok();
            }
        }
        commit_batch(&target, batch).await;
        if stop.is_some() && rx.is_empty() {
            break;
        }
    }
    tracing::info!(stage = "store", "writer stopped");
    if let Some(reply) = stop {
        let _ = reply.send(());
    }
}

async fn commit_batch(target: &Database, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let size = batch.len();
    match apply_all(target, &batch).await {
        Ok(results) => {
            tracing::debug!(stage = "store", batch = size, "batch committed");
            for (job, applied) in batch.into_iter().zip(results) {
                reply(job, Ok(applied));
            }
        }
        Err(e) if size > 1 => {
            tracing::warn!(stage = "store", batch = size, error = %e, "batch commit failed; retrying jobs one by one");
            for job in batch {
                let result = apply_all(target, std::slice::from_ref(&job)).await;
                let result = result.map(|mut r| r.remove(0)).map_err(|e| {
                    tracing::error!(stage = "store", error = ?e, "commit failed");
                    StoreError::CommitFailed
                });
                reply(job, result);
            }
        }
        Err(e) => {
            tracing::error!(stage = "store", error = ?e, "commit failed");
            for job in batch {
                reply(job, Err(StoreError::CommitFailed));
            }
        }
    }
}

/// What one job did.
enum Applied {
    Commit(CommitOutcome),
    Settled(Vec<bool>),
    Claimed(Vec<Claimed>),
    Renewed(usize),
    Purged(Purged),
    Directory(Removal),
    Tokens(Vec<TokenRecord>),
    Overdue(Vec<bool>),
    Nothing,
}

/// Applies `batch` in one transaction. Ledger entries are appended grouped by kind, each group in job
/// order: those of accepted messages and appends, then those of settlements, then those of token
/// changes, then those of purges, then those of overdue deliveries.
async fn apply_all(target: &Database, batch: &[Job]) -> Result<Vec<Applied>, StoreError> {
    let backend = target.backend;
    let mut tx = target.pool.begin().await?;
    // A forwarded message is stored only if its original moves to `forwarded` in this transaction.
    let mut moved = HashSet::new();
    for job in batch {
        if let Job::Accept(message, _) = job {
            if let Some(link) = &message.forwarding {
                if !forwarding::claim_original(&mut tx, link, message.received_at).await? {
                    moved.insert(message.tracking_id.clone());
                }
            }
        }
    }
    let new: Vec<&NewMessage> = batch
        .iter()
        .filter_map(|job| match job {
            Job::Accept(message, _) if !moved.contains(&message.tracking_id) => Some(&**message),
            _ => None,
        })
        .collect();
    let inserted = messages::insert_messages(&mut tx, backend, &new).await?;
    let (mut results, mut deliveries, mut ledger) = (Vec::with_capacity(batch.len()), Vec::new(), Vec::new());
    for job in batch {
        results.push(match job {
            Job::Accept(message, _) if moved.contains(&message.tracking_id) => {
                Applied::Commit(CommitOutcome::OriginalMoved)
            }
            Job::Accept(message, _) if inserted.contains(&message.tracking_id) => {
                deliveries.extend(message.deliveries.iter().map(|d| (&**message, d)));
                ledger.extend(message.ledger.iter());
                if let Some(link) = &message.forwarding {
                    ledger.extend(link.ledger.iter());
                }
                Applied::Commit(CommitOutcome::Stored)
            }
            Job::Accept(message, _) => Applied::Commit(messages::classify_existing(&mut tx, message).await?),
            Job::Append(entries, _) => {
                ledger.extend(entries.iter());
                Applied::Nothing
            }
            Job::Settle(..)
            | Job::Claim(..)
            | Job::Renew(..)
            | Job::Purge(..)
            | Job::Directory(..)
            | Job::Tokens(..)
            | Job::Capacity(..)
            | Job::Overdue(..)
            | Job::Shutdown(_) => Applied::Nothing,
        });
    }
    let stored: Vec<&NewMessage> = new.iter().copied().filter(|m| inserted.contains(&m.tracking_id)).collect();
    if target.ledger {
        messages::insert_patient_keys(&mut tx, backend, &stored).await?;
    }
    messages::insert_deliveries(&mut tx, backend, &deliveries).await?;
    for message in &stored {
        if let Some(link) = &message.forwarding {
            forwarding::insert(&mut tx, &message.tracking_id, link, message.received_at).await?;
        }
    }
    // Settlements after the inserts: a receipt may be about a delivery inserted in this very batch.
    let (mut token_entries, mut purged_entries, mut overdue_entries) = (Vec::new(), Vec::new(), Vec::new());
    for (job, result) in batch.iter().zip(results.iter_mut()) {
        match job {
            Job::Settle(settlements, _) => {
                let (applied, entries) = outbox::apply_settlements(&mut tx, settlements).await?;
                ledger.extend(entries);
                *result = Applied::Settled(applied);
            }
            Job::Claim(claim, _) => *result = Applied::Claimed(outbox::claim(&mut tx, backend, claim).await?),
            Job::Renew(renewal, _) => *result = Applied::Renewed(outbox::renew(&mut tx, renewal).await?),
            Job::Purge(purge, _) => {
                let (purged, entries) = retention::purge(&mut tx, purge).await?;
                purged_entries.extend(entries);
                *result = Applied::Purged(purged);
            }
            Job::Directory(update, _) => {
                let removal = directory::apply(&mut tx, update).await?;
                if removal == Removal::Removed {
                    ledger.extend(update.ledger.iter());
                }
                *result = Applied::Directory(removal);
            }
            Job::Tokens(change, _) => {
                let (changed, entries) = tokens::apply(&mut tx, change).await?;
                token_entries.extend(entries);
                *result = Applied::Tokens(changed);
            }
            Job::Capacity(update, _) => {
                capacity::apply(&mut tx, update).await?;
                ledger.push(&update.ledger);
            }
            // Urgency: after the settlements of this batch, so an answer committed with it wins.
            Job::Overdue(marks, _) => {
                let (applied, entries) = overdue::apply(&mut tx, marks).await?;
                overdue_entries.extend(entries);
                *result = Applied::Overdue(applied);
            }
            _ => {}
        }
    }
    ledger.extend(token_entries.iter());
    ledger.extend(purged_entries.iter());
    ledger.extend(overdue_entries);
    if target.ledger {
        super::ledger::insert_ledger(&mut tx, backend, &ledger).await?;
        if target.quality {
            super::quality::count(&mut tx, backend, &ledger, &stored).await?;
        }
    }
    tx.commit().await?;
    Ok(results)
}

fn reply(job: Job, result: Result<Applied, StoreError>) {
    // A dropped receiver means the client went away; the commit stands either way.
    match job {
        Job::Accept(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Commit(outcome) => Ok(outcome),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Append(_, tx) | Job::Capacity(_, tx) => {
            let _ = tx.send(result.map(|_| ()));
        }
        Job::Settle(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Settled(done) => Ok(done),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Claim(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Claimed(rows) => Ok(rows),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Renew(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Renewed(n) => Ok(n),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Purge(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Purged(purged) => Ok(purged),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Directory(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Directory(removal) => Ok(removal),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Tokens(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Tokens(changed) => Ok(changed),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Overdue(_, tx) => {
            let _ = tx.send(result.and_then(|applied| match applied {
                Applied::Overdue(done) => Ok(done),
                _ => Err(StoreError::CommitFailed),
            }));
        }
        Job::Shutdown(_) => {}
    }
}
