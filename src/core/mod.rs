//! The pure core: durations, periods and windows, budget and burn math, alert decisions and the
//! exhaustion forecast. Nothing here does I/O or reads a clock; callers pass the instant.

pub mod duration;

pub mod period;

pub use duration::{DurationError, PromDuration};
pub use period::{CalendarUnit, Period};
