//! `sloburn check --prometheus-url` (the real binary) against a real Prometheus holding 3 hours
//! of backfilled history (15 s samples, plus a hand-written series sampled every 2 minutes) and
//! scraping a live target every second, whose metadata types a gauge as a gauge (backfilled
//! series have no metadata). A spec with one mistake per SLO gets one finding each, placed at
//! the SLO's `sli`; a clean spec gets none; an unreachable source exits 2.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::backfill::{Backfill, HOUR, create_blocks_from, now_minute, scenario};
use support::process::free_port;
use support::prometheus::{Prometheus, first_value};

/// A scrape target serving a counter and a gauge, with `# TYPE` lines Prometheus keeps as
/// metadata. Stops its thread on drop.
struct Target {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    fn start() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the target");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local_addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut scrapes = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            scrapes += 1;
                            let body = format!(
                                "# TYPE http_requests_total counter\n\
                                 http_requests_total{{code=\"200\"}} {}\n\
                                 # TYPE inflight_requests gauge\n\
                                 inflight_requests {}\n",
                                scrapes * 50,
                                scrapes % 7
                            );
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                            let mut head = [0u8; 4096];
                            let _ = stream.read(&mut head);
                            let _ = write!(
                                stream,
                                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Target {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `batch_jobs_total{job="batch",outcome=...}` sampled every 2 minutes over `[start, end)`, as
/// OpenMetrics (each series in time order, as promtool needs).
fn batch_openmetrics(start: i64, end: i64) -> String {
    let mut text = String::from("# TYPE batch_jobs counter\n");
    for (outcome, per_sample) in [("ok", 10), ("failed", 1), ("timeout", 0)] {
        for (i, t) in (start..end).step_by(120).enumerate() {
            text.push_str(&format!(
                "batch_jobs_total{{job=\"batch\",outcome=\"{outcome}\"}} {} {t}\n",
                i as u64 * per_sample
            ));
        }
    }
    text.push_str("# EOF\n");
    text
}

/// 3 hours of history ending now: request counters (one error code idle), four latency
/// histograms with different bucket spellings, a noisy gauge.
fn history(end: i64) -> Backfill {
    let mut b = Backfill::new(end - 3 * HOUR, end);
    scenario::steady(&mut b, "shop");
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "503")],
        |_| 0.0,
        &[],
    );
    scenario::latency(&mut b, "shop", &[]);
    for (histogram, buckets) in [
        ("checkout_duration_seconds", ["0.1", "0.5", "1", "+Inf"]),
        ("render_duration_seconds", ["0.5", "1.0", "5.0", "+Inf"]),
        // As an exporter printing "%.2f" writes them: no ruler rule selects "5.00".
        ("upload_duration_seconds", ["0.50", "1.00", "5.00", "+Inf"]),
    ] {
        for (i, le) in buckets.iter().enumerate() {
            b.histogram_series(
                &format!("{histogram}_bucket"),
                &[("job", "shop"), ("le", le)],
                move |_| 10.0 * (i + 1) as f64,
                &[],
            );
        }
        b.histogram_series(
            &format!("{histogram}_count"),
            &[("job", "shop")],
            |_| 40.0,
            &[],
        );
    }
    // Up and down every few samples, as a queue length does.
    b.gauge("queue_length", &[("job", "shop")], |t| {
        ((t / 15 * 37) % 11) as f64
    });
    b
}

const BROKEN: &str = r#"version: sloburn/v1
service: shop
slos:
  - name: typo-total
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="shop",code="500"}
        total: http_request_total{job="shop"}
  - name: typo-errors
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_totl{job="shop",code="500"}
        total: http_requests_total{job="shop"}
  - name: checkout-latency
    objective: 99
    sli:
      latency:
        histogram: checkout_duration_seconds{job="shop"}
        threshold: 0.3
  - name: render-latency
    objective: 99
    sli:
      latency:
        histogram: render_duration_seconds{job="shop"}
        threshold: 5
  - name: upload-latency
    objective: 99
    sli:
      latency:
        histogram: upload_duration_seconds{job="shop"}
        threshold: 5
  - name: batch-success
    objective: 99
    sli:
      events:
        error_query: sum(rate(batch_jobs_total{job="batch",outcome="failed"}[{{.window}}])) + sum(rate(batch_jobs_total{job="batch",outcome="timeout"}[{{.window}}]))
        total_query: sum(rate(batch_jobs_total{job="batch"}[{{.window}}]))
  - name: batch-ratio
    objective: 99
    sli:
      ratio:
        errors: batch_jobs_total{job="batch",outcome="failed"}
        total: batch_jobs_total{job="batch"}
    alerting:
      windows:
        - {severity: page, long: 1h, short: 3m, burn_rate: 14.4}
  - name: queue-as-counter
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="shop",code="500"}
        total: queue_length{job="shop"}
  - name: inflight-as-counter
    objective: 99
    sli:
      events:
        error_query: sum(rate(inflight_requests{job="live"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="live"}[{{.window}}]))
"#;

