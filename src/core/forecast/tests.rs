use super::*;
use crate::core::{CalendarUnit, PromDuration};
use proptest::prelude::*;

const DAY: f64 = 86400.0;

fn rolling_30d() -> Period {
    Period::Rolling("30d".parse().unwrap())
}

fn month() -> Period {
    Period::Calendar {
        unit: CalendarUnit::Month,
        tz: chrono_tz::Europe::Berlin,
    }
}

fn week() -> Period {
    Period::Calendar {
        unit: CalendarUnit::Week,
        tz: chrono_tz::UTC,
    }
}

#[test]
fn rolling_examples() {
    let p = rolling_30d();
    // Refill 0.5, burn 2: net 1.5 of the budget per period; 0.5 left lasts a third of 30d.
    assert_eq!(exhaustion_seconds(&p, 0.5, 2.0, 0.0, 0.0), Some(10.0 * DAY));
    // Untouched budget, burning at 1: refill 0, spent in exactly one period.
    assert_eq!(exhaustion_seconds(&p, 1.0, 1.0, 0.0, 0.0), Some(30.0 * DAY));
    // Untouched budget, burning at 14.4: the page threshold spends it in about 2 days.
    let t = exhaustion_seconds(&p, 1.0, 14.4, 0.0, 0.0).unwrap();
    assert!((t - 30.0 * DAY / 14.4).abs() < 1e-6);
}

#[test]
fn rolling_none_when_burn_does_not_exceed_refill() {
    let p = rolling_30d();
    assert_eq!(exhaustion_seconds(&p, 0.5, 0.5, 0.0, 0.0), None);
    assert_eq!(exhaustion_seconds(&p, 0.5, 0.2, 0.0, 0.0), None);
    assert_eq!(exhaustion_seconds(&p, 1.0, 0.0, 0.0, 0.0), None);
    // The unused seconds-left argument does not matter for rolling periods.
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 2.0, 0.0, f64::NAN),
        Some(10.0 * DAY)
    );
}

#[test]
fn calendar_examples() {
    let p = month();
    // 10 days in, half the budget left, burning at 3: the share of the month's events so far
    // reaches the budget after 10d x 0.5 / (3 - 1) = 2.5 days.
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 3.0, 10.0 * DAY, 20.0 * DAY),
        Some(2.5 * DAY)
    );
    // The month ends first: the budget resets before it runs out.
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 3.0, 10.0 * DAY, 2.0 * DAY),
        None
    );
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 3.0, 10.0 * DAY, 2.5 * DAY),
        None
    );
    // A burn of at most 1 never spends what is left: the share only moves toward the burn.
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 1.0, 10.0 * DAY, 20.0 * DAY),
        None
    );
    assert_eq!(exhaustion_seconds(&week(), 0.1, 0.5, DAY, 6.0 * DAY), None);
}

#[test]
fn spent_budget_is_exhausted_now() {
    for p in [rolling_30d(), month(), week()] {
        assert_eq!(exhaustion_seconds(&p, 0.0, 0.0, 0.0, 0.0), Some(0.0));
        assert_eq!(exhaustion_seconds(&p, -0.3, 5.0, 100.0, 100.0), Some(0.0));
    }
}

#[test]
fn non_finite_inputs_give_none() {
    for p in [rolling_30d(), month()] {
        for (r, b) in [
            (f64::NAN, 1.0),
            (0.5, f64::NAN),
            (f64::INFINITY, 2.0),
            (0.5, f64::INFINITY),
        ] {
            assert_eq!(exhaustion_seconds(&p, r, b, DAY, DAY), None);
        }
    }
    assert_eq!(
        exhaustion_seconds(&month(), 0.5, 3.0, DAY, f64::INFINITY),
        None
    );
    // A drain too slow to represent is "never", not infinity.
    let huge = Period::Rolling(PromDuration::from_millis(u64::MAX));
    assert_eq!(exhaustion_seconds(&huge, 1.0, 1e-300, 0.0, 0.0), None);
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -2.0..2.0f64,
        0.0..100.0f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(5e-324),
        Just(f64::MAX),
    ]
}

fn any_period() -> impl Strategy<Value = Period> {
    prop_oneof![
        any::<u64>().prop_map(|ms| Period::Rolling(PromDuration::from_millis(ms))),
        Just(rolling_30d()),
        Just(month()),
        Just(week()),
    ]
}

