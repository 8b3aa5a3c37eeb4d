//! Wall-clock time as the store keeps it: milliseconds since the Unix epoch, UTC.

use ::time::OffsetDateTime;

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(i64);

impl Millis {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(t: OffsetDateTime) -> Self {
        Self(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
    }

    pub fn from_i64(ms: i64) -> Self {
        Self(ms)
    }

    pub fn as_i64(self) -> i64 {
        self.0
    }

    pub fn plus_secs(self, secs: u64) -> Self {
        let add = i64::try_from(secs).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
        Self(self.0.saturating_add(add))
    }

    pub fn minus_secs(self, secs: u64) -> Self {
        let sub = i64::try_from(secs).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
        Self(self.0.saturating_sub(sub))
    }

    pub fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)))
    }

    /// As RFC 3339 in UTC to the second, e.g. `2027-03-01T00:00:00Z` (the milliseconds dropped).
    pub fn to_rfc3339_secs(self) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.to_datetime().format(format).unwrap_or_default()
    }

    /// As a UTC date-time; out-of-range values clamp to the epoch (they cannot come from `now`).
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A FHIR `instant`/`dateTime` (RFC 3339), or a date meaning its midnight UTC: what search parameters
/// such as `_since` and `date` take.
pub fn parse_instant(text: &str) -> Option<Millis> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(Millis::from_datetime(at));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, format).ok()?;
    Some(Millis::from_datetime(date.midnight().assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_the_second_drops_the_milliseconds() {
        let at = parse_instant("2027-03-01T00:00:00Z").map(|at| at.plus_millis(999));
        assert_eq!(at.map(Millis::to_rfc3339_secs).as_deref(), Some("2027-03-01T00:00:00Z"));
    }
}
