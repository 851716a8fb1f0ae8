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
/// already read for this range by a shared query (`prefetched`) are used instead of asking.
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
    if let Some(p) = prefetched.filter(|p| !seeding && p.from == from && p.to == to) {
        for (role, s) in p.answer? {
            follow_series(&s, role, group_by, &mut next, &mut out, from, width, false)?;
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
    // The series the differences cannot speak for, with the buckets where they cannot: every
    // bucket of a flagged hour inside the range.
    let flagged: BTreeMap<BTreeMap<String, String>, BTreeSet<i64>> = flagged
        .into_iter()
        .map(|(labels, hours)| {
            let ends = hours
                .into_iter()
                .flat_map(|h| {
                    let first = (h - HOUR_SECS).max(from) + width;
                    let last = h.min(to);
                    (first..=last).step_by(width as usize)
                })
                .collect();
            (labels, ends)
        })
        .collect();
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
    if whole >= first {
        answers.push(
            q.range(&anomalies(sel, HOUR_SECS), first, whole, HOUR_SECS)
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
