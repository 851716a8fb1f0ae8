//! End-to-end benchmark: what SLO evaluation costs one real Prometheus, rule-based versus
//! sloburn's continuous engine, on the same data.
//!
//! Run: `cargo bench --bench e2e -- --n 10,100,1000 --cycles 5 --extra-7d 100`
//!
//! Per N (SLOs, each a ratio SLO over its own two counters
//! `http_requests_total{job="bench-<i>",code="200"|"500"}`):
//!
//! 1. Backfill: 30 days at 15 s written as OpenMetrics and turned into blocks by promtool (two
//!    promtool processes at a time), in time chunks aligned to 5 days (one block each, no overlapping blocks for Prometheus to
//!    compact while we measure), next to the recorded series the rule sets read over the period
//!    (`slo:bad_events:slice5m` / `slo:total_events:slice5m` of `sloburn generate`, and a
//!    Sloth-style `slo:sli_error:ratio_rate5m`), one sample per 5 minutes.
//! 2. Prometheus starts on those blocks and scrapes a small live target in this process that
//!    continues the same counters, so new samples keep arriving after the backfill ends.
//! 3. sloburn (`sloburn run`, the bench-profile binary) reads Prometheus through a counting proxy
//!    in this process: the proxy adds `stats=all` to each query, sums
//!    `stats.samples.totalQueryableSamples` (Prometheus 2.42 has no
//!    `prometheus_engine_query_samples_total`), strips the stats and passes the answer on.
//!    Cold start (30 days of history from nothing) and then `--cycles` steady ticks are measured.
//! 4. Rule-based evaluation at the last tick's instant: every expression of the ruler-mode rules
//!    of `sloburn generate`, and of a Sloth-shaped rule set, through `/api/v1/query?stats=all`.
//!
//! Also used by `tests/bench_smoke.rs` (N = 10, one cycle, short history).
#![allow(dead_code)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::{BufWriter, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::backfill::{DAY, MINUTE, STEP};
use support::process::{ChildGuard, free_port, require_binary, tail};
use support::prometheus::{Prometheus, http_client};

