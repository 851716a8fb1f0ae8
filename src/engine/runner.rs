//! The evaluation loop's work for one tick: bring every SLO's history up to the newest complete
//! minute (backfilling whatever is missing), evaluate, persist, and build the snapshot.
//!
//! Per SLO and tick, in steady state, one range query per expression asks for the minutes since
//! the last tick (usually one point). After a gap longer than [`CATCHUP_MINUTES`] (first start,
//! sloburn or Prometheus down), the period is first rebuilt from coarse buckets (1h), then the
//! last 3 days from minutes. SLOs are worked on concurrently within a limit; one SLO's failure
//! never touches another's numbers: its last good values stay and it is marked stale.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::core::counter::SERIES_MEMORY_MS;
use crate::core::{Counts, PromDuration};
use crate::engine::batch;
use crate::engine::counters::{self, Prefetched, SeriesState};
use crate::engine::evaluate::{Freshness, SloNames, evaluate_series, services};
use crate::engine::history::{FINE_SECS, History};
use crate::engine::plan::{CounterRead, QueryPlan, Role};
use crate::engine::read_plan::{self, FineRead, Span};
use crate::engine::snapshot::{ChartPoint, ChartSeries, EngineStats, Histogram, Pairs, Snapshot};
use crate::scrape::Scraper;
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

/// One group of an SLO (the only one for an ungrouped SLO, with key `""`).
#[derive(Debug, Clone)]
pub struct Group {
    pub labels: Pairs,
    pub history: History,
    /// Unix seconds of the newest instant the source showed this group any series (for
    /// counter SLIs, of its `total` selector); `None` until it has.
    pub seen: Option<i64>,
}

/// Everything the engine keeps about one SLO.
#[derive(Debug, Clone)]
pub struct SloState {
    pub slo: Slo,
    /// The texts naming this SLO's series, built with `slo` (rebuilt whenever `slo` changes).
    pub names: SloNames,
    pub plan: QueryPlan,
    pub fingerprint: String,
    /// Boxed: a map node holds room for 11 entries, and a `Group` inline (its history's ring
    /// headers) would cost ~3 KiB per SLO for the one group most SLOs have.
    pub groups: BTreeMap<String, Box<Group>>,
    pub fine_fed_until: Option<i64>,
    pub coarse_fed_until: Option<i64>,
    pub fresh: bool,
    pub last_evaluation: f64,
    /// Why the last tick failed, if it did (logged once per change, not per tick).
    pub last_error: Option<String>,
    /// Groups seen beyond `max_groups` in the last tick.
    pub groups_dropped: usize,
    /// The last sample of each counter series read (counter SLIs only).
    pub series: SeriesState,
    /// Whether the source has answered for this SLO since the process started (or its history
    /// was restored): before that, it has no data of its own.
    pub answered: bool,
    /// The reads that matched a series since the process started (for the log).
    pub matched: BTreeSet<Role>,
    /// What the log last said about this SLO's data being absent (said once, not every tick).
    pub said_no_data: Option<String>,
    /// Whether the log has said that the errors selector matches no series.
    pub said_no_errors: bool,
    /// Whether the scrape interval behind a templated query was looked at (once per process).
    pub checked_scrapes: bool,
    /// Whether any group has had a series within the series memory (updated each tick).
    pub any_recent: bool,
    /// This tick's samples, read by a query shared with other SLOs (taken by the tick).
    pub prefetched: Option<Prefetched>,
}

impl SloState {
    /// A fresh state, or one rebuilt from the store when the SLI definition is unchanged.
    pub fn new(slo: Slo, stored: Option<StoredSlo>) -> Self {
        let fingerprint = fingerprint(&slo);
        let windows = slo.alerting.windows.windows();
        let mut state = Self {
            plan: QueryPlan::new(&slo),
            names: SloNames::new(&slo),
            fingerprint: fingerprint.clone(),
            groups: BTreeMap::new(),
            fine_fed_until: None,
            coarse_fed_until: None,
            fresh: false,
            last_evaluation: 0.0,
            last_error: None,
            groups_dropped: 0,
            series: SeriesState::default(),
            answered: false,
            matched: BTreeSet::new(),
            said_no_data: None,
            said_no_errors: false,
            checked_scrapes: false,
            any_recent: false,
            prefetched: None,
            slo,
        };
        if let Some(stored) = stored.filter(|s| s.meta.fingerprint == fingerprint) {
            for (key, labels) in &stored.meta.groups {
                let buckets = stored.buckets.get(key).map(Vec::as_slice).unwrap_or(&[]);
                let history = History::restore(
                    &state.slo.period,
                    &windows,
                    buckets,
                    stored.meta.fine_fed_until,
                    stored.meta.coarse_fed_until,
                );
                state.groups.insert(
                    key.clone(),
                    Box::new(Group {
                        labels: labels.as_slice().into(),
                        history,
                        seen: stored.meta.seen.get(key).copied(),
                    }),
                );
            }
            state.fine_fed_until = stored.meta.fine_fed_until;
            state.coarse_fed_until = stored.meta.coarse_fed_until;
            // The stored numbers are the source's earlier answers (shown stale until it answers).
            state.answered = stored.meta.fine_fed_until.is_some();
            state.series = SeriesState {
                last: stored
                    .meta
                    .series
                    .iter()
                    .filter_map(|s| {
                        let role = Role::from_code(s.role)?;
                        let last = crate::core::counter::LastSample {
                            t_ms: s.t_ms,
                            value: s.value,
                        };
                        Some(((role, s.series.clone()), last))
                    })
                    .collect(),
                seeded: stored.meta.series_seeded,
            };
        }
        // Every SLO has a series from the start, so it is exported (without data) before the
        // source ever answered: an ungrouped SLO its one, a grouped one a stand-in without
        // group labels until its first group appears (else an SLO whose selector matches
        // nothing would not show at all, and the gate would not know it).
        if state.groups.is_empty() {
            group_of(&mut state, "");
        }
        state.update_recent();
        state
    }

