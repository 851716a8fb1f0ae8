//! The source as one SLO's catch-up sees it: queries that count every request by outcome,
//! and why a catch-up failed.

use super::*;

/// Queries the source on behalf of one SLO, recording every request.
#[derive(Clone)]
pub struct Querier {
    pub client: Client,
    pub stats: Arc<Mutex<SourceStats>>,
    pub limit: Arc<Semaphore>,
}

impl Querier {
    pub(crate) async fn range(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<Series>, SourceError> {
        let _permit = self.limit.acquire().await;
        let started = Instant::now();
        let result = self.client.query_range(expr, start, end, step).await;
        self.record(
            &result.as_ref().map(|_| ()).map_err(Clone::clone),
            started.elapsed(),
        );
        result.map(|a| a.series)
    }

    pub(crate) async fn instant(&self, expr: &str, at: i64) -> Result<Vec<Series>, SourceError> {
        let _permit = self.limit.acquire().await;
        let started = Instant::now();
        let result = self.client.query(expr, at).await;
        self.record(
            &result.as_ref().map(|_| ()).map_err(Clone::clone),
            started.elapsed(),
        );
        result.map(|a| a.series)
    }

    pub(super) fn record(&self, result: &Result<(), SourceError>, elapsed: Duration) {
        let outcome = match result {
            Ok(()) => "success",
            Err(e) => e.outcome(),
        };
        self.record_outcome(outcome, Some(elapsed));
    }

    /// Counts an outcome found after the request succeeded (e.g. too many series).
    pub fn record_outcome(&self, outcome: &str, elapsed: Option<Duration>) {
        if let Ok(mut s) = self.stats.lock() {
            *s.by_outcome.entry(outcome.to_string()).or_default() += 1;
            if let Some(e) = elapsed {
                s.duration.observe(e.as_secs_f64());
            }
        }
    }
}

/// Why an SLO could not be brought up to date this tick.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "the query returned {0} series where one was expected; aggregate it (e.g. sum(...)) or use group_by"
    )]
    TooManySeries(usize),
    #[error("a sample is infinite ({0}); check the query")]
    InvalidSample(String),
    #[error(
        "latency threshold {threshold} is not a bucket boundary of the histogram; its boundaries are: {boundaries}"
    )]
    NoSuchBucket { threshold: f64, boundaries: String },
}

impl TickError {
    pub(super) fn outcome(&self) -> Option<&'static str> {
        match self {
            TickError::Source(_) => None, // counted when the request ended
            TickError::TooManySeries(_) => Some("too_many_series"),
            TickError::InvalidSample(_) => Some("invalid_sample"),
            TickError::NoSuchBucket { .. } => Some("no_such_bucket"),
        }
    }
}
