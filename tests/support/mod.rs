//! Shared support for integration tests that talk to a real Prometheus (and to a fake HTTP
//! server for faults Prometheus cannot produce on demand).
//!
//! Include it from a test file with `mod support;` (or `#[path = "support/mod.rs"] mod support;`).
//! Every test binary uses only part of it, hence the `dead_code` allowance.
//!
//! - [`process`]: free ports, a child-process guard that kills and waits on drop, binary lookup
//!   that fails with "run scripts/test, which installs it", a tiny blocking HTTP status probe.
//! - [`prometheus`]: start / stop / restart a real Prometheus on a data dir; async query helpers.
//! - [`victoria`]: the same for a real VictoriaMetrics (Debian package `victoria-metrics`): the
//!   backfill imported through its import API; [`backend`]: either store behind one type, so a
//!   backfilled-truth test body runs against both.
//! - [`backfill`]: synthetic history whose true counts are known, written as OpenMetrics and
//!   turned into TSDB blocks by `promtool`; per-series sample schedules (interval, phase,
//!   jitter, fractional timestamps, appear/vanish, gaps, resets); ready-made 30-day scenarios.
//! - [`truth`]: the exact events of counters in `(a, b]` and the SLI numbers built on them,
//!   written from the definition, never from engine code.
//! - [`eval`]: `sloburn eval -o json` (the real binary), run once.
//! - [`fake_http`]: a fake HTTP server with a changeable fault mode.
//! - [`chromium`]: a real headless Chromium (`--dump-dom` of a URL), killed with its helpers.
//! - [`target`]: a live scrape target whose error share the test drives.
//! - [`tls`]: a CA, server and client certificates made in the test (rcgen), HTTPS clients
//!   that trust a given CA and present a given client certificate.
//!
//! Typical use in a tokio test:
//!
//! ```ignore
//! let mut b = Backfill::thirty_days(support::backfill::now_minute());
//! scenario::steady(&mut b, "demo");
//! let prometheus = Prometheus::backfilled(&b); // temp data dir, killed and removed on drop
//! let at = b.end() - HOUR;
//! let truth = b.events("http_requests_total", &[("job", "demo"), ("code", "500")], at - HOUR, at);
//! let got = prometheus.query_scalar(r#"increase(http_requests_total{code="500"}[1h])"#, at).await;
//! ```
//!
//! If you pass your own data dir to [`prometheus::Prometheus::start`], declare its `TempDir`
//! before the `Prometheus` so the process is stopped before the directory is removed.
//!
//! Process control is synchronous (std only: it works in plain and in `#[tokio::test]` tests);
//! queries are async (reqwest), for the engine's tokio tests.
#![allow(dead_code)]

pub mod backend;
pub mod backfill;
pub mod chromium;
pub mod eval;
pub mod fake_http;
pub mod process;
pub mod prometheus;
pub mod target;
pub mod tls;
pub mod truth;
pub mod victoria;
