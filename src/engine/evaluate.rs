//! From histories to numbers: windows, burn rates, remaining budget, alert states, forecast and
//! freeze, for one SLO series at one instant. Pure: the caller passes the history and the time.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::core::correction::{AlertMode, merge};
use crate::core::{
    Counts, Period, PromDuration, burn_rate, decide, error_ratio, exhaustion_alert_active,
    exhaustion_seconds, remaining_budget,
};
use crate::engine::history::History;
use crate::engine::snapshot::{
    AlertSnapshot, CorrectionSnapshot, ExhaustionAlertSnapshot, FreezeReason, MAX_LISTED_INTERVALS,
    NoDataReason, Pairs, ServiceSnapshot, SloSnapshot, WindowSnapshot,
};
use crate::spec::Slo;

/// The texts that name an SLO's series in every snapshot, built once per SLO (at load and
/// reload) so that a tick shares them instead of formatting them again.
///
/// ```
/// let slo = &sloburn::spec::load::load_bytes(
///     "a.yaml",
///     b"version: prometheus/v1\nservice: shop\nslos:\n  - name: up\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(r[{{.window}}]))\n",
/// )
/// .slos[0];
/// let names = sloburn::engine::evaluate::SloNames::new(slo);
/// assert_eq!(&*names.window(slo.alerting.windows.windows()[0]), "5m");
/// ```
#[derive(Debug, Clone)]
pub struct SloNames {
    service: Arc<str>,
    slo: Arc<str>,
    labels: Pairs,
    period: Arc<str>,
    /// The alert windows and their names, shortest first (as `AlertTable::windows`).
    windows: Vec<(PromDuration, Arc<str>)>,
    /// `alerting.exhaustion.within` as written (empty without one).
    exhaustion_within: Arc<str>,
}

impl SloNames {
    pub fn new(slo: &Slo) -> Self {
        let mut labels: Vec<(String, String)> = slo.labels.clone().into_iter().collect();
        labels.sort();
        Self {
            service: slo.service.as_str().into(),
            slo: slo.name.as_str().into(),
            labels: labels.into(),
            period: slo.period.describe().into(),
            windows: slo
                .alerting
                .windows
                .windows()
                .into_iter()
                .map(|w| (w, w.to_string().into()))
                .collect(),
            exhaustion_within: slo
                .alerting
                .exhaustion
                .as_ref()
                .map_or_else(String::new, |e| e.within.to_string())
                .into(),
        }
    }

    /// The name of one of the SLO's alert windows (formatted afresh for any other duration).
    pub fn window(&self, w: PromDuration) -> Arc<str> {
        match self.windows.iter().find(|(d, _)| *d == w) {
            Some((_, name)) => name.clone(),
            None => w.to_string().into(),
        }
    }
}

/// What the loop knows about a series besides its history.
#[derive(Debug, Clone)]
pub struct Freshness {
    /// Whether the newest data could be read.
    pub fresh: bool,
    /// Unix seconds of the last evaluation that read new data.
    pub last_evaluation: f64,
    /// `None` while the series has data; `Some(reason)` while it has none, with a short sentence
    /// saying why (`no series matches http_requests_total{job="x"}`, `no answer from the source
    /// yet`).
    pub no_data: Option<Arc<str>>,
}

