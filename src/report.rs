//! `sloburn report`: what an SLO's stored history says about a range of time, without a source.
//! Pure: from stored buckets and markers ([`StoredSlo`]) and a range to rows; [`render`] writes
//! them as Markdown, CSV or JSON.
//!
//! Where the numbers come from: the fine tier (minutes) where it holds the range, else the
//! coarse buckets (1h for periods up to 32d). A coarse bucket is counted whole or not at all:
//! a range edge inside one, where no minutes are held, takes the whole bucket, and the row says
//! which range it covers (`covered`); an edge inside a minute takes the whole minute. So no
//! number is weighted, and at whole-bucket edges every number is exact.
//!
//! The history holds `[begins, newest)`: from where the coarse buckets were first read
//! (`SloMeta::coarse_from`, else the oldest stored bucket), or the oldest minute held when that
//! is older (periods under 3 days), to the newest instant read. Time of
//! the range outside it is *not held*; time inside it in buckets with no event is *no data*.
//!
//! Budget corrections stored with the history (`SloMeta::corrections`) that are in effect in a
//! row's covered range are listed on it with the events they exclude, by the engine's rule, so
//! a row gives its numbers both as measured and with the corrections applied.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};

use crate::core::bucket::{Bucket, FINE_SECS, Tier};
use crate::core::correction::{Correction, Interval, merge};
use crate::core::record::{Record, Span, overlap, union};
use crate::core::{Counts, Objective, error_ratio};
use crate::engine::history::FINE_SPAN_SECS;
use crate::store::StoredSlo;

pub mod live;
pub mod render;

const DAY: i64 = 86400;
const HOUR: i64 = 3600;

/// A range of time `[from, to)` in unix seconds, `from < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

/// What is wrong with a report's request (the CLI's flags or the API's parameters).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RangeError {
    #[error("give --month YYYY-MM, or --from and --to")]
    Missing,
    #[error("--format {0:?} is unknown: write markdown, html, csv or json")]
    Format(String),
    #[error("--month {0:?} is no month: write it as YYYY-MM, e.g. 2026-11")]
    Month(String),
    #[error("--{which} {text:?} is no time: write it as RFC 3339, e.g. 2026-11-01T00:00:00Z")]
    Time { which: &'static str, text: String },
    #[error("the range is empty: --from {from} is not before --to {to}")]
    Empty { from: String, to: String },
}

impl Range {
    /// `[from, to)`; an error unless `from < to`.
    pub fn new(from: i64, to: i64) -> Result<Range, RangeError> {
        if from < to {
            Ok(Range { from, to })
        } else {
            Err(RangeError::Empty {
                from: crate::core::rfc3339(from),
                to: crate::core::rfc3339(to),
            })
        }
    }

    /// A calendar month in UTC, written `YYYY-MM`.
    pub fn month(text: &str) -> Result<Range, RangeError> {
        let bad = || RangeError::Month(text.to_string());
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        let start = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        }
        .ok_or_else(bad)?;
        let secs = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        Range::new(secs(start).ok_or_else(bad)?, secs(next).ok_or_else(bad)?)
    }

    /// The range a request names: a month, or `from` and `to` (both); a month with either is
    /// refused too (the CLI's flags conflict the same way).
    pub fn from_request(
        month: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Range, RangeError> {
        match (month, from, to) {
            (Some(month), None, None) => Range::month(month),
            (None, Some(from), Some(to)) => Range::parse(from, to),
            _ => Err(RangeError::Missing),
        }
    }

    /// `[from, to)` from two RFC 3339 instants.
    pub fn parse(from: &str, to: &str) -> Result<Range, RangeError> {
        let at = |which: &'static str, text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.timestamp())
                .map_err(|_| RangeError::Time {
                    which,
                    text: text.to_string(),
                })
        };
        Range::new(at("from", from)?, at("to", to)?)
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Markdown,
    Html,
    Csv,
    Json,
}

