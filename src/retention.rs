//! Retention: payloads (the patient data) are kept only as long as they are needed. Once no delivery of a
//! message is queued any more, its payload is purged `retention.payload_secs` later, and so is a
//! receipt's once it has left its outbox; the ledger keeps its entries (with the payload's SHA-256) and
//! gains a `purged` entry for each.

use std::time::Duration;

use crate::config::RetentionSettings;
use crate::store::{Purge, Store, StoreError};
use crate::time::Millis;

/// Payloads purged per transaction: small enough that ingest never waits long behind a purge.
const BATCH: usize = 200;

/// Purges every payload due now (messages and receipts), in batches. Returns how many of each.
pub async fn purge_due(store: &Store, settings: &RetentionSettings) -> Result<(usize, usize), StoreError> {
    let (mut messages, mut receipts) = (0, 0);
    loop {
        let now = Millis::now();
        let purge = Purge { cutoff: now.minus_secs(settings.payload_secs), limit: BATCH, at: now };
        let purged = store.writer().purge(purge).await?;
        messages += purged.messages.len();
        receipts += purged.receipts.len();
        if purged.messages.len() < BATCH && purged.receipts.len() < BATCH {
            return Ok((messages, receipts));
        }
    }
}

/// Runs [`purge_due`] every `retention.sweep_secs`. Failures are logged; the next round tries again.
pub fn spawn(store: Store, settings: RetentionSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(settings.sweep_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge_due(&store, &settings).await {
                Ok((0, 0)) => {}
                Ok((messages, receipts)) => tracing::info!(stage = "retention", messages, receipts, "payloads purged"),
                Err(e) => tracing::warn!(stage = "retention", error = %e, "purge failed; retrying next round"),
            }
        }
    })
}