/// The numbers of one SLO series.
///
/// `names` must be `SloNames::new(slo)`; they are passed in so a tick does not build them.
/// Without data (`freshness.no_data`), every ratio, burn rate, the budget and the forecast are
/// `None` and no alert is active; the event counts are still the history's.
pub fn evaluate_series(
    slo: &Slo,
    names: &SloNames,
    group: &Pairs,
    history: &History,
    freshness: Freshness,
) -> SloSnapshot {
    let objective = slo.objective;
    let table = &slo.alerting.windows;
    let data_present = freshness.no_data.is_none();
    // Withheld without data: a ratio over no events reads 0, i.e. as good news.
    let with_data = |v: f64| data_present.then_some(v);
    let windows: Vec<WindowSnapshot> = names
        .windows
        .iter()
        .map(|(w, name)| {
            let c = history.window(*w);
            let ratio = error_ratio(c);
            WindowSnapshot {
                window: name.clone(),
                seconds: w.as_secs_f64(),
                error_ratio: with_data(ratio),
                burn_rate: with_data(burn_rate(ratio, objective)),
                bad: c.bad,
                total: c.total,
            }
        })
        .collect();
    // Looked up by duration, not by label text: no allocation per lookup.
    let burn_of = |w: PromDuration| {
        names
            .windows
            .iter()
            .position(|(d, _)| *d == w)
            .and_then(|i| windows[i].burn_rate)
            .unwrap_or(0.0)
    };
    let total_of = |w: PromDuration| {
        names
            .windows
            .iter()
            .position(|(d, _)| *d == w)
            .map_or(0.0, |i| windows[i].total)
    };
    let raw_period: Counts = history.period(&slo.period);
    let corrected = correct(slo, history, raw_period);
    let held = corrected.silenced;
    let alerts = decide(table, burn_of, total_of)
        .into_iter()
        .map(|a| AlertSnapshot {
            severity: a.window.severity.as_str(),
            long_window: names.window(a.window.long),
            short_window: names.window(a.window.short),
            threshold: a.window.threshold,
            active: a.active && data_present && !held,
            held_by_correction: a.active && data_present && held,
            disabled: match a.window.severity {
                crate::core::Severity::Page => slo.alerting.page.disable,
                crate::core::Severity::Ticket => slo.alerting.ticket.disable,
            },
            min_events: a.window.min_events,
            low_traffic: a.low_traffic && data_present,
        })
        .collect();
    let period_counts = corrected.counts;
    let remaining = remaining_budget(period_counts, objective);
    let end = history.fed_until().unwrap_or(0);
    let (period_seconds, elapsed, secs_left) = match slo.period {
        Period::Rolling(d) => (d.as_secs_f64(), d.as_secs_f64(), f64::INFINITY),
        Period::Calendar { .. } => {
            let at = chrono::DateTime::from_timestamp(end.max(1) - 1, 0).unwrap_or_default();
            let (start, stop) = slo.period.bounds_at(at);
            (
                (stop - start).num_seconds() as f64,
                (end - start.timestamp()) as f64,
                (stop.timestamp() - end) as f64,
            )
        }
    };
    // The current burn: the fastest page row's long window (1h by default).
    let current_burn = table.rows.first().map(|r| burn_of(r.long)).unwrap_or(0.0);
    let exhaustion = exhaustion_seconds(&slo.period, remaining, current_burn, elapsed, secs_left);
    let firing_exhaustion = |e: &crate::spec::ExhaustionSpec| {
        exhaustion_alert_active(exhaustion.filter(|_| data_present), remaining, e.within)
    };
    SloSnapshot {
        service: names.service.clone(),
        slo: names.slo.clone(),
        labels: names.labels.clone(),
        group: group.clone(),
        sli_kind: slo.sli.kind(),
        period: names.period.clone(),
        objective: objective.ratio(),
        period_seconds,
        windows,
        data_present,
        no_data_reason: freshness.no_data,
        period_error_ratio: with_data(error_ratio(period_counts)),
        error_budget_remaining: with_data(remaining),
        period_good_events: (period_counts.total - period_counts.bad).max(0.0),
        period_total_events: period_counts.total,
        period_excluded_total: corrected.excluded.total,
        period_excluded_bad: corrected.excluded.bad,
        correction_active: corrected.active,
        corrections: corrected.list,
        alerts,
        exhaustion_seconds: exhaustion.filter(|_| data_present),
        exhaustion_alert: slo
            .alerting
            .exhaustion
            .as_ref()
            .map(|e| ExhaustionAlertSnapshot {
                severity: e.severity.as_str(),
                within: names.exhaustion_within.clone(),
                within_seconds: e.within.as_secs_f64(),
                // The forecast is already withheld without data, so no data never fires; a
                // spent budget is SLOErrorBudgetExhausted's, not running out.
                active: !held && firing_exhaustion(e),
                held_by_correction: held && firing_exhaustion(e),
                disabled: e.alert.disable,
            }),
        fresh: freshness.fresh,
        last_evaluation: freshness.last_evaluation,
        freeze_below: slo.policy.freeze_below_percent / 100.0,
    }
}

/// A series' period counts after its corrections, and what they took out.
struct Corrected {
    counts: Counts,
    excluded: Counts,
    active: bool,
    /// A correction with `alerts: silence` is in effect.
    silenced: bool,
    list: Vec<CorrectionSnapshot>,
}

