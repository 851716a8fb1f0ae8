use super::*;

fn series(points: Vec<(i64, f64)>) -> Series {
    Series {
        labels: Default::default(),
        points,
    }
}

#[test]
fn template_reads_walk_every_part_of_a_query() {
    let q = r#"
        (sum by (route) (increase(jobs_total{outcome="failed"}[{{ .window }}] offset 5m))
          + sum(irate(timeouts_total[{{.window}}])))
        / on (route) group_left topk(3, max_over_time(jobs_total{outcome="failed"}[{{.window}}:1m]))
        > bool scalar(queue_depth) and -{__name__="other"}
    "#;
    let reads = template_reads(q);
    let got: Vec<(&str, Option<&str>, bool)> = reads
        .iter()
        .map(|r| (r.selector.as_str(), r.metric.as_deref(), r.counter))
        .collect();
    assert_eq!(
        got,
        [
            // Read once through increase() and once in a subquery: a counter all the same.
            (r#"jobs_total{outcome="failed"}"#, Some("jobs_total"), true),
            ("timeouts_total", Some("timeouts_total"), true),
            ("queue_depth", Some("queue_depth"), false),
            (r#"{__name__="other"}"#, Some("other"), false),
        ]
    );
}

#[test]
fn template_reads_find_a_metric_named_by_matcher_only() {
    let reads = template_reads(r#"sum(rate({__name__="jobs_total",job="a"}[{{.window}}]))"#);
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].metric.as_deref(), Some("jobs_total"));
    assert!(reads[0].counter);
}

#[test]
fn a_template_that_does_not_parse_reads_nothing() {
    assert!(template_reads("sum(rate(x[{{.window}}]").is_empty());
    assert!(template_selectors("").is_empty());
}

#[test]
fn the_interval_of_a_jittery_series_is_its_median_gap() {
    // 15 s scrapes with up to ±400 ms of jitter (a fixed pseudo-random pattern), two missed
    // scrapes and a duplicate timestamp.
    let mut t = 1_700_000_000_000i64;
    let mut points = Vec::new();
    for i in 0..40i64 {
        let jitter = (i * 7919 % 801) - 400;
        if i == 10 || i == 25 {
            t += 15_000; // missed: a 30 s gap
        }
        points.push((t + jitter, i as f64));
        if i == 5 {
            points.push((t + jitter, i as f64));
        }
        t += 15_000;
    }
    let interval = series_interval(&points).unwrap();
    assert!(
        interval.abs_diff(Duration::from_secs(15)) <= Duration::from_millis(400),
        "{interval:?}"
    );
    assert_eq!(describe_interval(interval), "15s");
}

#[test]
fn the_interval_of_an_even_number_of_gaps_is_the_mean_of_the_middle_two() {
    let points = [(0, 0.0), (10_000, 0.0), (30_000, 0.0)];
    assert_eq!(series_interval(&points), Some(Duration::from_secs(15)));
}

#[test]
fn too_few_samples_give_no_interval() {
    assert_eq!(series_interval(&[]), None);
    assert_eq!(series_interval(&[(5, 1.0)]), None);
    assert_eq!(series_interval(&[(5, 1.0), (5, 2.0)]), None);
    assert_eq!(estimate_interval(&[series(vec![(0, 1.0)])]), None);
    assert_eq!(estimate_interval(&[]), None);
}

#[test]
fn the_slowest_series_decides_a_selectors_interval() {
    let every = |ms: i64, n: i64| series((0..n).map(|i| (i * ms, 0.0)).collect());
    let got = estimate_interval(&[every(15_000, 40), every(120_000, 5), every(1_000, 1)]);
    assert_eq!(got, Some(Duration::from_secs(120)));
    assert_eq!(describe_interval(got.unwrap()), "2m");
    assert_eq!(describe_interval(Duration::from_millis(89_600)), "1m30s");
}

#[test]
fn queries_are_built_around_the_selector() {
    let s = r#"x{job="a"}"#;
    assert_eq!(
        series_count_query(s),
        r#"count(last_over_time(x{job="a"}[1h]))"#
    );
    assert_eq!(samples_query(s, "10m"), r#"x{job="a"}[10m]"#);
    assert_eq!(
        le_query(s),
        r#"count by (le) (last_over_time(x{job="a"}[1h]))"#
    );
    assert_eq!(resets_query(s), r#"sum(resets(x{job="a"}[1h]))"#);
    assert_eq!(
        sample_count_query(s),
        r#"sum(count_over_time(x{job="a"}[1h]))"#
    );
    assert_eq!(metric_selector("a\"b"), r#"{__name__="a\"b"}"#);
    for q in [
        series_count_query(s),
        samples_query(s, "10m"),
        le_query(s),
        resets_query(s),
        sample_count_query(s),
        series_count_query(&metric_selector("sum")),
    ] {
        assert!(parser::parse(&q).is_ok(), "{q}");
    }
}

#[test]
fn counts_of_empty_or_odd_answers() {
    assert_eq!(count_of(&[series(vec![])]), 0);
    assert_eq!(count_of(&[series(vec![(0, f64::NAN)])]), 0);
    assert_eq!(count_of(&[series(vec![(0, 2.6)])]), 3);
}

#[test]
fn le_values_are_matched_as_numbers() {
    let values: Vec<String> = ["0.30", "3e-01", "1", "+Inf"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(find_le(0.3, &values), Some("0.30"));
    assert_eq!(find_le(1.0, &values), Some("1"));
    assert_eq!(find_le(f64::INFINITY, &values), Some("+Inf"));
    assert_eq!(find_le(2.0, &values), None);
    let mut mixed: Vec<String> = ["+Inf", "junk", "10", "2.5", "0.005"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    sort_le(&mut mixed);
    assert_eq!(mixed, ["0.005", "2.5", "10", "+Inf", "junk"]);
}

#[test]
fn metadata_names_cover_families() {
    assert_eq!(
        metadata_names("http_requests_total"),
        ["http_requests_total", "http_requests"]
    );
    assert_eq!(metadata_names("h_count"), ["h_count", "h"]);
    assert_eq!(metadata_names("_total"), ["_total"]);
}

#[test]
fn counter_evidence_from_metadata() {
    let meta = |types: &[&str]| CounterEvidence::Metadata {
        name: "x".into(),
        types: types.iter().map(|t| t.to_string()).collect(),
    };
    for ok in [
        &["counter"][..],
        &["histogram"],
        &["summary"],
        &["counter", "unknown"],
    ] {
        assert!(!meta(ok).is_not_a_counter(), "{ok:?}");
    }
    for bad in [&["gauge"][..], &["counter", "gauge"], &["gaugehistogram"]] {
        assert!(meta(bad).is_not_a_counter(), "{bad:?}");
    }
    assert!(!typed(&["unknown".to_string()]));
    assert!(typed(&["gauge".to_string()]));
}

#[test]
fn counter_evidence_from_data() {
    let data = |resets, samples| CounterEvidence::Data { resets, samples };
    assert!(data(5, 100).is_not_a_counter());
    assert!(!data(5, 101).is_not_a_counter());
    // A few restarts of a short series are a counter's, not a gauge's.
    assert!(!data(4, 10).is_not_a_counter());
    assert!(!data(0, 0).is_not_a_counter());
}
