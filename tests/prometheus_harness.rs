//! Tests of the test harness in `tests/support/`: the backfill truth, a real Prometheus fed
//! with 30 days of synthetic history, the process guard and the fake HTTP server's modes.
//! Needs Prometheus and promtool: a missing one fails the test ("run scripts/test").

mod support;

use std::time::{Duration, Instant};

use support::backfill::{Backfill, DAY, HOUR, MINUTE, STEP, scenario};
use support::fake_http::{FakeHttp, GARBAGE, Mode, PARTIAL_JSON, vector_json};
use support::process::{ChildGuard, find_binary, free_port, http_status, missing_binary_message};
use support::prometheus::{EMPTY_CONFIG, Prometheus, http_client};

fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, truth {want} (allowed ±{}%)",
        rel * 100.0
    );
}

#[test]
fn truth_of_a_small_backfill() {
    // 10 samples: t = 0, 15, ..., 135; 2 events per sample, reset at 60.
    let mut b = Backfill::new(0, 150);
    let c = b.counter("x_total", &[("job", "t")], |_| 2.0, &[60]);
    let g = b.gauge("g", &[("job", "t")], |t| t as f64);
    assert_eq!(b.samples_per_series(), 10);
    // The first sample carries no events; the others 2 each.
    assert_eq!(b.series_events(c, -1000, 1000), 18.0);
    assert_eq!(b.series_events(c, 0, 15), 2.0);
    assert_eq!(b.series_events(c, 14, 15), 2.0);
    assert_eq!(b.series_events(c, 15, 29), 0.0);
    assert_eq!(b.events("x_total", &[("job", "t")], 30, 90), 8.0);
    // The reset: 0, 2, 4, 6, then 2 at t = 60.
    let values: Vec<f64> = b.samples(c, 0, 90).iter().map(|s| s.1).collect();
    assert_eq!(values, [0.0, 2.0, 4.0, 6.0, 2.0, 4.0]);
    assert_eq!(b.value_at(g, 44), Some(30.0));
    assert_eq!(b.value_at(g, -1), None);
    assert_eq!(b.sample_count_in(15, 45), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.om");
    b.write_openmetrics(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# TYPE x counter");
    assert_eq!(lines[1], r#"x_total{job="t"} 0 0"#);
    assert_eq!(lines[11], "# TYPE g gauge");
    assert_eq!(lines[13], r#"g{job="t"} 15 15"#);
    assert_eq!(*lines.last().unwrap(), "# EOF");
}

#[test]
fn missing_binary_fails_with_install_hint() {
    assert_eq!(find_binary("sloburn-no-such-binary"), None);
    let msg = missing_binary_message("sloburn-no-such-binary");
    assert!(msg.contains("run scripts/test, which installs it"), "{msg}");
    assert!(
        find_binary("prometheus").is_some(),
        "run scripts/test, which installs Prometheus"
    );
}

#[test]
fn child_guard_kills_and_reaps_on_drop() {
    let mut command = std::process::Command::new("sleep");
    command.arg("600");
    let guard = ChildGuard::spawn(command, "sleep");
    let pid = guard.id().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(guard);
    // Killed and waited for: not even a zombie is left.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// 30 days of every scenario, (a) to (g), in one Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_backfilled_into_real_prometheus() {
    let end = support::backfill::now_minute();
    let started = Instant::now();
    let mut b = Backfill::thirty_days(end);
    scenario::steady(&mut b, "demo");
    let reset = scenario::reset_at(&b);
    scenario::counter_reset(&mut b, "reset", reset);
    scenario::latency(&mut b, "demo", &[]);
    let hot = scenario::hot_windows(&b);
    scenario::saturation(&mut b, "demo", &hot);
    let incident = scenario::incident_at(&b);
    scenario::incident(&mut b, "incident", incident, 10 * MINUTE);
    let quiet = scenario::quiet_at(&b);
    scenario::zero_traffic(&mut b, "quiet", quiet);
    scenario::grouped(&mut b, "grouped");
    let generated = started.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let report = b.create_blocks(&data);
    let started_prometheus = Instant::now();
    let mut prometheus = Prometheus::start(&data, EMPTY_CONFIG);
    eprintln!(
        "{} series, {} samples: generate {:?}, write {:?} ({} MB), promtool {:?}, \
         Prometheus ready {:?}\n{}",
        report.series,
        report.samples,
        generated,
        report.write_time,
        report.openmetrics_bytes / 1_000_000,
        report.promtool_time,
        started_prometheus.elapsed(),
        report.promtool_output
    );

    // (a) increase over one hour matches the truth.
    let at = end - 2 * DAY - 17 * MINUTE;
    let truth = b.events(
        "http_requests_total",
        &[("job", "demo"), ("code", "500")],
        at - HOUR,
        at,
    );
    assert_eq!(truth, 36.0, "0.1 % of 10 req/s over an hour");
    let got = prometheus
        .query_scalar(
            r#"increase(http_requests_total{job="demo",code="500"}[1h])"#,
            at,
        )
        .await
        .expect("a sample");
    assert_close("increase of errors over 1h", got, truth, 0.01);

    // Retention: the oldest sample is still there, 30 days back.
    let count = prometheus
        .query_scalar(
            r#"count_over_time(http_requests_total{job="demo",code="500"}[30d])"#,
            end,
        )
        .await
        .expect("a sample");
    assert_eq!(
        count as usize,
        b.samples_per_series(),
        "samples over 30 days"
    );
    let oldest = prometheus
        .query_scalar(
            r#"min_over_time(timestamp(http_requests_total{job="demo",code="500"})[31d:1h])"#,
            end,
        )
        .await
        .expect("a sample");
    assert!(
        oldest <= (b.start() + HOUR) as f64,
        "oldest sample at {oldest}, start {}",
        b.start()
    );

    // (c) The reset is in the data, and increase() across it matches the truth.
    let before = prometheus
        .query_scalar(
            r#"http_requests_total{job="reset",code="200"}"#,
            reset - STEP,
        )
        .await
        .unwrap();
    let after = prometheus
        .query_scalar(r#"http_requests_total{job="reset",code="200"}"#, reset)
        .await
        .unwrap();
    assert!(
        after < before,
        "no reset in the data: {before} then {after}"
    );
    for code in ["200", "500"] {
        let truth = b.events(
            "http_requests_total",
            &[("job", "reset"), ("code", code)],
            reset - 30 * MINUTE,
            reset + 30 * MINUTE,
        );
        let expr = format!(r#"increase(http_requests_total{{job="reset",code="{code}"}}[1h])"#);
        let got = prometheus
            .query_scalar(&expr, reset + 30 * MINUTE)
            .await
            .unwrap();
        assert_close(
            &format!("increase across the reset, code {code}"),
            got,
            truth,
            0.01,
        );
    }

    // (f) The histogram family was accepted: share of requests under 0.3 s.
    let share = prometheus
        .query_scalar(
            r#"sum(increase(http_request_duration_seconds_bucket{job="demo",le="0.3"}[1h]))
               / sum(increase(http_request_duration_seconds_count{job="demo"}[1h]))"#,
            at,
        )
        .await
        .unwrap();
    assert_close(
        "share under 0.3 s",
        share,
        scenario::LATENCY_GOOD_SHARE,
        1e-9,
    );

    // (g) The gauge is above 0.8 for exactly the known samples.
    let (from, to) = hot[0];
    let hot_samples = b.sample_count_in(from + 1, to + 1);
    assert_eq!(hot_samples, 28, "7 minutes at 15 s");
    let above = prometheus
        .query_scalar(
            r#"count_over_time((pool_utilisation{job="demo"} > 0.8)[2h:15s])"#,
            to + HOUR,
        )
        .await
        .unwrap();
    assert_eq!(above as usize, hot_samples, "samples above 0.8");

    // (b) The incident: every request of its 10 minutes failed, none succeeded.
    let incident_end = incident + 10 * MINUTE;
    for (code, want) in [("500", 6000.0), ("200", 0.0)] {
        let truth = b.events(
            "http_requests_total",
            &[("job", "incident"), ("code", code)],
            incident,
            incident_end,
        );
        assert_eq!(truth, want, "10 minutes at 10 req/s, code {code}");
        let expr = format!(r#"increase(http_requests_total{{job="incident",code="{code}"}}[10m])"#);
        let got = prometheus.query_scalar(&expr, incident_end).await.unwrap();
        assert_eq!(got, truth, "{expr}");
    }

    // (d) The quiet hour: no traffic, so the error ratio is 0/0.
    let ratio = prometheus
        .query_scalar(
            r#"sum(increase(http_requests_total{job="quiet",code="500"}[1h]))
               / sum(increase(http_requests_total{job="quiet"}[1h]))"#,
            quiet + HOUR,
        )
        .await
        .unwrap();
    assert!(ratio.is_nan(), "error ratio of a quiet hour: {ratio}");
    assert_eq!(
        b.events(
            "http_requests_total",
            &[("job", "quiet")],
            quiet,
            quiet + HOUR
        ),
        0.0
    );

    // (e) Grouped: each route's error ratio over a day.
    let data = prometheus
        .query(
            r#"sum by (route) (increase(http_requests_total{job="grouped",code="500"}[1d]))
               / sum by (route) (increase(http_requests_total{job="grouped"}[1d]))"#,
            at,
        )
        .await;
    let result = data["result"].as_array().unwrap();
    assert_eq!(result.len(), scenario::ROUTES.len(), "{data}");
    for (route, ppm) in scenario::ROUTES {
        let matchers = [("job", "grouped"), ("route", route)];
        let bad = b.events(
            "http_requests_total",
            &[matchers[0], matchers[1], ("code", "500")],
            at - DAY,
            at,
        );
        let truth = bad / b.events("http_requests_total", &matchers, at - DAY, at);
        assert_close(
            &format!("{route} error share"),
            truth,
            ppm as f64 / 1e6,
            0.01,
        );
        let got: f64 = result
            .iter()
            .find(|r| r["metric"]["route"] == route)
            .unwrap_or_else(|| panic!("no {route} in {data}"))["value"][1]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_close(&format!("{route} error ratio"), got, truth, 1e-9);
    }

    // Stats: the number of samples a query read.
    let (data, samples) = prometheus
        .query_with_stats(
            r#"count_over_time(http_requests_total{job="demo",code="500"}[1d])"#,
            end,
        )
        .await;
    assert_eq!(data["resultType"], "vector");
    assert!(samples > 0, "totalQueryableSamples = {samples}");
    eprintln!("count_over_time over 1 day read {samples} samples");

    // Restart on the same port and data dir: same answers.
    let url = prometheus.url.clone();
    let restarted = Instant::now();
    prometheus.restart();
    eprintln!("restart {:?}", restarted.elapsed());
    assert_eq!(prometheus.url, url);
    let again = prometheus
        .query_scalar(
            r#"increase(http_requests_total{job="demo",code="500"}[1h])"#,
            at,
        )
        .await
        .unwrap();
    assert_eq!(again, got);

    // Stopped means gone.
    prometheus.stop();
    assert!(!prometheus.is_running());
    assert!(http_status(&format!("{url}/-/ready"), Duration::from_secs(1)).is_err());
    assert!(
        prometheus.try_query("up", end).await.is_err(),
        "a query to a stopped Prometheus must fail"
    );
}

#[tokio::test]
async fn fake_server_modes() {
    let server = FakeHttp::start(Mode::Json(vector_json(100, "0.5")));
    let client = http_client(Duration::from_millis(500));
    let url = format!("{}/api/v1/query?query=up", server.url);
    let get = || client.get(&url).send();

    // Json: the body as given.
    let response = get().await.unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["data"]["result"][0]["value"][1], "0.5");

    // Garbage: 200, not JSON.
    server.set_mode(Mode::Garbage);
    let response = get().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(body, GARBAGE);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());

    // Status.
    server.set_mode(Mode::Status(503));
    let response = get().await.unwrap();
    assert_eq!(response.status(), 503);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["status"], "error");

    // PartialJson: complete HTTP, truncated JSON.
    server.set_mode(Mode::PartialJson);
    let body = get().await.unwrap().text().await.unwrap();
    assert_eq!(body, PARTIAL_JSON);
    let err = serde_json::from_str::<serde_json::Value>(&body).unwrap_err();
    assert!(err.is_eof(), "{err}");

    // CutConnection: the body cannot be read to the announced end.
    server.set_mode(Mode::CutConnection);
    assert!(get().await.unwrap().bytes().await.is_err());

    // HugeBody: exactly n bytes of valid JSON.
    server.set_mode(Mode::HugeBody(3_000_000));
    let body = get().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 3_000_000);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["resultType"], "string");

    // Hang: the client times out; other connections are still served meanwhile.
    server.set_mode(Mode::Hang);
    let started = Instant::now();
    let err = get().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(450));

    // Delayed.
    server.set_mode(Mode::Delayed(
        Duration::from_millis(200),
        Box::new(Mode::Json(vector_json(1, "1"))),
    ));
    let started = Instant::now();
    assert_eq!(get().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // The requests are recorded.
    assert_eq!(server.hits(), 8);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.starts_with("GET /api/v1/query?query=up HTTP/1.1")),
        "{:?}",
        server.requests()
    );

    // A POST's form body is recorded too.
    server.set_mode(Mode::Json(vector_json(1, "1")));
    let response = client
        .post(format!("{}/api/v1/query", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=up&time=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        server
            .requests()
            .last()
            .unwrap()
            .ends_with(" query=up&time=1"),
        "{:?}",
        server.requests().last()
    );

    // Dropped (with a hanging connection open): the port no longer answers.
    server.set_mode(Mode::Hang);
    let _ = get().await;
    let port = server.port;
    let dropped = Instant::now();
    drop(server);
    assert!(dropped.elapsed() < Duration::from_secs(2));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn free_ports_are_free() {
    let port = free_port();
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
}

#[test]
fn failed_startup_reports_the_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let panic = std::panic::catch_unwind(move || {
        Prometheus::start(&data, "scrape_configs: [ {job_name: }\n");
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("did not get ready"), "{msg}");
    assert!(msg.contains("exited during startup"), "{msg}");
    assert!(msg.contains("prometheus.log"), "{msg}");
    assert!(
        msg.contains("config"),
        "the log tail names the problem: {msg}"
    );
}

#[tokio::test]
async fn backfilled_prometheus_owns_its_data_dir() {
    let end = support::backfill::now_minute();
    let mut b = Backfill::new(end - DAY, end);
    scenario::steady(&mut b, "small");
    let prometheus = Prometheus::backfilled(&b);
    let count = prometheus
        .query_scalar(
            r#"count_over_time(http_requests_total{code="200"}[1d])"#,
            end,
        )
        .await;
    assert_eq!(count, Some(b.samples_per_series() as f64));
    let data_dir = prometheus.data_dir().to_path_buf();
    assert!(data_dir.exists());
    drop(prometheus);
    assert!(
        !data_dir.exists(),
        "the temporary data dir is removed on drop"
    );
}
