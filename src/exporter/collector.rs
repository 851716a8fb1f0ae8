//! The collector that writes every metric from the current snapshot at scrape time.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::SnapshotCell;
use super::labels::SeriesLabels;
use super::table::{ScrapeTable, WindowValues};
use crate::engine::snapshot::{EngineStats, ServiceSnapshot, SloSnapshot, TargetHealth};

/// Reads the snapshot once per scrape; holds no per-series state.
#[derive(Debug)]
pub(super) struct SnapshotCollector {
    cell: Arc<SnapshotCell>,
}

impl SnapshotCollector {
    pub(super) fn new(cell: Arc<SnapshotCell>) -> Self {
        Self { cell }
    }
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let snapshot = self.cell.load();
        let table = ScrapeTable::new(&snapshot.slos);
        encode_slos(&mut encoder, &snapshot.slos, &table)?;
        encode_services(&mut encoder, &snapshot.services)?;
        encode_engine(&mut encoder, &snapshot.engine)
    }
}

/// Scrapers and alert rules choke on NaN and Inf (a NaN burn rate never compares), so the
/// gauges write 0 for anything non-finite (a guard: the budget math gives none). A value that is
/// unknown, as every ratio of an SLO without data, is left out instead.
fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

fn bool01(b: bool) -> i64 {
    i64::from(b)
}

/// One gauge family with one sample per SLO series (`None` leaves the series out).
fn slo_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    slos: &[SloSnapshot],
    table: &ScrapeTable,
    value: impl Fn(&SloSnapshot) -> Option<f64>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (slo, series) in slos.iter().zip(table.series()) {
        if let Some(v) = value(slo) {
            let labels = SeriesLabels {
                series: series.labels(),
                more: "",
                extra: &[],
            };
            metric.encode_family(&labels)?.encode_gauge(&finite(v))?;
        }
    }
    Ok(())
}

fn encode_slos(
    encoder: &mut DescriptorEncoder,
    slos: &[SloSnapshot],
    table: &ScrapeTable,
) -> fmt::Result {
    let seconds = Unit::Seconds;

    slo_gauge(
        encoder,
        "slo_objective_ratio",
        "Objective of the SLO as a ratio (0.999 for 99.9%).",
        None,
        slos,
        table,
        |s| Some(s.objective),
    )?;
    slo_gauge(
        encoder,
        "slo_period",
        "Length of the SLO period in seconds (nominal for calendar periods: the current one).",
        Some(&seconds),
        slos,
        table,
        |s| Some(s.period_seconds),
    )?;
    let mut info = encoder.encode_descriptor(
        "slo",
        "Static facts about the SLO: SLI kind and period as written. Always 1.",
        None,
        MetricType::Info,
    )?;
    // The facts go with the series labels so both formats order them the same way.
    let no_more: [(&str, &str); 0] = [];
    for (slo, series) in slos.iter().zip(table.series()) {
        let facts = [("sli_kind", slo.sli_kind), ("period", &*slo.period)];
        let labels = SeriesLabels {
            series: series.labels(),
            more: "",
            extra: &facts,
        };
        info.encode_family(&labels)?.encode_info(&no_more)?;
    }
    encode_windows(encoder, table)?;

    slo_gauge(
        encoder,
        "slo_period_error_ratio",
        "Bad over total events in the whole period; 0 when the period saw no events; absent \
         while the SLO has no data (slo_data_present 0).",
        None,
        slos,
        table,
        |s| s.period_error_ratio,
    )?;
    slo_gauge(
        encoder,
        "slo_error_budget_remaining_ratio",
        "Share of the period's error budget left: 1 untouched, 0 spent, negative overspent; \
         absent while the SLO has no data (slo_data_present 0).",
        None,
        slos,
        table,
        |s| s.error_budget_remaining,
    )?;
    slo_gauge(
        encoder,
        "slo_period_good_events",
        "Good events (or good time slices) in the period, after budget corrections (what \
         slo_period_excluded_events took out); falls as old events leave it.",
        None,
        slos,
        table,
        |s| Some(s.period_good_events),
    )?;
    slo_gauge(
        encoder,
        "slo_period_total_events",
        "All events (or time slices) in the period, after budget corrections (what \
         slo_period_excluded_events took out); falls as old events leave it.",
        None,
        slos,
        table,
        |s| Some(s.period_total_events),
    )?;
    // Only SLOs with corrections: the others pay nothing and export nothing here.
    let corrected = |s: &SloSnapshot| !s.corrections.is_empty();
    slo_gauge(
        encoder,
        "slo_period_excluded_events",
        "Events of the period inside budget corrections, taken out of the budget (whole \
         minutes within the last 3 days, whole coarse buckets before); only for SLOs with \
         corrections.",
        None,
        slos,
        table,
        |s| corrected(s).then_some(s.period_excluded_total),
    )?;
    slo_gauge(
        encoder,
        "slo_period_excluded_bad_events",
        "Bad events of the period inside budget corrections, taken out of the budget; only \
         for SLOs with corrections.",
        None,
        slos,
        table,
        |s| corrected(s).then_some(s.period_excluded_bad),
    )?;
    slo_gauge(
        encoder,
        "slo_correction_active",
        "1 while a budget correction of the SLO is in effect, 0 otherwise; only for SLOs with \
         corrections.",
        None,
        slos,
        table,
        |s| corrected(s).then_some(bool01(s.correction_active) as f64),
    )?;
    encode_alerts(encoder, table)?;
    slo_gauge(
        encoder,
        "slo_error_budget_exhaustion",
        "Forecast seconds until the error budget is spent at the current burn rate; present only \
         while the budget burns faster than it refills (never while the SLO has no data).",
        Some(&seconds),
        slos,
        table,
        // An infinite forecast means "never": leaving the series out says that; 0 would say
        // "spent now" and page someone.
        |s| s.exhaustion_seconds.filter(|v| v.is_finite()),
    )?;
    // Not a row of slo_burn_alert_active: that family is keyed by burn windows, which this
    // alert has none of.
    slo_gauge(
        encoder,
        "slo_error_budget_exhaustion_alert_active",
        "1 while the budget is not yet spent and the forecast time to a spent budget \
         (slo_error_budget_exhaustion_seconds) is at most the SLO's alerting.exhaustion.within; \
         0 otherwise (a spent budget is SLOErrorBudgetExhausted's) and while the SLO has no \
         data; only for SLOs with alerting.exhaustion (computed even when the spec disables it).",
        None,
        slos,
        table,
        |s| s.exhaustion_alert.as_ref().map(|a| bool01(a.active) as f64),
    )?;
    slo_gauge(
        encoder,
        "slo_data_fresh",
        "1 when the newest data for the SLO could be read, 0 while its source fails.",
        None,
        slos,
        table,
        |s| Some(if s.fresh { 1.0 } else { 0.0 }),
    )?;
    slo_gauge(
        encoder,
        "slo_data_present",
        "1 when the SLO has data, 0 when it has none (its selectors match no series, or the \
         source never answered yet): then its ratios, burn rates, budget and forecast are not \
         exported and its burn alerts cannot fire.",
        None,
        slos,
        table,
        |s| Some(if s.data_present { 1.0 } else { 0.0 }),
    )?;
    slo_gauge(
        encoder,
        "slo_last_evaluation_timestamp",
        "Unix time of the last evaluation that read new data for the SLO.",
        Some(&seconds),
        slos,
        table,
        |s| Some(s.last_evaluation),
    )?;
    slo_gauge(
        encoder,
        "slo_freeze_below_ratio",
        "Remaining budget ratio below which the SLO freezes its service (policy.freeze_below).",
        None,
        slos,
        table,
        |s| Some(s.freeze_below),
    )
}

