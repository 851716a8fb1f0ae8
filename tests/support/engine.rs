//! `sloburn run` as a child process for integration tests, a tiny blocking HTTP client, and a
//! parser for the text exposition it serves on `/metrics`.
//!
//! Include it next to `mod support;` with
//! `#[path = "support/engine.rs"] mod engine;` (it uses `crate::support::process`).
//! Everything here is std only and blocking: the tests using it are plain `#[test]`s.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::process::{ChildGuard, free_port, http_status, tail};

/// A running `sloburn run`; killed (SIGKILL) and reaped on drop through its [`ChildGuard`].
pub struct Sloburn {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    pub log_path: PathBuf,
    child: ChildGuard,
}

impl Sloburn {
    /// Starts `sloburn run <args> --listen 127.0.0.1:<free port>`, logging (stderr and stdout) to
    /// `log_path`, and waits until `/healthz` answers 200. Retries on another port when the
    /// chosen one was taken in the meantime; panics with the log tail when it does not come up.
    /// Starts `sloburn run` on one spec (written into `dir`) against a source at `url`,
    /// evaluating every second with no lag, its state and log in `dir`.
    pub fn start_with_spec(url: &str, spec_text: &str, dir: &Path) -> Sloburn {
        let spec = dir.join("spec.yaml");
        std::fs::write(&spec, spec_text)
            .unwrap_or_else(|e| panic!("write {}: {e}", spec.display()));
        let args: Vec<String> = [
            "--prometheus-url",
            url,
            "--spec",
            &spec.display().to_string(),
            "--state-dir",
            &dir.join("state").display().to_string(),
            "--evaluation-interval",
            "1s",
            "--query-lag",
            "0s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Sloburn::start(&args, &dir.join("sloburn.log"))
    }

    pub fn start(args: &[String], log_path: &Path) -> Sloburn {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .unwrap_or_else(|e| panic!("open {}: {e}", log_path.display()));
            let mut command = Command::new(env!("CARGO_BIN_EXE_sloburn"));
            command
                .arg("run")
                .args(args)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log);
            let mut child = ChildGuard::spawn(command, "sloburn");
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(status) = child.exited() {
                    let log = std::fs::read_to_string(log_path).unwrap_or_default();
                    if log.contains("cannot listen") {
                        last = format!("port {port} taken: {}", tail(log_path, 5));
                        break;
                    }
                    panic!(
                        "sloburn run exited during startup ({status}); args {args:?}\n--- log ---\n{}",
                        tail(log_path, 40)
                    );
                }
                if let Ok(200) = http_status(&format!("{url}/healthz"), Duration::from_secs(2)) {
                    return Sloburn {
                        url,
                        log_path: log_path.to_path_buf(),
                        child,
                    };
                }
                if Instant::now() > deadline {
                    panic!(
                        "sloburn run did not answer /healthz within 30s\n--- log ---\n{}",
                        tail(log_path, 40)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("sloburn could not bind a free port in 5 attempts: {last}");
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("sloburn is running")
    }

    /// Panics (with the log tail) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.exited() {
            panic!(
                "sloburn run exited unexpectedly ({status})\n--- log ---\n{}",
                tail(&self.log_path, 40)
            );
        }
    }

    /// Everything sloburn logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// `GET path`: (status, body). Panics when the server does not answer.
    pub fn get(&mut self, path: &str) -> (u16, String) {
        self.assert_running();
        http_request(
            "GET",
            &format!("{}{path}", self.url),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("GET {path}: {e}\n--- log ---\n{}", self.log_tail(30)))
    }

    /// `POST path` with an empty body (a reload runs an evaluation before answering: the
    /// timeout is generous).
    pub fn post(&mut self, path: &str) -> (u16, String) {
        self.assert_running();
        http_request(
            "POST",
            &format!("{}{path}", self.url),
            Duration::from_secs(90),
        )
        .unwrap_or_else(|e| panic!("POST {path}: {e}\n--- log ---\n{}", self.log_tail(30)))
    }

