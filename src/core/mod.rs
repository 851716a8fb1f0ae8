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
