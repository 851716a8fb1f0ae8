//! A real VictoriaMetrics (single node, Debian package `victoria-metrics`) for tests: the
//! counterpart of [`super::prometheus::Prometheus`].
//!
//! [`Victoria::backfilled`] starts `victoria-metrics` on a free 127.0.0.1 port with a temporary
//! `-storageDataPath` and 100 years of retention, imports a [`Backfill`]'s samples through
//! `/api/v1/import/prometheus` (the Prometheus text format with millisecond timestamps, written
//! from the same samples promtool gets) and calls `/internal/force_flush`, so everything is
//! queryable when it returns. Queries go through the same [`QueryApi`] as Prometheus's (deref).
//! The process is killed and reaped on drop (ChildGuard), then the directory is removed.
//!
//! Everything else is VictoriaMetrics' default, on purpose (what a user runs), including
//! `-search.latencyOffset=30s`: an instant query for a time within 30 s of now is evaluated 30 s
//! back, see the README's Backends table.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::backfill::Backfill;
use super::process::{ChildGuard, find_binary, free_port, tail};
use super::prometheus::QueryApi;

/// How long VictoriaMetrics may take to answer 200 on `/health`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes of text per import request (cut at a line end).
const IMPORT_CHUNK: usize = 8 << 20;

/// The Debian package that ships `victoria-metrics` (and `vmalert`).
pub const PACKAGE: &str = "victoria-metrics";

/// A running VictoriaMetrics on `127.0.0.1:<port>`; killed on drop, its data dir then removed.
pub struct Victoria {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    pub port: u16,
    log_path: PathBuf,
    child: Option<ChildGuard>,
    api: QueryApi,
    /// Declared after `child`: removed after the process is stopped.
    _dir: tempfile::TempDir,
}

/// `/usr/bin/<name>` or `<name>` on PATH, else fails the test naming the Debian package (tests
/// that need VictoriaMetrics never skip).
pub fn require_vm_binary(name: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed (looked in /usr/bin and on PATH). This test needs a real \
             VictoriaMetrics: run scripts/test, which installs it (Debian package `{PACKAGE}`, \
             which ships `victoria-metrics` and `vmalert`)."
        )
    })
}

impl Victoria {
    /// Starts an empty VictoriaMetrics in a fresh temporary directory.
    pub fn start() -> Victoria {
        let dir = tempfile::Builder::new()
            .prefix("sloburn-victoria-")
            .tempdir()
            .expect("create a temporary data dir");
        let log_path = dir.path().join("victoria-metrics.log");
        let mut vm = Victoria {
            url: String::new(),
            port: 0,
            log_path,
            child: None,
            api: QueryApi::new(String::new()),
            _dir: dir,
        };
        let mut last = String::new();
        for _ in 0..5 {
            match vm.launch(free_port()) {
                Ok(()) => return vm,
                Err((true, msg)) => last = msg,
                Err((false, msg)) => panic!("{msg}"),
            }
        }
        panic!("VictoriaMetrics could not bind a free port in 5 attempts: {last}");
    }

    /// Starts VictoriaMetrics and imports every sample of `backfill`, then flushes. Prints how
    /// long the import took.
    pub fn backfilled(backfill: &Backfill) -> Victoria {
        let started = Instant::now();
        let vm = Victoria::start();
        let ready = started.elapsed();
        let text = vm._dir.path().join("backfill.prom");
        let bytes = backfill
            .write_prometheus_text(&text)
            .unwrap_or_else(|e| panic!("write {}: {e}", text.display()));
        let imported = Instant::now();
        vm.import_file(&text);
        vm.force_flush();
        let _ = std::fs::remove_file(&text);
        eprintln!(
            "VictoriaMetrics ready in {ready:?}; imported {} series, {} samples ({bytes} bytes) \
             in {:?}",
            backfill.all_series().count(),
            backfill.total_samples(),
            imported.elapsed()
        );
        vm
    }

    /// POSTs a Prometheus text file (millisecond timestamps) to `/api/v1/import/prometheus`, in
    /// pieces of about [`IMPORT_CHUNK`] bytes; panics unless every piece answers 2xx.
    pub fn import_file(&self, path: &Path) {
        let file =
            std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut chunk = Vec::with_capacity(IMPORT_CHUNK + 4096);
        loop {
            let n = reader
                .read_until(b'\n', &mut chunk)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            if (n == 0 && !chunk.is_empty()) || chunk.len() >= IMPORT_CHUNK {
                self.post("/api/v1/import/prometheus", &chunk);
                chunk.clear();
            }
            if n == 0 {
                return;
            }
        }
    }