    /// The history of one group, created with these labels if new (key `""` when ungrouped).
    pub fn group_mut(&mut self, key: &str, labels: Vec<(String, String)>) -> &mut History {
        let g = group_of(self, key);
        if g.labels.is_empty() {
            g.labels = labels.into();
        }
        &mut g.history
    }

    /// Why a group of this SLO has no data to show, or `None` when it has: before the source
    /// first answered usably, while nothing matches, or when the SLO's series have all been
    /// silent for longer than the series memory. A group gone quiet while others have data keeps
    /// its numbers: its history is real and only its traffic stopped (a retired route, a pod
    /// replaced). Zero traffic on series that exist is data (0 events).
    pub fn no_data(&self, g: &Group) -> Option<Arc<str>> {
        if !self.answered {
            return Some(match &self.last_error {
                Some(e) => format!("no usable answer from the source yet: {e}").into(),
                None => "no answer from the source yet".into(),
            });
        }
        if self.recent(g) || (g.seen.is_some() && self.any_recent) {
            return None;
        }
        match g.seen {
            None => Some(format!("no series matches {}", self.data_query()).into()),
            Some(t) => {
                let when = chrono::DateTime::from_timestamp(t, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_else(|| t.to_string());
                Some(format!("no series of {} since {when}", self.data_query()).into())
            }
        }
    }

    /// Whether the source showed this group a series within the series memory.
    fn recent(&self, g: &Group) -> bool {
        match (g.seen, self.fine_fed_until) {
            (Some(t), Some(fed)) => fed - t <= SERIES_MEMORY_MS / 1000,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Recomputes whether any group has recent data (once per tick, not per group).
    fn update_recent(&mut self) {
        self.any_recent = self.groups.values().any(|g| self.recent(g));
    }

    /// The selector or query whose series show that the SLO has data.
    fn data_query(&self) -> String {
        if let Some(total) = self.plan.total_selector() {
            return total;
        }
        match &self.slo.sli {
            crate::spec::Sli::Events { total_query, .. } => total_query.trim().to_string(),
            crate::spec::Sli::Raw { error_ratio_query } => error_ratio_query.trim().to_string(),
            crate::spec::Sli::Threshold { query, .. } => query.trim().to_string(),
            other => other.kind().to_string(),
        }
    }

    /// Logs, once per change, that the SLO has no data (and why) or has it again, and once that
    /// its errors selector matches no series (errors then count as 0: often a typo).
    fn report_presence(&mut self) {
        self.update_recent();
        if !self.answered {
            return;
        }
        let missing: Vec<Arc<str>> = self
            .groups
            .values()
            .filter_map(|g| self.no_data(g))
            .collect();
        let now = (!missing.is_empty() && missing.len() == self.groups.len())
            .then(|| missing[0].to_string());
        if now != self.said_no_data {
            match &now {
                Some(why) => {
                    tracing::warn!(slo = %self.slo.id(), reason = %why, "the SLO has no data: no budget, ratio or burn rate is exported for it, and its service's gate cannot tell")
                }
                None => tracing::info!(slo = %self.slo.id(), "the SLO has data again"),
            }
            self.said_no_data = now;
        }
        let errors = self
            .plan
            .counter_reads()
            .and_then(|r| r.into_iter().find(|r| r.role == Role::Bad));
        if let Some(errors) = errors
            && !self.said_no_errors
            && self.matched.contains(&Role::Total)
            && !self.matched.contains(&Role::Bad)
        {
            tracing::warn!(slo = %self.slo.id(), selector = %errors.selector, "no series matches the errors selector (yet): errors count as 0 until one appears; check it for a typo");
            self.said_no_errors = true;
        }
    }

    /// How far this SLO reads at `reach`: counter SLIs to its instant, others to its minute.
    pub fn reach(&self, reach: Reach) -> i64 {
        if self.plan.counts_samples() {
            reach.instant
        } else {
            reach.minute
        }
    }

    /// The stored form of this SLO's markers.
    pub fn meta(&self) -> SloMeta {
        SloMeta {
            fingerprint: self.fingerprint.clone(),
            fine_fed_until: self.fine_fed_until,
            coarse_fed_until: self.coarse_fed_until,
            groups: self
                .groups
                .iter()
                .map(|(k, g)| (k.clone(), g.labels.to_vec()))
                .collect(),
            seen: self
                .groups
                .iter()
                .filter_map(|(k, g)| Some((k.clone(), g.seen?)))
                .collect(),
            series: self
                .series
                .last
                .iter()
                .map(|((role, series), last)| StoredSeries {
                    role: role.code(),
                    series: series.clone(),
                    t_ms: last.t_ms,
                    value: last.value,
                })
                .collect(),
            series_seeded: self.series.seeded,
        }
    }
}

/// What identifies an SLO's history: its SLI, grouping and how it is counted. A change to any
/// (a new query) starts a fresh history; a change to the objective or alerting keeps it.
pub fn fingerprint(slo: &Slo) -> String {
    // Counter SLIs counted from raw samples (since 0.3) do not continue a history of
    // `increase()` buckets, which read 0 at a 60 s scrape interval: they rebuild once.
    let counted = if QueryPlan::new(slo).counter_reads().is_some() {
        "|counted-from-samples"
    } else {
        ""
    };
    let text = format!("{:?}|{:?}{counted}", slo.sli, slo.group_by);
    // FNV-1a: stable across builds, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

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

    fn record(&self, result: &Result<(), SourceError>, elapsed: Duration) {
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
    fn outcome(&self) -> Option<&'static str> {
        match self {
            TickError::Source(_) => None, // counted when the request ended
            TickError::TooManySeries(_) => Some("too_many_series"),
            TickError::InvalidSample(_) => Some("invalid_sample"),
            TickError::NoSuchBucket { .. } => Some("no_such_bucket"),
        }
    }
}

/// Brings one SLO up to `reach`: counter SLIs read sample by sample up to its instant, other
/// SLIs (and backfills) in whole minutes up to its minute ([`read_plan::plan`]).
pub async fn catch_up(state: &mut SloState, q: &Querier, reach: Reach) -> Result<bool, TickError> {
    let Some(plan) = read_plan::plan(
        state.fine_fed_until,
        state.coarse_fed_until,
        reach,
        state.plan.counts_samples(),
        &state.slo.period,
    ) else {
        return Ok(false);
    };
    let target = reach.minute;
    resolve_le(state, q, target).await?;
    let reads = state.plan.counter_reads();
    let good_reads = reads
        .as_ref()
        .is_some_and(|r| r.iter().any(|r| r.role == Role::Good));
    let group_by = state.slo.group_by.clone();
    if let Some((Span { from, to }, res)) = plan.coarse {
        let read = match &reads {
            // Boundaries an hour apart at most (the series memory covers every pair then),
            // gathered into the ring's wider buckets for long periods.
            Some(reads) => {
                let width = res.min(3600);
                let counts =
                    counters::read_boundaries(q, reads, &group_by, from, to, width).await?;
                rebucket(counts, res, good_reads)
            }
            None => {
                let queries = state
                    .plan
                    .bucket_queries(PromDuration::from_secs(res as u64));
                let (bad, total) = tokio::try_join!(
                    q.range(&queries.bad, from + res, to, res),
                    q.range(&queries.total, from + res, to, res),
                )?;
                pair(&group_by, bad, total)?
            }
        };
        for (key, g) in admit(state, read) {
            let group = group_of(state, &key);
            group.seen = group.seen.max(g.seen);
            for (t, c) in g.points {
                group.history.push_coarse(t, c);
            }
        }
        state.coarse_fed_until = Some(to);
    }
    let Span { from, to: upto } = plan.fine;
    let read = match (&reads, plan.how) {
        (Some(reads), FineRead::Boundaries) => {
            let mut counts =
                counters::read_boundaries(q, reads, &group_by, from, upto, FINE_SECS).await?;
            // Each series' last sample, for the steady reads that follow.
            let mut series = SeriesState::default();
            let seeds = counters::read_raw(
                q,
                reads,
                &group_by,
                &mut series,
                upto,
                upto,
                FINE_SECS,
                None,
            )
            .await?;
            counters::merge_seen(&mut counts, seeds);
            state.series = series;
            rebucket(counts, FINE_SECS, good_reads)
        }
        (Some(reads), _) => {
            let counts = counters::read_raw(
                q,
                reads,
                &group_by,
                &mut state.series,
                from,
                upto,
                FINE_SECS,
                state.prefetched.take(),
            )
            .await?;
            rebucket(counts, FINE_SECS, good_reads)
        }
        (None, _) => {
            let queries = state
                .plan
                .bucket_queries(PromDuration::from_secs(FINE_SECS as u64));
            let (bad, total) = tokio::try_join!(
                q.range(&queries.bad, from + FINE_SECS, upto, FINE_SECS),
                q.range(&queries.total, from + FINE_SECS, upto, FINE_SECS),
            )?;
            pair(&group_by, bad, total)?
        }
    };
    for (key, g) in admit(state, read) {
        state.matched.extend(g.matched.iter().copied());
        let group = group_of(state, &key);
        group.seen = group.seen.max(g.seen);
        for (t, c) in g.points {
            if t <= upto {
                group.history.push_minute(t, c);
            } else {
                // The minute `upto` falls in: open until later reads close it.
                group.history.push_partial(upto, c);
            }
        }
    }
    for g in state.groups.values_mut() {
        g.history.mark_empty_until(upto);
    }
    state.fine_fed_until = Some(upto);
    state.coarse_fed_until = Some(state.coarse_fed_until.map_or(upto, |c| c.max(upto)));
    state.answered = true;
    if reads.is_none() && !state.checked_scrapes {
        state.checked_scrapes = warn_if_buckets_hold_one_sample(state, q, target).await;
    }
    Ok(true)
}

/// Templated PromQL is evaluated per 1-minute bucket by the source, so `rate(x[1m])` needs two
/// samples a minute: at a longer scrape interval its buckets read nothing. Said once per SLO,
/// with the way out; the inspection's own failures only go to the debug log. False to look again
/// at a later tick (nothing to judge yet, or the inspection failed).
async fn warn_if_buckets_hold_one_sample(state: &SloState, q: &Querier, at: i64) -> bool {
    let templates: Vec<&str> = match &state.slo.sli {
        crate::spec::Sli::Events {
            error_query,
            total_query,
        } => vec![error_query, total_query],
        crate::spec::Sli::Raw { error_ratio_query } => vec![error_ratio_query],
        _ => return true,
    };
    let mut selectors: Vec<String> = templates
        .into_iter()
        .flat_map(crate::source::inspect::template_selectors)
        .collect();
    selectors.sort();
    selectors.dedup();
    // Decided once some selector could be judged (an errors selector often has no series
    // before the first error); while none can (no data yet), looked at again next tick.
    let mut judged = false;
    let mut failed = false;
    for selector in selectors {
        let started = Instant::now();
        let interval = {
            let _permit = q.limit.acquire().await;
            crate::source::inspect::scrape_interval(&q.client, &selector, at).await
        };
        q.record(
            &interval.as_ref().map(|_| ()).map_err(Clone::clone),
            started.elapsed(),
        );
        match interval {
            Ok(Some(i)) if i > Duration::from_secs(FINE_SECS as u64 / 2) => {
                tracing::warn!(
                    slo = %state.slo.id(),
                    selector = %selector,
                    scrape_interval = ?i,
                    "a 1-minute bucket of this templated query holds fewer than two samples at the observed scrape interval, so rate() over it reads nothing and the SLO undercounts; write the SLI as `ratio`/`latency` selectors or as sum(rate(SELECTOR[{{{{.window}}}}])), which sloburn counts exactly at any interval"
                );
                return true;
            }
            Ok(Some(_)) => judged = true,
            Ok(None) => {}
            Err(e) => {
                failed = true;
                tracing::debug!(slo = %state.slo.id(), selector = %selector, error = %e, "cannot estimate the scrape interval")
            }
        }
    }
    judged && !failed
}

/// What one read gave for one group: its labels, counts per bucket end, and the newest instant
/// at which the source showed it any series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupRead {
    pub labels: Vec<(String, String)>,
    pub points: BTreeMap<i64, Counts>,
    pub seen: Option<i64>,
    /// Which of the SLO's reads (or bad/total queries) matched a series of this group.
    pub matched: BTreeSet<Role>,
}

/// Counter reads gathered into buckets of `width` seconds, as bad and total events.
fn rebucket(
    counts: counters::RoleCounts,
    width: i64,
    good_reads: bool,
) -> BTreeMap<String, GroupRead> {
    counts
        .into_iter()
        .map(|(key, g)| {
            let mut points: BTreeMap<i64, Counts> = BTreeMap::new();
            let mut events: BTreeMap<i64, counters::RoleEvents> = BTreeMap::new();
            for (end, e) in g.buckets {
                let b = events
                    .entry(crate::core::counter::bucket_end(end * 1000, width))
                    .or_default();
                b.bad += e.bad;
                b.total += e.total;
                b.good += e.good;
            }
            for (end, e) in events {
                points.insert(end, e.counts(good_reads));
            }
            (
                key,
                GroupRead {
                    labels: g.labels,
                    points,
                    seen: g.seen,
                    matched: g.matched,
                },
            )
        })
        .collect()
}

/// For latency SLIs, finds how the histogram writes the threshold's `le` (e.g. `0.3` or `0.30`).
async fn resolve_le(state: &mut SloState, q: &Querier, at: i64) -> Result<(), TickError> {
    let (Some(lookup), Some(threshold)) = (state.plan.le_lookup(), state.plan.latency_threshold())
    else {
        return Ok(());
    };
    if state.plan.le_value.is_some() {
        return Ok(());
    }
    let series = q.instant(&lookup, at).await?;
    if series.is_empty() {
        return Ok(()); // no data yet: the default spelling is tried, and looked up again later
    }
    let boundaries = le_values_of(&series);
    match find_le(threshold, &boundaries) {
        Some(le) => {
            state.plan.le_value = Some(le.to_string());
            Ok(())
        }
        None => Err(TickError::NoSuchBucket {
            threshold,
            boundaries: boundaries.join(", "),
        }),
    }
}

/// The key of a series' group (its `group_by` label values, joined) and its labels, with
/// `value` giving a label's value. The store keys histories by it, so every source uses this.
///
/// ```
/// let by = ["route".to_string()];
/// let (key, labels) = sloburn::engine::runner::group_key(&by, |_| "/pay".to_string());
/// assert_eq!(key, "route=/pay");
/// assert_eq!(labels, [("route".to_string(), "/pay".to_string())]);
/// ```
pub fn group_key(
    group_by: &[String],
    value: impl Fn(&str) -> String,
) -> (String, Vec<(String, String)>) {
    let pairs: Vec<(String, String)> = group_by.iter().map(|l| (l.clone(), value(l))).collect();
    let key = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\u{1f}");
    (key, pairs)
}

fn group_of<'a>(state: &'a mut SloState, key: &str) -> &'a mut Group {
    // Looked up before inserting: the common case (a known group) allocates nothing.
    if !state.groups.contains_key(key) {
        // A grouped SLO's stand-in series gives way to its first real group (a real group's
        // key names its labels, so it is never `""`).
        if !key.is_empty() {
            state.groups.remove("");
        }
        let history = History::new(&state.slo.period, &state.slo.alerting.windows.windows());
        state.groups.insert(
            key.to_string(),
            Box::new(Group {
                labels: Pairs::default(),
                history,
                seen: None,
            }),
        );
    }
    match state.groups.get_mut(key) {
        Some(g) => g,
        None => unreachable!("inserted above"),
    }
}