/// Requests per 15 s sample (~10 req/s) and errors per thousand (0.1 %).
const PER_STEP: i64 = 150;
const ERRORS_PER_MILLE: i64 = 1;
/// Backfill chunks (and blocks) are aligned to this, in seconds.
const CHUNK: i64 = 5 * DAY;
/// Windows of the Sloth-shaped rule set (and sloburn's default alert windows).
const SLOTH_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// One benchmark run: N SLOs with a given period.
#[derive(Clone, Debug)]
pub struct Opts {
    pub n: usize,
    pub cycles: usize,
    /// The SLOs' period, as written in the spec (`30d`, `7d`).
    pub periods: Vec<String>,
    /// History backfilled, seconds (30 days for the bench).
    pub history: i64,
    /// sloburn's `--evaluation-interval`. A tick is measured as a burst of reads followed by
    /// quiet, so this must leave a few seconds between ticks: counter SLIs are read at every
    /// tick, up to the tick (the bench and its smoke test use `1m`: a tick is one new minute).
    pub interval: String,
    /// Rule expressions evaluated concurrently.
    pub rule_concurrency: usize,
    pub work_dir: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct BackfillReport {
    pub samples: u64,
    pub bytes: u64,
    pub write_secs: f64,
    pub promtool_secs: f64,
    pub wall_secs: f64,
    pub chunks: usize,
    pub disk_bytes: u64,
}

#[derive(Clone, Debug, Default)]
pub struct RuleReport {
    pub name: String,
    pub expressions: usize,
    pub samples: u64,
    pub prom_cpu: f64,
    pub wall: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Tick {
    pub requests: usize,
    pub samples: u64,
    pub minutes: i64,
    pub floor: u64,
    pub prom_cpu: f64,
    pub sloburn_cpu: f64,
    pub query_wall: f64,
    pub evaluation_secs: f64,
    pub target: i64,
}

#[derive(Clone, Debug, Default)]
pub struct EngineReport {
    pub period: String,
    pub cold_wall: f64,
    pub cold_samples: u64,
    pub cold_requests: usize,
    pub cold_prom_cpu: f64,
    pub cold_sloburn_cpu: f64,
    pub ticks: Vec<Tick>,
    pub peak_rss_kib: u64,
    pub rss_kib: u64,
    /// Of `rss_kib`: anonymous memory (the heap, stacks) and file-backed pages (the binary).
    pub rss_anon_kib: u64,
    pub rss_file_kib: u64,
    pub rules: Vec<RuleReport>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub n: usize,
    pub backfill: BackfillReport,
    pub prometheus_start_secs: f64,
    /// Seconds between the end of the backfilled data and Prometheus's first scrape.
    pub gap_secs: i64,
    pub runs: Vec<EngineReport>,
    pub total_secs: f64,
}

impl EngineReport {
    /// Mean over the steady ticks.
    pub fn mean(&self, f: impl Fn(&Tick) -> f64) -> f64 {
        if self.ticks.is_empty() {
            return 0.0;
        }
        self.ticks.iter().map(&f).sum::<f64>() / self.ticks.len() as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Process measurements.

/// utime + stime of a process, seconds (`/proc/<pid>/stat`, clock ticks of 1/100 s).
pub fn cpu_secs(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ")": state is field 3; utime and stime are fields 14 and 15 (1-based).
    let get = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(14) + get(15)) / 100.0
}

/// A `/proc/<pid>/status` field in kB (`VmHWM`, `VmRSS`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// The data: counters of SLO i, deterministic functions of the sample index since `origin`.

/// Cumulative (requests, errors) after `k` samples.
fn cumulative(k: i64) -> (i64, i64) {
    let k = k.max(0);
    (k * PER_STEP, k * PER_STEP * ERRORS_PER_MILLE / 1000)
}

fn counter_values(k: i64) -> (i64, i64) {
    let (total, errors) = cumulative(k);
    (total - errors, errors)
}

/// The spec of N ratio SLOs with `period`.
pub fn spec_text(n: usize, period: &str) -> String {
    let mut text = String::from("version: sloburn/v1\nservice: bench\nslos:\n");
    for i in 0..n {
        let _ = write!(
            text,
            "  - name: slo-{i}\n    objective: 99.9\n    period: {period}\n    sli:\n      ratio:\n        errors: http_requests_total{{job=\"bench-{i}\",code=\"500\"}}\n        total: http_requests_total{{job=\"bench-{i}\"}}\n"
        );
    }
    text
}

/// Writes `[a, b)` of every series (raw counters at 15 s, recorded series at 5 m) as OpenMetrics.
fn write_chunk(path: &Path, n: usize, origin: i64, a: i64, b: i64) -> std::io::Result<(u64, u64)> {
    let file = std::fs::File::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 22, file);
    let mut samples = 0u64;
    let mut line = String::with_capacity(128);
    let first = |step: i64| a + (origin - a).rem_euclid(step);
    writeln!(out, "# TYPE http_requests counter")?;
    for i in 0..n {
        for (code, pick) in [("200", 0usize), ("500", 1)] {
            let mut t = first(STEP);
            while t < b {
                let k = (t - origin) / STEP;
                let (ok, err) = counter_values(k);
                line.clear();
                let v = if pick == 0 { ok } else { err };
                let _ = writeln!(
                    line,
                    "http_requests_total{{job=\"bench-{i}\",code=\"{code}\"}} {v} {t}"
                );
                out.write_all(line.as_bytes())?;
                samples += 1;
                t += STEP;
            }
        }
    }
    // Recorded series, as a ruler evaluating every 5 minutes would have written them.
    let slice = 5 * MINUTE;
    let per_slice = slice / STEP;
    for (family, which) in [
        ("slo:bad_events:slice5m", 0),
        ("slo:total_events:slice5m", 1),
        ("slo:sli_error:ratio_rate5m", 2),
    ] {
        writeln!(out, "# TYPE {family} gauge")?;
        for i in 0..n {
            let labels = if which == 2 {
                format!("sloth_service=\"bench\",sloth_slo=\"slo-{i}\"")
            } else {
                format!("service=\"bench\",slo=\"slo-{i}\"")
            };
            let mut t = first(slice);
            while t < b {
                let k = (t - origin) / STEP;
                let (t1, e1) = cumulative(k);
                let (t0, e0) = cumulative(k - per_slice);
                let v = match which {
                    0 => (e1 - e0) as f64,
                    1 => (t1 - t0) as f64,
                    _ if t1 > t0 => (e1 - e0) as f64 / (t1 - t0) as f64,
                    _ => 0.0,
                };
                line.clear();
                let _ = writeln!(line, "{family}{{{labels}}} {v} {t}");
                out.write_all(line.as_bytes())?;
                samples += 1;
                t += slice;
            }
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    let bytes = std::fs::metadata(path)?.len();
    Ok((samples, bytes))
}

/// Backfills `[origin, end)` into `data_dir` in 5-day-aligned time chunks: chunk k+1 is written
/// while promtool turns chunk k into a block; each text file is removed as soon as it is used.
pub fn backfill(data_dir: &Path, n: usize, origin: i64, end: i64) -> BackfillReport {
    let promtool = require_binary("promtool");
    std::fs::create_dir_all(data_dir).unwrap();
    let started = Instant::now();
    let mut cuts = vec![origin];
    let mut t = (origin / CHUNK + 1) * CHUNK;
    while t < end {
        cuts.push(t);
        t += CHUNK;
    }
    cuts.push(end);
    let mut report = BackfillReport {
        chunks: cuts.len() - 1,
        ..Default::default()
    };
    // Up to two promtool processes at a time (each works on its own, non-overlapping block).
    let mut running: Vec<(std::process::Child, PathBuf, Instant)> = Vec::new();
    let finish = |job: (std::process::Child, PathBuf, Instant), report: &mut BackfillReport| {
        let (child, file, at) = job;
        let out = child.wait_with_output().expect("wait for promtool");
        report.promtool_secs += at.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "promtool failed on {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_file(&file);
    };
    for (idx, w) in cuts.windows(2).enumerate() {
        let file = data_dir
            .parent()
            .unwrap_or(data_dir)
            .join(format!("chunk-{idx}.om"));
        let at = Instant::now();
        let (samples, bytes) = write_chunk(&file, n, origin, w[0], w[1]).expect("write chunk");
        report.write_secs += at.elapsed().as_secs_f64();
        report.samples += samples;
        report.bytes += bytes;
        if running.len() >= 2 {
            finish(running.remove(0), &mut report);
        }
        let child = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(format!("--max-block-duration={}h", CHUNK / 3600))
            .arg(&file)
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run promtool");
        running.push((child, file, Instant::now()));
    }
    for job in running.drain(..) {
        finish(job, &mut report);
    }
    report.wall_secs = started.elapsed().as_secs_f64();
    report.disk_bytes = dir_bytes(data_dir);
    report
}

// ---------------------------------------------------------------------------------------------
// The live target: the same counters, continued, for Prometheus to scrape.

pub struct LiveTarget {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveTarget {
    pub fn start(n: usize, origin: i64) -> LiveTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind live target");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                let now = chrono::Utc::now().timestamp();
                let (ok, err) = counter_values((now - origin) / STEP);
                let mut body = String::with_capacity(n * 120);
                body.push_str("# TYPE http_requests_total counter\n");
                for i in 0..n {
                    let _ = writeln!(
                        body,
                        "http_requests_total{{job=\"bench-{i}\",code=\"200\"}} {ok}\nhttp_requests_total{{job=\"bench-{i}\",code=\"500\"}} {err}"
                    );
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        LiveTarget {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// A Prometheus config scraping this target every 15 s, keeping the exposed `job` label and
    /// dropping `instance`, so the scraped series are the backfilled ones, continued.
    pub fn prometheus_config(&self) -> String {
        format!(
            "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs:\n  - job_name: live\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n    metric_relabel_configs:\n      - action: labeldrop\n        regex: instance\n",
            self.port
        )
    }
}

impl Drop for LiveTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The counting proxy between sloburn and Prometheus.

#[derive(Clone, Debug)]
pub struct Request {
    pub started: Instant,
    pub ended: Instant,
    pub range: bool,
    /// The engine's idle probe (`vector(1)`), not a read of an SLO.
    pub probe: bool,
    pub samples: u64,
    /// Points asked for by a range query ((end - start) / step + 1).
    pub points: i64,
    /// Seconds of samples read: a range query's span, or an instant query's range selector
    /// (`sel[120s]`, the engine's raw reads).
    pub span_secs: i64,
    pub end: i64,
    pub prom_cpu_start: f64,
    pub prom_cpu_end: f64,
}

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    pub log: Arc<Mutex<Vec<Request>>>,
}

fn form_value<'a>(form: &'a str, key: &str) -> Option<&'a str> {
    form.split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

impl Proxy {
    /// Serves on a free port in the current tokio runtime, forwarding to `upstream`.
    pub async fn start(upstream: String, prom_pid: u32) -> Proxy {
        use http_body_util::{BodyExt, Full};
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let client = http_client(Duration::from_secs(600));
        let log2 = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, log) = (client.clone(), upstream.clone(), log2.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (client, upstream, log) =
                            (client.clone(), upstream.clone(), log.clone());
                        async move {
                            let started = Instant::now();
                            let prom_cpu_start = cpu_secs(prom_pid);
                            let path = req.uri().path().to_string();
                            let query = req.uri().query().unwrap_or("").to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            let mut form = String::from_utf8_lossy(&body).into_owned();
                            if !query.is_empty() {
                                if !form.is_empty() {
                                    form.push('&');
                                }
                                form.push_str(&query);
                            }
                            let counted = path.starts_with("/api/v1/query");
                            let mut send = form.clone();
                            if counted {
                                send.push_str(if send.is_empty() {
                                    "stats=all"
                                } else {
                                    "&stats=all"
                                });
                            }
                            let answer = client
                                .post(format!("{upstream}{path}"))
                                .header("content-type", "application/x-www-form-urlencoded")
                                .body(send)
                                .send()
                                .await;
                            let (status, mut text) = match answer {
                                Ok(r) => (
                                    r.status().as_u16(),
                                    r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                                ),
                                Err(e) => (502, e.to_string().into_bytes()),
                            };
                            let mut samples = 0;
                            if counted
                                && let Ok(mut json) = serde_json::from_slice::<Value>(&text)
                                && let Some(data) =
                                    json.get_mut("data").and_then(Value::as_object_mut)
                                && let Some(stats) = data.remove("stats")
                            {
                                samples = stats["samples"]["totalQueryableSamples"]
                                    .as_u64()
                                    .unwrap_or(0);
                                text = serde_json::to_vec(&json).unwrap();
                            }
                            let range = path.ends_with("query_range");
                            let num =
                                |k: &str| form_value(&form, k).and_then(|v| v.parse::<f64>().ok());
                            let (points, end) = match (num("start"), num("end"), num("step")) {
                                (Some(s), Some(e), Some(st)) if range && st > 0.0 => {
                                    (((e - s) / st).floor() as i64 + 1, e as i64)
                                }
                                _ => (0, num("time").unwrap_or(0.0) as i64),
                            };
                            let query = form_value(&form, "query")
                                .map(percent_decode)
                                .unwrap_or_default();
                            let probe = query == "vector(1)";
                            let span_secs = match (num("start"), num("end"), num("step")) {
                                (Some(s), Some(e), Some(st)) if range => (e - s + st) as i64,
                                _ => range_selector_secs(&query),
                            };
                            if counted {
                                log.lock().unwrap().push(Request {
                                    started,
                                    ended: Instant::now(),
                                    range,
                                    probe,
                                    samples,
                                    points,
                                    span_secs,
                                    end,
                                    prom_cpu_start,
                                    prom_cpu_end: cpu_secs(prom_pid),
                                });
                            }
                            let response = hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(bytes::Bytes::from(text)))
                                .unwrap();
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy { url, log }
    }

    pub fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn since(&self, from: usize) -> Vec<Request> {
        self.log.lock().unwrap()[from..].to_vec()
    }

    /// Waits until at least one read of an SLO after index `from` arrived and then none for
    /// `quiet` (the engine's idle probes at short intervals do not end or start a burst);
    /// returns every request since `from`. `None` after `timeout` without a read, or without
    /// `quiet` after one (ticks closer than `quiet` never end a burst).
    pub async fn next_burst(
        &self,
        from: usize,
        quiet: Duration,
        timeout: Duration,
    ) -> Option<Vec<Request>> {
        let deadline = Instant::now() + timeout;
        loop {
            let reqs = self.since(from);
            let last = reqs.iter().filter(|r| !r.probe).map(|r| r.ended).max();
            if let Some(last) = last
                && last.elapsed() >= quiet
            {
                return Some(reqs);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A form value decoded (`+` is a space, `%XX` a byte).
fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&v[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The range of an instant query's range selector in seconds (`x{a="b"}[120s]` -> 120), or 0.
fn range_selector_secs(query: &str) -> i64 {
    query
        .strip_suffix("s]")
        .and_then(|q| q.rsplit_once('['))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// sloburn.

pub struct Sloburn {
    pub url: String,
    pub child: ChildGuard,
    pub log: PathBuf,
    pub started: Instant,
}

impl Sloburn {
    pub fn start(
        spec: &Path,
        prometheus: &str,
        state: &Path,
        interval: &str,
        log: &Path,
    ) -> Sloburn {
        let port = free_port();
        let file = std::fs::File::create(log).unwrap();
        // E2E_SLOBURN_WRAPPER (e.g. `heaptrack -o /tmp/ht`) runs sloburn under a profiler; the
        // RSS figures are then the wrapper's, so use it to find costs, not to report them.
        let wrapper = std::env::var("E2E_SLOBURN_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(env!("CARGO_BIN_EXE_sloburn"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_sloburn")),
        };
        command
            .arg("run")
            .arg("--spec")
            .arg(spec)
            .args(["--prometheus-url", prometheus])
            .arg("--state-dir")
            .arg(state)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--evaluation-interval", interval, "--query-lag", "0s"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        Sloburn {
            url: format!("http://127.0.0.1:{port}"),
            child: ChildGuard::spawn(command, "sloburn"),
            log: log.to_path_buf(),
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("sloburn running")
    }

    fn check(&mut self) {
        if let Some(status) = self.child.exited() {
            panic!("sloburn exited ({status}):\n{}", tail(&self.log, 30));
        }
    }

    /// `/metrics` as text.
    pub async fn metrics(&mut self, client: &reqwest::Client) -> Option<String> {
        self.check();
        let r = client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .ok()?;
        r.text().await.ok()
    }
}

/// The value of the first sample line starting with `prefix` (name and labels).
fn metric_value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn fresh_count(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.starts_with("slo_data_fresh{")
                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) == Some(1.0)
        })
        .count()
}

// ---------------------------------------------------------------------------------------------
// Rule-based evaluation.

/// `(name, expression)` of every rule of a rule file (records and alerts).
fn rule_expressions(rules: &Value) -> Vec<String> {
    rules["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter_map(|r| r["expr"].as_str().map(str::to_string))
        .collect()
}

/// The Sloth-shaped set: per SLO and window a ratio of rates, plus the period as the average
/// of the recorded 5m ratio.
fn sloth_expressions(n: usize, period: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        for w in SLOTH_WINDOWS {
            out.push(format!(
                "sum(rate(http_requests_total{{job=\"bench-{i}\",code=\"500\"}}[{w}])) / sum(rate(http_requests_total{{job=\"bench-{i}\"}}[{w}]))"
            ));
        }
        out.push(format!(
            "avg_over_time(slo:sli_error:ratio_rate5m{{sloth_service=\"bench\",sloth_slo=\"slo-{i}\"}}[{period}])"
        ));
    }
    out
}

async fn query_samples(client: &reqwest::Client, url: &str, expr: &str, at: i64) -> u64 {
    let at_text = at.to_string();
    let r = client
        .post(format!("{url}/api/v1/query"))
        .form(&[
            ("query", expr),
            ("time", at_text.as_str()),
            ("stats", "all"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("query {expr}: {e}"));
    let json: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("query {expr}: {e}"));
    assert_eq!(json["status"], "success", "{expr}: {json}");
    json["data"]["stats"]["samples"]["totalQueryableSamples"]
        .as_u64()
        .unwrap_or_else(|| panic!("no stats for {expr}: {json:.300}"))
}

/// Evaluates every expression at `at` with `concurrency` in flight; sums samples read.
async fn run_rules(
    name: &str,
    exprs: Vec<String>,
    url: &str,
    at: i64,
    prom_pid: u32,
    concurrency: usize,
) -> RuleReport {
    let client = http_client(Duration::from_secs(600));
    let cpu0 = cpu_secs(prom_pid);
    let started = Instant::now();
    let exprs = Arc::new(exprs);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (exprs, next, client, url) =
            (exprs.clone(), next.clone(), client.clone(), url.to_string());
        set.spawn(async move {
            let mut sum = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(e) = exprs.get(i) else { break };
                sum += query_samples(&client, &url, e, at).await;
            }
            sum
        });
    }
    let mut samples = 0;
    while let Some(r) = set.join_next().await {
        samples += r.expect("rule task");
    }
    RuleReport {
        name: name.to_string(),
        expressions: exprs.len(),
        samples,
        prom_cpu: cpu_secs(prom_pid) - cpu0,
        wall: started.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// One N.

fn log(msg: impl AsRef<str>) {
    eprintln!(
        "[e2e {}] {}",
        chrono::Utc::now().format("%H:%M:%S"),
        msg.as_ref()
    );
}

pub fn run(opts: &Opts) -> Report {
    let total = Instant::now();
    let n = opts.n;
    std::fs::create_dir_all(&opts.work_dir).unwrap();
    let dir = tempfile::Builder::new()
        .prefix(&format!("e2e-n{n}-"))
        .tempdir_in(&opts.work_dir)
        .unwrap();
    let data_dir = dir.path().join("data");
    let end = support::backfill::now_minute();
    let origin = end - opts.history;
    log(format!(
        "N={n}: backfilling {}d of {} series",
        opts.history / DAY,
        2 * n
    ));
    let backfill = backfill(&data_dir, n, origin, end);
    log(format!("N={n}: backfill {backfill:?}"));

    let live = LiveTarget::start(n, origin);
    let started = Instant::now();
    let prometheus = Prometheus::start(&data_dir, &live.prometheus_config());
    let prometheus_start_secs = started.elapsed().as_secs_f64();
    let prom_pid = prometheus.pid().expect("prometheus pid");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = http_client(Duration::from_secs(60));
    // Wait for the first scrape, so every minute sloburn reads from now on has live samples.
    let first_scrape = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = client
                .get(format!("{}/api/v1/query", prometheus.url))
                .query(&[("query", "timestamp(up{job=\"live\"} == 1)")])
                .send()
                .await;
            if let Ok(r) = r
                && let Ok(v) = r.json::<Value>().await
                && let Some(t) = v["data"]["result"][0]["value"][1].as_str()
            {
                break t.parse::<f64>().unwrap() as i64;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never scraped the live target"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let gap_secs = first_scrape - end;
    log(format!(
        "N={n}: Prometheus ready in {prometheus_start_secs:.1}s, first scrape {gap_secs}s after the backfill end"
    ));

    let proxy = rt.block_on(Proxy::start(prometheus.url.clone(), prom_pid));
    let mut runs = Vec::new();
    for period in &opts.periods {
        let run_dir = dir.path().join(format!("run-{period}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let spec = run_dir.join("spec.yaml");
        std::fs::write(&spec, spec_text(n, period)).unwrap();
        let mut report = EngineReport {
            period: period.clone(),
            ..Default::default()
        };

        // Cold start.
        let before = proxy.len();
        let prom_cpu0 = cpu_secs(prom_pid);
        let mut sloburn = Sloburn::start(
            &spec,
            &proxy.url,
            &run_dir.join("state"),
            &opts.interval,
            &run_dir.join("sloburn.log"),
        );
        let pid = sloburn.pid();
        // RSS over the cold start, one sample per poll: where the peak is reached.
        let mut rss_trace: Vec<(f64, u64)> = Vec::new();
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(1800);
            loop {
                rss_trace.push((
                    sloburn.started.elapsed().as_secs_f64(),
                    status_kib(pid, "VmRSS"),
                ));
                if let Some(m) = sloburn.metrics(&client).await
                    && fresh_count(&m) == n
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "sloburn cold start did not finish:\n{}",
                    tail(&sloburn.log, 20)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        report.cold_wall = sloburn.started.elapsed().as_secs_f64();
        let cold = proxy.since(before);
        report.cold_samples = cold.iter().map(|r| r.samples).sum();
        report.cold_requests = cold.len();
        report.cold_prom_cpu = cpu_secs(prom_pid) - prom_cpu0;
        report.cold_sloburn_cpu = cpu_secs(pid);
        let step = rss_trace.len().div_ceil(20).max(1);
        log(format!(
            "N={n} period {period}: RSS during the cold start (s: KiB): {}",
            rss_trace
                .iter()
                .step_by(step)
                .map(|(t, kib)| format!("{t:.1}: {kib}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        log(format!(
            "N={n} period {period}: cold start {:.1}s, {} requests, {} samples read, Prometheus CPU {:.2}s, sloburn CPU {:.2}s",
            report.cold_wall,
            report.cold_requests,
            report.cold_samples,
            report.cold_prom_cpu,
            report.cold_sloburn_cpu
        ));

        // Steady ticks: each is a burst of requests after a minute completes. The first after
        // the cold start may read only the rest of the minute the cold start read into: it is
        // not a tick of one new minute, and is left out.
        let mut from = proxy.len();
        let mut sloburn_cpu = cpu_secs(pid);
        let mut c = 0;
        while c < opts.cycles {
            let burst = rt
                .block_on(proxy.next_burst(from, Duration::from_secs(2), Duration::from_secs(150)))
                .unwrap_or_else(|| panic!("no tick within 150 s:\n{}", tail(&sloburn.log, 20)));
            from += burst.len();
            let read = burst.iter().filter(|r| !r.probe).map(|r| r.span_secs).max();
            if c == 0 && report.ticks.is_empty() && read.is_some_and(|s| s < MINUTE) {
                log(format!(
                    "N={n} period {period}: a partial first tick left out"
                ));
                sloburn_cpu = cpu_secs(pid);
                continue;
            }
            c += 1;
            // The tick persists and snapshots after its last answer: give it a moment.
            let evaluation = rt.block_on(async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                sloburn
                    .metrics(&client)
                    .await
                    .and_then(|m| metric_value(&m, "sloburn_evaluation_duration_seconds"))
            });
            let cpu = cpu_secs(pid);
            let ranges: Vec<&Request> = burst.iter().filter(|r| !r.probe).collect();
            let minutes = ranges.iter().map(|r| r.span_secs).max().unwrap_or(0) / MINUTE;
            // The tick's own requests: its reads (idle probes between ticks at short intervals
            // are left out of the tick's time and CPU window).
            let first = ranges.iter().min_by_key(|r| r.started).unwrap();
            let last = ranges.iter().max_by_key(|r| r.ended).unwrap();
            let tick = Tick {
                requests: ranges.len(),
                samples: burst.iter().map(|r| r.samples).sum(),
                minutes,
                floor: (2 * n) as u64 * (MINUTE / 15) as u64 * minutes as u64,
                prom_cpu: last.prom_cpu_end - first.prom_cpu_start,
                sloburn_cpu: cpu - sloburn_cpu,
                query_wall: last.ended.duration_since(first.started).as_secs_f64(),
                evaluation_secs: evaluation.unwrap_or(f64::NAN),
                target: ranges.iter().map(|r| r.end).max().unwrap_or(0),
            };
            sloburn_cpu = cpu;
            log(format!("N={n} period {period}: tick {c}: {tick:?}"));
            report.ticks.push(tick);
        }
        report.peak_rss_kib = status_kib(pid, "VmHWM");
        report.rss_kib = status_kib(pid, "VmRSS");
        report.rss_anon_kib = status_kib(pid, "RssAnon");
        report.rss_file_kib = status_kib(pid, "RssFile");
        if std::env::var_os("E2E_MALLOC_STATS").is_some() {
            let _ = Command::new("gdb")
                .args([
                    "-p",
                    &pid.to_string(),
                    "-batch",
                    "-ex",
                    "call (void)malloc_stats()",
                ])
                .output();
            // glibc writes its statistics to sloburn's stderr, i.e. the end of its log.
            std::thread::sleep(Duration::from_secs(1));
            log(format!(
                "N={n} period {period}: glibc malloc_stats:\n{}",
                tail(&sloburn.log, 30)
            ));
        }
        sloburn.child.stop();

        // Rule-based evaluation at the last tick's instant.
        let at = report
            .ticks
            .last()
            .map(|t| t.target)
            .filter(|t| *t > 0)
            .unwrap_or_else(support::backfill::now_minute);
        let rules_file = run_dir.join("rules.yml");
        let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
            .arg("generate")
            .arg(&spec)
            .arg("-o")
            .arg(&rules_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sloburn generate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rules: Value = serde_saphyr::from_str_with_options(
            &std::fs::read_to_string(&rules_file).unwrap(),
            // 1,000 SLOs' rules exceed the default budget of 250,000 YAML nodes.
            {
                let mut options = serde_saphyr::Options::default();
                options.budget = None;
                options
            },
        )
        .unwrap();
        let ruler = rule_expressions(&rules);
        for (name, exprs) in [
            ("sloburn generate (ruler mode)", ruler),
            ("Sloth-style", sloth_expressions(n, period)),
        ] {
            let r = rt.block_on(run_rules(
                name,
                exprs,
                &prometheus.url,
                at,
                prom_pid,
                opts.rule_concurrency,
            ));
            log(format!("N={n} period {period}: rules {r:?}"));
            report.rules.push(r);
        }
        runs.push(report);
    }
    drop(rt);
    drop(prometheus);
    drop(live);
    drop(dir);
    Report {
        n,
        backfill,
        prometheus_start_secs,
        gap_secs,
        runs,
        total_secs: total.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// Output.

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let b = &r.backfill;
    let _ = writeln!(
        s,
        "### N = {}\n\nBackfill: {} samples in {} chunks, {:.1} GB of OpenMetrics text; writing {:.1}s, promtool {:.1}s, wall {:.1}s (overlapped); blocks {:.2} GB on disk. Prometheus ready in {:.1}s; first live scrape {}s after the backfilled data ends. Whole run {:.0}s.\n",
        r.n,
        b.samples,
        b.chunks,
        b.bytes as f64 / 1e9,
        b.write_secs,
        b.promtool_secs,
        b.wall_secs,
        b.disk_bytes as f64 / 1e9,
        r.prometheus_start_secs,
        r.gap_secs,
        r.total_secs
    );
    for run in &r.runs {
        let mean_samples = run.mean(|t| t.samples as f64);
        let mean_floor = run.mean(|t| t.floor as f64);
        let _ = writeln!(
            s,
            "Period {}, {} steady ticks:\n",
            run.period,
            run.ticks.len()
        );
        let _ = writeln!(
            s,
            "| evaluation (one cycle) | samples read | Prometheus CPU s | sloburn CPU s | wall s | rule-based / sloburn |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for rule in &run.rules {
            let _ = writeln!(
                s,
                "| {} ({} expressions) | {} | {:.3} | – | {:.2} | {:.0}x |",
                rule.name,
                rule.expressions,
                rule.samples,
                rule.prom_cpu,
                rule.wall,
                rule.samples as f64 / mean_samples.max(1.0)
            );
        }
        let _ = writeln!(
            s,
            "| sloburn steady tick (mean) | {:.0} | {:.3} | {:.3} | {:.3} (queries) / {:.3} (evaluation) | 1x |",
            mean_samples,
            run.mean(|t| t.prom_cpu),
            run.mean(|t| t.sloburn_cpu),
            run.mean(|t| t.query_wall),
            run.mean(|t| t.evaluation_secs)
        );
        let _ = writeln!(
            s,
            "| floor: samples scraped per minute (2 x N x 4) | {:.0} | | | | |",
            mean_floor
        );
        let _ = writeln!(
            s,
            "| sloburn cold start ({} requests) | {} | {:.2} | {:.2} | {:.1} | |\n",
            run.cold_requests,
            run.cold_samples,
            run.cold_prom_cpu,
            run.cold_sloburn_cpu,
            run.cold_wall
        );
        let _ = writeln!(
            s,
            "sloburn / floor = {:.2}x; sloburn peak RSS {} KiB ({:.1} KiB per SLO), RSS at the end {} KiB ({} KiB anonymous, {} KiB file-backed).\n",
            mean_samples / mean_floor.max(1.0),
            run.peak_rss_kib,
            run.peak_rss_kib as f64 / r.n as f64,
            run.rss_kib,
            run.rss_anon_kib,
            run.rss_file_kib
        );
        let _ = writeln!(
            s,
            "Ticks: samples, minutes read, requests, Prometheus CPU s, sloburn CPU s, query wall s, evaluation s:\n"
        );
        for t in &run.ticks {
            let _ = writeln!(
                s,
                "- {} samples, {} min, {} requests, {:.3}, {:.3}, {:.3}, {:.4}",
                t.samples,
                t.minutes,
                t.requests,
                t.prom_cpu,
                t.sloburn_cpu,
                t.query_wall,
                t.evaluation_secs
            );
        }
        s.push('\n');
    }
    s
}

fn parse_args() -> (Vec<usize>, usize, Vec<usize>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut ns = vec![10, 100, 1000];
    let mut cycles = 3;
    let mut extra = vec![100];
    let list = |v: &str| {
        v.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.trim().parse().expect("a number"))
            .collect::<Vec<usize>>()
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--n" => {
                ns = list(&args[i + 1]);
                i += 1;
            }
            "--cycles" => {
                cycles = args[i + 1].parse().expect("--cycles N");
                i += 1;
            }
            "--extra-7d" => {
                extra = list(&args[i + 1]);
                i += 1;
            }
            _ => {} // cargo passes --bench
        }
        i += 1;
    }
    (ns, cycles, extra)
}

/// `History::heap_bytes` of one SLO with a full history of `period` (coarse buckets over the
/// period, then 3 days of minutes, as after a cold start and steady ticks).
pub fn history_heap_bytes(period: &str) -> usize {
    use sloburn::core::Counts;
    use sloburn::engine::history::History;
    let report = sloburn::spec::load::load_bytes("bench.yaml", spec_text(1, period).as_bytes());
    let slo = &report.slos[0];
    let mut h = History::new(&slo.period, &slo.alerting.windows.windows());
    let end = 1_790_006_400i64;
    let res = h.coarse_res();
    let span = match period {
        "7d" => 7 * DAY,
        _ => 30 * DAY,
    };
    let c = Counts {
        bad: 3.0,
        total: 3000.0,
    };
    let mut t = end - span;
    while t <= end - 3 * DAY {
        h.push_coarse(t, c);
        t += res;
    }
    let mut t = end - 3 * DAY + MINUTE;
    while t <= end {
        h.push_minute(t, c);
        t += MINUTE;
    }
    h.heap_bytes()
}

fn main() {
    let (ns, cycles, extra) = parse_args();
    for period in ["30d", "7d"] {
        println!(
            "History::heap_bytes of one SLO with a full {period} history: {} bytes\n",
            history_heap_bytes(period)
        );
    }
    let work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    for n in ns {
        let mut periods = vec!["30d".to_string()];
        if extra.contains(&n) {
            periods.push("7d".to_string());
        }
        let opts = Opts {
            n,
            cycles,
            periods,
            history: 30 * DAY,
            interval: "1m".into(),
            rule_concurrency: 2,
            work_dir: work_dir.clone(),
        };
        let report = run(&opts);
        let text = markdown(&report);
        println!("{text}");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(work_dir.join("results.md"))
            .and_then(|mut f| f.write_all(text.as_bytes()));
    }
}
