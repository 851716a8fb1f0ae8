use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/exposition/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn reads_prometheus_own_metrics() {
    let samples = parse(&fixture("prometheus-2.42.txt"), None, &Limits::default()).unwrap();
    assert!(samples.len() > 250, "{}", samples.len());
    let handler: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == "promhttp_metric_handler_requests_total")
        .collect();
    assert_eq!(handler.len(), 3);
    assert!(
        samples.iter().any(|s| s.name.ends_with("_bucket")
            && s.labels.iter().any(|(k, v)| k == "le" && v == "+Inf"))
    );
}

#[test]
fn reads_openmetrics_with_exemplars_and_escapes() {
    let samples = parse(
        &fixture("openmetrics-exemplars.txt"),
        None,
        &Limits::default(),
    )
    .unwrap();
    let foo: Vec<&Sample> = samples.iter().filter(|s| s.name == "foo_bucket").collect();
    assert_eq!(foo.len(), 5);
    assert_eq!(foo[2].value, 11.0);
    let req = samples
        .iter()
        .find(|s| s.name == "http_requests_total")
        .unwrap();
    assert_eq!(req.value, 3.0);
    assert!(
        req.labels
            .contains(&("note".to_string(), "q\"uote\\back\nline".to_string()))
    );
    assert!(
        req.labels
            .contains(&("route".to_string(), "/a b".to_string()))
    );
    // Nothing after # EOF is read.
    let mut text = fixture("openmetrics-exemplars.txt");
    text.extend_from_slice(b"after_eof 1\n");
    assert!(
        !parse(&text, None, &Limits::default())
            .unwrap()
            .iter()
            .any(|s| s.name == "after_eof")
    );
}

#[test]
fn reads_prometheus_client_output_in_both_formats() {
    use crate::engine::snapshot::{SloSnapshot, Snapshot, WindowSnapshot};
    use crate::exporter::{Exporter, Format, SnapshotCell};
    use std::sync::Arc;
    let cell = Arc::new(SnapshotCell::new());
    cell.publish(Snapshot {
        evaluated_at: Some(1.0),
        slos: vec![SloSnapshot {
            service: "api".into(),
            slo: "avail".into(),
            labels: vec![("team".into(), "a \"b\" \\ c".into())].into(),
            windows: vec![WindowSnapshot {
                window: "5m".into(),
                seconds: 300.0,
                error_ratio: Some(0.25),
                burn_rate: Some(250.0),
                bad: 1.0,
                total: 4.0,
            }],
            data_present: true,
            error_budget_remaining: Some(0.5),
            ..Default::default()
        }],
        ..Default::default()
    });
    let exporter = Exporter::new(cell);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = exporter.encode(format).unwrap();
        let samples = parse(text.as_bytes(), None, &Limits::default()).unwrap();
        let burn = samples
            .iter()
            .find(|s| s.name == "slo_burn_rate")
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(burn.value, 250.0);
        assert!(
            burn.labels
                .contains(&("team".to_string(), "a \"b\" \\ c".to_string()))
        );
    }
}

#[test]
fn keeps_only_what_is_wanted() {
    let wanted: HashSet<String> = ["promhttp_metric_handler_requests_total".to_string()].into();
    let samples = parse(
        &fixture("prometheus-2.42.txt"),
        Some(&wanted),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(samples.len(), 3);
}

#[test]
fn hostile_input_gets_an_error_or_a_bounded_result() {
    let limits = Limits::default();
    // Truncated in the middle of a label value.
    assert!(matches!(
        parse(b"x{a=\"unterminated", None, &limits),
        Err(ParseError::Line { line: 1, .. })
    ));
    // Truncated after the name: no value.
    assert!(parse(b"x_total{a=\"1\"}", None, &limits).is_err());
    // Enormous label value: refused by the line limit, not buffered without bound.
    let huge = format!("x{{a=\"{}\"}} 1\n", "v".repeat(1 << 20));
    assert!(matches!(
        parse(huge.as_bytes(), None, &limits),
        Err(ParseError::Line { .. })
    ));
    // Invalid UTF-8.
    assert_eq!(
        parse(b"x 1\ny{a=\"\xff\"} 2\n", None, &limits),
        Err(ParseError::NotUtf8(9))
    );
    // Millions of series: the cap stops the scrape with a clear error.
    let mut many = String::new();
    for i in 0..1_000_000 {
        many.push_str(&format!("m{{i=\"{i}\"}} 1\n"));
    }
    let small = Limits {
        max_series: 100_000,
        ..limits
    };
    assert_eq!(
        parse(many.as_bytes(), None, &small),
        Err(ParseError::TooManySeries(100_000))
    );
    // Garbage values and names.
    assert!(parse(b"x abc\n", None, &limits).is_err());
    assert!(parse(b"9x 1\n", None, &limits).is_err());
    assert!(parse(b"x{=\"a\"} 1\n", None, &limits).is_err());
}
