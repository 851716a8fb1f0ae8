use super::*;
use crate::spec::MatchOp;
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
    let le = Matcher {
        label: "le".into(),
        op: MatchOp::Equal,
        value: "0.3".into(),
    };
    assert_eq!(s.promql(None, Some(&le)), r#"x{a="q\"uo\\te",le="0.3"}"#);
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

#[test]
fn le_spellings_of_go_prometheus_3_java_and_sloburn() {
    let cases: [(f64, &[&str]); 9] = [
        (5.0, &["5", "5.0"]),
        (1.0, &["1", "1.0"]),
        (0.25, &["0.25"]),
        (0.005, &["0.005"]),
        // Java writes E notation below 1e-3, Go below 1e-4.
        (0.0005, &["0.0005", "5.0E-4"]),
        (1e-5, &["1e-05", "1.0E-5", "0.00001"]),
        (2.5e-5, &["2.5e-05", "2.5E-5", "0.000025"]),
        // Go writes e notation from 1e6, Java from 1e7.
        (100000.0, &["100000", "100000.0"]),
        (1e7, &["1e+07", "1.0E7", "10000000"]),
    ];
    for (v, want) in cases {
        assert_eq!(le_spellings(v), want, "{v}");
        for s in want {
            assert_eq!(s.parse::<f64>().ok(), Some(v), "{s} is not {v}");
        }
    }
}

/// The bucket matcher of a latency SLO with `threshold`, before any lookup.
fn le_of(threshold: &str) -> Matcher {
    let text = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n    sli:\n      latency:\n        histogram: h{{job=\"a\"}}\n        threshold: {threshold}\n"
    );
    let r = crate::spec::load::load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let reads = QueryPlan::new(&r.slos[0]).counter_reads().unwrap();
    reads[0].matchers.last().unwrap().clone()
}

#[test]
fn the_bucket_matcher_takes_every_spelling_and_nothing_else() {
    let five = le_of("5");
    assert_eq!(five.promql(), r#"le=~"5|5\\.0""#);
    let m = crate::spec::matcher::CompiledMatcher::new(&five).unwrap();
    for (le, matches) in [
        ("5", true),
        ("5.0", true),
        ("50", false),
        ("0.5", false),
        ("5.00", false),
        ("5x0", false),
        ("+Inf", false),
    ] {
        assert_eq!(m.matches(le), matches, "{le}");
    }
    assert_eq!(le_of("0.25").promql(), r#"le="0.25""#);
    let tiny = le_of("0.00001");
    assert_eq!(tiny.promql(), r#"le=~"1e-05|1\\.0E-5|0\\.00001""#);
    let m = crate::spec::matcher::CompiledMatcher::new(&tiny).unwrap();
    assert!(m.matches("1e-05") && m.matches("1.0E-5") && !m.matches("1e-050"));
    // As PromQL it parses, as a ruler reads it.
    promql_parser::parser::parse(&format!("h_bucket{{{}}}", tiny.promql())).unwrap();
    let big = crate::spec::matcher::CompiledMatcher::new(&le_of("1e7")).unwrap();
    assert!(big.matches("1e+07") && !big.matches("1e07") && !big.matches("1ee+07"));
}

#[test]
fn a_looked_up_spelling_is_read_besides_the_usual_ones() {
    let text = "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n    sli:\n      latency:\n        histogram: h{job=\"a\"}\n        threshold: 5\n";
    let r = crate::spec::load::load_bytes("t.yaml", text.as_bytes());
    let mut plan = QueryPlan::new(&r.slos[0]);
    let bucket = |plan: &QueryPlan| plan.counter_reads().unwrap()[0].selector.clone();
    plan.le_value = Some("5".into());
    assert_eq!(bucket(&plan), r#"h_bucket{job="a",le=~"5|5\\.0"}"#);
    plan.le_value = Some("5.00".into());
    assert_eq!(bucket(&plan), r#"h_bucket{job="a",le=~"5|5\\.0|5\\.00"}"#);
    let q = plan.bucket_queries(PromDuration::from_secs(60));
    assert!(q.bad.contains(r#"le=~"5|5\\.0|5\\.00""#), "{}", q.bad);
}
