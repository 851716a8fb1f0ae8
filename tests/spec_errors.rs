//! The messages a person sees for bad specs: each names file, line, column and field path, says
//! what is wrong and what is accepted. Snapshots keep the wording reviewed.

use sloburn::spec::load::load_bytes;

/// A valid sloburn/v1 document with one SLO, into which each case splices its fault.
fn native(slo_fields: &str) -> String {
    format!(
        "version: sloburn/v1\nservice: checkout\nlabels:\n  team: payments\nslos:\n  - name: availability\n{slo_fields}"
    )
}

const RATIO_SLI: &str = "    sli:\n      ratio:\n        errors: http_requests_total{job=\"checkout\",code=~\"5..\"}\n        total: http_requests_total{job=\"checkout\"}\n";

fn errors_of(name: &str, text: &str) -> String {
    let report = load_bytes(name, text.as_bytes());
    assert!(
        !report.errors.is_empty(),
        "{name}: expected errors, got none"
    );
    for e in &report.errors {
        assert!(!e.message.is_empty());
        assert!(e.file == name, "{e}");
    }
    report
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

macro_rules! case {
    ($name:ident, $text:expr) => {
        #[test]
        fn $name() {
            let text: String = $text.into();
            let rendered = errors_of(concat!(stringify!($name), ".yaml"), &text);
            insta::assert_snapshot!(stringify!($name), rendered);
        }
    };
}

case!(
    objective_100,
    native(&format!("    objective: 100\n{RATIO_SLI}"))
);
case!(
    objective_negative,
    native(&format!("    objective: -5\n{RATIO_SLI}"))
);
case!(
    objective_not_a_number,
    native(&format!("    objective: high\n{RATIO_SLI}"))
);
case!(
    period_upper_case_unit,
    native(&format!(
        "    objective: 99.9\n    period: 30D\n{RATIO_SLI}"
    ))
);
case!(
    period_fraction,
    native(&format!(
        "    objective: 99.9\n    period: 1.5h\n{RATIO_SLI}"
    ))
);
case!(
    period_months,
    native(&format!("    objective: 99.9\n    period: 1M\n{RATIO_SLI}"))
);
case!(
    period_too_short,
    native(&format!("    objective: 99.9\n    period: 1h\n{RATIO_SLI}"))
);
case!(
    calendar_unknown_unit,
    native(&format!(
        "    objective: 99.9\n    period: {{calendar: quarter}}\n{RATIO_SLI}"
    ))
);
case!(
    calendar_unknown_timezone,
    native(&format!(
        "    objective: 99.9\n    period:\n      calendar: month\n      timezone: Europe/Berlim\n{RATIO_SLI}"
    ))
);
case!(
    query_without_window,
    native(
        "    objective: 99.9\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{code=~\"5..\"}[5m]))\n        total_query: sum(rate(http_requests_total[{{.window}}]))\n"
    )
);
case!(
    query_not_promql,
    native(
        "    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}])) /\n"
    )
);
case!(
    query_unknown_placeholder,
    native(
        "    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(errors[{{.window}}])) / sum(rate(requests[{{.Window}}]))\n"
    )
);
case!(
    selector_is_an_expression,
    native(
        "    objective: 99.9\n    sli:\n      ratio:\n        errors: sum(rate(http_requests_total{code=~\"5..\"}[5m]))\n        total: http_requests_total\n"
    )
);
case!(
    latency_bucket_series,
    native(
        "    objective: 99\n    sli:\n      latency:\n        histogram: http_request_duration_seconds_bucket{job=\"checkout\"}\n        threshold: 0.3\n"
    )
);
case!(
    latency_threshold_zero,
    native(
        "    objective: 99\n    sli:\n      latency:\n        histogram: http_request_duration_seconds{job=\"checkout\"}\n        threshold: 0\n"
    )
);
case!(
    threshold_unknown_op,
    native(
        "    objective: 99\n    sli:\n      threshold:\n        query: max(pool_utilisation{job=\"checkout\"})\n        op: \"==\"\n        value: 0.8\n"
    )
);
case!(
    sli_two_kinds,
    native(
        "    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: x[{{.window}}]\n      ratio:\n        errors: a\n        total: b\n"
    )
);
case!(
    sli_missing_kind,
    native("    objective: 99.9\n    sli: {}\n")
);
case!(
    sli_plugin,
    "version: prometheus/v1\nservice: api\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      plugin:\n        id: sloth-common/kubernetes/apiserver/availability\n"
);
case!(
    reserved_label,
    native(&format!(
        "    objective: 99.9\n    labels:\n      service: other\n      exported_service: x\n{RATIO_SLI}"
    ))
);
case!(
    invalid_label_name,
    native(&format!(
        "    objective: 99.9\n    labels:\n      9lives: x\n      __meta: y\n{RATIO_SLI}"
    ))
);
case!(
    unknown_field_typo,
    native(&format!("    objetive: 99.9\n{RATIO_SLI}"))
);
case!(missing_version, "service: api\nslos: []\n");
case!(
    unknown_version,
    "version: sloth/v2\nservice: api\nslos: []\n"
);
case!(
    windows_short_not_shorter,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: page, long: 1h, short: 1h, budget_percent: 2}}\n"
    ))
);
case!(
    windows_long_beyond_period,
    native(&format!(
        "    objective: 99.9\n    period: 7d\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: ticket, long: 7d, short: 6h, budget_percent: 10}}\n"
    ))
);
case!(
    windows_two_thresholds,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: page, long: 1h, short: 5m, budget_percent: 2, burn_rate: 14.4}}\n"
    ))
);
case!(
    windows_unknown_severity,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: critical, long: 1h, short: 5m, burn_rate: 14.4}}\n"
    ))
);
case!(
    group_by_missing_from_query,
    native(
        "    objective: 99.9\n    group_by: [route]\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))\n        total_query: sum(rate(http_requests_total[{{.window}}]))\n"
    )
);
case!(
    group_by_reserved_and_repeated,
    native(&format!(
        "    objective: 99.9\n    group_by: [slo, route, route]\n    max_groups: 20000\n{RATIO_SLI}"
    ))
);
// sloburn_severity holds the tier that routing matches; no spec may set it (#15.11).
case!(
    tier_label_set_by_the_spec,
    native(&format!(
        "    objective: 99.9\n    labels: {{sloburn_severity: page}}\n{RATIO_SLI}    alerting:\n      labels: {{sloburn_severity: page}}\n      ticket_alert:\n        labels: {{sloburn_severity: page}}\n"
    ))
);
case!(
    freeze_below_100,
    native(&format!(
        "    objective: 99.9\n    policy: {{freeze_below: 100}}\n{RATIO_SLI}"
    ))
);
case!(
    alert_for_bad_duration,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      page_alert:\n        for: 2 minutes\n"
    ))
);
case!(
    duplicate_slo_in_one_file,
    format!(
        "{}---\n{}",
        native(&format!("    objective: 99.9\n{RATIO_SLI}")),
        native(&format!("    objective: 99\n{RATIO_SLI}"))
    )
);
case!(
    document_is_a_list,
    "- version: sloburn/v1\n- service: api\n"
);
case!(
    yaml_syntax_error,
    "version: sloburn/v1\nservice: [api\nslos: []\n"
);
case!(
    kubernetes_crd_without_slos,
    "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata:\n  name: x\nspec:\n  service: x\n"
);
case!(binary_garbage, {
    let mut bytes = b"version: sloburn/v1\n".to_vec();
    bytes.extend((0u8..=255).cycle().take(4096));
    String::from_utf8_lossy(&bytes).replace('\u{FFFD}', "\0")
});

