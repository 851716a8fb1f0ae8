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

/// The answers of range queries over consecutive ranges, oldest first, joined: one series per
/// label set, with its points of every answer in time order (a series absent from one range
/// simply has no points there).
pub fn join_ranges(answers: Vec<Vec<Series>>) -> Vec<Series> {
    let mut joined: BTreeMap<BTreeMap<String, String>, Vec<(i64, f64)>> = BTreeMap::new();
    for series in answers.into_iter().flatten() {
        joined
            .entry(series.labels)
            .or_default()
            .extend(series.points);
    }
    joined
        .into_iter()
        .map(|(labels, points)| Series { labels, points })
        .collect()
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

#[cfg(test)]
mod tests;
