use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::*;
use crate::engine::snapshot::{
    AlertSnapshot, EngineStats, ExhaustionAlertSnapshot, FreezeReason, Histogram, ServiceSnapshot,
    SloSnapshot, Snapshot, WindowSnapshot,
};

fn window(window: &str, seconds: f64, error_ratio: f64, burn_rate: f64) -> WindowSnapshot {
    WindowSnapshot {
        window: window.into(),
        seconds,
        error_ratio: Some(error_ratio),
        burn_rate: Some(burn_rate),
        bad: error_ratio * 1000.0,
        total: 1000.0,
    }
}

fn alert(
    severity: &'static str,
    long: &str,
    short: &str,
    threshold: f64,
    active: bool,
) -> AlertSnapshot {
    AlertSnapshot {
        severity,
        long_window: long.into(),
        short_window: short.into(),
        threshold,
        active,
        disabled: false,
        ..AlertSnapshot::default()
    }
}

fn slo(service: &str, name: &str) -> SloSnapshot {
    SloSnapshot {
        service: service.into(),
        slo: name.into(),
        labels: vec![("team".into(), "core".into())].into(),
        group: vec![].into(),
        sli_kind: "ratio",
        period: "30d".into(),
        objective: 0.999,
        period_seconds: 2_592_000.0,
        windows: vec![
            window("5m", 300.0, 0.0, 0.0),
            window("1h", 3600.0, 0.0005, 0.5),
        ],
        data_present: true,
        no_data_reason: None,
        period_error_ratio: Some(0.0002),
        error_budget_remaining: Some(0.8),
        period_good_events: 99_980.0,
        period_total_events: 100_000.0,
        alerts: vec![alert("page", "1h", "5m", 14.4, false)],
        exhaustion_seconds: None,
        exhaustion_alert: None,
        fresh: true,
        last_evaluation: 1_700_000_000.0,
        freeze_below: 0.0,
        ..SloSnapshot::default()
    }
}

fn exhaustion_alert(active: bool) -> ExhaustionAlertSnapshot {
    ExhaustionAlertSnapshot {
        severity: "ticket",
        within: "2h".into(),
        within_seconds: 7200.0,
        active,
        disabled: false,
        held_by_correction: false,
    }
}

const NO_SERIES: &str = "no series matches payments_total{job=\"pay\"}";

/// Three SLOs: `checkout/availability` grouped by route, `search/latency` with a spent budget,
/// `payments/charge` without data.
fn fixture() -> Snapshot {
    let mut grouped = slo("checkout", "availability");
    grouped.group = vec![("route".into(), "/pay".into())].into();
    let mut spent = slo("search", "latency");
    spent.sli_kind = "latency";
    spent.period = "calendar month (Europe/Berlin)".into();
    spent.labels = vec![("team".into(), "se\"arch\\\nops".into())].into();
    spent.windows = vec![
        window("5m", 300.0, 0.02, 20.0),
        window("1h", 3600.0, 0.016, 16.0),
    ];
    spent.period_error_ratio = Some(0.0012);
    spent.error_budget_remaining = Some(-0.2);
    spent.alerts = vec![alert("page", "1h", "5m", 14.4, true)];
    spent.exhaustion_seconds = Some(0.0);
    spent.exhaustion_alert = Some(exhaustion_alert(true));
    spent.freeze_below = 0.1;
    // Its selector matches nothing: events counted (none), nothing judged.
    let mut unknown = slo("payments", "charge");
    unknown.exhaustion_alert = Some(exhaustion_alert(true));
    let unknown = unknown.without_data(NO_SERIES);
    let mut engine = EngineStats {
        version: "0.1.0".into(),
        evaluation_duration_seconds: 0.25,
        source_requests_total: BTreeMap::from([("error".into(), 2), ("success".into(), 40)]),
        source_request_duration: Histogram::default(),
        source_query_lag_seconds: Some(5.0),
        slos: 3,
        config_last_reload_success: true,
        config_last_reload_timestamp: 1_699_999_000.0,
        scrape_targets: Vec::new(),
    };
    engine.source_request_duration.observe(0.02);
    engine.source_request_duration.observe(0.3);
    Snapshot {
        evaluated_at: Some(1_700_000_000.0),
        slos: vec![grouped, spent, unknown],
        services: vec![
            ServiceSnapshot {
                service: "checkout".into(),
                frozen: false,
                reasons: vec![],
                fresh: true,
                no_data: vec![],
            },
            ServiceSnapshot::with_no_data("payments", "charge", NO_SERIES),
            ServiceSnapshot {
                service: "search".into(),
                frozen: true,
                reasons: vec![FreezeReason {
                    slo: "latency".into(),
                    remaining: -0.2,
                    freeze_below: 0.1,
                }],
                fresh: true,
                no_data: vec![],
            },
        ],
        engine,
    }
}

