//! Handover quality counters (issue 16): what each ledger entry adds to the counts that the quality
//! report reads. The store applies them in the transaction that appends the entries, so the counts
//! never disagree with the ledger and a report over a year reads counters, not tens of millions of
//! entries. Derived from entries only (plus three facts the message row keeps: when it was accepted,
//! when the patient's stay ended, how many warnings it had), never from payloads, which may be purged.

use time::{Date, Month};

use super::{LedgerEvent, LedgerRecord};
use crate::time::Millis;

/// Where each count is kept: the day and the month of the event, so that a report sums whole months
/// and only the days at its edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }
}

/// What the message row says about the message an entry concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFacts {
    pub received_at: Millis,
    /// `Encounter.period.end` of the handover, when it has one.
    pub stay_ended_at: Option<Millis>,
    pub warnings: i64,
}

/// One count to add: `metric` for (sender, receiver, kind) in the period starting on `period_start`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub grain: Grain,
    /// Days since 1970-01-01 (UTC) of the period's first day.
    pub period_start: i64,
    pub sender_org: String,
    /// `""` for counts of a submission, which has no receiver yet.
    pub receiver_org: String,
    pub kind: String,
    pub metric: String,
}

/// The counts (metric names) the report reads.
pub mod metric {
    pub const SUBMITTED: &str = "submitted";
    pub const REFUSED: &str = "refused";
    /// Followed by the refusal's outcome (`refused:422 incomplete: required at Bundle.entry.resource`).
    pub const REFUSED_BY: &str = "refused:";
    pub const ACCEPTED: &str = "accepted";
    pub const WITH_WARNINGS: &str = "accepted-with-warnings";
    pub const ROUTED: &str = "routed";
    pub const DELIVERED: &str = "delivered";
    pub const ANSWERED_ACCEPTED: &str = "answered-accepted";
    pub const ANSWERED_REJECTED: &str = "answered-rejected";
    pub const FAILED: &str = "failed";
    pub const EXPIRED: &str = "expired";
    /// Accepted handovers that name the end of the patient's stay; of those, sent within 24 hours.
    pub const STAY_END_KNOWN: &str = "stay-end-known";
    pub const SENT_WITHIN_24H: &str = "sent-within-24h";
    /// Deliveries of handovers that name the end of the stay; of those, delivered within 24 hours.
    pub const DELIVERED_STAY_END_KNOWN: &str = "delivered-stay-end-known";
    pub const DELIVERED_WITHIN_24H: &str = "delivered-within-24h";
    /// Histograms, followed by the bucket's upper bound in seconds (`delivery-latency:le=60`).
    pub const DELIVERY_LATENCY: &str = "delivery-latency";
    pub const ANSWER_LATENCY: &str = "answer-latency";
    pub const SENT_AFTER_STAY_END: &str = "sent-after-stay-end";
    pub const DELIVERED_AFTER_STAY_END: &str = "delivered-after-stay-end";
}

/// The upper bounds (seconds) of the histogram buckets: roughly x2-x3 steps from a second to a week, so
/// that a median or p90 read from them is within one step of the true value; beyond the last, `inf`.
pub const BUCKETS: &[u64] = &[
    1, 2, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 172_800, 345_600, 604_800,
];

const DAY_MS: i64 = 86_400_000;

/// The sender and receiver of the region's rows: no organisation id can be `*` (ids are FHIR ids).
pub const REGION: &str = "*";
const TWENTY_FOUR_HOURS_MS: i64 = DAY_MS;

/// The bucket label of a duration: its upper bound in seconds, or `inf`.
pub fn bucket(millis: i64) -> String {
    let secs = u64::try_from(millis.max(0)).unwrap_or_default().div_ceil(1000);
    match BUCKETS.iter().find(|&&bound| secs <= bound) {
        Some(bound) => format!("le={bound}"),
        None => "le=inf".to_owned(),
    }
}

/// Whether an entry's counts need the message's facts (the store looks them up for these only).
pub fn needs_facts(entry: &LedgerRecord) -> bool {
    matches!(entry.event, LedgerEvent::Accepted | LedgerEvent::Delivered | LedgerEvent::BusinessResponse)
        && !is_receipt(entry)
}

/// One count to add, borrowed from the entry it comes from (see [`each_increment`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Increment<'e> {
    pub grain: Grain,
    pub period_start: i64,
    pub sender_org: &'e str,
    pub receiver_org: &'e str,
    pub kind: &'e str,
    pub metric: std::borrow::Cow<'static, str>,
}

