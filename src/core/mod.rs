//! The pure core: durations, periods and windows, budget and burn math, alert decisions and the
//! exhaustion forecast. Nothing here does I/O or reads a clock; callers pass the instant.

pub mod alerts;
pub mod bucket;
pub mod budget;
pub mod correction;
pub mod counter;
pub mod duration;
pub mod forecast;
pub mod period;
pub mod record;

pub use alerts::{
    AlertState, BurnWindow, Severity, ThresholdSpec, WindowTable, decide, threshold_for,
};
pub use budget::{Counts, Objective, burn_rate, error_ratio, remaining_budget};
pub use duration::{DurationError, PromDuration};
pub use forecast::{exhaustion_alert_active, exhaustion_seconds};
pub use period::{CalendarUnit, Period};

/// A unix time as RFC 3339 (UTC), or the number itself when out of range.
///
/// ```
/// assert_eq!(sloburn::core::rfc3339(0), "1970-01-01T00:00:00+00:00");
/// ```
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.to_rfc3339())
}

/// A float written the way people read thresholds: 14.4, 0.933, 13.44 (6 decimals at most).
///
/// ```
/// assert_eq!(sloburn::core::number(1.0 / (1.0 - 0.999)), "1000");
/// ```
pub fn number(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    format!("{rounded}")
}
