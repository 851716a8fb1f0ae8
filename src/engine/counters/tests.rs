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
    /// The hourly checks of a backfill are asked in pieces that cover every hour end from
    /// `first` to `whole` once, in order, each small enough for VictoriaMetrics: it evaluates
    /// the check's 1-minute subquery over a piece's whole range plus the subquery's range at
    /// once, and refuses more than 30,000 points per series (`-search.maxPointsPerTimeseries`).
    #[test]
    fn anomaly_pieces_cover_every_hour_once_within_victoriametrics_points(
        first_hour in 0i64..1_000_000,
        hours in 0i64..5_000,
    ) {
        let first = first_hour * HOUR_SECS;
        let whole = first + hours * HOUR_SECS;
        let pieces = anomaly_pieces(first, whole);
        let mut ends = Vec::new();
        for &(start, end) in &pieces {
            proptest::prop_assert!(start <= end);
            let subquery_range = HOUR_SECS + 59;
            proptest::prop_assert!((end - start + subquery_range) / 60 + 1 <= 30_000);
            ends.extend((start..=end).step_by(HOUR_SECS as usize));
        }
        let want: Vec<i64> = (first..=whole).step_by(HOUR_SECS as usize).collect();
        proptest::prop_assert_eq!(ends, want);
    }
}
