//! `sloburn run` (the real binary) against a real Prometheus scraping a live target every 60 s,
//! Prometheus's default interval. A 1-minute bucket then holds one sample at an arbitrary
//! phase, so `increase(x[1m])` per bucket reads nothing and no alert could ever fire; sloburn
//! follows the counters sample by sample, so an outage pages.
//!
//! The target serves clean traffic, then fails every request. The page (burn over 1h and 5m both
//! above 14.4 for a 99.9% SLO) must be active once the first scrape after the switch has been
//! read: at most one scrape interval, the bucket, the lag and an evaluation interval later.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::time::{Duration, Instant};

use engine::{Sloburn, http_request};
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
  # Templated PromQL is evaluated per 1-minute bucket by Prometheus: at 60 s, rate() over a
  # minute reads nothing. sloburn says so (and shows no data rather than a clean budget).
  - name: templated
    objective: 99.9
    sli:
      raw:
        error_ratio_query: sum(rate(http_requests_total{job="live",code="500"}[{{.window}}])) / sum(rate(http_requests_total{job="live"}[{{.window}}]))
"#;

const SCRAPE_SECS: u64 = 60;
const INTERVAL_SECS: u64 = 10;
const LAG_SECS: u64 = 5;

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
        "global:\n  scrape_interval: {SCRAPE_SECS}s\n  scrape_timeout: 10s\n\
         scrape_configs:\n  - job_name: live\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.port
    );
    let prometheus = Prometheus::start(&data.path().join("prometheus"), &config);

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

    // Two clean scrapes: the counters have a starting point and one clean increase.
    let deadline = Instant::now() + Duration::from_secs(3 * SCRAPE_SECS);
    while samples(&prometheus) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the target twice within {}s:\n{}",
            3 * SCRAPE_SECS,
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
        Duration::from_secs(SCRAPE_SECS + 2 * INTERVAL_SECS + 60),
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
    let allowed = Duration::from_secs(SCRAPE_SECS + 60 + LAG_SECS + INTERVAL_SECS + 15);
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
