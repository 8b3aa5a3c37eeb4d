//! Storage: every SQL statement of the broker lives in this module.
//!
//! One schema on two backends through sqlx's `Any` driver: SQLite (WAL, `synchronous=FULL`) as the
//! embedded default and PostgreSQL for several broker nodes. The SQL is written once, in the subset both
//! accept (`$N` parameters, `ON CONFLICT`, `RETURNING`, `string_agg`, BIGINT milliseconds for times),
//! except for the few fragments in which the backends differ: placeholders of multi-row inserts, the
//! claim's row locks, the ledger append's table lock, UTF-8 byte lengths, connection set-up and the
//! choice of migrations. Those all come from [`dialect`], which says why each differs; no other file
//! here asks which backend it runs on. The DDL differs too, so migrations are kept per backend in
//! `migrations/{sqlite,postgres}`, in step (same tables, columns and indexes).
//!
//! Writes of accepted messages go through one [`writer`] task that commits them in groups (group
//! commit): one fsync covers many messages, and the sender's acknowledgement is released only after
//! that commit. This module must never decide *what* to store (that is `ingest`, `routing`, `ledger`);
//! it only stores it atomically.

mod capacity;
mod dialect;
mod directory;
mod forwarding;
mod ledger;
mod mailbox;
mod messages;
mod outbox;
mod overdue;
mod packed;
mod quality;
mod retention;
mod row;
mod smart;
mod tasks;
mod tokens;
mod writer;

use std::str::FromStr;
use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use capacity::{CapacityCount, CapacityRow, CapacityUpdate, CareTypeTotals};
pub use dialect::Backend;
pub use directory::{DirectoryUpdate, Removal};
pub use forwarding::{ForwardingRecord, NewForwarding, Placement, Received, Unplaced};
pub use ledger::{ChainedEntry, LedgerQuery, Verification};
pub use mailbox::{Cursor, MailboxItem, MailboxQuery};
pub use messages::{CommitOutcome, DeliveryRecord, MessageRecord, NewDelivery, NewMessage};
pub use outbox::{Change, Claimed, DeliveryContext, NewReceipt, Outbox, Parcel, Renewal, Settlement};
pub use overdue::{CandidateCursor, EscalationDue, OverdueCandidate, OverdueMark};
pub use packed::Packed;
pub use quality::QualityQuery;
pub use retention::{Purge, Purged};
pub use smart::UsedAssertion;
pub use tasks::{TaskRecord, TaskWrite};
pub use tokens::{NewToken, Revocation, TokenChange, TokenRecord};
pub use writer::{Recording, Writer};

/// Why a storage operation failed. Never shown to clients in detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl,
    #[error("cannot create the database directory")]
    Io(#[from] std::io::Error),
    #[error("the storage writer has stopped")]
    WriterGone,
    #[error("the batch commit failed; see the log for the cause")]
    CommitFailed,
    #[error("stored data is not in the expected form: {0}")]
    Corrupt(String),
    /// A guarded write found that another broker node changed the row first; the transaction rolled
    /// back and the request may be retried.
    #[error("a concurrent change of the same row won; retry")]
    Raced,
}

/// Connection pool plus the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    writer: Writer,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Connects (creating an SQLite file and its directory when missing) and applies migrations.
    pub async fn open(database_url: &str, max_connections: u32, max_batch: usize) -> Result<Self, StoreError> {
        Self::open_recording(database_url, max_connections, max_batch, Recording::default()).await
    }

    /// [`Store::open`], with the ledger or the quality counters off: only for measuring what they
    /// cost (`ledger.enabled`, `ledger.quality_counters`, which the configuration allows in demo mode only).
    pub async fn open_recording(
        database_url: &str,
        max_connections: u32,
        max_batch: usize,
        recording: Recording,
    ) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of_url(database_url).ok_or(StoreError::UnsupportedUrl)?;
        let url = backend.connect_url(database_url)?;
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for statement in backend.session_setup() {
                        conn.execute(*statement).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        backend.migrator().run(&pool).await?;
        let writer = Writer::spawn(pool.clone(), backend, max_batch, recording);
        Ok(Self { pool, backend, writer })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool after the writer has drained what it was given.
    pub async fn close(self) {
        let Self { pool, writer, .. } = self;
        writer.shutdown().await;
        pool.close().await;
    }
}