#[test]
fn invalid_utf8_is_refused_with_a_position() {
    let report = load_bytes("latin1.yaml", b"version: sloburn/v1\nservice: caf\xe9\n");
    insta::assert_snapshot!("invalid_utf8", report.errors[0].to_string());
}

#[test]
fn all_errors_of_a_file_are_reported() {
    let text = native(&format!(
        "    objective: 100\n    period: 30D\n    labels:\n      9x: x\n{RATIO_SLI}"
    ));
    let report = load_bytes("many.yaml", text.as_bytes());
    assert_eq!(report.errors.len(), 3, "{:#?}", report.errors);
}

#[test]
fn one_bad_slo_does_not_take_the_others_down() {
    let text = format!(
        "version: sloburn/v1\nservice: checkout\nslos:\n  - name: a\n    objective: 99.9\n{RATIO_SLI}  - name: b\n    objective: 1000\n{RATIO_SLI}  - name: c\n    objective: 99\n{RATIO_SLI}"
    );
    let report = load_bytes("mixed.yaml", text.as_bytes());
    let ids: Vec<String> = report.slos.iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["checkout/a", "checkout/c"]);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].path, "slos[1].objective");
    assert_eq!(report.errors[0].line, Some(11));
}

fn warnings_of(name: &str, text: &str) -> String {
    let report = load_bytes(name, text.as_bytes());
    assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
    assert_eq!(report.slos.len(), 1, "a warning never refuses the SLO");
    report
        .warnings
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A burn rate cannot exceed 1 / (1 - objective): rows above it can never fire, and `check`
/// says which.
#[test]
fn alert_rows_that_can_never_fire_are_named() {
    // 90%: at most 10x, so the default 14.4x page is out of reach (the 6x page is not).
    let low = native(&format!("    objective: 90\n{RATIO_SLI}"));
    insta::assert_snapshot!("unreachable_default_rows", warnings_of("low.yaml", &low));
    // A custom table is named row by row; a disabled tier is not warned about.
    let custom = native(&format!(
        "    objective: 95\n{RATIO_SLI}    alerting:\n      ticket_alert:\n        disable: true\n      windows:\n        - {{severity: page, long: 1h, short: 5m, burn_rate: 21}}\n        - {{severity: page, long: 6h, short: 30m, burn_rate: 20}}\n        - {{severity: ticket, long: 1d, short: 2h, burn_rate: 30}}\n"
    ));
    insta::assert_snapshot!(
        "unreachable_custom_rows",
        warnings_of("custom.yaml", &custom)
    );
    // 99.9%: every default row can fire.
    let fine = native(&format!("    objective: 99.9\n{RATIO_SLI}"));
    assert_eq!(warnings_of("fine.yaml", &fine), "");
}

/// Every problem of every SLO in one run (#15.9): field types, unknown fields, values and
/// queries, across SLOs of one file, while the good SLO loads.
#[test]
fn every_error_of_every_slo_is_reported_at_once() {
    let text = "version: sloburn/v1\nservice: checkout\nslos:\n  - name: first\n    descripton: typo\n    objective: high\n    labels:\n      9lives: x\n    sli:\n      events:\n        error_query: sum(rate(e[5m]))\n        total_query: sum(rate(t[{{.window}}]))\n    alerting:\n      page_alert:\n        for: 5x\n  - name: second\n    objective: 99.9\n    period: 0d\n    max_groups: -1\n    group_by: [route]\n    sli:\n      ratio:\n        errors: e{code=\"5\"}\n        total: e\n  - name: good\n    objective: 99.9\n    sli:\n      ratio:\n        errors: e{code=\"5\"}\n        total: e\n";
    let report = load_bytes("many.yaml", text.as_bytes());
    let ids: Vec<String> = report.slos.iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["checkout/good"]);
    let rendered = report
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for path in [
        "slos[0].descripton",
        "slos[0].objective",
        "slos[0].labels.9lives",
        "slos[0].sli.events.error_query",
        "slos[0].alerting.page_alert.for",
        "slos[1].period",
        "slos[1].max_groups",
    ] {
        assert!(
            report.errors.iter().any(|e| e.path == path),
            "no error at {path}:\n{rendered}"
        );
    }
    insta::assert_snapshot!("every_error_of_every_slo", rendered);
}

