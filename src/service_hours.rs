//! Service hours: when a response is due, counting only the time an organisation is open.
//!
//! Pure arithmetic on the directory's [`OpeningHours`] (local times in the organisation's IANA time
//! zone) and instants: walk the local calendar from the start, turn each open period of each day into
//! the two instants it opens and closes in that zone (so that a day of 23 or 25 hours, at the changes
//! to and from summer time, counts as long as it really is), and spend the response time on them. Time
//! zones come from jiff's bundled copy of the tz database, so the answer does not depend on the
//! machine's `/usr/share/zoneinfo`. The broker's instants are [`Millis`]; jiff stays inside this file.
//! Without opening hours an organisation counts as open around the clock.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::model::{OpeningHours, ResponseTime, TimeOfDay};
use crate::time::Millis;

/// Calendar days walked before giving up: ten years. A response time is at most 30 days, so only
/// hours of a few seconds a week could need more.
const MAX_DAYS: u32 = 3660;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServiceHoursError {
    #[error("the time zone {0} is not in the time-zone database")]
    UnknownZone(String),
    #[error("the deadline is not reached within ten years of opening hours")]
    TooFar,
    #[error("the instant is outside the supported range")]
    OutOfRange,
}

/// The instant at which `within` of open time has passed since `start`: counted in `hours`, or around
/// the clock without them.
pub fn deadline(
    hours: Option<&OpeningHours>,
    start: Millis,
    within: ResponseTime,
) -> Result<Millis, ServiceHoursError> {
    let mut remaining = i64::from(within.secs()) * 1000;
    let Some(hours) = hours else {
        return start.as_i64().checked_add(remaining).map(Millis::from_i64).ok_or(ServiceHoursError::OutOfRange);
    };
    let zone = jiff::tz::db()
        .get(hours.zone().as_str())
        .map_err(|_| ServiceHoursError::UnknownZone(hours.zone().to_string()))?;
    let start = start.as_i64();
    let mut day =
        Timestamp::from_millisecond(start).map_err(|_| ServiceHoursError::OutOfRange)?.to_zoned(zone.clone()).date();
    for _ in 0..MAX_DAYS {
        for (opens, closes) in open_intervals(hours, &zone, day)? {
            let from = opens.max(start);
            if from >= closes {
                continue;
            }
            let open = closes - from;
            if remaining <= open {
                return Ok(Millis::from_i64(from + remaining));
            }
            remaining -= open;
        }
        day = day.tomorrow().map_err(|_| ServiceHoursError::OutOfRange)?;
    }
    Err(ServiceHoursError::TooFar)
}

/// The open intervals of local day `day` as instants (ms), in order, overlapping periods merged.
fn open_intervals(hours: &OpeningHours, zone: &TimeZone, day: Date) -> Result<Vec<(i64, i64)>, ServiceHoursError> {
    let weekday = u8::try_from(day.weekday().to_monday_zero_offset()).unwrap_or(u8::MAX);
    let mut intervals = Vec::new();
    for period in hours.periods().iter().filter(|p| p.days().contains(weekday)) {
        intervals.push((instant(zone, day, period.opens())?, instant(zone, day, period.closes())?));
    }
    intervals.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
    for (opens, closes) in intervals {
        match merged.last_mut() {
            Some(last) if opens <= last.1 => last.1 = last.1.max(closes),
            _ => merged.push((opens, closes)),
        }
    }
    Ok(merged)
}

