//! Ruler mode: every SLI computed by recording rules, alerts on them.

use crate::core::{Period, PromDuration, Severity};
use crate::engine::plan::{BucketQueries, QueryPlan};
use crate::spec::Slo;
use crate::spec::labels::exported_name;

use super::{
    FREEZE_LABEL, Refusal, Rule, RuleFile, RuleGroup, alert_labels, annotations, exact,
    exhaustion_alert, group_name, number, series_labels, slo_matcher,
};

/// The width of the event-count slices summed over the period.
pub const SLICE: PromDuration = PromDuration::from_secs(300);
const BAD_SLICE: &str = "slo:bad_events:slice5m";
const TOTAL_SLICE: &str = "slo:total_events:slice5m";
const PERIOD_BAD: &str = "slo:bad_events:period";
const WINDOW_BAD: &str = "slo:bad_events:window";
const WINDOW_TOTAL: &str = "slo:total_events:window";

/// `a / b`, but 0 where `b` is 0 (no traffic) instead of NaN, which would poison every sum
/// and average it enters.
fn ratio(bad: &str, total: &str) -> String {
    format!("({bad}) / (({total}) > 0) or ({total}) * 0")
}

/// The engine's forecast of a rolling period (`core::exhaustion_seconds`) in PromQL: the
/// remaining budget `R` over the net drain, the burn over `burn_window` (the first row's long
/// window, as the engine takes) less the refill `1 - R` of events leaving the window at the
/// period's average burn; only while that drain is positive, and 0 once the budget is spent.
/// (`clamp_min` turns an overspent `R` into 0, where `* 0` would give -0.)
fn exhaustion_expr(m: &str, period: PromDuration, burn_window: PromDuration) -> String {
    let remaining = format!("slo_error_budget_remaining_ratio{{{m}}}");
    let burn = format!("max without (window) (slo_burn_rate{{{m},window=\"{burn_window}\"}})");
    format!(
        "({remaining} > 0) * {} / (({burn} - 1 + {remaining}) > 0) or clamp_min({remaining} <= 0, 0)",
        period.as_secs()
    )
}

/// Rules for the ruler, and the SLOs refused (with why).
pub fn ruler_rules(slos: &[Slo]) -> (RuleFile, Vec<Refusal>) {
    let mut groups = Vec::new();
    let mut refusals = Vec::new();
    for slo in slos {
        match slo_groups(slo) {
            Ok(mut g) => groups.append(&mut g),
            Err(r) => refusals.push(r),
        }
    }
    (RuleFile { groups }, refusals)
}

/// A group label sloburn sets itself (`service`, ...) would be overwritten by the rule's own
/// labels and the groups merged: its value is copied to `exported_<name>` first, as
/// Prometheus keeps a clashing scraped label.
fn exported(slo: &Slo, mut q: BucketQueries) -> BucketQueries {
    for label in &slo.group_by {
        let to = exported_name(label);
        if to != label.as_str() {
            // Copied, then dropped: a label no rule sets (`severity`, `le`) would stay beside
            // its copy, unlike on the engine's series.
            let wrap = |e: &str| {
                format!(
                    "label_replace(label_replace({e}, \"{to}\", \"$1\", \"{label}\", \"(.*)\"), \"{label}\", \"\", \"\", \"\")"
                )
            };
            q.bad = wrap(&q.bad);
            q.total = wrap(&q.total);
        }
    }
    q
}