impl Format {
    /// `markdown`, `html`, `csv` or `json`.
    pub fn parse(text: &str) -> Result<Format, RangeError> {
        match text {
            "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(RangeError::Format(text.to_string())),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// The report of `rows` over `range` in this format.
    pub fn write(self, range: Range, rows: &[Row]) -> String {
        match self {
            Format::Markdown => render::markdown(range, rows),
            Format::Html => render::html(range, rows),
            Format::Csv => render::csv(range, rows),
            Format::Json => format!("{:#}\n", render::json(range, rows)),
        }
    }
}

/// Which series of an SLO a row is about.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOf {
    /// An SLO without `group_by`.
    Ungrouped,
    /// One group of a grouped SLO, by its labels.
    Labels(Vec<(String, String)>),
    /// All groups of a grouped SLO summed (how many).
    All(usize),
}

/// The UTC day with the most bad events in the range (the most of its budget consumed).
/// Approximate where coarse buckets cross midnight (widths that do not divide a day): such a
/// bucket counts whole toward the day holding most of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Its midnight (unix seconds).
    pub start: i64,
    pub counts: Counts,
}

/// How long the alerts fired and the series froze in the range, from the alert record the
/// engine keeps ([`crate::core::record`]): only time the recording covers counts, so time not
/// recorded (before recording began, the engine down or behind, no data) is neither quiet nor
/// alerting. For the `all (n)` row: the time any group was in the state, and any was recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertTime {
    /// Seconds of the range the recording covers.
    pub recorded_secs: i64,
    /// The oldest instant the record holds (`None`: nothing recorded, e.g. a history written
    /// before sloburn recorded alerts).
    pub recorded_since: Option<i64>,
    pub page_secs: i64,
    pub ticket_secs: i64,
    pub exhaustion_secs: i64,
    pub freeze_secs: i64,
}

impl AlertTime {
    fn of(record: &Record, range: Range) -> AlertTime {
        let secs = |l: &[Span]| overlap(l, range.from, range.to);
        AlertTime {
            recorded_secs: secs(&record.recorded),
            recorded_since: record.recorded.first().map(|s| s.0),
            page_secs: secs(&record.page),
            ticket_secs: secs(&record.ticket),
            exhaustion_secs: secs(&record.exhaustion),
            freeze_secs: secs(&record.freeze),
        }
    }
}

/// The records of several groups as one: each list the union of theirs.
fn union_of<'a>(records: impl Iterator<Item = &'a Record> + Clone) -> Record {
    let of = |f: fn(&Record) -> &[Span]| union(records.clone().map(f));
    Record {
        recorded: of(|r| &r.recorded),
        page: of(|r| &r.page),
        ticket: of(|r| &r.ticket),
        exhaustion: of(|r| &r.exhaustion),
        freeze: of(|r| &r.freeze),
        last: None,
    }
}

/// A budget correction applied to a row: one of the SLO's stored corrections
/// (`SloMeta::corrections`, those in effect when the engine last saved) that is in effect
/// somewhere in the row's covered range.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub name: Option<String>,
    pub reason: String,
    /// When it is in effect, as people read it ([`Correction::describe_when`]).
    pub when: String,
}

/// One row of the report.
///
/// `counts` are the events as measured; `excluded` what the corrections applied take out of
/// them, by the engine's rule (whole minutes inside a correction where minutes are counted,
/// only coarse buckets wholly inside one elsewhere), so [`Row::corrected`] never leaves out an
/// event outside a correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub service: String,
    pub slo: String,
    pub group: GroupOf,
    /// Bad and total events in the covered range.
    pub counts: Counts,
    /// From the stored metadata, else the specs; `None`: unknown.
    pub objective: Option<Objective>,
    pub worst_day: Option<Day>,
    /// Every UTC day of the range the history holds, oldest first, with its events (for
    /// charts).
    pub days: Vec<Day>,
    /// Alert and freeze time in the range.
    pub alerts: AlertTime,
    /// Seconds of the range the history holds with no event, in whole slots of the coarse grid
    /// (minutes too are summed per slot): a gap inside a slot with events does not count.
    pub no_data_secs: i64,
    /// Seconds of the range before the history begins or after its newest data.
    pub not_held_secs: i64,
    /// The range the numbers cover: the requested one widened to whole coarse buckets or
    /// minutes at its edges, within what the history holds; `None` when it holds none of it.
    pub covered: Option<(i64, i64)>,
    /// The coarse bucket width, when coarse buckets were counted.
    pub coarse_res: Option<i64>,
    /// Where minutes were counted from (to the end of the covered range), when any were.
    pub minutes_from: Option<i64>,
    /// The corrections in effect in the covered range; empty for most rows.
    pub corrections: Vec<Applied>,
    /// The events of `counts` inside them (a span several share counted once).
    pub excluded: Counts,
}