/// The instant (ms) of local time `time` on `day` in `zone`. A time that does not exist (the hour
/// skipped when summer time starts) is taken after the gap; one that exists twice (the hour repeated
/// when it ends), the first time (jiff's "compatible" disambiguation, as RFC 5545 does).
fn instant(zone: &TimeZone, day: Date, time: TimeOfDay) -> Result<i64, ServiceHoursError> {
    let local = day.at(time.hour(), time.minute(), time.second(), 0);
    let zoned = local.to_zoned(zone.clone()).map_err(|_| ServiceHoursError::OutOfRange)?;
    Ok(zoned.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OpenPeriod, TimeZoneName, Weekdays};

    /// Opening hours in `zone`: each period as (days, opens, closes).
    fn hours(zone: &str, periods: &[(&[&str], &str, &str)]) -> OpeningHours {
        let periods = periods
            .iter()
            .map(|(days, opens, closes)| {
                let t = |s: &str| TimeOfDay::parse(s).unwrap();
                OpenPeriod::new(Weekdays::parse(days.iter().copied()).unwrap(), t(opens), t(closes)).unwrap()
            })
            .collect();
        OpeningHours::new(TimeZoneName::parse(zone).unwrap(), periods).unwrap()
    }

    /// The triage point of South Limburg: working days 08:30-17:00, Amsterdam time.
    fn zorgpunt() -> OpeningHours {
        hours("Europe/Amsterdam", &[(&["mon", "tue", "wed", "thu", "fri"], "08:30:00", "17:00:00")])
    }

    /// An RFC 3339 instant as Millis.
    fn at(text: &str) -> Millis {
        Millis::from_i64(text.parse::<Timestamp>().unwrap().as_millisecond())
    }

    fn within(secs: u64) -> ResponseTime {
        ResponseTime::from_secs(secs).unwrap()
    }

    fn due(hours: Option<&OpeningHours>, start: &str, secs: u64) -> Millis {
        deadline(hours, at(start), within(secs)).unwrap()
    }

    #[test]
    fn without_hours_the_clock_runs_around_the_clock() {
        assert_eq!(due(None, "2026-11-27T15:30:00Z", 7200), at("2026-11-27T17:30:00Z"));
        assert_eq!(due(None, "2026-11-28T10:00:00Z", 1), at("2026-11-28T10:00:01Z"));
    }

    #[test]
    fn within_one_open_day() {
        // Tuesday 1 December 2026, 10:00 in Amsterdam (CET, +01:00).
        assert_eq!(due(Some(&zorgpunt()), "2026-12-01T10:00:00+01:00", 7200), at("2026-12-01T12:00:00+01:00"));
        // Ending exactly at closing time.
        assert_eq!(due(Some(&zorgpunt()), "2026-12-01T15:00:00+01:00", 7200), at("2026-12-01T17:00:00+01:00"));
        // Before opening: counted from 08:30.
        assert_eq!(due(Some(&zorgpunt()), "2026-12-01T06:00:00+01:00", 1800), at("2026-12-01T09:00:00+01:00"));
    }

    #[test]
    fn friday_afternoon_runs_on_into_monday_morning() {
        // Friday 27 November 2026 16:30: half an hour on Friday, an hour and a half on Monday.
        assert_eq!(due(Some(&zorgpunt()), "2026-11-27T16:30:00+01:00", 7200), at("2026-11-30T10:00:00+01:00"));
        // After closing on Friday: all of it on Monday.
        assert_eq!(due(Some(&zorgpunt()), "2026-11-27T18:00:00+01:00", 1800), at("2026-11-30T09:00:00+01:00"));
    }

    #[test]
    fn a_request_arriving_on_saturday_counts_from_monday_0830() {
        assert_eq!(due(Some(&zorgpunt()), "2026-11-28T11:00:00+01:00", 7200), at("2026-11-30T10:30:00+01:00"));
        assert_eq!(due(Some(&zorgpunt()), "2026-11-29T23:59:00+01:00", 60), at("2026-11-30T08:31:00+01:00"));
    }

    #[test]
    fn the_weekend_summer_time_ends_is_counted_in_local_hours() {
        // Summer time ends on Sunday 25 October 2026 (03:00 CEST becomes 02:00 CET). Friday 16:30 CEST is
        // 14:30Z; Monday 10:00 CET is 09:00Z, not 08:00Z as a fixed offset of +02:00 would make it.
        assert_eq!(due(Some(&zorgpunt()), "2026-10-23T16:30:00+02:00", 7200), at("2026-10-26T10:00:00+01:00"));
        assert_eq!(at("2026-10-26T10:00:00+01:00"), at("2026-10-26T09:00:00Z"));
        // A period across the change lasts an hour longer: 01:00-05:00 local that Sunday is 5 real hours.
        let night = hours("Europe/Amsterdam", &[(&["sun"], "01:00:00", "05:00:00")]);
        assert_eq!(due(Some(&night), "2026-10-24T12:00:00Z", 5 * 3600), at("2026-10-25T05:00:00+01:00"));
        // And when summer time starts (29 March 2026, 02:00 CET becomes 03:00 CEST) an hour shorter.
        assert_eq!(due(Some(&night), "2026-03-28T12:00:00Z", 3 * 3600), at("2026-03-29T05:00:00+02:00"));
        assert_eq!(due(Some(&night), "2026-03-28T12:00:00Z", 3 * 3600 + 1), at("2026-04-05T01:00:01+02:00"));
    }

    #[test]
    fn split_days_and_overlapping_periods() {
        // Brussels: 09:00-12:30 and 13:30-17:00 on working days; the lunch hour does not count.
        let westkust = hours(
            "Europe/Brussels",
            &[
                (&["mon", "tue", "wed", "thu", "fri"], "09:00:00", "12:30:00"),
                (&["mon", "tue", "wed", "thu", "fri"], "13:30:00", "17:00:00"),
            ],
        );
        assert_eq!(due(Some(&westkust), "2026-12-01T12:00:00+01:00", 3600), at("2026-12-01T14:00:00+01:00"));
        // Overlapping periods count their common time once.
        let overlapping = hours(
            "Europe/Amsterdam",
            &[
                (&["tue"], "08:00:00", "12:00:00"),
                (&["tue"], "10:00:00", "14:00:00"),
                (&["wed"], "08:00:00", "09:00:00"),
            ],
        );
        assert_eq!(due(Some(&overlapping), "2026-12-01T08:00:00+01:00", 6 * 3600), at("2026-12-01T14:00:00+01:00"));
        assert_eq!(
            due(Some(&overlapping), "2026-12-01T08:00:00+01:00", 6 * 3600 + 60),
            at("2026-12-02T08:01:00+01:00")
        );
    }

    #[test]
    fn hours_that_almost_never_open_give_up_rather_than_loop() {
        let rarely = hours("Europe/Amsterdam", &[(&["mon"], "08:00:00", "08:00:01")]);
        let month = ResponseTime::from_secs(u64::from(ResponseTime::MAX_SECS)).unwrap();
        assert_eq!(deadline(Some(&rarely), at("2026-12-01T00:00:00Z"), month), Err(ServiceHoursError::TooFar));
    }
}