const CLEAN: &str = r#"version: sloburn/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        # No 503 so far: the series exists but stands still, which is no typo.
        errors: http_requests_total{job="shop",code="503"}
        total: http_requests_total{job="shop"}
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds{job="shop"}
        threshold: 0.3
  - name: queue
    objective: 99
    sli:
      threshold:
        query: max(queue_length{job="shop"})
        op: '<'
        value: 10
"#;

fn sloburn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(args)
        .output()
        .expect("run sloburn")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The live target scraped a few times, so its series have an interval and its metadata is in.
fn wait_for_scrapes(prometheus: &Prometheus) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = chrono::Utc::now().timestamp();
        let answer =
            runtime.block_on(prometheus.try_query("count_over_time(inflight_requests[1m])", now));
        if answer
            .as_ref()
            .ok()
            .and_then(first_value)
            .is_some_and(|n| n >= 3.0)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the target 3 times within 30s: {answer:?}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn live_checks_find_each_mistake_at_its_sli() {
    let end = now_minute();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("prometheus");
    history(end).create_blocks(&data);
    let batch = data.join("batch.om");
    std::fs::write(&batch, batch_openmetrics(end - 3 * HOUR, end)).expect("write batch.om");
    create_blocks_from(&batch, &data);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: live\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.port
    );
    let prometheus = Prometheus::start(&data, &config);
    wait_for_scrapes(&prometheus);

    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).expect("mkdir specs");
    let broken = specs.join("broken.yaml");
    let clean = specs.join("clean.yaml");
    std::fs::write(&broken, BROKEN).expect("write broken.yaml");
    std::fs::write(&clean, CLEAN).expect("write clean.yaml");
    let (broken, clean) = (broken.to_str().unwrap(), clean.to_str().unwrap());
    let url = prometheus.url.as_str();
    let tidy = |s: String| {
        // How often a gauge went down within the last hour depends on where the hour falls.
        let counts = regex::Regex::new(r"went down \d+ times in \d+ samples").unwrap();
        counts
            .replace_all(
                &s.replace(&*specs.to_string_lossy(), "<specs>")
                    .replace(url, "<url>"),
                "went down N times in M samples",
            )
            .into_owned()
    };

    // Warnings alone exit 0.
    let out = sloburn(&["check", broken, "--prometheus-url", url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    insta::assert_snapshot!("broken_table", tidy(text(&out.stdout)));

    // --strict: any live warning exits 1.
    let out = sloburn(&["check", broken, "--prometheus-url", url, "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    // The JSON carries the same findings, with the evidence's numbers.
    let out = sloburn(&["check", "-o", "json", broken, "--prometheus-url", url]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let live = &json["live"];
    assert_eq!(live["slos_checked"], 9, "{live:#}");
    let findings = live["findings"].as_array().expect("findings");
    assert_eq!(
        live["warnings"].as_u64().unwrap() + live["notes"].as_u64().unwrap(),
        findings.len() as u64
    );
    let gauge = findings
        .iter()
        .find(|f| f["slo"] == "queue-as-counter" && f["check"] == "not_a_counter")
        .unwrap_or_else(|| panic!("no finding for the backfilled gauge: {live:#}"));
    let numbers: Vec<f64> = regex::Regex::new(r"went down (\d+) times in (\d+) samples")
        .unwrap()
        .captures(gauge["message"].as_str().unwrap())
        .map(|c| vec![c[1].parse().unwrap(), c[2].parse().unwrap()])
        .unwrap_or_default();
    assert!(
        numbers.len() == 2 && numbers[0] >= 0.2 * numbers[1] && numbers[1] >= 230.0,
        "{gauge}"
    );
    let json_tidy: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "at": format!("{}:{}", f["line"], f["column"]),
                "slo": f["slo"], "severity": f["severity"], "check": f["check"], "selector": f["selector"],
            })
        })
        .collect();
    insta::assert_json_snapshot!("broken_json", json_tidy);

    // A clean spec: no finding, also with --strict.
    let out = sloburn(&["check", clean, "--prometheus-url", url, "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    insta::assert_snapshot!("clean_table", tidy(text(&out.stdout)));

    drop(prometheus);
    drop(target);
}

#[test]
fn an_unreachable_source_exits_2_naming_the_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("clean.yaml");
    std::fs::write(&spec, CLEAN).expect("write spec");
    // A port that was free a moment ago: nothing listens there.
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = sloburn(&[
        "check",
        spec.to_str().unwrap(),
        "--prometheus-url",
        &url,
        "--timeout",
        "5s",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot check the specs against {url}: cannot reach the source"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn a_spec_without_the_flag_is_not_checked_live() {
    // Same spec, no --prometheus-url: nothing is asked of any source, and --strict alone is a
    // usage error.
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("broken.yaml");
    std::fs::write(&spec, BROKEN).expect("write spec");
    let out = sloburn(&["check", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stdout).contains("live:"),
        "{}",
        text(&out.stdout)
    );
    let out = sloburn(&["check", spec.to_str().unwrap(), "--strict"]);
    assert_eq!(out.status.code(), Some(2));
}