impl Increment<'_> {
    pub fn to_key(&self) -> CounterKey {
        CounterKey {
            grain: self.grain,
            period_start: self.period_start,
            sender_org: self.sender_org.to_owned(),
            receiver_org: self.receiver_org.to_owned(),
            kind: self.kind.to_owned(),
            metric: self.metric.clone().into_owned(),
        }
    }
}

/// What `entry` adds to the counters (each metric once, at day and month grain, for the pair and for
/// the region), as owned keys.
pub fn increments(entry: &LedgerRecord, facts: Option<&MessageFacts>) -> Vec<CounterKey> {
    let mut keys = Vec::new();
    each_increment(entry, facts, |increment| keys.push(increment.to_key()));
    keys
}

/// [`increments`] handed to `add` one by one, borrowing from the entry: the writer sums them for a
/// whole batch without allocating a key per count (counting costs the single writer, so it must be cheap).
pub fn each_increment<'e>(entry: &'e LedgerRecord, facts: Option<&MessageFacts>, mut add: impl FnMut(Increment<'e>)) {
    use std::borrow::Cow;
    let Some(sender) = entry.sender_org.as_deref() else { return };
    if is_receipt(entry) {
        return;
    }
    let kind = entry.event_code.as_deref().unwrap_or_default();
    let receiver = entry.receiver_org.as_deref().unwrap_or_default();
    let mut metrics: Vec<Cow<'static, str>> = Vec::with_capacity(4);
    let histogram = |name: &str, millis: i64| Cow::Owned(format!("{name}:{}", bucket(millis)));
    match entry.event {
        LedgerEvent::Received => metrics.push(metric::SUBMITTED.into()),
        LedgerEvent::Rejected => {
            metrics.push(metric::REFUSED.into());
            if let Some(outcome) = entry.outcome.as_deref() {
                metrics.push(Cow::Owned(format!("{}{outcome}", metric::REFUSED_BY)));
            }
        }
        LedgerEvent::Accepted => {
            metrics.push(metric::ACCEPTED.into());
            if let Some(facts) = facts {
                if facts.warnings > 0 {
                    metrics.push(metric::WITH_WARNINGS.into());
                }
                if let Some(ended) = facts.stay_ended_at {
                    let after = facts.received_at.as_i64() - ended.as_i64();
                    metrics.push(metric::STAY_END_KNOWN.into());
                    if after <= TWENTY_FOUR_HOURS_MS {
                        metrics.push(metric::SENT_WITHIN_24H.into());
                    }
                    metrics.push(histogram(metric::SENT_AFTER_STAY_END, after));
                }
            }
        }
        LedgerEvent::Routed => metrics.push(metric::ROUTED.into()),
        LedgerEvent::Delivered => {
            metrics.push(metric::DELIVERED.into());
            if let Some(facts) = facts {
                metrics.push(histogram(metric::DELIVERY_LATENCY, entry.at.as_i64() - facts.received_at.as_i64()));
                if let Some(ended) = facts.stay_ended_at {
                    let after = entry.at.as_i64() - ended.as_i64();
                    metrics.push(metric::DELIVERED_STAY_END_KNOWN.into());
                    if after <= TWENTY_FOUR_HOURS_MS {
                        metrics.push(metric::DELIVERED_WITHIN_24H.into());
                    }
                    metrics.push(histogram(metric::DELIVERED_AFTER_STAY_END, after));
                }
            }
        }
        LedgerEvent::BusinessResponse => {
            let outcome = entry.outcome.as_deref().unwrap_or_default();
            let answer = if outcome.starts_with("ok") {
                metric::ANSWERED_ACCEPTED
            } else if outcome.starts_with("fatal-error") {
                metric::ANSWERED_REJECTED
            } else {
                // A transient error is no answer yet.
                return;
            };
            metrics.push(answer.into());
            if let Some(facts) = facts {
                metrics.push(histogram(metric::ANSWER_LATENCY, entry.at.as_i64() - facts.received_at.as_i64()));
            }
        }
        LedgerEvent::Failed => metrics.push(metric::FAILED.into()),
        LedgerEvent::Expired => metrics.push(metric::EXPIRED.into()),
        _ => return,
    }
    let day = entry.at.as_i64().div_euclid(DAY_MS);
    let month = month_start(day);
    for metric in metrics {
        // Each count also goes to the region's row, so that a report of the whole region sums a few
        // rows per period instead of one per pair of organisations (measured: a year of a region from
        // 1.0 s to milliseconds, benches/quality.rs).
        for (sender_org, receiver_org) in [(sender, receiver), (REGION, REGION)] {
            for (grain, period_start) in [(Grain::Day, day), (Grain::Month, month)] {
                add(Increment { grain, period_start, sender_org, receiver_org, kind, metric: metric.clone() });
            }
        }
    }
}