/// Sloth's prometheus/v1 reader ignores fields it does not know (#15.10): sloburn accepts the
/// same files, warns that each such field has no effect, and does not apply it. In sloburn/v1
/// the same fields are errors.
#[test]
fn fields_sloth_ignores_are_warnings_in_its_own_format() {
    let text = "version: prometheus/v1\nservice: checkout\nowner: payments\nslos:\n  - name: availability\n    objective: 99.9\n    period: 7d\n    sli:\n      events:\n        error_query: sum(rate(e{code=\"5\"}[{{.window}}]))\n        total_query: sum(rate(e[{{.window}}]))\n    alerting:\n      name: CheckoutAvailability\n      pageAlert:\n        disable: true\n      page_alert:\n        labels:\n          routing: pager\n";
    let report = load_bytes("sloth.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let slo = &report.slos[0];
    assert_eq!(
        slo.period.describe(),
        "30d",
        "period has no effect in prometheus/v1"
    );
    assert!(!slo.alerting.page.disable, "pageAlert has no effect");
    assert_eq!(slo.alerting.page.labels["routing"], "pager");
    let warnings = report
        .warnings
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("sloth_ignored_fields", warnings);
    let native = text
        .replace("prometheus/v1", "sloburn/v1")
        .replace("    period: 7d\n", "");
    let report = load_bytes("native.yaml", native.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["owner", "slos[0].alerting.pageAlert"],
        "{:#?}",
        report.errors
    );
}

/// Markers of Rust's Debug output: a message showing one leaked an internal value (#15.9).
const DEBUG_SYNTAX: &[&str] = &[
    "Some(", "None", "Object {", "String(", "Number(", "Bool(", "Array [",
];

const V1ALPHA: &str = "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata:\n  name: avail\nspec:\n  service: api\n  budgetingMethod: Occurrences\n  objectives:\n    - ratioMetrics:\n        good: {source: prometheus, queryType: promql, query: 'sum(rate(ok[{{.window}}]))'}\n        total: {source: prometheus, queryType: promql, query: 'sum(rate(all[{{.window}}]))'}\n      target: 0.999\n  timeWindows:\n    - {count: 30, unit: Day}\n";

/// An openslo/v1 SLO with an inline indicator and objective.
fn openslo_v1(indicator: &str, method: &str, objective: &str) -> String {
    format!(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: avail\nspec:\n  service: api\n{method}  timeWindow:\n    - {{duration: 28d, isRolling: true}}\n  indicator:\n    metadata: {{name: sli}}\n    spec:\n{indicator}  objectives:\n    - {objective}\n"
    )
}

const THRESHOLD: &str = "      thresholdMetric:\n        metricSource: {type: Prometheus, spec: {query: max(queue_depth)}}\n";
const RAW: &str = "      ratioMetric:\n        raw:\n          metricSource: {type: Prometheus, spec: {query: 'errors_ratio'}}\n";

/// Bad specs whose messages once printed Rust values (`got Some("Timeslices")`, `got None`),
/// in every format: each message names a value as written, in words.
fn debug_prone() -> Vec<(&'static str, String)> {
    let occ = "  budgetingMethod: Occurrences\n";
    vec![
        (
            "v1alpha_timeslices",
            V1ALPHA.replace("Occurrences", "Timeslices"),
        ),
        (
            "v1alpha_budgeting_number",
            V1ALPHA.replace("Occurrences", "5"),
        ),
        (
            "v1_no_budgeting",
            openslo_v1(THRESHOLD, "", "{target: 0.99, op: lt, value: 5}"),
        ),
        (
            "v1_budgeting_list",
            openslo_v1(
                THRESHOLD,
                "  budgetingMethod: [Occurrences]\n",
                "{target: 0.99, op: lt, value: 5}",
            ),
        ),
        (
            "v1_threshold_no_op",
            openslo_v1(THRESHOLD, occ, "{target: 0.99, value: 5}"),
        ),
        (
            "v1_threshold_op_eq",
            openslo_v1(THRESHOLD, occ, "{target: 0.99, op: eq, value: 5}"),
        ),
        ("v1_raw_no_type", openslo_v1(RAW, occ, "{target: 0.99}")),
        (
            "v1_raw_type_number",
            openslo_v1(&format!("{RAW}        rawType: 1\n"), occ, "{target: 0.99}"),
        ),
    ]
}

/// Other bad specs in every format, with values of the wrong kind where text, numbers or
/// mappings belong: swept for Debug syntax, not snapshotted (their wording is reviewed in
/// their own cases).
fn wrong_kinds() -> Vec<String> {
    vec![
        native("    objective: {a: 1}\n    period: [7d]\n    sli:\n      ratio:\n        errors: [a]\n        total: {b: 1}\n"),
        native(&format!("    objective: 99.9\n    period: {{calendar: 5, timezone: [x]}}\n    labels: [a]\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: 1, long: 1h, short: [5m], burn_rate: x}}\n")),
        native("    objective: 99\n    sli:\n      threshold: {query: max(x), op: 1, value: high}\n"),
        "version: prometheus/v1\nservice: [api]\nslos:\n  - name: 5\n    objective: '99.9'\n    sli:\n      events: {error_query: 1, total_query: null}\n".into(),
        "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x}\nspec:\n  service: 5\n  slos:\n    - {name: [a], objective: x, sli: {events: {errorQuery: 1}}}\n".into(),
        "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: [7d]\n  page: {quick: 1}\n".into(),
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: [x], labels: 5}\nspec:\n  target: [99]\n  window: 5\n  indicator:\n    ratio: {errors: {metric: 1}, total: [a], grouping: x}\n".into(),
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x}\nspec:\n  target: '99'\n  window: 4w\n  indicator:\n    latency: {success: {metric: 5}, total: {metric: null}}\n".into(),
        V1ALPHA.replace("count: 30", "count: x").replace("target: 0.999", "target: [1]").replace("source: prometheus, ", "source: 5, "),
        V1ALPHA.replace("    - {count: 30, unit: Day}\n", "    - 30\n").replace("ratioMetrics:\n", "ratioMetrics: 5\n      x:\n"),
        openslo_v1("      ratioMetric: {counter: 1, good: 5, total: {metricSource: {type: 7}}}\n", "  budgetingMethod: Occurrences\n", "{target: x, targetPercent: [1]}"),
        openslo_v1(THRESHOLD, "  budgetingMethod: Timeslices\n", "{target: 0.99, op: [lt], value: {a: 1}, timeSliceWindow: 5}"),
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x, labels: {a: {b: 1}}}\nspec:\n  service: api\n  budgetingMethod: Occurrences\n  timeWindow: [{duration: 5, isRolling: x, calendar: 3}]\n  indicatorRef: [a]\n  objectives: [{target: 0.9}]\n  alertPolicies: [{alertPolicyRef: 5}, 3]\n".into(),
        "apiVersion: 5\nkind: SLO\n".into(),
        "apiVersion: openslo/v1\nkind: [SLO]\n".into(),
        "version: sloburn/v1\nservice: api\nslos: {a: 1}\n".into(),
    ]
}

