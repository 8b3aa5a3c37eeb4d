//! Retention: a message's payload (the patient data) is kept only as long as it is needed. Once every
//! delivery of a message has reached a final state, the payload is purged `retention.payload_secs`
//! later; the ledger keeps its entries (with the payload's SHA-256) and gains a `purged` entry.

use std::time::Duration;

use crate::config::RetentionSettings;
use crate::store::{Purge, Store, StoreError};
use crate::time::Millis;

/// Payloads purged per transaction: small enough that ingest never waits long behind a purge.
const BATCH: usize = 200;

/// Purges every payload due now, in batches. Returns how many were purged.
pub async fn purge_due(store: &Store, settings: &RetentionSettings) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let now = Millis::now();
        let purge = Purge { cutoff: now.minus_secs(settings.payload_secs), limit: BATCH, at: now };
        let purged = store.writer().purge(purge).await?;
        total += purged.len();
        if purged.len() < BATCH {
            return Ok(total);
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
                Ok(0) => {}
                Ok(purged) => tracing::info!(stage = "retention", purged, "payloads purged"),
                Err(e) => tracing::warn!(stage = "retention", error = %e, "purge failed; retrying next round"),
            }
        }
    })
}
