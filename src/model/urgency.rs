//! Urgency as the directory states it: a request's priority (FHIR's request priority codes), an
//! organisation's opening hours in its own time zone, and per priority the time within which it answers
//! and the organisation a request goes to when it does not. Each value is checked once, where it enters
//! (the directory import); the arithmetic on them is `service_hours`.

use std::fmt;

use super::OrgId;

/// FHIR R4 request priority (`http://hl7.org/fhir/request-priority`), in the order of the code system:
/// each is more urgent than the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Routine,
    Urgent,
    Asap,
    Stat,
}

impl Priority {
    pub const ALL: [Self; 4] = [Self::Routine, Self::Urgent, Self::Asap, Self::Stat];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routine => "routine",
            Self::Urgent => "urgent",
            Self::Asap => "asap",
            Self::Stat => "stat",
        }
    }

    /// Where a delivery of a request of this priority stands in its receiver's queue: 0 first
    /// (`stat`) to 3 (`routine`, as a message without a priority).
    pub fn claim_rank(self) -> i64 {
        match self {
            Self::Stat => 0,
            Self::Asap => 1,
            Self::Urgent => 2,
            Self::Routine => 3,
        }
    }

    /// The code, exactly (FHIR codes are case-sensitive).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == code)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days of the week as FHIR's `days-of-week` codes (`mon` .. `sun`), a set: bit 0 is Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const CODES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// The days of `codes`; `None` for an unknown code or no day at all.
    pub fn parse<'a>(codes: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut bits = 0u8;
        for code in codes {
            let day = Self::CODES.iter().position(|c| *c == code)?;
            bits |= 1 << day;
        }
        (bits != 0).then_some(Self(bits))
    }

    /// From the bits the store wrote (`None` if they name no day or more than seven).
    pub fn from_bits(bits: i64) -> Option<Self> {
        u8::try_from(bits).ok().filter(|b| *b != 0 && *b < 0x80).map(Self)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// Whether the set holds the day `monday_is_0` (0 = Monday .. 6 = Sunday).
    pub fn contains(self, monday_is_0: u8) -> bool {
        monday_is_0 < 7 && self.0 & (1 << monday_is_0) != 0
    }

    /// The codes of the days in the set, Monday first.
    pub fn codes(self) -> impl Iterator<Item = &'static str> {
        (0..7u8).filter(move |d| self.contains(*d)).map(|d| Self::CODES[usize::from(d)])
    }
}

/// A local time of day, to the second (FHIR `time` without fractions: `hh:mm:ss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    /// `hh:mm:ss`, 00:00:00 to 23:59:59.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
            return None;
        }
        let two = |at: usize| -> Option<u32> {
            let (a, b) = (bytes[at], bytes[at + 1]);
            (a.is_ascii_digit() && b.is_ascii_digit()).then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        };
        let (h, m, s) = (two(0)?, two(3)?, two(6)?);
        (h < 24 && m < 60 && s < 60).then_some(Self(h * 3600 + m * 60 + s))
    }

    /// From the seconds since midnight the store wrote.
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        u32::try_from(seconds).ok().filter(|s| *s < 86_400).map(Self)
    }

    pub fn seconds(self) -> u32 {
        self.0
    }

    pub fn hour(self) -> i8 {
        (self.0 / 3600) as i8
    }

    pub fn minute(self) -> i8 {
        (self.0 / 60 % 60) as i8
    }

    pub fn second(self) -> i8 {
        (self.0 % 60) as i8
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour(), self.minute(), self.second())
    }
}

/// Open on `days` from `opens` until `closes` (local time; `opens` before `closes`, so a period never
/// runs past midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenPeriod {
    days: Weekdays,
    opens: TimeOfDay,
    closes: TimeOfDay,
}

impl OpenPeriod {
    /// `None` unless `opens` is before `closes`.
    pub fn new(days: Weekdays, opens: TimeOfDay, closes: TimeOfDay) -> Option<Self> {
        (opens < closes).then_some(Self { days, opens, closes })
    }

    pub fn days(&self) -> Weekdays {
        self.days
    }

    pub fn opens(&self) -> TimeOfDay {
        self.opens
    }

    pub fn closes(&self) -> TimeOfDay {
        self.closes
    }
}

/// An IANA time zone name the broker's time-zone database knows (e.g. `Europe/Amsterdam`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(name: &str) -> Option<Self> {
        let plausible = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        (plausible && jiff::tz::db().get(name).is_ok()).then(|| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When an organisation is open, in its own time zone. Without any, it counts as open around the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    zone: TimeZoneName,
    periods: Vec<OpenPeriod>,
}

impl OpeningHours {
    /// Most open periods an organisation may state (a week of split days is 14).
    pub const MAX_PERIODS: usize = 21;

    /// `None` without a period or with more than [`Self::MAX_PERIODS`].
    pub fn new(zone: TimeZoneName, periods: Vec<OpenPeriod>) -> Option<Self> {
        (!periods.is_empty() && periods.len() <= Self::MAX_PERIODS).then_some(Self { zone, periods })
    }

    pub fn zone(&self) -> &TimeZoneName {
        &self.zone
    }

