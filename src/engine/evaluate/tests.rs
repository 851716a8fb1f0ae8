//! One series evaluated with and without data, and the services built from such series.

use super::*;
use crate::spec::load::load_bytes;

const START: i64 = 1_700_000_040;

fn slo(name: &str, extra: &str) -> Slo {
    let text = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: {name}\n    objective: 99\n{extra}    sli:\n      ratio:\n        errors: x{{code=\"500\"}}\n        total: x\n"
    );
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos[0].clone()
}

/// Two hours of 100 events a minute, `bad` of them bad, ending at `START`.
fn history(slo: &Slo, bad: f64) -> History {
    let mut h = History::new(&slo.period, &slo.alerting.windows.windows());
    for m in (0..120).rev() {
        h.push_minute(START - m * 60, Counts { bad, total: 100.0 });
    }
    h
}

fn freshness(no_data: Option<&str>) -> Freshness {
    Freshness {
        fresh: true,
        last_evaluation: START as f64,
        no_data: no_data.map(Arc::from),
    }
}

fn evaluate(slo: &Slo, group: &[(&str, &str)], bad: f64, no_data: Option<&str>) -> SloSnapshot {
    let group: Pairs = group
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    evaluate_series(
        slo,
        &SloNames::new(slo),
        &group,
        &history(slo, bad),
        freshness(no_data),
    )
}

#[test]
fn with_data_every_number_is_there() {
    let slo = slo("a", "");
    // Every event bad: burn 100 in every window, the page alert fires, the budget is spent.
    let s = evaluate(&slo, &[], 100.0, None);
    assert!(s.data_present);
    assert_eq!(s.no_data_reason, None);
    let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-9);
    assert!(
        s.windows.iter().all(|w| near(w.burn_rate, 100.0)),
        "{:?}",
        s.windows
    );
    assert!(s.windows.iter().all(|w| near(w.error_ratio, 1.0)));
    assert!(s.alerts.iter().any(|a| a.active));
    assert!(near(s.period_error_ratio, 1.0));
    assert!(s.error_budget_remaining.is_some_and(|r| r < 0.0));
    assert!(s.exhaustion_seconds.is_some());
    assert!(freezes(&s));
}

#[test]
fn without_data_nothing_reads_as_a_number() {
    let slo = slo("a", "");
    // The same burning history: with no data declared, none of it may show as a ratio.
    let s = evaluate(&slo, &[], 100.0, Some("no series matches x{code=\"500\"}"));
    assert!(!s.data_present);
    assert_eq!(
        s.no_data_reason.as_deref(),
        Some("no series matches x{code=\"500\"}")
    );
    assert!(!s.windows.is_empty());
    for w in &s.windows {
        assert_eq!((w.error_ratio, w.burn_rate), (None, None), "{w:?}");
    }
    assert!(s.alerts.iter().all(|a| !a.active), "{:?}", s.alerts);
    assert_eq!(s.period_error_ratio, None);
    assert_eq!(s.error_budget_remaining, None);
    assert_eq!(s.exhaustion_seconds, None);
    assert!(!freezes(&s));
    // Event counts are counts, not judgements: they stay.
    assert_eq!(s.windows[0].total, 500.0);
    assert_eq!(s.period_total_events, 12_000.0);
    assert_eq!(s.period_good_events, 0.0);
}

#[test]
fn the_json_says_null_for_what_is_unknown() {
    let slo = slo("a", "");
    let json = serde_json::to_value(evaluate(
        &slo,
        &[],
        0.0,
        Some("no answer from the source yet"),
    ))
    .unwrap();
    assert_eq!(json["data_present"], false);
    assert_eq!(json["no_data_reason"], "no answer from the source yet");
    assert!(json["error_budget_remaining"].is_null());
    assert!(json["period_error_ratio"].is_null());
    assert!(json["windows"][0]["burn_rate"].is_null());
    assert!(json["windows"][0]["error_ratio"].is_null());
    assert_eq!(json["windows"][0]["total"], 500.0);
    let json = serde_json::to_value(evaluate(&slo, &[], 0.0, None)).unwrap();
    assert_eq!(json["data_present"], true);
    assert!(json["no_data_reason"].is_null());
    assert_eq!(json["error_budget_remaining"], 1.0);
}

