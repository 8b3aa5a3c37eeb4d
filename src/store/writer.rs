//! The single writer of accepted messages: group commit.
//!
//! Request handlers send a job and wait for its reply; the writer takes every job already queued (up to
//! `max_batch`), applies them in one transaction and replies only after the commit. Under load one
//! fsync then covers many messages; when idle, a job is committed alone without waiting.
//!
//! If a batch fails, each of its jobs is retried alone so that one bad job cannot fail the others.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::messages::{self, CommitOutcome, LedgerRecord, NewMessage};
use super::outbox::{self, Claim, Claimed, Settlement};
use super::{Backend, StoreError};

enum Job {
    Accept(Box<NewMessage>, oneshot::Sender<Result<CommitOutcome, StoreError>>),
    Append(Vec<LedgerRecord>, oneshot::Sender<Result<(), StoreError>>),
    Settle(Vec<Settlement>, oneshot::Sender<Result<Vec<bool>, StoreError>>),
    Claim(Claim, oneshot::Sender<Result<Vec<Claimed>, StoreError>>),
    Shutdown(oneshot::Sender<()>),
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(super) fn spawn(pool: AnyPool, backend: Backend, max_batch: usize) -> Self {
        // The queue holds a few batches; beyond that, senders wait (back-pressure on ingest).
        let (jobs, rx) = mpsc::channel(max_batch.saturating_mul(4).max(16));
        tokio::spawn(run(pool, backend, rx, max_batch));
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

    /// Commits everything queued so far, then stops the writer. Later jobs get `WriterGone`.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.jobs.send(Job::Shutdown(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(pool: AnyPool, backend: Backend, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
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
        commit_batch(&pool, backend, batch).await;
        if stop.is_some() && rx.is_empty() {
            break;
        }
    }
    tracing::info!(stage = "store", "writer stopped");
    if let Some(reply) = stop {
        let _ = reply.send(());
    }
}

async fn commit_batch(pool: &AnyPool, backend: Backend, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let size = batch.len();
    match apply_all(pool, backend, &batch).await {
        Ok(results) => {
            tracing::debug!(stage = "store", batch = size, "batch committed");
            for (job, applied) in batch.into_iter().zip(results) {
                reply(job, Ok(applied));
            }
        }
        Err(e) if size > 1 => {
            tracing::warn!(stage = "store", batch = size, error = %e, "batch commit failed; retrying jobs one by one");
            for job in batch {
                let result = apply_all(pool, backend, std::slice::from_ref(&job)).await;
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
    Nothing,
}

/// Applies `batch` in one transaction. Ledger entries of accepted messages and appends come in job
/// order; settlements follow.
async fn apply_all(pool: &AnyPool, backend: Backend, batch: &[Job]) -> Result<Vec<Applied>, StoreError> {
    let mut tx = pool.begin().await?;
    let new: Vec<&NewMessage> = batch
        .iter()
        .filter_map(|job| match job {
            Job::Accept(message, _) => Some(&**message),
            _ => None,
        })
        .collect();
    let inserted = messages::insert_messages(&mut tx, backend, &new).await?;
    let (mut results, mut deliveries, mut ledger) = (Vec::with_capacity(batch.len()), Vec::new(), Vec::new());
    for job in batch {
        results.push(match job {
            Job::Accept(message, _) if inserted.contains(&message.tracking_id) => {
                deliveries.extend(message.deliveries.iter().map(|d| (&**message, d)));
                ledger.extend(message.ledger.iter());
                Applied::Commit(CommitOutcome::Stored)
            }
            Job::Accept(message, _) => Applied::Commit(messages::classify_existing(&mut tx, message).await?),
            Job::Append(entries, _) => {
                ledger.extend(entries.iter());
                Applied::Nothing
            }
            Job::Settle(..) | Job::Claim(..) | Job::Shutdown(_) => Applied::Nothing,
        });
    }
    let stored: Vec<&NewMessage> = new.iter().copied().filter(|m| inserted.contains(&m.tracking_id)).collect();
    messages::insert_patient_keys(&mut tx, backend, &stored).await?;
    messages::insert_deliveries(&mut tx, backend, &deliveries).await?;
    super::ledger::insert_ledger(&mut tx, backend, &ledger).await?;
    // Settlements after the inserts: a receipt may be about a delivery inserted in this very batch.
    for (job, result) in batch.iter().zip(results.iter_mut()) {
        match job {
            Job::Settle(settlements, _) => {
                *result = Applied::Settled(outbox::apply_settlements(&mut tx, backend, settlements).await?)
            }
            Job::Claim(claim, _) => *result = Applied::Claimed(outbox::claim(&mut tx, backend, claim).await?),
            _ => {}
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
        Job::Append(_, tx) => {
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
        Job::Shutdown(_) => {}
    }
}