fn encode_windows(encoder: &mut DescriptorEncoder, table: &ScrapeTable) -> fmt::Result {
    window_gauge(
        encoder,
        "slo_error_ratio",
        "Bad over total events in the window; 0 when the window saw no events; absent while the \
         SLO has no data (slo_data_present 0).",
        table,
        |w| w.error_ratio,
    )?;
    window_gauge(
        encoder,
        "slo_burn_rate",
        "Error ratio in the window over the error budget (1 - objective); 1 spends the budget \
         exactly in one period; 0 when the window saw no events; absent while the SLO has no data \
         (slo_data_present 0).",
        table,
        |w| w.burn_rate,
    )
}

/// One gauge family with a sample per SLO series and alert window (`None` leaves it out).
fn window_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    table: &ScrapeTable,
    value: impl Fn(&WindowValues) -> Option<f64>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for series in table.series() {
        for (window, w) in series.windows() {
            if let Some(v) = value(w) {
                let labels = SeriesLabels {
                    series: series.labels(),
                    more: window,
                    extra: &[],
                };
                metric.encode_family(&labels)?.encode_gauge(&finite(v))?;
            }
        }
    }
    Ok(())
}

fn encode_alerts(encoder: &mut DescriptorEncoder, table: &ScrapeTable) -> fmt::Result {
    let mut active = encoder.encode_descriptor(
        "slo_burn_alert_active",
        "1 while both windows of the alert tier burn faster than its threshold (and hold at \
         least its min_events events, when set), else 0 (computed even for tiers the spec \
         disables).",
        None,
        MetricType::Gauge,
    )?;
    for series in table.series() {
        for (tier, a) in series.alerts() {
            let labels = SeriesLabels {
                series: series.labels(),
                more: tier,
                extra: &[],
            };
            active
                .encode_family(&labels)?
                .encode_gauge(&bool01(a.active))?;
        }
    }
    let mut threshold = encoder.encode_descriptor(
        "slo_burn_rate_threshold",
        "Burn rate both windows of the alert tier must exceed for it to fire.",
        None,
        MetricType::Gauge,
    )?;
    for series in table.series() {
        for (tier, a) in series.alerts() {
            let labels = SeriesLabels {
                series: series.labels(),
                more: tier,
                extra: &[],
            };
            threshold
                .encode_family(&labels)?
                .encode_gauge(&finite(a.threshold))?;
        }
    }
    Ok(())
}

