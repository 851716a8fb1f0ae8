//! `sloburn run` (the real binary) on live data: a test target serves request counters whose
//! error share the test drives, a real Prometheus scrapes it every second, and sloburn reads
//! Prometheus with a 10 s evaluation interval and a 5 s query lag.
//!
//! The bound the engine promises (README, "Freshness of a change"): ticks fall just after each
//! interval boundary plus the lag, and history buckets are one minute wide, so a change is visible
//! within one 1-minute bucket plus the query lag (plus the tick's own query time): the minute
//! holding the change is read at its end plus the lag. With the default 1m interval that is one
//! evaluation interval plus the lag; with a shorter interval the bucket still decides.
//! The test allows one bucket + the lag + one evaluation interval + 10 s of margin.
//!
//! A second test has Prometheus scrape every 60 s (its default) and shows an outage paging.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use engine::{Sloburn, http_request, now_unix};
use support::prometheus::Prometheus;
use support::target::Target;

const SPEC: &str = r#"
version: sloburn/v1
service: live
slos:
  - name: requests
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="live",code="500"}
        total: http_requests_total{job="live"}
"#;

const INTERVAL_SECS: u64 = 10;
const LAG_SECS: u64 = 5;
/// Burn rate the 5m window must exceed: a 1% error ratio, ten times the 0.1% budget. Half the
/// requests failing for even 10 s of a 5-minute window full of traffic gives more than 1.6%.
const THRESHOLD: f64 = 10.0;

