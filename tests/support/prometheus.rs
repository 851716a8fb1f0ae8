//! A real Prometheus for tests.
//!
//! Process control ([`Prometheus::start`], [`Prometheus::stop`], [`Prometheus::restart`]) is
//! blocking and uses std only, so it works from plain `#[test]`s and from `#[tokio::test]`s
//! alike (it blocks the calling thread for the second or so Prometheus needs to get ready).
//! Queries are async (reqwest), meant for the engine's tokio tests. They panic with the
//! expression and the error on failure; [`Prometheus::try_query`] returns the error instead.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::backfill::Backfill;
use super::process::{ChildGuard, free_port, require_binary, tail};

/// How long Prometheus may take to answer 200 on `/-/ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A config with no scrape jobs: the TSDB holds only what the test backfilled.
pub const EMPTY_CONFIG: &str = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n";

/// One series of a matrix answer: its labels (with `__name__`) and `(timestamp in ms, value)`
/// samples.
pub type RawSeries = (BTreeMap<String, String>, Vec<(i64, f64)>);

/// A running Prometheus on `127.0.0.1:<port>`, storing in `data_dir`; killed on drop.
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    pub port: u16,
    data_dir: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    child: Option<ChildGuard>,
    api: QueryApi,
    /// Set by [`Prometheus::backfilled`]: removed after the process is stopped.
    owned_dir: Option<tempfile::TempDir>,
}

/// A reqwest client for plain-HTTP tests. reqwest is built with `rustls-no-provider`, and
/// building any client needs a rustls crypto provider, so this installs ring's (once).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        // Each #[tokio::test] has its own runtime: never reuse a pooled connection across them.
        .pool_max_idle_per_host(0)
        .build()
        .expect("build reqwest client")
}

impl Prometheus {
    /// Writes `config_yaml` to `<data_dir>/prometheus.yml` and starts Prometheus on that data dir
    /// (which may already hold backfilled blocks) with 60 days of retention, on a free port.
    /// Its output goes to `<data_dir>/prometheus.log`. Returns once `/-/ready` answers 200;
    /// panics with the log tail when it does not within [`READY_TIMEOUT`], and with "run
    /// scripts/test, which installs it" when Prometheus is not installed.
    pub fn start(data_dir: &Path, config_yaml: &str) -> Prometheus {
        std::fs::create_dir_all(data_dir)
            .unwrap_or_else(|e| panic!("create {}: {e}", data_dir.display()));
        let config_path = data_dir.join("prometheus.yml");
        std::fs::write(&config_path, config_yaml)
            .unwrap_or_else(|e| panic!("write {}: {e}", config_path.display()));
        let mut prometheus = Prometheus {
            url: String::new(),
            port: 0,
            data_dir: data_dir.to_path_buf(),
            config_path,
            log_path: data_dir.join("prometheus.log"),
            child: None,
            api: QueryApi::new(String::new()),
            owned_dir: None,
        };
        // The port is free when asked for but may be taken before Prometheus binds: retry.
        let mut last = String::new();
        for _ in 0..5 {
            match prometheus.launch(free_port()) {
                Ok(()) => return prometheus,
                Err(Launch::PortTaken(msg)) => last = msg,
                Err(Launch::Failed(msg)) => panic!("{msg}"),
            }
        }
        panic!("Prometheus could not bind a free port in 5 attempts: {last}");
    }

