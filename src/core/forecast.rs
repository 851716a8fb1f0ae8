//! When the error budget runs out at the current burn rate.

use super::Period;

/// Seconds until the budget is spent at burn rate `burn`, given the share of the budget
/// `remaining` (as from [`remaining_budget`](super::remaining_budget)); `None` when it is not
/// being spent faster than it refills, or not before the period ends.
///
/// - `remaining <= 0`: already spent, `Some(0.0)`.
/// - Rolling period: the budget refills as old events leave the window. They are assumed to
///   leave at the period's average burn, `1 - remaining`, so the net drain per second is
///   `(burn - (1 - remaining)) / period_secs` and the answer is
///   `remaining * period_secs / (burn - (1 - remaining))` when that drain is positive.
///   `secs_left_in_period` is not used.
/// - Calendar period: nothing refills before the period ends, so the answer is
///   `remaining * nominal_secs / burn` when `burn > 0` and that is less than
///   `secs_left_in_period`; after the reset the budget is whole again.
///
/// Never NaN or infinite: a non-finite input that is used gives `None`, as does a forecast too
/// far away for f64.
///
/// ```
/// use sloburn::core::{exhaustion_seconds, Period};
/// let rolling = Period::Rolling("30d".parse().unwrap());
/// // Half the budget left, burning at 2 while the leaving events burned at 0.5: 10 days.
/// assert_eq!(exhaustion_seconds(&rolling, 0.5, 2.0, 0.0), Some(10.0 * 86400.0));
/// // Burning no faster than the window refills: never.
/// assert_eq!(exhaustion_seconds(&rolling, 0.5, 0.5, 0.0), None);
/// ```
pub fn exhaustion_seconds(
    period: &Period,
    remaining: f64,
    burn: f64,
    secs_left_in_period: f64,
) -> Option<f64> {
    if !remaining.is_finite() || !burn.is_finite() {
        return None;
    }
    if remaining <= 0.0 {
        return Some(0.0);
    }
    let nominal_secs = period.nominal().as_secs_f64();
    let seconds = match period {
        Period::Rolling(_) => {
            let net_burn = burn - (1.0 - remaining);
            if net_burn <= 0.0 {
                return None;
            }
            remaining * nominal_secs / net_burn
        }
        Period::Calendar { .. } => {
            if burn <= 0.0 || !secs_left_in_period.is_finite() {
                return None;
            }
            let seconds = remaining * nominal_secs / burn;
            if seconds >= secs_left_in_period {
                return None;
            }
            seconds
        }
    };
    seconds.is_finite().then_some(seconds)
}

#[cfg(test)]
mod tests;
