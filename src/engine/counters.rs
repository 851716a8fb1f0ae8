//! Counter SLIs (`ratio`, `latency`, and Sloth `events` that are selectors in disguise) read
//! exactly: every counter increment is counted once, in the bucket of the sample that showed it
//! ([`crate::core::counter`]), at any scrape interval and phase, on Prometheus 2's closed ranges
//! and Prometheus 3's left-open ones alike.
//!
//! - **Steady reads** ask for the raw samples since the last tick (`sel[Ns]` at the tick's end)
//!   and follow each series from its last sample, which is kept across ticks and in the store.
//!   Samples at or before the last tick's end are skipped (a late one is not lost: the next
//!   sample's increase carries it).
//! - **Backfill** (first start, a long gap) would need every raw sample of the period, so it asks
//!   for values at bucket boundaries instead: per group, `sum by (group) (sel)` at each boundary,
//!   whose difference is the bucket's exact increase for every series present at both ends with
//!   no reset in between (its samples lie within 5 minutes of each boundary, so every pair is
//!   closer than the series memory). A second, sparse query names the series for which that does
//!   not hold (a reset, a series appearing, vanishing or silent at a boundary); only those are
//!   read raw and followed sample by sample, and their share of the difference replaced. The
//!   result equals following every raw sample, at a fraction of the transfer. SLOs that share a
//!   metric family are read together ([`read_boundaries`] over their [`Batch`]es): the sums are
//!   taken by the labels that tell their reads and groups apart and summed per SLO in sloburn,
//!   and series flagged in the same buckets are read raw with one request.
//! - **Seeding**: before the first steady read (after a backfill, or with a store that has no
//!   series state), the raw samples of the last [`SERIES_MEMORY_MS`] set each series' starting
//!   point without counting anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::Counts;
use crate::core::counter::{LastSample, SERIES_MEMORY_MS, bucket_end, follow};
use crate::engine::batch::Batch;
use crate::engine::plan::{CounterRead, Role};
use crate::engine::read_plan::{RAW_SLICE_SECS, raw_slices};
use crate::engine::runner::{Querier, TickError, group_key};
use crate::source::{Series, SourceError};

/// Seconds of Prometheus's lookback (how far back an instant selector finds a sample).
const LOOKBACK_SECS: i64 = 300;

/// Counts per group key: its labels, and per bucket end the counts of each role.
pub type RoleCounts = BTreeMap<String, GroupCounts>;

/// One group's counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupCounts {
    pub labels: Vec<(String, String)>,
    /// Bucket end (unix seconds) -> events per role.
    pub buckets: BTreeMap<i64, RoleEvents>,
    /// Unix seconds of the newest sample (or boundary value) of a `total` series seen.
    pub seen: Option<i64>,
    /// The roles whose selectors matched a series of this group.
    pub matched: BTreeSet<Role>,
}

/// Events of one bucket by role.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoleEvents {
    pub bad: f64,
    pub total: f64,
    pub good: f64,
}

impl RoleEvents {
    fn add(&mut self, role: Role, v: f64) {
        match role {
            Role::Bad => self.bad += v,
            Role::Total => self.total += v,
            Role::Good => self.good += v,
        }
    }

    /// Adds another bucket's events of every role.
    pub fn add_all(&mut self, other: RoleEvents) {
        self.bad += other.bad;
        self.total += other.total;
        self.good += other.good;
    }

    /// Bad and total events: `good` reads count the good ones, bad is what they leave.
    pub fn counts(self, good_reads: bool) -> Counts {
        let bad = if good_reads {
            (self.total - self.good).max(0.0)
        } else {
            self.bad
        };
        Counts {
            bad,
            total: self.total,
        }
    }
}

/// The last sample of every counter series an SLO reads, as of its history's fed-until mark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesState {
    /// `(role, series)` -> its last sample; the series is written as `name{l="v",...}`.
    pub last: BTreeMap<(Role, String), LastSample>,
    /// Whether `last` is complete as of the fed-until mark (false until a read seeded it).
    pub seeded: bool,
}

impl SeriesState {
    /// Forgets series silent for longer than the series memory before `now` (unix seconds).
    pub fn forget_silent(&mut self, now: i64) {
        let oldest = now * 1000 - SERIES_MEMORY_MS;
        self.last.retain(|_, s| s.t_ms >= oldest);
    }
}

