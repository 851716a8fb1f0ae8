use super::*;
use crate::source::Series;
use crate::spec::load::load_bytes;

fn plans(slis: &[&str]) -> Vec<QueryPlan> {
    let mut text = String::from("version: sloburn/v1\nservice: api\nslos:\n");
    for (i, sli) in slis.iter().enumerate() {
        text.push_str(&format!(
            "  - name: s{i}\n    objective: 99\n    sli:\n      {sli}\n"
        ));
    }
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos.iter().map(QueryPlan::new).collect()
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn the_lag_is_the_longest_scrape_rounded_up_plus_a_second() {
    assert_eq!(lag_for_scrape_duration(Some(0.004)), SECS(2));
    assert_eq!(lag_for_scrape_duration(Some(0.0)), SECS(1));
    assert_eq!(lag_for_scrape_duration(Some(3.0)), SECS(4));
    assert_eq!(lag_for_scrape_duration(Some(3.02)), SECS(5));
    assert_eq!(lag_for_scrape_duration(Some(8.5)), SECS(10));
}

#[test]
fn the_lag_is_clamped_to_one_second_and_a_minute() {
    assert_eq!(lag_for_scrape_duration(Some(59.0)), SECS(60));
    assert_eq!(lag_for_scrape_duration(Some(59.5)), MAX_LAG);
    assert_eq!(lag_for_scrape_duration(Some(3600.0)), MAX_LAG);
    assert_eq!(lag_for_scrape_duration(Some(1e300)), MAX_LAG);
    assert_eq!(MIN_LAG, SECS(1));
}

#[test]
fn no_usable_scrape_duration_falls_back_to_5s() {
    assert_eq!(FALLBACK_LAG, SECS(5));
    for v in [None, Some(f64::NAN), Some(f64::INFINITY), Some(-1.0)] {
        assert_eq!(lag_for_scrape_duration(v), FALLBACK_LAG, "{v:?}");
    }
}

#[test]
fn a_failed_query_keeps_the_lag_and_nothing_shown_falls_back() {
    assert_eq!(after_answer(SECS(9), &Ok(Some(2.5))), (SECS(4), REFRESH));
    assert_eq!(after_answer(SECS(9), &Ok(None)), (FALLBACK_LAG, RETRY));
    assert_eq!(
        after_answer(SECS(9), &Err("timeout".into())),
        (SECS(9), RETRY)
    );
}

#[test]
fn the_longest_value_of_an_answer_is_taken() {
    let s = |v: f64| Series {
        labels: Default::default(),
        points: vec![(0, v)],
    };
    assert_eq!(longest(&[]), None);
    assert_eq!(longest(&[s(f64::NAN)]), None);
    assert_eq!(longest(&[s(0.5), s(f64::NAN), s(3.25)]), Some(3.25));
}

#[test]
fn the_query_reads_the_jobs_the_slos_pin() {
    let one = plans(&[r#"ratio: {errors: 'x{job="a",code="500"}', total: 'x{job="a"}'}"#]);
    assert_eq!(
        scrape_duration_query(&one),
        r#"max(max_over_time(scrape_duration_seconds{job="a"}[10m]))"#
    );
    let two = plans(&[
        r#"ratio: {errors: 'x{job="a",code="500"}', total: 'x{job="a"}'}"#,
        r#"latency: {histogram: 'h{job="b.c"}', threshold: 0.3}"#,
    ]);
    assert_eq!(
        scrape_duration_query(&two),
        r#"max(max_over_time(scrape_duration_seconds{job=~"a|b\\.c"}[10m]))"#
    );
}

#[test]
fn the_query_reads_every_target_when_an_slo_pins_no_job() {
    let all = "max(max_over_time(scrape_duration_seconds[10m]))";
    // A regex job, no job, templated PromQL: sloburn cannot tell which targets they read.
    for other in [
        r#"ratio: {errors: 'x{job=~"a.*",code="500"}', total: 'x{job=~"a.*"}'}"#,
        r#"ratio: {errors: 'x{code="500"}', total: 'x'}"#,
        r#"raw: {error_ratio_query: 'sum(rate(x{job="a",code="500"}[{{.window}}])) / sum(rate(x{job="a"}[{{.window}}]))'}"#,
    ] {
        let p = plans(&[
            r#"ratio: {errors: 'x{job="a",code="500"}', total: 'x{job="a"}'}"#,
            other,
        ]);
        assert_eq!(scrape_duration_query(&p), all, "{other}");
    }
    assert_eq!(scrape_duration_query(&[]), all);
}
