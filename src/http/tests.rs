use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::*;
use crate::engine::snapshot::{
    FreezeReason, ServiceSnapshot, SloSnapshot, Snapshot, WindowSnapshot,
};

/// A server on an OS-chosen port; every test stops the servers it starts.
struct TestServer {
    base: String,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    async fn start(state: AppState, config: ServeConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, state, config, async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            addr,
            stop,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("server stops within 5s")
            .expect("server task did not panic");
        result.expect("serve returned an error");
    }
}

fn slo(service: &str, name: &str, group: Option<&str>, remaining: f64) -> SloSnapshot {
    SloSnapshot {
        service: service.into(),
        slo: name.into(),
        labels: vec![("team".into(), "core".into())].into(),
        group: group
            .map(|g| vec![("route".into(), g.into())])
            .unwrap_or_default()
            .into(),
        sli_kind: "ratio",
        period: "30d".into(),
        objective: 0.999,
        period_seconds: 2_592_000.0,
        data_present: true,
        error_budget_remaining: Some(remaining),
        fresh: true,
        ..SloSnapshot::default()
    }
}

/// A series whose selectors match nothing (its window had numbers before).
fn without_data(mut s: SloSnapshot) -> SloSnapshot {
    s.windows = vec![WindowSnapshot {
        window: "5m".into(),
        seconds: 300.0,
        error_ratio: Some(0.1),
        burn_rate: Some(100.0),
        bad: 1.0,
        total: 10.0,
    }];
    s.without_data(NO_SERIES)
}

const NO_SERIES: &str = "no series matches payments_total{job=\"pay\"}";

/// A series with one recurring correction in effect.
fn with_correction(mut s: SloSnapshot) -> SloSnapshot {
    s.period_excluded_total = 600.0;
    s.period_excluded_bad = 40.0;
    s.correction_active = true;
    s.corrections = vec![crate::engine::snapshot::CorrectionSnapshot {
        name: Some("backups".into()),
        reason: "nightly backup window".into(),
        kind: "recurring",
        when: "daily 02:00-03:00 UTC".into(),
        intervals: vec![(1_699_927_200, 1_699_930_800)],
        next: Some((1_700_013_600, 1_700_017_200)),
        active: true,
        alerts: "silence",
        excluded_total: 600.0,
        excluded_bad: 40.0,
        resolution_seconds: 60,
        origin: "specs/a.yaml:9:9".into(),
    }];
    s
}

/// A series with an exhaustion alert (spent, so not active).
fn with_exhaustion_alert(mut s: SloSnapshot) -> SloSnapshot {
    s.exhaustion_alert = Some(crate::engine::snapshot::ExhaustionAlertSnapshot {
        severity: "ticket",
        within: "2h".into(),
        within_seconds: 7200.0,
        active: false,
        disabled: false,
        held_by_correction: false,
    });
    s
}

fn fixture() -> Snapshot {
    Snapshot {
        evaluated_at: Some(1_700_000_000.0),
        slos: vec![
            slo("checkout", "availability", Some("/pay"), 0.8),
            slo("checkout", "availability", Some("/cart"), 0.9),
            with_exhaustion_alert(with_correction(slo("my service", "a/b", None, -0.5))),
            without_data(slo("payments", "charge", Some("/eu"), 1.0)),
        ],
        services: vec![
            ServiceSnapshot {
                service: "checkout".into(),
                frozen: false,
                reasons: vec![],
                fresh: true,
                no_data: vec![],
            },
            ServiceSnapshot {
                service: "my service".into(),
                frozen: true,
                reasons: vec![FreezeReason {
                    slo: "a/b".into(),
                    remaining: -0.5,
                    freeze_below: 0.0,
                }],
                fresh: true,
                no_data: vec![],
            },
            ServiceSnapshot::with_no_data("payments", "charge{route=/eu}", NO_SERIES),
        ],
        ..Snapshot::default()
    }
}

