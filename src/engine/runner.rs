//! The evaluation loop's work for one tick: bring every SLO's history up to the tick's
//! [`Reach`], evaluate, persist, and build the snapshot.
//!
//! What each SLO reads is planned from its marks ([`crate::engine::read_plan`]): in steady state
//! the samples since the last tick, shared between SLOs where their selectors allow
//! ([`crate::engine::batch`]); after a gap longer than [`CATCHUP_MINUTES`] (first start, sloburn
//! or Prometheus down) the period from coarse buckets, then the last 3 days in minutes, shared
//! between SLOs in the same way (`backfill`). SLOs are
//! worked on concurrently within a limit; one SLO's failure never touches another's numbers: its
//! last good values stay and it is marked stale.
//!
//! The parts: [`SloState`] (what is kept per SLO), the [`Source`] samples come from (the
//! Prometheus API through [`PrometheusSource`]: [`catch_up`] is one SLO's reads, the
//! [`Querier`] its requests; or the scrape source), the groups of an answer ([`group_key`]),
//! and the [`Engine`] that runs them all and persists.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::core::counter::SERIES_MEMORY_MS;
use crate::core::{Counts, PromDuration, rfc3339};
use crate::engine::batch;
use crate::engine::counters::{self, Prefetched, SeriesState};
use crate::engine::evaluate::{Freshness, SloNames, evaluate_series, services};
use crate::engine::history::{FINE_SECS, FINE_SPAN_SECS, History};
use crate::engine::plan::{CounterRead, QueryPlan, Role};
use crate::engine::read_plan::{self, FineRead, ReadPlan, Span};
use crate::engine::snapshot::{ChartPoint, ChartSeries, EngineStats, Histogram, Pairs, Snapshot};
use crate::source::inspect::{find_le, le_values_of};
use crate::source::prometheus::Client;
use crate::source::{Series, SourceError};
use crate::spec::Slo;
use crate::store::{SloChanges, SloMeta, Store, StoredSeries, StoredSlo};

pub use crate::engine::read_plan::CATCHUP_MINUTES;

/// Counters of source requests, shared by all tasks of a tick.
#[derive(Debug, Default)]
pub struct SourceStats {
    pub by_outcome: BTreeMap<String, u64>,
    pub duration: Histogram,
}

mod backfill;
mod catch_up;
mod groups;
pub mod lag;
mod persist;
mod prometheus;
mod querier;
mod source;
mod state;

pub use catch_up::catch_up;
use groups::*;
pub use groups::{GroupRead, evict_gone, group_key, group_of};
pub use lag::lag_for_scrape_duration;
pub use prometheus::PrometheusSource;
pub use querier::{Querier, TickError};
pub use source::{Advance, Health, Source, Tick};
pub use state::{
    Group, SloState, continues, fingerprint, legacy_fingerprint, load_state, load_states,
};

/// The engine: SLO states, the source and the store.
pub struct Engine {
    pub slos: Vec<SloState>,
    /// Where samples come from; `None` evaluates only what the histories hold.
    pub source: Option<Box<dyn Source>>,
    pub store: Option<Arc<Store>>,
    pub reload_success: bool,
    pub reload_timestamp: f64,
    /// SLOs finished in the current tick, for a progress display.
    pub progress: Arc<std::sync::atomic::AtomicUsize>,
    /// SLOs brought up to date at once. A task holds its answers until it has all of them, so
    /// this (not the request limit) bounds a cold start's memory.
    pub tasks: usize,
    /// How long the stored history of an SLO missing from the specs is kept.
    pub absent_grace: Duration,
    /// The longest time between two evaluations of a series that its alert record counts as
    /// recorded (longer: the engine was down or behind; see [`crate::core::record`]).
    pub record_gap: Duration,
}

impl Engine {
    /// An engine over these SLOs with no source and no store: it evaluates what the histories
    /// hold. The run command adds its source and store to this.
    ///
    /// ```
    /// let engine = sloburn::engine::runner::Engine::new(Vec::new());
    /// assert!(engine.snapshot(0.0, std::time::Duration::ZERO).slos.is_empty());
    /// ```
    pub fn new(slos: Vec<SloState>) -> Self {
        Self {
            slos,
            source: None,
            store: None,
            reload_success: true,
            reload_timestamp: 0.0,
            progress: Default::default(),
            tasks: 16,
            absent_grace: Duration::from_secs(30 * 86_400),
            record_gap: record_gap(Duration::from_secs(30)),
        }
    }

