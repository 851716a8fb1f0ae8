//! Nothing is lost: `sloburn run` is killed with SIGKILL at random points (during the first
//! backfill, between and inside ticks) ten times on the same state directory; after the last
//! restart every budget equals that of an uninterrupted evaluation of the same data.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute, scenario};
use support::eval::sloburn_eval;
use support::process::{ChildGuard, free_port, wait_for_http_ok};
use support::prometheus::Prometheus;

const SPECS: &str = r#"
version: sloburn/v1
service: crash
slos:
  - name: steady
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="steady",code="500"}
        total: http_requests_total{job="steady"}
  - name: incident
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="incident",code="500"}
        total: http_requests_total{job="incident"}
  - name: routes
    objective: 90
    group_by: [route]
    sli:
      ratio:
        errors: http_requests_total{job="grouped",code="500"}
        total: http_requests_total{job="grouped"}
"#;

fn start_run(
    prometheus: &Prometheus,
    specs: &std::path::Path,
    state: &std::path::Path,
    port: u16,
) -> ChildGuard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args([
        "run",
        "--prometheus-url",
        &prometheus.url,
        "--evaluation-interval",
        "1s",
        "--query-lag",
        "0s",
    ])
    .arg("--spec")
    .arg(specs)
    .arg("--state-dir")
    .arg(state)
    .args(["--listen", &format!("127.0.0.1:{port}")])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    ChildGuard::spawn(cmd, "sloburn run")
}

async fn slos(port: u16) -> Option<Value> {
    let body = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/slos"))
        .await
        .ok()?;
    body.json().await.ok()
}

/// Waits until every SLO series is fresh; returns the API answer.
async fn wait_fresh(port: u16, deadline: Duration) -> Value {
    let started = Instant::now();
    loop {
        if let Some(v) = slos(port).await {
            let all = v["slos"]
                .as_array()
                .map(|a| a.len() >= 5 && a.iter().all(|s| s["fresh"] == true));
            if all == Some(true) {
                return v;
            }
        }
        assert!(
            started.elapsed() < deadline,
            "SLOs not fresh within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A deterministic pseudo-random number in [0, n).
fn rand(seed: &mut u64, n: u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed % n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_ten_times_loses_nothing() {
    // Data up to the current minute: the engine's windows end at real time.
    let end = now_minute() + MINUTE;
    let mut b = Backfill::thirty_days(end);
    scenario::steady(&mut b, "steady");
    let incident = b.end() - 2 * DAY - 3 * HOUR;
    scenario::incident(&mut b, "incident", incident, 30 * MINUTE);
    scenario::grouped(&mut b, "grouped");
    let prometheus = Prometheus::backfilled(&b);

    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let state = dir.path().join("state");

    let mut seed: u64 = 0x5EED_1234_ABCD_0001;
    let mut kills = Vec::new();
    for round in 0..10 {
        let port = free_port();
        let mut run = start_run(&prometheus, &specs, &state, port);
        // Random instants: from right after start (mid-backfill) to a few ticks in.
        let wait = Duration::from_millis(50 + rand(&mut seed, 2500));
        tokio::time::sleep(wait).await;
        run.stop(); // SIGKILL, then reap
        kills.push(wait);
        eprintln!("round {round}: killed after {wait:?}");
    }

    let port = free_port();
    let _run = start_run(&prometheus, &specs, &state, port);
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();
    let after = wait_fresh(port, Duration::from_secs(60)).await;
    let evaluated_at = after["evaluated_at"].as_f64().unwrap();

    // The uninterrupted evaluation of the same data at the same minute.
    let clean = sloburn_eval(&prometheus.url, evaluated_at, &specs).ok();

    // The API writes groups as an object, the snapshot (eval's JSON) as pairs: compare values.
    let key = |s: &Value| {
        let values: Vec<String> = match &s["group"] {
            Value::Object(m) => m.values().map(|v| v.to_string()).collect(),
            Value::Array(pairs) => pairs.iter().map(|p| p[1].to_string()).collect(),
            _ => Vec::new(),
        };
        format!("{}{}", s["slo"], values.join(","))
    };
    for s in after["slos"].as_array().unwrap() {
        let twin = clean["slos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| key(c) == key(s))
            .unwrap_or_else(|| panic!("{} missing from the clean evaluation", key(s)));
        let (got, want) = (
            s["error_budget_remaining"].as_f64().unwrap(),
            twin["error_budget_remaining"].as_f64().unwrap(),
        );
        assert!(
            (got - want).abs() <= 0.005,
            "{}: after 10 kills {got}, uninterrupted {want}",
            key(s)
        );
        for (w, cw) in s["windows"]
            .as_array()
            .unwrap()
            .iter()
            .zip(twin["windows"].as_array().unwrap())
        {
            let (got, want) = (
                w["burn_rate"].as_f64().unwrap(),
                cw["burn_rate"].as_f64().unwrap(),
            );
            assert!(
                (got - want).abs() <= 0.02 * want.max(0.05),
                "{} burn({}): after kills {got}, uninterrupted {want}",
                key(s),
                w["window"]
            );
        }
    }
    // And against the truth for the ungrouped SLOs (period ending at the engine's minute).
    let target = (evaluated_at as i64 / MINUTE) * MINUTE;
    for (slo, job, objective) in [("steady", "steady", 0.995), ("incident", "incident", 0.999)] {
        let bad = b.events(
            "http_requests_total",
            &[("job", job), ("code", "500")],
            target - 30 * DAY,
            target,
        );
        let total = b.events(
            "http_requests_total",
            &[("job", job)],
            target - 30 * DAY,
            target,
        );
        let want = 1.0 - bad / total / (1.0 - objective);
        let got = after["slos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slo"] == slo)
            .unwrap()["error_budget_remaining"]
            .as_f64()
            .unwrap();
        assert!((got - want).abs() <= 0.005, "{slo}: {got} vs truth {want}");
    }
    assert!(state.join("sloburn.redb").exists());
    eprintln!("kill points: {kills:?}");

    // The history itself is durable: kill once more, then start with the source unreachable.
    // The budgets come back from the state directory alone (stale, but not reset to full).
    drop(_run);
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args([
        "run",
        "--prometheus-url",
        &format!("http://127.0.0.1:{}", free_port()),
        "--evaluation-interval",
        "1s",
    ])
    .arg("--spec")
    .arg(&specs)
    .arg("--state-dir")
    .arg(&state)
    .args(["--listen", &format!("127.0.0.1:{port}")])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let _offline = ChildGuard::spawn(cmd, "sloburn run (source down)");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(30),
    )
    .unwrap();
    let offline = slos(port).await.unwrap();
    for s in after["slos"].as_array().unwrap() {
        let twin = offline["slos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| key(o) == key(s))
            .unwrap();
        assert_eq!(twin["fresh"], false);
        let (got, want) = (
            twin["error_budget_remaining"].as_f64().unwrap(),
            s["error_budget_remaining"].as_f64().unwrap(),
        );
        // Windows slide a little between the two runs; the period budget barely moves.
        assert!(
            (got - want).abs() <= 0.005,
            "{}: from the store {got}, before {want}",
            key(s)
        );
        assert!(
            twin["period_total_events"].as_f64().unwrap() > 0.0,
            "{}",
            key(s)
        );
    }
}
