//! The SLI history of one SLO series: bad and total events per time bucket, in two rings, with
//! window sums kept up to date incrementally so a tick costs O(1) per window, not a re-scan.
//!
//! - The fine tier holds 1-minute buckets for the last 3 days. Every alert window up to 3d is an
//!   exact sum of whole minutes ending at the newest minute fed. That minute may be *open*: read
//!   up to an instant inside it (sub-minute freshness), and filled further by later reads. A
//!   window read then covers its older whole minutes and the current one so far, so it is
//!   shorter than nominal by the rest of the current minute (under 1m), and exact whenever the
//!   reads stand at a minute boundary.
//! - The coarse ring holds buckets of [`coarse_resolution`] (1h for periods up to 32d) for the
//!   whole period; its newest bucket is open and fills minute by minute. The period (and any
//!   window longer than 3d) is the sum of the coarse buckets it covers. The bucket its old edge
//!   cuts counts its part inside exactly from the minutes while the fine ring holds that part
//!   (a calendar period's first 3 days), else weighted by the share it covers (linear within
//!   the bucket): then the error is at most the uneven part of that one bucket's events (README,
//!   "Buckets and error bounds", gives it in budget terms).
//!
//! Memory: buckets are f32 pairs. Counts are exact integers up to 2^24 (16.7 million) events per
//! bucket; above that a bucket is within 2^-24 of its count per addition (an hour fed minute by
//! minute: within 60 x 2^-24 = 3.6e-6 of its events), far below what a budget can show. Sums
//! over buckets are f64. Stored chunks keep f64 for coarse buckets, so the format did not change
//! with this. The fine tier keeps its last 2 hours plain (960 B) and seals older hours into
//! compact blocks ([`fine`]): counter minutes are integers close to the minute before, a few bits
//! each, and read back as the exact same f32, so no sum changes. For a 30d period (`cargo bench
//! --bench memory`): 5.6 KiB of coarse buckets, 1.4 KiB of ring and windows, and sealed hours
//! of 0.6 KiB (steady traffic), 5.6 KiB (a noisy 10 req/s counter), 10 KiB (1,000 req/s) or
//! 28 KiB (fractions, e.g. rates times seconds; 36 KiB at worst, raw f32), against 34 KiB for a
//! plain ring of 3 days of minutes.

use crate::core::correction::Interval;
use crate::core::{Counts, Period, PromDuration};

mod block;
mod fine;

use block::Minute;
use fine::{Cursor, Fine};

pub use crate::core::bucket::{Bucket, CHUNK_SECS, Chunk, FINE_SECS, Tier};
/// How far back the fine ring reaches.
pub const FINE_SPAN_SECS: i64 = 3 * 86400;
const FINE_LEN: usize = (FINE_SPAN_SECS / FINE_SECS) as usize + 1;
/// Running sums are recomputed from the buckets after this many ring advances, so floating
/// point drift from adding and subtracting never builds up.
const RESUM_EVERY: u32 = 4096;

/// The coarse bucket width for a period: 1h up to 32 days (a calendar month fits), then wider so
/// the ring stays under 800 buckets.
///
/// ```
/// use sloburn::core::Period;
/// use sloburn::engine::history::coarse_resolution;
/// assert_eq!(coarse_resolution(&Period::Rolling("30d".parse().unwrap())), 3600);
/// assert_eq!(coarse_resolution(&Period::Rolling("365d".parse().unwrap())), 12 * 3600);
/// ```
pub fn coarse_resolution(period: &Period) -> i64 {
    let nominal = period.nominal().as_secs() as i64;
    let span = match period {
        // A calendar month is up to 31 days; nominal is 30.
        Period::Calendar { .. } => nominal + 86400,
        Period::Rolling(_) => nominal,
    };
    if span <= 32 * 86400 {
        3600
    } else {
        let hours = (span + 768 * 3600 - 1) / (768 * 3600);
        hours * 3600
    }
}

/// A ring of equal buckets ending at `head` (the start of the newest bucket).
#[derive(Debug, Clone)]
struct Ring<T> {
    res: i64,
    bad: Vec<T>,
    total: Vec<T>,
    /// Start of the newest bucket; `None` while empty.
    head: Option<i64>,
}

trait Cell: Copy + Default {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}
impl Cell for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl Cell for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl<T: Cell> Ring<T> {
    fn new(res: i64, len: usize) -> Self {
        Self {
            res,
            bad: vec![T::default(); len],
            total: vec![T::default(); len],
            head: None,
        }
    }

    fn len(&self) -> usize {
        self.bad.len()
    }

    fn slot(&self, start: i64) -> usize {
        (start.div_euclid(self.res)).rem_euclid(self.len() as i64) as usize
    }