fn exporter_with(snapshot: Snapshot) -> (Arc<SnapshotCell>, Exporter) {
    let cell = Arc::new(SnapshotCell::new());
    cell.publish(snapshot);
    let exporter = Exporter::new(Arc::clone(&cell));
    (cell, exporter)
}

fn encode(exporter: &Exporter, format: Format) -> String {
    match exporter.encode(format) {
        Ok(text) => text,
        Err(e) => panic!("encoding failed: {e}"),
    }
}

fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(['{', ' ']))
        })
        .collect()
}

#[test]
fn classic_format_snapshot() {
    let (_, exporter) = exporter_with(fixture());
    insta::assert_snapshot!(encode(&exporter, Format::Classic));
}

#[test]
fn openmetrics_format_snapshot() {
    let (_, exporter) = exporter_with(fixture());
    insta::assert_snapshot!(encode(&exporter, Format::OpenMetrics));
}

#[test]
fn promtool_accepts_the_classic_format() {
    let (_, exporter) = exporter_with(fixture());
    let text = encode(&exporter, Format::Classic);
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => panic!("cannot run promtool ({e}); `scripts/test` installs it"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).expect("write to promtool");
    }
    let out = child.wait_with_output().expect("wait for promtool");
    assert!(
        out.status.success(),
        "promtool rejected the classic output:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

#[test]
fn classic_format_names_families_as_prometheus_expects() {
    let (_, exporter) = exporter_with(fixture());
    let text = encode(&exporter, Format::Classic);
    assert!(text.contains("# TYPE sloburn_source_requests_total counter\n"));
    assert!(text.contains("# TYPE slo_info gauge\n"));
    assert!(text.contains("# TYPE sloburn_build_info gauge\n"));
    assert!(!text.contains("# EOF"));
    assert!(!text.contains("# UNIT"));
    let om = encode(&exporter, Format::OpenMetrics);
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE slo info\n"));
}

#[test]
fn label_values_are_escaped() {
    let (_, exporter) = exporter_with(fixture());
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        assert!(
            text.contains(r#"team="se\"arch\\\nops""#),
            "{format:?} did not escape the label value:\n{text}"
        );
    }
}

#[test]
fn every_metric_is_present_with_help() {
    let (_, exporter) = exporter_with(fixture());
    let text = encode(&exporter, Format::Classic);
    for name in [
        "slo_objective_ratio",
        "slo_period_seconds",
        "slo_info",
        "slo_error_ratio",
        "slo_burn_rate",
        "slo_period_error_ratio",
        "slo_error_budget_remaining_ratio",
        "slo_period_good_events",
        "slo_period_total_events",
        "slo_burn_alert_active",
        "slo_burn_rate_threshold",
        "slo_error_budget_exhaustion_seconds",
        "slo_data_fresh",
        "slo_data_present",
        "slo_last_evaluation_timestamp_seconds",
        "slo_freeze_below_ratio",
        "slo_feature_freeze",
        "sloburn_build_info",
        "sloburn_evaluation_duration_seconds",
        "sloburn_source_requests_total",
        "sloburn_source_request_duration_seconds",
        "sloburn_source_query_lag_seconds",
        "sloburn_slos",
        "sloburn_config_last_reload_success",
        "sloburn_config_last_reload_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no HELP for {name}"
        );
    }
    assert_eq!(
        samples(&text, "slo_error_budget_exhaustion_seconds").len(),
        1
    );
    assert_eq!(
        samples(&text, "slo_feature_freeze"),
        vec![
            r#"slo_feature_freeze{service="checkout"} 0"#,
            r#"slo_feature_freeze{service="payments"} 0"#,
            r#"slo_feature_freeze{service="search"} 1"#
        ]
    );
}

