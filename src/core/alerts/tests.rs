use super::*;
use crate::core::CalendarUnit;
use proptest::prelude::*;

fn d(s: &str) -> PromDuration {
    s.parse().unwrap()
}

fn rolling(s: &str) -> Period {
    Period::Rolling(d(s))
}

fn thresholds(table: &WindowTable) -> Vec<f64> {
    table.rows.iter().map(|r| r.threshold).collect()
}

fn shape(table: &WindowTable) -> Vec<(Severity, String, String)> {
    table
        .rows
        .iter()
        .map(|r| (r.severity, r.long.to_string(), r.short.to_string()))
        .collect()
}

#[test]
fn workbook_table_for_30d() {
    let table = WindowTable::default_for(&rolling("30d"));
    assert_eq!(thresholds(&table), [14.4, 6.0, 3.0, 1.0]);
    assert_eq!(
        shape(&table),
        [
            (Severity::Page, "1h".into(), "5m".into()),
            (Severity::Page, "6h".into(), "30m".into()),
            (Severity::Ticket, "1d".into(), "2h".into()),
            (Severity::Ticket, "3d".into(), "6h".into()),
        ]
    );
}

#[test]
fn workbook_table_for_28d() {
    let table = WindowTable::default_for(&rolling("28d"));
    assert_eq!(thresholds(&table), [13.44, 5.6, 2.8, 14.0 / 15.0]);
    assert!((table.rows[3].threshold - 0.933_333_333_333).abs() < 1e-12);
}

#[test]
fn short_periods_hold_the_28d_thresholds() {
    let week = WindowTable::default_for(&rolling("7d"));
    assert_eq!(thresholds(&week), [13.44, 5.6, 2.8, 14.0 / 15.0]);
    assert_eq!(
        shape(&week),
        shape(&WindowTable::default_for(&rolling("30d")))
    );
    // Each alert then stands for a larger share of the 7d budget: 8%, 20%, 40%, 40%.
    let seven_days = 7.0 * 86400.0;
    let shares: Vec<f64> = week
        .rows
        .iter()
        .map(|r| r.threshold * r.long.as_secs_f64() / seven_days * 100.0)
        .collect();
    for (share, want) in shares.iter().zip([8.0, 20.0, 40.0, 40.0]) {
        assert!((share - want).abs() < 1e-9, "{share} vs {want}");
    }
}

#[test]
fn rows_need_a_long_window_shorter_than_the_period() {
    let day = WindowTable::default_for(&rolling("1d"));
    assert_eq!(thresholds(&day), [13.44, 5.6]);
    assert!(day.rows.iter().all(|r| r.severity == Severity::Page));
    assert_eq!(WindowTable::default_for(&rolling("3d")).rows.len(), 3);
    assert_eq!(WindowTable::default_for(&rolling("3d1s")).rows.len(), 4);
    assert_eq!(WindowTable::default_for(&rolling("1h")).rows.len(), 0);
    assert_eq!(WindowTable::default_for(&rolling("0s")).rows.len(), 0);
}

#[test]
fn calendar_periods_use_their_nominal_length() {
    let tz = chrono_tz::Europe::Berlin;
    let month = Period::Calendar {
        unit: CalendarUnit::Month,
        tz,
    };
    let week = Period::Calendar {
        unit: CalendarUnit::Week,
        tz,
    };
    assert_eq!(
        WindowTable::default_for(&month),
        WindowTable::default_for(&rolling("30d"))
    );
    assert_eq!(
        WindowTable::default_for(&week),
        WindowTable::default_for(&rolling("7d"))
    );
}

