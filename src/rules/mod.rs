//! Prometheus rules from the same specs and the same core math as the live engine.
//!
//! - **Ruler mode** computes the SLIs in a ruler (Prometheus, Thanos Ruler, Mimir/Cortex ruler)
//!   with no sloburn running: per alert window the error ratio and burn rate, the period's error
//!   ratio and remaining budget **weighted by events** (5-minute slices of event counts recorded
//!   and summed over the period, not an average of short-window ratios), the exhaustion
//!   forecast, and the page, ticket, budget-exhausted and (opt-in) running-out alerts. The
//!   metric names are the engine's, so dashboards work with either mode (run one of them, not
//!   both).
//! - **Engine mode** alerts on what `sloburn run` exports: `slo_burn_alert_active`,
//!   `slo_error_budget_exhaustion_alert_active`, `slo_feature_freeze`, missing or stale data,
//!   and sloburn itself being down or failing to reload.
//!
//! Generation is pure: specs in, rule groups out, in a stable order.

mod engine;
mod ruler;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::{Period, PromDuration, Severity};
use crate::spec::labels::TIER_LABEL;
use crate::spec::{ExhaustionSpec, Labels, Slo};

pub use engine::engine_rules;
pub use ruler::ruler_rules;

/// Budget corrections cannot be written as recording rules faithfully (a rule over
/// `[30d]` cannot leave out declared spans, least of all recurring local-time ones), so ruler
/// mode leaves them out: one warning per SLO that has any, said where it is written.
pub fn ruler_correction_warnings(slos: &[crate::spec::Slo]) -> Vec<String> {
    slos.iter()
        .filter(|s| !s.corrections.is_empty())
        .map(|s| {
            format!(
                "{}: {} has {} budget correction(s), which ruler mode cannot express: its rules count every event, corrected or not; run the engine (`sloburn run`, `generate --mode engine`) for corrected budgets",
                s.origin,
                s.id(),
                s.corrections.len()
            )
        })
        .collect()
}

/// A rule file: the `groups` of Prometheus's format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleGroup {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    pub fn record(name: &str, expr: String, labels: BTreeMap<String, String>) -> Self {
        Self {
            record: Some(name.to_string()),
            alert: None,
            expr,
            for_: None,
            labels,
            annotations: BTreeMap::new(),
        }
    }

    pub fn alert(
        name: &str,
        expr: String,
        for_: Option<PromDuration>,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        Self {
            record: None,
            alert: Some(name.to_string()),
            expr,
            for_: for_.map(|d| d.to_string()),
            labels,
            annotations,
        }
    }
}

/// Why an SLO gets no rules in a mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{slo}: {message}")]
pub struct Refusal {
    pub slo: String,
    pub message: String,
}

/// The label that Alertmanager's freeze route matches.
pub const FREEZE_LABEL: (&str, &str) = ("freeze", "true");

/// `{service="x",slo="y"}` for an SLO, to select its series.
pub(crate) fn slo_matcher(slo: &Slo) -> String {
    format!(
        "service=\"{}\",slo=\"{}\"",
        escape(&slo.service),
        escape(&slo.name)
    )
}

pub(crate) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The labels every series of an SLO carries: service, slo and the spec's labels.
pub(crate) fn series_labels(slo: &Slo) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = slo.labels.clone();
    labels.insert("service".into(), slo.service.clone());
    labels.insert("slo".into(), slo.name.clone());
    labels
}

/// Alert labels: ours with `severity` = the tier, then the spec's alerting labels, then the
/// tier's (the spec wins, as in Sloth: a team routing on its own `severity` keeps it); last the
/// tier in [`TIER_LABEL`], which nothing overrides, so routing on it never depends on the spec.
pub(crate) fn alert_labels(
    tier: Severity,
    ours: &[(&str, String)],
    spec: &[&Labels],
) -> BTreeMap<String, String> {
    let mut defaults = vec![("severity", tier.to_string())];
    defaults.extend_from_slice(ours);
    let mut out = merge(&defaults, spec);
    out.insert(TIER_LABEL.into(), tier.to_string());
    out
}

/// The name of the exhaustion alert in both modes.
pub const EXHAUSTION_ALERT: &str = "SLOErrorBudgetRunningOut";