#[test]
fn messages_never_show_rust_values() {
    let mut texts: Vec<(String, String)> = debug_prone()
        .into_iter()
        .map(|(n, t)| (format!("{n}.yaml"), t))
        .collect();
    texts.extend(
        wrong_kinds()
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("wrong_kinds_{i}.yaml"), t)),
    );
    let mut leaks = Vec::new();
    for (name, text) in &texts {
        let report = load_bytes(name, text.as_bytes());
        assert!(!report.errors.is_empty(), "{name}: expected errors\n{text}");
        for d in report.errors.iter().chain(&report.warnings) {
            if DEBUG_SYNTAX.iter().any(|m| d.message.contains(m)) {
                leaks.push(d.to_string());
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "Rust values in messages:\n{}",
        leaks.join("\n")
    );
    // The wording that replaced them, reviewed.
    let rendered: Vec<String> = debug_prone()
        .into_iter()
        .map(|(n, t)| errors_of(&format!("{n}.yaml"), &t))
        .collect();
    insta::assert_snapshot!("values_in_words", rendered.join("\n"));
}

/// `convert` of a prometheus/v1 file with fields that have no effect leaves them out, so the
/// converted sloburn/v1 file means what the original did (a `period: 7d` Sloth ignored must not
/// start counting 7 days, an unknown `pageAlert` must not become an error).
#[test]
fn converting_what_sloth_ignores_keeps_the_meaning() {
    let text = "version: prometheus/v1\nservice: checkout\nowner: payments\nslos:\n  - name: availability\n    objective: 99.9\n    period: 7d\n    group_by: route\n    sli:\n      events:\n        error_query: sum(rate(e{code=\"5\"}[{{.window}}]))\n        total_query: sum(rate(e[{{.window}}]))\n    alerting:\n      pageAlert:\n        disable: true\n";
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("sloth.yaml");
    std::fs::write(&path, text).unwrap();
    let (report, converted) = sloburn::spec::load::convert_paths(&[&path]);
    assert!(report.is_ok(), "{:#?}", report.files);
    let again = load_bytes("converted.yaml", converted[0].yaml.as_bytes());
    assert!(
        again.errors.is_empty(),
        "{:#?}\n{}",
        again.errors,
        converted[0].yaml
    );
    assert!(again.warnings.is_empty(), "{:#?}", again.warnings);
    let slo = &again.slos[0];
    assert_eq!(slo.period.describe(), "30d");
    assert!(slo.group_by.is_empty());
    assert_eq!(slo.version.as_str(), "sloburn/v1");
}

/// A mistake at the document level (`lables:` for `labels:`) concerns every SLO of the
/// document: none loads without the labels meant for it.
#[test]
fn a_document_level_mistake_loads_no_slo() {
    let text = format!(
        "version: sloburn/v1\nservice: checkout\nlables:\n  team: payments\nslos:\n  - name: a\n    objective: 99.9\n{RATIO_SLI}"
    );
    let report = load_bytes("doc.yaml", text.as_bytes());
    assert!(report.slos.is_empty());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_eq!(report.errors[0].path, "lables");
}

/// Two group labels that would be carried under one name are refused; grouping by a label
/// sloburn sets on alerts only is warned about as the series labels are (#15.6).
#[test]
fn group_labels_that_would_share_an_exported_name_are_refused() {
    let report = load_bytes(
        "g.yaml",
        native(&format!(
            "    objective: 99.9\n    group_by: [service, exported_service]\n{RATIO_SLI}"
        ))
        .as_bytes(),
    );
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert!(
        report.errors[0].message.contains("exported_service"),
        "{}",
        report.errors[0]
    );
    let report = load_bytes(
        "h.yaml",
        native(&format!(
            "    objective: 99.9\n    group_by: [burn_rate_threshold]\n{RATIO_SLI}"
        ))
        .as_bytes(),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.message.contains("exported_burn_rate_threshold")),
        "{:#?}",
        report.warnings
    );
}

