//! The ledger's rows: the one code path that appends entries, and the reads of the chain.
//!
//! Each entry gets the next sequence number and the hash that `ledger::chain` defines over the
//! previous entry's hash and the entry's canonical form. Appends happen inside the writer's
//! transaction, which reads the head it chains from; on PostgreSQL the table is locked for the rest of
//! that transaction so that two broker nodes never chain from the same head
//! ([`Backend::ledger_append_lock`]).

use futures_util::StreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::messages::{ledger_from_row, ROWS_PER_STATEMENT};
use super::{Backend, Store, StoreError};
use crate::ledger::chain::{canonical_entry, chain_hash, ChainFields, GENESIS};
use crate::ledger::LedgerRecord;

/// Appends entries in the order given, chained from the current head.
pub(super) async fn insert_ledger(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    entries: &[&LedgerRecord],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(lock) = backend.ledger_append_lock() {
        sqlx::query(lock).execute(&mut **tx).await?;
    }
    let head = sqlx::query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await?;
    let (mut seq, mut prev): (i64, String) = match head {
        Some(row) => (row.try_get("seq")?, row.try_get::<Option<String>, _>("hash")?.unwrap_or_else(|| GENESIS.into())),
        None => (0, GENESIS.to_owned()),
    };
    const COLS: usize = 15;
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO ledger (seq, at, event, tracking_id, header_id, delivery_id, actor_org, sender_org, \
             receiver_org, event_code, outcome, payload_sha256, patient_key, prev_hash, hash) VALUES {}",
            backend.values_list(chunk.len(), COLS)
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            seq += 1;
            let hash = chain_hash(&prev, &canonical_entry(seq, e));
            query = query
                .bind(seq)
                .bind(e.at.as_i64())
                .bind(e.event.as_str())
                .bind(e.tracking_id.as_deref())
                .bind(e.header_id.as_deref())
                .bind(e.delivery_id.as_deref())
                .bind(e.actor_org.as_deref())
                .bind(e.sender_org.as_deref())
                .bind(e.receiver_org.as_deref())
                .bind(e.event_code.as_deref())
                .bind(e.outcome.as_deref())
                .bind(e.payload_sha256.as_deref())
                .bind(e.patient_key.as_deref())
                .bind(prev.clone())
                .bind(hash.clone());
            prev = hash;
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What verifying the chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub ok: bool,
    pub entries_checked: u64,
    /// The newest entry checked: sequence and hash (what a checkpoint records).
    pub head_seq: i64,
    pub head_hash: String,
    /// The first entry that does not fit the chain, and why.
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

fn record_from_row(row: &AnyRow) -> Result<(i64, LedgerRecord, Option<String>, Option<String>), StoreError> {
    Ok((row.try_get("seq")?, ledger_from_row(row)?, row.try_get("prev_hash")?, row.try_get("hash")?))
}

/// The columns of a stored entry in the order [`PageReader`] reads them after `seq` and `at`.
const PAGE_TEXT_COLUMNS: [&str; 13] = [
    "event",
    "tracking_id",
    "header_id",
    "delivery_id",
    "actor_org",
    "sender_org",
    "receiver_org",
    "event_code",
    "outcome",
    "payload_sha256",
    "patient_key",
    "prev_hash",
    "hash",
];

/// One page of the chain (`seq` in `($1, $2]`) as a single text value, oldest entry first: per entry
/// `seq;at;` and then each text column as `~` when NULL or as `{bytes}:{text}` (a netstring without its
/// comma), so that any content reads back exactly. The same SQL runs on SQLite (3.44 and later) and
/// PostgreSQL, but for the UTF-8 byte length ([`Backend::utf8_length`]).
///
/// Why not one row per entry: sqlx hands rows over one at a time from SQLite's worker thread, copying
/// every column, which costs several microseconds an entry, most of the verification time at
/// 10 million entries. Packed, a page crosses once, and the fields are read in place.
fn page_sql(backend: Backend) -> String {
    // The lengths are of the UTF-8 bytes the client receives, whatever the server's own encoding.
    let texts: Vec<String> = PAGE_TEXT_COLUMNS
        .iter()
        .map(|c| format!("COALESCE(CAST({} AS TEXT) || ':' || {c}, '~')", backend.utf8_length(c)))
        .collect();
    // A NULL seq or at (which the schema forbids) must not drop its entry from the page: it reads as
    // an empty number, which fails to parse.
    format!(
        "SELECT string_agg(COALESCE(CAST(seq AS TEXT), '') || ';' || COALESCE(CAST(at AS TEXT), '') || ';' || {}, \
         '' ORDER BY seq) AS page FROM ledger WHERE seq > $1 AND seq <= $2",
        texts.join(" || ")
    )
}

/// Reads the entries of a page made by [`page_sql`].
struct PageReader<'a> {
    rest: &'a str,
}