/// Joins the bad and total answers of bucket queries into counts per group and bucket end.
fn pair(
    group_by: &[String],
    bad: Vec<Series>,
    total: Vec<Series>,
) -> Result<BTreeMap<String, GroupRead>, TickError> {
    if group_by.is_empty() && (bad.len() > 1 || total.len() > 1) {
        return Err(TickError::TooManySeries(bad.len().max(total.len())));
    }
    let mut out: BTreeMap<String, GroupRead> = BTreeMap::new();
    for (is_bad, series) in [(true, bad), (false, total)] {
        for s in series {
            let (key, labels) =
                group_key(group_by, |l| s.labels.get(l).cloned().unwrap_or_default());
            let g = out.entry(key).or_insert_with(|| GroupRead {
                labels,
                ..Default::default()
            });
            g.matched
                .insert(if is_bad { Role::Bad } else { Role::Total });
            for (t_ms, v) in s.points {
                let t = t_ms.div_euclid(1000);
                if v.is_infinite() {
                    return Err(TickError::InvalidSample(format!("{v} at {t}")));
                }
                if !is_bad {
                    // A point, even NaN (no traffic for a raw ratio), shows the series exists.
                    g.seen = g.seen.max(Some(t));
                }
                if v.is_nan() {
                    continue; // no data in that bucket (e.g. 0/0 with no traffic)
                }
                let c = g.points.entry(t).or_default();
                if is_bad {
                    c.bad += v.max(0.0);
                } else {
                    c.total += v.max(0.0);
                }
            }
        }
    }
    Ok(out)
}

