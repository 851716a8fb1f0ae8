//! Where SLI data comes from. Today: the Prometheus HTTP API (Prometheus, Thanos, Mimir, Cortex,
//! VictoriaMetrics).

pub mod inspect;
pub mod prometheus;

use std::collections::BTreeMap;

/// One series of an answer: its labels and `(unix milliseconds, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, f64)>,
}

/// Why a query gave no usable answer. Each variant is one `outcome` of
/// `sloburn_source_requests_total`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach the source: {0}")]
    Unreachable(String),
    #[error("the source did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("the source answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("the source's answer is not valid: {0}")]
    BadResponse(String),
    #[error("the source refused the query ({kind}): {message}")]
    Query { kind: String, message: String },
}

impl SourceError {
    /// The `outcome` label value for this error.
    pub fn outcome(&self) -> &'static str {
        match self {
            SourceError::Unreachable(_) => "unreachable",
            SourceError::Timeout(_) => "timeout",
            SourceError::Http { .. } => "http_error",
            SourceError::BadResponse(_) => "bad_response",
            SourceError::Query { .. } => "query_error",
        }
    }
}