/// Adds `other`'s counts to `counts`: each group's buckets, newest instant and matched reads
/// (a seeding read has no buckets: it shows which series exist but counts nothing).
pub fn merge(counts: &mut RoleCounts, other: RoleCounts) {
    for (key, g) in other {
        let entry = counts.entry(key).or_insert_with(|| GroupCounts {
            labels: g.labels,
            ..Default::default()
        });
        entry.seen = entry.seen.max(g.seen);
        entry.matched.extend(g.matched);
        for (end, e) in g.buckets {
            entry.buckets.entry(end).or_default().add_all(e);
        }
    }
}

/// A series' identity: its name and labels in the order Prometheus sorts them.
///
/// ```
/// let labels = [("__name__", "x_total"), ("code", "500"), ("job", "a\"b")]
///     .into_iter()
///     .map(|(k, v)| (k.to_string(), v.to_string()))
///     .collect();
/// assert_eq!(sloburn::engine::counters::series_key(&labels), r#"x_total{code="500",job="a\"b"}"#);
/// ```
pub fn series_key(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", crate::spec::model::quote(v)))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// The raw samples of `(from, to]` for an SLO's reads, read for it by a query shared with other
/// SLOs ([`crate::engine::batch`]): each series with the role of the read it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefetched {
    pub from: i64,
    pub to: i64,
    pub answer: Result<Vec<(Role, Series)>, SourceError>,
}

/// Reads the raw samples of `(from, to]` (unix seconds) for every read and counts their
/// increments into buckets of `width` seconds. When `state.seeded` is false the read starts a
/// series memory earlier and the samples before `from` only set each series' starting point.
/// Otherwise a sample at or before `from` that arrived late (after the last read) still counts,
/// in the first bucket after `from`. `state` is updated only when every read succeeded. Samples
/// already read for this range by a shared query (`prefetched`) are used instead of asking
/// (for a seeding read they must reach back as [`seed_start`] says).
#[allow(clippy::too_many_arguments)]
pub async fn read_raw(
    q: &Querier,
    reads: &[CounterRead],
    group_by: &[String],
    state: &mut SeriesState,
    from: i64,
    to: i64,
    width: i64,
    prefetched: Option<Prefetched>,
) -> Result<RoleCounts, TickError> {
    let seeding = !state.seeded;
    let mut next = state.clone();
    let mut out = RoleCounts::new();
    if let Some(p) = prefetched.filter(|p| p.from == from && p.to == to) {
        for (role, s) in p.answer? {
            follow_series(
                &s, role, group_by, &mut next, &mut out, from, width, seeding,
            )?;
        }
        next.seeded = true;
        next.forget_silent(to);
        *state = next;
        return Ok(out);
    }
    for read in reads {
        let start = if seeding {
            seed_start(q, &read.selector, from).await?
        } else {
            from
        };
        // In slices, oldest first: each answer stays far below the response limit even for an
        // SLO over tens of thousands of series (a sample is ~26 bytes of JSON).
        for (end, secs) in raw_slices(start, to) {
            let expr = format!("{}[{secs}s]", read.selector);
            for s in q.instant(&expr, end).await? {
                follow_series(
                    &s, read.role, group_by, &mut next, &mut out, from, width, seeding,
                )?;
            }
        }
    }
    next.seeded = true;
    next.forget_silent(to);
    *state = next;
    Ok(out)
}

/// The raw samples of a shared read's series up to `to`, from far enough back before `from` to
/// seed each series ([`seed_start`]), handed to the batch's members.
pub async fn read_seeds(
    q: &Querier,
    batch: &Batch,
    from: i64,
    to: i64,
    out: &mut crate::engine::batch::Shares,
) -> Result<(), TickError> {
    let start = seed_start(q, &batch.selector, from).await?;
    Ok(read_batch_raw(q, batch, start, to, out).await?)
}

