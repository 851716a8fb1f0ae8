//! Budget corrections: declared time ranges whose events do not count against the error budget
//! (a planned maintenance, a known outage of a dependency). One-off (`from`/`to`) or recurring
//! (days of the week, a local start and end time, a time zone). Pure: this turns declarations
//! into half-open unix-second intervals `[from, to)`; the history sums the events inside them.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A half-open span of unix seconds, `[from, to)`.
pub type Interval = (i64, i64);

/// One correction, validated. Stored with an SLO's history (`SloMeta::corrections`) as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub name: Option<String>,
    /// Why its events do not count (one line).
    pub reason: String,
    pub when: When,
    pub alerts: AlertMode,
    /// Where it was declared: `spec` (an SLO's own), `service` (a document's) or `file`
    /// (the `--corrections` file), with `file:line:column`.
    pub origin: String,
}

/// When a correction is in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum When {
    /// Once, `[from, to)` in unix seconds.
    OneOff { from: i64, to: i64 },
    /// Every selected day from a local start time to a local end time.
    Recurring(Schedule),
}

/// A weekly schedule in a time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Monday first; a window belongs to the day it starts on.
    pub days: [bool; 7],
    /// Minutes after local midnight.
    pub start: u32,
    /// Minutes after local midnight; at or before `start`, the window runs past midnight.
    pub end: u32,
    #[serde(serialize_with = "tz_name", deserialize_with = "tz_parse")]
    pub timezone: Tz,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

fn tz_parse<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse()
        .map_err(|_| serde::de::Error::custom(format!("unknown time zone {name:?}")))
}

/// What the alerts of the SLO do while a correction is in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AlertMode {
    /// Alerts are unaffected: a correction changes the budget, not the pager.
    #[default]
    Fire,
    /// The burn-rate and exhaustion alerts are held while it is in effect.
    Silence,
}

impl AlertMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMode::Fire => "fire",
            AlertMode::Silence => "silence",
        }
    }
}

pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Schedule {
    /// The local start and end of the window starting on `day`, as instants. A local time the
    /// clocks skip (spring forward) is read as the instant the clocks jump to; one they show
    /// twice (fall back) is read as its first showing for the start and its second for the end,
    /// so the window covers everything the wall clock shows between the two times.
    fn window_on(&self, day: NaiveDate) -> Option<Interval> {
        let at = |d: NaiveDate, m: u32, latest: bool| -> Option<i64> {
            let t = NaiveTime::from_hms_opt(m / 60, m % 60, 0)?;
            instant(self.timezone, d.and_time(t), latest)
        };
        let end_day = if self.end <= self.start {
            day.checked_add_days(Days::new(1))?
        } else {
            day
        };
        let from = at(day, self.start, false)?;
        let to = at(end_day, self.end, true)?;
        (from < to).then_some((from, to))
    }

    /// The windows that overlap `[from, to)`, clipped to it, oldest first.
    pub fn intervals(&self, from: i64, to: i64) -> Vec<Interval> {
        let mut out = Vec::new();
        let (Some(a), Some(b)) = (
            DateTime::from_timestamp(from, 0),
            DateTime::from_timestamp(to, 0),
        ) else {
            return out;
        };
        // A window starts at most a day (plus a DST shift) before it ends.
        let first = a.with_timezone(&self.timezone).date_naive() - Days::new(2);
        let last = b.with_timezone(&self.timezone).date_naive();
        let mut day = first;
        while day <= last {
            let weekday = day.weekday().num_days_from_monday() as usize;
            if self.days[weekday]
                && let Some((s, e)) = self.window_on(day)
                && s < to
                && e > from
            {
                out.push((s.max(from), e.min(to)));
            }
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                break;
            };
            day = next;
        }
        out
    }

    /// `mon,tue 02:00-04:00 Europe/Berlin`, `daily 22:00-02:00 UTC`.
    pub fn describe(&self) -> String {
        let days = if self.days.iter().all(|d| *d) {
            "daily".to_string()
        } else {
            DAY_NAMES
                .iter()
                .zip(self.days)
                .filter(|(_, on)| *on)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "{days} {:02}:{:02}-{:02}:{:02} {}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60,
            self.timezone.name()
        )
    }
}

/// The instant of a local time; see [`Schedule::window_on`] for skipped and repeated times.
fn instant(tz: Tz, local: chrono::NaiveDateTime, latest: bool) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(if latest { b } else { a }.timestamp()),
        LocalResult::None => {
            // In a gap: the first instant whose local time is past `local` (the gap's end).
            // Gaps are at most a few hours; search minute by minute from the same UTC time.
            let naive = local.and_utc().timestamp();
            (-26 * 60..=26 * 60).map(|k| naive + k * 60).find(|&t| {
                DateTime::from_timestamp(t, 0)
                    .is_some_and(|u: DateTime<Utc>| u.with_timezone(&tz).naive_local() >= local)
            })
        }
    }
}

impl Correction {
    /// The intervals it is in effect within `[from, to)`, clipped to it, oldest first.
    pub fn intervals(&self, from: i64, to: i64) -> Vec<Interval> {
        match &self.when {
            When::OneOff { from: a, to: b } => {
                let (a, b) = ((*a).max(from), (*b).min(to));
                if a < b { vec![(a, b)] } else { Vec::new() }
            }
            When::Recurring(s) => s.intervals(from, to),
        }
    }

    /// Whether it is in effect at instant `t`.
    pub fn active_at(&self, t: i64) -> bool {
        !self.intervals(t, t + 1).is_empty()
    }

    /// Its next interval that ends after `t` (the current one while in effect), whole.
    pub fn next_after(&self, t: i64) -> Option<Interval> {
        match &self.when {
            When::OneOff { from, to } => (*to > t).then_some((*from, *to)),
            When::Recurring(s) => {
                // Clipping at t - 2d leaves every window ending after t whole (a window lasts
                // at most a day and a DST hour); every weekday comes within 8 days.
                let whole = s.intervals(t - 2 * 86400, t + 8 * 86400);
                whole.into_iter().find(|(_, e)| *e > t)
            }
        }
    }

    /// `one-off` or `recurring`.
    pub fn kind(&self) -> &'static str {
        match self.when {
            When::OneOff { .. } => "one-off",
            When::Recurring(_) => "recurring",
        }
    }

    /// When, as people read it: `2026-03-01T10:00:00+00:00 to ...` or the schedule.
    pub fn describe_when(&self) -> String {
        match &self.when {
            When::OneOff { from, to } => {
                format!("{} to {}", super::rfc3339(*from), super::rfc3339(*to))
            }
            When::Recurring(s) => s.describe(),
        }
    }

    /// Its name if it has one, else its reason: how the audit log and the page name it.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.reason)
    }
}

/// Sorted, non-overlapping intervals covering exactly what the given ones cover, so that the
/// events of a span two corrections share are excluded once.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|(a, b)| a < b);
    intervals.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (a, b) in intervals {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