proptest! {
    #[test]
    fn never_nan_or_infinite(
        period in any_period(),
        remaining in any_f64(),
        burn in any_f64(),
        elapsed in any_f64(),
        left in any_f64(),
    ) {
        if let Some(t) = exhaustion_seconds(&period, remaining, burn, elapsed, left) {
            prop_assert!(t.is_finite() && t >= 0.0, "{t}");
        }
    }

    #[test]
    fn faster_burn_never_lasts_longer(
        period in prop_oneof![Just(rolling_30d()), Just(month())],
        remaining in 0.0..=1.0f64,
        a in 0.0..100.0f64,
        b in 0.0..100.0f64,
        elapsed in 0.0..(31.0 * DAY),
        left in 0.0..(31.0 * DAY),
    ) {
        let (slow, fast) = if a <= b { (a, b) } else { (b, a) };
        let t_slow = exhaustion_seconds(&period, remaining, slow, elapsed, left);
        let t_fast = exhaustion_seconds(&period, remaining, fast, elapsed, left);
        if let Some(s) = t_slow {
            let f = t_fast.unwrap();
            prop_assert!(f <= s, "{f} > {s}");
        }
    }

    #[test]
    fn rolling_forecast_drains_exactly_the_remaining_budget(
        remaining in 0.001..=1.0f64,
        burn in 0.0..100.0f64,
    ) {
        let p = rolling_30d();
        let period_secs = 30.0 * DAY;
        match exhaustion_seconds(&p, remaining, burn, 0.0, 0.0) {
            Some(t) => {
                let drained = t * (burn - (1.0 - remaining)) / period_secs;
                prop_assert!((drained - remaining).abs() < 1e-9);
            }
            None => prop_assert!(burn <= 1.0 - remaining),
        }
    }
}

/// A calendar month simulated minute by minute at steady traffic (1,000 requests a minute,
/// objective 99.9%): `past_burn` for the first `elapsed_min` minutes, then `burn`. Returns the
/// remaining budget at `elapsed_min` and the minutes after it until the month's own counts
/// leave no budget, if that happens before the month ends.
fn simulated_month(elapsed_min: i64, past_burn: f64, burn: f64) -> (f64, Option<i64>) {
    const MINUTES: i64 = 30 * 24 * 60;
    let allowed = 0.001;
    let (mut bad, mut total) = (0.0f64, 0.0f64);
    let remaining = |bad: f64, total: f64| 1.0 - bad / (total * allowed);
    for _ in 0..elapsed_min {
        total += 1000.0;
        bad += 1000.0 * allowed * past_burn;
    }
    let now = remaining(bad, total);
    for m in 1..=(MINUTES - elapsed_min) {
        total += 1000.0;
        bad += 1000.0 * allowed * burn;
        if remaining(bad, total) <= 1e-12 {
            return (now, Some(m));
        }
    }
    (now, None)
}

/// The forecast made from the remaining budget and the burn, checked against the month.
fn forecast_minutes(elapsed_min: i64, remaining: f64, burn: f64) -> Option<f64> {
    let elapsed = elapsed_min as f64 * 60.0;
    exhaustion_seconds(&month(), remaining, burn, elapsed, 30.0 * DAY - elapsed).map(|s| s / 60.0)
}

#[test]
fn calendar_forecast_follows_a_simulated_month() {
    // Day 1 gone, half the budget left, burning at the page threshold: about 54 minutes (the
    // budget is a share of the month's events so far, which are still few), not 25 hours.
    let (remaining, truth) = simulated_month(24 * 60, 0.5, 14.4);
    assert!((remaining - 0.5).abs() < 1e-9);
    let truth = truth.unwrap();
    assert!((53..=55).contains(&truth), "{truth}");
    let forecast = forecast_minutes(24 * 60, remaining, 14.4).unwrap();
    assert!(
        (forecast - truth as f64).abs() <= 1.0,
        "{forecast} vs {truth}"
    );
    // Day 28, 1% left, burning at half the budget's pace: the share only improves; never.
    let (remaining, truth) = simulated_month(28 * 24 * 60, 0.99, 0.5);
    assert!((remaining - 0.01).abs() < 1e-9);
    assert_eq!(truth, None);
    assert_eq!(forecast_minutes(28 * 24 * 60, remaining, 0.5), None);
}