/// The raw samples of `(from, to]` of a shared read, in slices oldest first, handed to its
/// members.
pub async fn read_batch_raw(
    q: &Querier,
    batch: &Batch,
    from: i64,
    to: i64,
    out: &mut crate::engine::batch::Shares,
) -> Result<(), SourceError> {
    for (end, secs) in raw_slices(from, to) {
        let expr = format!("{}[{secs}s]", batch.selector);
        batch.dispatch(q.instant(&expr, end).await?, out);
    }
    Ok(())
}

/// Where a seeding read must start so that every series' last sample at or before `from` (within
/// the series memory) is in it: one slice back, unless some series has been silent for longer
/// than that (then the whole series memory back). Saves reading two hours of every series to
/// find the last sample of a few.
async fn seed_start(q: &Querier, sel: &str, from: i64) -> Result<i64, TickError> {
    let memory = SERIES_MEMORY_MS / 1000;
    let quiet =
        format!("last_over_time({sel}[{memory}s]) unless last_over_time({sel}[{RAW_SLICE_SECS}s])");
    Ok(if q.instant(&quiet, from).await?.is_empty() {
        from - RAW_SLICE_SECS
    } else {
        from - memory
    })
}

/// Follows one series of a raw read from its last sample in `state`, adding its increments to
/// its group in `out` (see [`read_raw`]).
#[allow(clippy::too_many_arguments)]
fn follow_series(
    s: &Series,
    role: Role,
    group_by: &[String],
    state: &mut SeriesState,
    out: &mut RoleCounts,
    from: i64,
    width: i64,
    seeding: bool,
) -> Result<(), TickError> {
    check_finite(s)?;
    let key = series_key(&s.labels);
    let entry = group_entry(out, group_by, &s.labels);
    entry.matched.insert(role);
    let mut last = state.last.get(&(role, key.clone())).copied();
    for &(t_ms, v) in &s.points {
        // Any sample shows the series exists, counted or not.
        if role == Role::Total {
            entry.seen = entry.seen.max(Some(t_ms.div_euclid(1000)));
        }
        let Some(inc) = follow(&mut last, t_ms, v) else {
            continue;
        };
        let end = if t_ms > from * 1000 {
            bucket_end(t_ms, width)
        } else if seeding {
            continue;
        } else {
            // Late: its minute is closed, so it joins the first open one.
            bucket_end(from * 1000 + 1, width)
        };
        entry.buckets.entry(end).or_default().add(role, inc);
    }
    if let Some(last) = last {
        state.last.insert((role, key), last);
    }
    Ok(())
}

/// Counts per SLO of a shared read: each SLO's counts, or why it cannot have them (an infinite
/// sample in a series it reads), keyed by the SLO's index in the batches.
pub type PerSlo = BTreeMap<usize, Result<RoleCounts, TickError>>;

/// One SLO's boundary read on its own (see [`read_boundaries`]).
pub async fn read_boundaries_of(
    q: &Querier,
    reads: &[CounterRead],
    group_by: &[String],
    from: i64,
    to: i64,
    width: i64,
) -> Result<RoleCounts, TickError> {
    let batches: Vec<Batch> = reads.iter().map(|r| Batch::single(0, r)).collect();
    let group_bys = BTreeMap::from([(0, group_by.to_vec())]);
    read_boundaries(q, &batches, &group_bys, from, to, width, 1)
        .await?
        .remove(&0)
        .unwrap_or_else(|| Ok(RoleCounts::new()))
}

/// Counts `(from, to]` in buckets of `width` seconds (at most an hour) for every member of
/// `batches` (one SLO's reads, or many SLOs' shared reads) from boundary values, reading raw
/// samples only where values at the boundaries cannot tell. `from` and `to` must be multiples of
/// `width`. `group_bys` holds each member SLO's group labels; `series`, about how many series
/// a batch's selector matches, sizes the span one request covers.
pub async fn read_boundaries(
    q: &Querier,
    batches: &[Batch],
    group_bys: &BTreeMap<usize, Vec<String>>,
    from: i64,
    to: i64,
    width: i64,
    series: usize,
) -> Result<PerSlo, TickError> {
    let mut out: PerSlo = group_bys
        .keys()
        .map(|&slo| (slo, Ok(RoleCounts::new())))
        .collect();
    let chunk = chunk_secs(series, width);
    let mut start = from;
    while start < to {
        let end = chunk_end(start, chunk, width).min(to);
        for batch in batches {
            read_boundary_chunk(q, batch, group_bys, start, end, width, &mut out).await?;
        }
        start = end;
    }
    Ok(out)
}