fn state(reload: Option<mpsc::Sender<ReloadRequest>>) -> AppState {
    let snapshot = Arc::new(SnapshotCell::new());
    snapshot.publish(fixture());
    AppState {
        exporter: Arc::new(Exporter::new(Arc::clone(&snapshot))),
        snapshot,
        ready: Arc::new(AtomicBool::new(false)),
        reload,
        history: None,
        report: None,
    }
}

fn client() -> reqwest::Client {
    // reqwest builds its TLS config even for plain http:// and panics without a provider;
    // `Err` only means another test installed it first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn get(url: &str) -> (StatusCode, String, String) {
    let response = client().get(url).send().await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

fn parse(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("JSON body")
}

#[tokio::test]
async fn metrics_health_and_readiness() {
    let state = state(None);
    let ready = Arc::clone(&state.ready);
    let server = TestServer::start(state, ServeConfig::default()).await;

    let (status, content_type, body) = get(&server.url("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(body.contains("slo_objective_ratio{"), "{body}");
    assert!(!body.contains("# EOF"));

    let response = client()
        .get(server.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(response.text().await.expect("body").ends_with("# EOF\n"));

    assert_eq!(get(&server.url("/healthz")).await.2, "ok\n");
    let (status, _, body) = get(&server.url("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.starts_with("not ready"));
    ready.store(true, Ordering::Release);
    assert_eq!(get(&server.url("/readyz")).await.0, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn slo_api() {
    let server = TestServer::start(state(None), ServeConfig::default()).await;

    let (status, content_type, body) = get(&server.url("/api/v1/slos")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/json")
    );
    let list = parse(&body);
    assert_eq!(list["evaluated_at"], 1_700_000_000.0);
    assert_eq!(list["slos"].as_array().map(Vec::len), Some(4));
    assert_eq!(list["slos"][0]["group"]["route"], "/pay");
    assert_eq!(list["slos"][0]["labels"]["team"], "core");
    assert_eq!(list["slos"][0]["objective"], 0.999);
    assert_eq!(list["slos"][0]["data_present"], true);
    assert!(list["slos"][0]["no_data_reason"].is_null());
    assert_eq!(list["slos"][0]["error_budget_remaining"], 0.8);

    let (status, _, body) = get(&server.url("/api/v1/slos/checkout/availability")).await;
    assert_eq!(status, StatusCode::OK);
    let detail = parse(&body);
    assert_eq!(detail["series"].as_array().map(Vec::len), Some(2));

    // Path segments are percent-decoded after splitting, so `%2F` stays inside the name.
    let (status, _, body) = get(&server.url("/api/v1/slos/my%20service/a%2Fb")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let series = &parse(&body)["series"][0];
    assert_eq!(series["error_budget_remaining"], -0.5);
    // Its correction, as the snapshot has it.
    assert_eq!(series["period_excluded_events"], 600.0);
    assert_eq!(series["period_excluded_bad_events"], 40.0);
    assert_eq!(series["correction_active"], true);
    let c = &series["corrections"][0];
    assert_eq!(c["reason"], "nightly backup window");
    assert_eq!(
        (c["kind"].as_str(), c["alerts"].as_str()),
        (Some("recurring"), Some("silence"))
    );
    assert_eq!(c["intervals"][0]["from"], 1_699_927_200);
    assert_eq!(c["next"]["to"], 1_700_017_200);
    assert_eq!(
        (
            c["excluded_total"].as_f64(),
            c["resolution_seconds"].as_i64()
        ),
        (Some(600.0), Some(60))
    );
    // Its exhaustion alert (docs/spec.md, "Exhaustion alert"); `null` on series without one.
    let e = &series["exhaustion_alert"];
    assert_eq!(
        (e["severity"].as_str(), e["within"].as_str()),
        (Some("ticket"), Some("2h")),
        "{series}"
    );
    assert_eq!(e["within_seconds"], 7200.0);
    assert_eq!(
        (e["active"].as_bool(), e["disabled"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        list["slos"][0]
            .as_object()
            .is_some_and(|o| o.get("exhaustion_alert") == Some(&serde_json::Value::Null)),
        "{}",
        list["slos"][0]
    );
    // Without corrections: an empty list.
    assert_eq!(list["slos"][0]["corrections"], serde_json::json!([]));

    // Without data: said so, and every judging number is null, never a healthy-looking 1 or 0.
    let (status, _, body) = get(&server.url("/api/v1/slos/payments/charge")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let series = &parse(&body)["series"][0];
    assert_eq!(series["data_present"], false);
    assert_eq!(series["no_data_reason"], NO_SERIES);
    for field in [
        "error_budget_remaining",
        "period_error_ratio",
        "exhaustion_seconds",
    ] {
        assert!(series[field].is_null(), "{field}: {series}");
    }
    assert!(series["windows"][0]["burn_rate"].is_null(), "{series}");
    assert!(series["windows"][0]["error_ratio"].is_null(), "{series}");
    // Counts stay counts.
    assert_eq!(series["windows"][0]["total"], 0.0);
    assert_eq!(series["period_total_events"], 0.0);

    let (status, content_type, body) = get(&server.url("/api/v1/slos/checkout/nope")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert_eq!(parse(&body)["error"], "unknown SLO checkout/nope");
    assert_eq!(
        get(&server.url("/api/v1/slos/checkout")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&server.url("/api/v1/slos/a/%zz")).await.0,
        StatusCode::BAD_REQUEST
    );
    server.stop().await;
}

#[tokio::test]
async fn gate() {
    let server = TestServer::start(state(None), ServeConfig::default()).await;

    let (status, _, body) = get(&server.url("/api/v1/gate?service=my+service")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gate = parse(&body);
    assert_eq!(gate["service"], "my service");
    assert_eq!(gate["frozen"], true);
    assert_eq!(gate["fresh"], true);
    assert_eq!(gate["evaluated_at"], 1_700_000_000.0);
    assert_eq!(gate["reasons"][0]["slo"], "a/b");
    assert_eq!(gate["reasons"][0]["remaining"], -0.5);
    assert_eq!(gate["reasons"][0]["freeze_below"], 0.0);

    assert_eq!(gate["no_data"], serde_json::json!([]));

    let (status, _, body) = get(&server.url("/api/v1/gate?service=checkout")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse(&body)["frozen"], false);

    // Not frozen, but not fine either: the series without data is named, with why.
    let (status, _, body) = get(&server.url("/api/v1/gate?service=payments")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gate = parse(&body);
    assert_eq!(gate["frozen"], false);
    assert_eq!(
        gate["no_data"],
        serde_json::json!([{"slo": "charge{route=/eu}", "reason": NO_SERIES}])
    );

    let (status, _, body) = get(&server.url("/api/v1/gate?service=unknown")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(parse(&body)["error"], "unknown service unknown");
    assert_eq!(
        get(&server.url("/api/v1/gate")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&server.url("/api/v1/gate?other=1")).await.0,
        StatusCode::BAD_REQUEST
    );
    server.stop().await;
}

#[tokio::test]
async fn status_page_unknown_paths_and_methods() {
    let server = TestServer::start(state(None), ServeConfig::default()).await;

    let (status, content_type, body) = get(&server.url("/")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    assert!(body.contains(">availability</a>"), "{body}");
    assert!(body.contains("-50.0%"), "{body}");

    assert_eq!(get(&server.url("/nope")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&server.url("/api/v2/x")).await.0, StatusCode::NOT_FOUND);
    let response = client()
        .post(server.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let response = client()
        .delete(server.url("/api/v1/slos/checkout/availability"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[tokio::test]
async fn reload_disabled() {
    let server = TestServer::start(state(None), ServeConfig::default()).await;
    let response = client()
        .post(server.url("/-/reload"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("--enable-reload")
    );
    server.stop().await;
}

/// Answers reload requests with `answers` in turn, then stops.
fn reloader(answers: Vec<Result<(), String>>) -> (mpsc::Sender<ReloadRequest>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<ReloadRequest>(1);
    let task = tokio::spawn(async move {
        for answer in answers {
            let Some(reply) = rx.recv().await else { return };
            let _ = reply.send(answer);
        }
    });
    (tx, task)
}

#[tokio::test]
async fn reload_enabled() {
    let (tx, task) = reloader(vec![Ok(()), Err("bad spec at a.yaml:3:1".into())]);
    let server = TestServer::start(state(Some(tx)), ServeConfig::default()).await;

    let response = client()
        .post(server.url("/-/reload"))
        .body("ignored")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let response = client()
        .post(server.url("/-/reload"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("bad spec at a.yaml:3:1")
    );
    assert_eq!(
        get(&server.url("/-/reload")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );

    let response = client()
        .post(server.url("/-/reload"))
        .body(vec![b'x'; 64 * 1024 + 1])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
    task.await.expect("reloader");
}

#[tokio::test]
async fn slow_header_is_disconnected() {
    let config = ServeConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServeConfig::default()
    };
    let server = TestServer::start(state(None), config).await;
    // Taken before connecting: the server's timer starts after, so the bound below holds
    // however late this client runs.
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: lo")
        .await
        .expect("write half a header");
    let mut rest = Vec::new();
    // The server closes the connection (maybe after a 408); reading to the end proves it.
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "still connected after 5s");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_requests_in_flight() {
    let (tx, mut rx) = mpsc::channel::<ReloadRequest>(1);
    let server = TestServer::start(state(Some(tx)), ServeConfig::default()).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(client().post(server.url("/-/reload")).send());
    // The reload request is now waiting for its answer: shut down underneath it.
    let reply = rx.recv().await.expect("reload request");
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = reply.send(Ok(()));
    let response = in_flight.await.expect("task").expect("in-flight request");
    assert_eq!(response.status(), StatusCode::OK);
    stopping.await.expect("server stopped");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[test]
fn percent_decoding() {
    use super::decode::{percent_decode, query_param};
    assert_eq!(percent_decode("a%2Fb+c", false).as_deref(), Some("a/b+c"));
    assert_eq!(percent_decode("a%2Fb+c", true).as_deref(), Some("a/b c"));
    assert_eq!(percent_decode("%C3%A9", false).as_deref(), Some("é"));
    assert_eq!(percent_decode("%+1", false), None);
    assert_eq!(percent_decode("%4", false), None);
    assert_eq!(percent_decode("%FF", false), None);
    assert_eq!(
        query_param(Some("x=1&service=a%26b&service=c"), "service"),
        Ok(Some("a&b".into()))
    );
    assert_eq!(query_param(None, "service"), Ok(None));
    assert_eq!(query_param(Some("service=%zz"), "service"), Err(()));
}

/// With every connection slot taken, a new client waits (in the accept queue) and is served
/// once a slot frees. (The holder connects first, so it is the one accepted.)
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let config = ServeConfig {
        max_connections: 1,
        ..ServeConfig::default()
    };
    let server = TestServer::start(state(None), config).await;
    // A connection holds the only slot (well within the header timeout).
    let mut holder = TcpStream::connect(server.addr).await.expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nHost: lo\r\n\r\n";
    let mut waiting = TcpStream::connect(server.addr).await.expect("connect");
    waiting.write_all(request).await.expect("write a request");
    // The holder is served (a full round trip after the waiting request was sent) while the
    // waiting client has no answer: checked without sleeping, by order of events.
    holder.write_all(request).await.expect("write a request");
    let mut answer = vec![0u8; 4096];
    let n = holder.read(&mut answer).await.expect("read the answer");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        matches!(waiting.try_read(&mut answer), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "served past the connection cap"
    );
    drop(holder);
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut answer))
        .await
        .expect("served once the slot freed")
        .expect("read the answer");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    server.stop().await;
}

/// A request head larger than the limit is refused (431) and not served.
#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let config = ServeConfig {
        max_header_bytes: 16 * 1024,
        ..ServeConfig::default()
    };
    let server = TestServer::start(state(None), config).await;
    let ok = client()
        .get(server.url("/healthz"))
        .header("x-filler", "a".repeat(8 * 1024))
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: lo\r\nx-filler: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    // The server may close before reading it all; a failed write is a refusal too.
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    // Closed within 5 s, by an orderly close or a reset (the server may close with the rest
    // of the head unread); either way the read ends.
    let closed =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the connection was not closed within 5s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    server.stop().await;
}

/// A kept-alive connection that goes quiet after a request is closed after the header read
/// timeout too, so idle clients cannot hold every connection slot.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let timeout = Duration::from_millis(300);
    let config = ServeConfig {
        header_read_timeout: timeout,
        ..ServeConfig::default()
    };
    let server = TestServer::start(state(None), config).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // Taken before sending: the server's idle timer starts after its answer, so the bound
    // below holds however late this client runs.
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: lo\r\n\r\n")
        .await
        .expect("write a request");
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.expect("read the answer");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "an idle kept-alive connection still open after 5s"
    );
    assert!(started.elapsed() >= timeout - Duration::from_millis(100));
    server.stop().await;
}

/// `/api/v1/report`: the engine's rows for the range asked, in the format asked, with its
/// content type; bad parameters are 400 with the CLI's words; no engine is 503.
#[tokio::test]
async fn report_parameters_formats_and_errors() {
    use crate::report::{GroupOf, Range, Row};
    let mut s = state(None);
    // The engine: one row over whatever range is asked, 100 events of which 3 bad, named with
    // characters that must be escaped.
    struct OneRow;
    impl crate::http::Reports for OneRow {
        fn rows(&self, range: Range, _: &AtomicBool) -> Result<Vec<Row>, ReportError> {
            Ok(vec![Row {
                service: "a&b".into(),
                slo: "<script>".into(),
                group: GroupOf::Ungrouped,
                counts: crate::core::Counts {
                    bad: 3.0,
                    total: 100.0,
                },
                objective: crate::core::Objective::from_ratio(0.99),
                worst_day: None,
                days: Vec::new(),
                alerts: Default::default(),
                no_data_secs: 0,
                not_held_secs: 0,
                covered: Some((range.from, range.to)),
                coarse_res: Some(3600),
                minutes_from: None,
                corrections: Vec::new(),
                excluded: Default::default(),
            }])
        }
    }
    s.report = Some(crate::http::ReportService::new(Arc::new(OneRow), 1));
    let server = TestServer::start(s, ServeConfig::default()).await;
    let (status, kind, body) = get(&server.url("/api/v1/report?month=2026-11")).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/json")
    );
    let v = parse(&body);
    assert_eq!(v["from"], "2026-11-01T00:00:00+00:00");
    assert_eq!(v["to"], "2026-12-01T00:00:00+00:00");
    assert_eq!(v["slos"][0]["bad"], 3.0);
    let consumed = v["slos"][0]["budget_consumed_percent"].as_f64().unwrap();
    assert!((consumed - 300.0).abs() < 1e-9, "{consumed}");
    for (format, want) in [
        ("markdown", "text/markdown; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
    ] {
        let url = format!(
            "/api/v1/report?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&format={format}"
        );
        let (status, kind, body) = get(&server.url(&url)).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, want), "{body}");
        // Raw in CSV (a spreadsheet runs nothing); escaped where a viewer renders HTML.
        assert_eq!(
            body.contains("<script>"),
            format == "csv",
            "{format}: {body}"
        );
    }
    for (query, says) in [
        ("", "give --month YYYY-MM, or --from and --to"),
        ("month=2026-13", "--month \"2026-13\" is no month"),
        ("from=2026-11-01T00:00:00Z", "give --month"),
        ("month=2026-11&from=2026-11-01T00:00:00Z", "give --month"),
        (
            "from=yesterday&to=2026-11-02T00:00:00Z",
            "--from \"yesterday\" is no time",
        ),
        (
            "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            "the range is empty",
        ),
        ("month=2026-11&format=pdf", "--format \"pdf\" is unknown"),
        ("month=%zz", "malformed query string"),
    ] {
        let (status, _, body) = get(&server.url(&format!("/api/v1/report?{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let error = parse(&body)["error"].as_str().unwrap().to_string();
        assert!(error.contains(says), "{query}: {error}");
    }
    server.stop().await;
    let server = TestServer::start(state(None), ServeConfig::default()).await;
    let (status, _, _) = get(&server.url("/api/v1/report?month=2026-11")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    server.stop().await;
}

/// `/api/v1/report` while as many reports as allowed are being computed: 503 at once, not a
/// request waiting; the held one still answers once it finishes, and its place is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_answers_busy_when_two_reports_are_running() {
    use std::sync::Mutex;
    use std::sync::mpsc as std_mpsc;
    /// Holds each report until released (or the test ends: its sender dropped).
    struct Held(Mutex<std_mpsc::Receiver<()>>, Mutex<std_mpsc::Sender<()>>);
    impl crate::http::Reports for Held {
        fn rows(
            &self,
            _: crate::report::Range,
            _: &AtomicBool,
        ) -> Result<Vec<crate::report::Row>, ReportError> {
            let _ = self.1.lock().unwrap().send(());
            let _ = self.0.lock().unwrap().recv();
            Ok(Vec::new())
        }
    }
    let (release, held) = std_mpsc::channel();
    let (entered_tx, entered) = std_mpsc::channel();
    let mut s = state(None);
    s.report = Some(crate::http::ReportService::new(
        Arc::new(Held(Mutex::new(held), Mutex::new(entered_tx))),
        2,
    ));
    let server = TestServer::start(s, ServeConfig::default()).await;
    let running: Vec<_> = (0..2)
        .map(|_| {
            let url = server.url("/api/v1/report?month=2026-11");
            tokio::spawn(async move { get(&url).await })
        })
        .collect();
    let began = tokio::task::spawn_blocking(move || {
        let began = (0..2)
            .map(|_| entered.recv_timeout(Duration::from_secs(10)))
            .collect::<Result<Vec<_>, _>>();
        (began, entered)
    })
    .await
    .unwrap();
    assert!(began.0.is_ok(), "the two reports never both began");
    let asked = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        get(&server.url("/api/v1/report?month=2026-11")),
    )
    .await;
    let (status, _, body) = asked.expect("answered at once");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = parse(&body)["error"].as_str().unwrap().to_string();
    assert!(error.contains("busy"), "{error}");
    // Either held one takes either release: both first, then both answers.
    release.send(()).unwrap();
    release.send(()).unwrap();
    for report in running {
        let (status, _, body) = report.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Its place is free again.
    release.send(()).unwrap();
    let (status, _, body) = get(&server.url("/api/v1/report?month=2026-11")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

/// Before the engine has saved its first evaluation there is no roster: a report then is 503
/// "try again", never 200 with no SLOs (no data must not read as healthy).
#[tokio::test]
async fn a_report_before_the_first_saved_evaluation_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    // As `sloburn run` starts it: nothing sent yet.
    let (_roster_tx, roster_rx) = tokio::sync::watch::channel(None);
    let mut s = state(None);
    s.report = Some(ReportService::new(
        Arc::new(crate::report::live::LiveReports::new(store, roster_rx)),
        1,
    ));
    let server = TestServer::start(s, ServeConfig::default()).await;
    let (status, _, body) = get(&server.url("/api/v1/report?month=2026-11")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = parse(&body)["error"].as_str().unwrap().to_string();
    assert_eq!(error, "no evaluation saved yet, try again");
    server.stop().await;
}

/// A history that cannot be read is a server fault (500, logged), not "busy": only busy and
/// not evaluated yet are 503.
#[tokio::test]
async fn a_report_whose_history_cannot_be_read_is_500() {
    struct Broken;
    impl Reports for Broken {
        fn rows(
            &self,
            _: crate::report::Range,
            _: &AtomicBool,
        ) -> Result<Vec<crate::report::Row>, ReportError> {
            Err(ReportError::History("disk on fire".into()))
        }
    }
    let mut s = state(None);
    s.report = Some(ReportService::new(Arc::new(Broken), 1));
    let server = TestServer::start(s, ServeConfig::default()).await;
    let (status, _, body) = get(&server.url("/api/v1/report?month=2026-11")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let error = parse(&body)["error"].as_str().unwrap().to_string();
    assert_eq!(
        error,
        "cannot read the history for the report: disk on fire"
    );
    server.stop().await;
}
