//! The alert record of one SLO series: the spans of time in which each alert tier was active
//! and in which the series froze, at evaluation resolution, and the spans the recording covers.
//! The burn-rate windows (5m..3d) cannot be replayed from the coarse buckets a report reads,
//! so the engine writes down what it decided as it decides it.
//!
//! An evaluation's states hold from its instant to the next evaluation's: a state opens at the
//! evaluation where it became active and closes at the one where it stopped. Time between two
//! evaluations further apart than the allowed gap (the engine was down, a restart's catch-up),
//! or after an evaluation that could not judge (stale or no data), is *not recorded*: neither
//! quiet nor alerting. The instants are the data's (how far the history was read), the same
//! clock the report's buckets use. Pure: the caller passes the instants.

use serde::{Deserialize, Serialize};

/// `[from, to)` in unix seconds.
pub type Span = (i64, i64);

/// At most this many spans per list: a flapping alert drops its oldest spans (and the
/// recording's start moves past them) rather than grow without bound. A record is rewritten
/// whole at every change, and a span is about 25 bytes of JSON: 1,000 spans in each of the 5
/// lists is about 125 KB at worst per change of a flapping series (10,000 was 1.25 MB). An
/// alert that opened 1,000 times within the period (33 a day over 30 days) is flapping, and
/// its oldest spans matter least.
pub const MAX_SPANS: usize = 1_000;

/// What was active at one evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Active {
    pub page: bool,
    pub ticket: bool,
    pub exhaustion: bool,
    pub freeze: bool,
}

/// The recorded spans of one SLO series (stored as JSON: every field defaults, so a record of
/// an older or newer sloburn still reads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The time the recording covers, merged, oldest first.
    #[serde(default)]
    pub recorded: Vec<Span>,
    #[serde(default)]
    pub page: Vec<Span>,
    #[serde(default)]
    pub ticket: Vec<Span>,
    #[serde(default)]
    pub exhaustion: Vec<Span>,
    #[serde(default)]
    pub freeze: Vec<Span>,
    /// The newest evaluation that could judge, and what was active then: it holds until the
    /// next evaluation, which adds the span between them. `None` after one that could not.
    #[serde(default)]
    pub last: Option<(i64, Active)>,
}

/// Adds `[from, to)` at the end of a list, merged with a span ending where it begins.
fn push(list: &mut Vec<Span>, (from, to): Span) {
    match list.last_mut() {
        Some(last) if last.1 >= from => last.1 = last.1.max(to),
        _ => list.push((from, to)),
    }
}

/// Seconds of `list` inside `[from, to)`.
pub fn overlap(list: &[Span], from: i64, to: i64) -> i64 {
    list.iter()
        .map(|&(a, b)| (b.min(to) - a.max(from)).max(0))
        .sum()
}

/// The union of several lists, merged, oldest first.
pub fn union<'a>(lists: impl IntoIterator<Item = &'a [Span]>) -> Vec<Span> {
    let mut all: Vec<Span> = lists.into_iter().flatten().copied().collect();
    all.sort_unstable();
    let mut out = Vec::new();
    for s in all {
        push(&mut out, s);
    }
    out
}

impl Record {
    /// The lists of the four states, in the order page, ticket, exhaustion, freeze.
    pub fn states(&self) -> [&[Span]; 4] {
        [&self.page, &self.ticket, &self.exhaustion, &self.freeze]
    }

    fn lists_mut(&mut self) -> [&mut Vec<Span>; 5] {
        [
            &mut self.recorded,
            &mut self.page,
            &mut self.ticket,
            &mut self.exhaustion,
            &mut self.freeze,
        ]
    }

    /// Records an evaluation at instant `at`: `Some(active)` when it could judge, `None` when
    /// not (stale, no data). The span since the previous evaluation is added when that one
    /// could judge and lies at most `max_gap` seconds back. Returns whether something changed
    /// that [`Record::resume`] cannot rebuild from the new `last` alone (a state flipped, a
    /// judgement began or stopped, a gap), i.e. whether the record must be saved: a span
    /// merely growing is not a change, so a steady series is not rewritten every tick.
    pub fn observe(&mut self, at: i64, active: Option<Active>, max_gap: i64) -> bool {
        let next = active.map(|a| (at, a));
        let changed = match self.last {
            // The same instant again (no new data): its newer judgement stands.
            Some((t0, _)) if at == t0 => {
                let changed = self.last != next;
                self.last = next;
                return changed;
            }
            // Time going back (a clock step): nothing is added.
            Some((t0, _)) if at < t0 => return false,
            Some((t0, was)) if at - t0 <= max_gap => {
                self.extend(t0, was, at);
                active != Some(was)
            }
            // A gap, or the first judgement after none: changed unless still none.
            last => last.is_some() || next.is_some(),
        };
        self.last = next;
        self.bound();
        changed
    }

    /// Adds `[t0, at)` to the recorded time and to the lists of the states `was` holds.
    fn extend(&mut self, t0: i64, was: Active, at: i64) {
        push(&mut self.recorded, (t0, at));
        for (on, list) in [
            (was.page, &mut self.page),
            (was.ticket, &mut self.ticket),
            (was.exhaustion, &mut self.exhaustion),
            (was.freeze, &mut self.freeze),
        ] {
            if on {
                push(list, (t0, at));
            }
        }
    }

    /// Continues a record read back from the store to `tail`, the `last` saved beside it at
    /// every tick (the record itself only when [`Record::observe`] reports a change). Since
    /// the record was saved nothing changed, so its `last` state held, without a gap, to
    /// `tail`'s instant. A tail that does not continue it (older, other states, none) is
    /// ignored.
    pub fn resume(&mut self, tail: Option<(i64, Active)>) {
        if let (Some((t0, was)), Some((at, now))) = (self.last, tail)
            && at > t0
            && now == was
        {
            self.extend(t0, was, at);
            self.last = tail;
        }
    }

    /// About how many bytes the record takes as JSON (25 per span), for the save's batch size.
    pub fn approx_bytes(&self) -> usize {
        64 + 25 * self.states().iter().map(|l| l.len()).sum::<usize>() + 25 * self.recorded.len()
    }

    /// Drops what lies before `floor` (as the history drops its buckets); returns whether
    /// anything went.
    pub fn retain_from(&mut self, floor: i64) -> bool {
        let mut changed = false;
        for list in self.lists_mut() {
            let before = list.len();
            list.retain(|s| s.1 > floor);
            changed |= list.len() != before;
            if let Some(first) = list.first_mut()
                && first.0 < floor
            {
                first.0 = floor;
                changed = true;
            }
        }
        changed
    }

    /// Keeps every list within [`MAX_SPANS`]: past it, everything before the oldest span kept
    /// goes, the recording's start too.
    fn bound(&mut self) {
        let floor = self
            .lists_mut()
            .into_iter()
            .filter(|l| l.len() > MAX_SPANS)
            .map(|l| l[l.len() - MAX_SPANS].0)
            .max();
        if let Some(floor) = floor {
            self.retain_from(floor);
        }
    }
}

#[cfg(test)]
mod tests;