    /// `/internal/force_flush`: makes what was imported visible to queries now.
    pub fn force_flush(&self) {
        self.post("/internal/force_flush", b"");
    }

    /// VictoriaMetrics' own output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Kills VictoriaMetrics and waits for it to exit. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.stop();
        }
    }

    /// A blocking `POST path` with `body`; panics with the answer unless it is 2xx.
    fn post(&self, path: &str, body: &[u8]) {
        let authority = format!("127.0.0.1:{}", self.port);
        let answer = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(&authority)?;
            stream.set_read_timeout(Some(Duration::from_secs(120)))?;
            write!(
                stream,
                "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        })()
        .unwrap_or_else(|e| panic!("POST {}{path}: {e}\n{}", self.url, tail(&self.log_path, 20)));
        let status = answer.split_whitespace().nth(1).unwrap_or("");
        assert!(
            status.starts_with('2'),
            "POST {}{path} answered {answer:.500}\n--- log ---\n{}",
            self.url,
            tail(&self.log_path, 20)
        );
    }

    /// Starts the process on `port`; `Err((port_taken, message))`.
    fn launch(&mut self, port: u16) -> Result<(), (bool, String)> {
        let binary = require_vm_binary("victoria-metrics");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log_path.display()));
        let mut command = Command::new(&binary);
        command
            .arg(format!(
                "-storageDataPath={}",
                self._dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=100y")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        let mut child = ChildGuard::spawn(command, "victoria-metrics");
        self.port = port;
        self.url = format!("http://127.0.0.1:{port}");
        self.api = QueryApi::new(self.url.clone());
        let health = format!("{}/health", self.url);
        let result = child.wait_ready(&health, READY_TIMEOUT);
        match result {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(why) => {
                child.stop();
                let log = self.log();
                let msg = format!(
                    "VictoriaMetrics ({}) did not get ready on {}: {why}\n--- last lines of {} \
                     ---\n{}",
                    binary.display(),
                    self.url,
                    self.log_path.display(),
                    tail(&self.log_path, 30)
                );
                Err((log.contains("address already in use"), msg))
            }
        }
    }
}

impl std::ops::Deref for Victoria {
    type Target = QueryApi;

    fn deref(&self) -> &QueryApi {
        &self.api
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `vmalert` (from the same Debian package) evaluating rule files against a
/// VictoriaMetrics, writing recorded series and alert state back to it; killed on drop.
pub struct Vmalert {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    log_path: PathBuf,
    child: ChildGuard,
}

impl Vmalert {
    /// Starts `vmalert -rule=<rules> -datasource.url=<vm> -remoteWrite.url=<vm>` evaluating
    /// every `interval` (groups without their own `interval`), its log in `dir`. Notifications
    /// go to a port nothing listens on (the test reads alert states from vmalert's API).
    /// Returns once `/health` answers 200.
    pub fn start(vm: &Victoria, rules: &Path, interval: &str, dir: &Path) -> Vmalert {
        let binary = require_vm_binary("vmalert");
        let log_path = dir.join("vmalert.log");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .unwrap_or_else(|e| panic!("open {}: {e}", log_path.display()));
            let mut command = Command::new(&binary);
            command
                .arg(format!("-rule={}", rules.display()))
                .arg(format!("-datasource.url={}", vm.url))
                .arg(format!("-remoteWrite.url={}", vm.url))
                .arg(format!("-notifier.url=http://127.0.0.1:{}", free_port()))
                .arg(format!("-evaluationInterval={interval}"))
                .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log);
            let mut child = ChildGuard::spawn(command, "vmalert");
            let url = format!("http://127.0.0.1:{port}");
            let result = child.wait_ready(&format!("{url}/health"), READY_TIMEOUT);
            match result {
                Ok(()) => {
                    return Vmalert {
                        url,
                        log_path,
                        child,
                    };
                }
                Err(why) => {
                    child.stop();
                    last = format!("{why}\n--- vmalert log ---\n{}", tail(&log_path, 30));
                    if !std::fs::read_to_string(&log_path)
                        .unwrap_or_default()
                        .contains("address already in use")
                    {
                        panic!("vmalert did not start: {last}");
                    }
                }
            }
        }
        panic!("vmalert could not bind a free port in 5 attempts: {last}");
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.exited().is_none()
    }
}

/// Runs `vmalert -dryRun -rule=<rules>` (parses and validates every rule with MetricsQL and
/// its templates): (success, output).
pub fn vmalert_dry_run(rules: &Path) -> (bool, String) {
    let out = Command::new(require_vm_binary("vmalert"))
        .arg("-dryRun")
        .arg(format!("-rule={}", rules.display()))
        .output()
        .unwrap_or_else(|e| panic!("run vmalert -dryRun: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
