//! Where an engine's samples come from, as the engine sees it: something that brings every
//! SLO up to a tick's [`Reach`] and reports its health. The Prometheus API is one
//! ([`super::PrometheusSource`]: the engine's read plans, shared reads and catch-up); the
//! built-in scrape source, which gathers minutes itself, is another (`crate::scrape`). The
//! engine holds a `Box<dyn Source>` and never asks which.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::{Reach, SloState};
use crate::engine::snapshot::{Histogram, TargetHealth};

/// What a source is asked to do in one tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// How far to bring the histories.
    pub reach: Reach,
    /// The tick's time (unix seconds): an SLO brought up to date was last evaluated then.
    pub now: f64,
    /// SLOs finished so far in this tick, for a progress display.
    pub progress: &'a AtomicUsize,
    /// SLOs worked on at once.
    pub tasks: usize,
}

/// A source's health for `/metrics`: its requests by outcome and their durations, and (for a
/// source that scrapes) its targets.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub requests_by_outcome: BTreeMap<String, u64>,
    pub request_duration: Histogram,
    pub scrape_targets: Vec<TargetHealth>,
}

/// A future a source returns; boxed so that sources can be chosen at run time.
pub type Advance<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of samples for the engine.
///
/// ```
/// use sloburn::engine::runner::{Advance, Engine, Health, SloState, Source, Tick};
/// /// A source with nothing to give: the SLOs keep what they hold and say so.
/// struct Silent;
/// impl Source for Silent {
///     fn advance<'a>(&'a mut self, slos: &'a mut Vec<SloState>, _tick: Tick<'a>) -> Advance<'a> {
///         Box::pin(async move {
///             for s in slos.iter_mut() {
///                 s.fresh = false;
///             }
///         })
///     }
///     fn health(&self) -> Health {
///         Health::default()
///     }
///     fn lag(&self) -> std::time::Duration {
///         std::time::Duration::ZERO
///     }
/// }
/// let mut engine = Engine::new(Vec::new());
/// engine.source = Some(Box::new(Silent));
/// ```
pub trait Source: Send + Sync {
    /// Brings every SLO's history up to `tick.reach`, marking each fresh or stale (with why)
    /// as it went. One SLO's failure never touches another's numbers.
    fn advance<'a>(&'a mut self, slos: &'a mut Vec<SloState>, tick: Tick<'a>) -> Advance<'a>;

    /// Requests, their durations and targets so far.
    fn health(&self) -> Health;

    /// How far behind now a tick may read: a sample may still appear in the source this long
    /// after its timestamp (a scrape's samples appear when it ends, stamped with its start).
    fn lag(&self) -> Duration;
}