    /// The bucket starting at `start`, if the ring still holds it.
    fn get(&self, start: i64) -> Counts {
        match self.head {
            Some(head) if start <= head && start > head - self.res * self.len() as i64 => {
                let i = self.slot(start);
                Counts {
                    bad: self.bad[i].to_f64(),
                    total: self.total[i].to_f64(),
                }
            }
            _ => Counts::default(),
        }
    }

    /// Stores a bucket and returns what was stored (rounded to `T`), so running sums add
    /// exactly what a later read gives back.
    fn set(&mut self, start: i64, c: Counts) -> Counts {
        let i = self.slot(start);
        self.bad[i] = T::from_f64(c.bad);
        self.total[i] = T::from_f64(c.total);
        Counts {
            bad: self.bad[i].to_f64(),
            total: self.total[i].to_f64(),
        }
    }

    /// Moves the head forward to `start`, clearing the buckets passed over; returns the starts of
    /// the buckets that fell out of the ring, oldest first, and of the new empty buckets.
    fn advance(&mut self, start: i64, mut evicted: impl FnMut(i64, Counts)) {
        let Some(head) = self.head else {
            self.head = Some(start);
            return;
        };
        if start <= head {
            return;
        }
        let steps = (start - head) / self.res;
        if steps >= self.len() as i64 {
            // Everything is evicted; report it so running sums stay right, then clear.
            let oldest = head - self.res * (self.len() as i64 - 1);
            for k in 0..self.len() as i64 {
                let s = oldest + k * self.res;
                evicted(s, self.get(s));
            }
            self.bad.iter_mut().for_each(|v| *v = T::default());
            self.total.iter_mut().for_each(|v| *v = T::default());
        } else {
            for k in 1..=steps {
                let new_start = head + k * self.res;
                let old_start = new_start - self.res * self.len() as i64;
                evicted(old_start, self.get(old_start));
                self.set(new_start, Counts::default());
            }
        }
        self.head = Some(start);
    }
}

/// A window kept as a running sum, with the cursor its old edge reads sealed minutes through.
#[derive(Debug, Clone)]
struct Window {
    minutes: i64,
    sum: Counts,
    edge: Cursor,
}

/// The events a correction takes out of a period, and whether any came from coarse buckets
/// (then the correction is counted at that resolution, not by the minute).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Excluded {
    pub counts: Counts,
    pub coarse: bool,
}

/// The history of one SLO series.
#[derive(Debug, Clone)]
pub struct History {
    fine: Fine,
    coarse: Ring<f32>,
    /// End of the newest minute fed to the fine ring.
    fine_fed_until: Option<i64>,
    /// While that minute is open: the instant (unix seconds, inside it) up to which it is read.
    open_until: Option<i64>,
    /// End of the newest data fed to the coarse ring (a minute or a coarse bucket boundary).
    coarse_fed_until: Option<i64>,
    /// Fine windows, shortest first, with their running sums.
    fine_windows: Vec<Window>,
    advances: u32,
    /// Chunks changed since the last [`History::take_dirty`]: fine hours and coarse buckets.
    dirty: Dirty,
    period: Period,
    /// The sum of the coarse buckets from a bucket start through the head, kept up to date as
    /// buckets change and moved forward by [`History::settle`]: the period without its partly
    /// covered oldest bucket, in O(1) per tick instead of a scan of the whole period.
    period_sum: Option<(i64, Counts)>,
}

/// Chunk starts changed since the last save, kept as runs of consecutive starts: a backfill
/// marks some 800 chunks per series in order, which as set entries cost ~26 KiB per series
/// until the save (`cargo bench --bench memory`), and as runs a few dozen bytes.
#[derive(Debug, Clone, Default)]
struct Dirty {
    /// `(tier, first start, last start, step)`.
    runs: Vec<(Tier, i64, i64, i64)>,
}

impl Dirty {
    fn insert(&mut self, tier: Tier, start: i64, step: i64) {
        // A tick touches the chunks the last one touched: look at the newest runs only (a
        // duplicate that slips through is removed by `take`).
        for run in self.runs.iter_mut().rev().take(4) {
            let (t, first, last, s) = *run;
            if t != tier || s != step {
                continue;
            }
            if (first..=last).contains(&start) && (start - first) % step == 0 {
                return;
            }
            if start == last + step {
                run.2 = start;
                return;
            }
        }
        self.runs.push((tier, start, start, step));
    }

