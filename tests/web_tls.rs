//! The server behind a `--web.config.file`, over real TLS handshakes (certificates made in the
//! test): the right CA is served and a wrong one refused, client certificates required or
//! optional, basic auth on every endpoint, the configured headers on every answer, changes
//! picked up by new connections (users and headers by kept-alive ones too), a reload that
//! would weaken TLS or basic auth refused, and slow clients cut off during and after the
//! handshake.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sloburn::exporter::{Exporter, SnapshotCell};
use sloburn::http::{AppState, ReloadRequest, ServeConfig, WebConfigSource, serve_with};
use support::process::{ChildGuard, free_port};
use support::tls::{Ca, Pair, client, hash, write_server_files};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// An in-process server on an OS-chosen port, stopped by [`Server::stop`] (and its task
/// aborted on drop, so a failing test leaves nothing running).
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    reloader: JoinHandle<()>,
}

impl Server {
    async fn start(web: &Path, tweak: impl FnOnce(&mut ServeConfig)) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let snapshot = Arc::new(SnapshotCell::new());
        let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
        // Every reload "succeeds": these tests are about who may ask.
        let reloader = tokio::spawn(async move {
            while let Some(answer) = reload_rx.recv().await {
                let _ = answer.send(Ok(()));
            }
        });
        let state = AppState {
            exporter: Arc::new(Exporter::new(Arc::clone(&snapshot))),
            snapshot,
            ready: Arc::new(AtomicBool::new(true)),
            reload: Some(reload_tx),
            history: None,
            report: None,
        };
        let mut config = ServeConfig {
            web: Some(Arc::new(WebConfigSource::open(web).expect("web config"))),
            ..ServeConfig::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, state, config, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
            reloader,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("server stops within 5s")
            .expect("server task")
            .expect("serve");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        self.reloader.abort();
    }
}

/// A folder with a CA's files and a server pair, and `web.yml` holding `text`.
struct Setup {
    dir: tempfile::TempDir,
    ca: Ca,
    web: PathBuf,
}

impl Setup {
    fn new(text: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("sloburn test CA");
        write_server_files(dir.path(), &ca);
        let web = dir.path().join("web.yml");
        std::fs::write(&web, text).unwrap();
        Setup { dir, ca, web }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }
}

const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";

async fn status(client: &reqwest::Client, url: &str) -> Result<StatusCode, String> {
    client
        .get(url)
        .send()
        .await
        .map(|r| r.status())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn the_right_ca_is_served_a_wrong_ca_and_plain_http_are_not() {
    let setup = Setup::new(TLS);
    let server = Server::start(&setup.web, |_| {}).await;
    let right = client(&setup.ca.pem(), None);
    assert_eq!(
        status(&right, &server.url("/healthz")).await,
        Ok(StatusCode::OK)
    );
    let body = right.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    assert_eq!(body.version(), reqwest::Version::HTTP_11);

    let stranger = Ca::new("another CA");
    let wrong = client(&stranger.pem(), None);
    let refused = status(&wrong, &server.url("/healthz")).await;
    assert!(
        refused.is_err(),
        "a server cert from another CA was trusted"
    );
    assert!(
        refused.unwrap_err().contains("UnknownIssuer"),
        "the refusal is the certificate's"
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://127.0.0.1:{}/healthz", server.addr.port());
    assert!(
        !matches!(status(&plain, &url).await, Ok(StatusCode::OK)),
        "plain HTTP was served"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_required_client_certificate() {
    let setup = Setup::new(&format!(
        "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
    ));
    let server = Server::start(&setup.web, |_| {}).await;
    let ca = setup.ca.pem();
    let url = server.url("/metrics");
    assert!(
        status(&client(&ca, None), &url).await.is_err(),
        "served without a client certificate"
    );
    let foreign: Pair = Ca::new("another CA").client("mallory");
    assert!(
        status(&client(&ca, Some(&foreign)), &url).await.is_err(),
        "served a client certificate from another CA"
    );
    let alice = setup.ca.client("alice");
    assert_eq!(
        status(&client(&ca, Some(&alice)), &url).await,
        Ok(StatusCode::OK)
    );
    server.stop().await;
}

#[tokio::test]
async fn an_optional_client_certificate_is_verified_when_given() {
    let setup = Setup::new(&format!(
        "{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n"
    ));
    let server = Server::start(&setup.web, |_| {}).await;
    let ca = setup.ca.pem();
    let url = server.url("/metrics");
    assert_eq!(status(&client(&ca, None), &url).await, Ok(StatusCode::OK));
    let foreign = Ca::new("another CA").client("mallory");
    assert!(status(&client(&ca, Some(&foreign)), &url).await.is_err());
    let alice = setup.ca.client("alice");
    assert_eq!(
        status(&client(&ca, Some(&alice)), &url).await,
        Ok(StatusCode::OK)
    );
    server.stop().await;
}

/// Every endpoint is behind basic auth; a missing, wrong or unknown credential is a 401 with
/// `WWW-Authenticate: Basic`; the configured headers are on every answer, refusals included.
#[tokio::test]
async fn basic_auth_and_headers_on_every_endpoint() {
    let setup = Setup::new(&format!(
        "{TLS}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=60\nbasic_auth_users:\n  alice: {}\n  bob: {}\n",
        hash("alice's secret"),
        hash("bob's secret"),
    ));
    let server = Server::start(&setup.web, |_| {}).await;
    let https = client(&setup.ca.pem(), None);
    let endpoints = [
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/api/v1/slos"),
        ("GET", "/api/v1/gate?service=x"),
        ("GET", "/"),
        ("GET", "/slo/x/y"),
        ("POST", "/-/reload"),
    ];
    for (method, path) in endpoints {
        let send = |user: Option<(&str, &str)>| {
            let mut request = match method {
                "POST" => https.post(server.url(path)),
                _ => https.get(server.url(path)),
            };
            if let Some((user, password)) = user {
                request = request.basic_auth(user, Some(password));
            }
            request.send()
        };
        for (who, credentials) in [
            ("nobody", None),
            ("a wrong password", Some(("alice", "bob's secret"))),
            ("an unknown user", Some(("carol", "alice's secret"))),
            ("an empty password", Some(("alice", ""))),
        ] {
            let response = send(credentials).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} for {who}"
            );
            let challenge = response.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Basic "), "{challenge}");
            assert_eq!(response.headers()["x-frame-options"], "deny");
            assert_eq!(
                response.headers()["strict-transport-security"],
                "max-age=60"
            );
            assert!(!response.text().await.unwrap().contains("slo"));
        }
        for user in [("alice", "alice's secret"), ("bob", "bob's secret")] {
            let response = send(Some(user)).await.unwrap();
            assert_ne!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} for {}",
                user.0
            );
            assert!(
                response.status().is_success() || response.status() == StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                response.status()
            );
            assert_eq!(response.headers()["x-frame-options"], "deny", "{path}");
            assert_eq!(
                response.headers()["strict-transport-security"],
                "max-age=60"
            );
        }
    }
    server.stop().await;
}