fn slo_groups(slo: &Slo) -> Result<Vec<RuleGroup>, Refusal> {
    let Period::Rolling(period) = slo.period else {
        return Err(Refusal {
            slo: slo.id(),
            message: format!(
                "a {} cannot be computed soundly in PromQL (a range has a fixed length, a month does not start at a fixed offset from now); evaluate it with the engine (`sloburn run`) and alert with `sloburn generate --mode engine`",
                slo.period.describe()
            ),
        });
    };
    let plan = QueryPlan::new(slo);
    let labels = series_labels(slo);
    let m = slo_matcher(slo);
    let budget = 1.0 - slo.objective.ratio();

    // Event counts per 5-minute slice, summed over the period below: weighted by events.
    let slice = exported(slo, plan.bucket_queries(SLICE));
    let slices = RuleGroup {
        name: group_name(&["sloburn", &slo.service, &slo.name, "slices"]),
        interval: Some(SLICE.to_string()),
        rules: vec![
            Rule::record(BAD_SLICE, slice.bad, labels.clone()),
            Rule::record(TOTAL_SLICE, slice.total, labels.clone()),
        ],
    };

    let mut rules = vec![Rule::record(
        "slo_objective_ratio",
        format!("vector({})", exact(slo.objective.ratio())),
        labels.clone(),
    )];
    rules.push(Rule::record(
        "slo_period_seconds",
        format!("vector({})", period.as_secs()),
        labels.clone(),
    ));
    for w in slo.alerting.windows.windows() {
        // Event counts first, so each raw series is read once per window and evaluation.
        let q = exported(slo, plan.bucket_queries(w));
        let mut l = labels.clone();
        l.insert("window".into(), w.to_string());
        let sel = |name: &str| format!("{name}{{{m},window=\"{w}\"}}");
        rules.push(Rule::record(WINDOW_BAD, q.bad, l.clone()));
        rules.push(Rule::record(WINDOW_TOTAL, q.total, l.clone()));
        rules.push(Rule::record(
            "slo_error_ratio",
            ratio(&sel(WINDOW_BAD), &sel(WINDOW_TOTAL)),
            l.clone(),
        ));
        rules.push(Rule::record(
            "slo_burn_rate",
            format!("{} / {}", sel("slo_error_ratio"), exact(budget)),
            l,
        ));
    }
    // The period's events, each slice series summed once; the rest reads these two.
    // One second short of the period: Prometheus 2 ranges include both ends, so a slice lying
    // exactly at t - period would be counted with the one at t (Prometheus 3 is left-open).
    let span = PromDuration::from_secs(period.as_secs().saturating_sub(1).max(1));
    let sum = |name: &str| format!("sum_over_time({name}{{{m}}}[{span}])");
    rules.push(Rule::record(
        "slo_period_total_events",
        sum(TOTAL_SLICE),
        labels.clone(),
    ));
    let bad = format!("{PERIOD_BAD}{{{m}}}");
    let total = format!("slo_period_total_events{{{m}}}");
    // No bad slice at all (an errors selector that never matched) is 0 bad events, not none.
    rules.push(Rule::record(
        PERIOD_BAD,
        format!("{} or {total} * 0", sum(BAD_SLICE)),
        labels.clone(),
    ));
    rules.push(Rule::record(
        "slo_period_good_events",
        format!("{total} - {bad}"),
        labels.clone(),
    ));
    rules.push(Rule::record(
        "slo_period_error_ratio",
        ratio(&bad, &total),
        labels.clone(),
    ));
    rules.push(Rule::record(
        "slo_error_budget_remaining_ratio",
        format!("1 - slo_period_error_ratio{{{m}}} / {}", exact(budget)),
        labels.clone(),
    ));

    if let Some(row) = slo.alerting.windows.rows.first() {
        rules.push(Rule::record(
            "slo_error_budget_exhaustion_seconds",
            exhaustion_expr(&m, period, row.long),
            labels.clone(),
        ));
    }

    let alert_name = slo.alerting.name.as_deref().unwrap_or("SLOErrorBudgetBurn");
    for row in &slo.alerting.windows.rows {
        let tier = match row.severity {
            Severity::Page => &slo.alerting.page,
            Severity::Ticket => &slo.alerting.ticket,
        };
        if tier.disable {
            continue;
        }
        let mut l = labels.clone();
        l.insert("severity".into(), row.severity.to_string());
        l.insert("long_window".into(), row.long.to_string());
        l.insert("short_window".into(), row.short.to_string());
        rules.push(Rule::record(
            "slo_burn_rate_threshold",
            format!("vector({})", number(row.threshold)),
            l,
        ));
        let burn = |w: PromDuration| {
            format!(
                "max without (window) (slo_burn_rate{{{m},window=\"{w}\"}}) > {}",
                number(row.threshold)
            )
        };
        // At this burn rate a full budget lasts period / threshold.
        let lasts = PromDuration::from_secs(
            ((period.as_secs_f64() / row.threshold / 60.0).round() as u64) * 60,
        );
        let mut expr = format!("{} and {}", burn(row.long), burn(row.short));
        // The low-traffic guard: both windows' event totals (slices for time-slice SLIs), as
        // recorded for the ratio, at least min_events: the engine's rule, on increase()'s
        // extrapolated (fractional) counts, so near the bound the two may disagree.
        if row.min_events > 0 {
            for w in [row.long, row.short] {
                expr.push_str(&format!(
                    " and max without (window) ({WINDOW_TOTAL}{{{m},window=\"{w}\"}}) >= {}",
                    row.min_events
                ));
            }
        }
        rules.push(Rule::alert(
            alert_name,
            expr,
            tier.for_,
            alert_labels(
                row.severity,
                &[
                    ("service", slo.service.clone()),
                    ("slo", slo.name.clone()),
                    ("long_window", row.long.to_string()),
                    ("short_window", row.short.to_string()),
                    ("burn_rate_threshold", number(row.threshold)),
                    ("exhaustion_at_threshold", lasts.to_string()),
                ],
                &[&slo.alerting.labels, &tier.labels],
            ),
            annotations(
                &[
                    ("summary", format!("{}/{}: the error budget burns {{{{ $value | printf \"%.1f\" }}}}x too fast ({} {}/{})", slo.service, slo.name, row.severity, row.long, row.short)),
                    ("description", format!("Burn rate above {} over both {} and {}: at this rate the whole {} budget lasts {}.", number(row.threshold), row.long, row.short, period, lasts)),
                ],
                &[&slo.alerting.annotations, &tier.annotations],
            ),
        ));
    }
    let freeze = slo.policy.freeze_below_percent / 100.0;
    let exhausted = if freeze > 0.0 {
        format!(
            "slo_error_budget_remaining_ratio{{{m}}} < {}",
            number(freeze)
        )
    } else {
        format!("slo_error_budget_remaining_ratio{{{m}}} <= 0")
    };
    rules.push(Rule::alert(
        "SLOErrorBudgetExhausted",
        exhausted,
        None,
        alert_labels(
            Severity::Ticket,
            &[
                ("service", slo.service.clone()),
                ("slo", slo.name.clone()),
                (FREEZE_LABEL.0, FREEZE_LABEL.1.to_string()),
            ],
            &[&slo.alerting.labels],
        ),
        annotations(
            &[(
                "summary",
                format!(
                    "{}/{}: error budget {} ({{{{ $value | humanizePercentage }}}} left): freeze feature deploys",
                    slo.service,
                    slo.name,
                    if freeze > 0.0 { format!("below {}%", number(freeze * 100.0)) } else { "spent".to_string() }
                ),
            )],
            &[&slo.alerting.annotations],
        ),
    ));
    // Only while the budget is not yet spent: a spent one is forecast as 0, which
    // SLOErrorBudgetExhausted reports (and a paging alert here would inhibit its ticket).
    rules.extend(exhaustion_alert(slo, |within| {
        format!(
            "slo_error_budget_exhaustion_seconds{{{m}}} <= {} and slo_error_budget_remaining_ratio{{{m}}} > 0",
            within.as_secs_f64()
        )
    }));
    let main = RuleGroup {
        name: group_name(&["sloburn", &slo.service, &slo.name]),
        interval: None,
        rules,
    };
    Ok(vec![slices, main])
}
