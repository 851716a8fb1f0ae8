use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use super::*;

const SPEC: &str = r#"
version: sloburn/v1
service: shop
slos:
  - name: avail
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{code="500"}
        total: http_requests_total
"#;

/// Aborts the running engine when the test ends, also on panic.
struct Abort(tokio::task::JoinHandle<anyhow::Result<ExitCode>>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every request has a timeout: a test that fails must not hang.
fn client() -> reqwest::Client {
    client_with(Duration::from_secs(5))
}

/// [`client`] with a timeout of its own (longer than the test's limit for a held request).
fn client_with(timeout: Duration) -> reqwest::Client {
    // reqwest builds its TLS config even for plain http:// and panics without a provider;
    // `Err` only means another test installed it first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("client")
}

async fn evaluated_at(base: &str) -> Option<f64> {
    let body: serde_json::Value = client()
        .get(format!("{base}/api/v1/slos"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["evaluated_at"].as_f64()
}

/// Waits (polling) until the engine has published an evaluation newer than `after`; fails
/// (never hangs) when none comes within `limit`, which is a bound on a hang, not a timing
/// under test: a tick comes every second.
async fn next_evaluation(base: &str, after: Option<f64>, limit: Duration, what: &str) -> f64 {
    let started = Instant::now();
    loop {
        if let Some(t) = evaluated_at(base).await
            && after.is_none_or(|a| t > a)
        {
            return t;
        }
        assert!(started.elapsed() < limit, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A report held mid-computation (by a hook it blocks in, released only once the test has seen
/// a tick) must not stop the evaluation ticks: the engine loop neither computes it nor waits
/// for it. The source is an address nothing listens on; the ticks run (and publish) anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_being_computed_does_not_hold_up_the_evaluation_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPEC).unwrap();
    let mut cfg = Config {
        specs: vec![specs],
        state_dir: dir.path().join("state"),
        listen: "127.0.0.1:0".into(),
        evaluation_interval: Duration::from_secs(1),
        ..Config::default()
    };
    cfg.source.prometheus = Some(
        serde_json::from_value(serde_json::json!({
            "url": "http://127.0.0.1:1",
            "query_lag": "0s",
        }))
        .unwrap(),
    );

    let (entered_tx, entered_rx) = std_mpsc::channel::<()>();
    let (release_tx, release_rx) = std_mpsc::channel::<()>();
    let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    let (address_tx, address_rx) = tokio::sync::oneshot::channel();
    let hooks = Hooks {
        on_listening: Some(Box::new(move |address, _| {
            let _ = address_tx.send(address);
        })),
        // Blocks until released, or until the test ends (its sender dropped, also on panic).
        report_started: Some(Arc::new(move || {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        })),
        ..Hooks::default()
    };
    let _engine = Abort(tokio::spawn(serve_engine(cfg, hooks)));
    let limit = Duration::from_secs(30);
    let address = tokio::time::timeout(limit, address_rx)
        .await
        .expect("the engine listens within the limit")
        .expect("the engine listens");
    let base = format!("http://{address}");
    next_evaluation(&base, None, limit, "no first evaluation").await;

    let asked = tokio::spawn({
        let url = format!("{base}/api/v1/report?month=2026-11");
        async move {
            // Held for up to a tick's wait: its timeout outlasts the test's limit.
            let r = client_with(limit * 3).get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let entered = tokio::task::spawn_blocking(move || entered_rx.recv_timeout(limit))
        .await
        .unwrap();
    assert!(entered.is_ok(), "the report never began");
    let held_at = evaluated_at(&base)
        .await
        .expect("the evaluation seen while the report is held");
    next_evaluation(
        &base,
        Some(held_at),
        limit,
        "no evaluation tick completed while a report was being computed",
    )
    .await;
    release_tx.send(()).unwrap();
    let (status, body) = asked.await.unwrap();
    assert_eq!(status, 200, "{body}");
    // The SLO run, of its service, is in it (not only an empty list).
    let report: serde_json::Value = serde_json::from_str(&body).expect("a JSON report");
    let slos = report["slos"].as_array().expect("a list of SLOs");
    assert!(
        slos.iter()
            .any(|s| s["service"] == "shop" && s["slo"] == "avail"),
        "{body}"
    );
}