/// A changed web config (users, certificate) applies to new connections; a change that does
/// not load keeps the last good config, so the server never falls back to open.
#[tokio::test]
async fn changes_apply_to_new_connections_and_a_broken_change_is_ignored() {
    let users = |name: &str, password: &str| {
        format!("{TLS}basic_auth_users:\n  {name}: {}\n", hash(password))
    };
    let setup = Setup::new(&users("alice", "one"));
    let server = Server::start(&setup.web, |_| {}).await;
    let url = server.url("/metrics");
    // A new client per step: a new connection looks at the files at once (a kept-alive one
    // sees changed users only after the next background look, up to 2 s).
    let get = |user: &'static str, password: &'static str| {
        let https = client(&setup.ca.pem(), None);
        let url = url.clone();
        async move {
            https
                .get(url)
                .basic_auth(user, Some(password))
                .send()
                .await
                .map(|r| r.status())
        }
    };
    assert_eq!(get("alice", "one").await.unwrap(), StatusCode::OK);
    std::fs::write(&setup.web, users("barbara", "two")).unwrap();
    assert_eq!(get("alice", "one").await.unwrap(), StatusCode::UNAUTHORIZED);
    assert_eq!(get("barbara", "two").await.unwrap(), StatusCode::OK);

    std::fs::write(&setup.web, "basic_auth_users: [\n").unwrap();
    assert_eq!(get("barbara", "two").await.unwrap(), StatusCode::OK);
    assert_eq!(
        get("alice", "one").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "a broken config opened the server"
    );

    // A rotated certificate from a new CA: clients of the old CA are refused from then on.
    std::fs::write(&setup.web, users("barbara", "two")).unwrap();
    let next = Ca::new("next CA");
    let pair = next.server();
    setup.write("server.pem", &pair.cert);
    setup.write("server-key.pem", &pair.key);
    let old = client(&setup.ca.pem(), None);
    assert!(old.get(&url).send().await.is_err(), "old CA still trusted");
    let new = client(&next.pem(), None);
    let response = new
        .get(&url)
        .basic_auth("barbara", Some("two"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

/// A reload that would drop TLS or basic auth (an emptied, truncated or TLS-less file) is
/// refused: new connections still get TLS and still need a password.
#[tokio::test]
async fn a_reload_never_drops_tls_or_basic_auth() {
    let full = format!("{TLS}basic_auth_users:\n  alice: {}\n", hash("one"));
    let setup = Setup::new(&full);
    let server = Server::start(&setup.web, |_| {}).await;
    let url = server.url("/metrics");
    let plain_url = format!("http://127.0.0.1:{}/metrics", server.addr.port());
    for weaker in [
        String::new(),
        "# emptied\n".to_string(),
        TLS.to_string(),
        format!("basic_auth_users:\n  alice: {}\n", hash("one")),
    ] {
        std::fs::write(&setup.web, &weaker).unwrap();
        // A new client per step, so a new connection, which looks at the files again.
        let https = client(&setup.ca.pem(), None);
        assert_eq!(
            status(&https, &url).await,
            Ok(StatusCode::UNAUTHORIZED),
            "{weaker:?} dropped basic auth"
        );
        let response = https
            .get(&url)
            .basic_auth("alice", Some("one"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{weaker:?}");
        let plain = reqwest::Client::builder().no_proxy().build().unwrap();
        assert!(
            !matches!(status(&plain, &plain_url).await, Ok(StatusCode::OK)),
            "{weaker:?} dropped TLS"
        );
    }
    server.stop().await;
}

/// One kept-alive connection: once the users change, its next requests are checked against
/// the new ones (a rotated password locks the old one out without a new connection).
#[tokio::test]
async fn a_kept_alive_connection_follows_changed_users() {
    use hyper_util::rt::TokioIo;

    let users = |name: &str, password: &str| {
        format!("{TLS}basic_auth_users:\n  {name}: {}\n", hash(password))
    };
    let setup = Setup::new(&users("alice", "one"));
    let server = Server::start(&setup.web, |c| {
        c.web_recheck = Duration::from_millis(50);
    })
    .await;
    let tls = tls_connect(&setup.ca.pem(), server.addr).await;
    let (mut send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("HTTP handshake");
    let driver = tokio::spawn(connection);
    assert_eq!(ask(&mut send, "alice", "one").await, StatusCode::OK);

    std::fs::write(&setup.web, users("alice", "two")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(&mut send, "alice", "one").await == StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the old password still works on the kept-alive connection after 10s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ask(&mut send, "alice", "one").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(ask(&mut send, "alice", "two").await, StatusCode::OK);
    assert!(!driver.is_finished(), "not the same connection");
    drop(send);
    let _ = driver.await;
    server.stop().await;
}

/// One request on an open HTTP/1.1 connection, with basic auth; the body is read so the
/// connection is ready for the next.
async fn ask(
    send: &mut hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    user: &str,
    password: &str,
) -> StatusCode {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let request = hyper::Request::get("/metrics")
        .header("host", "localhost")
        .header("authorization", format!("Basic {encoded}"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = send
        .send_request(request)
        .await
        .expect("a request on the same connection");
    let status = response.status().as_u16();
    let _ = http_body_util::BodyExt::collect(response.into_body()).await;
    StatusCode::from_u16(status).unwrap()
}

/// A TLS connection to the server that trusts `ca`, without a client certificate.
async fn tls_connect(ca: &str, addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.expect("handshake")
}

/// A client that opens a connection and says nothing is cut off after the header read timeout
/// (the TLS handshake is bounded too), and so is one that sends half a request head over TLS.
#[tokio::test]
async fn slow_clients_are_cut_off_before_and_after_the_handshake() {
    let setup = Setup::new(TLS);
    let timeout = Duration::from_millis(300);
    let server = Server::start(&setup.web, |c| c.header_read_timeout = timeout).await;

    let started = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a silent client still connected after 5s");
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));

    let mut tls = tls_connect(&setup.ca.pem(), server.addr).await;
    // Taken before sending: the server's timer starts after, so the bound below holds
    // however late this client runs.
    let started = Instant::now();
    tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: lo")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "half a request head still connected after 5s");
    assert!(started.elapsed() >= timeout - Duration::from_millis(100));
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    server.stop().await;
}

/// The real binary: `sloburn demo --web.config.file` serves /metrics over TLS behind basic
/// auth, and refuses to start on a bad file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_over_tls_behind_basic_auth() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setup = Setup::new(&format!(
        "{TLS}basic_auth_users:\n  prometheus: {}\n",
        hash("scrape me")
    ));
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args([
        "demo",
        "--history",
        "0s",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .arg("--state-dir")
    .arg(setup.dir.path().join("state"))
    .arg("--web.config.file")
    .arg(&setup.web)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut demo = ChildGuard::spawn(cmd, "sloburn demo");
    let https = client(&setup.ca.pem(), None);
    let url = format!("https://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        assert!(demo.exited().is_none(), "the demo exited");
        if let Ok(r) = https
            .get(&url)
            .basic_auth("prometheus", Some("scrape me"))
            .send()
            .await
            && r.status() == StatusCode::OK
        {
            let text = r.text().await.unwrap();
            if text.contains("slo_error_budget_remaining_ratio") {
                break text;
            }
        }
        assert!(Instant::now() < deadline, "no metrics over TLS within 60s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(text.contains("service=\"demo-shop\""));
    let refused = https.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = https
        .get(&url)
        .basic_auth("prometheus", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    demo.stop();

    std::fs::write(&setup.web, format!("{TLS}  client_auth_type: Sometimes\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(["demo", "--history", "0s", "--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(setup.dir.path().join("state"))
        .arg("--web.config.file")
        .arg(&setup.web)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("web.yml:4:21: tls_server_config.client_auth_type: unknown \"Sometimes\""),
        "{stderr}"
    );
}
