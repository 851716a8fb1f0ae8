use super::*;
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
