//! The quality counters' rows (issue 16): added to in the transaction that appends the ledger entries
//! they count ([`count`]), and summed for a report ([`Store::quality_counts`]) over whole months and
//! the days at the period's edges, so that a year of a region is a few thousand rows, not the ledger.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Any, Row, Transaction};

use super::messages::ROWS_PER_STATEMENT;
use super::{Backend, Store, StoreError};
use crate::ledger::counters::{self, CounterKey, Grain, MessageFacts};
use crate::ledger::LedgerRecord;
use crate::model::OrgId;
use crate::time::Millis;

/// Adds what `entries` count. `stored` are the messages the same transaction stores: their facts are
/// known without reading them back. Increments are summed first (borrowed from the entries: the single
/// writer pays for this, so no key is allocated per count) and written in key order: one statement per
/// batch of keys, and two broker nodes on PostgreSQL take the rows' locks in the same order.
pub(super) async fn count(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    entries: &[&LedgerRecord],
    stored: &[&super::NewMessage],
) -> Result<(), StoreError> {
    let mut facts: HashMap<String, MessageFacts> = stored
        .iter()
        .map(|m| {
            let facts = MessageFacts {
                received_at: m.received_at,
                stay_ended_at: m.stay_ended_at,
                warnings: i64::from(m.warnings),
            };
            (m.tracking_id.to_string(), facts)
        })
        .collect();
    let wanted: Vec<&str> = entries
        .iter()
        .filter(|e| counters::needs_facts(e))
        .filter_map(|e| e.tracking_id.as_deref())
        .filter(|id| !facts.contains_key(*id))
        .collect();
    facts.extend(message_facts(tx, backend, &wanted).await?);
    let mut sums: rustc_hash::FxHashMap<counters::Increment<'_>, i64> = rustc_hash::FxHashMap::default();
    for entry in entries {
        let facts = entry.tracking_id.as_deref().and_then(|id| facts.get(id));
        counters::each_increment(entry, facts, |increment| *sums.entry(increment).or_default() += 1);
    }
    let mut sums: Vec<(CounterKey, i64)> = sums.into_iter().map(|(increment, n)| (increment.to_key(), n)).collect();
    sums.sort_unstable();
    add(tx, backend, &sums).await
}

