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
    assert_eq!(exhaustion_seconds(&p, 0.5, 2.0, 0.0), Some(10.0 * DAY));
    // Untouched budget, burning at 1: refill 0, spent in exactly one period.
    assert_eq!(exhaustion_seconds(&p, 1.0, 1.0, 0.0), Some(30.0 * DAY));
    // Untouched budget, burning at 14.4: the page threshold spends it in about 2 days.
    let t = exhaustion_seconds(&p, 1.0, 14.4, 0.0).unwrap();
    assert!((t - 30.0 * DAY / 14.4).abs() < 1e-6);
}

#[test]
fn rolling_none_when_burn_does_not_exceed_refill() {
    let p = rolling_30d();
    assert_eq!(exhaustion_seconds(&p, 0.5, 0.5, 0.0), None);
    assert_eq!(exhaustion_seconds(&p, 0.5, 0.2, 0.0), None);
    assert_eq!(exhaustion_seconds(&p, 1.0, 0.0, 0.0), None);
    // The unused seconds-left argument does not matter for rolling periods.
    assert_eq!(exhaustion_seconds(&p, 0.5, 2.0, f64::NAN), Some(10.0 * DAY));
}

#[test]
fn calendar_examples() {
    let p = month();
    // Half of a 30d budget at burn 3: 5 days.
    assert_eq!(
        exhaustion_seconds(&p, 0.5, 3.0, 10.0 * DAY),
        Some(5.0 * DAY)
    );
    // The month ends first: the budget resets before it runs out.
    assert_eq!(exhaustion_seconds(&p, 0.5, 3.0, 4.0 * DAY), None);
    assert_eq!(exhaustion_seconds(&p, 0.5, 3.0, 5.0 * DAY), None);
    assert_eq!(exhaustion_seconds(&p, 0.5, 0.0, 10.0 * DAY), None);
    // No refill within a calendar period: even a low burn spends it if there is time.
    let t = exhaustion_seconds(&week(), 0.1, 0.5, 7.0 * DAY).unwrap();
    assert!((t - 1.4 * DAY).abs() < 1e-6, "{t}");
}

#[test]
fn spent_budget_is_exhausted_now() {
    for p in [rolling_30d(), month(), week()] {
        assert_eq!(exhaustion_seconds(&p, 0.0, 0.0, 0.0), Some(0.0));
        assert_eq!(exhaustion_seconds(&p, -0.3, 5.0, 100.0), Some(0.0));
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
            assert_eq!(exhaustion_seconds(&p, r, b, DAY), None);
        }
    }
    assert_eq!(exhaustion_seconds(&month(), 0.5, 3.0, f64::INFINITY), None);
    // A drain too slow to represent is "never", not infinity.
    let huge = Period::Rolling(PromDuration::from_millis(u64::MAX));
    assert_eq!(exhaustion_seconds(&huge, 1.0, 1e-300, 0.0), None);
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
        left in any_f64(),
    ) {
        if let Some(t) = exhaustion_seconds(&period, remaining, burn, left) {
            prop_assert!(t.is_finite() && t >= 0.0, "{t}");
        }
    }

    #[test]
    fn faster_burn_never_lasts_longer(
        period in prop_oneof![Just(rolling_30d()), Just(month())],
        remaining in 0.0..=1.0f64,
        a in 0.0..100.0f64,
        b in 0.0..100.0f64,
        left in 0.0..(31.0 * DAY),
    ) {
        let (slow, fast) = if a <= b { (a, b) } else { (b, a) };
        let t_slow = exhaustion_seconds(&period, remaining, slow, left);
        let t_fast = exhaustion_seconds(&period, remaining, fast, left);
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
        match exhaustion_seconds(&p, remaining, burn, 0.0) {
            Some(t) => {
                let drained = t * (burn - (1.0 - remaining)) / period_secs;
                prop_assert!((drained - remaining).abs() < 1e-9);
            }
            None => prop_assert!(burn <= 1.0 - remaining),
        }
    }
}
