//! The demo's synthetic shop: a service on 127.0.0.1 exposing golden-signal metrics (requests
//! by route and status code, a latency histogram, a connection-pool gauge) with scripted
//! incidents, and the same traffic model run backwards to fill past history.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Routes and their requests per second.
pub const ROUTES: [(&str, f64); 3] = [("/", 20.0), ("/cart", 8.0), ("/checkout", 4.0)];
/// Histogram bucket bounds (seconds).
pub const BUCKETS: [f64; 5] = [0.05, 0.1, 0.25, 0.5, 1.0];
/// The scripted incidents repeat with this period (seconds).
pub const CYCLE: f64 = 15.0 * 60.0;
/// The first error burst began this long before the demo started, so a page is due at once.
pub const LEAD: f64 = 120.0;

/// How the shop behaves at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Share of failing requests, per route (in [`ROUTES`] order).
    pub error_share: [f64; 3],
    /// Share of requests slower than 250ms.
    pub slow_share: f64,
    /// Connection pool in use, 0..1.
    pub pool: f64,
}

/// The script: within each 15-minute cycle (starting `LEAD` before the demo), checkout fails
/// completely for 4 minutes (an error burst), then latency regresses for 3 minutes, then the
/// pool saturates for 2. Before the demo started, a quieter past with three old incidents and
/// the weekly maintenance's vacuum.
pub fn conditions(t: f64, start: f64) -> Conditions {
    let base = Conditions {
        error_share: [0.0002, 0.0002, 0.0004],
        slow_share: 0.004,
        pool: 0.55 + 0.1 * ((t / 3600.0) * std::f64::consts::TAU / 24.0).sin(),
    };
    if t >= start - LEAD {
        let phase = (t - start + LEAD).rem_euclid(CYCLE);
        let mut c = base;
        if phase < 240.0 {
            c.error_share[2] = 1.0;
        } else if (300.0..480.0).contains(&phase) {
            c.slow_share = 0.3;
        } else if (540.0..660.0).contains(&phase) {
            c.pool = 0.97;
        }
        return c;
    }
    let ago = start - t;
    let mut c = base;
    // Nine days ago: a partial checkout outage of 45 minutes.
    if (9.0 * 86400.0..9.0 * 86400.0 + 2700.0).contains(&ago) {
        c.error_share[2] = 0.05;
    }
    // Four days ago: an hour of slow responses.
    if (4.0 * 86400.0..4.0 * 86400.0 + 3600.0).contains(&ago) {
        c.slow_share = 0.05;
    }
    // Two days ago: the pool saturated for 20 minutes.
    if (2.0 * 86400.0..2.0 * 86400.0 + 1200.0).contains(&ago) {
        c.pool = 0.95;
    }
    // Every Sunday 02:00-02:30 UTC: the vacuum of the weekly database maintenance saturates
    // the pool (the demo spec's `weekly-db-maintenance` correction takes it out of the budget).
    if in_maintenance_vacuum(t) {
        c.pool = 0.96;
    }
    c
}

/// Sunday 02:00-02:30 UTC (1970-01-01, day 0, was a Thursday: Sunday is day 3 mod 7).
pub fn in_maintenance_vacuum(t: f64) -> bool {
    let day = t.div_euclid(86400.0) as i64;
    let second = t.rem_euclid(86400.0);
    day.rem_euclid(7) == 3 && (2.0 * 3600.0..2.5 * 3600.0).contains(&second)
}

/// Cumulative counters the shop exposes.
#[derive(Debug, Default, Clone)]
struct Counters {
    /// Per route: (ok, errors).
    requests: [(f64, f64); 3],
    /// Cumulative bucket counts (per `BUCKETS`), count and sum.
    buckets: [f64; 5],
    count: f64,
    sum: f64,
    pool: f64,
}

/// The running shop.
pub struct Shop {
    pub url: String,
    counters: Arc<Mutex<Counters>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Shop {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Shop {
    /// Starts the shop on 127.0.0.1 (a port the OS picks); `start` is the demo's start time.
    pub async fn start(
        start: f64,
        now: impl Fn() -> f64 + Send + 'static,
    ) -> std::io::Result<Shop> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/metrics", listener.local_addr()?);
        let counters = Arc::new(Mutex::new(Counters::default()));
        let traffic = {
            let counters = counters.clone();
            tokio::spawn(async move {
                let step = 0.25;
                loop {
                    let c = conditions(now(), start);
                    if let Ok(mut k) = counters.lock() {
                        for (i, (_, rps)) in ROUTES.iter().enumerate() {
                            let n = rps * step;
                            k.requests[i].1 += n * c.error_share[i];
                            k.requests[i].0 += n * (1.0 - c.error_share[i]);
                            // Latency: most requests fast, `slow_share` above 250ms.
                            let fast = n * (1.0 - c.slow_share);
                            let slow = n * c.slow_share;
                            k.buckets[0] += fast * 0.6;
                            k.buckets[1] += fast * 0.9;
                            k.buckets[2] += fast;
                            k.buckets[3] += fast + slow * 0.5;
                            k.buckets[4] += fast + slow * 0.9;
                            k.count += n;
                            k.sum += fast * 0.08 + slow * 0.6;
                        }
                        k.pool = c.pool;
                    }
                    tokio::time::sleep(Duration::from_secs_f64(step)).await;
                }
            })
        };
        let server = {
            let counters = counters.clone();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let counters = counters.clone();
                    tokio::spawn(async move {
                        let mut buf = [0u8; 4096];
                        // One request per connection; the head is all we need to read.
                        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                            .await;
                        let body = counters.lock().map(|k| render(&k)).unwrap_or_default();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(body.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
            })
        };
        Ok(Shop {
            url,
            counters,
            tasks: vec![traffic, server],
        })
    }

    /// The exposition text as it stands (for tests).
    pub fn render(&self) -> String {
        self.counters.lock().map(|k| render(&k)).unwrap_or_default()
    }
}

/// Counters are written as whole requests (floored), as a real service counts them.
fn render(k: &Counters) -> String {
    let mut out = String::new();
    out.push_str("# HELP demo_http_requests_total Requests served, by route and status code.\n# TYPE demo_http_requests_total counter\n");
    for (i, (route, _)) in ROUTES.iter().enumerate() {
        let (ok, err) = k.requests[i];
        let _ = writeln!(
            out,
            "demo_http_requests_total{{route=\"{route}\",code=\"200\"}} {}",
            ok.floor()
        );
        let _ = writeln!(
            out,
            "demo_http_requests_total{{route=\"{route}\",code=\"500\"}} {}",
            err.floor()
        );
    }
    out.push_str("# HELP demo_http_request_duration_seconds Request latency.\n# TYPE demo_http_request_duration_seconds histogram\n");
    for (i, le) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "demo_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
            k.buckets[i].floor()
        );
    }
    let _ = writeln!(
        out,
        "demo_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        k.count.floor()
    );
    let _ = writeln!(out, "demo_http_request_duration_seconds_sum {:.3}", k.sum);
    let _ = writeln!(
        out,
        "demo_http_request_duration_seconds_count {}",
        k.count.floor()
    );
    out.push_str("# HELP demo_connection_pool_utilisation Share of the database connection pool in use.\n# TYPE demo_connection_pool_utilisation gauge\n");
    let _ = writeln!(out, "demo_connection_pool_utilisation {:.3}", k.pool);
    out
}