#[test]
fn windows_are_distinct_and_sorted() {
    let table = WindowTable::default_for(&rolling("30d"));
    let names: Vec<String> = table.windows().iter().map(|w| w.to_string()).collect();
    assert_eq!(names, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    assert!(WindowTable::default().windows().is_empty());
}

#[test]
fn threshold_specs() {
    let (month, hour) = (d("30d"), d("1h"));
    assert_eq!(
        threshold_for(ThresholdSpec::BudgetPercent(2.0), month, hour),
        14.4
    );
    assert_eq!(
        threshold_for(ThresholdSpec::BudgetPercent(5.0), month, d("6h")),
        6.0
    );
    assert_eq!(
        threshold_for(ThresholdSpec::BurnRate(6.0), month, hour),
        6.0
    );
    assert_eq!(
        threshold_for(ThresholdSpec::BurnRate(0.0), month, hour),
        0.0
    );
    for bad in [
        ThresholdSpec::BudgetPercent(f64::NAN),
        ThresholdSpec::BudgetPercent(-1.0),
        ThresholdSpec::BudgetPercent(f64::INFINITY),
        ThresholdSpec::BurnRate(f64::NAN),
        ThresholdSpec::BurnRate(-2.0),
        ThresholdSpec::BurnRate(f64::NEG_INFINITY),
    ] {
        assert_eq!(threshold_for(bad, month, hour), f64::MAX, "{bad:?}");
    }
    assert_eq!(
        threshold_for(ThresholdSpec::BudgetPercent(2.0), month, d("0s")),
        f64::MAX
    );
    assert_eq!(
        threshold_for(ThresholdSpec::BudgetPercent(f64::MAX), month, d("1ms")),
        f64::MAX
    );
}

#[test]
fn severity_text() {
    assert_eq!(Severity::Page.to_string(), "page");
    assert_eq!(Severity::Ticket.to_string(), "ticket");
    // serde names match Display (checked through serde's own string deserializer).
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error, StrDeserializer};
    for s in [Severity::Page, Severity::Ticket] {
        let text = s.to_string();
        let de: StrDeserializer<Error> = text.as_str().into_deserializer();
        assert_eq!(Severity::deserialize(de).ok(), Some(s));
    }
    let de: StrDeserializer<Error> = "Page".into_deserializer();
    assert!(Severity::deserialize(de).is_err());
}

#[test]
fn decide_needs_both_windows() {
    let table = WindowTable::default_for(&rolling("30d"));
    let only_long = decide(&table, |w| if w == d("5m") { 0.0 } else { 100.0 }, |_| 0.0);
    assert!(!only_long[0].active && only_long[1].active);
    let only_short = decide(&table, |w| if w == d("1h") { 0.0 } else { 100.0 }, |_| 0.0);
    assert!(!only_short[0].active && only_short[1].active);
    // Exactly at the threshold is not above it.
    let at = decide(&table, |_| 14.4, |_| 0.0);
    assert!(!at[0].active && at[1].active);
    assert!(
        decide(&table, |_| f64::NAN, |_| 0.0)
            .iter()
            .all(|s| !s.active)
    );
    assert_eq!(decide(&table, |_| 0.0, |_| 0.0).len(), 4);
}

fn any_burn() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..30.0f64,
        Just(0.0),
        Just(1.0),
        Just(3.0),
        Just(6.0),
        Just(14.4),
        Just(f64::NAN),
        Just(f64::INFINITY),
        any::<f64>(),
    ]
}

proptest! {
    #[test]
    fn active_iff_both_windows_burn_above_threshold(
        burns in proptest::collection::vec(any_burn(), 7),
        days in 1u64..400,
    ) {
        let table = WindowTable::default_for(&Period::Rolling(PromDuration::from_secs(days * 86400)));
        let windows = table.windows();
        let burn = |w: PromDuration| {
            windows.iter().position(|&x| x == w).map_or(f64::NAN, |i| burns[i])
        };
        let states = decide(&table, burn, |_| 0.0);
        prop_assert_eq!(states.len(), table.rows.len());
        for (state, row) in states.iter().zip(&table.rows) {
            prop_assert_eq!(state.window, *row);
            let want = burn(row.long) > row.threshold && burn(row.short) > row.threshold;
            prop_assert_eq!(state.active, want);
        }
    }

    #[test]
    fn thresholds_grow_with_the_period_from_28d(a in 28u64 * 86400..(3650 * 86400), b in 28u64 * 86400..(3650 * 86400)) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let t_lo = WindowTable::default_for(&Period::Rolling(PromDuration::from_secs(lo)));
        let t_hi = WindowTable::default_for(&Period::Rolling(PromDuration::from_secs(hi)));
        prop_assert_eq!(t_lo.rows.len(), 4);
        for (l, h) in t_lo.rows.iter().zip(&t_hi.rows) {
            prop_assert!(l.threshold <= h.threshold, "{} > {}", l.threshold, h.threshold);
        }
    }

    #[test]
    fn short_periods_never_go_below_the_28d_thresholds(secs in 0u64..(28 * 86400)) {
        let table = WindowTable::default_for(&Period::Rolling(PromDuration::from_secs(secs)));
        let full = WindowTable::default_for(&rolling("28d"));
        for row in &table.rows {
            prop_assert!(row.long.as_secs() < secs);
            prop_assert!(full.rows.contains(row));
        }
    }

    #[test]
    fn thresholds_are_finite_and_non_negative(
        percent in any::<f64>(),
        rate in any::<f64>(),
        period in any::<u64>(),
        long in any::<u64>(),
    ) {
        let (period, long) = (PromDuration::from_millis(period), PromDuration::from_millis(long));
        for spec in [ThresholdSpec::BudgetPercent(percent), ThresholdSpec::BurnRate(rate)] {
            let t = threshold_for(spec, period, long);
            prop_assert!(t.is_finite() && t >= 0.0);
        }
    }
}

