//! Counter increments from raw samples, counted once each whatever the scrape interval.
//!
//! A counter's events between two consecutive samples `p` and `q` of one series are
//! `q - p`, or `q` when the value dropped (a reset: the process restarted and counts from zero
//! again, the rule of Prometheus's `increase()`). They belong to the time of `q`, the sample
//! that showed them, so a bucket `(a, b]` holds exactly the increments whose later sample lies in
//! it: nothing is extrapolated, and a 60 s scrape at any phase fills every 1-minute bucket.
//!
//! Two rules bound what a series' history can claim:
//! - A series' first sample carries no events: nobody saw the counter before it (as in
//!   `increase()`; a client that starts a label set at 0 loses nothing).
//! - A sample more than [`SERIES_MEMORY_MS`] after its predecessor starts the series afresh: a
//!   series silent that long is forgotten (this bounds memory; a target that was down for longer
//!   loses the increments of its first sample back).

/// How long a series' last sample is remembered: 2 hours.
pub const SERIES_MEMORY_MS: i64 = 2 * 3600 * 1000;

/// The last sample seen of one counter series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastSample {
    /// Unix milliseconds.
    pub t_ms: i64,
    pub value: f64,
}

/// Feeds one sample of a series whose last sample is `last`, and returns the events it shows,
/// or `None` when it shows none that can be counted: the series' first sample (or the first
/// after more than [`SERIES_MEMORY_MS`]), a sample not newer than the last one (read twice, as
/// overlapping reads do), or a value that is not a finite number (skipped, `last` unchanged).
///
/// ```
/// use sloburn::core::counter::{LastSample, follow};
/// let mut last = None;
/// assert_eq!(follow(&mut last, 15_000, 100.0), None); // first sample: a starting point
/// assert_eq!(follow(&mut last, 30_000, 130.0), Some(30.0));
/// assert_eq!(follow(&mut last, 30_000, 130.0), None); // read again: not counted twice
/// assert_eq!(follow(&mut last, 45_000, 12.0), Some(12.0)); // a reset
/// assert_eq!(last, Some(LastSample { t_ms: 45_000, value: 12.0 }));
/// ```
pub fn follow(last: &mut Option<LastSample>, t_ms: i64, value: f64) -> Option<f64> {
    if !value.is_finite() {
        return None;
    }
    let previous = *last;
    match previous {
        Some(p) if t_ms <= p.t_ms => None,
        Some(p) if t_ms - p.t_ms <= SERIES_MEMORY_MS => {
            *last = Some(LastSample { t_ms, value });
            Some(if value >= p.value {
                value - p.value
            } else {
                value.max(0.0)
            })
        }
        _ => {
            *last = Some(LastSample { t_ms, value });
            None
        }
    }
}

/// The end (unix seconds) of the bucket of width `width_secs` that holds the instant `t_ms`:
/// buckets are `(end - width, end]`, so a sample exactly on a boundary closes the bucket before.
///
/// ```
/// use sloburn::core::counter::bucket_end;
/// assert_eq!(bucket_end(60_000, 60), 60);
/// assert_eq!(bucket_end(60_001, 60), 120);
/// assert_eq!(bucket_end(119_999, 60), 120);
/// assert_eq!(bucket_end(-1, 60), 0);
/// ```
pub fn bucket_end(t_ms: i64, width_secs: i64) -> i64 {
    let width_ms = width_secs.max(1) * 1000;
    // Ceiling division that also holds for negative instants.
    (t_ms + width_ms - 1).div_euclid(width_ms) * width_secs.max(1)
}

#[cfg(test)]
mod tests;