impl Row {
    /// The achieved SLI (good / total), `None` without events.
    pub fn sli(&self) -> Option<f64> {
        (self.counts.total > 0.0).then(|| 1.0 - error_ratio(self.counts))
    }

    /// The share of the range's budget consumed: bad / (total x (1 - objective)); `None`
    /// without events (a range the history does not hold is no perfect one) or when the
    /// objective is unknown.
    pub fn budget_consumed(&self) -> Option<f64> {
        let o = self.objective?;
        (self.counts.total > 0.0).then(|| error_ratio(self.counts) / o.budget())
    }

    /// The events with the corrections' taken out, clamped as the engine does (never below
    /// zero, nor more bad than total).
    pub fn corrected(&self) -> Counts {
        let total = (self.counts.total - self.excluded.total).max(0.0);
        let bad = (self.counts.bad - self.excluded.bad).clamp(0.0, total);
        Counts { bad, total }
    }

    /// [`Row::sli`] with the corrections applied.
    pub fn sli_corrected(&self) -> Option<f64> {
        let c = self.corrected();
        (c.total > 0.0).then(|| 1.0 - error_ratio(c))
    }

    /// [`Row::budget_consumed`] with the corrections applied.
    pub fn budget_consumed_corrected(&self) -> Option<f64> {
        let o = self.objective?;
        let c = self.corrected();
        (c.total > 0.0).then(|| error_ratio(c) / o.budget())
    }

    /// The share of the range's budget a day consumed.
    pub fn day_consumed(&self, day: &Day) -> Option<f64> {
        let o = self.objective?;
        (self.counts.total > 0.0).then(|| day.counts.bad / (self.counts.total * o.budget()))
    }
}

/// A part of the covered range, counted from one tier: a coarse bucket, or the minutes of one
/// slot of the coarse grid.
#[derive(Debug, Clone, Copy)]
struct Part {
    start: i64,
    end: i64,
    tier: Tier,
    /// Seconds of the requested range inside it (for the data gaps).
    inside: i64,
    /// The UTC day it counts toward for the worst day.
    day: i64,
}

/// Where the stored history of an SLO begins and ends, and its tiers.
struct Layout {
    res: i64,
    begins: i64,
    newest: i64,
    /// The span the minutes hold: `[fine_from, fine_until)`.
    fine_from: Option<i64>,
    /// Where the minutes end: the fine marker to the minute. The coarse marker may be past it
    /// (the engine moves it before a minute read that can fail); slots ending after it are
    /// counted from their coarse buckets.
    fine_until: Option<i64>,
}

fn layout(stored: &StoredSlo) -> Option<Layout> {
    let meta = &stored.meta;
    let newest = meta.fine_fed_until.max(meta.coarse_fed_until)?;
    // Files written before the resolution was kept: as the runner restores them.
    let res = stored.coarse_res().filter(|r| *r > 0).unwrap_or(HOUR);
    // The fine tier holds the 3 days of minutes up to the newest read.
    let fine_from = meta
        .fine_fed_until
        .map(|fed| ceil(fed, FINE_SECS) - FINE_SPAN_SECS);
    // The minutes held: from the fine tier's start, but no earlier than the oldest stored minute
    // (a history younger than 3 days has not read them all).
    let oldest_minute = stored
        .buckets
        .values()
        .flatten()
        .filter(|b| b.tier == Tier::Fine)
        .map(|b| b.start)
        .min();
    let minutes_begin = fine_from.zip(oldest_minute).map(|(f, m)| f.max(m));
    // Periods under 3 days keep minutes further back than their coarse buckets.
    let begins = [stored.coarse_from(), minutes_begin]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(newest);
    Some(Layout {
        res,
        begins,
        newest,
        fine_from,
        fine_until: meta.fine_fed_until.map(|fed| ceil(fed, FINE_SECS)),
    })
}