/// A stored entry as read for verification.
struct StoredEntry<'a> {
    fields: ChainFields<'a>,
    prev_hash: Option<&'a str>,
    hash: Option<&'a str>,
}

impl<'a> PageReader<'a> {
    fn malformed() -> StoreError {
        StoreError::Corrupt("a ledger page could not be read".to_owned())
    }

    fn int(&mut self) -> Result<i64, StoreError> {
        let (digits, rest) = self.rest.split_once(';').ok_or_else(Self::malformed)?;
        self.rest = rest;
        digits.parse().map_err(|_| Self::malformed())
    }

    fn text(&mut self) -> Result<Option<&'a str>, StoreError> {
        if let Some(rest) = self.rest.strip_prefix('~') {
            self.rest = rest;
            return Ok(None);
        }
        let (len, rest) = self.rest.split_once(':').ok_or_else(Self::malformed)?;
        let len: usize = len.parse().map_err(|_| Self::malformed())?;
        // `get` refuses a length that would end inside a character.
        let text = rest.get(..len).ok_or_else(Self::malformed)?;
        self.rest = &rest[len..];
        Ok(Some(text))
    }

    fn next_entry(&mut self) -> Option<Result<StoredEntry<'a>, StoreError>> {
        if self.rest.is_empty() {
            return None;
        }
        let mut entry = || {
            let seq = self.int()?;
            let at = self.int()?;
            let mut texts = [None; 11];
            for text in &mut texts {
                *text = self.text()?;
            }
            Ok(StoredEntry { fields: ChainFields { seq, at, texts }, prev_hash: self.text()?, hash: self.text()? })
        };
        Some(entry())
    }
}

/// What one page of the chain says about itself: its ends, and the first entry in it that does not
/// fit the entries before it in the same page.
struct PageCheck {
    /// Sequence and `prev_hash` of its first entry.
    first: Option<(i64, Option<String>)>,
    /// Sequence and hash of its last entry.
    last: Option<(i64, String)>,
    count: u64,
    broken: Option<(i64, String)>,
}

/// Checks a page on its own: every entry's hash, and the links between its entries. The links to the
/// page before are checked when the pages are joined, in order.
fn check_page(page: &str) -> Result<PageCheck, StoreError> {
    let mut check = PageCheck { first: None, last: None, count: 0, broken: None };
    let mut reader = PageReader { rest: page };
    let mut last: Option<(i64, &str)> = None;
    while let Some(entry) = reader.next_entry() {
        let StoredEntry { fields, prev_hash, hash } = entry?;
        let seq = fields.seq;
        let problem = match last {
            Some((last_seq, _)) if seq != last_seq + 1 => {
                Some(format!("entries {} to {} are missing", last_seq + 1, seq - 1))
            }
            Some((_, last_hash)) if prev_hash != Some(last_hash) => {
                Some("prev_hash is not the previous entry's hash".to_owned())
            }
            _ => None,
        };
        let expected = chain_hash(prev_hash.unwrap_or_default(), &fields.canonical());
        let problem = problem.or_else(|| {
            (hash != Some(expected.as_str())).then(|| "the entry's content does not match its hash".to_owned())
        });
        if let Some(problem) = problem {
            check.broken = Some((seq, problem));
            break;
        }
        if check.first.is_none() {
            check.first = Some((seq, prev_hash.map(str::to_owned)));
        }
        check.count += 1;
        last = Some((seq, hash.unwrap_or_default()));
    }
    check.last = last.map(|(seq, hash)| (seq, hash.to_owned()));
    Ok(check)
}

