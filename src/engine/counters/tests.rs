use super::*;

#[test]
fn runs_split_where_flagged_buckets_are_far_apart() {
    let ends: BTreeSet<i64> = [3600, 7200, 10800, 100_000, 100_060].into_iter().collect();
    assert_eq!(
        runs(&ends),
        vec![vec![3600, 7200, 10800], vec![100_000, 100_060]]
    );
}

#[test]
fn the_anomaly_query_is_valid_promql() {
    let q = anomalies(r#"http_requests_total{job="a"}"#, 3600);
    promql_parser::parser::parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let exact = covering_selector(
        "x_total",
        &[[("code".to_string(), "5\"00".to_string())]
            .into_iter()
            .collect()],
    );
    assert_eq!(exact, r#"x_total{code="5\"00"}"#);
    promql_parser::parser::parse(&exact).unwrap();
    // Series with different values and labels: the labels all have, each value allowed.
    let series = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let covering = covering_selector(
        "x_total",
        &[
            series(&[("job", "a|b"), ("code", "500")]),
            series(&[("job", "c.d"), ("code", "500"), ("pod", "p")]),
        ],
    );
    assert_eq!(covering, r#"x_total{code="500",job=~"a\\|b|c\\.d"}"#);
    promql_parser::parser::parse(&covering).unwrap();
    let re = regex::Regex::new(r"^(?:a\|b|c\.d)$").unwrap();
    assert!(re.is_match("a|b") && re.is_match("c.d") && !re.is_match("cxd"));
}

#[test]
fn good_reads_leave_bad_as_total_minus_good() {
    let e = RoleEvents {
        bad: 0.0,
        total: 10.0,
        good: 7.0,
    };
    assert_eq!(
        e.counts(true),
        Counts {
            bad: 3.0,
            total: 10.0
        }
    );
    let e = RoleEvents {
        bad: 2.0,
        total: 10.0,
        good: 0.0,
    };
    assert_eq!(
        e.counts(false),
        Counts {
            bad: 2.0,
            total: 10.0
        }
    );
}

proptest::proptest! {
    /// Range queries with a subquery are asked in pieces that cover every evaluation instant
    /// once, in order, each small enough for VictoriaMetrics, which evaluates the subquery over
    /// a piece's whole range plus the subquery's range at once and refuses more than 30,000
    /// points per series (`-search.maxPointsPerTimeseries`): the backfill's hourly checks (1h
    /// steps, a 1-minute subquery over 3,659 s) and threshold SLIs' slices (any step, slices of
    /// 1 s to 1 h).
    #[test]
    fn subquery_pieces_cover_every_step_once_within_victoriametrics_points(
        first_step in 0i64..1_000_000,
        steps in 0i64..5_000,
        step in proptest::sample::select(vec![60i64, 300, 3600, 7200]),
        sub_step in proptest::sample::select(vec![1i64, 10, 60, 3600]),
        hourly in proptest::bool::ANY,
    ) {
        let (step, sub_step, sub_range) = if hourly {
            (HOUR_SECS, 60, HOUR_SECS + 59)
        } else {
            (step, sub_step, step - 1)
        };
        let first = first_step * step;
        let last = first + steps * step;
        let pieces = subquery_pieces(first, last, step, sub_range, sub_step);
        let mut ends = Vec::new();
        for &(start, end) in &pieces {
            proptest::prop_assert!(start <= end);
            // One step at least, even if that one is too much.
            if end > start {
                let points = (end - start + sub_range) / sub_step + 1;
                proptest::prop_assert!(points <= 30_000, "{points} points");
            }
            ends.extend((start..=end).step_by(step as usize));
        }
        let want: Vec<i64> = (first..=last).step_by(step as usize).collect();
        proptest::prop_assert_eq!(ends, want);
    }
}