#[test]
fn a_series_without_data_never_freezes_and_is_listed() {
    let frozen = slo("spent", "");
    let quiet = slo("routes", "    group_by: [route]\n");
    let slos = vec![
        evaluate(&frozen, &[], 100.0, None),
        // Spent, but unknown: it must not freeze, and must not count as fine either.
        evaluate(
            &quiet,
            &[("route", "/a")],
            100.0,
            Some("no series matches x"),
        ),
        evaluate(&quiet, &[("route", "/b")], 0.0, None),
    ];
    let all = services(&slos);
    assert_eq!(all.len(), 1);
    let api = &all[0];
    assert!(api.frozen);
    let frozen_by: Vec<&str> = api.reasons.iter().map(|r| r.slo.as_str()).collect();
    assert_eq!(frozen_by, ["spent"]);
    assert_eq!(api.no_data.len(), 1);
    assert_eq!(api.no_data[0].slo, "routes{route=/a}");
    assert_eq!(api.no_data[0].reason, "no series matches x");

    // Only the series without data: not frozen, and listed.
    let unknown = services(&slos[1..2]);
    assert!(!unknown[0].frozen);
    assert!(unknown[0].reasons.is_empty());
    assert_eq!(unknown[0].no_data.len(), 1);
    // With data everywhere, nothing is listed.
    assert!(services(&slos[2..]).iter().all(|s| s.no_data.is_empty()));
}

/// The low-traffic guard (#16.4) at both sides of its bound: every event bad burns at 100 in
/// every window, so only the event counts decide.
#[test]
fn low_traffic_guard_holds_alerts_below_min_events() {
    let total_in = |s: &SloSnapshot, w: &str| {
        s.windows
            .iter()
            .find(|x| &*x.window == w)
            .map(|x| x.total)
            .unwrap()
    };
    let unguarded = evaluate(&slo("a", ""), &[], 100.0, None);
    // The 1h/5m page row's bound: the fewer events of its two windows.
    let bound = total_in(&unguarded, "5m").min(total_in(&unguarded, "1h")) as u64;
    assert!(bound > 0);
    let page = |s: &SloSnapshot| s.alerts[0].clone();
    let guarded = |min: u64, bad: f64, no_data: Option<&str>| {
        let extra = format!("    alerting:\n      min_events: {min}\n");
        evaluate(&slo("a", &extra), &[], bad, no_data)
    };
    assert!(page(&unguarded).active && !page(&unguarded).low_traffic);
    assert_eq!(page(&unguarded).min_events, 0);

    let at = guarded(bound, 100.0, None);
    assert!(
        page(&at).active && !page(&at).low_traffic,
        "{:?}",
        at.alerts
    );
    assert_eq!(page(&at).min_events, bound);

    let above = guarded(bound + 1, 100.0, None);
    assert!(
        !page(&above).active && page(&above).low_traffic,
        "{:?}",
        above.alerts
    );
    // The guard names only rows that burn: with no bad event nothing is held back.
    let quiet = guarded(bound + 1, 0.0, None);
    assert!(quiet.alerts.iter().all(|a| !a.active && !a.low_traffic));
    // Without data nothing is active, and nothing is said to be held back by the guard either.
    let none = guarded(bound + 1, 100.0, Some("no series"));
    assert!(none.alerts.iter().all(|a| !a.active && !a.low_traffic));
}

/// The exhaustion alert from known counts: an hour of no errors, then an hour of `b` bad in
/// every 100 (objective 99, rolling 30d). The forecast is worked out here from those counts:
/// the period holds 60·b bad of 12,000, so `remaining = 1 - (60b/12000)/0.01 = 1 - b/2`; the 1h
/// burn is `(b/100)/0.01 = b`; a rolling budget refills at the period's average burn `b/2`, so
/// it lasts `remaining × 30d / (b - b/2)`. For b = 1.5 (exact in the history's f32 counts):
/// 0.25 × 2,592,000 / 0.75 = 864,000 s, 10 days; checked a second either side.
#[test]
fn exhaustion_alert_fires_on_a_forecast_within_its_bound() {
    let b: f64 = 1.5;
    let remaining = 1.0 - b / 2.0;
    let forecast = remaining * 30.0 * 86400.0 / (b - b / 2.0);
    assert_eq!(forecast, 864_000.0);
    let run = |within: &str, no_data: Option<&str>| {
        let extra = format!("    alerting:\n      exhaustion:\n        within: {within}\n");
        let slo = slo("a", &extra);
        let mut h = History::new(&slo.period, &slo.alerting.windows.windows());
        for m in (0..120).rev() {
            let bad = if m < 60 { b } else { 0.0 };
            h.push_minute(START - m * 60, Counts { bad, total: 100.0 });
        }
        evaluate_series(
            &slo,
            &SloNames::new(&slo),
            &Pairs::from([]),
            &h,
            freshness(no_data),
        )
    };
    let inside = run("864001s", None);
    let one_hour = inside.windows.iter().find(|w| &*w.window == "1h").unwrap();
    assert!(
        (one_hour.burn_rate.unwrap() - b).abs() < 1e-9,
        "{one_hour:?}"
    );
    assert!((inside.exhaustion_seconds.unwrap() - forecast).abs() < 1e-6);
    let alert = inside.exhaustion_alert.clone().unwrap();
    assert!(alert.active, "{alert:?}");
    assert_eq!(
        (alert.severity, alert.within_seconds),
        ("ticket", 864_001.0)
    );
    assert!(!alert.disabled);
    // A second shorter than the forecast: quiet.
    assert!(!run("863999s", None).exhaustion_alert.unwrap().active);
    // Without data there is no forecast, so never active.
    let none = run("10d", Some("no series"));
    assert!(!none.exhaustion_alert.unwrap().active);
    // Not written: no entry at all.
    assert!(
        evaluate(&slo("a", ""), &[], 1.0, None)
            .exhaustion_alert
            .is_none()
    );
}

