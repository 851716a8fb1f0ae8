use super::*;
use proptest::prelude::*;

fn o(percent: f64) -> Objective {
    Objective::from_percent(percent).unwrap()
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(f64::MAX),
        -1e6..1e6f64,
    ]
}

fn any_objective() -> impl Strategy<Value = Objective> {
    prop_oneof![
        (1e-9..100.0f64).prop_filter_map("in range", Objective::from_percent),
        Just(Objective::from_ratio(1.0 - f64::EPSILON / 2.0).unwrap()),
        Just(Objective::from_ratio(5e-324).unwrap()),
    ]
}

#[test]
fn objective_accepts_only_open_interval() {
    for bad in [
        0.0,
        100.0,
        -1.0,
        101.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        5e-324,
    ] {
        assert!(Objective::from_percent(bad).is_none(), "{bad}");
    }
    for (percent, ratio) in [
        (99.9, 0.999),
        (99.99, 0.9999),
        (99.999, 0.99999),
        (99.95, 0.9995),
        (95.0, 0.95),
        (1e-14, 1e-16),
    ] {
        assert_eq!(Objective::from_percent(percent).unwrap().ratio(), ratio);
    }
    let o = o(99.9);
    assert_eq!(o.ratio(), 0.999);
    assert_eq!(o.percent(), 99.9);
    assert!((o.budget() - 0.001).abs() < 1e-15);
    assert!(Objective::from_ratio(0.0).is_none());
    assert!(Objective::from_ratio(1.0).is_none());
}

#[test]
fn counts_arithmetic_saturates() {
    let a = Counts {
        bad: 2.0,
        total: 10.0,
    };
    let b = Counts {
        bad: 5.0,
        total: 4.0,
    };
    assert_eq!(
        a + b,
        Counts {
            bad: 7.0,
            total: 14.0
        }
    );
    assert_eq!(
        a - b,
        Counts {
            bad: 0.0,
            total: 6.0
        }
    );
    let mut c = a;
    c += b;
    c -= a;
    assert_eq!(c, b);
    let nan = Counts {
        bad: f64::NAN,
        total: f64::NAN,
    };
    assert_eq!(nan - a, Counts::default());
}

#[test]
fn zero_events_mean_nothing_spent() {
    assert_eq!(error_ratio(Counts::default()), 0.0);
    assert_eq!(remaining_budget(Counts::default(), o(99.9)), 1.0);
    // Bad events but no total: unusable data, treated as no evidence.
    let c = Counts {
        bad: 3.0,
        total: 0.0,
    };
    assert_eq!(error_ratio(c), 0.0);
}

#[test]
fn error_ratio_clamps_noisy_data() {
    let c = |bad, total| Counts { bad, total };
    assert_eq!(error_ratio(c(1.0, 4.0)), 0.25);
    assert_eq!(error_ratio(c(5.0, 4.0)), 1.0);
    assert_eq!(error_ratio(c(-1.0, 4.0)), 0.0);
    assert_eq!(error_ratio(c(1.0, 5e-324)), 1.0);
    assert_eq!(error_ratio(c(f64::INFINITY, 4.0)), 0.0);
    assert_eq!(error_ratio(c(1.0, f64::NAN)), 0.0);
}

#[test]
fn burn_rate_examples() {
    assert!((burn_rate(0.001, o(99.9)) - 1.0).abs() < 1e-9);
    assert!((burn_rate(0.0144, o(99.9)) - 14.4).abs() < 1e-9);
    assert_eq!(burn_rate(0.0, o(99.9)), 0.0);
    assert_eq!(burn_rate(f64::NAN, o(99.9)), 0.0);
    assert_eq!(burn_rate(f64::INFINITY, o(99.9)), 0.0);
    assert!((burn_rate(2.0, o(99.0)) - 100.0).abs() < 1e-9);
}

#[test]
fn remaining_budget_examples() {
    let objective = o(99.0);
    let c = |bad, total| Counts { bad, total };
    assert!((remaining_budget(c(0.0, 100.0), objective) - 1.0).abs() < 1e-12);
    assert!((remaining_budget(c(1.0, 100.0), objective)).abs() < 1e-9);
    assert!((remaining_budget(c(3.0, 100.0), objective) + 2.0).abs() < 1e-9);
    // Event-weighted: a quiet hour with every event bad and a busy good day spend 1% overall.
    let period = c(100.0, 100.0) + c(0.0, 9900.0);
    assert!((remaining_budget(period, objective)).abs() < 1e-9);
}

proptest! {
    #[test]
    fn remaining_falls_as_bad_rises(
        total in 0.0..1e12f64,
        a in 0.0..1e12f64,
        b in 0.0..1e12f64,
        objective in any_objective(),
    ) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let r_lo = remaining_budget(Counts { bad: lo, total }, objective);
        let r_hi = remaining_budget(Counts { bad: hi, total }, objective);
        prop_assert!(r_hi <= r_lo, "{r_hi} > {r_lo}");
    }

    #[test]
    fn burning_at_rate_one_for_a_period_spends_exactly_the_budget(
        total in 1.0..1e12f64,
        percent in 50.0..99.9999f64,
    ) {
        let objective = o(percent);
        let bad = objective.budget() * total;
        let remaining = remaining_budget(Counts { bad, total }, objective);
        prop_assert!(remaining.abs() < 1e-9, "{remaining}");
        let burn = burn_rate(error_ratio(Counts { bad, total }), objective);
        prop_assert!((burn - 1.0).abs() < 1e-9, "{burn}");
    }

    #[test]
    fn never_nan_or_infinite(
        bad in any_f64(),
        total in any_f64(),
        a in any_f64(),
        b in any_f64(),
        ratio in any_f64(),
        objective in any_objective(),
    ) {
        let c = Counts { bad, total };
        let r = error_ratio(c);
        prop_assert!((0.0..=1.0).contains(&r));
        prop_assert!(burn_rate(ratio, objective).is_finite());
        prop_assert!(burn_rate(r, objective) >= 0.0);
        let remaining = remaining_budget(c, objective);
        prop_assert!(remaining.is_finite() && remaining <= 1.0);
        let d = Counts { bad: a, total: b } - c;
        prop_assert!(d.bad >= 0.0 && d.total >= 0.0);
        if let Some(obj) = Objective::from_percent(ratio) {
            prop_assert!(obj.budget() > 0.0 && obj.budget() <= 1.0);
            prop_assert!((obj.ratio() - ratio / 100.0).abs() <= 1e-15);
        }
    }
}