    /// Every marked start once, in order; clears the marks.
    fn take(&mut self) -> Vec<(Tier, i64)> {
        let mut out: Vec<(Tier, i64)> = std::mem::take(&mut self.runs)
            .into_iter()
            .flat_map(|(tier, first, last, step)| {
                (0..=(last - first) / step).map(move |k| (tier, first + k * step))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl History {
    /// An empty history for an SLO with this period, keeping running sums for these windows.
    pub fn new(period: &Period, windows: &[PromDuration]) -> Self {
        let res = coarse_resolution(period);
        let span = match period {
            Period::Calendar { .. } => period.nominal().as_secs() as i64 + 86400,
            Period::Rolling(d) => d.as_secs() as i64,
        };
        let coarse_len = (span / res) as usize + 2;
        let mut minutes: Vec<i64> = windows
            .iter()
            .map(|w| minutes_of(*w))
            .filter(|m| *m * FINE_SECS <= FINE_SPAN_SECS)
            .collect();
        minutes.sort_unstable();
        minutes.dedup();
        let fine_windows = minutes
            .into_iter()
            .map(|minutes| Window {
                minutes,
                sum: Counts::default(),
                edge: Cursor::default(),
            })
            .collect();
        Self {
            fine: Fine::new(),
            coarse: Ring::new(res, coarse_len),
            fine_fed_until: None,
            open_until: None,
            coarse_fed_until: None,
            fine_windows,
            advances: 0,
            dirty: Default::default(),
            period: *period,
            period_sum: None,
        }
    }

    /// The coarse bucket width in seconds.
    pub fn coarse_res(&self) -> i64 {
        self.coarse.res
    }

    /// End of the newest minute in the history (complete, or open: see [`Self::read_until`]).
    pub fn fed_until(&self) -> Option<i64> {
        self.fine_fed_until
    }

    /// The instant up to which the history is read: inside the newest minute while it is open,
    /// its end otherwise.
    ///
    /// ```
    /// use sloburn::core::{Counts, Period};
    /// use sloburn::engine::history::History;
    /// let mut h = History::new(&Period::Rolling("30d".parse().unwrap()), &[]);
    /// h.push_partial(125, Counts { bad: 0.0, total: 5.0 });
    /// assert_eq!((h.fed_until(), h.read_until()), (Some(180), Some(125)));
    /// ```
    pub fn read_until(&self) -> Option<i64> {
        self.open_until.or(self.fine_fed_until)
    }

    /// End of the newest data in the coarse ring.
    pub fn coarse_fed_until(&self) -> Option<i64> {
        self.coarse_fed_until
    }

    /// Adds the events of the minute ending at `minute_end` (a multiple of 60) and closes it.
    /// Minutes not after the newest one fed are ignored, so a re-query never counts twice; the
    /// open minute takes the rest of its events this way.
    pub fn push_minute(&mut self, minute_end: i64, c: Counts) {
        self.add_minute(minute_end, c, None);
    }

    /// Adds events read up to `until` (unix seconds) inside the minute that ends after it; the
    /// minute stays open for more. Ignored for minutes already closed.
    pub fn push_partial(&mut self, until: i64, c: Counts) {
        let minute_end = until.div_euclid(FINE_SECS) * FINE_SECS + FINE_SECS;
        if until.rem_euclid(FINE_SECS) == 0 {
            // An instant on the boundary closes the minute it ends.
            self.add_minute(until, c, None);
        } else {
            self.add_minute(minute_end, c, Some(until));
        }
    }

    fn add_minute(&mut self, minute_end: i64, c: Counts, open_until: Option<i64>) {
        let c = sanitize(c);
        let start = minute_end - FINE_SECS;
        // More of the open minute is added to its bucket, not ignored as already fed.
        let open = self.open_until.is_some() && self.fine_fed_until == Some(minute_end);
        if open || self.fine_fed_until.is_none_or(|fed| minute_end > fed) {
            self.open_until = open_until;
            self.advance_fine(start);
            self.fine_add(start, c);
            self.fine_fed_until = Some(minute_end);
            self.dirty.insert(
                Tier::Fine,
                start.div_euclid(CHUNK_SECS) * CHUNK_SECS,
                CHUNK_SECS,
            );
        }
        if (open && self.coarse_fed_until.is_none_or(|fed| fed <= minute_end))
            || self.coarse_fed_until.is_none_or(|fed| minute_end > fed)
        {
            let cstart = start.div_euclid(self.coarse.res) * self.coarse.res;
            self.coarse
                .advance(cstart.max(self.coarse.head.unwrap_or(cstart)), |_, _| {});
            self.check_period_sum();
            let old = self.coarse.get(cstart);
            self.coarse_set(cstart, old + c);
            self.coarse_fed_until = Some(minute_end);
            self.dirty.insert(Tier::Coarse, cstart, self.coarse.res);
        }
    }

    /// Sets a whole coarse bucket ending at `bucket_end` (from a query at the coarse resolution),
    /// replacing whatever minutes it held. Used to build the period's history cheaply.
    pub fn push_coarse(&mut self, bucket_end: i64, c: Counts) {
        let c = sanitize(c);
        let start = bucket_end - self.coarse.res;
        if self.coarse.head.is_none_or(|h| start >= h) {
            self.coarse.advance(start, |_, _| {});
            self.check_period_sum();
        } else if self
            .coarse
            .head
            .is_some_and(|h| start <= h - self.coarse.res * self.coarse.len() as i64)
        {
            return;
        }
        self.coarse_set(start, c);
        self.dirty.insert(Tier::Coarse, start, self.coarse.res);
        if self.coarse_fed_until.is_none_or(|fed| bucket_end > fed) {
            self.coarse_fed_until = Some(bucket_end);
        }
    }

    /// Marks the history as complete up to `until` without new events (the source answered with
    /// no data, e.g. no traffic). Same as pushing empty minutes; an `until` inside a minute leaves
    /// that minute open.
    pub fn mark_empty_until(&mut self, at: i64) {
        let inside = at.rem_euclid(FINE_SECS) != 0;
        let until = at.div_euclid(FINE_SECS) * FINE_SECS;
        if self.open_until.is_some() && self.fine_fed_until.is_some_and(|fed| fed <= until) {
            // The open minute is over: close it.
            if let Some(fed) = self.fine_fed_until {
                self.push_minute(fed, Counts::default());
            }
        }
        self.mark_whole_minutes(until);
        if inside {
            self.push_partial(at, Counts::default());
        }
        self.settle();
    }

    fn mark_whole_minutes(&mut self, until: i64) {
        match self.fine_fed_until {
            Some(fed) if until > fed => {
                // Only the last ring's worth of minutes can matter.
                let from = fed.max(until - FINE_SPAN_SECS - FINE_SECS);
                let mut m = from + FINE_SECS;
                while m <= until {
                    self.push_minute(m, Counts::default());
                    m += FINE_SECS;
                }
            }
            None => {
                self.push_minute(until, Counts::default());
            }
            _ => {}
        }
        self.settle();
    }

    /// Writes a coarse bucket, keeping the period sum right.
    fn coarse_set(&mut self, start: i64, c: Counts) {
        let old = self.coarse.get(start);
        let c = self.coarse.set(start, c);
        if let Some((first, sum)) = &mut self.period_sum
            && start >= *first
        {
            sum.bad += c.bad - old.bad;
            sum.total += c.total - old.total;
        }
    }

    /// Drops the period sum if the ring no longer holds all it covers.
    fn check_period_sum(&mut self) {
        if let (Some((first, _)), Some(head)) = (self.period_sum, self.coarse.head) {
            let oldest = head - self.coarse.res * (self.coarse.len() as i64 - 1);
            if first < oldest {
                self.period_sum = None;
            }
        }
    }

    /// Where the period starts for data ending at `end`, and its first whole coarse bucket.
    fn period_start(&self, end: i64) -> (i64, i64) {
        let from = match self.period {
            Period::Rolling(d) => end - d.as_secs() as i64,
            Period::Calendar { .. } => {
                let at = chrono::DateTime::from_timestamp(end - 1, 0).unwrap_or_default();
                self.period.bounds_at(at).0.timestamp()
            }
        };
        let res = self.coarse.res;
        (
            from,
            from.div_euclid(res) * res + if from.rem_euclid(res) == 0 { 0 } else { res },
        )
    }

    /// Moves the period sum to the newest data: subtracts the buckets that left the period
    /// (amortized O(1)), or sums afresh when the period jumped (a new calendar month, a restore).
    pub fn settle(&mut self) {
        let (Some(end), Some(head)) = (
            self.fine_fed_until.or(self.coarse_fed_until),
            self.coarse.head,
        ) else {
            return;
        };
        let res = self.coarse.res;
        let (_, first) = self.period_start(end);
        let moved = match self.period_sum {
            Some((f, mut sum)) if f <= first && first - f <= 4 * res => {
                let mut s = f;
                while s < first {
                    let c = self.coarse.get(s);
                    sum.bad -= c.bad;
                    sum.total -= c.total;
                    s += res;
                }
                Some((first, sum))
            }
            _ => None,
        };
        self.period_sum = moved.or_else(|| {
            let mut sum = Counts::default();
            let mut s = first;
            while s <= head {
                sum += self.coarse.get(s);
                s += res;
            }
            Some((first, sum))
        });
    }

    fn advance_fine(&mut self, start: i64) {
        let Some(head) = self.fine.head() else {
            self.fine.advance(start);
            return;
        };
        if start <= head {
            return;
        }
        // Each bucket leaving a window is subtracted once; windows are sorted, so a bucket that
        // leaves window w leaves it as the head passes head_old + w. Each window's edge reads
        // through its own cursor, one minute further each step.
        let steps = (start - head) / FINE_SECS;
        if steps as usize > FINE_LEN {
            self.fine.advance(start);
            for w in &mut self.fine_windows {
                w.sum = Counts::default();
            }
        } else {
            for k in 1..=steps {
                let new_start = head + k * FINE_SECS;
                for w in &mut self.fine_windows {
                    let leaving = new_start - w.minutes * FINE_SECS;
                    w.sum -= self.fine.read(leaving, &mut w.edge).counts();
                }
                self.fine.advance(new_start);
            }
        }
        self.advances += 1;
        if self.advances >= RESUM_EVERY {
            self.resum();
        }
    }

    /// Adds to the newest minute (the only one ever written after it is fed), and to every
    /// window by what the f32 bucket really gained, so running sums add exactly what a later
    /// read gives back.
    fn fine_add(&mut self, start: i64, c: Counts) {
        let old = self.fine.get(start).counts();
        let rounded = Minute::rounded(old + c);
        if !self.fine.set(start, rounded) {
            return;
        }
        let new = rounded.counts();
        let added = Counts {
            bad: new.bad - old.bad,
            total: new.total - old.total,
        };
        for w in &mut self.fine_windows {
            w.sum += added;
        }
    }

    /// Recomputes every running sum from the buckets (newest first, as they always were).
    fn resum(&mut self) {
        self.advances = 0;
        if self.fine_windows.is_empty() {
            return;
        }
        let minutes = self.fine.minutes();
        for w in &mut self.fine_windows {
            let mut s = Counts::default();
            for m in minutes.iter().rev().take(w.minutes as usize) {
                s += m.counts();
            }
            w.sum = s;
        }
    }

    /// Events in the window of length `w` ending with the newest minute fed (while it is open,
    /// the window holds it so far: short of `w` by the rest of that minute).
    ///
    /// ```
    /// use sloburn::core::{Counts, Period, PromDuration};
    /// use sloburn::engine::history::History;
    /// let five = PromDuration::from_secs(300);
    /// let mut h = History::new(&Period::Rolling("30d".parse().unwrap()), &[five]);
    /// for m in 1..=10 {
    ///     h.push_minute(m * 60, Counts { bad: 1.0, total: 100.0 });
    /// }
    /// assert_eq!(h.window(five), Counts { bad: 5.0, total: 500.0 });
    /// ```
    pub fn window(&self, w: PromDuration) -> Counts {
        let minutes = minutes_of(w);
        if let Some(w) = self.fine_windows.iter().find(|w| w.minutes == minutes) {
            return clamp(w.sum);
        }
        let Some(end) = self.fine_fed_until else {
            return Counts::default();
        };
        if minutes * FINE_SECS <= FINE_SPAN_SECS {
            // Not a tracked window: sum the minutes, newest first (only used by callers outside
            // the tick).
            let mut s = Counts::default();
            let mut edge = Cursor::default();
            let mut newest_first: Vec<Minute> = (1..=minutes)
                .rev()
                .map(|k| self.fine.read(end - k * FINE_SECS, &mut edge))
                .collect();
            newest_first.reverse();
            for m in newest_first {
                s += m.counts();
            }
            return clamp(s);
        }
        self.coarse_range(end - minutes * FINE_SECS, end)
    }

    /// Events in the period ending with the newest minute fed (so far, while it is open).
    pub fn period(&self, period: &Period) -> Counts {
        let Some(end) = self.fine_fed_until.or(self.coarse_fed_until) else {
            return Counts::default();
        };
        if *period == self.period {
            let (from, first) = self.period_start(end);
            if let Some((f, sum)) = self.period_sum
                && f == first
            {
                // The whole buckets, plus the part of the one the period's start cuts.
                let res = self.coarse.res;
                let part = self.cut_part(first - res, from, first);
                return clamp(Counts {
                    bad: sum.bad + part.bad,
                    total: sum.total + part.total,
                });
            }
        }
        let from = match period {
            Period::Rolling(d) => end - d.as_secs() as i64,
            Period::Calendar { .. } => {
                let at = chrono::DateTime::from_timestamp(end - 1, 0).unwrap_or_default();
                period.bounds_at(at).0.timestamp()
            }
        };
        self.coarse_range(from, end)
    }

    /// Sum of coarse buckets over [from, to), weighting the bucket cut by `from` by its share.
    fn coarse_range(&self, from: i64, to: i64) -> Counts {
        let Some(head) = self.coarse.head else {
            return Counts::default();
        };
        let res = self.coarse.res;
        let first = from.div_euclid(res) * res;
        let oldest = head - res * (self.coarse.len() as i64 - 1);
        let mut s = Counts::default();
        let mut start = first.max(oldest);
        while start <= head && start < to {
            if start < from {
                s += self.cut_part(start, from, (start + res).min(to));
            } else {
                s += self.coarse.get(start);
            }
            start += res;
        }
        clamp(s)
    }

    /// The events of `[from, to)`, the part of the coarse bucket starting at `bucket` that a
    /// period's old edge leaves inside: exact from the minutes while the minute ring holds that
    /// span (a calendar period's first days, a short rolling period), else the bucket weighted
    /// by the share of it inside.
    fn cut_part(&self, bucket: i64, from: i64, to: i64) -> Counts {
        if let Some(exact) = self.fine_span(from, to) {
            return exact;
        }
        let c = self.coarse.get(bucket);
        let share = (to.min(bucket + self.coarse.res) - from) as f64 / self.coarse.res as f64;
        Counts {
            bad: c.bad * share,
            total: c.total * share,
        }
    }

    /// The sum of the minutes of `[from, to)` when the minute ring holds all of them.
    fn fine_span(&self, from: i64, to: i64) -> Option<Counts> {
        let head = self.fine.head()?;
        let oldest = head - (FINE_LEN as i64 - 1) * FINE_SECS;
        if from.rem_euclid(FINE_SECS) != 0 || from < oldest {
            return None;
        }
        let mut s = Counts::default();
        let mut cursor = Cursor::default();
        let mut start = from;
        while start < to && start <= head {
            s += self.fine.read(start, &mut cursor).counts();
            start += FINE_SECS;
        }
        Some(s)
    }

    /// The current period's span `[from, end)` for the data held (`None` while empty).
    pub fn period_range(&self) -> Option<Interval> {
        let end = self.fine_fed_until.or(self.coarse_fed_until)?;
        Some((self.period_start(end).0, end))
    }

    /// The events of the current period inside `intervals` (sorted and disjoint, as
    /// [`crate::core::correction::merge`] gives them): what budget corrections take out.
    ///
    /// Never counts an event outside the intervals: where the fine tier holds the minutes (the
    /// last 3 days), the whole minutes inside; before that, the coarse buckets wholly inside
    /// (a bucket an interval cuts is kept whole, so older corrections are exact at bucket
    /// edges and short of the truth by the cut buckets otherwise).
    pub fn excluded(&self, intervals: &[Interval]) -> Excluded {
        let mut out = Excluded::default();
        let Some((from, end)) = self.period_range() else {
            return out;
        };
        // The open minute holds its events up to here.
        let read_end = self.read_until().unwrap_or(end).min(end);
        let res = self.coarse.res;
        let (_, first) = self.period_start(end);
        let fine_from = self
            .fine
            .head()
            .map_or(i64::MAX, |h| h - (FINE_LEN as i64 - 1) * FINE_SECS);
        let mut cursor = Cursor::default();
        for &(a, b) in intervals {
            let (a, b) = (a.max(from), b.min(end));
            if a >= b {
                continue;
            }
            if a < fine_from {
                out.coarse = true;
                if let Some(head) = self.coarse.head {
                    // Whole buckets of the period inside `[a, b)` and before the minutes.
                    let mut s = (a.div_euclid(res) * res
                        + if a.rem_euclid(res) == 0 { 0 } else { res })
                    .max(first);
                    while s <= head && s + res <= fine_from && (s + res).min(end) <= b {
                        out.counts += self.coarse.get(s);
                        s += res;
                    }
                }
            }
            if fine_from != i64::MAX {
                let m0 = a.max(fine_from);
                let mut m = m0.div_euclid(FINE_SECS) * FINE_SECS
                    + if m0.rem_euclid(FINE_SECS) == 0 {
                        0
                    } else {
                        FINE_SECS
                    };
                while m < read_end && (m + FINE_SECS).min(read_end) <= b {
                    out.counts += self.fine.read(m, &mut cursor).counts();
                    m += FINE_SECS;
                }
            }
        }
        out.counts = clamp(out.counts);
        out
    }

    /// The coarse buckets of the current period, oldest first: `(bucket end, counts)`, the
    /// oldest weighted by the share of it inside the period.
    pub fn period_buckets(&self) -> Vec<(i64, Counts)> {
        let (Some(end), Some(head)) = (
            self.fine_fed_until.or(self.coarse_fed_until),
            self.coarse.head,
        ) else {
            return Vec::new();
        };
        let res = self.coarse.res;
        let (from, first) = self.period_start(end);
        let mut out = Vec::new();
        if first > from {
            out.push((first, self.cut_part(first - res, from, first)));
        }
        let mut s = first;
        while s <= head {
            out.push(((s + res).min(end), self.coarse.get(s)));
            s += res;
        }
        out
    }

    /// Every non-empty bucket, for durable storage.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        if let Some(head) = self.fine.head() {
            let oldest = head - (FINE_LEN as i64 - 1) * FINE_SECS;
            for (k, m) in self.fine.minutes().into_iter().enumerate() {
                let start = oldest + k as i64 * FINE_SECS;
                let counts = m.counts();
                if counts.total != 0.0 || counts.bad != 0.0 {
                    out.push(Bucket {
                        tier: Tier::Fine,
                        start,
                        counts,
                    });
                }
            }
        }
        if let Some(head) = self.coarse.head {
            for k in (0..self.coarse.len() as i64).rev() {
                let start = head - k * self.coarse.res;
                let counts = self.coarse.get(start);
                if counts.total != 0.0 || counts.bad != 0.0 {
                    out.push(Bucket {
                        tier: Tier::Coarse,
                        start,
                        counts,
                    });
                }
            }
        }
        out
    }

    /// Rebuilds a history from stored buckets and markers (the inverse of [`Self::buckets`]).
    /// `read_until` is [`Self::read_until`]: inside a minute, that minute is open.
    pub fn restore(
        period: &Period,
        windows: &[PromDuration],
        buckets: &[Bucket],
        read_until: Option<i64>,
        coarse_fed_until: Option<i64>,
    ) -> Self {
        Self::restore_from(period, windows, buckets, read_until, coarse_fed_until, None)
    }

    /// [`History::restore`] from coarse buckets `stored_res` seconds wide, which may differ
    /// from this period's resolution (the period changed): each is shared among the buckets
    /// it overlaps by the share of time in each.
    pub fn restore_from(
        period: &Period,
        windows: &[PromDuration],
        buckets: &[Bucket],
        read_until: Option<i64>,
        coarse_fed_until: Option<i64>,
        stored_res: Option<i64>,
    ) -> Self {
        let minute_end = |t: i64| t.div_euclid(FINE_SECS) * FINE_SECS + FINE_SECS;
        let open_until = read_until.filter(|t| t.rem_euclid(FINE_SECS) != 0);
        let fine_fed_until = match open_until {
            Some(t) => Some(minute_end(t)),
            None => read_until,
        };
        let coarse_fed_until = coarse_fed_until.map(|t| {
            if t.rem_euclid(FINE_SECS) == 0 {
                t
            } else {
                minute_end(t)
            }
        });
        let mut h = Self::new(period, windows);
        if let Some(fed) = coarse_fed_until {
            h.coarse.head = Some((fed - 1).div_euclid(h.coarse.res) * h.coarse.res);
        }
        let fine_head = fine_fed_until.map(|fed| fed - FINE_SECS);
        // The fine minutes are gathered in order, then sealed hour by hour.
        let mut minutes = vec![Minute::default(); if fine_head.is_some() { FINE_LEN } else { 0 }];
        for b in buckets {
            match b.tier {
                Tier::Fine => {
                    if let Some(m) = fine_head.and_then(|head| fine_index(head, b.start)) {
                        minutes[m] = Minute::rounded(sanitize(b.counts));
                    }
                }
                Tier::Coarse => {
                    // Buckets of another width (the period changed) are shared among the
                    // buckets they overlap, by the share of time in each (linear within the
                    // bucket, as at a period's edge): no event is lost.
                    let res = h.coarse.res;
                    let mut width = stored_res.unwrap_or(res).max(1);
                    // The newest bucket holds events only up to where it was fed.
                    if let Some(fed) = coarse_fed_until {
                        width = width.min(fed - b.start).max(1);
                    }
                    let c = sanitize(b.counts);
                    let mut start = b.start.div_euclid(res) * res;
                    while start < b.start + width {
                        let overlap = (start + res).min(b.start + width) - start.max(b.start);
                        let ring_ok = h.coarse.head.is_some_and(|head| {
                            start <= head && start > head - res * h.coarse.len() as i64
                        });
                        if ring_ok && overlap > 0 {
                            let share = overlap as f64 / width as f64;
                            let part = Counts {
                                bad: c.bad * share,
                                total: c.total * share,
                            };
                            let sum = h.coarse.get(start) + part;
                            h.coarse.set(start, sum);
                        }
                        start += res;
                    }
                }
            }
        }
        if let Some(head) = fine_head {
            h.fine = Fine::from_minutes(head, &minutes);
        }
        h.fine_fed_until = fine_fed_until;
        h.open_until = open_until;
        h.coarse_fed_until = coarse_fed_until;
        h.resum();
        h.settle();
        h
    }

    /// Every chunk changed since the last call, to save (an empty one is deleted).
    pub fn take_dirty(&mut self) -> Vec<Chunk> {
        self.dirty
            .take()
            .into_iter()
            .map(|(tier, start)| self.chunk(tier, start))
            .collect()
    }

    /// Marks chunks as changed again (their save failed), so the next save writes them.
    pub fn mark_unsaved(&mut self, chunks: impl IntoIterator<Item = (Tier, i64)>) {
        for (tier, start) in chunks {
            let step = match tier {
                Tier::Fine => CHUNK_SECS,
                Tier::Coarse => self.coarse.res,
            };
            self.dirty.insert(tier, start, step);
        }
    }

    /// The start of the oldest coarse bucket the ring can hold now.
    pub fn coarse_oldest(&self) -> Option<i64> {
        let head = self.coarse.head?;
        Some(head - self.coarse.res * (self.coarse.len() as i64 - 1))
    }

    /// Marks every chunk that holds events as changed, so the next save writes them all (after
    /// the buckets were rebuilt at another resolution).
    pub fn mark_all_unsaved(&mut self) {
        let marks: Vec<(Tier, i64)> = self.chunks().iter().map(|c| (c.tier, c.start)).collect();
        self.mark_unsaved(marks);
    }

    /// Every chunk that holds events.
    pub fn chunks(&self) -> Vec<Chunk> {
        let mut starts = std::collections::BTreeSet::new();
        for b in self.buckets() {
            let start = match b.tier {
                Tier::Fine => b.start.div_euclid(CHUNK_SECS) * CHUNK_SECS,
                Tier::Coarse => b.start,
            };
            starts.insert((b.tier, start));
        }
        starts
            .into_iter()
            .map(|(tier, start)| self.chunk(tier, start))
            .filter(|c| !c.is_empty())
            .collect()
    }

    /// The buckets of one chunk: an hour of minutes, or one coarse bucket.
    fn chunk(&self, tier: Tier, start: i64) -> Chunk {
        let counts = match tier {
            Tier::Fine => {
                let mut cursor = Cursor::default();
                (0..(CHUNK_SECS / FINE_SECS))
                    .map(|m| self.fine.read(start + m * FINE_SECS, &mut cursor).counts())
                    .collect()
            }
            Tier::Coarse => vec![self.coarse.get(start)],
        };
        Chunk {
            tier,
            start,
            counts,
        }
    }

    /// The oldest chunk start still worth keeping per tier (older rows can be deleted).
    pub fn retention_floor(&self) -> (i64, i64) {
        let fine = self
            .fine
            .head()
            .map(|h| (h - FINE_SECS * FINE_LEN as i64).div_euclid(CHUNK_SECS) * CHUNK_SECS)
            .unwrap_or(i64::MIN);
        let coarse = self
            .coarse
            .head
            .map(|h| h - self.coarse.res * self.coarse.len() as i64)
            .unwrap_or(i64::MIN);
        (fine, coarse)
    }

    /// Bytes of bucket storage this history holds (for the memory budget): the fine tier's
    /// ring and sealed hours as allocated, the coarse ring and the windows.
    pub fn heap_bytes(&self) -> usize {
        self.fine.heap_bytes()
            + self.coarse.len() * 2 * std::mem::size_of::<f32>()
            + self.fine_windows.capacity() * std::mem::size_of::<Window>()
    }
}

/// Where the minute containing `start` sits among the fine tier's minutes ending at `head`
/// (oldest first), if it is held.
fn fine_index(head: i64, start: i64) -> Option<usize> {
    let oldest = head - (FINE_LEN as i64 - 1) * FINE_SECS;
    let minute = start.div_euclid(FINE_SECS) * FINE_SECS;
    (minute >= oldest && start <= head).then(|| ((minute - oldest) / FINE_SECS) as usize)
}

/// Whole minutes of a window, rounding up (a 90s window counts 2 minutes).
fn minutes_of(w: PromDuration) -> i64 {
    ((w.as_millis() as i64) + FINE_SECS * 1000 - 1) / (FINE_SECS * 1000)
}

/// Negative, NaN or infinite counts never enter the history.
fn sanitize(c: Counts) -> Counts {
    let fix = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    Counts {
        bad: fix(c.bad),
        total: fix(c.total),
    }
}

/// Running sums may dip a hair below zero from rounding.
fn clamp(c: Counts) -> Counts {
    Counts {
        bad: c.bad.max(0.0),
        total: c.total.max(0.0),
    }
}

#[cfg(test)]
mod tests;
