//! Multi-window, multi-burn-rate alerts (Google SRE Workbook, chapter 5).
//!
//! Each row pairs a long window, which shows that a real share of the budget has gone, with a
//! short one (1/12 of it), which shows the burn is still happening so the alert resets quickly.
//! A row fires only when both windows burn faster than its threshold.
//!
//! The threshold of a row is `budget share × period / long window`: the burn rate at which the
//! long window alone spends that share of the period's budget. The default table:
//!
//! | severity | long | short | budget share | threshold for 30d | for 28d |
//! |----------|------|-------|--------------|-------------------|---------|
//! | page     | 1h   | 5m    | 2%           | 14.4              | 13.44   |
//! | page     | 6h   | 30m   | 5%           | 6                 | 5.6     |
//! | ticket   | 1d   | 2h    | 10%          | 3                 | 2.8     |
//! | ticket   | 3d   | 6h    | 10%          | 1                 | 0.9333… |
//!
//! Calendar periods use their nominal length (month 30d, week 7d).
//!
//! **Short periods.** For a nominal period shorter than 28d the windows are kept and the
//! thresholds are held at their 28d values (13.44, 5.6, 2.8, 0.9333…), so each alert stands for
//! a larger share of the budget (for 7d: 8%, 20%, 40%, 40%). Scaling by the period instead
//! would collapse thresholds below 1 (a 7d period would give a ticket threshold of 0.233,
//! firing while the budget is on track), and keeping the windows keeps the recording rules and
//! dashboards shared across SLOs. A row whose long window is not strictly shorter than the
//! period is dropped (a 1d period keeps only the two page rows).

use std::collections::BTreeSet;
use std::fmt;

use super::{Period, PromDuration};

/// How urgently an alert needs a human.
///
/// ```
/// use sloburn::core::Severity;
/// assert_eq!(Severity::Page.to_string(), "page");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    /// The label value: `page` or `ticket`.
    ///
    /// ```
    /// assert_eq!(sloburn::core::Severity::Ticket.as_str(), "ticket");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert row: fires when both windows burn faster than `threshold` and both hold at least
/// `min_events` events.
///
/// ```
/// use sloburn::core::{BurnWindow, Severity};
/// let row = BurnWindow {
///     severity: Severity::Page,
///     long: "1h".parse().unwrap(),
///     short: "5m".parse().unwrap(),
///     threshold: 14.4,
///     min_events: 0,
/// };
/// assert_eq!(row.long.as_secs(), 3600);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BurnWindow {
    pub severity: Severity,
    pub long: PromDuration,
    pub short: PromDuration,
    pub threshold: f64,
    /// The low-traffic guard: the fewest events (slices, for time-slice SLIs) each of the two
    /// windows must hold for the row to fire; 0 = no guard. At night one failure among three
    /// requests burns at 33% errors, which is no reason to wake anyone.
    #[serde(default)]
    pub min_events: u64,
}

/// The alert rows of one SLO, in order.
///
/// ```
/// use sloburn::core::{Period, WindowTable};
/// let table = WindowTable::default_for(&Period::Rolling("30d".parse().unwrap()));
/// assert_eq!(table.rows.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct WindowTable {
    pub rows: Vec<BurnWindow>,
}

/// What a user may write per row: the share of the period's budget (in percent) that the long
/// window may spend, or a burn rate directly.
///
/// ```
/// use sloburn::core::{threshold_for, ThresholdSpec};
/// let (month, hour) = ("30d".parse().unwrap(), "1h".parse().unwrap());
/// assert_eq!(threshold_for(ThresholdSpec::BurnRate(10.0), month, hour), 10.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdSpec {
    BudgetPercent(f64),
    BurnRate(f64),
}

/// The burn-rate threshold for a row. `BudgetPercent(p)` gives `p/100 × period / long`;
/// `BurnRate(r)` gives `r`.
///
/// Degenerate input (a zero-length long window, or a spec that is negative, NaN or infinite, or
/// a result too large for f64) gives `f64::MAX`, so the row never fires instead of firing on
/// nonsense; the spec layer is expected to refuse such input first.
///
/// ```
/// use sloburn::core::{threshold_for, ThresholdSpec};
/// let (month, hour) = ("30d".parse().unwrap(), "1h".parse().unwrap());
/// assert_eq!(threshold_for(ThresholdSpec::BudgetPercent(2.0), month, hour), 14.4);
/// ```
pub fn threshold_for(spec: ThresholdSpec, period_nominal: PromDuration, long: PromDuration) -> f64 {
    let value = match spec {
        ThresholdSpec::BurnRate(rate) => rate,
        ThresholdSpec::BudgetPercent(percent) => {
            if long.as_millis() == 0 {
                return f64::MAX;
            }
            // One division of exact integers (below 2^53 ms) so 30d/1h at 2% is exactly 14.4.
            percent * period_nominal.as_millis() as f64 / (100.0 * long.as_millis() as f64)
        }
    };
    if value.is_finite() && value >= 0.0 {
        value
    } else {
        f64::MAX
    }
}

/// The period below which thresholds stop scaling (see the module documentation).
const SHORTEST_SCALED_PERIOD: PromDuration = PromDuration::from_secs(28 * 24 * 3600);

