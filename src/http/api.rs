//! The JSON shapes of `/api/v1/...`, borrowed from the snapshot.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::snapshot::{
    AlertSnapshot, CorrectionSnapshot, ExhaustionAlertSnapshot, FreezeReason, NoDataReason,
    ServiceSnapshot, SloSnapshot, Snapshot, WindowSnapshot,
};

/// `GET /api/v1/slos`.
#[derive(Serialize)]
pub(super) struct SloList<'a> {
    evaluated_at: Option<f64>,
    slos: Vec<SloView<'a>>,
}

impl<'a> SloList<'a> {
    pub(super) fn new(snapshot: &'a Snapshot) -> Self {
        Self {
            evaluated_at: snapshot.evaluated_at,
            slos: snapshot.slos.iter().map(SloView::new).collect(),
        }
    }
}

/// `GET /api/v1/slos/{service}/{slo}`: every series (group) of one SLO.
#[derive(Serialize)]
pub(super) struct SloDetail<'a> {
    service: &'a str,
    slo: &'a str,
    evaluated_at: Option<f64>,
    series: Vec<SloView<'a>>,
}

impl<'a> SloDetail<'a> {
    /// `None` when the snapshot has no such SLO.
    pub(super) fn find(snapshot: &'a Snapshot, service: &'a str, slo: &'a str) -> Option<Self> {
        let series: Vec<_> = snapshot
            .slos
            .iter()
            .filter(|s| *s.service == *service && *s.slo == *slo)
            .map(SloView::new)
            .collect();
        (!series.is_empty()).then_some(Self {
            service,
            slo,
            evaluated_at: snapshot.evaluated_at,
            series,
        })
    }
}

/// One SLO series; labels as JSON objects rather than the snapshot's pair lists.
#[derive(Serialize)]
struct SloView<'a> {
    service: &'a str,
    slo: &'a str,
    labels: BTreeMap<&'a str, &'a str>,
    group: BTreeMap<&'a str, &'a str>,
    sli_kind: &'a str,
    objective: f64,
    period: &'a str,
    period_seconds: f64,
    windows: &'a [WindowSnapshot],
    data_present: bool,
    no_data_reason: Option<&'a str>,
    period_error_ratio: Option<f64>,
    error_budget_remaining: Option<f64>,
    period_good_events: f64,
    period_total_events: f64,
    /// Events the corrections took out of the period (the counts above are after that).
    period_excluded_events: f64,
    period_excluded_bad_events: f64,
    correction_active: bool,
    corrections: Vec<CorrectionView<'a>>,
    alerts: &'a [AlertSnapshot],
    exhaustion_seconds: Option<f64>,
    /// `null` without `alerting.exhaustion`; kept out of `alerts` (rows of the window table).
    exhaustion_alert: Option<&'a ExhaustionAlertSnapshot>,
    fresh: bool,
    last_evaluation: f64,
    freeze_below: f64,
}

impl<'a> SloView<'a> {
    fn new(s: &'a SloSnapshot) -> Self {
        let pairs = |v: &'a [(String, String)]| {
            v.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            service: &s.service,
            slo: &s.slo,
            labels: pairs(&s.labels),
            group: pairs(&s.group),
            sli_kind: s.sli_kind,
            objective: s.objective,
            period: &s.period,
            period_seconds: s.period_seconds,
            windows: &s.windows,
            data_present: s.data_present,
            no_data_reason: s.no_data_reason.as_deref(),
            period_error_ratio: s.period_error_ratio,
            error_budget_remaining: s.error_budget_remaining,
            period_good_events: s.period_good_events,
            period_total_events: s.period_total_events,
            period_excluded_events: s.period_excluded_total,
            period_excluded_bad_events: s.period_excluded_bad,
            correction_active: s.correction_active,
            corrections: s.corrections.iter().map(CorrectionView::new).collect(),
            alerts: &s.alerts,
            exhaustion_seconds: s.exhaustion_seconds,
            exhaustion_alert: s.exhaustion_alert.as_ref(),
            fresh: s.fresh,
            last_evaluation: s.last_evaluation,
            freeze_below: s.freeze_below,
        }
    }
}

/// A span `[from, to)` in unix seconds.
#[derive(Serialize)]
struct Span {
    from: i64,
    to: i64,
}

/// One correction of an SLO series.
#[derive(Serialize)]
struct CorrectionView<'a> {
    name: Option<&'a str>,
    reason: &'a str,
    /// `one-off` or `recurring`.
    kind: &'a str,
    when: &'a str,
    /// Its spans inside the current period.
    intervals: Vec<Span>,
    /// The span in effect now, or the next; null when it is over.
    next: Option<Span>,
    active: bool,
    /// `fire` or `silence`.
    alerts: &'a str,
    excluded_total: f64,
    excluded_bad: f64,
    /// Seconds: 60 where whole minutes were summed, the coarse bucket width otherwise.
    resolution_seconds: i64,
    origin: &'a str,
}

impl<'a> CorrectionView<'a> {
    fn new(c: &'a CorrectionSnapshot) -> Self {
        let span = |&(from, to): &(i64, i64)| Span { from, to };
        Self {
            name: c.name.as_deref(),
            reason: &c.reason,
            kind: c.kind,
            when: &c.when,
            intervals: c.intervals.iter().map(span).collect(),
            next: c.next.as_ref().map(span),
            active: c.active,
            alerts: c.alerts,
            excluded_total: c.excluded_total,
            excluded_bad: c.excluded_bad,
            resolution_seconds: c.resolution_seconds,
            origin: &c.origin,
        }
    }
}

/// `GET /api/v1/gate?service=NAME`: what `sloburn gate` decides on.
#[derive(Serialize)]
pub(super) struct Gate<'a> {
    service: &'a str,
    frozen: bool,
    reasons: &'a [FreezeReason],
    /// The SLOs without data: while any is listed, the gate cannot tell.
    no_data: &'a [NoDataReason],
    evaluated_at: Option<f64>,
    fresh: bool,
}

impl<'a> Gate<'a> {
    /// `None` when the snapshot does not know the service.
    pub(super) fn find(snapshot: &'a Snapshot, service: &str) -> Option<Self> {
        let s: &ServiceSnapshot = snapshot.services.iter().find(|s| s.service == service)?;
        Some(Self {
            service: &s.service,
            frozen: s.frozen,
            reasons: &s.reasons,
            no_data: &s.no_data,
            evaluated_at: snapshot.evaluated_at,
            fresh: s.fresh,
        })
    }
}
