//! Verifying the chain, and checkpoints of its head to verify against later: the chain alone finds a
//! changed, inserted or reordered entry; only a checkpoint kept elsewhere finds newest entries removed.

use crate::auth::Principal;
use crate::ledger::{Checkpoint, LedgerEvent, LedgerRecord};
use crate::store::{Store, StoreError, Verification};
use crate::time::Millis;

/// The ledger entry of an auditor's request to verify the chain.
pub fn question(auditor: &Principal) -> LedgerRecord {
    LedgerRecord::new(LedgerEvent::AuditQuery, Millis::now()).actor(auditor.org.clone()).outcome("ledger verify")
}

/// The current head as a checkpoint (read, not verified: verify against older checkpoints to trust it).
pub async fn checkpoint(store: &Store) -> Result<Checkpoint, StoreError> {
    let (seq, hash) = store.ledger_head().await?;
    let at = Millis::now().to_datetime().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok(Checkpoint { seq, hash, at })
}

/// Writes a checkpoint into `dir` every `every`, as `checkpoint-{seq}.json` (fsynced), for an operator
/// to copy somewhere the broker cannot write. Failures are logged; the next round tries again.
pub fn spawn_checkpoints(
    store: Store,
    dir: std::path::PathBuf,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = None;
        loop {
            tick.tick().await;
            let written = async {
                let checkpoint = checkpoint(&store).await?;
                if last == Some(checkpoint.seq) {
                    return Ok(None);
                }
                let path = dir.join(format!("checkpoint-{}.json", checkpoint.seq));
                let text = serde_json::to_vec(&checkpoint)?;
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))?;
                    let mut file = std::fs::File::create(&path)?;
                    std::io::Write::write_all(&mut file, &text)?;
                    file.sync_all()
                })
                .await??;
                anyhow::Ok(Some(checkpoint.seq))
            }
            .await;
            match written {
                Ok(Some(seq)) => {
                    tracing::info!(stage = "ledger", seq, "checkpoint written");
                    last = Some(seq);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(stage = "ledger", error = %e, "checkpoint not written"),
            }
        }
    })
}

/// Verifies the chain, and, given a checkpoint, that the entry it names is still there unchanged.
pub async fn verify(store: &Store, checkpoint: Option<&Checkpoint>) -> Result<Verification, StoreError> {
    let mut verification = store.verify_ledger().await?;
    if let (true, Some(checkpoint)) = (verification.ok, checkpoint) {
        if store.ledger_hash_at(checkpoint.seq).await?.as_deref() != Some(checkpoint.hash.as_str()) {
            verification.ok = false;
            verification.first_broken_seq = Some(checkpoint.seq.min(verification.head_seq + 1));
            verification.problem = Some(format!(
                "the checkpoint's entry {} is missing or changed: the ledger was truncated or rewritten",
                checkpoint.seq
            ));
        }
    }
    Ok(verification)
}