    /// Backfills `backfill` into a fresh temporary data dir (owned by the returned value and
    /// deleted on drop, after the process is stopped) and starts Prometheus on it with
    /// [`EMPTY_CONFIG`]. Prints how long promtool and the startup took.
    pub fn backfilled(backfill: &Backfill) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("sloburn-prometheus-")
            .tempdir()
            .expect("create a temporary data dir");
        let data_dir = dir.path().join("data");
        let report = backfill.create_blocks(&data_dir);
        let started = Instant::now();
        let mut prometheus = Prometheus::start(&data_dir, EMPTY_CONFIG);
        eprintln!(
            "backfilled {} series, {} samples (write {:?}, promtool {:?}); Prometheus ready in {:?}",
            report.series,
            report.samples,
            report.write_time,
            report.promtool_time,
            started.elapsed()
        );
        prometheus.owned_dir = Some(dir);
        prometheus
    }

    /// Kills Prometheus and waits for it to exit. Idempotent; the data dir is kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.stop();
        }
    }

    /// Stops Prometheus and starts it again on the same port and data dir (for fault tests:
    /// the engine's URL stays valid). Panics if it does not get ready again.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.launch(self.port) {
                Ok(()) => return,
                Err(Launch::PortTaken(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(Launch::PortTaken(msg) | Launch::Failed(msg)) => {
                    panic!("restart on port {}: {msg}", self.port)
                }
            }
        }
    }

    /// Whether the process is still running (false after [`Prometheus::stop`] or a crash).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.exited().is_none(),
            None => false,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The process id of the running Prometheus (`None` after [`Prometheus::stop`]), e.g. to
    /// read its CPU time from `/proc/<pid>/stat`.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(ChildGuard::id)
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Prometheus's own output so far (all runs, appended).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn launch(&mut self, port: u16) -> Result<(), Launch> {
        let binary = require_binary("prometheus");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log_path.display()));
        let log_len_before = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = Command::new(&binary);
        command
            .arg(format!("--config.file={}", self.config_path.display()))
            .arg(format!("--storage.tsdb.path={}", self.data_dir.display()))
            .arg("--storage.tsdb.retention.time=60d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        let mut child = ChildGuard::spawn(command, "prometheus");
        self.port = port;
        self.url = format!("http://127.0.0.1:{port}");
        self.api = QueryApi::new(self.url.clone());
        let ready = format!("{}/-/ready", self.url);
        let result = child.wait_ready(&ready, READY_TIMEOUT);
        match result {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(why) => {
                child.stop();
                let this_run = std::fs::read(&self.log_path)
                    .map(|b| String::from_utf8_lossy(&b[log_len_before as usize..]).into_owned())
                    .unwrap_or_default();
                let msg = format!(
                    "Prometheus ({}) did not get ready on {}: {why}\n--- last lines of {} ---\n{}",
                    binary.display(),
                    self.url,
                    self.log_path.display(),
                    tail(&self.log_path, 30)
                );
                if this_run.contains("address already in use") {
                    Err(Launch::PortTaken(msg))
                } else {
                    Err(Launch::Failed(msg))
                }
            }
        }
    }
}

/// The query side of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`) on one
/// base URL. Prometheus and VictoriaMetrics ([`super::victoria::Victoria`]) both deref to it,
/// so a test body can query either.
pub struct QueryApi {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    client: reqwest::Client,
}

impl QueryApi {
    pub fn new(url: String) -> QueryApi {
        QueryApi {
            url,
            client: http_client(Duration::from_secs(30)),
        }
    }

