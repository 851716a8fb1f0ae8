use super::*;
use crate::spec::load::load_paths;

fn example_slos() -> Vec<Slo> {
    let report = load_paths(&[concat!(env!("CARGO_MANIFEST_DIR"), "/slo-specs")]);
    assert!(report.is_ok());
    report.slos().cloned().collect()
}

#[test]
fn every_generated_query_is_valid_promql() {
    for slo in example_slos() {
        let plan = QueryPlan::new(&slo);
        for step in [60, 300, 3600, 12 * 3600] {
            let q = plan.bucket_queries(PromDuration::from_secs(step));
            for expr in [&q.bad, &q.total] {
                promql_parser::parser::parse(expr)
                    .unwrap_or_else(|e| panic!("{}: {expr}: {e}", slo.id()));
            }
        }
        if let Some(q) = plan.le_lookup() {
            promql_parser::parser::parse(&q).unwrap();
        }
    }
}

#[test]
fn queries_for_the_examples() {
    let mut out = String::new();
    for slo in example_slos() {
        let q = QueryPlan::new(&slo).bucket_queries(PromDuration::from_secs(60));
        out.push_str(&format!(
            "{}\n  bad:   {}\n  total: {}\n",
            slo.id(),
            q.bad,
            q.total
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn label_values_are_quoted() {
    let s = crate::spec::promql::parse_selector(r#"x{a="q\"uo\\te"}"#).unwrap();
    assert_eq!(s.promql(None, Some("0.3")), r#"x{a="q\"uo\\te",le="0.3"}"#);
}
