//! The immutable result of one evaluation: what `/metrics`, the API, the status page and the gate
//! read. A new snapshot replaces the old one whole, so readers never see half an evaluation.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// Everything sloburn knows after one evaluation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Unix seconds of the evaluation; `None` before the first one.
    pub evaluated_at: Option<f64>,
    pub slos: Vec<SloSnapshot>,
    /// One entry per service, in name order.
    pub services: Vec<ServiceSnapshot>,
    pub engine: EngineStats,
}

/// Label pairs shared by every snapshot that names them (built once per SLO, not per tick).
pub type Pairs = Arc<[(String, String)]>;

/// One SLO series (one per group for `group_by` SLOs).
///
/// Its texts are shared (`Arc`) with the engine's state: a tick of 10,000 SLOs copies pointers,
/// not 250,000 small strings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SloSnapshot {
    pub service: Arc<str>,
    pub slo: Arc<str>,
    /// The spec's labels (service labels merged with the SLO's), sorted by name.
    pub labels: Pairs,
    /// The `group_by` labels and this series' values, in `group_by` order; empty when ungrouped.
    pub group: Pairs,
    /// `events`, `raw`, `ratio`, `latency` or `threshold`.
    pub sli_kind: &'static str,
    /// As written: `30d`, `calendar month (Europe/Berlin)`.
    pub period: Arc<str>,
    /// The objective as a ratio, e.g. 0.999.
    pub objective: f64,
    /// The period's length in seconds (nominal for calendar periods: the current month's length).
    pub period_seconds: f64,
    /// One per distinct alert window, shortest first.
    pub windows: Vec<WindowSnapshot>,
    /// Whether the series has data. Without it, every ratio, burn rate and the budget are `None`
    /// and no alert is active: no data must never read as a healthy number.
    pub data_present: bool,
    /// Why there is no data (e.g. `no series matches x{job="a"}`); `None` while there is data.
    pub no_data_reason: Option<Arc<str>>,
    /// `None` while there is no data.
    pub period_error_ratio: Option<f64>,
    /// 1 untouched, 0 spent, negative overspent; `None` while there is no data.
    pub error_budget_remaining: Option<f64>,
    /// Events of the period counted for the budget: corrections' events already taken out.
    pub period_good_events: f64,
    pub period_total_events: f64,
    /// Events the corrections took out of the period (each span once, however many cover it).
    pub period_excluded_total: f64,
    pub period_excluded_bad: f64,
    /// Whether a correction is in effect at the newest data read.
    pub correction_active: bool,
    /// The SLO's corrections and what each takes out; empty for SLOs without any.
    pub corrections: Vec<CorrectionSnapshot>,
    pub alerts: Vec<AlertSnapshot>,
    /// Seconds until the budget is spent at the current burn; `None` while it is not burning
    /// faster than it refills, or while there is no data.
    pub exhaustion_seconds: Option<f64>,
    /// The exhaustion alert (`alerting.exhaustion`); `None` when the spec has none. Kept apart
    /// from `alerts`, whose entries are rows of the window table (`slo_burn_alert_active`).
    pub exhaustion_alert: Option<ExhaustionAlertSnapshot>,
    /// Whether the newest data could be read (false while the source fails).
    pub fresh: bool,
    /// Unix seconds of the last evaluation that read new data for this SLO.
    pub last_evaluation: f64,
    /// `policy.freeze_below` as a ratio of the budget (0.1 for 10%).
    pub freeze_below: f64,
}

/// One budget correction of an SLO series, as it stands in the current period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorrectionSnapshot {
    pub name: Option<Arc<str>>,
    pub reason: Arc<str>,
    /// `one-off` or `recurring`.
    pub kind: &'static str,
    /// As people read it: `2026-03-01T10:00:00+00:00 to ...`, `sun 02:00-04:00 Europe/Berlin`.
    pub when: Arc<str>,
    /// Its spans inside the current period, `[from, to)` unix seconds, oldest first (a
    /// recurring one's most recent [`MAX_LISTED_INTERVALS`]).
    pub intervals: Vec<(i64, i64)>,
    /// The span in effect now, or the next one; `None` when it is over for good.
    pub next: Option<(i64, i64)>,
    pub active: bool,
    /// `fire` or `silence`.
    pub alerts: &'static str,
    /// Events inside its spans in the current period (on its own: spans shared with another
    /// correction count for both here, once in the SLO's `period_excluded_*`).
    pub excluded_total: f64,
    pub excluded_bad: f64,
    /// The coarsest resolution its sum was taken at: 60 (whole minutes) while it lies within
    /// the last 3 days, else the coarse bucket width (only buckets wholly inside count).
    pub resolution_seconds: i64,
    /// `file:line:column` where it is declared.
    pub origin: Arc<str>,
}

/// The most spans a correction lists in a snapshot (a daily one has 30 in a 30d period).
pub const MAX_LISTED_INTERVALS: usize = 40;

/// Numbers over one alert window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WindowSnapshot {
    /// As written in PromQL: `5m`, `1h`, `3d`.
    pub window: Arc<str>,
    pub seconds: f64,
    /// `None` while the series has no data (the counts below stay: 0 events is an honest count).
    pub error_ratio: Option<f64>,
    pub burn_rate: Option<f64>,
    pub bad: f64,
    pub total: f64,
}