    /// `GET /api/v1/query` at `at_unix_secs`, with extra query parameters. The whole response
    /// body on `"status":"success"`, else a description of what went wrong.
    async fn get_query(
        &self,
        expr: &str,
        at_unix_secs: impl std::fmt::Display,
        extra: &[(&str, &str)],
    ) -> Result<Value, String> {
        let time = at_unix_secs.to_string();
        let mut params = vec![("query", expr), ("time", time.as_str())];
        params.extend_from_slice(extra);
        let response = self
            .client
            .get(format!("{}/api/v1/query", self.url))
            .query(&params)
            .send()
            .await
            .map_err(|e| format!("query {expr:?} at {at_unix_secs}: {e}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| format!("query {expr:?}: reading body: {e}"))?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|e| format!("query {expr:?}: HTTP {status}, not JSON ({e}): {body:.300}"))?;
        if json["status"] != "success" {
            return Err(format!(
                "query {expr:?} at {at_unix_secs}: HTTP {status}: {body:.500}"
            ));
        }
        Ok(json)
    }

    /// The `data` object (`{"resultType": ..., "result": ...}`) of an instant query, or the error.
    pub async fn try_query(&self, expr: &str, at_unix_secs: i64) -> Result<Value, String> {
        Ok(self.get_query(expr, at_unix_secs, &[]).await?["data"].take())
    }

    /// The `data` object of an instant query at `at_unix_secs`; panics on any error.
    pub async fn query(&self, expr: &str, at_unix_secs: i64) -> Value {
        self.try_query(expr, at_unix_secs)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The value of the first sample of a vector result, or of a scalar result; `None` for an
    /// empty vector. Panics on errors and on matrix/string results.
    pub async fn query_scalar(&self, expr: &str, at_unix_secs: i64) -> Option<f64> {
        first_value(&self.query(expr, at_unix_secs).await)
    }

    /// An instant query with `stats=all`: the `data` object (without `stats`) and
    /// `stats.samples.totalQueryableSamples`, the number of samples the query read.
    pub async fn query_with_stats(&self, expr: &str, at_unix_secs: i64) -> (Value, u64) {
        let mut json = self
            .get_query(expr, at_unix_secs, &[("stats", "all")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut data = json["data"].take();
        let stats = data
            .as_object_mut()
            .and_then(|d| d.remove("stats"))
            .unwrap_or(Value::Null);
        let samples = stats["samples"]["totalQueryableSamples"]
            .as_u64()
            .unwrap_or_else(|| panic!("no stats.samples.totalQueryableSamples in {stats}"));
        (data, samples)
    }

    /// The raw samples an instant query of a range selector (`x{job="a"}[1h]`) returns at
    /// `at_ms` (sent as seconds with three decimals): per series, its labels (with
    /// `__name__`) and its `(timestamp in ms, value)` pairs. Panics on errors and on results
    /// that are not a matrix.
    pub async fn raw_samples(&self, range_selector: &str, at_ms: i64) -> Vec<RawSeries> {
        let time = format!("{}.{:03}", at_ms.div_euclid(1000), at_ms.rem_euclid(1000));
        let json = self
            .get_query(range_selector, &time, &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let data = &json["data"];
        assert_eq!(data["resultType"], "matrix", "{range_selector}: {data}");
        data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{range_selector}: no result in {data}"))
            .iter()
            .map(|series| {
                let labels = series["metric"]
                    .as_object()
                    .unwrap_or_else(|| panic!("no metric in {series}"))
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                let samples = series["values"]
                    .as_array()
                    .unwrap_or_else(|| panic!("no values in {series}"))
                    .iter()
                    .map(|pair| {
                        let t = pair[0].as_f64().unwrap_or_else(|| panic!("time in {pair}"));
                        let v = pair[1]
                            .as_str()
                            .unwrap_or_else(|| panic!("value in {pair}"));
                        let v: f64 = v.parse().unwrap_or_else(|e| panic!("{v:?}: {e}"));
                        ((t * 1000.0).round() as i64, v)
                    })
                    .collect();
                (labels, samples)
            })
            .collect()
    }

    /// The `data` object of a range query over [start, end] (unix seconds) with `step_secs`.
    pub async fn query_range(&self, expr: &str, start: i64, end: i64, step_secs: i64) -> Value {
        let params = [
            ("query", expr.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step_secs.to_string()),
        ];
        let response = self
            .client
            .get(format!("{}/api/v1/query_range", self.url))
            .query(&params)
            .send()
            .await
            .unwrap_or_else(|e| panic!("query_range {expr:?}: {e}"));
        let body = response.text().await.expect("query_range body");
        let mut json: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("query_range {expr:?}: not JSON ({e}): {body:.300}"));
        assert_eq!(
            json["status"], "success",
            "query_range {expr:?}: {body:.500}"
        );
        json["data"].take()
    }
}

impl std::ops::Deref for Prometheus {
    type Target = QueryApi;

    fn deref(&self) -> &QueryApi {
        &self.api
    }
}

/// The first sample value of a query's `data` object (vector or scalar); `None` if empty.
pub fn first_value(data: &Value) -> Option<f64> {
    let value = match data["resultType"].as_str() {
        Some("vector") => data["result"].as_array()?.first()?["value"].clone(),
        Some("scalar") => data["result"].clone(),
        other => panic!("expected a vector or scalar result, got {other:?}: {data}"),
    };
    let text = value[1]
        .as_str()
        .unwrap_or_else(|| panic!("sample value is not a string: {value}"));
    Some(
        text.parse()
            .unwrap_or_else(|e| panic!("sample value {text:?}: {e}")),
    )
}

enum Launch {
    PortTaken(String),
    Failed(String),
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}
