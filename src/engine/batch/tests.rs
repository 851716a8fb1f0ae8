use super::*;
use crate::engine::plan::QueryPlan;

fn reads(spec: &str) -> Vec<(usize, Vec<CounterRead>)> {
    let report = crate::spec::load::load_bytes("x.yaml", spec.as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
        .slos
        .iter()
        .enumerate()
        .map(|(i, s)| (i, QueryPlan::new(s).counter_reads().unwrap_or_default()))
        .collect()
}

fn series(labels: &[(&str, &str)]) -> Series {
    Series {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        points: vec![(1_000, 1.0)],
    }
}

const SPEC: &str = r#"
version: sloburn/v1
service: api
slos:
  - name: checkout
    objective: 99.9
    sli: {ratio: {errors: 'http_requests_total{job="checkout",code=~"5.."}', total: 'http_requests_total{job="checkout"}'}}
  - name: dotted
    objective: 99.9
    sli: {ratio: {errors: 'http_requests_total{job="a.b",code=~"5.."}', total: 'http_requests_total{job="a.b"}'}}
  - name: latency
    objective: 99
    sli: {latency: {histogram: 'http_request_duration_seconds{job="checkout"}', threshold: 0.3}}
  - name: unpinned
    objective: 99
    sli: {ratio: {errors: 'http_requests_total{code=~"5.."}', total: 'http_requests_total'}}
  - name: by-service
    objective: 99
    sli: {ratio: {errors: 'rpc_total{service="cart",result="error"}', total: 'rpc_total{service="cart"}'}}
"#;

#[test]
fn reads_of_one_metric_pinned_on_one_label_share_a_query() {
    let (batches, batched) = plan(&reads(SPEC));
    let selectors: Vec<&str> = batches.iter().map(|b| b.selector.as_str()).collect();
    assert_eq!(
        selectors,
        [
            r#"http_request_duration_seconds_bucket{job="checkout",le="0.3"}"#,
            r#"http_request_duration_seconds_count{job="checkout"}"#,
            r#"http_requests_total{job=~"a\\.b|checkout"}"#,
            r#"rpc_total{service="cart"}"#,
        ]
    );
    // The unpinned SLO reads on its own.
    assert_eq!(batched.into_iter().collect::<Vec<_>>(), [0, 1, 2, 4]);
}

#[test]
fn each_series_goes_to_every_read_it_matches_and_no_other() {
    let (batches, _) = plan(&reads(SPEC));
    let requests = batches
        .iter()
        .find(|b| b.selector.starts_with("http_requests_total"))
        .unwrap();
    let mut out = Shares::new();
    requests.dispatch(
        vec![
            series(&[
                ("__name__", "http_requests_total"),
                ("job", "checkout"),
                ("code", "200"),
            ]),
            series(&[
                ("__name__", "http_requests_total"),
                ("job", "checkout"),
                ("code", "503"),
            ]),
            series(&[
                ("__name__", "http_requests_total"),
                ("job", "a.b"),
                ("code", "500"),
            ]),
            // Not a member's (the regex dot is escaped in the query; matched exactly here too).
            series(&[
                ("__name__", "http_requests_total"),
                ("job", "aXb"),
                ("code", "500"),
            ]),
        ],
        &mut out,
    );
    let roles = |slo: usize| -> Vec<(Role, String)> {
        out.get(&slo)
            .map(|v| {
                v.iter()
                    .map(|(r, s)| (*r, s.labels["code"].clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        roles(0),
        [
            (Role::Total, "200".to_string()),
            (Role::Bad, "503".to_string()),
            (Role::Total, "503".to_string())
        ]
    );
    assert_eq!(
        roles(1),
        [
            (Role::Bad, "500".to_string()),
            (Role::Total, "500".to_string())
        ]
    );
    assert!(roles(2).is_empty() && roles(3).is_empty() && roles(4).is_empty());
}

#[test]
fn many_values_are_split_into_several_queries() {
    let mut spec = String::from("version: sloburn/v1\nservice: api\nslos:\n");
    for i in 0..(MAX_VALUES + 5) {
        spec.push_str(&format!(
            "  - name: s{i}\n    objective: 99\n    sli: {{ratio: {{errors: 'x_total{{job=\"j{i}\",code=\"500\"}}', total: 'x_total{{job=\"j{i}\"}}'}}}}\n"
        ));
    }
    let (batches, batched) = plan(&reads(&spec));
    assert_eq!(batches.len(), 2);
    assert_eq!(batched.len(), MAX_VALUES + 5);
    let members: usize = batches.iter().map(|b| b.slos().count()).sum();
    assert_eq!(members, 2 * (MAX_VALUES + 5));
}

#[test]
fn a_shared_bucket_read_takes_each_spelling_of_the_threshold() {
    // Two targets write the 5 s bucket as Go (`5`) and as Java or Prometheus 3 (`5.0`) do.
    let spec = r#"
version: sloburn/v1
service: api
slos:
  - name: go
    objective: 99
    sli: {latency: {histogram: 'h{job="go"}', threshold: 5}}
  - name: java
    objective: 99
    sli: {latency: {histogram: 'h{job="java"}', threshold: 5}}
"#;
    let (batches, batched) = plan(&reads(spec));
    assert_eq!(batched.len(), 2);
    let buckets = batches
        .iter()
        .find(|b| b.selector.starts_with("h_bucket"))
        .unwrap();
    assert_eq!(
        buckets.selector,
        r#"h_bucket{job=~"go|java",le=~"5|5\\.0"}"#
    );
    let bucket =
        |job: &str, le: &str| series(&[("__name__", "h_bucket"), ("job", job), ("le", le)]);
    let mut out = Shares::new();
    buckets.dispatch(
        vec![
            bucket("go", "5"),
            bucket("go", "50"),
            bucket("java", "5.0"),
            bucket("java", "0.5"),
        ],
        &mut out,
    );
    let les = |slo: usize| -> Vec<String> {
        out.get(&slo)
            .map(|v| v.iter().map(|(_, s)| s.labels["le"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        (les(0), les(1)),
        (vec!["5".to_string()], vec!["5.0".to_string()])
    );
}

#[test]
fn a_label_every_member_narrows_narrows_the_shared_query() {
    // Thresholds of 0.3 s and 5 s: only those buckets are read, not every bucket of both
    // histograms; a total that names no `code` keeps the query open on it.
    let spec = r#"
version: sloburn/v1
service: api
slos:
  - name: fast
    objective: 99
    sli: {latency: {histogram: 'h{job="a"}', threshold: 0.3}}
  - name: slow
    objective: 99
    sli: {latency: {histogram: 'h{job="b"}', threshold: 5}}
  - name: errors
    objective: 99
    sli: {ratio: {errors: 'x_total{job="a",code=~"5.."}', total: 'x_total{job="a"}'}}
"#;
    let (batches, _) = plan(&reads(spec));
    let selectors: Vec<&str> = batches.iter().map(|b| b.selector.as_str()).collect();
    assert_eq!(
        selectors,
        [
            r#"h_bucket{job=~"a|b",le=~"(?:5|5\\.0)|0\\.3"}"#,
            r#"h_count{job=~"a|b"}"#,
            r#"x_total{job="a"}"#,
        ]
    );
    let le = |v: &str| series(&[("__name__", "h_bucket"), ("job", "a"), ("le", v)]);
    let narrowed = regex::Regex::new(r"^(?:(?:5|5\.0)|0\.3)$").unwrap();
    assert!(narrowed.is_match("0.3") && narrowed.is_match("5.0") && !narrowed.is_match("1"));
    let mut out = Shares::new();
    batches[0].dispatch(vec![le("0.3"), le("5")], &mut out);
    assert_eq!(out.get(&0).map(Vec::len), Some(1), "a's 0.3 s bucket only");
}
