//! Time as the protocol sees it: a value passed in by the caller, never read from a clock.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, as supplied by the caller.
///
/// The protocol crate never reads a clock (it is sans-IO): the agent and viewer pass
/// the current time in, and tests drive sessions in virtual time by passing made-up
/// values.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Builds a timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// This time plus `duration`, saturating at the far future.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// How long after `earlier` this time is (zero if it is not later).
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// A [`Timestamp`] as a calendar date and time of day in UTC (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// The year, e.g. 2023.
    pub year: u64,
    /// The month, 1 to 12.
    pub month: u64,
    /// The day of the month, 1 to 31.
    pub day: u64,
    /// The hour, 0 to 23.
    pub hour: u64,
    /// The minute, 0 to 59.
    pub minute: u64,
    /// The second, 0 to 59.
    pub second: u64,
    /// The millisecond, 0 to 999.
    pub millisecond: u64,
}

impl Timestamp {
    /// The date and time of day in UTC (Howard Hinnant's civil-from-days algorithm).
    pub fn utc(self) -> UtcTime {
        let seconds = self.0 / 1000;
        let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
        let z = days + 719_468;
        let era = z / 146_097;
        let day_of_era = z % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        UtcTime {
            year: year_of_era + era * 400 + u64::from(month <= 2),
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day % 3600 / 60,
            second: second_of_day % 60,
            millisecond: self.0 % 1000,
        }
    }
}

/// `2023-11-14 22:13:20.123`; with `{:#}`, ISO 8601: `2023-11-14T22:13:20.123Z`.
impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (separator, zone) = if f.alternate() { ("T", "Z") } else { (" ", "") };
        write!(
            f,
            "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}.{:03}{zone}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let t = Timestamp(u64::MAX - 5);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)),
            Timestamp(u64::MAX)
        );
        assert_eq!(
            Timestamp(1_000).saturating_duration_since(Timestamp(3_000)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp(3_500).saturating_duration_since(Timestamp(1_000)),
            Duration::from_millis(2_500)
        );
        assert_eq!(Timestamp(12_345).to_string(), "12.345");
    }

    #[test]
    fn utc_dates_match_known_days() {
        let date = |millis| {
            let t = Timestamp(millis).utc();
            (
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.millisecond,
            )
        };
        assert_eq!(date(0), (1970, 1, 1, 0, 0, 0, 0));
        assert_eq!(date(1_700_000_000_123), (2023, 11, 14, 22, 13, 20, 123));
        // A leap day, its last millisecond, and a century that is not a leap year.
        assert_eq!(date(951_782_400_000), (2000, 2, 29, 0, 0, 0, 0));
        assert_eq!(date(951_868_799_999), (2000, 2, 29, 23, 59, 59, 999));
        assert_eq!(date(4_107_542_400_000), (2100, 3, 1, 0, 0, 0, 0));
        let time = Timestamp(1_700_000_000_123).utc();
        assert_eq!(time.to_string(), "2023-11-14 22:13:20.123");
        assert_eq!(format!("{time:#}"), "2023-11-14T22:13:20.123Z");
    }
}
