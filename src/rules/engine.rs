//! Engine mode: alerts on the gauges `sloburn run` exports.

use std::collections::BTreeSet;

use crate::core::{PromDuration, Severity};
use crate::spec::Slo;

use super::{
    FREEZE_LABEL, Rule, RuleFile, RuleGroup, alert_labels, annotations, escape, exhaustion_alert,
    slo_matcher,
};

/// Rules for `sloburn run`'s metrics; `job` is the scrape job of sloburn itself.
pub fn engine_rules(slos: &[Slo], job: &str) -> RuleFile {
    let mut rules = Vec::new();
    let ten_minutes = Some(PromDuration::from_secs(600));
    for slo in slos {
        let m = slo_matcher(slo);
        let name = slo.alerting.name.as_deref().unwrap_or("SLOErrorBudgetBurn");
        for (severity, tier) in [
            (Severity::Page, &slo.alerting.page),
            (Severity::Ticket, &slo.alerting.ticket),
        ] {
            if tier.disable {
                continue;
            }
            rules.push(Rule::alert(
                name,
                format!("slo_burn_alert_active{{{m},severity=\"{severity}\"}} == 1"),
                tier.for_,
                alert_labels(severity, &[("service", slo.service.clone()), ("slo", slo.name.clone())], &[&slo.alerting.labels, &tier.labels]),
                annotations(
                    &[
                        ("summary", format!("{}/{}: the error budget burns too fast ({severity} {{{{ $labels.long_window }}}}/{{{{ $labels.short_window }}}})", slo.service, slo.name)),
                    ],
                    &[&slo.alerting.annotations, &tier.annotations],
                ),
            ));
        }
        // sloburn decides it (`within` is in its spec); the rule follows its gauge.
        rules.extend(exhaustion_alert(slo, |_| {
            format!("slo_error_budget_exhaustion_alert_active{{{m}}} == 1")
        }));
        // Tickets about the SLO's data. Without data no burn alert of the SLO can fire, so
        // SLONoData says so rather than let the quiet read as good news.
        for (alert, expr, summary) in [
            (
                "SLODataStale",
                format!("slo_data_fresh{{{m}}} == 0"),
                "sloburn cannot read this SLO's data; its numbers are frozen at their last good values",
            ),
            (
                "SLONoData",
                format!("slo_data_present{{{m}}} == 0"),
                "sloburn has no data for this SLO (a selector matches no series, or the source never answered), so its burn alerts cannot fire; sloburn's status page and log say why",
            ),
            (
                "SLODataMissing",
                format!("absent(slo_data_fresh{{{m}}})"),
                "sloburn exports no series for this SLO",
            ),
        ] {
            rules.push(Rule::alert(
                alert,
                expr,
                ten_minutes,
                alert_labels(
                    Severity::Ticket,
                    &[("service", slo.service.clone()), ("slo", slo.name.clone())],
                    &[&slo.alerting.labels],
                ),
                annotations(
                    &[(
                        "summary",
                        format!("{}/{}: {summary}", slo.service, slo.name),
                    )],
                    &[],
                ),
            ));
        }
    }
    let services: BTreeSet<&str> = slos.iter().map(|s| s.service.as_str()).collect();
    for service in services {
        rules.push(Rule::alert(
            "SLOFeatureFreeze",
            format!("max by (service) (slo_feature_freeze{{service=\"{}\"}}) == 1", escape(service)),
            None,
            alert_labels(Severity::Ticket, &[("service", service.to_string()), (FREEZE_LABEL.0, FREEZE_LABEL.1.to_string())], &[]),
            annotations(&[("summary", format!("{service}: an SLO's error budget is below its freeze policy: freeze feature deploys"))], &[]),
        ));
    }
    let job = escape(job);
    rules.push(Rule::alert(
        "SloburnDown",
        format!("up{{job=\"{job}\"}} == 0 or absent(up{{job=\"{job}\"}})"),
        Some(PromDuration::from_secs(300)),
        alert_labels(Severity::Page, &[], &[]),
        annotations(
            &[(
                "summary",
                "sloburn is down: no SLO is evaluated and no burn alert can fire".to_string(),
            )],
            &[],
        ),
    ));
    rules.push(Rule::alert(
        "SloburnReloadFailing",
        format!("sloburn_config_last_reload_success{{job=\"{job}\"}} == 0"),
        Some(PromDuration::from_secs(300)),
        alert_labels(Severity::Ticket, &[], &[]),
        annotations(&[("summary", "sloburn refused its last spec reload; the previous SLOs keep running (see its log)".to_string())], &[]),
    ));
    RuleFile {
        groups: vec![RuleGroup {
            name: "sloburn-engine".into(),
            interval: None,
            rules,
        }],
    }
}