/// In prometheus/v1 a sloburn/v1 field has no effect whatever is written in it: a wrong type
/// there is a warning too, as Sloth accepts the file (#15.10).
#[test]
fn a_wrong_sloburn_field_in_sloth_format_is_only_a_warning() {
    let text = "version: prometheus/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    group_by: route\n    max_groups: many\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))\n";
    let report = load_bytes("s.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let paths: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        ["slos[0].group_by", "slos[0].max_groups"],
        "{:#?}",
        report.warnings
    );
}

/// A document-level mistake does not hide the SLOs' own errors (#15.9).
#[test]
fn a_document_level_mistake_does_not_hide_the_slos_errors() {
    let text = "version: sloburn/v1\nservice: 5\nlabels:\n  9x: a\nslos:\n  - name: a\n    objective: 100\n    sli:\n      ratio: {errors: 'e{code=\"5\"}', total: e}\n";
    let report = load_bytes("d.yaml", text.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["service", "labels.9x", "slos[0].objective"],
        "{:#?}",
        report.errors
    );
    assert!(report.slos.is_empty());
}

/// A check across fields never judges what stood in for a field already reported: a bad long
/// window is one error, not also "the short window (2h) must be shorter than the long window
/// (1h)" about a value nobody wrote.
#[test]
fn a_reported_field_is_not_judged_again_by_its_neighbours() {
    let text = native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      windows:\n        - {{severity: page, long: 1x, short: 2h, budget_percent: 2}}\n        - {{severity: page, long: 6h, short: 6h, budget_percent: 5}}\n"
    ));
    let report = load_bytes("w.yaml", text.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    // The second row's own mistake is still reported.
    assert_eq!(
        paths,
        [
            "slos[0].alerting.windows[0].long",
            "slos[0].alerting.windows[1].short"
        ],
        "{:#?}",
        report.errors
    );
}