/// Steps per range query (Prometheus refuses more than 11,000 points per series).
const MAX_STEPS: i64 = 10_000;

/// Points (series x steps) one range answer may hold: about 7 MB of JSON, parsed a chunk at a
/// time however many SLOs share the read.
const POINTS_PER_READ: i64 = 250_000;

/// Flagged buckets further apart than this are read raw separately, not as one span.
const RUN_GAP_SECS: i64 = 6 * 3600;

/// Flagged series read raw in one request at most.
const FLAGGED_PER_READ: usize = 100;

/// Flagged series read raw together over the run ending at `ends`: their samples (from a
/// series memory before the run, at one every 10 s) within [`POINTS_PER_READ`], at least one.
fn flagged_per_read(ends: &[i64], width: i64) -> usize {
    let span = match (ends.first(), ends.last()) {
        (Some(first), Some(last)) => last - first + width + SERIES_MEMORY_MS / 1000,
        _ => 0,
    };
    let per_series = (span / 10).max(1);
    ((POINTS_PER_READ / per_series) as usize).clamp(1, FLAGGED_PER_READ)
}

/// The seconds one boundary request covers for about `series` series: whole hours where they
/// fit, so that the hourly checks of two requests never overlap.
///
/// ```
/// use sloburn::engine::counters::chunk_secs;
/// assert_eq!(chunk_secs(1, 3600), 10_000 * 3600); // one SLO: as many steps as Prometheus allows
/// assert_eq!(chunk_secs(1, 60), 9_960 * 60); // in whole hours
/// assert_eq!(chunk_secs(2_000, 60), 2 * 3600); // 125 steps, rounded down to hours
/// assert_eq!(chunk_secs(1_000_000, 60), 3600); // never less than an hour
/// ```
pub fn chunk_secs(series: usize, width: i64) -> i64 {
    let steps = (POINTS_PER_READ / series.max(1) as i64).clamp(1, MAX_STEPS);
    let per_hour = (HOUR_SECS / width).max(1);
    (steps / per_hour).max(1) * per_hour * width
}

/// Where a chunk starting at `start` ends: on an hour boundary when one lies within it.
fn chunk_end(start: i64, chunk: i64, width: i64) -> i64 {
    let hour = (start + chunk).div_euclid(HOUR_SECS) * HOUR_SECS;
    if hour > start && hour % width == 0 {
        hour
    } else {
        start + chunk
    }
}

