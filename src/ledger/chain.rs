//! The chain's definition: what an entry's hash covers and how it is computed. The store appends by
//! it and `audit` verifies by it; nothing else may define it twice.
//!
//! Entry `n` gets `seq = n`, `prev_hash` = entry `n-1`'s hash ([`GENESIS`] for the first) and
//! `hash = hex(SHA-256(prev_hash as ASCII hex || canonical))`, where `canonical` is the compact JSON
//! array of [`ChainFields::canonical`].

use sha2::{Digest, Sha256};

use super::LedgerRecord;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that its hash covers, borrowed: from a record being appended or from a
/// stored row being verified.
#[derive(Debug, Clone, Copy)]
pub struct ChainFields<'a> {
    pub seq: i64,
    pub at: i64,
    /// `event` to `patient_key`, in the order of [`ChainFields::canonical`].
    pub texts: [Option<&'a str>; 11],
}

impl<'a> ChainFields<'a> {
    pub fn of(seq: i64, e: &'a LedgerRecord) -> Self {
        ChainFields {
            seq,
            at: e.at.as_i64(),
            texts: [
                Some(e.event.as_str()),
                e.tracking_id.as_deref(),
                e.header_id.as_deref(),
                e.delivery_id.as_deref(),
                e.actor_org.as_deref(),
                e.sender_org.as_deref(),
                e.receiver_org.as_deref(),
                e.event_code.as_deref(),
                e.outcome.as_deref(),
                e.payload_sha256.as_deref(),
                e.patient_key.as_deref(),
            ],
        }
    }

    /// The canonical bytes: the compact JSON array
    /// `[seq, at, event, tracking_id, header_id, delivery_id, actor_org, sender_org, receiver_org,
    /// event_code, outcome, payload_sha256, patient_key]` (numbers as integers, absent fields as `null`,
    /// strings escaped as RFC 8259 says and serde_json writes them, no white space).
    pub fn canonical(&self) -> Vec<u8> {
        let [a, b, c, d, e, f, g, h, i, j, k] = self.texts;
        // Serialising strings and integers into memory cannot fail.
        serde_json::to_vec(&(self.seq, self.at, a, b, c, d, e, f, g, h, i, j, k)).unwrap_or_default()
    }
}

/// The canonical bytes of entry `seq` (see [`ChainFields::canonical`]).
pub fn canonical_entry(seq: i64, e: &LedgerRecord) -> Vec<u8> {
    ChainFields::of(seq, e).canonical()
}

/// `hex(SHA-256(prev_hash || canonical))`.
pub fn chain_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical);
    hex::encode(hasher.finalize())
}