/// Adds `sums` to the counters, creating the rows that are not there yet.
async fn add(tx: &mut Transaction<'_, Any>, backend: Backend, sums: &[(CounterKey, i64)]) -> Result<(), StoreError> {
    const COLS: usize = 7;
    for chunk in sums.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO quality_counts (grain, period_start, sender_org, receiver_org, kind, metric, count) \
             VALUES {} ON CONFLICT (grain, period_start, sender_org, receiver_org, kind, metric) \
             DO UPDATE SET count = quality_counts.count + excluded.count",
            backend.values_list(chunk.len(), COLS)
        );
        let mut query = sqlx::query(&sql);
        for (key, n) in chunk {
            query = query
                .bind(key.grain.as_str())
                .bind(key.period_start)
                .bind(key.sender_org.as_str())
                .bind(key.receiver_org.as_str())
                .bind(key.kind.as_str())
                .bind(key.metric.as_str())
                .bind(*n);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The facts of the messages named (acceptance, end of stay, warnings), read inside the transaction,
/// which sees a message stored by the same batch.
async fn message_facts(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    tracking_ids: &[&str],
) -> Result<HashMap<String, MessageFacts>, StoreError> {
    let mut facts = HashMap::with_capacity(tracking_ids.len());
    let mut ids: Vec<&str> = tracking_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
        let sql = format!(
            "SELECT tracking_id, received_at, stay_ended_at, warnings FROM messages WHERE tracking_id IN {}",
            backend.values_list(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let id: String = row.try_get("tracking_id")?;
            let received_at = Millis::from_i64(row.try_get("received_at")?);
            let stay_ended_at = row.try_get::<Option<i64>, _>("stay_ended_at")?.map(Millis::from_i64);
            let warnings = row.try_get::<i64, _>("warnings")?;
            facts.insert(id, MessageFacts { received_at, stay_ended_at, warnings });
        }
    }
    Ok(facts)
}

/// Which counts a report sums: days `[from_day, to_day)` (days since 1970-01-01, UTC), narrowed to a
/// sender, a receiver and a kind when given.
#[derive(Debug, Clone, Default)]
pub struct QualityQuery {
    pub from_day: i64,
    pub to_day: i64,
    pub sender: Option<OrgId>,
    pub receiver: Option<OrgId>,
    pub kind: Option<String>,
}

/// The period as the rows that hold it: whole months from the month rows, the rest from day rows.
fn segments(from_day: i64, to_day: i64) -> Vec<(Grain, i64, i64)> {
    let mut segments: Vec<(Grain, i64, i64)> = Vec::new();
    let mut cursor = from_day;
    while cursor < to_day {
        let next_month = counters::next_month_start(cursor);
        let (grain, end) = if counters::month_start(cursor) == cursor && next_month <= to_day {
            (Grain::Month, next_month)
        } else {
            (Grain::Day, next_month.min(to_day))
        };
        match segments.last_mut() {
            Some((last, _, last_end)) if *last == grain && *last_end == cursor => *last_end = end,
            _ => segments.push((grain, cursor, end)),
        }
        cursor = end;
    }
    segments
}

impl Store {
    /// Every metric's total over the query's period, by name.
    pub async fn quality_counts(&self, query: &QualityQuery) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for (grain, from, to) in segments(query.from_day, query.to_day) {
            let mut sql = String::from(
                "SELECT metric, CAST(SUM(count) AS BIGINT) AS total FROM quality_counts \
                 WHERE grain = $1 AND period_start >= $2 AND period_start < $3",
            );
            let mut n = 3;
            let mut filter = |column: &str, sql: &mut String| {
                n += 1;
                sql.push_str(&format!(" AND {column} = ${n}"));
            };
            if query.sender.is_some() {
                filter("sender_org", &mut sql);
            }
            if query.receiver.is_some() {
                filter("receiver_org", &mut sql);
            }
            // The whole region: its own rows (see `counters::REGION`), not every pair's.
            if query.sender.is_none() && query.receiver.is_none() {
                sql.push_str(&format!(" AND sender_org = '{0}' AND receiver_org = '{0}'", counters::REGION));
            }
            if query.kind.is_some() {
                filter("kind", &mut sql);
            }
            sql.push_str(" GROUP BY metric");
            let mut q = sqlx::query(&sql).bind(grain.as_str()).bind(from).bind(to);
            if let Some(sender) = &query.sender {
                q = q.bind(sender.as_str());
            }
            if let Some(receiver) = &query.receiver {
                q = q.bind(receiver.as_str());
            }
            if let Some(kind) = &query.kind {
                q = q.bind(kind.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                let metric: String = row.try_get("metric")?;
                let total: i64 = row.try_get("total")?;
                *totals.entry(metric).or_default() += total;
            }
        }
        Ok(totals)
    }

    /// Adds counters directly (benchmarks fill a year of a region without writing its ledger).
    pub async fn add_quality_counts(&self, sums: &[(CounterKey, i64)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        add(&mut tx, self.backend, sums).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_read_from_whole_months_and_its_edge_days() {
        let day = |y, m, d| counters::day_of(time::Date::from_calendar_date(y, m, d).unwrap());
        use time::Month::*;
        // 15 January to 10 April: days to the end of January, February and March whole, days of April.
        let got = segments(day(2026, January, 15), day(2026, April, 10));
        assert_eq!(
            got,
            vec![
                (Grain::Day, day(2026, January, 15), day(2026, February, 1)),
                (Grain::Month, day(2026, February, 1), day(2026, April, 1)),
                (Grain::Day, day(2026, April, 1), day(2026, April, 10)),
            ]
        );
        // Within one month: days only.
        assert_eq!(
            segments(day(2026, May, 3), day(2026, May, 9)),
            vec![(Grain::Day, day(2026, May, 3), day(2026, May, 9))]
        );
        assert!(segments(5, 5).is_empty());
    }
}