    /// `/metrics`, parsed; panics unless it answers 200.
    pub fn metrics(&mut self) -> Metrics {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "/metrics answered {status}: {body:.500}");
        Metrics::parse(&body)
    }

    /// Polls `/metrics` (every 250 ms) until `done` returns true; panics after `timeout` with
    /// `what`, the last `/metrics` lines about `focus` and the log tail. Also fails as soon as the
    /// process exits.
    pub fn wait_metrics(
        &mut self,
        what: &str,
        timeout: Duration,
        focus: &str,
        mut done: impl FnMut(&Metrics) -> bool,
    ) -> Metrics {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.metrics();
            if done(&m) {
                return m;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for: {what}\n--- /metrics lines with {focus:?} ---\n{}\n--- source requests ---\n{}\n--- sloburn log ---\n{}",
                    m.lines_with(focus),
                    m.lines_with("sloburn_source_requests_total"),
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Sends SIGHUP (std only: through the `kill` command).
    pub fn hangup(&mut self) {
        self.assert_running();
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("run kill -HUP");
        assert!(status.success(), "kill -HUP failed: {status}");
    }

    /// Kills and reaps the process now (also done on drop).
    pub fn stop(&mut self) {
        self.child.stop();
    }
}

/// A blocking HTTP/1.1 request with an empty body and `Connection: close`: (status, body).
/// Handles `Content-Length` and chunked answers; connect and each read are bounded by `timeout`.
pub fn http_request(method: &str, url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body_head = if method == "GET" || method == "HEAD" {
        String::new()
    } else {
        "Content-Length: 0\r\n".to_string()
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{body_head}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading the answer: {e}"))?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head:.100}"))?;
    let mut body = raw[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// One sample of the text exposition.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The value as written (`1.0`, `0`, `NaN`, `+Inf`).
    pub raw: String,
    pub value: f64,
    pub line: String,
}

/// A parsed `/metrics` answer (Prometheus text format 0.0.4).
#[derive(Debug, Clone)]
pub struct Metrics {
    pub samples: Vec<Sample>,
    pub text: String,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_line(l).unwrap_or_else(|e| panic!("bad /metrics line {l:?}: {e}")))
            .collect();
        Metrics {
            samples,
            text: text.to_string(),
        }
    }

    /// Samples named `name` whose labels include every `(label, value)` of `matchers`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        matchers: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && matchers
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the one sample matching; `None` when there is none; panics on several.
    pub fn get(&self, name: &str, matchers: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self.find(name, matchers).collect();
        assert!(
            found.len() <= 1,
            "{name} {matchers:?}: several samples: {:#?}",
            found.iter().map(|s| &s.line).collect::<Vec<_>>()
        );
        found.first().map(|s| s.value)
    }

    /// Like [`Metrics::get`], but panics when the sample is missing.
    pub fn value(&self, name: &str, matchers: &[(&str, &str)]) -> f64 {
        self.get(name, matchers).unwrap_or_else(|| {
            panic!(
                "no sample {name} {matchers:?} in /metrics:\n{}",
                self.lines_with(name)
            )
        })
    }

    /// `sloburn_source_requests_total{outcome}`; 0 while the outcome has not happened yet.
    pub fn requests(&self, outcome: &str) -> f64 {
        self.get("sloburn_source_requests_total", &[("outcome", outcome)])
            .unwrap_or(0.0)
    }

    /// `slo_data_fresh` of one SLO series (`None` when the SLO is not exported).
    pub fn fresh(&self, service: &str, slo: &str) -> Option<bool> {
        self.get("slo_data_fresh", &[("service", service), ("slo", slo)])
            .map(|v| v == 1.0)
    }

    /// Lines of `slo_*` samples whose value is not finite (the exporter promises none).
    pub fn non_finite_slo_lines(&self) -> Vec<String> {
        self.samples
            .iter()
            .filter(|s| s.name.starts_with("slo_") && !s.value.is_finite())
            .map(|s| s.line.clone())
            .collect()
    }

    /// Every line (samples and comments) containing `needle`.
    pub fn lines_with(&self, needle: &str) -> String {
        self.text
            .lines()
            .filter(|l| l.contains(needle))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let (name, labels, rest) = match line.find('{') {
        Some(open) if line[..open].find(' ').is_none() => {
            let name = &line[..open];
            let mut labels = BTreeMap::new();
            let bytes: Vec<char> = line[open + 1..].chars().collect();
            let mut i = 0;
            loop {
                if i >= bytes.len() {
                    return Err("unterminated label set".into());
                }
                if bytes[i] == '}' {
                    i += 1;
                    break;
                }
                if bytes[i] == ',' {
                    i += 1;
                    continue;
                }
                let mut key = String::new();
                while i < bytes.len() && bytes[i] != '=' {
                    key.push(bytes[i]);
                    i += 1;
                }
                i += 1; // '='
                if bytes.get(i) != Some(&'"') {
                    return Err(format!("label {key}: no opening quote"));
                }
                i += 1;
                let mut value = String::new();
                while i < bytes.len() && bytes[i] != '"' {
                    if bytes[i] == '\\' && i + 1 < bytes.len() {
                        i += 1;
                        value.push(match bytes[i] {
                            'n' => '\n',
                            c => c,
                        });
                    } else {
                        value.push(bytes[i]);
                    }
                    i += 1;
                }
                i += 1; // closing quote
                labels.insert(key, value);
            }
            let rest: String = bytes[i..].iter().collect();
            (name.to_string(), labels, rest)
        }
        _ => {
            let (name, rest) = line.split_once(' ').ok_or("no value")?;
            (name.to_string(), BTreeMap::new(), rest.to_string())
        }
    };
    let raw = rest
        .split_whitespace()
        .next()
        .ok_or("no value")?
        .to_string();
    let value = match raw.as_str() {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name,
        labels,
        raw,
        value,
        line: line.to_string(),
    })
}

/// Unix seconds now.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}