/// Entries about the sender's receipts (their pushes and failures) are not handover deliveries.
fn is_receipt(entry: &LedgerRecord) -> bool {
    entry.outcome.as_deref().is_some_and(|o| o.starts_with("receipt "))
}

/// The first day of the month of `day` (both in days since 1970-01-01).
pub fn month_start(day: i64) -> i64 {
    let Some(date) = date_of(day) else { return day };
    let first = date.replace_day(1).unwrap_or(date);
    day_of(first)
}

/// The first day of the month after the one `day` is in.
pub fn next_month_start(day: i64) -> i64 {
    let Some(date) = date_of(month_start(day)) else { return day + 31 };
    let (year, month) = match date.month() {
        Month::December => (date.year() + 1, Month::January),
        m => (date.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1).map(day_of).unwrap_or(day + 31)
}

fn date_of(day: i64) -> Option<Date> {
    let epoch = Date::from_calendar_date(1970, Month::January, 1).ok()?;
    epoch.checked_add(time::Duration::days(day))
}

/// Days since 1970-01-01 of `date`.
pub fn day_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - 2_440_588
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventCode, OrgId};

    fn entry(event: LedgerEvent, at: i64) -> LedgerRecord {
        let mut entry = LedgerRecord::new(event, Millis::from_i64(at));
        entry.sender_org = Some(OrgId::from_stored("hospital".to_owned()));
        entry.receiver_org = Some(OrgId::from_stored("gp".to_owned()));
        entry.event_code = Some(EventCode::from_stored("discharge-summary".to_owned()));
        entry
    }

    fn metrics(keys: &[CounterKey]) -> Vec<&str> {
        keys.iter().filter(|k| k.grain == Grain::Day && k.sender_org != REGION).map(|k| k.metric.as_str()).collect()
    }

    #[test]
    fn days_and_months_are_counted_from_the_epoch() {
        assert_eq!(day_of(Date::from_calendar_date(1970, Month::January, 1).unwrap()), 0);
        let dec_31 = day_of(Date::from_calendar_date(2026, Month::December, 31).unwrap());
        assert_eq!(month_start(dec_31), day_of(Date::from_calendar_date(2026, Month::December, 1).unwrap()));
        assert_eq!(next_month_start(dec_31), day_of(Date::from_calendar_date(2027, Month::January, 1).unwrap()));
    }

    #[test]
    fn a_delivery_counts_its_latency_and_the_24_hour_mark_of_the_stay() {
        let accepted = 1_800_000_000_000;
        let facts = MessageFacts {
            received_at: Millis::from_i64(accepted),
            stay_ended_at: Some(Millis::from_i64(accepted - 20 * 3_600_000)),
            warnings: 0,
        };
        // Delivered 5 hours after acceptance: 25 hours after the stay ended.
        let keys = increments(&entry(LedgerEvent::Delivered, accepted + 5 * 3_600_000), Some(&facts));
        assert_eq!(
            metrics(&keys),
            [
                "delivered",
                "delivery-latency:le=28800",
                "delivered-stay-end-known",
                "delivered-after-stay-end:le=172800"
            ]
        );
        let accepted_keys = increments(&entry(LedgerEvent::Accepted, accepted), Some(&facts));
        assert_eq!(
            metrics(&accepted_keys),
            ["accepted", "stay-end-known", "sent-within-24h", "sent-after-stay-end:le=86400"]
        );
        assert_eq!(keys.len(), 16, "each metric at day and month grain, for the pair and for the region");
        assert_eq!(keys.iter().filter(|k| k.sender_org == REGION && k.receiver_org == REGION).count(), 8);
    }

    #[test]
    fn receipts_and_transient_answers_count_nothing() {
        let mut receipt = entry(LedgerEvent::Delivered, 0);
        receipt.outcome = Some("receipt delivered".into());
        assert!(increments(&receipt, None).is_empty());
        let mut transient = entry(LedgerEvent::BusinessResponse, 0);
        transient.outcome = Some("transient-error".into());
        assert!(increments(&transient, None).is_empty());
        let mut refused = entry(LedgerEvent::Rejected, 0);
        refused.outcome = Some("422 incomplete".into());
        assert_eq!(metrics(&increments(&refused, None)), ["refused", "refused:422 incomplete"]);
    }

    #[test]
    fn buckets_round_up_to_their_bound() {
        assert_eq!(bucket(0), "le=1");
        assert_eq!(bucket(1_001), "le=2");
        assert_eq!(bucket(86_400_000), "le=86400");
        assert_eq!(bucket(700_000_000), "le=inf");
    }
}