#[test]
fn a_series_without_data_exports_no_number_that_judges_it() {
    let (_, exporter) = exporter_with(fixture());
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        let of = |name: &str, slo: &str| -> Vec<String> {
            samples(&text, name)
                .into_iter()
                .filter(|l| l.contains(&format!("slo=\"{slo}\"")))
                .map(str::to_string)
                .collect()
        };
        for name in [
            "slo_error_ratio",
            "slo_burn_rate",
            "slo_period_error_ratio",
            "slo_error_budget_remaining_ratio",
            "slo_error_budget_exhaustion_seconds",
        ] {
            assert!(
                of(name, "charge").is_empty(),
                "{format:?}: {name} of charge"
            );
            // The series with data keep theirs.
            assert!(
                !of(name, "latency").is_empty(),
                "{format:?}: {name} of latency"
            );
        }
        let present = |slo: &str| {
            let lines = of("slo_data_present", slo);
            assert_eq!(lines.len(), 1, "{format:?}: {lines:?}");
            lines[0]
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        };
        assert_eq!(present("charge"), Some(0.0));
        assert_eq!(present("latency"), Some(1.0));
        assert_eq!(present("availability"), Some(1.0));
        // What is still known is still there: the series, its facts, counts and alert states.
        for name in [
            "slo_objective_ratio",
            "slo_period_total_events",
            "slo_burn_alert_active",
            "slo_burn_rate_threshold",
            "slo_data_fresh",
        ] {
            assert!(
                !of(name, "charge").is_empty(),
                "{format:?}: {name} of charge"
            );
        }
        assert!(
            of("slo_burn_alert_active", "charge")
                .iter()
                .all(|l| l.ends_with(" 0"))
        );
    }
}

/// `slo_error_budget_exhaustion_alert_active` only for SLOs with an exhaustion alert, with the
/// SLO's labels; 0 without data (`without_data` clears it), 1 while active.
#[test]
fn the_exhaustion_alert_is_a_gauge_of_its_own() {
    let (_, exporter) = exporter_with(fixture());
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        let name = "slo_error_budget_exhaustion_alert_active";
        assert!(text.contains(&format!("# HELP {name} ")), "{format:?}");
        assert_eq!(
            samples(&text, name),
            [
                r#"slo_error_budget_exhaustion_alert_active{service="search",slo="latency",team="se\"arch\\\nops"} 1.0"#,
                r#"slo_error_budget_exhaustion_alert_active{service="payments",slo="charge",team="core"} 0.0"#,
            ],
            "{format:?}"
        );
    }
}

#[test]
fn non_finite_values_are_written_as_zero() {
    let mut snapshot = fixture();
    snapshot.slos[0].windows[0].burn_rate = Some(f64::NAN);
    snapshot.slos[0].windows[0].error_ratio = Some(f64::INFINITY);
    snapshot.slos[0].error_budget_remaining = Some(f64::NEG_INFINITY);
    snapshot.slos[1].exhaustion_seconds = Some(f64::INFINITY);
    let (_, exporter) = exporter_with(snapshot);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        assert!(!text.contains("NaN") && !text.contains("Inf\n"), "{text}");
        assert!(samples(&text, "slo_error_budget_exhaustion_seconds").is_empty());
    }
}