/// The groups of a read the SLO may track: known ones, and new ones up to `max_groups`
/// (created with their labels); the rest are counted in `groups_dropped`.
fn admit(state: &mut SloState, read: BTreeMap<String, GroupRead>) -> Vec<(String, GroupRead)> {
    let mut dropped = 0;
    let mut out = Vec::with_capacity(read.len());
    // A grouped SLO's stand-in series (key `""`) is no group: it leaves with the first one.
    let grouped = !state.slo.group_by.is_empty();
    for (key, g) in read {
        if !state.groups.contains_key(&key) {
            let stand_in = usize::from(grouped && state.groups.contains_key(""));
            if state.groups.len() - stand_in >= state.slo.max_groups as usize {
                dropped += 1;
                continue;
            }
            group_of(state, &key).labels = g.labels.clone().into();
        }
        out.push((key, g));
    }
    state.groups_dropped = dropped;
    out
}

/// The engine: SLO states, the source and the store.
pub struct Engine {
    pub slos: Vec<SloState>,
    /// The Prometheus source; `None` with the scrape source.
    pub querier: Option<Querier>,
    /// The scrape source, which gathers minutes in the background; `None` with Prometheus.
    pub scraper: Option<Arc<Scraper>>,
    pub store: Option<Arc<Store>>,
    pub reload_success: bool,
    pub reload_timestamp: f64,
    /// SLOs that needed a backfill in the last tick (logged when it changes).
    pub last_backfilling: usize,
    /// Why the last idle-tick probe of the source failed, if it did.
    pub source_error: Option<String>,
    /// SLOs finished in the current tick, for a progress display.
    pub progress: Arc<std::sync::atomic::AtomicUsize>,
    /// SLOs brought up to date at once. A task holds its answers until it has all of them, so
    /// this (not the request limit) bounds a cold start's memory.
    pub tasks: usize,
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
            querier: None,
            scraper: None,
            store: None,
            reload_success: true,
            reload_timestamp: 0.0,
            last_backfilling: 0,
            source_error: None,
            progress: Default::default(),
            tasks: 16,
        }
    }

    /// Brings every SLO up to `reach` concurrently, persists, and returns the snapshot of the
    /// numbers at `now`.
    pub async fn tick(&mut self, reach: Reach, now: f64) -> Snapshot {
        let started = Instant::now();
        if let Some(scraper) = self.scraper.clone() {
            self.take_scraped(&scraper, reach.minute, now);
        } else if let Some(querier) = self.querier.clone() {
            self.query(&querier, reach, now).await;
        }
        self.persist().await;
        // The tick's answers and encoded chunks are freed by now; without this a cold start's
        // peak would stay for good (a call costs well under a millisecond: `cargo bench --bench
        // memory`).
        crate::allocator::release_free_memory();
        let snapshot = self.snapshot(now, started.elapsed());
        tracing::debug!(slos = self.slos.len(), elapsed = ?started.elapsed(), "evaluation done");
        snapshot
    }

    /// Brings every SLO's history up to `target` from Prometheus, concurrently.
    async fn query(&mut self, querier: &Querier, reach: Reach, now: f64) {
        let target = reach.minute;
        let mut set = JoinSet::new();
        let total = self.slos.len();
        // SLOs already up to date send no query this tick: one probe of the source stands in.
        let idle: Vec<bool> = self
            .slos
            .iter()
            .map(|s| s.fine_fed_until.is_some_and(|f| f >= s.reach(reach)))
            .collect();
        let backfilling = self
            .slos
            .iter()
            .filter(|s| {
                s.fine_fed_until
                    .is_none_or(|f| target - f > CATCHUP_MINUTES * FINE_SECS)
            })
            .count();
        if backfilling > 0 && backfilling != self.last_backfilling {
            tracing::info!(slos = backfilling, "backfilling history from the source");
        }
        self.last_backfilling = backfilling;
        self.prefetch(querier, reach).await;
        let slots = Arc::new(Semaphore::new(self.tasks.max(1)));
        for (index, mut state) in std::mem::take(&mut self.slos).into_iter().enumerate() {
            let q = querier.clone();
            let slots = slots.clone();
            set.spawn(async move {
                let result = {
                    let _slot = slots.acquire_owned().await;
                    catch_up(&mut state, &q, reach).await
                };
                match &result {
                    // Nothing new to read yet: freshness stays what the last read made it (a
                    // restart is stale until the source has answered once).
                    Ok(false) => {}
                    Ok(true) => {
                        state.fresh = true;
                        state.last_evaluation = now;
                        if state.last_error.take().is_some() {
                            tracing::info!(slo = %state.slo.id(), "SLO data is readable again");
                        }
                    }
                    Err(e) => {
                        if let Some(outcome) = e.outcome() {
                            q.record_outcome(outcome, None);
                        }
                        state.fresh = false;
                        let msg = e.to_string();
                        // Log a failure when it starts or changes, not on every tick.
                        if state.last_error.as_deref() != Some(msg.as_str()) {
                            tracing::warn!(slo = %state.slo.id(), error = %msg, "cannot update SLO; keeping its last values, marked stale");
                            state.last_error = Some(msg);
                        }
                    }
                }
                state.report_presence();
                if state.groups_dropped > 0 {
                    tracing::warn!(slo = %state.slo.id(), cap = state.slo.max_groups, dropped = state.groups_dropped, "group_by cap reached: series of further groups are ignored (raise max_groups to track them)");
                }
                (index, state)
            });
        }
        let probe_failed = if idle.iter().any(|i| *i) {
            self.probe(target).await
        } else {
            false
        };
        let mut done: Vec<Option<SloState>> = vec![None; total];
        let mut finished = 0usize;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((index, state)) => {
                    done[index] = Some(state);
                    finished += 1;
                    self.progress
                        .store(finished, std::sync::atomic::Ordering::Relaxed);
                    if backfilling > 0 && total >= 10 && finished.is_multiple_of(total / 10) {
                        tracing::info!(done = finished, of = total, "evaluation progress");
                    }
                }
                Err(e) => tracing::error!(error = %e, "an SLO task failed"),
            }
        }
        self.slos = done.into_iter().flatten().collect();
        for (s, idle) in self.slos.iter_mut().zip(idle) {
            if idle {
                // Up to date and the source answers: fresh; the source fails: stale.
                s.fresh = !probe_failed && s.last_error.is_none();
            }
        }
    }

    /// Reads this tick's samples for every counter SLO in steady state with queries shared
    /// between SLOs ([`batch`]), leaving each SLO its share for its catch-up. SLOs read up to
    /// different instants (one failed last tick) are batched apart.
    async fn prefetch(&mut self, q: &Querier, reach: Reach) {
        let mut by_from: BTreeMap<i64, Vec<(usize, Vec<CounterRead>)>> = BTreeMap::new();
        for (i, s) in self.slos.iter_mut().enumerate() {
            s.prefetched = None;
            let Some(from) = s.fine_fed_until else {
                continue;
            };
            let steady = s.plan.counts_samples()
                && s.series.seeded
                && (s.plan.le_lookup().is_none() || s.plan.le_value.is_some())
                && reach.instant > from
                && reach.instant - from <= counters::RAW_SLICE_SECS;
            if let Some(reads) = s.plan.counter_reads().filter(|_| steady) {
                by_from.entry(from).or_default().push((i, reads));
            }
        }
        let to = reach.instant;
        for (from, reads) in by_from {
            let (batches, batched) = batch::plan(&reads);
            let mut shares = batch::Shares::new();
            let mut failed: BTreeMap<usize, SourceError> = BTreeMap::new();
            for b in &batches {
                let expr = format!("{}[{}s]", b.selector, to - from);
                match q.instant(&expr, to).await {
                    Ok(answer) => b.dispatch(answer, &mut shares),
                    Err(e) => {
                        for slo in b.slos() {
                            failed.insert(slo, e.clone());
                        }
                    }
                }
            }
            for slo in batched {
                let answer = match failed.remove(&slo) {
                    Some(e) => Err(e),
                    None => Ok(shares.remove(&slo).unwrap_or_default()),
                };
                self.slos[slo].prefetched = Some(Prefetched { from, to, answer });
            }
        }
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

    /// Moves the scraped minutes up to `target` into the histories.
    fn take_scraped(&mut self, scraper: &Scraper, target: i64, now: f64) {
        for state in &mut self.slos {
            let id = state.slo.id();
            for (key, labels, minute_end, counts) in scraper.drain(&id, target) {
                let group = group_of(state, &key);
                if group.labels.is_empty() {
                    group.labels = labels.into();
                }
                // The scraper keeps a group's minute only when its series were scraped.
                group.seen = group.seen.max(Some(minute_end));
                group.history.push_minute(minute_end, counts);
            }
            for g in state.groups.values_mut() {
                g.history.mark_empty_until(target);
            }
            state.fine_fed_until = Some(state.fine_fed_until.map_or(target, |f| f.max(target)));
            state.coarse_fed_until = Some(state.coarse_fed_until.map_or(target, |f| f.max(target)));
            state.fresh = scraper.fresh(&id);
            if state.fresh {
                state.last_evaluation = now;
                state.answered = true;
            }
            state.report_presence();
        }
    }

    /// One cheap query; true when the source failed it (counted like any request). Logged
    /// when the failure starts, changes or ends, not at every tick.
    async fn probe(&mut self, at: i64) -> bool {
        let Some(querier) = self.querier.clone() else {
            return false;
        };
        match querier.instant("vector(1)", at).await {
            Ok(_) => {
                if self.source_error.take().is_some() {
                    tracing::info!("the source answers again");
                }
                false
            }
            Err(e) => {
                let msg = e.to_string();
                if self.source_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(error = %msg, "the source is failing; every SLO is marked stale");
                    self.source_error = Some(msg);
                }
                true
            }
        }
    }

    async fn persist(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        // In batches of about BATCH_BYTES of encoded chunks: a cold start writes every SLO's
        // whole history (~46 KB each) at once, and one transaction per batch (its chunks and
        // redb's dirty pages in memory until the commit) bounds the peak; a steady tick (~0.5 KB
        // per SLO) is one or a few commits. Markers travel with their chunks, so a crash between
        // batches loses nothing: the unsaved SLOs' minutes are queried again.
        const BATCH_BYTES: usize = 1 << 20;
        let mut result = Ok(Ok(()));
        let mut next = 0;
        while next < self.slos.len() {
            let mut metas = Vec::new();
            let mut dirty = Vec::new();
            let mut bytes = 0;
            while bytes < BATCH_BYTES
                && let Some(s) = self.slos.get_mut(next)
            {
                next += 1;
                metas.push((s.slo.id(), s.meta()));
                let groups: Vec<(String, _, _)> = s
                    .groups
                    .iter_mut()
                    .map(|(k, g)| {
                        (
                            k.clone(),
                            g.history.take_dirty(),
                            g.history.retention_floor(),
                        )
                    })
                    .collect();
                bytes += groups
                    .iter()
                    .flat_map(|(_, rows, _)| rows)
                    .map(|(_, _, b)| b.as_ref().map_or(16, Vec::len))
                    .sum::<usize>();
                dirty.push(groups);
            }
            let store = store.clone();
            result = tokio::task::spawn_blocking(move || {
                let changes: Vec<SloChanges> = metas
                    .iter()
                    .zip(dirty.iter())
                    .map(|((id, meta), groups)| SloChanges {
                        id,
                        meta,
                        chunks: groups
                            .iter()
                            .map(|(k, rows, _)| (k.as_str(), rows.as_slice()))
                            .collect(),
                        prune: groups
                            .iter()
                            .map(|(k, _, floor)| (k.as_str(), *floor))
                            .collect(),
                    })
                    .collect();
                store.save(&changes)
            })
            .await;
            if !matches!(result, Ok(Ok(()))) {
                break;
            }
        }
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot save the history; it is kept in memory and re-queried after a restart")
            }
            Err(e) => tracing::error!(error = %e, "saving the history failed"),
        }
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
        let (scrape_targets, by_outcome, duration) = match (&self.scraper, &self.querier) {
            (Some(scraper), _) => scraper.stats(),
            (None, Some(q)) => match q.stats.lock() {
                Ok(s) => (Vec::new(), s.by_outcome.clone(), s.duration.clone()),
                Err(_) => Default::default(),
            },
            (None, None) => Default::default(),
        };
        Snapshot {
            evaluated_at: Some(now),
            services,
            engine: EngineStats {
                version: env!("CARGO_PKG_VERSION").to_string(),
                evaluation_duration_seconds: took.as_secs_f64(),
                source_requests_total: by_outcome,
                source_request_duration: duration,
                slos: slos.len(),
                config_last_reload_success: self.reload_success,
                config_last_reload_timestamp: self.reload_timestamp,
                scrape_targets,
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
                        for g in state.groups.values_mut() {
                            let buckets: Vec<_> = g
                                .history
                                .chunks()
                                .into_iter()
                                .flat_map(|(t, s, b)| History::decode_chunk(t, s, &b))
                                .collect();
                            g.history = History::restore(
                                &slo.period,
                                &windows,
                                &buckets,
                                g.history.read_until(),
                                g.history.coarse_fed_until(),
                            );
                        }
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
                None => next.push(SloState::new(slo, None)),
            }
        }
        for id in old.keys() {
            tracing::info!(slo = %id, "SLO removed from the specs: dropping its history");
            self.forget(id);
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
    /// The reach at `now` (unix seconds) when the source may take up to `lag` to show a sample:
    /// whole minutes up to `now - lag`, samples up to `now` but never past the minute that
    /// `now - lag` falls in. A sample shown late is counted when it appears, in the minute the
    /// last read ended in: its own, as long as it was at most `lag` late.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sloburn::engine::runner::Reach;
    /// let lag = Duration::from_secs(10);
    /// // 35 s into a minute: the minute so far.
    /// assert_eq!(Reach::at(1_800_000_035.0, lag), Reach { minute: 1_800_000_000, instant: 1_800_000_035 });
    /// // 3 s into a minute: samples of the last one may still come, so up to its last second.
    /// assert_eq!(Reach::at(1_800_000_003.0, lag), Reach { minute: 1_799_999_940, instant: 1_799_999_999 });
    /// ```
    pub fn at(now: f64, lag: Duration) -> Reach {
        let minute = target_at(now, lag);
        Reach {
            minute,
            instant: (now.floor() as i64).min(minute + FINE_SECS - 1),
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
