//! `sloburn run` (the real binary) on live data: a test target serves request counters whose
//! error share the test drives, and a real Prometheus scrapes it.
//!
//! The first test is the freshness promise (README, "Freshness"): Prometheus scrapes every 5 s
//! and also evaluates `sloburn generate`'s ruler rules every 5 s, over 3 hours of clean history
//! (backfilled, continued live); `sloburn run` has its default settings. A total outage of a
//! 99.99% SLO must page (1h and 5m burn both above 14.4) within 30 s of its start, and no later
//! than the ruler's own alert plus the query lag and a tick; the page clears after recovery.
//!
//! A second test has Prometheus scrape every 60 s (its default) and shows an outage paging.
//! A third has the target answer each scrape slowly and shows the query lag learned from it.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use engine::{Sloburn, http_request, now_unix};
use support::prometheus::{Prometheus, RawSeries};
use support::target::{RATE, Target};

const SPEC_FRESH: &str = r#"
version: sloburn/v1
service: fresh
slos:
  - name: requests
    objective: 99.99
    sli:
      ratio:
        errors: http_requests_total{job="fresh",code="500"}
        total: http_requests_total{job="fresh"}
"#;

/// Prometheus's scrape and rule evaluation interval in the freshness test.
const FAST_SECS: i64 = 5;