#[test]
fn series_of_removed_slos_vanish() {
    let (cell, exporter) = exporter_with(fixture());
    assert!(encode(&exporter, Format::Classic).contains(r#"slo="latency""#));
    let mut snapshot = fixture();
    snapshot.slos.truncate(1);
    snapshot.services.truncate(1);
    cell.publish(snapshot);
    let text = encode(&exporter, Format::Classic);
    assert!(!text.contains(r#"slo="latency""#), "{text}");
    assert!(!text.contains(r#"service="search""#), "{text}");
    assert_eq!(samples(&text, "slo_objective_ratio").len(), 1);
}

#[test]
fn ten_thousand_slos_encode() {
    let mut snapshot = fixture();
    let template = snapshot.slos[0].clone();
    snapshot.slos = (0..10_000)
        .map(|i| {
            let mut s = template.clone();
            s.slo = format!("slo-{i}").into();
            s
        })
        .collect();
    let (_, exporter) = exporter_with(snapshot);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        assert_eq!(samples(&text, "slo_objective_ratio").len(), 10_000);
        assert_eq!(samples(&text, "slo_burn_rate").len(), 20_000);
        assert_eq!(samples(&text, "slo_info").len(), 10_000);
        // 11 single-sample families (no exhaustion forecast), 2 per window (2 windows), 2 per
        // alert (1 alert).
        let slo_samples = text
            .lines()
            .filter(|l| l.starts_with("slo_") && !l.starts_with("slo_feature_freeze"))
            .count();
        assert_eq!(slo_samples, 10_000 * (11 + 4 + 2));
    }
}

#[test]
fn negotiation() {
    assert_eq!(negotiate(None), Format::Classic);
    assert_eq!(negotiate(Some("")), Format::Classic);
    assert_eq!(negotiate(Some("*/*")), Format::Classic);
    assert_eq!(
        negotiate(Some(
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"
        )),
        Format::Classic
    );
    assert_eq!(
        negotiate(Some(
            "application/openmetrics-text;version=1.0.0;q=0.5,\
             application/openmetrics-text;version=0.0.1;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        )),
        Format::OpenMetrics
    );
    assert_eq!(
        negotiate(Some("Application/OpenMetrics-Text")),
        Format::OpenMetrics
    );
    assert_eq!(
        negotiate(Some("application/openmetrics-text;q=0")),
        Format::Classic
    );
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
fn the_query_lag_in_use_is_a_gauge_only_with_a_source() {
    let (_, exporter) = exporter_with(fixture());
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        assert_eq!(
            samples(&text, "sloburn_source_query_lag_seconds"),
            vec!["sloburn_source_query_lag_seconds 5.0"],
            "{format:?}"
        );
    }
    let mut snapshot = fixture();
    snapshot.engine.source_query_lag_seconds = None;
    let (_, exporter) = exporter_with(snapshot);
    let text = encode(&exporter, Format::Classic);
    assert!(!text.contains("sloburn_source_query_lag_seconds"), "{text}");
}

#[test]
fn corrections_are_exported_only_for_slos_that_have_them() {
    use crate::engine::snapshot::CorrectionSnapshot;
    let mut snap = fixture();
    let corrected = &mut snap.slos[0];
    corrected.period_excluded_total = 6000.0;
    corrected.period_excluded_bad = 3000.0;
    corrected.correction_active = true;
    corrected.corrections = vec![CorrectionSnapshot {
        reason: "known outage".into(),
        ..CorrectionSnapshot::default()
    }];
    let (_, exporter) = exporter_with(snap);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = encode(&exporter, format);
        for (name, want) in [
            ("slo_period_excluded_events", "6000.0"),
            ("slo_period_excluded_bad_events", "3000.0"),
            ("slo_correction_active", "1.0"),
        ] {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{format:?} {name}"
            );
            let got = samples(&text, name);
            assert_eq!(got.len(), 1, "{format:?} {name}: {got:?}");
            assert!(
                got[0].starts_with(&format!("{name}{{service=\"checkout\",slo=\"availability\",team=\"core\",route=\"/pay\"}}"))
                    && got[0].ends_with(&format!(" {want}")),
                "{format:?}: {}",
                got[0]
            );
        }
    }
}