#[test]
fn a_burst_of_errors_shows_in_the_burn_rate_within_one_bucket_plus_the_lag() {
    let target = Target::start();
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: live\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.port
    );
    let prometheus = Prometheus::start(&data.path().join("prometheus"), &config);

    // Prometheus has the target's counters (the 500 series at 0) before anything else.
    let query = format!(
        "{}/api/v1/query?query=http_requests_total%7Bjob%3D%22live%22%2Ccode%3D%22500%22%7D",
        prometheus.url
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http_request("GET", &query, Duration::from_secs(5));
        if let Ok((200, body)) = &answer
            && body.contains(r#""code":"500""#)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the target within 30s: {answer:?}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let args: Vec<String> = [
        "--spec",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
        "--evaluation-interval",
        &format!("{INTERVAL_SECS}s"),
        "--query-lag",
        &format!("{LAG_SECS}s"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let burn_5m = [("service", "live"), ("slo", "requests"), ("window", "5m")];
    let m = sloburn.wait_metrics(
        "the SLO fresh, with data",
        // Data shows once a sample lies in a complete minute read: up to a minute plus the lag
        // after Prometheus's first scrape.
        Duration::from_secs(60 + LAG_SECS + 2 * INTERVAL_SECS + 15),
        "slo_data",
        |m| {
            m.fresh("live", "requests") == Some(true)
                && m.get(
                    "slo_data_present",
                    &[("service", "live"), ("slo", "requests")],
                ) == Some(1.0)
        },
    );
    assert_eq!(m.value("slo_burn_rate", &burn_5m), 0.0, "no errors yet");

    // A change in the last seconds of a minute is only a sliver of that minute's bucket; start
    // it at second 50 at the latest so that bucket alone carries it past the threshold.
    while now_unix().rem_euclid(60.0) > 50.0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = now_unix();
    let switched = Instant::now();
    target.set_error_share(500_000);
    let second = s.rem_euclid(60.0);
    // The bucket holding s ends at the next minute; it is read at that end plus the lag.
    let expected = 60.0 - second + LAG_SECS as f64;
    let allowed = Duration::from_secs(60 + LAG_SECS + INTERVAL_SECS + 10);
    eprintln!(
        "errors at 50% from second {second:.1} of the minute; expected visible after ~{expected:.1}s, allowed {allowed:?}"
    );

    let mut previous = 0.0;
    let m = sloburn.wait_metrics(
        &format!("slo_burn_rate{{window=\"5m\"}} above {THRESHOLD} (errors at 50% since {s:.1})"),
        allowed,
        "slo_burn_rate",
        |m| {
            let burn = m.value("slo_burn_rate", &burn_5m);
            if burn != previous {
                eprintln!(
                    "  {:>5.1}s after the switch: burn(5m) {burn:.2}",
                    switched.elapsed().as_secs_f64()
                );
                previous = burn;
            }
            burn > THRESHOLD
        },
    );
    let delay = switched.elapsed();
    let burn = m.value("slo_burn_rate", &burn_5m);
    eprintln!(
        "burn(5m) {burn:.2} > {THRESHOLD} after {delay:.1?} (expected ~{expected:.1}s; bound: one bucket + lag = {}s from the minute's start)",
        60 + LAG_SECS
    );
    assert!(delay <= allowed, "took {delay:?}, allowed {allowed:?}");
    assert_eq!(m.fresh("live", "requests"), Some(true));
    let active = m.get(
        "slo_burn_alert_active",
        &[
            ("service", "live"),
            ("slo", "requests"),
            ("severity", "page"),
            ("long_window", "1h"),
            ("short_window", "5m"),
        ],
    );
    eprintln!(
        "page alert (1h/5m) active: {active:?}; burn(1h) {:?}; target counters ok {} errors {}",
        m.get(
            "slo_burn_rate",
            &[("service", "live"), ("slo", "requests"), ("window", "1h")]
        ),
        target.ok.load(Ordering::SeqCst),
        target.errors.load(Ordering::SeqCst)
    );
    assert_eq!(
        active,
        Some(1.0),
        "half the requests failing pages (both 1h and 5m burn far above 14.4)"
    );
    assert!(m.non_finite_slo_lines().is_empty());
    sloburn.stop();
    drop(prometheus);
    drop(target);
}

// ---------------------------------------------------------------------------------------------
// At Prometheus's default 60 s scrape interval a 1-minute bucket holds one sample at an
// arbitrary phase, so `increase(x[1m])` per bucket reads nothing and no alert could ever fire;
// sloburn follows the counters sample by sample, so an outage pages. The target serves clean
// traffic, then fails every request; the page (burn over 1h and 5m both above 14.4 for a 99.9%
// SLO) must be active once the first scrape after the switch has been read: at most one scrape
// interval, the bucket, the lag and an evaluation interval later. (In this file so that it runs
// beside the other live test: both mostly wait.)

const SPEC_60S: &str = r#"
version: sloburn/v1
service: live
slos:
  - name: requests
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="live",code="500"}
        total: http_requests_total{job="live"}
  # Templated PromQL is evaluated per 1-minute bucket by Prometheus: at 60 s, rate() over a
  # minute reads nothing. sloburn says so (and shows no data rather than a clean budget).
  - name: templated
    objective: 99.9
    sli:
      raw:
        error_ratio_query: sum(rate(http_requests_total{job="live",code="500"}[{{.window}}])) / sum(rate(http_requests_total{job="live"}[{{.window}}]))
"#;

const SCRAPE_60S: u64 = 60;

/// Samples of `http_requests_total{job="live",code="200"}` Prometheus holds.
fn samples(prometheus: &Prometheus) -> f64 {
    let query = format!(
        "{}/api/v1/query?query=count_over_time(http_requests_total%7Bjob%3D%22live%22%2Ccode%3D%22200%22%7D%5B1h%5D)",
        prometheus.url
    );
    let Ok((200, body)) = http_request("GET", &query, Duration::from_secs(5)) else {
        return 0.0;
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    json["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn an_outage_pages_at_a_60s_scrape_interval() {
    let target = Target::start();
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: {SCRAPE_60S}s\n  scrape_timeout: 10s\n\
         scrape_configs:\n  - job_name: live\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.port
    );
    let prometheus = Prometheus::start(&data.path().join("prometheus"), &config);

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC_60S).unwrap();
    let args: Vec<String> = [
        "--spec",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
        "--evaluation-interval",
        &format!("{INTERVAL_SECS}s"),
        "--query-lag",
        &format!("{LAG_SECS}s"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));

    // Two clean scrapes: the counters have a starting point and one clean increase.
    let deadline = Instant::now() + Duration::from_secs(3 * SCRAPE_60S);
    while samples(&prometheus) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the target twice within {}s:\n{}",
            3 * SCRAPE_60S,
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let page = [
        ("service", "live"),
        ("slo", "requests"),
        ("severity", "page"),
        ("long_window", "1h"),
        ("short_window", "5m"),
    ];
    let m = sloburn.wait_metrics(
        "the clean increase read",
        Duration::from_secs(SCRAPE_60S + 2 * INTERVAL_SECS + 60),
        "slo_period_total_events",
        |m| {
            m.get(
                "slo_period_total_events",
                &[("service", "live"), ("slo", "requests")],
            )
            .is_some_and(|t| t > 0.0)
        },
    );
    assert_eq!(
        m.value("slo_burn_alert_active", &page),
        0.0,
        "no page on clean traffic"
    );

    target.set_error_share(1_000_000);
    let switched = Instant::now();
    // The next scrape shows the failures; its minute's bucket is read at its end plus the lag,
    // at the next evaluation.
    let allowed = Duration::from_secs(SCRAPE_60S + 60 + LAG_SECS + INTERVAL_SECS + 15);
    let m = sloburn.wait_metrics(
        "the page active during the outage",
        allowed,
        "slo_burn",
        |m| m.get("slo_burn_alert_active", &page) == Some(1.0),
    );
    let burn = |w: &str| {
        m.value(
            "slo_burn_rate",
            &[("service", "live"), ("slo", "requests"), ("window", w)],
        )
    };
    eprintln!(
        "paged {:.1?} after the outage began: burn(5m) {:.1}, burn(1h) {:.1}",
        switched.elapsed(),
        burn("5m"),
        burn("1h")
    );
    assert!(burn("5m") > 14.4 && burn("1h") > 14.4);
    assert_eq!(m.fresh("live", "requests"), Some(true));
    assert!(m.non_finite_slo_lines().is_empty());
    // The templated SLO reads nothing at this interval: no data, never a clean budget, and the
    // log says why.
    let templated = [("service", "live"), ("slo", "templated")];
    assert_eq!(m.get("slo_data_present", &templated), Some(0.0));
    assert_eq!(m.get("slo_error_budget_remaining_ratio", &templated), None);
    let log = sloburn.log();
    assert!(
        log.contains("holds fewer than two samples at the observed scrape interval"),
        "{}",
        sloburn.log_tail(30)
    );
    sloburn.stop();
    drop(prometheus);
    drop(target);
}
