//! What one catch-up reads, decided from an SLO's marks alone (no I/O): the first start, a short
//! gap, a long gap and "up to date" in one table-tested place. The runner carries the plan out
//! against its source.

use crate::core::Period;
use crate::engine::history::{FINE_SECS, FINE_SPAN_SECS, coarse_resolution};
use crate::engine::runner::Reach;

/// Gaps up to this many minutes are filled minute by minute; longer ones rebuild from coarse
/// buckets first.
pub const CATCHUP_MINUTES: i64 = 6 * 60;

/// A stretch of time to read: `(from, to]`, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub from: i64,
    pub to: i64,
}

/// How the fine part of a plan is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FineRead {
    /// Counter SLIs after a long gap (or at the first start): group sums at minute boundaries
    /// (exact, see [`crate::engine::counters`]), then each series' last sample at the end, to
    /// follow from.
    Boundaries,
    /// Counter SLIs in steady state: raw samples, up to an instant that may lie inside a minute.
    Samples,
    /// Templated SLIs: the source's 1-minute buckets.
    Buckets,
}

/// One catch-up's reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadPlan {
    /// Counter SLIs after a long gap that follows a read ended inside a minute: the rest of that
    /// minute, read sample by sample, so that the boundary reads start on a whole minute and
    /// nothing between the last read and that minute is lost.
    pub lead: Option<Span>,
    /// The period's coarse buckets to rebuild, and their width in seconds (long gaps only).
    pub coarse: Option<(Span, i64)>,
    /// The minutes (or samples) to read after that.
    pub fine: Span,
    pub how: FineRead,
}

/// Raw reads ask for at most this many seconds of samples at once: an answer holds every
/// sample of the span, and a long one over many series would be large.
pub const RAW_SLICE_SECS: i64 = 15 * 60;

/// The slices a raw read of `(from, to]` is made of, oldest first: `(slice end, seconds)`.
///
/// ```
/// use sloburn::engine::read_plan::raw_slices;
/// let slices: Vec<_> = raw_slices(0, 2000).collect();
/// assert_eq!(slices, [(900, 900), (1800, 900), (2000, 200)]);
/// ```
pub fn raw_slices(from: i64, to: i64) -> impl Iterator<Item = (i64, i64)> {
    let mut a = from;
    std::iter::from_fn(move || {
        (a < to).then(|| {
            let b = (a + RAW_SLICE_SECS).min(to);
            let slice = (b, b - a);
            a = b;
            slice
        })
    })
}

/// What an SLO's history holds, as far as planning its reads goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marks {
    /// The end of what the fine tier (and the samples) were read up to.
    pub fed: Option<i64>,
    /// The end of the newest coarse bucket read.
    pub coarse_fed: Option<i64>,
    /// Where the coarse buckets begin (`None`: the whole period).
    pub coarse_from: Option<i64>,
}

/// The part of the period that needs coarse buckets.
pub fn period_span(period: &Period) -> i64 {
    match period {
        Period::Rolling(d) => d.as_secs() as i64,
        // The month can be 31 days; keep its whole length reachable.
        Period::Calendar { .. } => period.nominal().as_secs() as i64 + 86400,
    }
}

/// The reads that bring an SLO with these [`Marks`] up to `reach`, or `None` when it is up to
/// date. Counter SLIs (`counts_samples`) read up to the reach's instant in steady state;
/// everything else, and every backfill, in whole minutes. Coarse buckets are read after a long
/// gap, and for the part of the period before `coarse_from` (a period made longer).
///
/// ```
/// use sloburn::engine::read_plan::{plan, FineRead, Marks, Span};
/// use sloburn::engine::runner::Reach;
/// let period = "30d".parse().map(sloburn::core::Period::Rolling).unwrap();
/// let reach = Reach { minute: 1_800_000_000, instant: 1_800_000_035 };
/// // Read up to 1_799_999_990 a tick ago: the samples since.
/// let marks = Marks { fed: Some(1_799_999_990), coarse_fed: Some(1_799_999_990), coarse_from: None };
/// let p = plan(marks, reach, true, &period).unwrap();
/// assert_eq!((p.coarse, p.fine, p.how), (None, Span { from: 1_799_999_990, to: 1_800_000_035 }, FineRead::Samples));
/// ```
pub fn plan(marks: Marks, reach: Reach, counts_samples: bool, period: &Period) -> Option<ReadPlan> {
    let Marks {
        fed,
        coarse_fed,
        coarse_from,
    } = marks;
    let target = reach.minute;
    let res = coarse_resolution(period);
    let oldest = target - period_span(period) - res;
    // Buckets missing before where the coarse ones begin (the period was made longer).
    let missing_from = coarse_from.filter(|c| *c > oldest + res);
    let upto = if counts_samples {
        reach.instant
    } else {
        reach.minute
    };
    if fed.is_some_and(|f| f >= upto) {
        return None;
    }
    let long_gap = fed.is_none_or(|f| target - f > CATCHUP_MINUTES * FINE_SECS);
    if let (Some(from), false) = (fed, long_gap) {
        let how = if counts_samples {
            FineRead::Samples
        } else {
            FineRead::Buckets
        };
        // Through the bucket `coarse_from` falls in: that one was only partly held, and a
        // read replaces it whole.
        let older = missing_from
            .map(|c| Span {
                from: oldest.div_euclid(res) * res,
                to: (c + res - 1).div_euclid(res).min(target.div_euclid(res)) * res,
            })
            .filter(|s| s.to > s.from);
        return Some(ReadPlan {
            lead: None,
            coarse: older.map(|s| (s, res)),
            fine: Span { from, to: upto },
            how,
        });
    }
    let from = match missing_from {
        Some(_) => oldest,
        None => coarse_fed.unwrap_or(oldest).max(oldest),
    }
    .div_euclid(res)
        * res;
    let to = target.div_euclid(res) * res;
    let fine_from = target - FINE_SPAN_SECS;
    let lead = fed
        .filter(|f| counts_samples && f.rem_euclid(FINE_SECS) != 0 && *f > fine_from)
        .map(|f| Span {
            from: f,
            to: f.div_euclid(FINE_SECS) * FINE_SECS + FINE_SECS,
        });
    Some(ReadPlan {
        lead,
        coarse: (to > from).then_some((Span { from, to }, res)),
        // A backfill stops at the whole minute; the next tick reads on from there.
        fine: Span {
            from: lead
                .map_or(fed.unwrap_or(i64::MIN), |l| l.to)
                .max(fine_from),
            to: target,
        },
        how: if counts_samples {
            FineRead::Boundaries
        } else {
            FineRead::Buckets
        },
    })
}

#[cfg(test)]
mod tests;
