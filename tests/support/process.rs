//! Processes and ports for tests: every process a test starts is owned by a [`ChildGuard`], which
//! kills and reaps it on drop (so also when the test panics and unwinds).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago: bind port 0, read the port, release it.
/// Another process may take it before ours binds; callers retry on "address already in use".
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// `/usr/bin/<name>` if it exists, else the first `<name>` on `PATH`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let usr_bin = Path::new("/usr/bin").join(name);
    if usr_bin.is_file() {
        return Some(usr_bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Like [`find_binary`], but a missing binary fails the test with [`missing_binary_message`].
/// Tests that need Prometheus never skip in silence.
pub fn require_binary(name: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| panic!("{}", missing_binary_message(name)))
}

/// The failure message for a missing binary: what is missing and how to get it.
pub fn missing_binary_message(name: &str) -> String {
    format!(
        "`{name}` is not installed (looked in /usr/bin and on PATH). This test needs a real \
         Prometheus: run scripts/test, which installs it (Debian packages `prometheus` and \
         `prometheus-alertmanager`)."
    )
}

/// Owns a child process: [`ChildGuard::stop`] and `Drop` kill it (SIGKILL) and wait for it, so
/// no process outlives the test, whether it passes, fails or panics.
pub struct ChildGuard {
    child: Option<Child>,
    name: String,
}

impl ChildGuard {
    /// Spawns `command`; panics with the program name when spawning fails.
    pub fn spawn(mut command: Command, name: &str) -> ChildGuard {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        ChildGuard {
            child: Some(child),
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id, while the process is owned.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited on its own (it is then reaped and released).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            Ok(None) => None,
            Err(e) => panic!("waiting on {}: {e}", self.name),
        }
    }

    /// Waits until `url` answers 200 (see [`wait_for_http_ok_while`]); an error at once when the
    /// process exits first ("<name> exited during startup (<status>)").
    pub fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<(), String> {
        wait_for_http_ok_while(url, timeout, || match self.exited() {
            Some(status) => Err(format!("{} exited during startup ({status})", self.name)),
            None => Ok(()),
        })
    }

    /// Kills (SIGKILL) and reaps the process. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The HTTP status of a plain-HTTP `GET url` (blocking, std only, no runtime needed).
/// Connect and read are bounded by `timeout`.
pub fn http_status(url: &str, timeout: Duration) -> std::io::Result<u16> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "only http:// URLs")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address for host")
    })?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP status line: {:?}", line.lines().next()),
            )
        })
}

/// Polls `GET url` until it answers 200, or fails after `timeout` with the last error seen.
pub fn wait_for_http_ok(url: &str, timeout: Duration) -> Result<(), String> {
    wait_for_http_ok_while(url, timeout, || Ok(()))
}

/// [`wait_for_http_ok`] that also gives up as soon as `alive` returns an error (e.g. the server
/// process exited), so a crashed server fails fast instead of after the whole timeout.
pub fn wait_for_http_ok_while(
    url: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        alive()?;
        let last = match http_status(url, Duration::from_secs(2)) {
            Ok(200) => return Ok(()),
            Ok(code) => format!("HTTP {code}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "{url} did not answer 200 within {timeout:?} (last: {last})"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a text file (for failure messages); a note if it cannot be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Runs `promtool test rules` on `test_file` written into `dir`: (success, stdout + stderr).
pub fn promtool_test_rules(dir: &Path, test_file: &str) -> (bool, String) {
    let promtool = require_binary("promtool");
    let path = dir.join("test.yaml");
    std::fs::write(&path, test_file).expect("write promtool test file");
    let out = Command::new(promtool)
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("run promtool");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), output)
}
