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

fn events_slo(error_query: &str, total_query: &str, group_by: &str) -> Slo {
    let text = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n{group_by}    sli:\n      events:\n        error_query: '{error_query}'\n        total_query: '{total_query}'\n"
    );
    let r = crate::spec::load::load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos[0].clone()
}

#[test]
fn sloth_selectors_in_disguise_are_read_as_counters() {
    let cases = [
        (
            r#"sum(rate(http_requests_total{job="a",code=~"5.."}[{{.window}}]))"#,
            r#"sum(rate(http_requests_total{job="a"}[{{ .window }}]))"#,
            "",
        ),
        (
            r#"sum(increase(x_total{code="500"}[{{.window}}])) or vector(0)"#,
            r#"(sum((increase(x_total[{{.window}}]))))"#,
            "",
        ),
        (
            r#"sum by (route) (rate(x_total{code="500"}[{{.window}}]))"#,
            r#"sum(rate(x_total[{{.window}}])) by (route)"#,
            "    group_by: [route]\n",
        ),
    ];
    for (errors, total, group_by) in cases {
        let plan = QueryPlan::new(&events_slo(errors, total, group_by));
        let reads = plan
            .counter_reads()
            .unwrap_or_else(|| panic!("{errors} / {total} not recognised"));
        assert_eq!(reads.len(), 2);
        assert_eq!((reads[0].role, reads[1].role), (Role::Bad, Role::Total));
        promql_parser::parser::parse(&reads[0].selector).unwrap();
    }
}

#[test]
fn other_templated_queries_stay_with_the_source() {
    let not = [
        // A ratio of rates, a different function, an offset, a sum of two selectors, a
        // grouping the SLO does not have (the total keeps none), a window that is not the
        // placeholder, `without`.
        (r#"sum(rate(e[{{.window}}])) / 2"#, ""),
        (r#"sum(irate(e[{{.window}}]))"#, ""),
        (r#"sum(rate(e[{{.window}}] offset 1m))"#, ""),
        (
            r#"sum(rate(e[{{.window}}])) + sum(rate(f[{{.window}}]))"#,
            "",
        ),
        (r#"sum by (route) (rate(e[{{.window}}]))"#, ""),
        (r#"sum(rate(e[5m])) + 0 * sum(rate(e[{{.window}}]))"#, ""),
        (r#"sum without (pod) (rate(e[{{.window}}]))"#, ""),
    ];
    for (errors, group_by) in not {
        let plan = QueryPlan::new(&events_slo(errors, "sum(rate(t[{{.window}}]))", group_by));
        assert_eq!(plan.counter_reads(), None, "{errors} {group_by}");
    }
}
