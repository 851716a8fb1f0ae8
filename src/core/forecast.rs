//! When the error budget runs out at the current burn rate.

use super::{Period, PromDuration};

/// Seconds until the budget is spent at burn rate `burn`, given the share of the budget
/// `remaining` (as from [`remaining_budget`](super::remaining_budget)); `None` when it is not
/// being spent faster than it refills, or not before the period ends.
///
/// - `remaining <= 0`: already spent, `Some(0.0)`.
/// - Rolling period: the budget refills as old events leave the window. They are assumed to
///   leave at the period's average burn, `1 - remaining`, so the net drain per second is
///   `(burn - (1 - remaining)) / period_secs` and the answer is
///   `remaining * period_secs / (burn - (1 - remaining))` when that drain is positive.
///   `elapsed_in_period` and `secs_left_in_period` are not used.
/// - Calendar period: nothing refills before the period ends, but the remaining budget is a
///   share of the events *so far* (`elapsed_in_period` seconds of them), and every new event
///   changes that share. With traffic at its average rate and errors at burn `b`, the share
///   of the budget spent after `t` more seconds is `(used * elapsed + b * t) / (elapsed + t)`
///   (`used = 1 - remaining`), which reaches 1 at `t = elapsed * remaining / (b - 1)`: only
///   while `b > 1`, and only if that is before the period ends (`secs_left_in_period`). Early
///   in a period few events are counted, so a fast burn spends the share quickly; late in it,
///   a burn below 1 only improves the share.
///
/// Never NaN or infinite: a non-finite input that is used gives `None`, as does a forecast too
/// far away for f64.
///
/// ```
/// use sloburn::core::{exhaustion_seconds, Period};
/// let rolling = Period::Rolling("30d".parse().unwrap());
/// // Half the budget left, burning at 2 while the leaving events burned at 0.5: 10 days.
/// assert_eq!(exhaustion_seconds(&rolling, 0.5, 2.0, 0.0, 0.0), Some(10.0 * 86400.0));
/// // Burning no faster than the window refills: never.
/// assert_eq!(exhaustion_seconds(&rolling, 0.5, 0.5, 0.0, 0.0), None);
/// // A month one day in, half its budget left, burning at 14.4: about 54 minutes.
/// let month = Period::Calendar { unit: sloburn::core::CalendarUnit::Month, tz: chrono_tz::UTC };
/// let t = exhaustion_seconds(&month, 0.5, 14.4, 86400.0, 29.0 * 86400.0).unwrap();
/// assert!((t / 60.0 - 53.7).abs() < 0.1);
/// ```
pub fn exhaustion_seconds(
    period: &Period,
    remaining: f64,
    burn: f64,
    elapsed_in_period: f64,
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
            if burn <= 1.0 || !secs_left_in_period.is_finite() || !elapsed_in_period.is_finite() {
                return None;
            }
            let seconds = elapsed_in_period.max(0.0) * remaining / (burn - 1.0);
            if seconds >= secs_left_in_period {
                return None;
            }
            seconds
        }
    };
    seconds.is_finite().then_some(seconds)
}

/// Whether an exhaustion alert (`alerting.exhaustion.within`) fires: only while the budget is
/// not yet spent (`remaining` above 0) and there is a forecast (from [`exhaustion_seconds`]) at
/// most `within` away. No forecast (the budget refills as fast as it burns, or the SLO has no
/// data) never fires; nor does a spent budget, though it is forecast as 0: it is no longer
/// running out, and `SLOErrorBudgetExhausted` says it has run out.
///
/// ```
/// use sloburn::core::exhaustion_alert_active;
/// let two_hours = "2h".parse().unwrap();
/// assert!(exhaustion_alert_active(Some(3600.0), 0.1, two_hours));
/// assert!(!exhaustion_alert_active(Some(3.0 * 3600.0), 0.1, two_hours));
/// assert!(!exhaustion_alert_active(None, 0.1, two_hours));
/// assert!(!exhaustion_alert_active(Some(0.0), 0.0, two_hours));
/// ```
pub fn exhaustion_alert_active(
    forecast: Option<f64>,
    remaining: f64,
    within: PromDuration,
) -> bool {
    // Inclusive: "within 2h" includes a forecast of exactly 2h, as the ruler's `<=` does.
    remaining > 0.0 && forecast.is_some_and(|secs| secs <= within.as_secs_f64())
}

#[cfg(test)]
mod tests;