// The low-traffic guard (#16.4): a whole number of events, 0 or more.
case!(
    min_events_negative,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      min_events: -1\n"
    ))
);
case!(
    min_events_not_whole,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      page_alert:\n        min_events: 2.5\n"
    ))
);
case!(
    min_events_wrong_type,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      ticket_alert:\n        min_events: many\n"
    ))
);

/// `alerting.min_events` guards every row; a tier's own `min_events` overrides it for its rows;
/// none written is 0, no guard.
#[test]
fn min_events_guards_the_rows_of_each_tier() {
    let guard = |alerting: &str| -> Vec<(String, u64)> {
        let text = native(&format!("    objective: 99.9\n{RATIO_SLI}{alerting}"));
        let report = load_bytes("g.yaml", text.as_bytes());
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        report.slos[0]
            .alerting
            .windows
            .rows
            .iter()
            .map(|r| (r.severity.to_string(), r.min_events))
            .collect()
    };
    let rows = |p: u64, t: u64| {
        vec![
            ("page".to_string(), p),
            ("page".to_string(), p),
            ("ticket".to_string(), t),
            ("ticket".to_string(), t),
        ]
    };
    assert_eq!(guard(""), rows(0, 0));
    assert_eq!(guard("    alerting:\n      min_events: 20\n"), rows(20, 20));
    assert_eq!(
        guard("    alerting:\n      min_events: 20\n      ticket_alert:\n        min_events: 0\n"),
        rows(20, 0)
    );
    assert_eq!(
        guard("    alerting:\n      page_alert:\n        min_events: 50\n"),
        rows(50, 0)
    );
    // Also on a custom table.
    let custom = guard(
        "    alerting:\n      min_events: 7\n      windows:\n        - {severity: ticket, long: 3d, short: 6h, burn_rate: 1}\n",
    );
    assert_eq!(custom, [("ticket".to_string(), 7)]);
}

/// In Sloth's format the guard is a sloburn/v1 field like `windows` and `for`: a warning that
/// it has no effect, and no guard.
#[test]
fn min_events_has_no_effect_in_sloth_format() {
    let text = "version: prometheus/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))\n    alerting:\n      min_events: 20\n      page_alert:\n        min_events: -3\n";
    let report = load_bytes("s.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let paths: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "slos[0].alerting.min_events",
            "slos[0].alerting.page_alert.min_events"
        ],
        "{:#?}",
        report.warnings
    );
    assert!(
        report.slos[0]
            .alerting
            .windows
            .rows
            .iter()
            .all(|r| r.min_events == 0)
    );
}