    pub fn periods(&self) -> &[OpenPeriod] {
        &self.periods
    }
}

/// How long a response may take, counted in opening hours: 1 second to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResponseTime(u32);

impl ResponseTime {
    pub const MAX_SECS: u32 = 30 * 86_400;

    pub fn from_secs(secs: u64) -> Option<Self> {
        u32::try_from(secs).ok().filter(|s| (1..=Self::MAX_SECS).contains(s)).map(Self)
    }

    pub fn secs(self) -> u32 {
        self.0
    }
}

impl ResponseTime {
    /// The time in its largest whole UCUM unit: `(2, "h")`, `(30, "min")`, `(90, "s")`, `(1, "d")`.
    pub fn in_largest_unit(self) -> (u32, &'static str) {
        [(86_400, "d"), (3600, "h"), (60, "min")]
            .into_iter()
            .find(|(unit, _)| self.0.is_multiple_of(*unit))
            .map_or((self.0, "s"), |(unit, code)| (self.0 / unit, code))
    }
}

impl fmt::Display for ResponseTime {
    /// The largest whole unit: `2h`, `30min`, `90s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, unit) = self.in_largest_unit();
        write!(f, "{value}{unit}")
    }
}

/// What an organisation promises for requests of one priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRule {
    pub priority: Priority,
    /// Counted in the organisation's opening hours.
    pub within: ResponseTime,
    /// Where a request goes that was not answered in time (another organisation of the directory).
    pub escalation: Option<OrgId>,
}

/// What a receipt reports, as `receipts.kind` stores it (one receipt per delivery and kind): a delivery
/// state the delivery reached, or that it is overdue, which is no state: an overdue delivery is still
/// queued or delivered and may yet be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    State(super::DeliveryState),
    Overdue,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::State(state) => state.as_str(),
            Self::Overdue => "overdue",
        }
    }
}

impl From<super::DeliveryState> for ReceiptKind {
    fn from(state: super::DeliveryState) -> Self {
        Self::State(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_the_fhir_codes_in_rising_urgency() {
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert!(Priority::Routine < Priority::Urgent && Priority::Asap < Priority::Stat);
        for code in ["", "Urgent", "URGENT", "emergency", " urgent"] {
            assert_eq!(Priority::parse(code), None, "{code:?}");
        }
    }

    #[test]
    fn times_of_day_are_hh_mm_ss() {
        assert_eq!(TimeOfDay::parse("08:30:00").map(|t| t.seconds()), Some(8 * 3600 + 1800));
        assert_eq!(TimeOfDay::parse("23:59:59").map(|t| t.to_string()), Some("23:59:59".to_owned()));
        for bad in ["8:30:00", "08:30", "24:00:00", "12:60:00", "12:00:60", "12:00:00.5", "ab:cd:ef", "", "12-00-00"] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn weekdays_are_fhir_day_codes() {
        let days = Weekdays::parse(["fri", "mon", "mon"]).unwrap();
        assert_eq!(days.codes().collect::<Vec<_>>(), ["mon", "fri"]);
        assert_eq!(Weekdays::from_bits(days.bits()), Some(days));
        assert_eq!(Weekdays::parse(["Mon"]), None);
        assert_eq!(Weekdays::parse([]), None);
        assert_eq!(Weekdays::from_bits(0), None);
        assert_eq!(Weekdays::from_bits(0x80), None);
    }

    #[test]
    fn a_period_closes_after_it_opens() {
        let days = Weekdays::parse(["mon"]).unwrap();
        let t = |s| TimeOfDay::parse(s).unwrap();
        assert!(OpenPeriod::new(days, t("08:30:00"), t("17:00:00")).is_some());
        assert!(OpenPeriod::new(days, t("17:00:00"), t("08:30:00")).is_none());
        assert!(OpenPeriod::new(days, t("08:30:00"), t("08:30:00")).is_none());
    }

    #[test]
    fn time_zones_are_names_the_bundled_database_knows() {
        for name in ["Europe/Amsterdam", "Europe/Brussels", "UTC"] {
            assert_eq!(TimeZoneName::parse(name).map(|z| z.to_string()), Some(name.to_owned()));
        }
        for bad in ["", "Europe/Atlantis", "CEST+2", "../etc/passwd", "Europe/Amsterdam ", &"A".repeat(65)] {
            assert_eq!(TimeZoneName::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_overdue_receipt_is_no_delivery_state() {
        use crate::model::DeliveryState;
        assert_eq!(ReceiptKind::Overdue.as_str(), "overdue");
        assert!("overdue".parse::<DeliveryState>().is_err());
        assert_eq!(ReceiptKind::from(DeliveryState::Delivered).as_str(), "delivered");
    }

    #[test]
    fn response_times_are_a_second_to_thirty_days() {
        assert_eq!(ResponseTime::from_secs(0), None);
        assert_eq!(ResponseTime::from_secs(u64::from(ResponseTime::MAX_SECS) + 1), None);
        let shown: Vec<String> =
            [7200, 1800, 90, 86_400].iter().map(|s| ResponseTime::from_secs(*s).unwrap().to_string()).collect();
        assert_eq!(shown, ["2h", "30min", "90s", "1d"]);
    }
}