proptest! {
    #[test]
    fn calendar_forecast_equals_the_simulated_minute(
        elapsed_min in 60i64..(29 * 24 * 60),
        past_burn in 0.0f64..1.0,
        burn in 0.0f64..30.0,
    ) {
        let (remaining, truth) = simulated_month(elapsed_min, past_burn, burn);
        let forecast = forecast_minutes(elapsed_min, remaining, burn);
        match (forecast, truth) {
            (Some(f), Some(t)) => prop_assert!(f <= t as f64 && f > t as f64 - 1.0, "{} vs {}", f, t),
            (None, None) => {}
            // At the month's last minute the two may fall on either side of the end.
            (Some(f), None) => prop_assert!(f >= (30 * 24 * 60 - elapsed_min) as f64 - 1.0, "{}", f),
            (None, Some(t)) => prop_assert!(t >= 30 * 24 * 60 - elapsed_min - 1, "{}", t),
        }
    }
}

/// The exhaustion alert fires on a forecast at most `within` away: a rolling 30d budget with
/// 10% left, every leaving event at the period's average burn (0.9), lasts
/// `0.1 × 30d / (burn − 0.9)`; solved here for the burn that leaves `within ∓ 1s`.
#[test]
fn exhaustion_alert_fires_at_both_sides_of_within() {
    let p = rolling_30d();
    let within: PromDuration = "2h".parse().unwrap();
    let w = within.as_secs_f64();
    let burn_lasting = |secs: f64| 0.9 + 0.1 * 30.0 * DAY / secs;
    let just_inside = exhaustion_seconds(&p, 0.1, burn_lasting(w - 1.0), 0.0, 0.0);
    let just_outside = exhaustion_seconds(&p, 0.1, burn_lasting(w + 1.0), 0.0, 0.0);
    assert!((just_inside.unwrap() - (w - 1.0)).abs() < 1e-6);
    assert!((just_outside.unwrap() - (w + 1.0)).abs() < 1e-6);
    assert!(exhaustion_alert_active(just_inside, 0.1, within));
    assert!(!exhaustion_alert_active(just_outside, 0.1, within));
    // Exactly at `within` fires too ("within 2h" includes 2h).
    assert!(exhaustion_alert_active(Some(w), 0.1, within));
}

/// No forecast never fires: no data (the engine passes `None`), and a budget refilling as fast
/// as it burns (burn 0.9 with 10% left: the leaving events burned at 0.9 too).
#[test]
fn exhaustion_alert_needs_a_forecast() {
    let within: PromDuration = "30d".parse().unwrap();
    assert!(!exhaustion_alert_active(None, 0.1, within));
    let not_burning = exhaustion_seconds(&rolling_30d(), 0.1, 0.9, 0.0, 0.0);
    assert_eq!(not_burning, None);
    assert!(!exhaustion_alert_active(not_burning, 0.1, within));
}

/// A spent budget (remaining at or below 0) is forecast as 0, but it is no longer running out:
/// the alert stays quiet and leaves it to `SLOErrorBudgetExhausted`, whose ticket a paging
/// exhaustion alert would otherwise inhibit for as long as the budget stays spent.
#[test]
fn a_spent_budget_is_not_running_out() {
    let within: PromDuration = "30d".parse().unwrap();
    for remaining in [0.0, -0.5] {
        let spent = exhaustion_seconds(&rolling_30d(), remaining, 20.0, 0.0, 0.0);
        assert_eq!(spent, Some(0.0));
        assert!(
            !exhaustion_alert_active(spent, remaining, within),
            "{remaining}"
        );
    }
    // A sliver left still runs out: its forecast is tiny and within any bound.
    let sliver = exhaustion_seconds(&rolling_30d(), 1e-6, 20.0, 0.0, 0.0);
    assert!(sliver.is_some_and(|s| s > 0.0 && s < 60.0), "{sliver:?}");
    assert!(exhaustion_alert_active(sliver, 1e-6, "1m".parse().unwrap()));
    // A non-finite remaining is no budget to judge.
    assert!(!exhaustion_alert_active(Some(1.0), f64::NAN, within));
}
