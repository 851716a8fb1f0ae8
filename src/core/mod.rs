//! The pure core: durations, periods and windows, budget and burn math, alert decisions and the
//! exhaustion forecast. Nothing here does I/O or reads a clock; callers pass the instant.

pub mod alerts;
pub mod bucket;
pub mod budget;
pub mod counter;
pub mod duration;
pub mod forecast;
pub mod period;

pub use alerts::{
    AlertState, BurnWindow, Severity, ThresholdSpec, WindowTable, decide, threshold_for,
};
pub use budget::{Counts, Objective, burn_rate, error_ratio, remaining_budget};
pub use duration::{DurationError, PromDuration};
pub use forecast::exhaustion_seconds;
pub use period::{CalendarUnit, Period};

/// A float written the way people read thresholds: 14.4, 0.933, 13.44 (6 decimals at most).
///
/// ```
/// assert_eq!(sloburn::core::number(1.0 / (1.0 - 0.999)), "1000");
/// ```
pub fn number(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    format!("{rounded}")
}