fn encode_services(encoder: &mut DescriptorEncoder, services: &[ServiceSnapshot]) -> fmt::Result {
    let mut freeze = encoder.encode_descriptor(
        "slo_feature_freeze",
        "1 while an SLO of the service is below its freeze_below budget: deploys should stop. \
         SLOs without data (slo_data_present 0) count neither way: the deploy gate cannot tell.",
        None,
        MetricType::Gauge,
    )?;
    for s in services {
        let labels = [("service", s.service.as_str())];
        freeze
            .encode_family(&labels)?
            .encode_gauge(&bool01(s.frozen))?;
    }
    Ok(())
}

fn encode_engine(encoder: &mut DescriptorEncoder, engine: &EngineStats) -> fmt::Result {
    let seconds = Unit::Seconds;
    encoder
        .encode_descriptor(
            "sloburn_build",
            "sloburn build information. Always 1.",
            None,
            MetricType::Info,
        )?
        .encode_info(&[("version", engine.version.as_str())])?;
    encoder
        .encode_descriptor(
            "sloburn_evaluation_duration",
            "Seconds the last evaluation took.",
            Some(&seconds),
            MetricType::Gauge,
        )?
        .encode_gauge(&finite(engine.evaluation_duration_seconds))?;

    let mut requests = encoder.encode_descriptor(
        "sloburn_source_requests",
        "Requests to metric sources since start, by outcome.",
        None,
        MetricType::Counter,
    )?;
    for (outcome, count) in &engine.source_requests_total {
        requests
            .encode_family(&[("outcome", outcome.as_str())])?
            .encode_counter::<NoLabelSet, u64, u64>(count, None)?;
    }

    let h = &engine.source_request_duration;
    // The snapshot keeps cumulative counts; the encoder wants per-bucket ones and adds them up.
    let mut below = 0;
    let mut buckets: Vec<(f64, u64)> = h
        .bounds
        .iter()
        .zip(&h.counts)
        .filter(|(bound, _)| bound.is_finite())
        .map(|(bound, cumulative)| {
            let own = cumulative.saturating_sub(below);
            below = below.max(*cumulative);
            (*bound, own)
        })
        .collect();
    // The OpenMetrics encoder writes only the buckets it is given, and OpenMetrics requires a
    // `+Inf` bucket equal to the count (the classic encoder skips its own when one is present).
    buckets.push((f64::INFINITY, h.count.saturating_sub(below)));
    encoder
        .encode_descriptor(
            "sloburn_source_request_duration",
            "Duration of requests to metric sources.",
            Some(&seconds),
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(finite(h.sum), h.count, &buckets, None)?;
    if let Some(lag) = engine.source_query_lag_seconds {
        encoder
            .encode_descriptor(
                "sloburn_source_query_lag",
                "How far behind now ticks read the source (a scrape's samples appear when it \
                 ends): query_lag as set, else learned from the longest recent scrape; the \
                 scrape source's timeout plus 1s.",
                Some(&seconds),
                MetricType::Gauge,
            )?
            .encode_gauge(&finite(lag))?;
    }

    encoder
        .encode_descriptor(
            "sloburn_slos",
            "SLO series evaluated (one per group of group_by SLOs).",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&engine.slos)?;
    encoder
        .encode_descriptor(
            "sloburn_config_last_reload_success",
            "1 when the last configuration load succeeded, 0 when it failed.",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&bool01(engine.config_last_reload_success))?;
    encoder
        .encode_descriptor(
            "sloburn_config_last_reload_timestamp",
            "Unix time of the last configuration load attempt.",
            Some(&seconds),
            MetricType::Gauge,
        )?
        .encode_gauge(&finite(engine.config_last_reload_timestamp))?;
    encode_targets(encoder, &engine.scrape_targets)
}

/// The scrape source's targets, as Prometheus reports its own (`up`, duration, samples).
fn encode_targets(encoder: &mut DescriptorEncoder, targets: &[TargetHealth]) -> fmt::Result {
    if targets.is_empty() {
        return Ok(());
    }
    let mut up = encoder.encode_descriptor(
        "sloburn_scrape_target_up",
        "1 when the last scrape of the target succeeded, like Prometheus's up.",
        None,
        MetricType::Gauge,
    )?;
    for t in targets {
        up.encode_family(&[("target", t.url.as_str())])?
            .encode_gauge(&bool01(t.up))?;
    }
    let seconds = Unit::Seconds;
    let mut duration = encoder.encode_descriptor(
        "sloburn_scrape_duration",
        "Seconds the last scrape of the target took.",
        Some(&seconds),
        MetricType::Gauge,
    )?;
    for t in targets {
        duration
            .encode_family(&[("target", t.url.as_str())])?
            .encode_gauge(&finite(t.duration_seconds))?;
    }
    let mut samples = encoder.encode_descriptor(
        "sloburn_scrape_samples",
        "Samples the last scrape of the target read.",
        None,
        MetricType::Gauge,
    )?;
    for t in targets {
        samples
            .encode_family(&[("target", t.url.as_str())])?
            .encode_gauge(&(t.samples as i64))?;
    }
    Ok(())
}