/// Takes the corrections' events out of the period's counts, re-summed from the history each
/// evaluation (the history itself keeps every event, so a removed correction gives the
/// original numbers back). SLOs without corrections pay nothing here.
fn correct(slo: &Slo, history: &History, raw: Counts) -> Corrected {
    let mut out = Corrected {
        counts: raw,
        excluded: Counts::default(),
        active: false,
        silenced: false,
        list: Vec::new(),
    };
    if slo.corrections.is_empty() {
        return out;
    }
    let range = history.period_range();
    // "Now" for the corrections is the newest second read.
    let now = history.read_until().or(range.map(|r| r.1)).map(|t| t - 1);
    let mut all = Vec::new();
    for c in &slo.corrections {
        // Each correction's spans are expanded once per evaluation (a recurring one's are a
        // few dozen time-zone conversions); "in effect" is read from them, as the newest
        // second read lies in the period.
        let intervals = range.map_or_else(Vec::new, |(a, b)| c.intervals(a, b));
        let excluded = history.excluded(&intervals);
        let active = now.is_some_and(|t| intervals.iter().any(|(a, b)| *a <= t && t < *b));
        out.active |= active;
        out.silenced |= active && c.alerts == AlertMode::Silence;
        let skip = intervals.len().saturating_sub(MAX_LISTED_INTERVALS);
        out.list.push(CorrectionSnapshot {
            name: c.name.as_deref().map(Arc::from),
            reason: c.reason.as_str().into(),
            kind: c.kind(),
            when: c.describe_when().into(),
            next: now.and_then(|t| c.next_after(t)),
            intervals: intervals[skip..].to_vec(),
            active,
            alerts: c.alerts.as_str(),
            excluded_total: excluded.counts.total,
            excluded_bad: excluded.counts.bad,
            resolution_seconds: if excluded.coarse {
                history.coarse_res()
            } else {
                crate::engine::history::FINE_SECS
            },
            origin: c.origin.as_str().into(),
        });
        all.push((intervals, excluded.counts));
    }
    // One correction: its own sum. Several: the union, so shared spans count once.
    out.excluded = match all.as_slice() {
        [(_, counts)] => *counts,
        _ => {
            history
                .excluded(&merge(all.into_iter().flat_map(|(i, _)| i).collect()))
                .counts
        }
    };
    // Never more than the period holds, nor more bad than total.
    let total = (raw.total - out.excluded.total).max(0.0);
    let bad = (raw.bad - out.excluded.bad).clamp(0.0, total);
    out.counts = Counts { bad, total };
    out
}

/// Whether a series' budget freezes its service: below `freeze_below`, or spent. A series
/// without data has no budget to judge, so it never freezes (nor vouches for the service: see
/// [`services`]).
pub fn freezes(s: &SloSnapshot) -> bool {
    s.error_budget_remaining
        .is_some_and(|r| r < s.freeze_below || r <= 0.0)
}

/// The name of a series in a service's reasons: `slo`, or `slo{label=value,...}` when grouped.
fn series_name(s: &SloSnapshot) -> String {
    if s.group.is_empty() {
        s.slo.to_string()
    } else {
        let g: Vec<String> = s.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}{{{}}}", s.slo, g.join(","))
    }
}

/// The freeze decision per service, from all its SLO series.
pub fn services(slos: &[SloSnapshot]) -> Vec<ServiceSnapshot> {
    let mut by_service: BTreeMap<&str, ServiceSnapshot> = BTreeMap::new();
    for s in slos {
        let entry = by_service
            .entry(&s.service)
            .or_insert_with(|| ServiceSnapshot {
                service: s.service.to_string(),
                frozen: false,
                reasons: Vec::new(),
                fresh: true,
                no_data: Vec::new(),
            });
        entry.fresh &= s.fresh;
        if let Some(reason) = &s.no_data_reason {
            entry.no_data.push(NoDataReason {
                slo: series_name(s),
                reason: reason.to_string(),
            });
        }
        if let Some(remaining) = s.error_budget_remaining.filter(|_| freezes(s)) {
            entry.frozen = true;
            entry.reasons.push(FreezeReason {
                slo: series_name(s),
                remaining,
                freeze_below: s.freeze_below,
            });
        }
    }
    by_service.into_values().collect()
}

#[cfg(test)]
mod tests;