/// The Workbook rows: severity, long window, short window, budget percent.
const DEFAULT_ROWS: [(Severity, u64, u64, f64); 4] = [
    (Severity::Page, 3600, 300, 2.0),
    (Severity::Page, 6 * 3600, 1800, 5.0),
    (Severity::Ticket, 24 * 3600, 2 * 3600, 10.0),
    (Severity::Ticket, 3 * 24 * 3600, 6 * 3600, 10.0),
];

impl WindowTable {
    /// The Workbook table for `period` (thresholds from its nominal length):
    /// page 1h/5m at 2% of the budget, page 6h/30m at 5%, ticket 1d/2h at 10%, ticket 3d/6h at
    /// 10%; for 30d that is 14.4, 6, 3 and 1.
    ///
    /// For a nominal period shorter than 28d the windows are kept and the thresholds held at
    /// their 28d values (13.44, 5.6, 2.8, 0.9333…), so each alert stands for a larger share of
    /// the budget (7d: 8%, 20%, 40%, 40%). Scaling down further would push thresholds below 1
    /// (7d would give a ticket at 0.233, firing while the budget is on track), and fixed windows
    /// keep recording rules and dashboards shared across SLOs. Rows whose long window is not
    /// strictly shorter than the period are dropped.
    ///
    /// ```
    /// use sloburn::core::{Period, WindowTable};
    /// let week = WindowTable::default_for(&Period::Rolling("7d".parse().unwrap()));
    /// assert_eq!(week.rows[0].threshold, 13.44);
    /// let day = WindowTable::default_for(&Period::Rolling("1d".parse().unwrap()));
    /// assert_eq!(day.rows.len(), 2);
    /// ```
    pub fn default_for(period: &Period) -> WindowTable {
        let nominal = period.nominal();
        let scaled = nominal.max(SHORTEST_SCALED_PERIOD);
        let rows = DEFAULT_ROWS
            .iter()
            .map(|&(severity, long, short, percent)| BurnWindow {
                severity,
                long: PromDuration::from_secs(long),
                short: PromDuration::from_secs(short),
                threshold: threshold_for(
                    ThresholdSpec::BudgetPercent(percent),
                    scaled,
                    PromDuration::from_secs(long),
                ),
                min_events: 0,
            })
            .filter(|row| row.long < nominal)
            .collect();
        WindowTable { rows }
    }

    /// Every distinct long and short window, sorted ascending: the windows to query burn over.
    ///
    /// ```
    /// use sloburn::core::{Period, WindowTable};
    /// let day = WindowTable::default_for(&Period::Rolling("1d".parse().unwrap()));
    /// let names: Vec<String> = day.windows().iter().map(|w| w.to_string()).collect();
    /// assert_eq!(names, ["5m", "30m", "1h", "6h"]);
    /// ```
    pub fn windows(&self) -> Vec<PromDuration> {
        let set: BTreeSet<PromDuration> = self
            .rows
            .iter()
            .flat_map(|row| [row.long, row.short])
            .collect();
        set.into_iter().collect()
    }
}

/// Whether one row is firing.
///
/// ```
/// use sloburn::core::{decide, Period, WindowTable};
/// let table = WindowTable::default_for(&Period::Rolling("30d".parse().unwrap()));
/// let states = decide(&table, |_| 2.0, |_| 1000.0);
/// assert!(!states[0].active && states[3].active);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertState {
    pub window: BurnWindow,
    pub active: bool,
    /// Both windows burn above the threshold, but one of them holds fewer than the row's
    /// `min_events` events: the low-traffic guard holds the row back (`active` is false).
    #[serde(default)]
    pub low_traffic: bool,
}

/// The state of every row, in table order. `burn(w)` gives the burn rate over window `w` and
/// `events(w)` its total events (slices for time-slice SLIs). A row is active only when both
/// `burn(long) > threshold` and `burn(short) > threshold` (strictly; a NaN burn never fires)
/// and both `events(long)` and `events(short)` are at least its `min_events`.
///
/// ```
/// use sloburn::core::{decide, Period, WindowTable};
/// let table = WindowTable::default_for(&Period::Rolling("30d".parse().unwrap()));
/// // A burst that is over: the 1h window still burns at 20, the 5m window is quiet.
/// let states = decide(&table, |w| if w.as_secs() == 300 { 0.0 } else { 20.0 }, |_| 1000.0);
/// assert!(!states[0].active);
/// ```
pub fn decide(
    table: &WindowTable,
    burn: impl Fn(PromDuration) -> f64,
    events: impl Fn(PromDuration) -> f64,
) -> Vec<AlertState> {
    table
        .rows
        .iter()
        .map(|&window| {
            let burning =
                burn(window.long) > window.threshold && burn(window.short) > window.threshold;
            // `>=` on f64 counts: windows read from counters hold fractional totals. A NaN
            // count never passes a guard (but 0 needs no count at all). Both windows are checked
            // though the long one contains the short: ruler counts are extrapolated per window
            // and the engine's coarse ring rounds window edges, so the long can read fewer.
            let min = window.min_events as f64;
            let enough = window.min_events == 0
                || (events(window.long) >= min && events(window.short) >= min);
            AlertState {
                window,
                active: burning && enough,
                low_traffic: burning && !enough,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
