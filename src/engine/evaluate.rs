//! From histories to numbers: windows, burn rates, remaining budget, alert states, forecast and
//! freeze, for one SLO series at one instant. Pure: the caller passes the history and the time.

use std::collections::BTreeMap;

use crate::core::{
    Counts, Period, burn_rate, decide, error_ratio, exhaustion_seconds, remaining_budget,
};
use crate::engine::history::History;
use crate::engine::snapshot::{
    AlertSnapshot, FreezeReason, ServiceSnapshot, SloSnapshot, WindowSnapshot,
};
use crate::spec::Slo;

/// What the loop knows about a series besides its history.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Whether the newest data could be read.
    pub fresh: bool,
    /// Unix seconds of the last evaluation that read new data.
    pub last_evaluation: f64,
}

/// The numbers of one SLO series.
pub fn evaluate_series(
    slo: &Slo,
    group: &[(String, String)],
    history: &History,
    freshness: Freshness,
) -> SloSnapshot {
    let objective = slo.objective;
    let table = &slo.alerting.windows;
    let durations = table.windows();
    let windows: Vec<WindowSnapshot> = durations
        .iter()
        .map(|w| {
            let c = history.window(*w);
            let ratio = error_ratio(c);
            WindowSnapshot {
                window: w.to_string(),
                seconds: w.as_secs_f64(),
                error_ratio: ratio,
                burn_rate: burn_rate(ratio, objective),
                bad: c.bad,
                total: c.total,
            }
        })
        .collect();
    // Looked up by duration, not by label text: no allocation per lookup.
    let burn_of = |w: crate::core::PromDuration| {
        durations
            .iter()
            .position(|d| *d == w)
            .map(|i| windows[i].burn_rate)
            .unwrap_or(0.0)
    };
    let alerts = decide(table, burn_of)
        .into_iter()
        .map(|a| AlertSnapshot {
            severity: a.window.severity.to_string(),
            long_window: a.window.long.to_string(),
            short_window: a.window.short.to_string(),
            threshold: a.window.threshold,
            active: a.active,
            disabled: match a.window.severity {
                crate::core::Severity::Page => slo.alerting.page.disable,
                crate::core::Severity::Ticket => slo.alerting.ticket.disable,
            },
        })
        .collect();
    let period_counts: Counts = history.period(&slo.period);
    let remaining = remaining_budget(period_counts, objective);
    let end = history.fed_until().unwrap_or(0);
    let (period_seconds, secs_left) = match slo.period {
        Period::Rolling(d) => (d.as_secs_f64(), f64::INFINITY),
        Period::Calendar { .. } => {
            let at = chrono::DateTime::from_timestamp(end.max(1) - 1, 0).unwrap_or_default();
            let (start, stop) = slo.period.bounds_at(at);
            (
                (stop - start).num_seconds() as f64,
                (stop.timestamp() - end) as f64,
            )
        }
    };
    // The current burn: the fastest page row's long window (1h by default).
    let current_burn = table.rows.first().map(|r| burn_of(r.long)).unwrap_or(0.0);
    let mut labels: Vec<(String, String)> = slo.labels.clone().into_iter().collect();
    labels.sort();
    SloSnapshot {
        service: slo.service.clone(),
        slo: slo.name.clone(),
        labels,
        group: group.to_vec(),
        sli_kind: slo.sli.kind().to_string(),
        period: slo.period.describe(),
        objective: objective.ratio(),
        period_seconds,
        windows,
        period_error_ratio: error_ratio(period_counts),
        error_budget_remaining: remaining,
        period_good_events: (period_counts.total - period_counts.bad).max(0.0),
        period_total_events: period_counts.total,
        alerts,
        exhaustion_seconds: exhaustion_seconds(&slo.period, remaining, current_burn, secs_left),
        fresh: freshness.fresh,
        last_evaluation: freshness.last_evaluation,
        freeze_below: slo.policy.freeze_below_percent / 100.0,
    }
}

/// Whether a series' budget freezes its service: below `freeze_below`, or spent.
pub fn freezes(s: &SloSnapshot) -> bool {
    s.error_budget_remaining < s.freeze_below || s.error_budget_remaining <= 0.0
}

/// The freeze decision per service, from all its SLO series.
pub fn services(slos: &[SloSnapshot]) -> Vec<ServiceSnapshot> {
    let mut by_service: BTreeMap<&str, ServiceSnapshot> = BTreeMap::new();
    for s in slos {
        let entry = by_service
            .entry(&s.service)
            .or_insert_with(|| ServiceSnapshot {
                service: s.service.clone(),
                frozen: false,
                reasons: Vec::new(),
                fresh: true,
            });
        entry.fresh &= s.fresh;
        if freezes(s) {
            entry.frozen = true;
            let name = if s.group.is_empty() {
                s.slo.clone()
            } else {
                let g: Vec<String> = s.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}{{{}}}", s.slo, g.join(","))
            };
            entry.reasons.push(FreezeReason {
                slo: name,
                remaining: s.error_budget_remaining,
                freeze_below: s.freeze_below,
            });
        }
    }
    by_service.into_values().collect()
}