async fn read_boundary_chunk(
    q: &Querier,
    batch: &Batch,
    group_bys: &BTreeMap<usize, Vec<String>>,
    from: i64,
    to: i64,
    width: i64,
    out: &mut PerSlo,
) -> Result<(), TickError> {
    let sel = &batch.selector;
    // Summed by every label that tells the members and their groups apart, so each member's
    // sum is the sum of the aggregated series it matches.
    let mut by: BTreeSet<&str> = batch.labels();
    for slo in batch.slos() {
        by.extend(
            group_bys
                .get(&slo)
                .into_iter()
                .flatten()
                .map(String::as_str),
        );
    }
    let sum_expr = if by.is_empty() {
        format!("sum ({sel})")
    } else {
        format!(
            "sum by ({}) ({sel})",
            by.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let (sums, flagged) = tokio::try_join!(
        async {
            q.range(&sum_expr, from, to, width)
                .await
                .map_err(TickError::from)
        },
        flagged_hours(q, sel, from, to),
    )?;
    // Differences of the group sums at consecutive boundaries.
    for s in sums {
        let finite = check_finite(&s);
        let values: BTreeMap<i64, f64> = by_second(&s).collect();
        for (slo, role) in batch.matching(&s.labels) {
            let Some(entry) = member_entry(out, group_bys, slo, &s.labels, &finite) else {
                continue;
            };
            entry.matched.insert(role);
            if role == Role::Total {
                entry.seen = entry.seen.max(values.keys().next_back().copied());
            }
            let mut b = from + width;
            while b <= to {
                let (now, before) = (values.get(&b), values.get(&(b - width)));
                if now.is_some() || before.is_some() {
                    let inc = now.copied().unwrap_or(0.0) - before.copied().unwrap_or(0.0);
                    entry.buckets.entry(b).or_default().add(role, inc);
                }
                b += width;
            }
        }
    }
    // The series the differences cannot speak for, with the buckets where they cannot: every
    // bucket of a flagged hour inside the range. Series with the same label names flagged over
    // the same buckets (e.g. all that appeared at one deploy) are read raw together.
    type Run = (Vec<String>, Vec<i64>);
    let mut by_run: BTreeMap<Run, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for (labels, hours) in flagged {
        if batch.matching(&labels).next().is_none() {
            continue;
        }
        let ends: BTreeSet<i64> = hours
            .into_iter()
            .flat_map(|h| {
                let first = (h - HOUR_SECS).max(from) + width;
                let last = h.min(to);
                (first..=last).step_by(width as usize)
            })
            .collect();
        let names: Vec<String> = labels.keys().cloned().collect();
        for run in runs(&ends) {
            by_run
                .entry((names.clone(), run))
                .or_default()
                .push(labels.clone());
        }
    }
    for ((_, run), series) in by_run {
        for part in series.chunks(flagged_per_read(&run, width)) {
            let exact = exact_increments(q, &batch.metric, part, &run, width).await?;
            for (labels, exact) in part.iter().zip(exact) {
                for (slo, role) in batch.matching(labels) {
                    let finite = exact.as_ref().map(|_| ()).map_err(Clone::clone);
                    let Some(entry) = member_entry(out, group_bys, slo, labels, &finite) else {
                        continue;
                    };
                    let Ok(exact) = &exact else { continue };
                    if role == Role::Total {
                        entry.seen = entry.seen.max(exact.newest);
                    }
                    for (&b, &correction) in &exact.corrections {
                        entry.buckets.entry(b).or_default().add(role, correction);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The counts of the group a series with `labels` belongs to, in member `slo`'s counts; `None`
/// (and the SLO failed with the reason) when the series is not `finite`, or the SLO failed
/// already.
fn member_entry<'a>(
    out: &'a mut PerSlo,
    group_bys: &BTreeMap<usize, Vec<String>>,
    slo: usize,
    labels: &BTreeMap<String, String>,
    finite: &Result<(), TickError>,
) -> Option<&'a mut GroupCounts> {
    let counts = out.entry(slo).or_insert_with(|| Ok(RoleCounts::new()));
    if let Err(e) = finite {
        *counts = Err(e.clone());
    }
    let group_by = group_bys.get(&slo).map(Vec::as_slice).unwrap_or(&[]);
    counts
        .as_mut()
        .ok()
        .map(|c| group_entry(c, group_by, labels))
}

/// What one flagged series really counted in each flagged bucket, as corrections of its share of
/// the boundary differences (exact increments minus the difference), and its newest sample.
#[derive(Debug, Clone, Default, PartialEq)]
struct Exact {
    corrections: BTreeMap<i64, f64>,
    newest: Option<i64>,
}

/// Follows each of `series` (label sets of `metric`, without the name) sample by sample over the
/// flagged buckets `ends`, with one range and one raw request for all of them.
async fn exact_increments(
    q: &Querier,
    metric: &str,
    series: &[BTreeMap<String, String>],
    ends: &[i64],
    width: i64,
) -> Result<Vec<Result<Exact, TickError>>, TickError> {
    let (Some(&first), Some(&last)) = (ends.first(), ends.last()) else {
        return Ok(Vec::new());
    };
    let sel = covering_selector(metric, series);
    let span_from = first - width;
    let raw_expr = format!("{sel}[{}s]", last - span_from + SERIES_MEMORY_MS / 1000);
    let (values, raw) = tokio::try_join!(
        q.range(&sel, span_from, last, width),
        q.instant(&raw_expr, last),
    )?;
    let same = |s: &Series, labels: &BTreeMap<String, String>| {
        s.labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .eq(labels.iter())
    };
    Ok(series
        .iter()
        .map(|labels| {
            let values: BTreeMap<i64, f64> = values
                .iter()
                .filter(|s| same(s, labels))
                .flat_map(by_second)
                .collect();
            let mut followed: BTreeMap<i64, f64> = BTreeMap::new();
            let mut newest: Option<i64> = None;
            for s in raw.iter().filter(|s| same(s, labels)) {
                check_finite(s)?;
                let mut last_sample = None;
                for &(t_ms, v) in &s.points {
                    let inc = follow(&mut last_sample, t_ms, v);
                    if t_ms > span_from * 1000 {
                        newest = newest.max(Some(t_ms.div_euclid(1000)));
                        if let Some(inc) = inc {
                            *followed.entry(bucket_end(t_ms, width)).or_default() += inc;
                        }
                    }
                }
            }
            let corrections = ends
                .iter()
                .map(|&b| {
                    let diff = values.get(&b).copied().unwrap_or(0.0)
                        - values.get(&(b - width)).copied().unwrap_or(0.0);
                    (b, followed.get(&b).copied().unwrap_or(0.0) - diff)
                })
                .collect();
            Ok(Exact {
                corrections,
                newest,
            })
        })
        .collect())
}

/// Flagged bucket ends split where they are far apart, so a reset early in the period and
/// another late in it are two short raw reads, not one of the whole period.
fn runs(ends: &BTreeSet<i64>) -> Vec<Vec<i64>> {
    let mut out: Vec<Vec<i64>> = Vec::new();
    for &e in ends {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|&l| e - l <= RUN_GAP_SECS) => run.push(e),
            _ => out.push(vec![e]),
        }
    }
    out
}

/// An infinite counter value is a broken source or exporter, not a count: the SLO goes stale
/// with the reason rather than take it in.
fn check_finite(s: &Series) -> Result<(), TickError> {
    match s.points.iter().find(|(_, v)| v.is_infinite()) {
        Some((t, v)) => Err(TickError::InvalidSample(format!(
            "{v} at {} in {}",
            t.div_euclid(1000),
            series_key(&s.labels)
        ))),
        None => Ok(()),
    }
}

/// A series' points keyed by whole seconds (boundary instants are whole seconds).
fn by_second(s: &Series) -> impl Iterator<Item = (i64, f64)> + '_ {
    s.points.iter().map(|&(t, v)| (t.div_euclid(1000), v))
}

/// The counts of the group a series with `labels` belongs to, created if new.
fn group_entry<'a>(
    out: &'a mut RoleCounts,
    group_by: &[String],
    labels: &BTreeMap<String, String>,
) -> &'a mut GroupCounts {
    let (key, glabels) = group_key(group_by, |l| labels.get(l).cloned().unwrap_or_default());
    out.entry(key).or_insert_with(|| GroupCounts {
        labels: glabels,
        ..Default::default()
    })
}

const HOUR_SECS: i64 = 3600;

/// The series whose boundary values cannot give their exact increase somewhere in `(from, to]`,
/// with the ends of the hours where they cannot: a reset (within the lookback before the hour
/// too, where the sample behind its first boundary value may lie), or a minute of the hour at
/// which the series has no value (appearing, vanishing, silent, or stale). In an hour where
/// neither happens, every pair of consecutive samples is less than the lookback plus a minute
/// apart and no value drops, so the differences of boundary values are its increments exactly.
/// Sparse: only flagged series and hours come back. Checked per hour, not per bucket, so
/// Prometheus reads each sample about once.
async fn flagged_hours(
    q: &Querier,
    sel: &str,
    from: i64,
    to: i64,
) -> Result<BTreeMap<BTreeMap<String, String>, BTreeSet<i64>>, TickError> {
    let first = from.div_euclid(HOUR_SECS) * HOUR_SECS + HOUR_SECS;
    let whole = to.div_euclid(HOUR_SECS) * HOUR_SECS;
    let mut answers = Vec::new();
    for (start, end) in subquery_pieces(first, whole, HOUR_SECS, HOUR_SECS + 59, 60) {
        answers.push(
            q.range(&anomalies(sel, HOUR_SECS), start, end, HOUR_SECS)
                .await?,
        );
    }
    if to > whole {
        // The hour in progress at `to`: checked over what of it the range holds.
        let partial = q.instant(&anomalies(sel, to - whole), to).await?;
        answers.push(
            partial
                .into_iter()
                .map(|mut s| {
                    s.points = vec![((whole + HOUR_SECS) * 1000, 0.0)];
                    s
                })
                .collect(),
        );
    }
    let mut flagged: BTreeMap<BTreeMap<String, String>, BTreeSet<i64>> = BTreeMap::new();
    for s in answers.into_iter().flatten() {
        let mut labels = s.labels;
        labels.remove("__name__");
        flagged
            .entry(labels)
            .or_default()
            .extend(s.points.iter().map(|&(t, _)| t.div_euclid(1000)));
    }
    Ok(flagged)
}

/// Points per series a subquery may produce in one range query. VictoriaMetrics evaluates a
/// subquery over the range query's whole range (plus the subquery's own) at once and refuses
/// more than 30,000 points per series (its `-search.maxPointsPerTimeseries` default): the hourly
/// checks' 1-minute subquery over a 30-day period would be 43,000. Prometheus evaluates
/// subqueries step by step and reads the same samples however the range is cut.
pub(crate) const SUBQUERY_POINTS: i64 = 25_000;

/// Evaluation instants `first, first + step, ..., last` cut into the `(start, end)` ranges of
/// range queries whose subquery (range `sub_range`, step `sub_step` seconds) stays within
/// [`SUBQUERY_POINTS`] per series, oldest first; at least one step each, none when
/// `last < first`.
pub(crate) fn subquery_pieces(
    first: i64,
    last: i64,
    step: i64,
    sub_range: i64,
    sub_step: i64,
) -> Vec<(i64, i64)> {
    let span = ((SUBQUERY_POINTS - 1) * sub_step.max(1) - sub_range).max(0);
    let steps = (span / step.max(1)).max(0);
    let mut pieces = Vec::new();
    let mut start = first;
    while start <= last {
        let end = (start + steps * step).min(last);
        pieces.push((start, end));
        start = end + step;
    }
    pieces
}

/// The series flagged over the `span` seconds (whole minutes) ending at the evaluation instant:
/// a reset, or fewer minutes with a value than the span holds. Set operators match without the
/// metric name. The subquery's range ends one second short of a minute so that Prometheus 2's
/// closed and 3's left-open ranges hold the same minutes.
fn anomalies(sel: &str, span: i64) -> String {
    let reach = span + LOOKBACK_SECS + 60;
    let minutes = span / 60 + 1;
    format!(
        "(resets({sel}[{reach}s]) > 0) or (count_over_time(({sel})[{}s:60s]) < {minutes})",
        span + 59
    )
}

/// A selector matching every one of `series` (label sets of `metric`) and maybe others, which
/// the caller filters out: each label all of them have, pinned to its one value or to the
/// alternatives they hold.
///
/// ```
/// use std::collections::BTreeMap;
/// use sloburn::engine::counters::covering_selector;
/// let series = |job: &str, code: &str| BTreeMap::from([("code".to_string(), code.to_string()), ("job".to_string(), job.to_string())]);
/// assert_eq!(covering_selector("x_total", &[series("a", "500")]), r#"x_total{code="500",job="a"}"#);
/// assert_eq!(
///     covering_selector("x_total", &[series("a.b", "500"), series("c", "500")]),
///     r#"x_total{code="500",job=~"a\\.b|c"}"#
/// );
/// ```
pub fn covering_selector(metric: &str, series: &[BTreeMap<String, String>]) -> String {
    let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    if let Some(first) = series.first() {
        for name in first.keys() {
            if series.iter().all(|s| s.contains_key(name)) {
                values.insert(
                    name,
                    series
                        .iter()
                        .filter_map(|s| s.get(name))
                        .map(String::as_str)
                        .collect(),
                );
            }
        }
    }
    let matchers: Vec<String> = values
        .into_iter()
        .map(|(name, vals)| {
            if vals.len() == 1 {
                let v = vals.into_iter().next().unwrap_or_default();
                format!("{name}={}", crate::spec::model::quote(v))
            } else {
                let alternatives: Vec<String> = vals.into_iter().map(regex::escape).collect();
                format!(
                    "{name}=~{}",
                    crate::spec::model::quote(&alternatives.join("|"))
                )
            }
        })
        .collect();
    format!("{metric}{{{}}}", matchers.join(","))
}

#[cfg(test)]
mod tests;