fn floor(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

fn ceil(t: i64, step: i64) -> i64 {
    -(-t).div_euclid(step) * step
}

/// The parts of `range` the history holds, oldest first. Minutes are split at UTC midnight, so
/// each minute part lies in one day; a coarse bucket across midnight (widths that do not divide
/// a day, such as 5h, 7h or 11h for long periods) goes whole to the day holding most of it, the
/// earlier on a tie.
fn parts(l: &Layout, range: Range) -> Vec<Part> {
    let (a, b) = (range.from.max(l.begins), range.to.min(l.newest));
    let mut out = Vec::new();
    let mut s = floor(a, l.res);
    while s < b {
        let (lo, hi) = (s.max(a), (s + l.res).min(b));
        let fine = l.fine_from.is_some_and(|f| lo >= f) && l.fine_until.is_some_and(|u| hi <= u);
        if fine {
            let mut lo = lo;
            while lo < hi {
                let cut = hi.min(floor(lo, DAY) + DAY);
                out.push(Part {
                    start: floor(lo, FINE_SECS).max(l.begins),
                    end: ceil(cut, FINE_SECS).min(l.newest),
                    tier: Tier::Fine,
                    inside: cut - lo,
                    day: floor(lo, DAY),
                });
                lo = cut;
            }
        } else {
            out.push(Part {
                start: s.max(l.begins),
                end: (s + l.res).min(l.newest),
                tier: Tier::Coarse,
                inside: hi - lo,
                // The day of its middle; a middle at midnight (equal halves) is the earlier.
                day: floor(s + (l.res - 1) / 2, DAY),
            });
        }
        s += l.res;
    }
    out
}

/// The events of each part in one group's buckets; with `within` (sorted, disjoint spans, as
/// [`merge`] gives them) only those of buckets wholly inside them: whole minutes of a fine
/// part, a coarse part's bucket only if all of it is inside (the engine's rule for
/// corrections, [`crate::engine::history::History::excluded`]).
fn count(parts: &[Part], buckets: &[Bucket], within: Option<&[Interval]>) -> Vec<Counts> {
    let inside = |a: i64, b: i64| within.is_none_or(|w| overlap(w, a, b) == b - a);
    let mut fine = BTreeMap::new();
    let mut coarse = BTreeMap::new();
    for b in buckets {
        let map = match b.tier {
            Tier::Fine => &mut fine,
            Tier::Coarse => &mut coarse,
        };
        *map.entry(b.start).or_insert_with(Counts::default) += b.counts;
    }
    parts
        .iter()
        .map(|p| match p.tier {
            Tier::Fine => fine
                .range(p.start..p.end)
                .filter(|(m, _)| inside(**m, **m + FINE_SECS))
                .map(|(_, c)| *c)
                .fold(Counts::default(), |s, c| s + c),
            Tier::Coarse if inside(p.start, p.end) => {
                coarse.get(&p.start).copied().unwrap_or_default()
            }
            Tier::Coarse => Counts::default(),
        })
        .collect()
}

fn row(
    (service, slo): (&str, &str),
    group: GroupOf,
    objective: Option<Objective>,
    range: Range,
    parts: &[Part],
    counts: &[Counts],
    res: i64,
) -> Row {
    let mut total = Counts::default();
    let mut days: BTreeMap<i64, Counts> = BTreeMap::new();
    let mut no_data = 0;
    for (p, c) in parts.iter().zip(counts) {
        total += *c;
        *days.entry(p.day).or_default() += *c;
        if c.total <= 0.0 {
            no_data += p.inside;
        }
    }
    let held: i64 = parts.iter().map(|p| p.inside).sum();
    // The most bad events; the earliest of equals.
    let worst_day = days
        .iter()
        .filter(|(_, c)| c.bad > 0.0)
        .fold(None::<(i64, Counts)>, |best, (d, c)| match best {
            Some((_, b)) if b.bad >= c.bad => best,
            _ => Some((*d, *c)),
        })
        .map(|(start, counts)| Day { start, counts });
    Row {
        service: service.to_string(),
        slo: slo.to_string(),
        group,
        counts: total,
        objective,
        worst_day,
        days: days
            .iter()
            .map(|(start, counts)| Day {
                start: *start,
                counts: *counts,
            })
            .collect(),
        alerts: AlertTime::default(),
        no_data_secs: no_data,
        not_held_secs: range.to - range.from - held,
        covered: parts
            .first()
            .zip(parts.last())
            .map(|(f, l)| (f.start, l.end)),
        coarse_res: parts.iter().any(|p| p.tier == Tier::Coarse).then_some(res),
        minutes_from: parts.iter().find(|p| p.tier == Tier::Fine).map(|p| p.start),
        corrections: Vec::new(),
        excluded: Counts::default(),
    }
}

/// The corrections in effect in `[from, to)`, and the union of their spans there (each span
/// once, however many corrections cover it).
fn applied(corrections: &[Correction], (from, to): (i64, i64)) -> (Vec<Applied>, Vec<Interval>) {
    let mut list = Vec::new();
    let mut spans = Vec::new();
    for c in corrections {
        let intervals = c.intervals(from, to);
        if intervals.is_empty() {
            continue;
        }
        list.push(Applied {
            name: c.name.clone(),
            reason: c.reason.clone(),
            when: c.describe_when(),
        });
        spans.extend(intervals);
    }
    (list, merge(spans))
}

/// The rows of one stored SLO (`id` is `service/slo`) over `range`: one per group, and for a
/// grouped SLO one of all groups together after them.
pub fn rows(id: &str, stored: &StoredSlo, objective: Option<Objective>, range: Range) -> Vec<Row> {
    let name = id.split_once('/').unwrap_or((id, ""));
    let Some(l) = layout(stored) else {
        // Nothing read yet: the whole range is not held.
        return vec![row(
            name,
            GroupOf::Ungrouped,
            objective,
            range,
            &[],
            &[],
            HOUR,
        )];
    };
    let parts = parts(&l, range);
    let grouped = stored.meta.groups.len() > 1 || stored.meta.groups.keys().any(|k| !k.is_empty());
    let mut out = Vec::new();
    let mut all = vec![Counts::default(); parts.len()];
    let covered = parts
        .first()
        .zip(parts.last())
        .map(|(f, l)| (f.start, l.end));
    let (corrections, spans) =
        covered.map_or_else(Default::default, |c| applied(&stored.meta.corrections, c));
    let mut all_excluded = Counts::default();
    for (key, labels) in &stored.meta.groups {
        let buckets = stored.buckets.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let counts = count(&parts, buckets, None);
        for (a, c) in all.iter_mut().zip(&counts) {
            *a += *c;
        }
        let excluded = if spans.is_empty() {
            Counts::default()
        } else {
            count(&parts, buckets, Some(&spans))
                .into_iter()
                .fold(Counts::default(), |s, c| s + c)
        };
        all_excluded += excluded;
        let group = if grouped {
            GroupOf::Labels(labels.clone())
        } else {
            GroupOf::Ungrouped
        };
        let mut r = row(name, group, objective, range, &parts, &counts, l.res);
        if let Some(record) = stored.records.get(key) {
            r.alerts = AlertTime::of(record, range);
        }
        r.corrections = corrections.clone();
        r.excluded = excluded;
        out.push(r);
    }
    if grouped {
        let n = stored.meta.groups.len();
        let mut r = row(name, GroupOf::All(n), objective, range, &parts, &all, l.res);
        r.corrections = corrections;
        r.excluded = all_excluded;
        let records = stored
            .meta
            .groups
            .keys()
            .filter_map(|k| stored.records.get(k));
        r.alerts = AlertTime::of(&union_of(records), range);
        out.push(r);
    } else if out.is_empty() {
        out.push(row(
            name,
            GroupOf::Ungrouped,
            objective,
            range,
            &parts,
            &all,
            l.res,
        ));
    }
    out
}

#[cfg(test)]
mod tests;