/// A 30d table whose rows all need `min` events in both windows.
fn guarded(min: u64) -> WindowTable {
    let mut table = WindowTable::default_for(&rolling("30d"));
    for row in &mut table.rows {
        row.min_events = min;
    }
    table
}

#[test]
fn low_traffic_guard_holds_a_burning_row_below_min_events() {
    let table = guarded(10);
    // Burning far above every threshold.
    let burn = |_| 100.0;
    let below = decide(&table, burn, |_| 9.0);
    assert!(below.iter().all(|s| !s.active && s.low_traffic));
    let at = decide(&table, burn, |_| 10.0);
    assert!(at.iter().all(|s| s.active && !s.low_traffic));
    // A row that does not burn is not held back by anything.
    let quiet = decide(&table, |_| 0.0, |_| 0.0);
    assert!(quiet.iter().all(|s| !s.active && !s.low_traffic));
}

#[test]
fn low_traffic_guard_needs_both_windows() {
    let table = guarded(10);
    let burn = |_| 100.0;
    // Page row 0 is 1h/5m: enough events in the hour but few in the last 5 minutes.
    let short_quiet = decide(&table, burn, |w| if w == d("5m") { 3.0 } else { 50.0 });
    assert!(!short_quiet[0].active && short_quiet[0].low_traffic);
    assert!(short_quiet[1].active);
    let long_quiet = decide(&table, burn, |w| if w == d("1h") { 3.0 } else { 50.0 });
    assert!(!long_quiet[0].active && long_quiet[0].low_traffic);
}

#[test]
fn no_guard_by_default() {
    let table = WindowTable::default_for(&rolling("30d"));
    assert!(table.rows.iter().all(|r| r.min_events == 0));
    // One failure among three requests at night pages without a guard.
    let states = decide(&table, |_| 100.0, |_| 0.0);
    assert!(states.iter().all(|s| s.active && !s.low_traffic));
}

proptest! {
    #[test]
    fn guard_is_a_bound_on_both_windows(
        min in 0u64..1000,
        long in 0.0..2000.0f64,
        short in 0.0..2000.0f64,
        burn in any_burn(),
    ) {
        let table = guarded(min);
        let events = |w: PromDuration| if w == d("5m") { short } else { long };
        let states = decide(&table, |_| burn, events);
        // The guard only splits a burn, never makes or hides one: a row burns (fires or is held
        // back, not both) exactly when it fires without a guard.
        let plain = decide(&guarded(0), |_| burn, events);
        for (s, p) in states.iter().zip(&plain) {
            prop_assert!(!(s.active && s.low_traffic));
            prop_assert_eq!(s.active || s.low_traffic, p.active);
        }
        // More events never hold a row back.
        let more = decide(&table, |_| burn, |w| events(w) + 1.0);
        for (s, m) in states.iter().zip(&more) {
            prop_assert!(!s.active || m.active);
        }
        // Exactly at the bound passes; one event below, in either window, holds it back.
        let at = decide(&table, |_| 100.0, |_| min as f64);
        prop_assert!(at[0].active);
        if min > 0 {
            for low in ["1h", "5m"] {
                let under = decide(&table, |_| 100.0, |w| if w == d(low) { min as f64 - 1.0 } else { min as f64 });
                prop_assert!(!under[0].active && under[0].low_traffic);
            }
        }
    }
}