/// A spent budget is forecast as 0 (`exhaustion_seconds`), but the exhaustion alert stays quiet:
/// the budget is no longer running out, it has run out, and `SLOErrorBudgetExhausted` says so.
/// Two hours of 2 bad in 100 at 99%: the period's error ratio 0.02 is twice the budget
/// (remaining −1), so the budget is spent whatever `within` is.
#[test]
fn a_spent_budget_leaves_the_exhaustion_alert_quiet() {
    let slo = slo(
        "a",
        "    alerting:\n      exhaustion:\n        within: 30d\n",
    );
    let s = evaluate(&slo, &[], 2.0, None);
    let remaining = s.error_budget_remaining.unwrap();
    assert!((remaining - -1.0).abs() < 1e-6, "{remaining}");
    assert_eq!(s.exhaustion_seconds, Some(0.0));
    let alert = s.exhaustion_alert.unwrap();
    assert!(!alert.active, "{alert:?}");
}

/// Two hours of 100 events a minute ending at `START`; the last hour an outage with 50 bad a
/// minute, the hour before it clean.
fn outage_history(slo: &Slo) -> History {
    let mut h = History::new(&slo.period, &slo.alerting.windows.windows());
    for m in (0..120).rev() {
        let bad = if m < 60 { 50.0 } else { 0.0 };
        h.push_minute(START - m * 60, Counts { bad, total: 100.0 });
    }
    h
}

fn over_the_outage(alerts: &str) -> String {
    format!(
        "    corrections:\n      - reason: known outage\n        from: {}\n        to: {}\n{alerts}",
        crate::core::rfc3339(START - 3600),
        crate::core::rfc3339(START)
    )
}

#[test]
fn a_correction_over_an_outage_restores_the_budget_but_not_the_pager() {
    let slo = slo("a", &over_the_outage(""));
    let s = evaluate_series(
        &slo,
        &SloNames::new(&slo),
        &Pairs::default(),
        &outage_history(&slo),
        freshness(None),
    );
    // The truth without the outage: the clean hour alone, 6000 events, none bad.
    assert_eq!(
        (s.period_total_events, s.period_good_events),
        (6000.0, 6000.0)
    );
    assert_eq!(s.error_budget_remaining, Some(1.0));
    assert_eq!(s.period_error_ratio, Some(0.0));
    assert_eq!(
        (s.period_excluded_total, s.period_excluded_bad),
        (6000.0, 3000.0)
    );
    assert!(!freezes(&s));
    // Burn windows keep the outage: the page row fires (`alerts: fire`, the default).
    assert!(s.alerts.iter().any(|a| a.active), "{:?}", s.alerts);
    assert!(s.alerts.iter().all(|a| !a.held_by_correction));
    let c = &s.corrections[0];
    assert_eq!(
        (c.kind, c.alerts, c.reason.as_ref()),
        ("one-off", "fire", "known outage")
    );
    assert_eq!((c.excluded_total, c.excluded_bad), (6000.0, 3000.0));
    assert_eq!(c.resolution_seconds, 60);
    assert_eq!(c.intervals, [(START - 3600, START)]);
    // In effect until START: the newest data (the minute ending at START) is inside.
    assert!(c.active && s.correction_active);
}

#[test]
fn a_silencing_correction_holds_the_alerts_while_in_effect() {
    let slo = slo("a", &over_the_outage("        alerts: silence\n"));
    let s = evaluate_series(
        &slo,
        &SloNames::new(&slo),
        &Pairs::default(),
        &outage_history(&slo),
        freshness(None),
    );
    assert!(s.alerts.iter().all(|a| !a.active), "{:?}", s.alerts);
    assert!(
        s.alerts.iter().any(|a| a.held_by_correction),
        "{:?}",
        s.alerts
    );
}

#[test]
fn without_corrections_nothing_is_excluded() {
    let slo = slo("a", "");
    let s = evaluate_series(
        &slo,
        &SloNames::new(&slo),
        &Pairs::default(),
        &outage_history(&slo),
        freshness(None),
    );
    assert_eq!(
        (s.period_total_events, s.period_excluded_total),
        (12000.0, 0.0)
    );
    assert!(s.corrections.is_empty() && !s.correction_active);
}
