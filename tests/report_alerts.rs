//! Alert and freeze time in `sloburn report`, recorded by a real `sloburn run` over a real
//! Prometheus that scrapes a live target (50 requests/s) whose outage the test controls, then
//! read from the state directory after the run was killed with SIGKILL (what was recorded up to
//! the last tick survives). Kept short for CI (well under 90 s): the kill comes while the page
//! and the freeze are still on, so each recorded span is bounded by the outage's start and the
//! kill.
//!
//! The SLO (99%, period 1d) pages when the burn rate over 2m and over 1m are both above 5, i.e.
//! more than 5% of the events of both windows failed. A window is its whole minutes plus the
//! current one so far, so the 2m window holds at most 3 minutes of events, and 5% of that is
//! 9 s of a total outage: the page must have begun 9 s into the outage (plus the slack below).
//! It cannot end before the outage has left the 1m window (at least 60 s of it, with the whole
//! 35 s outage inside up to 25 s after its end, over a quarter of at most 2 minutes), so it is still on
//! at the kill, 5 s after the outage (the test checks `slo_burn_alert_active` says so). The
//! budget (1% of the period's events, a minute or so of traffic) is spent a second into the
//! outage and stays spent: the freeze runs from then to the kill.
//!
//! Bounds, in seconds from the outage's start: no more than from the outage to the kill (plus
//! `SLACK`), and no less than the half-second samples the test saw on (less `SLACK` and one
//! sample): a tick that could not read on a loaded machine turns an alert off for a moment (no
//! data is never an alert), so the lower bound counts what was seen, not the clock. The test
//! kills sloburn at a moment it sees both on. `SLACK` covers a scrape (1 s), a tick (1 s), the query lag
//! sloburn learns (at most 5 s) and the test's own switching (1 s), twice; the lower bounds take
//! it once (the kill comes 5 s after the outage, so they stay well above 0).

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
    period: 1d
    alerting:
      windows:
        - {severity: page, long: 2m, short: 1m, burn_rate: 5}
"#;

const OUTAGE: f64 = 35.0;
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
    sloburn.wait_metrics("clean traffic read", Duration::from_secs(60), "slo_", |m| {
        m.fresh("rec", "requests") == Some(true) && m.value("slo_period_total_events", &slo) > 250.0
    });
    // A few seconds of clean traffic first, so the windows start clean.
    std::thread::sleep(Duration::from_secs(5));
    let page = [
        ("service", "rec"),
        ("slo", "requests"),
        ("severity", "page"),
    ];
    // The outage, then 5 s of clean traffic, watching the page and the freeze meanwhile
    // (printed when an assertion fails).
    let began = now_unix();
    target.set_error_share(1_000_000);
    let mut ended = None;
    let mut timeline = Vec::new();
    while now_unix() < began + OUTAGE + 5.0 {
        if ended.is_none() && now_unix() >= began + OUTAGE {
            target.set_error_share(0);
            ended = Some(now_unix());
        }
        let m = sloburn.metrics();
        timeline.push((
            now_unix() - began,
            m.get("slo_burn_alert_active", &page),
            m.get("slo_feature_freeze", &[("service", "rec")]),
        ));
        std::thread::sleep(Duration::from_millis(500));
    }
    let ended = ended.unwrap_or_else(|| {
        target.set_error_share(0);
        now_unix()
    });
    eprintln!("outage {:.1}s", ended - began);
    eprintln!("timeline {timeline:?}");
    // Kill while both are on (a tick that could not read, on a loaded machine, turns them off
    // for a moment: no data is never an alert), so both spans are open at the kill.
    let on = |m: &engine::Metrics| {
        m.get("slo_burn_alert_active", &page) == Some(1.0)
            && m.get("slo_feature_freeze", &[("service", "rec")]) == Some(1.0)
    };
    let wait_until = now_unix() + 20.0;
    loop {
        let m = sloburn.metrics();
        timeline.push((
            now_unix() - began,
            m.get("slo_burn_alert_active", &page),
            m.get("slo_feature_freeze", &[("service", "rec")]),
        ));
        if on(&m) {
            break;
        }
        let show = format!("{timeline:?}\n{}", sloburn.log_tail(40));
        assert!(
            now_unix() < wait_until,
            "page and freeze not on after the outage: {show}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let killed = now_unix();
    // Half-second samples seen on: a lower bound of the time on that no lateness can break.
    let page_seen = timeline.iter().filter(|t| t.1 == Some(1.0)).count() as f64 * 0.5;
    let freeze_seen = timeline.iter().filter(|t| t.2 == Some(1.0)).count() as f64 * 0.5;
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
    let (low, high) = (page_seen - 1.0 - SLACK, killed - began + SLACK);
    assert!(
        (low..=high).contains(&page_secs),
        "page {page_secs:.0}s, bounds [{low}, {high}]"
    );
    assert_eq!(hours("ticket_alert_hours"), 0.0);
    assert_eq!(hours("exhaustion_alert_hours"), 0.0);
    // Frozen from a second into the outage to the last evaluation before the kill.
    let freeze_secs = hours("freeze_hours");
    let (low, high) = (freeze_seen - 1.0 - SLACK, killed - began + SLACK);
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