/// One row of the alert table and whether it fires.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertSnapshot {
    /// `page` or `ticket`.
    pub severity: &'static str,
    pub long_window: Arc<str>,
    pub short_window: Arc<str>,
    pub threshold: f64,
    pub active: bool,
    /// Whether the spec disabled this tier (the state is still computed and exported).
    pub disabled: bool,
    /// The row's low-traffic guard: events each window must hold for it to fire (0 = none).
    pub min_events: u64,
    /// Both windows burn above the threshold but one holds fewer than `min_events` events, so
    /// the guard holds the alert back (`active` is false). Always false without data.
    pub low_traffic: bool,
    /// A correction with `alerts: silence` in effect holds the alert back (`active` is false).
    pub held_by_correction: bool,
}

/// The exhaustion alert of one SLO series: active while the budget is not yet spent and
/// `exhaustion_seconds` is at most `within` (never once spent, never without data).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExhaustionAlertSnapshot {
    /// `page` or `ticket`: its `sloburn_severity`.
    pub severity: &'static str,
    /// As written: `2h`.
    pub within: Arc<str>,
    pub within_seconds: f64,
    pub active: bool,
    /// Whether the spec disabled it (the state is still computed and exported).
    pub disabled: bool,
    /// A correction with `alerts: silence` in effect holds it back (`active` is false).
    pub held_by_correction: bool,
}

/// The freeze decision of one service.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceSnapshot {
    pub service: String,
    pub frozen: bool,
    /// The SLOs below their `freeze_below`, with their remaining budget.
    pub reasons: Vec<FreezeReason>,
    /// Whether every SLO of the service is fresh.
    pub fresh: bool,
    /// The SLO series without data: they neither freeze the service nor vouch for it, so the
    /// gate cannot tell while any is listed.
    pub no_data: Vec<NoDataReason>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FreezeReason {
    /// The SLO's name, with its group as `name{label=value,...}` for `group_by` SLOs.
    pub slo: String,
    pub remaining: f64,
    pub freeze_below: f64,
}

/// One SLO series of a service that has no data, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NoDataReason {
    /// Named as in [`FreezeReason::slo`].
    pub slo: String,
    pub reason: String,
}

/// Series and services without data, as the engine gives them, for the consumers' tests.
#[cfg(test)]
impl SloSnapshot {
    /// This series with no data: no ratio, burn rate, budget or forecast, no alert active, and
    /// no events counted.
    pub(crate) fn without_data(mut self, reason: &str) -> Self {
        self.data_present = false;
        self.no_data_reason = Some(reason.into());
        for w in &mut self.windows {
            (w.error_ratio, w.burn_rate, w.bad, w.total) = (None, None, 0.0, 0.0);
        }
        for a in &mut self.alerts {
            (a.active, a.low_traffic) = (false, false);
        }
        self.period_error_ratio = None;
        self.error_budget_remaining = None;
        self.exhaustion_seconds = None;
        if let Some(a) = &mut self.exhaustion_alert {
            a.active = false;
        }
        (self.period_good_events, self.period_total_events) = (0.0, 0.0);
        self
    }
}

#[cfg(test)]
impl ServiceSnapshot {
    /// A fresh service, not frozen, whose series `slo` has no data.
    pub(crate) fn with_no_data(service: &str, slo: &str, reason: &str) -> Self {
        Self {
            service: service.into(),
            fresh: true,
            no_data: vec![NoDataReason {
                slo: slo.into(),
                reason: reason.into(),
            }],
            ..Self::default()
        }
    }
}

/// The engine's own health.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStats {
    pub version: String,
    /// Seconds the last evaluation took.
    pub evaluation_duration_seconds: f64,
    /// Source requests by outcome (`success`, `error`, `timeout`, `bad_response`, ...), since start.
    pub source_requests_total: BTreeMap<String, u64>,
    pub source_request_duration: Histogram,
    /// How far behind now the source's reads end (`Source::lag`), as set or learned; `None`
    /// without a source.
    pub source_query_lag_seconds: Option<f64>,
    pub slos: usize,
    pub config_last_reload_success: bool,
    pub config_last_reload_timestamp: f64,
    /// The scrape source's targets (empty with a Prometheus source).
    pub scrape_targets: Vec<TargetHealth>,
}

/// One scrape target's health, like Prometheus's `up`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetHealth {
    pub url: String,
    pub up: bool,
    pub duration_seconds: f64,
    /// Samples the last scrape read (all metrics, kept or not).
    pub samples: usize,
    pub last_error: Option<String>,
}

/// A cumulative histogram of durations in seconds, with fixed upper bounds.
#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    pub bounds: Vec<f64>,
    /// Per bound, the number of observations at or below it (cumulative).
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        let bounds = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        Self {
            counts: vec![0; bounds.len()],
            bounds,
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    /// Records one observation.
    ///
    /// ```
    /// let mut h = sloburn::engine::snapshot::Histogram::default();
    /// h.observe(0.02);
    /// assert_eq!(h.count, 1);
    /// assert_eq!(h.counts[h.bounds.iter().position(|b| *b == 0.025).unwrap()], 1);
    /// ```
    pub fn observe(&mut self, seconds: f64) {
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// The history behind an SLO's charts: one series per group, a point per coarse bucket (1h for
/// periods up to 32 days) of the current period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChartSeries {
    pub group: Vec<(String, String)>,
    pub points: Vec<ChartPoint>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChartPoint {
    /// Unix seconds of the bucket's end.
    pub t: i64,
    pub good: f64,
    pub total: f64,
    /// Within the bucket.
    pub error_ratio: f64,
    pub burn_rate: f64,
    /// Over the period from its start to the bucket's end, weighted by events: the burn-down.
    pub remaining: f64,
}
