//! A scrape target for live tests: `http_requests_total{code="200"|"500"}` growing at a fixed
//! request rate, with an error share the test sets, served on 127.0.0.1 on a port from the OS,
//! optionally answering each scrape only after a delay (a slow exporter). Both threads stop
//! when the `Target` is dropped (also when the test fails, also in the middle of a delay).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Requests per second the target reports.
pub const RATE: u64 = 50;

/// A scrape target: `http_requests_total{code="200"|"500"}` growing by [`RATE`] per second,
/// with an error share (parts per million) the test sets. Stops (both threads) on drop.
pub struct Target {
    pub port: u16,
    pub ok: Arc<AtomicU64>,
    pub errors: Arc<AtomicU64>,
    error_ppm: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Target {
    pub fn start() -> Target {
        Self::start_from(0)
    }

    /// A target whose `code="200"` counter starts at `ok` (continuing backfilled history).
    pub fn start_from(ok: u64) -> Target {
        Self::start_with(ok, Duration::ZERO)
    }

    /// A target that answers each scrape `delay` after reading the request (the counters as
    /// they stand then), as an exporter that takes that long to collect.
    pub fn start_slow(delay: Duration) -> Target {
        Self::start_with(0, delay)
    }

    fn start_with(ok: u64, delay: Duration) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the target");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let ok = Arc::new(AtomicU64::new(ok));
        let errors = Arc::new(AtomicU64::new(0));
        let error_ppm = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let traffic = {
            let (ok, errors, ppm, stop) =
                (ok.clone(), errors.clone(), error_ppm.clone(), stop.clone());
            std::thread::spawn(move || {
                // One request every 1/RATE s, on a fixed schedule (no drift); errors spread
                // evenly: a request fails whenever the accumulated share passes a whole one.
                let started = Instant::now();
                let mut n: u64 = 0;
                let mut acc: u64 = 0;
                while !stop.load(Ordering::SeqCst) {
                    let due = started + Duration::from_secs_f64(n as f64 / RATE as f64);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep((due - now).min(Duration::from_millis(20)));
                        continue;
                    }
                    acc += ppm.load(Ordering::SeqCst);
                    if acc >= 1_000_000 {
                        acc -= 1_000_000;
                        errors.fetch_add(1, Ordering::SeqCst);
                    } else {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    n += 1;
                }
            })
        };
        let server = {
            let (ok, errors, stop) = (ok.clone(), errors.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let body = || {
                                format!(
                                    "# TYPE http_requests_total counter\n\
                                     http_requests_total{{code=\"200\"}} {}\n\
                                     http_requests_total{{code=\"500\"}} {}\n",
                                    ok.load(Ordering::SeqCst),
                                    errors.load(Ordering::SeqCst)
                                )
                            };
                            let _ = answer(stream, delay, &stop, body);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Target {
            port,
            ok,
            errors,
            error_ppm,
            stop,
            threads: vec![traffic, server],
        }
    }

    pub fn set_error_share(&self, ppm: u64) {
        self.error_ppm.store(ppm, Ordering::SeqCst);
    }
}

/// Reads the request head (bounded), waits `delay` (cut short by `stop`) and answers 200 with
/// the exposition as it stands then.
fn answer(
    mut stream: TcpStream,
    delay: Duration,
    stop: &AtomicBool,
    body: impl FnOnce() -> String,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let until = Instant::now() + delay;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(
            until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
    }
    let body = body();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
