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
//!   result equals following every raw sample, at a fraction of the transfer.
//! - **Seeding**: before the first steady read (after a backfill, or with a store that has no
//!   series state), the raw samples of the last [`SERIES_MEMORY_MS`] set each series' starting
//!   point without counting anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::Counts;
use crate::core::counter::{LastSample, SERIES_MEMORY_MS, bucket_end, follow};
use crate::engine::plan::{CounterRead, Role};
use crate::engine::runner::{Querier, TickError, group_key};
use crate::source::Series;

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

/// Adds what `other` saw of each group (newest instant, matched reads) to `counts`, without its
/// buckets: a seeding read shows which series exist but counts nothing.
pub fn merge_seen(counts: &mut RoleCounts, other: RoleCounts) {
    for (key, g) in other {
        let entry = counts.entry(key).or_insert_with(|| GroupCounts {
            labels: g.labels,
            ..Default::default()
        });
        entry.seen = entry.seen.max(g.seen);
        entry.matched.extend(g.matched);
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

/// Reads the raw samples of `(from, to]` (unix seconds) for every read and counts their
/// increments into buckets of `width` seconds. Series without a last sample are seeded from the
/// samples before `from` when `state.seeded` is false (the read then starts a series memory
/// earlier). `state` is updated only when every read succeeded.
pub async fn read_raw(
    q: &Querier,
    reads: &[CounterRead],
    group_by: &[String],
    state: &mut SeriesState,
    from: i64,
    to: i64,
    width: i64,
) -> Result<RoleCounts, TickError> {
    let seed_secs = if state.seeded {
        0
    } else {
        SERIES_MEMORY_MS / 1000
    };
    let range = to - from + seed_secs;
    let mut answers = Vec::with_capacity(reads.len());
    for read in reads {
        let expr = format!("{}[{range}s]", read.selector);
        answers.push((read.role, q.instant(&expr, to).await?));
    }
    let mut next = state.clone();
    let mut out = RoleCounts::new();
    for (role, series) in answers {
        for s in series {
            check_finite(&s)?;
            let key = series_key(&s.labels);
            let entry = group_entry(&mut out, group_by, &s.labels);
            entry.matched.insert(role);
            let mut last = next.last.get(&(role, key.clone())).copied();
            let known = last.is_some();
            for &(t_ms, v) in &s.points {
                // Any sample shows the series exists, counted or not.
                if role == Role::Total {
                    entry.seen = entry.seen.max(Some(t_ms.div_euclid(1000)));
                }
                // A known series continues after `from`; older samples of it were counted or
                // are carried by its next increase. An unknown one is seeded by them.
                if t_ms <= from * 1000 && (known || state.seeded) {
                    continue;
                }
                let inc = follow(&mut last, t_ms, v);
                if t_ms <= from * 1000 {
                    continue;
                }
                if let Some(inc) = inc {
                    entry
                        .buckets
                        .entry(bucket_end(t_ms, width))
                        .or_default()
                        .add(role, inc);
                }
            }
            if let Some(last) = last {
                next.last.insert((role, key), last);
            }
        }
    }
    next.seeded = true;
    next.forget_silent(to);
    *state = next;
    Ok(out)
}

/// Counts `(from, to]` in buckets of `width` seconds (at most an hour) from boundary values,
/// reading raw samples only where values at the boundaries cannot tell. `from` and `to` must be
/// multiples of `width`.
pub async fn read_boundaries(
    q: &Querier,
    reads: &[CounterRead],
    group_by: &[String],
    from: i64,
    to: i64,
    width: i64,
) -> Result<RoleCounts, TickError> {
    let mut out = RoleCounts::new();
    // Prometheus answers at most 11,000 points per series in one range query.
    let chunk = MAX_STEPS * width;
    let mut start = from;
    while start < to {
        let end = (start + chunk).min(to);
        for read in reads {
            read_boundary_chunk(q, read, group_by, start, end, width, &mut out).await?;
        }
        start = end;
    }
    Ok(out)
}

/// Steps per range query (Prometheus refuses more than 11,000 points per series).
const MAX_STEPS: i64 = 10_000;

/// Flagged buckets further apart than this are read raw separately, not as one span.
const RUN_GAP_SECS: i64 = 6 * 3600;

async fn read_boundary_chunk(
    q: &Querier,
    read: &CounterRead,
    group_by: &[String],
    from: i64,
    to: i64,
    width: i64,
    out: &mut RoleCounts,
) -> Result<(), TickError> {
    let sel = &read.selector;
    let by = if group_by.is_empty() {
        String::new()
    } else {
        format!(" by ({})", group_by.join(", "))
    };
    let sum_expr = format!("sum{by} ({sel})");
    let odd_expr = anomalies(sel, width);
    let (sums, odd) = tokio::try_join!(
        q.range(&sum_expr, from, to, width),
        q.range(&odd_expr, from + width, to, width),
    )?;
    // Differences of the group sums at consecutive boundaries.
    for s in sums {
        check_finite(&s)?;
        let values: BTreeMap<i64, f64> = by_second(&s).collect();
        let entry = group_entry(out, group_by, &s.labels);
        entry.matched.insert(read.role);
        if read.role == Role::Total {
            entry.seen = entry.seen.max(values.keys().next_back().copied());
        }
        let mut b = from + width;
        while b <= to {
            let (now, before) = (values.get(&b), values.get(&(b - width)));
            if now.is_some() || before.is_some() {
                let inc = now.copied().unwrap_or(0.0) - before.copied().unwrap_or(0.0);
                entry.buckets.entry(b).or_default().add(read.role, inc);
            }
            b += width;
        }
    }
    // The series the differences cannot speak for, with the buckets where they cannot.
    let mut flagged: BTreeMap<BTreeMap<String, String>, BTreeSet<i64>> = BTreeMap::new();
    for s in odd {
        let mut labels = s.labels;
        labels.remove("__name__");
        let ends = flagged.entry(labels).or_default();
        ends.extend(s.points.iter().map(|&(t, _)| t.div_euclid(1000)));
    }
    for (labels, ends) in flagged {
        for run in runs(&ends) {
            replace_flagged(q, read, group_by, &labels, &run, width, out).await?;
        }
    }
    Ok(())
}

/// Replaces one series' share of the boundary differences in the flagged buckets `ends` by
/// its exact increments, followed sample by sample.
async fn replace_flagged(
    q: &Querier,
    read: &CounterRead,
    group_by: &[String],
    labels: &BTreeMap<String, String>,
    ends: &[i64],
    width: i64,
    out: &mut RoleCounts,
) -> Result<(), TickError> {
    let (Some(&first), Some(&last)) = (ends.first(), ends.last()) else {
        return Ok(());
    };
    let exact = exact_selector(&read.metric, labels);
    let span_from = first - width;
    let raw_expr = format!("{exact}[{}s]", last - span_from + SERIES_MEMORY_MS / 1000);
    let (values, raw) = tokio::try_join!(
        q.range(&exact, span_from, last, width),
        q.instant(&raw_expr, last),
    )?;
    let same = |s: &Series| {
        s.labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .eq(labels.iter())
    };
    let values: BTreeMap<i64, f64> = values
        .iter()
        .filter(|s| same(s))
        .flat_map(by_second)
        .collect();
    let mut followed: BTreeMap<i64, f64> = BTreeMap::new();
    let mut newest: Option<i64> = None;
    for s in raw.iter().filter(|s| same(s)) {
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
    let entry = group_entry(out, group_by, labels);
    if read.role == Role::Total {
        entry.seen = entry.seen.max(newest);
    }
    for &b in ends {
        let diff = values.get(&b).copied().unwrap_or(0.0)
            - values.get(&(b - width)).copied().unwrap_or(0.0);
        let exact_inc = followed.get(&b).copied().unwrap_or(0.0);
        entry
            .buckets
            .entry(b)
            .or_default()
            .add(read.role, exact_inc - diff);
    }
    Ok(())
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

/// The buckets `(b - width, b]` where a series' values at the boundaries do not give its exact
/// increase: a reset near them, samples with no value at an end (a series appearing or silent
/// at a boundary), or a value at the start and none at the end (a series vanishing). Sparse:
/// only flagged buckets come back. Set operators match without the metric name.
fn anomalies(sel: &str, width: i64) -> String {
    let reach = width + LOOKBACK_SECS + 60;
    format!(
        "(resets({sel}[{reach}s]) > 0) \
         or (count_over_time({sel}[{width}s]) unless {sel}) \
         or (count_over_time({sel}[{width}s]) unless {sel} offset {width}s) \
         or ({sel} offset {width}s unless {sel})"
    )
}

/// A selector that matches exactly one series (and any with more labels, filtered out after).
fn exact_selector(metric: &str, labels: &BTreeMap<String, String>) -> String {
    let matchers: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::spec::model::quote(v)))
        .collect();
    format!("{metric}{{{}}}", matchers.join(","))
}

#[cfg(test)]
mod tests;