/// A time-slice SLI counts slices as its events: a guard above the slices a window can hold
/// (5m of 1m slices hold 5) keeps that row from ever firing, and `check` says so.
#[test]
fn min_events_above_a_windows_slices_is_named() {
    let text = native(
        "    objective: 99\n    sli:\n      threshold:\n        query: max(pool_utilisation{job=\"checkout\"})\n        op: \"<\"\n        value: 0.8\n        slice: 1m\n    alerting:\n      min_events: 10\n",
    );
    insta::assert_snapshot!("min_events_above_slices", warnings_of("slices.yaml", &text));
}
/// The most slices a window can hold is rounded up: a 5m window of 2m slices (taken at even
/// minutes) holds 3 of them when it starts just after one, so a guard of 3 can fire (no
/// warning) and one of 4 never can.
#[test]
fn min_events_above_slices_counts_a_partial_slice() {
    let spec = |min: u32| {
        native(&format!(
            "    objective: 99\n    sli:\n      threshold:\n        query: max(pool_utilisation{{job=\"checkout\"}})\n        op: \"<\"\n        value: 0.8\n        slice: 2m\n    alerting:\n      min_events: {min}\n"
        ))
    };
    assert_eq!(warnings_of("three.yaml", &spec(3)), "");
    let four = warnings_of("four.yaml", &spec(4));
    assert!(
        four.contains("the page row 1h/5m can never fire")
            && four.contains("holds at most 3, below min_events 4")
            && four.lines().count() == 1,
        "{four}"
    );
}
/// A guard on a disabled tier has no effect, so neither check judges it: a raw SLI's disabled
/// page tier may carry one, and a time-slice SLI's disabled tier is not warned about; the
/// enabled tier still is.
#[test]
fn min_events_on_a_disabled_tier_is_not_judged() {
    let raw = |alerting: &str| {
        let text = native(&format!(
            "    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{{{.window}}}}])) / sum(rate(t[{{{{.window}}}}]))\n    alerting:\n{alerting}"
        ));
        load_bytes("raw.yaml", text.as_bytes())
    };
    let off = raw("      page_alert:\n        disable: true\n        min_events: 5\n");
    assert!(off.errors.is_empty(), "{:#?}", off.errors);
    assert_eq!(off.slos.len(), 1);
    // The SLO's guard still reaches the enabled ticket tier: refused, once.
    let shared = raw("      min_events: 5\n      page_alert:\n        disable: true\n");
    let paths: Vec<&str> = shared.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["slos[0].alerting.min_events"],
        "{:#?}",
        shared.errors
    );

    let slices = |alerting: &str| {
        warnings_of(
            "slices.yaml",
            &native(&format!(
                "    objective: 99\n    sli:\n      threshold:\n        query: max(pool_utilisation{{job=\"checkout\"}})\n        op: \"<\"\n        value: 0.8\n        slice: 1m\n    alerting:\n{alerting}"
            )),
        )
    };
    assert_eq!(
        slices("      min_events: 10\n      page_alert:\n        disable: true\n"),
        ""
    );
}
// A raw SLI (an error ratio) has no events to count: its windows count minutes with data.
case!(
    min_events_on_a_raw_sli,
    native(
        "    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))\n    alerting:\n      page_alert:\n        min_events: 5\n"
    )
);

// The exhaustion alert (#16.3): `within` a Prometheus duration above 0 and no longer than the
// period, `severity` page or ticket, nothing else but a tier's labels, annotations, for, disable.
case!(
    exhaustion_within_zero,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 0s\n"
    ))
);
case!(
    exhaustion_within_longer_than_the_period,
    native(&format!(
        "    objective: 99.9\n    period: 7d\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 8d\n"
    ))
);
case!(
    exhaustion_within_not_a_duration,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 2 hours\n"
    ))
);
case!(
    exhaustion_without_within,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        severity: page\n"
    ))
);
case!(
    exhaustion_unknown_severity,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 2h\n        severity: critical\n"
    ))
);
case!(
    exhaustion_unknown_field,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 2h\n        min_events: 5\n"
    ))
);
case!(
    exhaustion_reserved_label,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 2h\n        labels:\n          sloburn_severity: page\n"
    ))
);

case!(
    exhaustion_within_label_and_its_exported_name,
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      exhaustion:\n        within: 2h\n        labels:\n          exhaustion_within: 1h\n          exported_exhaustion_within: x\n"
    ))
);

/// `exhaustion_within` and `exhaustion_at_threshold` are labels sloburn sets on its alerts: a
/// spec writing them (on any alert's labels) keeps its value as `exported_<name>`, with a
/// warning, and never overrides sloburn's.
#[test]
fn exhaustion_alert_labels_are_reserved() {
    let text = native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    alerting:\n      labels:\n        exhaustion_at_threshold: soon\n      exhaustion:\n        within: 2h\n        labels:\n          exhaustion_within: 1h\n"
    ));
    let report = load_bytes("r.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let warned: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        warned,
        [
            "slos[0].alerting.labels.exhaustion_at_threshold",
            "slos[0].alerting.exhaustion.labels.exhaustion_within",
        ]
    );
    let alerting = &report.slos[0].alerting;
    assert_eq!(
        alerting
            .labels
            .get("exported_exhaustion_at_threshold")
            .map(String::as_str),
        Some("soon")
    );
    assert!(!alerting.labels.contains_key("exhaustion_at_threshold"));
    let e = alerting.exhaustion.as_ref().unwrap();
    assert_eq!(
        e.alert
            .labels
            .get("exported_exhaustion_within")
            .map(String::as_str),
        Some("1h")
    );
    assert!(!e.alert.labels.contains_key("exhaustion_within"));
}

