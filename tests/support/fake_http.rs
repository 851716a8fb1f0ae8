//! A fake HTTP server on `127.0.0.1:<port 0>` for faults a real Prometheus cannot produce on
//! demand. It answers every request according to a shared [`Mode`] that the test may change at
//! any time ([`FakeHttp::set_mode`]); each response is a hand-written HTTP/1.1 response with
//! `Connection: close`. std threads only (independent of any tokio runtime). Dropping the server
//! stops it, including connections held open by [`Mode::Hang`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the fake server answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// 200, `Content-Type: application/json`, a body that is not JSON.
    Garbage,
    /// This status with a Prometheus-style JSON error body.
    Status(u16),
    /// Accept, read the request, never answer (the connection stays open until the server
    /// is dropped).
    Hang,
    /// 200 with a body of exactly this many bytes (at least the JSON frame's 61), valid JSON
    /// (a string result padded with `x`), streamed in 64 KiB chunks: only a size limit can
    /// refuse it.
    HugeBody(usize),
    /// 200, a complete HTTP response whose JSON body is cut off in the middle.
    PartialJson,
    /// 200, headers announce a longer body than is sent, then the connection is closed.
    CutConnection,
    /// 200 with this body.
    Json(String),
    /// Wait, then answer as the inner mode.
    Delayed(Duration, Box<Mode>),
}

/// The body [`Mode::PartialJson`] sends.
pub const PARTIAL_JSON: &str =
    r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"demo"},"val"#;
/// The body [`Mode::Garbage`] sends.
pub const GARBAGE: &str = "<html><body>502 proxy says no</body></html>\n";

/// A Prometheus instant-query answer holding one sample with no labels.
pub fn vector_json(at_unix_secs: i64, value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[{at_unix_secs},"{value}"]}}]}}}}"#
    )
}

/// A Prometheus range-query answer with the given series (each `(labels JSON, [(t, "value")])`).
pub fn matrix_json(series: &[(&str, &[(i64, &str)])]) -> String {
    let result: Vec<String> = series
        .iter()
        .map(|(labels, points)| {
            let values: Vec<String> = points
                .iter()
                .map(|(t, v)| format!(r#"[{t},"{v}"]"#))
                .collect();
            format!(r#"{{"metric":{labels},"values":[{}]}}"#, values.join(","))
        })
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
        result.join(",")
    )
}

/// One unlabelled series with `value` at each of the five minutes before `now_unix`: as every
/// answer of a fake Prometheus, bad and total are equal, so every event is bad (or, with "0",
/// there is no traffic).
pub fn recent_minutes_json(now_unix: f64, value: &str) -> String {
    let now = (now_unix as i64 / 60) * 60;
    let points: Vec<(i64, &str)> = (1..=5).map(|k| (now - k * 60, value)).collect();
    matrix_json(&[("{}", &points)])
}

struct Shared {
    mode: Mutex<Mode>,
    stop: AtomicBool,
    hits: AtomicUsize,
    requests: Mutex<Vec<String>>,
    handlers: Mutex<Vec<JoinHandle<()>>>,
}

/// The running fake server; stops on drop.
pub struct FakeHttp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    pub port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeHttp {
    pub fn start(mode: Mode) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake server: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("fake server: nonblocking");
        let port = listener
            .local_addr()
            .expect("fake server: local_addr")
            .port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            stop: AtomicBool::new(false),
            hits: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            handlers: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        FakeHttp {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Changes how the next requests are answered.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Requests received so far (counted once the request head is read).
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The request lines received so far, e.g. `GET /api/v1/query?query=up HTTP/1.1`, with a
    /// POST's form body appended after a space.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let handlers = std::mem::take(&mut *self.shared.handlers.lock().unwrap());
        for handler in handlers {
            let _ = handler.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared2 = shared.clone();
                let handle = std::thread::spawn(move || {
                    let _ = handle_connection(stream, &shared2);
                });
                let mut handlers = shared.handlers.lock().unwrap();
                handlers.retain(|h| !h.is_finished());
                handlers.push(handle);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Sleeps up to `d`, returning early (false) when the server stops.
fn sleep_unless_stopped(shared: &Shared, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        if shared.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn handle_connection(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    // Read the head (and a body announced by Content-Length), for at most 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let mut head_end = None;
    let mut body_len = 0;
    loop {
        if let Some(end) = head_end
            && data.len() >= end + body_len
        {
            break;
        }
        if shared.stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            return Ok(());
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        if head_end.is_none()
            && let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n")
        {
            head_end = Some(i + 4);
            let head = String::from_utf8_lossy(&data[..i]).to_ascii_lowercase();
            body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
    }
    let head_end = head_end.unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..head_end]);
    let mut request = head.lines().next().unwrap_or("").to_string();
    if head_end < data.len() {
        request.push(' ');
        request.push_str(&String::from_utf8_lossy(&data[head_end..]));
    }
    shared.requests.lock().unwrap().push(request);
    shared.hits.fetch_add(1, Ordering::SeqCst);

    let mut mode = shared.mode.lock().unwrap().clone();
    while let Mode::Delayed(d, inner) = mode {
        if !sleep_unless_stopped(shared, d) {
            return Ok(());
        }
        mode = *inner;
    }
    match mode {
        Mode::Garbage => respond(&mut stream, 200, GARBAGE.as_bytes()),
        Mode::Status(code) => {
            let body = format!(
                r#"{{"status":"error","errorType":"fake","error":"fake server answers HTTP {code}"}}"#
            );
            respond(&mut stream, code, body.as_bytes())
        }
        Mode::Hang => {
            while sleep_unless_stopped(shared, Duration::from_millis(100)) {}
            Ok(())
        }
        Mode::HugeBody(n) => {
            let prefix = br#"{"status":"success","data":{"resultType":"string","result":[0,""#;
            let suffix = br#""]}}"#;
            let pad = n.saturating_sub(prefix.len() + suffix.len());
            let total = prefix.len() + pad + suffix.len();
            write_head(&mut stream, 200, total)?;
            stream.write_all(prefix)?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = pad;
            while left > 0 {
                if shared.stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let k = left.min(chunk.len());
                stream.write_all(&chunk[..k])?;
                left -= k;
            }
            stream.write_all(suffix)?;
            stream.flush()
        }
        Mode::PartialJson => respond(&mut stream, 200, PARTIAL_JSON.as_bytes()),
        Mode::CutConnection => {
            write_head(&mut stream, 200, PARTIAL_JSON.len() * 10)?;
            stream.write_all(PARTIAL_JSON.as_bytes())?;
            stream.flush()
        }
        Mode::Json(body) => respond(&mut stream, 200, body.as_bytes()),
        Mode::Delayed(..) => unreachable!(),
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fake",
    }
}

fn write_head(stream: &mut TcpStream, code: u16, content_length: usize) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: \
         {content_length}\r\nConnection: close\r\n\r\n",
        reason(code)
    )
}

fn respond(stream: &mut TcpStream, code: u16, body: &[u8]) -> std::io::Result<()> {
    write_head(stream, code, body.len())?;
    stream.write_all(body)?;
    stream.flush()
}
