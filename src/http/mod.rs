//! The HTTP server: `/metrics`, health and readiness, the JSON API, the deploy gate, the reload
//! hook and the status page, on hyper 1 (HTTP/1.1).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//! use sloburn::exporter::{Exporter, SnapshotCell};
//! use sloburn::http::{AppState, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let snapshot = Arc::new(SnapshotCell::new());
//! let state = AppState {
//!     exporter: Arc::new(Exporter::new(Arc::clone(&snapshot))),
//!     snapshot,
//!     ready: Arc::new(AtomicBool::new(false)),
//!     reload: None,
//!     history: None,
//!     report: None,
//! };
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9099").await?;
//! serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod api;
mod auth;
mod body;
mod decode;
mod page;
mod routes;
mod server;
mod web_config;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::exporter::{Exporter, SnapshotCell};

pub use auth::Users;
pub use server::{serve, serve_with};
pub use web_config::{WebConfigError, WebConfigSource, WebSecurity};

/// What a reload request sends to whoever owns the configuration: a channel for the answer
/// (`Err` carries the message shown to the caller).
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// A request for one SLO's chart history: service, SLO, and where to send it (`None` for an
/// unknown SLO). The engine's owner answers it between evaluations.
pub type HistoryRequest = (
    String,
    String,
    oneshot::Sender<Option<Vec<crate::engine::snapshot::ChartSeries>>>,
);

/// What computes the rows of `GET /api/v1/report`: called on a blocking thread of its own,
/// never in the engine loop (the run command's is [`crate::report::live::LiveReports`]).
pub trait Reports: Send + Sync + 'static {
    /// The rows over `range`, or why there are none ([`ReportError`], which says how it is
    /// answered). `stop` is set once the asker is gone (disconnected, timed out): the answer
    /// is thrown away, so stop soon, with [`ReportError::Stopped`], never part of the rows.
    fn rows(
        &self,
        range: crate::report::Range,
        stop: &AtomicBool,
    ) -> Result<Vec<crate::report::Row>, ReportError>;
}

/// Why a report has no rows; the words are the answer's `error`.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The engine has not saved an evaluation yet: 503, as busy (no SLOs must not read as
    /// healthy).
    #[error("no evaluation saved yet, try again")]
    NotYet,
    /// Told to stop before it finished (the asker is gone, nobody reads the answer).
    #[error("the report was stopped before it finished")]
    Stopped,
    /// The history could not be read: 500, logged.
    #[error("cannot read the history for the report: {0}")]
    History(String),
}

impl From<crate::store::StoreError> for ReportError {
    fn from(e: crate::store::StoreError) -> Self {
        ReportError::History(e.to_string())
    }
}

/// `GET /api/v1/report`'s computation and the bound on how many run at once (more are
/// answered 503 busy at once rather than queued).
#[derive(Clone)]
pub struct ReportService {
    reports: Arc<dyn Reports>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl ReportService {
    pub fn new(reports: Arc<dyn Reports>, at_once: usize) -> Self {
        Self {
            reports,
            permits: Arc::new(tokio::sync::Semaphore::new(at_once.max(1))),
        }
    }
}

impl std::fmt::Debug for ReportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportService")
            .field("free", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// What every request handler can see.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The newest evaluation, for the API, the gate and the status page.
    pub snapshot: Arc<SnapshotCell>,
    /// Renders `/metrics` (from the same cell).
    pub exporter: Arc<Exporter>,
    /// Set once the engine has published its first evaluation; `/readyz` reports it.
    pub ready: Arc<AtomicBool>,
    /// `Some` only when `POST /-/reload` is enabled (`--enable-reload`).
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
    /// Where to ask for an SLO's history (`None`: the detail API answers without it).
    pub history: Option<mpsc::Sender<HistoryRequest>>,
    /// What computes reports (`None`: `/api/v1/report` answers 503).
    pub report: Option<ReportService>,
}

/// Limits of the server; [`ServeConfig::default`] suits production.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// A client must finish the TLS handshake, and then send each whole request head, within
    /// this time, or it is disconnected (defends against slow-header clients holding
    /// connections open).
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) read; a larger one is answered 431 and
    /// the connection closed. At least 8 KiB (hyper's floor).
    pub max_header_bytes: usize,
    /// Connections served at once; further clients wait in the kernel's accept queue until one
    /// closes.
    pub max_connections: usize,
    /// Largest request body accepted (only `POST /-/reload` reads one); larger ones get 413.
    pub max_body_bytes: usize,
    /// How long in-flight requests may run after shutdown begins before they are cut off.
    pub shutdown_grace: Duration,
    /// How long `POST /-/reload` waits for the reload to finish before answering 504.
    pub reload_timeout: Duration,
    /// TLS, basic auth and response headers (`--web.config.file`); `None`: plain HTTP, open.
    pub web: Option<Arc<WebConfigSource>>,
    /// How often the web config's files are looked at for a change while the server runs, so
    /// that requests on kept-alive connections are checked against changed users and headers.
    pub web_recheck: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections: 512,
            max_body_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
            reload_timeout: Duration::from_secs(60),
            web: None,
            web_recheck: Duration::from_secs(2),
        }
    }
}
