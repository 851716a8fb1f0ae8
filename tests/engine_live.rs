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
        Duration::from_secs(60),
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
