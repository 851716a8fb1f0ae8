//! SLO periods: a rolling window (`30d`) or a calendar month/week in a time zone, and the
//! `[start, end)` bounds of the period that contains a given instant.

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use super::PromDuration;

/// A calendar unit for calendar-aligned periods. Weeks start on Monday at local midnight.
///
/// ```
/// use sloburn::core::{CalendarUnit, Period};
/// let p = Period::Calendar { unit: CalendarUnit::Week, tz: chrono_tz::UTC };
/// assert_eq!(p.nominal().to_string(), "7d");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    Month,
    Week,
}

/// The span over which an SLO's error budget is counted.
///
/// ```
/// use sloburn::core::{CalendarUnit, Period};
/// let rolling = Period::Rolling("28d".parse().unwrap());
/// assert_eq!(rolling.describe(), "28d");
/// let month = Period::Calendar { unit: CalendarUnit::Month, tz: chrono_tz::Europe::Berlin };
/// assert_eq!(month.describe(), "calendar month (Europe/Berlin)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// The trailing window of this length, ending now.
    Rolling(PromDuration),
    /// The current calendar month or week in `tz`.
    Calendar { unit: CalendarUnit, tz: Tz },
}

const DAY_SECS: u64 = 24 * 3600;

impl Period {
    /// The nominal length used for burn-rate thresholds: a rolling period's own duration, 30d
    /// for a calendar month and 7d for a calendar week.
    ///
    /// ```
    /// use sloburn::core::{CalendarUnit, Period};
    /// let month = Period::Calendar { unit: CalendarUnit::Month, tz: chrono_tz::UTC };
    /// assert_eq!(month.nominal().as_secs(), 30 * 86400);
    /// ```
    pub fn nominal(&self) -> PromDuration {
        match self {
            Period::Rolling(d) => *d,
            Period::Calendar {
                unit: CalendarUnit::Month,
                ..
            } => PromDuration::from_secs(30 * DAY_SECS),
            Period::Calendar {
                unit: CalendarUnit::Week,
                ..
            } => PromDuration::from_secs(7 * DAY_SECS),
        }
    }

    /// `[start, end)` of the period that contains `at`.
    ///
    /// Rolling: `[at - d, at)`. Calendar: from the start of the current month or week in `tz`
    /// to the start of the next. A period starts at local midnight; where local midnight does
    /// not exist (a DST gap, as in São Paulo before 2019) it starts at the first instant after
    /// it that does, and where midnight occurs twice it starts at the first. Consecutive calendar
    /// periods tile time: `bounds_at(end).0 == end`. Results are clamped to chrono's range.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use sloburn::core::{CalendarUnit, Period};
    /// let month = Period::Calendar { unit: CalendarUnit::Month, tz: chrono_tz::Europe::Berlin };
    /// let (start, end) = month.bounds_at(Utc.with_ymd_and_hms(2026, 3, 29, 12, 0, 0).unwrap());
    /// assert_eq!(start, Utc.with_ymd_and_hms(2026, 2, 28, 23, 0, 0).unwrap()); // CET
    /// assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap()); // CEST
    /// ```
    pub fn bounds_at(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match *self {
            Period::Rolling(d) => {
                let len = i64::try_from(d.as_millis())
                    .ok()
                    .and_then(TimeDelta::try_milliseconds)
                    .unwrap_or(TimeDelta::MAX);
                let start = at
                    .checked_sub_signed(len)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                (start, at)
            }
            Period::Calendar { unit, tz } => {
                let first = local_time(tz, at).and_then(|t| first_day(unit, t.date()));
                let next = first.and_then(|f| next_first_day(unit, f));
                let start = first
                    .and_then(|f| first_instant_of(tz, f))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                let end = next
                    .and_then(|n| first_instant_of(tz, n))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                (start, end)
            }
        }
    }

    /// A short human description: `30d`, `calendar month (Europe/Berlin)`, `calendar week (UTC)`.
    ///
    /// Whole-day rolling periods are written in days, as SLOs are usually named (`30d`, not the
    /// canonical `4w2d`); other lengths use the canonical Prometheus form.
    ///
    /// ```
    /// use sloburn::core::Period;
    /// assert_eq!(Period::Rolling("30d".parse().unwrap()).describe(), "30d");
    /// assert_eq!(Period::Rolling("36h".parse().unwrap()).describe(), "1d12h");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            Period::Rolling(d) => d.to_string(),
            Period::Calendar { unit, tz } => {
                let unit = match unit {
                    CalendarUnit::Month => "month",
                    CalendarUnit::Week => "week",
                };
                format!("calendar {unit} ({})", tz.name())
            }
        }
    }
}

/// Local wall-clock time of `at` in `tz`; `None` past the ends of chrono's range, where
/// `DateTime::naive_local` would panic.
fn local_time(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// The first day of the month or week that contains `day`.
fn first_day(unit: CalendarUnit, day: NaiveDate) -> Option<NaiveDate> {
    match unit {
        CalendarUnit::Month => day.with_day(1),
        CalendarUnit::Week => {
            day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        }
    }
}

/// The first day of the following month or week.
fn next_first_day(unit: CalendarUnit, first: NaiveDate) -> Option<NaiveDate> {
    match unit {
        CalendarUnit::Month => first.checked_add_months(Months::new(1)),
        CalendarUnit::Week => first.checked_add_days(Days::new(7)),
    }
}

/// The first instant whose local time in `tz` is at or after midnight starting `day`.
fn first_instant_of(tz: Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // Midnight falls in a gap. The gap's end is the instant where local time first
            // reaches midnight; every UTC offset lies within ±26h, so search that span by second.
            let target = midnight.and_utc().timestamp();
            let reaches = |secs: i64| {
                DateTime::from_timestamp(secs, 0)
                    .and_then(|t| local_time(tz, t))
                    .is_some_and(|local| local >= midnight)
            };
            let (mut lo, mut hi) = (target - 26 * 3600, target + 26 * 3600);
            if reaches(lo) || !reaches(hi) {
                return None;
            }
            // Invariant: !reaches(lo) && reaches(hi).
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if reaches(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            DateTime::from_timestamp(hi, 0)
        }
    }
}

#[cfg(test)]
mod tests;
