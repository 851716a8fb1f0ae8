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
        "    objective: 99.9\n    labels:\n      service: other\n      slo: x\n{RATIO_SLI}"
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
    native_field_in_sloth_format,
    "version: prometheus/v1\nservice: api\nslos:\n  - name: availability\n    objective: 99.9\n    period: 7d\n    sli:\n      raw:\n        error_ratio_query: x[{{.window}}]\n"
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
        "    objective: 100\n    period: 30D\n    labels:\n      service: x\n{RATIO_SLI}"
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