/// What `alerting.exhaustion` reads into: a ticket unless it says page, its labels,
/// annotations and `for`; none written is no exhaustion alert.
#[test]
fn exhaustion_is_read_with_its_tier() {
    use sloburn::core::Severity;
    let read = |alerting: &str| {
        let text = native(&format!("    objective: 99.9\n{RATIO_SLI}{alerting}"));
        let report = load_bytes("x.yaml", text.as_bytes());
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
        report.slos[0].alerting.exhaustion.clone()
    };
    assert_eq!(read(""), None);
    let ticket = read("    alerting:\n      exhaustion:\n        within: 2h\n").unwrap();
    assert_eq!(ticket.within, "2h".parse().unwrap());
    assert_eq!(ticket.severity, Severity::Ticket);
    assert!(!ticket.alert.disable && ticket.alert.for_.is_none());
    let page = read(
        "    alerting:\n      exhaustion:\n        within: 30d\n        severity: page\n        for: 5m\n        disable: true\n        labels:\n          team: sre\n        annotations:\n          runbook_url: https://r.example.com\n",
    )
    .unwrap();
    assert_eq!(page.severity, Severity::Page);
    assert_eq!(page.within, "30d".parse().unwrap());
    assert_eq!(page.alert.for_, Some("5m".parse().unwrap()));
    assert!(page.alert.disable);
    assert_eq!(page.alert.labels["team"], "sre");
    assert_eq!(
        page.alert.annotations["runbook_url"],
        "https://r.example.com"
    );
}

/// In Sloth's format `alerting.exhaustion` is a sloburn/v1 field like `windows`: a warning that
/// it has no effect (whatever is written in it), and no exhaustion alert.
#[test]
fn exhaustion_has_no_effect_in_sloth_format() {
    let text = "version: prometheus/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))\n    alerting:\n      exhaustion:\n        within: -3\n";
    let report = load_bytes("s.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let paths: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        ["slos[0].alerting.exhaustion"],
        "{:#?}",
        report.warnings
    );
    assert!(
        report.warnings[0].message.contains("is a sloburn/v1 field"),
        "{:#?}",
        report.warnings
    );
    assert_eq!(report.slos[0].alerting.exhaustion, None);
}

/// An SLO with `corrections:` holding `entry` (indented as a list item's fields).
fn corrected(entry: &str) -> String {
    native(&format!(
        "    objective: 99.9\n{RATIO_SLI}    corrections:\n      - reason: planned maintenance\n{entry}"
    ))
}

case!(
    correction_bad_instant,
    corrected("        from: 2026-03-01 10:00\n        to: 2026-03-01T12:00:00Z\n")
);
case!(
    correction_from_not_before_to,
    corrected("        from: 2026-03-01T12:00:00Z\n        to: 2026-03-01T12:00:00Z\n")
);
case!(
    correction_unknown_day,
    corrected("        schedule: {days: [sun, funday], start: \"02:00\", end: \"04:00\"}\n")
);
case!(
    correction_bad_time,
    corrected("        schedule:\n          start: \"2:00\"\n          end: \"24:00\"\n")
);
case!(
    correction_unknown_timezone,
    corrected("        schedule: {start: \"02:00\", end: \"04:00\", timezone: Europe/Berlln}\n")
);
case!(
    correction_both_one_off_and_schedule,
    corrected(
        "        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T12:00:00Z\n        schedule: {start: \"02:00\", end: \"04:00\"}\n"
    )
);
case!(correction_neither, corrected("        name: nothing\n"));
case!(
    correction_unknown_field,
    corrected(
        "        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T12:00:00Z\n        alert: silence\n"
    )
);
case!(
    correction_without_reason_at_service_level,
    "version: sloburn/v1\nservice: checkout\ncorrections:\n  - from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T12:00:00Z\n    slo: availability\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      ratio:\n        errors: e{code=\"5\"}\n        total: e\n"
);
case!(
    correction_unknown_alerts_mode,
    corrected(
        "        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T12:00:00Z\n        alerts: mute\n"
    )
);
