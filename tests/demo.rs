//! `sloburn demo` end to end: it serves `slo_` series at once, a page alert goes active during
//! the scripted incident, Ctrl-C stops it cleanly, and a second run on the same state directory
//! finds the history kept.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::process::{ChildGuard, free_port, wait_for_http_ok};

fn start(port: u16, state: &std::path::Path, history: &str) -> ChildGuard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args([
        "demo",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--history",
        history,
    ])
    .arg("--state-dir")
    .arg(state)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    ChildGuard::spawn(cmd, "sloburn demo")
}

async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

const PAGE: &str = r#"slo_burn_alert_active{service="demo-shop",slo="route-availability",team="shop",route="/checkout",severity="page",long_window="1h",short_window="5m"}"#;
const TOTAL: &str =
    r#"slo_period_total_events{service="demo-shop",slo="availability",team="shop"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pages_during_the_incident_and_keeps_its_history() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let port = free_port();
    let mut demo = start(port, &state, "30d");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();

    let started = Instant::now();
    let mut paged = None;
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(90) {
        text = metrics(port).await;
        if value(&text, PAGE) == Some(1.0) {
            paged = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let paged = paged.unwrap_or_else(|| panic!("no page alert within 90s:\n{text}"));
    eprintln!("page alert active {paged:?} after ready");
    for name in [
        "slo_error_budget_remaining_ratio",
        "slo_burn_rate",
        "slo_data_fresh",
        "slo_data_present",
        "slo_feature_freeze",
        "sloburn_scrape_target_up",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    // The shop serves every metric the demo's SLOs read: each series has data.
    let present: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("slo_data_present{"))
        .collect();
    assert!(!present.is_empty());
    for line in present {
        assert!(line.ends_with(" 1") || line.ends_with(" 1.0"), "{line}");
    }
    let before = value(&text, TOTAL).expect("period total events");
    assert!(
        before > 1e6,
        "30 days of made-up history should be there: {before}"
    );

    // Ctrl-C stops it cleanly.
    let pid = demo.id().unwrap();
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = demo.exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "the demo did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");

    // Again on the same state, with no made-up history: the kept history carries the budget.
    let port = free_port();
    let _again = start(port, &state, "0s");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();
    let text = metrics(port).await;
    let after = value(&text, TOTAL).expect("period total events after restart");
    assert!(
        after >= before * 0.99,
        "history lost across a restart: {after} < {before}"
    );
}