impl Store {
    /// Recomputes the whole chain, oldest first, in pages (memory stays flat at any size). Finds any
    /// changed, removed, inserted or reordered entry; a removal of the newest entries needs a
    /// checkpoint to compare with (see [`Verification::head_seq`]).
    pub async fn verify_ledger(&self) -> Result<Verification, StoreError> {
        self.verify_ledger_in_pages(20_000).await
    }

    /// [`Store::verify_ledger`] with pages of `page` entries (tests use small pages to cross page ends).
    pub async fn verify_ledger_in_pages(&self, page: i64) -> Result<Verification, StoreError> {
        const PARALLEL_PAGES: usize = 4;
        let page = page.max(1);
        let mut v = Verification {
            ok: true,
            entries_checked: 0,
            head_seq: 0,
            head_hash: GENESIS.to_owned(),
            first_broken_seq: None,
            problem: None,
        };
        // Entries appended while this runs are left for the next verification.
        let max: Option<i64> =
            sqlx::query("SELECT MAX(seq) AS max FROM ledger").fetch_one(&self.pool).await?.try_get("max")?;
        let Some(max) = max else { return Ok(v) };
        // Pages are ranges of seq, read and hashed several at a time (each entry carries its
        // prev_hash, so a page can be checked alone), then joined in order.
        let pages = (0..).map(|n| n * page).take_while(|low| *low < max);
        let sql = page_sql(self.backend);
        let checked = futures_util::stream::iter(pages)
            .map(|low| {
                let pool = self.pool.clone();
                let sql = sql.clone();
                async move {
                    let page: Option<String> =
                        sqlx::query(&sql).bind(low).bind(low + page).fetch_one(&pool).await?.try_get("page")?;
                    tokio::task::spawn_blocking(move || check_page(page.as_deref().unwrap_or_default()))
                        .await
                        .map_err(|e| StoreError::Corrupt(format!("verification stopped: {e}")))?
                }
            })
            .buffered(PARALLEL_PAGES);
        futures_util::pin_mut!(checked);
        while let Some(page) = checked.next().await {
            let page = page?;
            let joined = match &page.first {
                Some((seq, _)) if *seq != v.head_seq + 1 => {
                    Some((*seq, format!("entries {} to {} are missing", v.head_seq + 1, seq - 1)))
                }
                Some((seq, prev)) if prev.as_deref() != Some(v.head_hash.as_str()) => {
                    Some((*seq, "prev_hash is not the previous entry's hash".to_owned()))
                }
                _ => None,
            };
            if let Some((seq, problem)) = joined.or(page.broken) {
                v.ok = false;
                v.first_broken_seq = Some(seq);
                v.problem = Some(problem);
                return Ok(v);
            }
            v.entries_checked += page.count;
            if let Some((seq, hash)) = page.last {
                v.head_seq = seq;
                v.head_hash = hash;
            }
        }
        Ok(v)
    }

    /// The newest entry's sequence number and hash (0 and [`GENESIS`] for an empty ledger).
    pub async fn ledger_head(&self) -> Result<(i64, String), StoreError> {
        let row =
            sqlx::query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(match row {
            Some(row) => (row.try_get("seq")?, row.try_get::<Option<String>, _>("hash")?.unwrap_or_default()),
            None => (0, GENESIS.to_owned()),
        })
    }

    /// The hash of entry `seq`, for comparing with a checkpoint (`None`: no such entry).
    pub async fn ledger_hash_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT hash FROM ledger WHERE seq = $1").bind(seq).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("hash")).transpose()?.flatten())
    }
}

/// An auditor's question to the ledger. Every filter is optional; together they narrow.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    /// Entries of messages about this patient (a patient key), and refusals that named it.
    pub patient_key: Option<crate::model::PatientKey>,
    pub sender_org: Option<String>,
    pub receiver_org: Option<String>,
    pub event: Option<String>,
    pub from: Option<crate::time::Millis>,
    pub until: Option<crate::time::Millis>,
    /// A tracking id or a `MessageHeader.id`.
    pub message: Option<String>,
    /// Only entries where this organisation is the sender or the receiver (an auditor scoped to it).
    pub party: Option<String>,
    /// Entries after this sequence number (paging).
    pub after_seq: Option<i64>,
    pub limit: usize,
}

