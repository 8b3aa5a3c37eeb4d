//! Auditors' views of the ledger: the AuditEvent search and its NDJSON export ([`search`]), the
//! verification of the hash chain against checkpoints ([`verify`]), and the synthetic ledger that
//! measures both ([`bench`]).
//!
//! Reads only: entries are appended by the store's writer alone, in the transactions of the changes
//! they record (see `ledger`). What an entry is and how the chain is hashed is defined in `ledger`.

pub mod bench;
pub mod patient;
pub mod search;
pub mod verify;

pub use search::{audit_event, export, query, search, AuditError, DEFAULT_COUNT, MAX_COUNT};
pub use verify::{checkpoint, spawn_checkpoints, verify};