/// Writes 3 hours of clean history for the target's two series, one sample per 5 s, 2.3 s off
/// the grid, ending now with the `code="200"` counter at `ok_now`; returns where promtool put
/// the blocks' input.
fn clean_history(path: &std::path::Path, port: u16, ok_now: u64) {
    let end = now_unix();
    let hours = 3.0 * 3600.0;
    let mut text = String::from("# TYPE http_requests counter\n");
    for (code, rate) in [("200", RATE as f64), ("500", 0.0)] {
        let mut t = (end - hours).floor() + 2.3;
        while t <= end {
            let value = if code == "200" {
                ok_now as f64 - rate * (end - t)
            } else {
                0.0
            };
            text.push_str(&format!(
                "http_requests_total{{code=\"{code}\",instance=\"127.0.0.1:{port}\",job=\"fresh\"}} {} {t:.3}\n",
                value.floor()
            ));
            t += FAST_SECS as f64;
        }
    }
    text.push_str("# EOF\n");
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// When the ruler's fast page for the fresh SLO is firing in Prometheus.
fn ruler_pages(prometheus: &Prometheus) -> bool {
    let query = format!(
        "{}/api/v1/query?query=ALERTS%7Balertname%3D%22SLOErrorBudgetBurn%22%2Cservice%3D%22fresh%22%2Clong_window%3D%221h%22%2Cshort_window%3D%225m%22%2Calertstate%3D%22firing%22%7D",
        prometheus.url
    );
    matches!(http_request("GET", &query, Duration::from_secs(5)), Ok((200, body)) if body.contains("\"firing\""))
}

#[test]
fn a_total_outage_pages_within_30s_at_the_default_settings_and_clears_after_recovery() {
    let ok_now = RATE * 3 * 3600;
    let target = Target::start_from(ok_now);
    let data = tempfile::tempdir().unwrap();
    let prometheus_dir = data.path().join("prometheus");
    let input = data.path().join("history.om");
    clean_history(&input, target.port, ok_now);
    support::backfill::create_blocks_from(&input, &prometheus_dir);

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC_FRESH).unwrap();
    let rules = data.path().join("rules.yaml");
    let generated = std::process::Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .arg("generate")
        .arg(&spec)
        .arg("--output")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let config = format!(
        "global:\n  scrape_interval: {FAST_SECS}s\n  scrape_timeout: {FAST_SECS}s\n  evaluation_interval: {FAST_SECS}s\n\
         rule_files: ['{}']\n\
         scrape_configs:\n  - job_name: fresh\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        rules.display(),
        target.port
    );
    let prometheus = Prometheus::start(&prometheus_dir, &config);

    // Default settings: no interval, no lag.
    let args: Vec<String> = [
        "--spec",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let slo = [("service", "fresh"), ("slo", "requests")];
    let page = [
        ("service", "fresh"),
        ("slo", "requests"),
        ("severity", "page"),
        ("long_window", "1h"),
        ("short_window", "5m"),
    ];
    let burn = |m: &engine::Metrics, w: &str| {
        m.value(
            "slo_burn_rate",
            &[("service", "fresh"), ("slo", "requests"), ("window", w)],
        )
    };
    // The history read and live scrapes followed: the 1h window full of clean traffic.
    let m = sloburn.wait_metrics(
        "the SLO fresh, with 3 hours of clean history and live scrapes read",
        Duration::from_secs(90),
        "slo_",
        |m| {
            m.fresh("fresh", "requests") == Some(true)
                && m.get("slo_data_present", &slo) == Some(1.0)
                && m.value("slo_period_total_events", &slo)
                    > (ok_now + 2 * RATE * FAST_SECS as u64) as f64
        },
    );
    assert_eq!(
        m.value("slo_burn_alert_active", &page),
        0.0,
        "no page on clean traffic"
    );
    assert_eq!(burn(&m, "1h"), 0.0);
    assert!(
        !ruler_pages(&prometheus),
        "the ruler does not page on clean traffic"
    );

    target.set_error_share(1_000_000);
    let outage = Instant::now();
    let mut ours = None;
    let mut ruler = None;
    let deadline = outage + Duration::from_secs(60);
    while (ours.is_none() || ruler.is_none()) && Instant::now() < deadline {
        let m = sloburn.metrics();
        if ours.is_none() && m.get("slo_burn_alert_active", &page) == Some(1.0) {
            ours = Some(outage.elapsed());
            eprintln!(
                "sloburn paged {:.1?} after the outage began: burn(5m) {:.0}, burn(1h) {:.1}",
                outage.elapsed(),
                burn(&m, "5m"),
                burn(&m, "1h")
            );
        }
        if ruler.is_none() && ruler_pages(&prometheus) {
            ruler = Some(outage.elapsed());
            eprintln!(
                "the ruler (rules evaluated every {FAST_SECS}s) paged {:.1?} after the outage began",
                outage.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let ours = ours.unwrap_or_else(|| {
        panic!(
            "sloburn did not page within 60 s of a total outage\n{}",
            sloburn.log_tail(30)
        )
    });
    assert!(ours <= Duration::from_secs(30), "paged after {ours:?}");
    let ruler = ruler.expect("the ruler pages within 60 s");
    // sloburn reads `query_lag` (learned: the longest scrape + 1 s, at most 5 s until known)
    // behind now, so that no scrape still running is missed; its tick falls at any phase of
    // the ruler's: the lag and a tick after the ruler, plus 5 s for the queries and polling.
    assert!(
        ours <= ruler + Duration::from_secs(3 * FAST_SECS as u64),
        "sloburn paged after {ours:?}, the ruler after {ruler:?}"
    );

    // Recovery: the page clears once the outage's errors have left the 5m window (whole
    // minutes, so within 6 minutes), plus a tick.
    target.set_error_share(0);
    let recovered = Instant::now();
    let m = sloburn.wait_metrics(
        "the page cleared after recovery",
        Duration::from_secs(6 * 60 + 30),
        "slo_burn",
        |m| m.get("slo_burn_alert_active", &page) == Some(0.0),
    );
    eprintln!(
        "the page cleared {:.1?} after recovery: burn(5m) {:.1}, burn(1h) {:.1}",
        recovered.elapsed(),
        burn(&m, "5m"),
        burn(&m, "1h")
    );
    assert!(burn(&m, "5m") < 14.4);
    assert_eq!(m.fresh("fresh", "requests"), Some(true));
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

// ---------------------------------------------------------------------------------------------
// A slow exporter: the target answers each scrape 8 s after it starts, and Prometheus stamps
// the samples with the scrape's start but shows them only at its end. With `query_lag` unset,
// sloburn learns the lag from `scrape_duration_seconds` (8 s + 1 s, rounded up: 10 s) and
// every tick reads exactly what Prometheus holds up to its reach: no sample skipped and
// counted a scrape late. The former fixed 5 s fails this: ticks every 3 s meet the 10 s
// scrapes at every phase, and a read ending 5 s back misses any scrape that started 5-8 s
// before the tick.

const SPEC_SLOW: &str = r#"
version: sloburn/v1
service: slow
slos:
  - name: requests
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="slow",code="500"}
        total: http_requests_total{job="slow"}
"#;

const SLOW_SCRAPE_SECS: u64 = 10;
const SLOW_DELAY_SECS: u64 = 8;
const SLOW_INTERVAL_SECS: u64 = 3;

/// Prometheus's raw samples of `selector` over the last 10 minutes, per series.
fn raw_samples(prometheus: &Prometheus, selector: &str) -> Vec<RawSeries> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the query");
    let now_ms = (now_unix() * 1000.0) as i64;
    runtime.block_on(prometheus.raw_samples(&format!("{selector}[10m]"), now_ms))
}

/// The events in samples up to `reach` (unix seconds), counted from each series' first sample
/// (it carries none): the truth a tick that read up to `reach` must hold.
fn events_up_to(series: &[RawSeries], reach: f64) -> f64 {
    let reach_ms = (reach * 1000.0) as i64;
    series
        .iter()
        .filter_map(|(_, points)| {
            let first = points.first()?.1;
            let last = points.iter().rfind(|p| p.0 <= reach_ms)?.1;
            Some(last - first)
        })
        .sum()
}

#[test]
fn the_lag_is_learned_from_a_slow_scrape_and_no_sample_is_read_late() {
    let target = Target::start_slow(Duration::from_secs(SLOW_DELAY_SECS));
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: {SLOW_SCRAPE_SECS}s\n  scrape_timeout: {}s\n\
         scrape_configs:\n  - job_name: slow\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        SLOW_DELAY_SECS + 1,
        target.port
    );
    let prometheus = Prometheus::start(&data.path().join("prometheus"), &config);
    // sloburn starts once a scrape is over, so its first ask already finds the duration (it
    // asks again every 15 s while it finds none).
    let deadline = Instant::now() + Duration::from_secs(SLOW_SCRAPE_SECS + SLOW_DELAY_SECS + 10);
    while raw_samples(&prometheus, r#"scrape_duration_seconds{job="slow"}"#).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no scrape of the slow target ended:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC_SLOW).unwrap();
    // No --query-lag.
    let args: Vec<String> = [
        "--spec",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
        "--evaluation-interval",
        &format!("{SLOW_INTERVAL_SECS}s"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let slo = [("service", "slow"), ("slo", "requests")];
    let learned = (SLOW_DELAY_SECS + 1) as f64;
    let m = sloburn.wait_metrics(
        "the query lag learned from the slow scrapes",
        Duration::from_secs(30),
        "sloburn_source_query_lag_seconds",
        |m| {
            m.get("sloburn_source_query_lag_seconds", &[])
                .is_some_and(|l| l >= learned)
        },
    );
    let lag = m.value("sloburn_source_query_lag_seconds", &[]);
    assert!(
        lag <= (SLOW_DELAY_SECS + 3) as f64,
        "lag {lag}: the scrape takes {SLOW_DELAY_SECS} s"
    );
    assert!(
        sloburn
            .log()
            .contains("query lag learned from the scrape durations"),
        "{}",
        sloburn.log_tail(20)
    );

    // Each tick after the one that took the lag holds every event of the samples up to its
    // reach (its time minus the lag): a sample still being scraped at a read's end would be
    // missing until the series' next sample.
    let mut checked = 0;
    let mut last_tick = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while checked < 6 {
        assert!(
            Instant::now() < deadline,
            "only {checked} ticks with events checked within 60 s\n{}",
            sloburn.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(500));
        let m = sloburn.metrics();
        let tick = m.get("slo_last_evaluation_timestamp_seconds", &slo);
        let now_lag = m.get("sloburn_source_query_lag_seconds", &[]);
        // A tick whose read used the lag on show (the one that took a new lag read with the
        // old one).
        if tick.is_none() || tick == last_tick || now_lag != Some(lag) {
            continue;
        }
        let first_tick = last_tick.is_none();
        last_tick = tick;
        if first_tick {
            continue;
        }
        let (Some(tick), Some(read)) = (tick, m.get("slo_period_total_events", &slo)) else {
            continue;
        };
        let reach = (tick - lag).floor();
        let truth = events_up_to(
            &raw_samples(&prometheus, r#"http_requests_total{job="slow"}"#),
            reach,
        );
        assert_eq!(
            read, truth,
            "the tick at {tick} read up to {reach}: {read} events, Prometheus holds {truth}"
        );
        // Ticks before the second sample have no events to miss.
        if truth > 0.0 {
            checked += 1;
        }
    }
    assert_eq!(sloburn.metrics().fresh("slow", "requests"), Some(true));
    sloburn.stop();
    drop(prometheus);
    drop(target);
}