/// A ledger entry with its place in the chain.
#[derive(Debug, Clone)]
pub struct ChainedEntry {
    pub seq: i64,
    pub entry: LedgerRecord,
    pub hash: Option<String>,
}

impl Store {
    /// Ledger entries matching `query`, oldest first, at most `limit`.
    pub async fn query_ledger(&self, query: &LedgerQuery) -> Result<Vec<ChainedEntry>, StoreError> {
        let mut sql = String::from(
            "SELECT seq, at, event, tracking_id, header_id, delivery_id, actor_org, sender_org, receiver_org, \
             event_code, outcome, payload_sha256, patient_key, prev_hash, hash FROM ledger l WHERE 1 = 1",
        );
        // Each filter adds one parameter; the numbering follows the order of the pushes below.
        let mut order: Vec<Bind> = Vec::new();
        let mut push = |sql: &mut String, clause: String, bind: Bind| {
            let n = order.len() + 1;
            sql.push_str(&clause.replace("$?", &format!("${n}")));
            order.push(bind);
        };
        if let Some(key) = &query.patient_key {
            push(&mut sql, " AND (l.patient_key = $?".into(), Bind::Text(key.to_string()));
            push(
                &mut sql,
                " OR l.tracking_id IN (SELECT tracking_id FROM message_patients WHERE patient_key = $?))".into(),
                Bind::Text(key.to_string()),
            );
        }
        if let Some(sender) = &query.sender_org {
            push(&mut sql, " AND l.sender_org = $?".into(), Bind::Text(sender.clone()));
        }
        if let Some(receiver) = &query.receiver_org {
            push(&mut sql, " AND l.receiver_org = $?".into(), Bind::Text(receiver.clone()));
        }
        if let Some(party) = &query.party {
            push(&mut sql, " AND (l.sender_org = $?".into(), Bind::Text(party.clone()));
            push(&mut sql, " OR l.receiver_org = $?)".into(), Bind::Text(party.clone()));
        }
        if let Some(event) = &query.event {
            push(&mut sql, " AND l.event = $?".into(), Bind::Text(event.clone()));
        }
        if let Some(from) = query.from {
            push(&mut sql, " AND l.at >= $?".into(), Bind::Int(from.as_i64()));
        }
        if let Some(until) = query.until {
            push(&mut sql, " AND l.at <= $?".into(), Bind::Int(until.as_i64()));
        }
        if let Some(message) = &query.message {
            push(&mut sql, " AND (l.tracking_id = $?".into(), Bind::Text(message.clone()));
            push(&mut sql, " OR l.header_id = $?)".into(), Bind::Text(message.clone()));
        }
        if let Some(after) = query.after_seq {
            push(&mut sql, " AND l.seq > $?".into(), Bind::Int(after));
        }
        push(&mut sql, " ORDER BY l.seq LIMIT $?".into(), Bind::Int(query.limit as i64));
        let mut q = sqlx::query(&sql);
        for bind in order {
            q = match bind {
                Bind::Text(text) => q.bind(text),
                Bind::Int(n) => q.bind(n),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let (seq, entry, _, hash) = record_from_row(row)?;
                Ok(ChainedEntry { seq, entry, hash })
            })
            .collect()
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

impl Store {
    /// Stores `messages` with their patient keys and ledger entries (no deliveries) in one transaction,
    /// bypassing the writer: for seeding a benchmark ledger only.
    pub async fn seed_handovers(&self, messages: &[super::NewMessage]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let refs: Vec<&super::NewMessage> = messages.iter().collect();
        super::messages::insert_messages(&mut tx, self.backend, &refs).await?;
        super::messages::insert_patient_keys(&mut tx, self.backend, &refs).await?;
        let entries: Vec<&LedgerRecord> = messages.iter().flat_map(|m| m.ledger.iter()).collect();
        insert_ledger(&mut tx, self.backend, &entries).await?;
        tx.commit().await?;
        Ok(())
    }
}
