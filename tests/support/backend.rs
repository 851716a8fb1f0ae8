//! The time-series store a backfilled-truth test runs against: a real Prometheus or a real
//! VictoriaMetrics, holding the same [`Backfill`]. Test bodies take a [`Backend`] and query
//! through [`QueryApi`] (deref) or hand [`Source::url`] to sloburn.

use super::backfill::Backfill;
use super::prometheus::{Prometheus, QueryApi};
use super::victoria::Victoria;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Prometheus,
    VictoriaMetrics,
}

/// A running store of either kind; stopped on drop.
pub enum Source {
    Prometheus(Prometheus),
    VictoriaMetrics(Victoria),
}

impl Source {
    /// `backfill` in a fresh store of kind `backend` (promtool blocks, or VM's import API).
    pub fn backfilled(backend: Backend, backfill: &Backfill) -> Source {
        match backend {
            Backend::Prometheus => Source::Prometheus(Prometheus::backfilled(backfill)),
            Backend::VictoriaMetrics => Source::VictoriaMetrics(Victoria::backfilled(backfill)),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Source::Prometheus(_) => Backend::Prometheus,
            Source::VictoriaMetrics(_) => Backend::VictoriaMetrics,
        }
    }
}

impl std::ops::Deref for Source {
    type Target = QueryApi;

    fn deref(&self) -> &QueryApi {
        match self {
            Source::Prometheus(p) => p,
            Source::VictoriaMetrics(v) => v,
        }
    }
}