    /// Keeps the stored histories of SLOs missing from the specs for [`Engine::absent_grace`],
    /// deletes older ones, and logs which and why.
    pub fn retire_absent(&self, now: i64) {
        let Some(store) = &self.store else {
            return;
        };
        let present: BTreeSet<String> = self.slos.iter().map(|s| s.slo.id()).collect();
        match store.retire_absent(&present, now, self.absent_grace) {
            Ok(done) => {
                for a in done {
                    match a {
                        crate::store::Absent::Kept { id, since, until } => tracing::info!(
                            slo = %id,
                            missing_since = %rfc3339(since),
                            kept_until = %rfc3339(until),
                            "SLO not in the specs: its stored history is kept until then in case the spec returns (`sloburn state prune` drops it now)"
                        ),
                        crate::store::Absent::Dropped { id, since } => tracing::info!(
                            slo = %id,
                            missing_since = %rfc3339(since),
                            "SLO not in the specs for longer than the grace: its stored history is deleted"
                        ),
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot look at the stored histories of SLOs missing from the specs")
            }
        }
    }

    /// Brings every SLO up to `reach` concurrently, persists, and returns the snapshot of the
    /// numbers at `now`.
    pub async fn tick(&mut self, reach: Reach, now: f64) -> Snapshot {
        let started = Instant::now();
        if let Some(source) = self.source.as_mut() {
            let tick = Tick {
                reach,
                now,
                progress: &self.progress,
                tasks: self.tasks,
            };
            source.advance(&mut self.slos, tick).await;
        }
        // Evaluated before the save, so the alert records of this evaluation are saved with it.
        let mut snapshot = self.snapshot(now, started.elapsed());
        self.record(&snapshot);
        self.persist().await;
        // The tick's answers and encoded chunks are freed by now; without this a cold start's
        // peak would stay for good (a call costs well under a millisecond: `cargo bench --bench
        // memory`).
        crate::allocator::release_free_memory();
        snapshot.engine.evaluation_duration_seconds = started.elapsed().as_secs_f64();
        tracing::debug!(slos = self.slos.len(), elapsed = ?started.elapsed(), "evaluation done");
        snapshot
    }

    /// Adds each series' evaluation in `snapshot` (built by [`Engine::snapshot`] from these
    /// states, in their order) to its alert record, at the instant its history is read to.
    fn record(&mut self, snapshot: &Snapshot) {
        let gap = self.record_gap.as_secs() as i64;
        let mut series = snapshot.slos.iter();
        for s in &mut self.slos {
            // The history kept: the period, or the 3 days of minutes when longer.
            let keep = (s.slo.period.nominal().as_secs() as i64).max(FINE_SPAN_SECS);
            let fresh = s.fresh;
            for g in s.groups.values_mut() {
                let Some(e) = series.next() else {
                    return;
                };
                let Some(at) = g.history.read_until() else {
                    continue;
                };
                let active = (fresh && e.data_present).then(|| crate::core::record::Active {
                    page: fires(e, "page"),
                    ticket: fires(e, "ticket"),
                    exhaustion: e
                        .exhaustion_alert
                        .as_ref()
                        .is_some_and(|x| x.active && !x.disabled),
                    freeze: crate::engine::evaluate::freezes(e),
                });
                let changed = g.record.observe(at, active, gap);
                // Trimmed on the hour, not every tick: else the oldest span's start moves (and
                // the record is rewritten) at every tick once the record is older than `keep`.
                let floor = (at - keep).div_euclid(3600) * 3600;
                let pruned = g.record.retain_from(floor);
                g.record_unsaved |= changed || pruned;
            }
        }
    }

    /// How far behind now ticks read: the source's lag (none without a source).
    pub fn lag(&self) -> Duration {
        self.source.as_ref().map_or(Duration::ZERO, |s| s.lag())
    }

    /// The history behind one SLO's charts, or `None` for an unknown SLO.
    pub fn chart(&self, service: &str, slo: &str) -> Option<Vec<ChartSeries>> {
        let state = self
            .slos
            .iter()
            .find(|s| s.slo.service == service && s.slo.name == slo)?;
        let objective = state.slo.objective;
        Some(
            state
                .groups
                .values()
                .map(|g| {
                    let mut so_far = Counts::default();
                    let points = g
                        .history
                        .period_buckets()
                        .into_iter()
                        .map(|(t, c)| {
                            so_far += c;
                            let ratio = crate::core::error_ratio(c);
                            ChartPoint {
                                t,
                                good: (c.total - c.bad).max(0.0),
                                total: c.total,
                                error_ratio: ratio,
                                burn_rate: crate::core::burn_rate(ratio, objective),
                                remaining: crate::core::remaining_budget(so_far, objective),
                            }
                        })
                        .collect();
                    ChartSeries {
                        group: g.labels.to_vec(),
                        points,
                    }
                })
                .collect(),
        )
    }

    /// The report over `range` of every SLO the engine runs, from its in-memory history and
    /// alert records: the same rows `sloburn report` makes from what these states save.
    pub fn report(&self, range: crate::report::Range) -> Vec<crate::report::Row> {
        let mut out = Vec::new();
        for s in &self.slos {
            let stored = StoredSlo {
                meta: s.meta(),
                buckets: s
                    .groups
                    .iter()
                    .map(|(k, g)| (k.clone(), g.history.buckets()))
                    .collect(),
                records: s
                    .groups
                    .iter()
                    .map(|(k, g)| (k.clone(), g.record.clone()))
                    .collect(),
            };
            out.extend(crate::report::rows(
                &s.slo.id(),
                &stored,
                Some(s.slo.objective),
                range,
            ));
        }
        out
    }

    /// The numbers of every SLO series as they stand.
    pub fn snapshot(&self, now: f64, took: Duration) -> Snapshot {
        let mut slos = Vec::new();
        for s in &self.slos {
            for g in s.groups.values() {
                slos.push(evaluate_series(
                    &s.slo,
                    &s.names,
                    &g.labels,
                    &g.history,
                    Freshness {
                        fresh: s.fresh,
                        last_evaluation: s.last_evaluation,
                        no_data: s.no_data(g),
                    },
                ));
            }
        }
        let services = services(&slos);
        let health = self.source.as_ref().map(|s| s.health()).unwrap_or_default();
        Snapshot {
            evaluated_at: Some(now),
            services,
            engine: EngineStats {
                version: env!("CARGO_PKG_VERSION").to_string(),
                evaluation_duration_seconds: took.as_secs_f64(),
                source_requests_total: health.requests_by_outcome,
                source_request_duration: health.request_duration,
                source_query_lag_seconds: self.source.as_ref().map(|s| s.lag().as_secs_f64()),
                slos: slos.len(),
                config_last_reload_success: self.reload_success,
                config_last_reload_timestamp: self.reload_timestamp,
                scrape_targets: health.scrape_targets,
            },
            slos,
        }
    }

    /// Replaces the SLO set: unchanged SLOs keep their state and history, changed SLIs start
    /// afresh, removed SLOs are dropped from the store.
    pub fn replace_slos(&mut self, new: Vec<Slo>) {
        let mut old: BTreeMap<String, SloState> = std::mem::take(&mut self.slos)
            .into_iter()
            .map(|s| (s.slo.id(), s))
            .collect();
        let mut next = Vec::new();
        for slo in new {
            let id = slo.id();
            let fp = fingerprint(&slo);
            match old.remove(&id) {
                Some(mut state) if state.fingerprint == fp => {
                    let same_shape = state.slo.period == slo.period
                        && state.slo.alerting.windows.windows() == slo.alerting.windows.windows();
                    if !same_shape {
                        // Rebuild the rings for the new period or windows from the same buckets.
                        let windows = slo.alerting.windows.windows();
                        // Where the buckets begin before the rebuild (the ring's oldest, for
                        // histories that never recorded it).
                        let covered = state.coarse_covered_from().or_else(|| {
                            state
                                .groups
                                .values()
                                .filter_map(|g| g.history.coarse_oldest())
                                .max()
                        });
                        for g in state.groups.values_mut() {
                            let buckets = g.history.buckets();
                            let old_res = g.history.coarse_res();
                            g.history = History::restore_from(
                                &slo.period,
                                &windows,
                                &buckets,
                                g.history.read_until(),
                                g.history.coarse_fed_until(),
                                Some(old_res),
                            );
                            // Another resolution: the stored rows are rewritten whole.
                            if g.history.coarse_res() != old_res {
                                g.history.mark_all_unsaved();
                                state.rewrite = true;
                            }
                        }
                        // A shorter ring lets its oldest buckets go: a longer period later must
                        // read them again.
                        state.coarse_from = covered;
                        state.coarse_from = state.coarse_covered_from();
                    }
                    state.names = SloNames::new(&slo);
                    state.slo = slo;
                    next.push(state);
                }
                Some(_) => {
                    tracing::info!(slo = %id, "SLI definition changed: starting a fresh history");
                    self.forget(&id);
                    next.push(SloState::new(slo, None));
                }
                None => {
                    // A spec that returns within the grace continues its stored history.
                    let state = match load_state(slo.clone(), self.store.as_deref()) {
                        Ok(state) => state,
                        Err(e) => {
                            tracing::error!(slo = %id, error = %e, "cannot read the stored history; starting a fresh one");
                            SloState::new(slo, None)
                        }
                    };
                    next.push(state);
                }
            }
        }
        self.slos = next;
    }

    fn forget(&self, id: &str) {
        if let Some(store) = &self.store
            && let Err(e) = store.remove(id)
        {
            tracing::error!(slo = %id, error = %e, "cannot remove the SLO's stored history");
        }
    }
}

/// Whether an alert of this severity fires for a series (an alert turned off never does).
fn fires(s: &crate::engine::snapshot::SloSnapshot, severity: &str) -> bool {
    s.alerts
        .iter()
        .any(|a| a.severity == severity && a.active && !a.disabled)
}

/// The gap an alert record bridges when evaluations come every `interval`: two intervals (one
/// tick may run late) plus a minute (templated SLIs read whole minutes).
pub fn record_gap(interval: Duration) -> Duration {
    interval * 2 + Duration::from_secs(60)
}

/// The end of the newest complete minute to query at `now` (unix seconds) with `lag`.
pub fn target_at(now: f64, lag: Duration) -> i64 {
    let t = (now - lag.as_secs_f64()).floor() as i64;
    t.div_euclid(FINE_SECS) * FINE_SECS
}

/// How far a tick reads: whole minutes up to `minute` (templated SLIs, backfills), and counter
/// SLIs, followed sample by sample, up to `instant` (`minute <= instant < minute + 60`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub minute: i64,
    pub instant: i64,
}

impl Reach {
    /// The reach at `now` (unix seconds) when the source may take up to `lag` to show a sample
    /// (Prometheus stores a scrape's samples when the scrape ends, stamped with its start):
    /// samples up to `now - lag`, which are all in by then, and whole minutes up to the minute
    /// that instant falls in. A read never ends where a sample may still appear behind it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sloburn::engine::runner::Reach;
    /// let lag = Duration::from_secs(5);
    /// assert_eq!(Reach::at(1_800_000_035.5, lag), Reach { minute: 1_800_000_000, instant: 1_800_000_030 });
    /// assert_eq!(Reach::at(1_800_000_003.0, lag), Reach { minute: 1_799_999_940, instant: 1_799_999_998 });
    /// ```
    pub fn at(now: f64, lag: Duration) -> Reach {
        Reach {
            minute: target_at(now, lag),
            instant: (now - lag.as_secs_f64()).floor() as i64,
        }
    }

    /// Whole minutes up to `minute` (a multiple of 60), as the scrape source and tests read.
    pub fn minute(minute: i64) -> Reach {
        Reach {
            minute,
            instant: minute,
        }
    }
}

#[cfg(test)]
mod tests;