/// The exhaustion alert of `slo`, if it has one that is not disabled, on `expr(within)` (each
/// mode's own), with the same labels and annotations in both modes: its tier,
/// `exhaustion_within`, the spec's `alerting` labels and annotations, then the alert's own.
pub(crate) fn exhaustion_alert(
    slo: &Slo,
    expr: impl FnOnce(PromDuration) -> String,
) -> Option<Rule> {
    let e = slo
        .alerting
        .exhaustion
        .as_ref()
        .filter(|e| !e.alert.disable)?;
    Some(Rule::alert(
        EXHAUSTION_ALERT,
        expr(e.within),
        e.alert.for_,
        alert_labels(
            e.severity,
            &[
                ("service", slo.service.clone()),
                ("slo", slo.name.clone()),
                ("exhaustion_within", e.within.to_string()),
            ],
            &[&slo.alerting.labels, &e.alert.labels],
        ),
        annotations(
            &[
                (
                    "summary",
                    format!(
                        "{}/{}: at the current burn rate the error budget runs out within {}",
                        slo.service, slo.name, e.within
                    ),
                ),
                ("description", exhaustion_description(slo, e)),
            ],
            &[&slo.alerting.annotations, &e.alert.annotations],
        ),
    ))
}

/// What the forecast behind the exhaustion alert is, in the words of the SLO's period.
fn exhaustion_description(slo: &Slo, e: &ExhaustionSpec) -> String {
    // The engine's current burn: the first row's long window (1h by default).
    let burn = slo
        .alerting
        .windows
        .rows
        .first()
        .map_or_else(|| "current".to_string(), |r| r.long.to_string());
    let model = match slo.period {
        Period::Rolling(p) => format!(
            "the remaining budget at the {burn} burn rate, less the budget refilled as old events leave the {p} window"
        ),
        Period::Calendar { .. } => format!(
            "the remaining budget, a share of the events of this {} so far, at the {burn} burn rate",
            slo.period.describe()
        ),
    };
    format!(
        "The forecast time to a spent budget (slo_error_budget_exhaustion_seconds: {model}) is at most {}; a spent budget is left to SLOErrorBudgetExhausted.",
        e.within
    )
}

/// Annotations: ours as defaults, the spec's on top.
pub(crate) fn annotations(ours: &[(&str, String)], spec: &[&Labels]) -> BTreeMap<String, String> {
    merge(ours, spec)
}

/// `ours`, then each of `spec` on top.
fn merge(ours: &[(&str, String)], spec: &[&Labels]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = ours
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for labels in spec {
        out.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

/// A name safe for a rule group: letters, digits, `-` and `_`.
pub(crate) fn group_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(crate) use crate::core::number;

/// A float for PromQL arithmetic: 12 significant digits, which drops float noise
/// (0.0010000000000000009 is 0.001) but keeps a tiny budget (a 99.99999% objective's 1e-7,
/// which [`number`]'s 6 decimals would turn into a division by zero).
///
/// ```
/// # use sloburn::rules::exact;
/// assert_eq!(exact(1.0 - 0.999), "0.001");
/// assert_eq!(exact(0.9999999), "0.9999999");
/// assert!((exact(1.0 - 0.9999999).parse::<f64>().unwrap() - 1e-7).abs() < 1e-16);
/// ```
pub fn exact(v: f64) -> String {
    let rounded: f64 = format!("{v:.11e}").parse().unwrap_or(v);
    format!("{rounded}")
}

/// Serializes a rule file as YAML with a header saying what generated it.
///
/// ```
/// use sloburn::rules::{RuleFile, render};
/// let text = render(&RuleFile { groups: vec![] }, "sloburn generate --mode ruler x/", None).unwrap();
/// assert!(text.starts_with("# Generated by sloburn"));
/// ```
pub fn render(
    file: &RuleFile,
    command: &str,
    operator_name: Option<&str>,
) -> Result<String, String> {
    let header = format!(
        "# Generated by sloburn {} ({command}).\n# Do not edit: change the SLO specs and generate again.\n",
        env!("CARGO_PKG_VERSION")
    );
    let body = match operator_name {
        None => serde_saphyr::to_string(file).map_err(|e| e.to_string())?,
        Some(name) => {
            #[derive(Serialize)]
            struct Metadata<'a> {
                name: &'a str,
                labels: BTreeMap<&'a str, &'a str>,
            }
            #[derive(Serialize)]
            struct PrometheusRule<'a> {
                #[serde(rename = "apiVersion")]
                api_version: &'a str,
                kind: &'a str,
                metadata: Metadata<'a>,
                spec: &'a RuleFile,
            }
            serde_saphyr::to_string(&PrometheusRule {
                api_version: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: Metadata {
                    name,
                    labels: BTreeMap::from([("app.kubernetes.io/managed-by", "sloburn")]),
                },
                spec: file,
            })
            .map_err(|e| e.to_string())?
        }
    };
    Ok(format!("{header}{body}"))
}

#[cfg(test)]
mod tests;
