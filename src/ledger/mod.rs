//! The handover ledger: one append-only entry for every event in a message's life.
//!
//! Invariants:
//! - Append-only: entries are inserted, never updated or deleted; no endpoint or CLI verb writes them
//!   except through this module's records.
//! - An entry is written in the same transaction as the state change it records (the store's writer
//!   takes the message, its deliveries and its entries as one job).
//! - No patient data in clear: an entry names organisations, message and delivery ids, the event code
//!   and the SHA-256 of the payload. (`patient_key`, a keyed hash of the patient identifier, and the
//!   hash chain `prev_hash`/`hash` are columns reserved for the tamper-evident ledger.)

pub mod audit;
pub mod bench;
pub mod patient;

use std::fmt;
use std::str::FromStr;

use crate::time::Millis;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerEvent {
    /// A submission arrived and was parsed far enough to be attributed.
    Received,
    /// The submission was refused; nothing was routed.
    Rejected,
    /// The message was committed.
    Accepted,
    /// A delivery to one receiver was created.
    Routed,
    /// A push to the receiver (or of a receipt to the sender) was tried; `outcome` says how it ended.
    DeliveryAttempt,
    /// The receiver's system has the message.
    Delivered,
    /// The receiver answered with a business response (`outcome`: `ok` or `fatal-error`).
    BusinessResponse,
    /// A permanent error: the message will not be delivered.
    Failed,
    /// Not delivered within its time to live.
    Expired,
    /// A receipt for the sender was created (`outcome`: the state it reports).
    ReceiptCreated,
    /// A request was refused because the caller may not do it (e.g. answer another's message).
    DeniedAccess,
    /// The addressee listed or downloaded a message from its mailbox.
    MailboxRead,
    /// The addressee acknowledged a message from its mailbox.
    Acknowledged,
    /// The message's payload was removed after its retention period; its entries stay.
    Purged,
}

impl LedgerEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Rejected => "rejected",
            Self::Accepted => "accepted",
            Self::Routed => "routed",
            Self::DeliveryAttempt => "delivery-attempt",
            Self::Delivered => "delivered",
            Self::BusinessResponse => "business-response",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::ReceiptCreated => "receipt-created",
            Self::DeniedAccess => "denied-access",
            Self::MailboxRead => "mailbox-read",
            Self::Acknowledged => "acknowledged",
            Self::Purged => "purged",
        }
    }
}

impl fmt::Display for LedgerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LedgerEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "received" => Self::Received,
            "rejected" => Self::Rejected,
            "accepted" => Self::Accepted,
            "routed" => Self::Routed,
            "delivery-attempt" => Self::DeliveryAttempt,
            "delivered" => Self::Delivered,
            "business-response" => Self::BusinessResponse,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "receipt-created" => Self::ReceiptCreated,
            "denied-access" => Self::DeniedAccess,
            "mailbox-read" => Self::MailboxRead,
            "acknowledged" => Self::Acknowledged,
            "purged" => Self::Purged,
            other => return Err(other.to_owned()),
        })
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    pub at: Millis,
    pub event: LedgerEvent,
    pub tracking_id: Option<String>,
    /// `MessageHeader.id` of the message concerned, as the sender knows it.
    pub header_id: Option<String>,
    pub delivery_id: Option<String>,
    /// The authenticated organisation that caused the event (`None` for the broker itself).
    pub actor_org: Option<String>,
    pub sender_org: Option<String>,
    pub receiver_org: Option<String>,
    pub event_code: Option<String>,
    /// Free-form, non-identifying outcome, e.g. `202`, `422 incomplete`, `409 header-id-reused`.
    pub outcome: Option<String>,
    pub payload_sha256: Option<String>,
    /// Keyed hash (HMAC-SHA-256) of the patient's identifier: auditors find a patient's messages
    /// without the ledger holding the identifier.
    pub patient_key: Option<String>,
}

impl LedgerRecord {
    /// An entry for `event` at `at`, with every optional field empty.
    pub fn new(event: LedgerEvent, at: Millis) -> Self {
        Self {
            at,
            event,
            tracking_id: None,
            header_id: None,
            delivery_id: None,
            actor_org: None,
            sender_org: None,
            receiver_org: None,
            event_code: None,
            outcome: None,
            payload_sha256: None,
            patient_key: None,
        }
    }
}

/// The head of the chain at a moment, to keep elsewhere: a later verification against it finds
/// entries removed from the end, which the chain alone cannot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// When it was taken (RFC 3339).
    pub at: String,
}

/// The current head as a checkpoint (read, not verified: verify against older checkpoints to trust it).
pub async fn checkpoint(store: &crate::store::Store) -> Result<Checkpoint, crate::store::StoreError> {
    let (seq, hash) = store.ledger_head().await?;
    let at = Millis::now().to_datetime().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok(Checkpoint { seq, hash, at })
}

/// Writes a checkpoint into `dir` every `every`, as `checkpoint-{seq}.json` (fsynced), for an operator
/// to copy somewhere the broker cannot write. Failures are logged; the next round tries again.
pub fn spawn_checkpoints(
    store: crate::store::Store,
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
pub async fn verify(
    store: &crate::store::Store,
    checkpoint: Option<&Checkpoint>,
) -> Result<crate::store::Verification, crate::store::StoreError> {
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
