//! Alert and freeze time in `sloburn report`, recorded by a real `sloburn run` over a real
//! Prometheus that scrapes a live target whose outage the test controls, then read from the
//! state directory after the run was killed with SIGKILL (what was recorded up to the last
//! tick survives).
//!
//! The SLO (99%) pages when the burn rate over 2m and over 1m are both above 50, i.e. more than
//! half the events of both windows failed. The target serves clean traffic, then fails every
//! request for `OUTAGE` seconds, then clean again. Independent bounds, in data time:
//! - the page cannot begin before the outage began, and must have begun once more than half of
//!   the 2m window is outage: 60 s in, plus a minute (windows end on whole minutes while the
//!   newest is open), plus the slack below;
//! - it cannot end before the outage ended (the last 2 minutes of it are all failures), and
//!   must have ended once less than half the 1m window is outage: 30 s after, plus a minute,
//!   plus the slack.
//!
//! So the page time lies in `[OUTAGE - 120 - SLACK, OUTAGE + 90 + SLACK]`, where `SLACK`
//! covers a scrape (1 s), a tick (1 s), the query lag sloburn learns (at most 5 s) and the
//! test's own switching (1 s), twice. The budget is spent by the outage and stays spent (the
//! clean traffic after it is far too little to earn it back): the freeze runs from within
//! the page's start bounds to the last evaluation before the kill.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::time::Duration;

use engine::{Sloburn, now_unix};
use serde_json::Value;
use support::prometheus::Prometheus;
use support::target::Target;

const SPEC: &str = r#"
version: sloburn/v1
service: rec
slos:
  - name: requests
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="rec",code="500"}
        total: http_requests_total{job="rec"}
    alerting:
      windows:
        - {severity: page, long: 2m, short: 1m, burn_rate: 50}
"#;

const OUTAGE: f64 = 300.0;
const SLACK: f64 = 16.0;

#[test]
fn page_and_freeze_time_of_a_controlled_outage_within_bounds_after_kill_9() {
    let target = Target::start();
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: rec\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.port
    );
    let prometheus = Prometheus::start(&data.path().join("prometheus"), &config);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let state = dir.path().join("state");
    let args: Vec<String> = [
        "--spec",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        state.to_str().unwrap(),
        "--evaluation-interval",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let started = now_unix();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let slo = [("service", "rec"), ("slo", "requests")];
    sloburn.wait_metrics("clean traffic read", Duration::from_secs(90), "slo_", |m| {
        m.fresh("rec", "requests") == Some(true)
            && m.value("slo_period_total_events", &slo) > 1000.0
    });
    // A minute of clean traffic first, so the windows start clean.
    std::thread::sleep(Duration::from_secs(60));
    let began = now_unix();
    target.set_error_share(1_000_000);
    std::thread::sleep(Duration::from_secs_f64(OUTAGE));
    target.set_error_share(0);
    let ended = now_unix();
    eprintln!("outage {:.1}s", ended - began);
    // Long enough for the page to clear: the upper bound's 90 s and the slack.
    std::thread::sleep(Duration::from_secs_f64(90.0 + 2.0 * SLACK));
    let m = sloburn.metrics();
    let page = [
        ("service", "rec"),
        ("slo", "requests"),
        ("severity", "page"),
    ];
    assert_eq!(
        m.get("slo_burn_alert_active", &page),
        Some(0.0),
        "the page cleared"
    );
    let killed = now_unix();
    sloburn.stop(); // SIGKILL
    drop(prometheus);

    let hour = 3600;
    let from = (started as i64).div_euclid(hour) * hour;
    let to = (killed as i64).div_euclid(hour) * hour + hour;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args([
            "report",
            "--state-dir",
            state.to_str().unwrap(),
            "--format",
            "json",
        ])
        .args(["--from", &rfc3339(from), "--to", &rfc3339(to)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &v["slos"][0];
    eprintln!("{row:#}");
    let hours = |f: &str| row[f].as_f64().unwrap_or_else(|| panic!("{f}: {row}")) * 3600.0;

    let page_secs = hours("page_alert_hours");
    let (low, high) = (OUTAGE - 120.0 - SLACK, OUTAGE + 90.0 + SLACK);
    assert!(
        (low..=high).contains(&page_secs),
        "page {page_secs:.0}s, bounds [{low}, {high}]"
    );
    assert_eq!(hours("ticket_alert_hours"), 0.0);
    assert_eq!(hours("exhaustion_alert_hours"), 0.0);
    // Frozen from the page's start (within its bounds) to the last evaluation before the kill
    // (at most a tick and the lag before it).
    let freeze_secs = hours("freeze_hours");
    let (low, high) = (killed - began - 120.0 - 2.0 * SLACK, killed - began + SLACK);
    assert!(
        (low..=high).contains(&freeze_secs),
        "freeze {freeze_secs:.0}s, bounds [{low:.0}, {high:.0}]"
    );
    // Recorded: from the first evaluation with data to the last, nothing before the start.
    let recorded = hours("alerts_recorded_hours");
    let since = row["alerts_recorded_since"].as_str().unwrap();
    let since = chrono::DateTime::parse_from_rfc3339(since)
        .unwrap()
        .timestamp() as f64;
    assert!(
        since >= started - SLACK && since <= began,
        "recorded since {since}"
    );
    assert!(
        recorded <= killed - since + 1.0 && recorded >= killed - since - 2.0 * SLACK,
        "recorded {recorded:.0}s from {since} to the kill at {killed:.0}"
    );
    let not_recorded = hours("alerts_not_recorded_hours");
    assert!((not_recorded + recorded - (to - from) as f64).abs() < 1e-6);
    drop(target);
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}
