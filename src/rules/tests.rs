use super::*;
use crate::spec::labels::TIER_LABEL;
use crate::spec::load::load_bytes;

fn slos(text: &str) -> Vec<Slo> {
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos
}

const ONE: &str = "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio:\n        errors: x{code=\"500\"}\n        total: x\n";

#[test]
fn thresholds_are_written_as_people_read_them() {
    assert_eq!(number(14.4), "14.4");
    assert_eq!(number(0.9333333333333333), "0.933333");
    assert_eq!(number(13.44), "13.44");
    assert_eq!(number(0.001), "0.001");
}

#[test]
fn every_expression_parses_as_promql() {
    let s = slos(ONE);
    let (ruler, refused) = ruler_rules(&s);
    assert!(refused.is_empty());
    for file in [ruler, engine_rules(&s, "sloburn")] {
        for g in &file.groups {
            for r in &g.rules {
                promql_parser::parser::parse(&r.expr).unwrap_or_else(|e| panic!("{}: {e}", r.expr));
            }
        }
    }
}

#[test]
fn zero_traffic_gives_zero_not_nan() {
    let (file, _) = ruler_rules(&slos(ONE));
    let ratio = file.groups[1]
        .rules
        .iter()
        .find(|r| r.record.as_deref() == Some("slo_error_ratio"))
        .unwrap();
    assert!(ratio.expr.contains("> 0) or"), "{}", ratio.expr);
    assert!(ratio.expr.ends_with("* 0"), "{}", ratio.expr);
    assert!(
        ratio.expr.contains("slo:total_events:window"),
        "{}",
        ratio.expr
    );
}

#[test]
fn calendar_periods_are_refused_and_the_rest_generated() {
    let text = format!(
        "{ONE}  - name: b\n    objective: 99\n    period: {{calendar: month}}\n    sli:\n      ratio:\n        errors: x{{code=\"500\"}}\n        total: x\n"
    );
    let (file, refused) = ruler_rules(&slos(&text));
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].slo, "api/b");
    assert!(refused[0].message.contains("--mode engine"));
    assert_eq!(file.groups.len(), 2);
}

#[test]
fn disabled_tiers_have_no_alerts() {
    let text = format!("{ONE}    alerting:\n      page_alert:\n        disable: true\n");
    let (file, _) = ruler_rules(&slos(&text));
    let severities: Vec<&str> = file.groups[1]
        .rules
        .iter()
        .filter(|r| r.alert.as_deref() == Some("SLOErrorBudgetBurn"))
        .map(|r| r.labels["severity"].as_str())
        .collect();
    assert_eq!(severities, ["ticket", "ticket"]);
}

#[test]
fn group_names_are_safe() {
    assert_eq!(group_name(&["sloburn", "a b", "c/d"]), "sloburn-a_b-c_d");
}

/// The burn alerts' `(sloburn_severity, severity)` of a Sloth file with these YAML fragments.
fn tiers(service_labels: &str, slo_labels: &str, alerting: &str) -> Vec<(String, String)> {
    let text = format!(
        "version: prometheus/v1\nservice: api\n{service_labels}slos:\n  - name: a\n    objective: 99.9\n{slo_labels}    sli:\n      events:\n        error_query: sum(rate(x{{code=\"500\"}}[{{{{.window}}}}]))\n        total_query: sum(rate(x[{{{{.window}}}}]))\n{alerting}"
    );
    let s = slos(&text);
    let (ruler, _) = ruler_rules(&s);
    let engine = engine_rules(&s, "sloburn");
    let mut out = Vec::new();
    for file in [ruler, engine] {
        for r in file.groups.iter().flat_map(|g| &g.rules) {
            if r.alert.as_deref() == Some("SLOErrorBudgetBurn") {
                out.push((r.labels[TIER_LABEL].clone(), r.labels["severity"].clone()));
            }
        }
    }
    out.dedup();
    out
}

#[test]
fn severity_comes_from_the_nearest_spec_level_and_the_tier_from_sloburn() {
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    // Nothing set: the tier.
    assert_eq!(
        tiers("", "", ""),
        pairs(&[
            ("page", "page"),
            ("ticket", "ticket"),
            ("page", "page"),
            ("ticket", "ticket")
        ])
    );
    // The service's, under the SLO's, under `alerting.labels`, under the tier's own labels.
    let service = "labels:\n  severity: svc\n";
    let slo = "    labels:\n      severity: slo\n";
    let alerting = "    alerting:\n      labels:\n        severity: all\n";
    let per_tier = "    alerting:\n      labels:\n        severity: all\n      ticket_alert:\n        labels:\n          severity: slack\n";
    let both = |sev: &str| {
        pairs(&[
            ("page", sev),
            ("ticket", sev),
            ("page", sev),
            ("ticket", sev),
        ])
    };
    assert_eq!(tiers(service, "", ""), both("svc"));
    assert_eq!(tiers(service, slo, ""), both("slo"));
    assert_eq!(tiers(service, slo, alerting), both("all"));
    assert_eq!(
        tiers(service, slo, per_tier),
        pairs(&[
            ("page", "all"),
            ("ticket", "slack"),
            ("page", "all"),
            ("ticket", "slack")
        ])
    );
    // `severity` goes on the alerts only: the series carry sloburn's own `severity`.
    let s = slos(&format!(
        "version: prometheus/v1\nservice: api\n{service}slos:\n  - name: a\n    objective: 99.9\n{slo}    sli:\n      raw:\n        error_ratio_query: sum(rate(x[{{{{.window}}}}]))\n"
    ));
    assert!(!s[0].labels.contains_key("severity"), "{:?}", s[0].labels);
}

/// `freeze`, which deploy tooling and the example Alertmanager route on, is sloburn's: a spec's
/// `freeze` alert label is carried as `exported_freeze`, never in its place.
#[test]
fn the_freeze_label_is_sloburns() {
    let text = ONE.replace(
        "    sli:",
        "    policy:\n      freeze_below: 10\n    alerting:\n      labels:\n        freeze: \"false\"\n    sli:",
    );
    let s = slos(&text);
    let (ruler, _) = ruler_rules(&s);
    for file in [ruler, engine_rules(&s, "sloburn")] {
        let rules: Vec<&Rule> = file.groups.iter().flat_map(|g| &g.rules).collect();
        assert!(
            rules
                .iter()
                .any(|r| r.labels.get("freeze").is_some_and(|v| v == "true"))
        );
        assert!(
            rules
                .iter()
                .all(|r| r.labels.get("freeze").is_none_or(|v| v == "true"))
        );
        assert!(rules.iter().any(|r| {
            r.labels
                .get("exported_freeze")
                .is_some_and(|v| v == "false")
        }));
    }
}
