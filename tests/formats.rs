//! Other teams' SLO formats (Sloth's Kubernetes CRD and AlertWindows, OpenSLO v1alpha and v1,
//! Pyrra) read into the one model: the real corpus files in tests/fixtures/corpus (see its
//! README for sources and licences) are each read or refused with a specific message;
//! `convert` then `load` gives the same SLOs as `load`; errors are placed by file, line, column
//! and field path.

use std::path::{Path, PathBuf};

use sloburn::spec::Slo;

#[path = "support/compare.rs"]
mod compare;
use compare::comparable;
use sloburn::spec::load::{convert_paths, load_bytes, load_paths};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(name)
}

enum Expect {
    /// Read without errors, with these SLO ids.
    Slos(&'static [&'static str]),
    /// Accepted, defining no SLOs (Sloth AlertWindows).
    NoSlos(&'static str),
    /// Refused: some error contains this text (and has a line).
    Refused(&'static str),
}
use Expect::*;

const PLUGIN_SLO: &str = "Sloth SLO plugins are not supported";
const CASES: &[(&str, Expect)] = &[
    (
        "openslo/budgeting-timeslices-slo.yaml",
        Refused("a calendar window of 1m is not supported"),
    ),
    (
        "openslo/composed-checkout-v1.yaml",
        Slos(&["checkout/checkout-availability-30d"]),
    ),
    (
        "openslo/low-traffic-timeslices-slo.yaml",
        Refused("metricSource.type \"Any\" is not supported"),
    ),
    (
        "openslo/occurences-slo.yaml",
        Refused("metricSource.type \"Any\" is not supported"),
    ),
    (
        "openslo/ratio-timeslices.yaml",
        Refused("metricSource.type \"Any\" is not supported"),
    ),
    (
        "pyrra/caddy-response-latency.yaml",
        Slos(&["default/caddy-response-latency"]),
    ),
    (
        "pyrra/prometheus-http.yaml",
        Slos(&["default/prometheus-api-query"]),
    ),
    (
        "pyrra/prometheus-probe-success.yaml",
        Slos(&["default/prometheus-blackbox-probe-success"]),
    ),
    (
        "pyrra/pyrra-connect-errors.yaml",
        Slos(&["monitoring/pyrra-connect-errors"]),
    ),
    (
        "pyrra/pyrra-connect-latency.yaml",
        Refused("latencyNative (native histograms) is not supported"),
    ),
    (
        "sloth/contrib-denominator-corrected.yaml",
        Refused(PLUGIN_SLO),
    ),
    ("sloth/contrib-slo-plugins.yml", Refused(PLUGIN_SLO)),
    (
        "sloth/getting-started.yml",
        Slos(&["myservice/requests-availability"]),
    ),
    (
        "sloth/home-wifi.yml",
        Slos(&[
            "home-wifi/good-wifi-client-satisfaction",
            "home-wifi/risk-wifi-client-satisfaction",
        ]),
    ),
    (
        "sloth/k8s-getting-started.yml",
        Slos(&["myservice/requests-availability"]),
    ),
    (
        "sloth/k8s-home-wifi.yml",
        Slos(&[
            "home-wifi/good-wifi-client-satisfaction",
            "home-wifi/risk-wifi-client-satisfaction",
        ]),
    ),
    (
        "sloth/k8s-multifile.yml",
        Slos(&[
            "myservice/requests-availability",
            "myservice2/requests-availability",
        ]),
    ),
    (
        "sloth/kubernetes-apiserver.yml",
        Slos(&[
            "k8s-apiserver/requests-availability",
            "k8s-apiserver/requests-latency",
        ]),
    ),
    (
        "sloth/multifile.yml",
        Slos(&[
            "myservice/requests-availability",
            "myservice2/requests-availability",
        ]),
    ),
    ("sloth/no-alerts.yml", Slos(&["myapp/http-availability"])),
    (
        "sloth/openslo-getting-started.yml",
        Slos(&["my-service/sloth-slo-my-service"]),
    ),
    (
        "sloth/openslo-kubernetes-apiserver.yml",
        Slos(&[
            "k8s-apiserver/requests-availability-openslo",
            "k8s-apiserver/requests-latency-openslo-99",
            "k8s-apiserver/requests-latency-openslo-99.9",
        ]),
    ),
    (
        "sloth/plugin-getting-started.yml",
        Refused("Sloth SLI plugins are not supported"),
    ),
    (
        "sloth/plugin-k8s-getting-started.yml",
        Refused("Sloth SLI plugins are not supported"),
    ),
    (
        "sloth/raw-home-wifi.yml",
        Slos(&["home-wifi/wifi-client-satisfaction"]),
    ),
    ("sloth/slo-plugin-getting-started.yml", Refused(PLUGIN_SLO)),
    (
        "sloth/slo-plugin-k8s-getting-started.yml",
        Refused(PLUGIN_SLO),
    ),
    ("sloth/victoria-metrics.yml", Refused(PLUGIN_SLO)),
    ("sloth/windows/7d.yaml", NoSlos("alert windows, not SLOs")),
    (
        "sloth/windows/custom-30d.yaml",
        NoSlos("alert windows, not SLOs"),
    ),
];

#[test]
fn every_corpus_file_is_read_or_refused_specifically() {
    // Every spec in the corpus has a case.
    let report = load_paths(&[corpus("")]);
    let mut listed: Vec<String> = report
        .files
        .iter()
        .map(|f| {
            Path::new(&f.file)
                .strip_prefix(corpus(""))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    listed.sort();
    let mut cased: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    cased.sort();
    assert_eq!(listed, cased);
    for (file, expect) in CASES {
        let report = load_paths(&[corpus(file)]);
        let f = &report.files[0];
        match expect {
            Slos(ids) => {
                assert!(f.errors.is_empty(), "{file}: {:#?}", f.errors);
                let got: Vec<String> = f.slos.iter().map(Slo::id).collect();
                assert_eq!(got, *ids, "{file}");
            }
            NoSlos(note) => {
                assert!(
                    f.errors.is_empty() && f.slos.is_empty(),
                    "{file}: {:#?}",
                    f.errors
                );
                assert!(
                    f.notes.iter().any(|n| n.contains(note)),
                    "{file}: {:?}",
                    f.notes
                );
            }
            Refused(needle) => assert!(
                f.errors
                    .iter()
                    .any(|e| e.message.contains(needle) && e.line.is_some() && !e.path.is_empty()),
                "{file}: {:#?}",
                f.errors
            ),
        }
    }
}

#[test]
fn convert_then_load_equals_load() {
    for (file, expect) in CASES {
        if !matches!(expect, Slos(_)) {
            continue;
        }
        let (report, converted) = convert_paths(&[corpus(file)]);
        assert!(report.is_ok(), "{file}");
        let text = &converted[0].yaml;
        let again = load_bytes("converted.yaml", text.as_bytes());
        assert!(
            again.errors.is_empty(),
            "{file}:\n{text}\n{:#?}",
            again.errors
        );
        let a: Vec<Slo> = report.slos().map(comparable).collect();
        let b: Vec<Slo> = again.slos.iter().map(comparable).collect();
        assert_eq!(a, b, "{file}:\n{text}");
        assert!(
            again
                .slos
                .iter()
                .all(|s| s.version.as_str() == "sloburn/v1")
        );
    }
}

#[test]
fn alert_windows_convert_to_the_same_table() {
    let (_, converted) = convert_paths(&[corpus("sloth/windows/7d.yaml")]);
    let windows = &converted[0].yaml;
    let rows: String = windows
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("alerting:"))
        .map(|l| format!("    {l}\n"))
        .collect();
    let doc = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n    period: 7d\n    sli:\n      ratio: {{errors: 'e{{code=\"5\"}}', total: e}}\n    alerting:\n{rows}"
    );
    let report = load_bytes("w.yaml", doc.as_bytes());
    assert!(report.errors.is_empty(), "{doc}\n{:#?}", report.errors);
    let t: Vec<f64> = report.slos[0]
        .alerting
        .windows
        .rows
        .iter()
        .map(|r| r.threshold)
        .collect();
    // Sloth: errorBudgetPercent/100 × sloPeriod / longWindow.
    let want = [
        0.08 * 168.0,
        0.125 * 168.0 / 6.0,
        0.2 * 7.0,
        0.42 * 7.0 / 3.0,
    ];
    for (g, w) in t.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{t:?}");
    }
}

#[test]
fn mapped_fields() {
    let r = load_paths(&[corpus("pyrra/caddy-response-latency.yaml")]);
    let slo = &r.files[0].slos[0];
    match &slo.sli {
        sloburn::spec::Sli::Latency {
            histogram,
            threshold,
        } => {
            assert_eq!(histogram.metric, "caddy_http_response_duration_seconds");
            assert_eq!(*threshold, 0.05);
            assert!(histogram.matchers.iter().all(|m| m.label != "le"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(slo.period.describe(), "28d");
    let r = load_paths(&[corpus("pyrra/prometheus-http.yaml")]);
    assert_eq!(r.files[0].slos[0].group_by, ["handler"]);
    let r = load_paths(&[corpus("pyrra/prometheus-probe-success.yaml")]);
    assert_eq!(r.files[0].slos[0].sli.kind(), "threshold");
    assert!(!r.files[0].warnings.is_empty(), "bool_gauge is approximate");
    let r = load_paths(&[corpus("openslo/composed-checkout-v1.yaml")]);
    let slo = &r.files[0].slos[0];
    assert_eq!(slo.objective.percent(), 99.9);
    assert_eq!(slo.labels.get("team").map(String::as_str), Some("payments"));
    assert!(slo.alerting.custom_windows);
    assert_eq!(slo.alerting.windows.rows[0].threshold, 14.4);
    assert_eq!(
        slo.alerting.page.for_.map(|d| d.to_string()).as_deref(),
        Some("2m")
    );
}

/// indicatorRef resolves across the loaded files.
#[test]
fn openslo_refs_resolve_across_files() {
    let dir = std::env::temp_dir().join(format!("sloburn-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sli.yaml"), OPENSLO_SLI).unwrap();
    std::fs::write(
        dir.join("slo.yaml"),
        openslo_slo("indicatorRef: errors-sli", "28d"),
    )
    .unwrap();
    let report = load_paths(&[dir.join("slo.yaml"), dir.join("sli.yaml")]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(report.is_ok(), "{:#?}", report.files);
    let slo = report.slos().next().unwrap();
    assert_eq!(slo.sli.kind(), "ratio");
    assert_eq!(slo.period.describe(), "28d");
}

const OPENSLO_SLI: &str = "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: errors-sli\nspec:\n  ratioMetric:\n    counter: true\n    bad:\n      metricSource:\n        type: Prometheus\n        spec:\n          query: http_requests_total{code=~\"5..\"}\n    total:\n      metricSource:\n        type: Prometheus\n        spec:\n          query: http_requests_total\n";

fn openslo_slo(indicator: &str, duration: &str) -> String {
    format!(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: avail\nspec:\n  service: api\n  {indicator}\n  timeWindow:\n    - duration: {duration}\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.999\n"
    )
}

fn errors_of(name: &str, text: &str) -> String {
    let report = load_bytes(name, text.as_bytes());
    assert!(!report.errors.is_empty(), "{name}: expected errors");
    for e in &report.errors {
        assert!(
            e.file == name && e.line.is_some() && !e.path.is_empty(),
            "{e}"
        );
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
            insta::assert_snapshot!(
                stringify!($name),
                errors_of(concat!(stringify!($name), ".yaml"), &text)
            );
        }
    };
}

const CRD: &str = "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata:\n  name: x\nspec:\n  service: api\n  slos:\n    - name: avail\n      objective: 100\n      sli:\n        events:\n          errorQuery: sum(rate(e[5m]))\n          totalQuery: sum(rate(t[{{.window}}]))\n";
case!(crd_bad_objective_and_query, CRD);
/// Sloth's CRD is read as Sloth reads it: a field Sloth does not know loads with a warning that
/// it has no effect (#15.10).
#[test]
fn crd_sloburn_field() {
    let text = CRD
        .replace("objective: 100", "objective: 99\n      period: 7d")
        .replace("e[5m]", "e[{{.window}}]");
    let report = load_bytes("crd_sloburn_field.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.slos[0].period.describe(), "30d");
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    insta::assert_snapshot!("crd_sloburn_field", warnings.join("\n"));
}
case!(
    alert_windows_bad,
    "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 7d\n  page:\n    quick: {errorBudgetPercent: 8, shortWindow: 1h, longWindow: 5m}\n    slow: {errorBudgetPercent: 0, shortWindow: 30m, longWindow: 6h}\n  ticket:\n    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1D}\n    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 8d}\n"
);
case!(
    v1alpha_bad,
    "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata:\n  name: a\nspec:\n  service: api\n  budgetingMethod: Occurrences\n  objectives:\n    - ratioMetrics:\n        good:\n          query: sum(rate(g[5m]))\n        total:\n          query: sum(rate(t[{{.window}}]))\n      target: 1.0\n  timeWindows:\n    - count: 30\n      unit: Day\n"
);
case!(
    v1_quarter,
    format!(
        "{OPENSLO_SLI}---\n{}",
        openslo_slo("indicatorRef: errors-sli", "1Q")
            .replace("isRolling: true", "isRolling: false")
    )
);
case!(v1_missing_ref, openslo_slo("indicatorRef: nowhere", "28d"));
case!(
    v1_gauge_and_expression,
    format!(
        "{}---\n{}---\n{}",
        OPENSLO_SLI.replace("counter: true", "counter: false"),
        OPENSLO_SLI.replace("errors-sli", "other").replace(
            "query: http_requests_total\n",
            "query: rate(http_requests_total[5m])\n"
        ),
        openslo_slo("indicatorRef: errors-sli", "28d")
    )
    .replace("name: avail\n", "name: gauge\n")
        + "---\n"
        + &openslo_slo("indicatorRef: other", "28d")
);
case!(
    pyrra_bad,
    "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: lat\nspec:\n  target: '99.9'\n  window: 4W\n  indicator:\n    latency:\n      success:\n        metric: h_bucket{job=\"a\"}\n      total:\n        metric: h_count{job=\"a\"}\n"
);
case!(
    pyrra_mismatch,
    "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: lat\n  namespace: shop\nspec:\n  target: '100'\n  window: 4w\n  indicator:\n    latency:\n      success:\n        metric: h_bucket{job=\"a\",le=\"0.3\"}\n      total:\n        metric: h_count{job=\"b\"}\n"
);

/// The corpus's multi-document OpenSLO file written as a YAML list of objects (#15.3).
fn as_list(multi_document: &str) -> String {
    let mut out = String::new();
    for doc in multi_document.split("\n---\n") {
        let lines: Vec<&str> = doc.lines().filter(|l| !l.starts_with('#')).collect();
        for (k, line) in lines.iter().enumerate() {
            out.push_str(if k == 0 { "- " } else { "  " });
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// OpenSLO objects written as a YAML list (the layout of the OpenSLO SDK's examples, of `oslo`
/// and of Nobl9's exports) or as a Kubernetes `kind: List` read as the same objects in
/// separate documents do; an error inside an item is placed on its own line.
#[test]
fn openslo_lists_of_objects_are_read_like_documents() {
    let text = std::fs::read_to_string(corpus("openslo/composed-checkout-v1.yaml")).unwrap();
    let want = ["checkout/checkout-availability-30d"];
    let list = as_list(&text);
    let report = load_bytes("list.yaml", list.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}\n{list}", report.errors);
    assert_eq!(report.slos.iter().map(|s| s.id()).collect::<Vec<_>>(), want);
    let indented: String = list.lines().map(|l| format!("  {l}\n")).collect();
    let k8s = format!("apiVersion: v1\nkind: List\nitems:\n{indented}");
    let report = load_bytes("k8s-list.yaml", k8s.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.slos.iter().map(|s| s.id()).collect::<Vec<_>>(), want);
    // A target out of range in the SLO item: the error names the line it is written on.
    let bad = list.replace("target: 0.999", "target: 2");
    assert_error_on_line(&bad, "target: 2", |path| path.contains("target"));
}

/// An error of `text` whose path `at` accepts is placed on the first line holding `marker`.
fn assert_error_on_line(text: &str, marker: &str, at: impl Fn(&str) -> bool) {
    let line = text.lines().position(|l| l.contains(marker)).unwrap() + 1;
    let report = load_bytes("placed.yaml", text.as_bytes());
    let e = report
        .errors
        .iter()
        .find(|e| at(&e.path))
        .unwrap_or_else(|| panic!("{:#?}", report.errors));
    assert_eq!(e.line, Some(line as u64), "{e}");
}

fn pyrra(name: &str, labels: &str, indicator: &str) -> String {
    format!(
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: {name}\n  namespace: shop\n{labels}spec:\n  target: '99.5'\n  window: 28d\n  indicator:\n{indicator}"
    )
}

const PYRRA_RATIO: &str = "    ratio:\n      errors:\n        metric: http_requests_total{job=\"shop\",code=~\"5..\"}\n      total:\n        metric: http_requests_total{job=\"shop\"}\n";

/// A gitops file mixing Pyrra SLOs with other Kubernetes kinds (#15.4): the other objects are
/// skipped with a note naming each; only a wrong SLO object is an error, and the good SLOs of
/// the file still load and convert.
#[test]
fn kubernetes_manifests_mixing_kinds_read_only_the_slo_objects() {
    let route = "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata:\n  name: shop\nspec:\n  to:\n    kind: Service\n    name: shop\n";
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config\ndata:\n  a: b\n";
    let text = [
        pyrra("shop-errors", "", PYRRA_RATIO),
        route.to_string(),
        pyrra("shop-errors-2", "", PYRRA_RATIO),
        config.to_string(),
    ]
    .join("---\n");
    let report = load_bytes("gitops.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let ids: Vec<String> = report.slos.iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["shop/shop-errors", "shop/shop-errors-2"]);
    let notes = report.notes.join("\n");
    assert!(
        notes.contains("(document 2)") && notes.contains("Route") && notes.contains("shop"),
        "{notes}"
    );
    assert!(
        notes.contains("(document 4)") && notes.contains("ConfigMap"),
        "{notes}"
    );
    insta::assert_snapshot!("mixed_kinds_notes", notes);

    // The same objects as a Kubernetes List.
    let items: String = text
        .split("---\n")
        .flat_map(|doc| {
            doc.lines()
                .enumerate()
                .map(|(k, l)| format!("  {}{l}\n", if k == 0 { "- " } else { "  " }))
                .collect::<Vec<_>>()
        })
        .collect();
    let list = format!("apiVersion: v1\nkind: List\nitems:\n{items}");
    let report = load_bytes("list.yaml", list.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}\n{list}", report.errors);
    assert_eq!(report.slos.len(), 2);

    // A wrong SLO object among them fails alone; a misspelt SLO apiVersion is not "another kind".
    let bad = text.replace("target: '99.5'\n  window: 28d\n  indicator:\n    ratio:\n      errors:\n        metric: http_requests_total{job=\"shop\",code=~\"5..\"}\n      total:\n        metric: http_requests_total{job=\"shop\"}\n---\napiVersion: v1", "target: '100'\n  window: 28d\n  indicator:\n    ratio:\n      errors:\n        metric: http_requests_total{job=\"shop\",code=~\"5..\"}\n      total:\n        metric: http_requests_total{job=\"shop\"}\n---\napiVersion: v1")
        + "---\n"
        + &pyrra("typo", "", PYRRA_RATIO).replace("v1alpha1", "v1alpha2");
    let report = load_bytes("bad.yaml", bad.as_bytes());
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(report.slos.len(), 1, "{errors:#?}");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("(document 3)"), "{errors:#?}");
    assert!(errors[1].contains("pyrra.dev/v1alpha2"), "{errors:#?}");

    // convert writes the SLOs and says what it skipped; check of its output gives the same SLOs.
    let dir = std::env::temp_dir().join(format!("sloburn-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gitops.yaml"), &text).unwrap();
    let (report, converted) = convert_paths(&[dir.join("gitops.yaml")]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(report.is_ok(), "{:#?}", report.files);
    let again = load_bytes("converted.yaml", converted[0].yaml.as_bytes());
    assert!(again.errors.is_empty(), "{:#?}", again.errors);
    let a: Vec<Slo> = report.slos().map(comparable).collect();
    let b: Vec<Slo> = again.slos.iter().map(comparable).collect();
    assert_eq!(a, b);
}

/// Pyrra copies `pyrra.dev/*` labels of the object (prefix removed) onto every rule and alert,
/// e.g. `team` for routing (#15.5); other Kubernetes labels stay on the object.
#[test]
fn pyrra_propagation_labels_become_slo_labels() {
    let labels = "  labels:\n    pyrra.dev/team: payments\n    pyrra.dev/tier: \"1\"\n    app.kubernetes.io/name: shop\n";
    let report = load_bytes("labels.yaml", pyrra("a", labels, PYRRA_RATIO).as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let got: Vec<(&str, &str)> = report.slos[0]
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, [("team", "payments"), ("tier", "1")]);
    // A propagated name that is no label name is an error on its own line.
    let bad = "  labels:\n    pyrra.dev/team-name: payments\n";
    let report = load_bytes("bad.yaml", pyrra("a", bad, PYRRA_RATIO).as_bytes());
    let e = &report.errors[0];
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.path.contains("pyrra.dev/team-name"), "{e}");
}

/// A Pyrra latency SLO whose success selector has a matcher the total lacks (fast *and* not
/// 5xx) counts bad = total - success, as Pyrra does, with both selectors kept (#15.7).
#[test]
fn pyrra_latency_with_an_extra_success_matcher_counts_total_minus_success() {
    let latency = "    latency:\n      grouping: [route]\n      success:\n        metric: http_request_duration_seconds_bucket{job=\"shop\",code!~\"5..\",le=\"0.5\"}\n      total:\n        metric: http_request_duration_seconds_count{job=\"shop\"}\n";
    let report = load_bytes("lat.yaml", pyrra("lat", "", latency).as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    match &report.slos[0].sli {
        sloburn::spec::Sli::Events {
            error_query,
            total_query,
        } => {
            assert_eq!(
                error_query,
                "sum by (route) (rate(http_request_duration_seconds_count{job=\"shop\"}[{{.window}}])) - (sum by (route) (rate(http_request_duration_seconds_bucket{job=\"shop\",code!~\"5..\",le=\"0.5\"}[{{.window}}])) or sum by (route) (rate(http_request_duration_seconds_count{job=\"shop\"}[{{.window}}])) * 0)"
            );
            assert_eq!(
                total_query,
                "sum by (route) (rate(http_request_duration_seconds_count{job=\"shop\"}[{{.window}}]))"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.slos[0].group_by, ["route"]);
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("total - success")),
        "{warnings:#?}"
    );
    // The bucket is read in every spelling of its bound (Prometheus 3 writes `le="1.0"`), and a
    // group without fast requests counts every request bad, never none (#15.2).
    let spans = "    latency:\n      success:\n        metric: traces_spanmetrics_latency_bucket{service=\"pay\",le=\"1\"}\n      total:\n        metric: traces_spanmetrics_calls_total{service=\"pay\"}\n";
    let report = load_bytes("spans.yaml", pyrra("spans", "", spans).as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    match &report.slos[0].sli {
        sloburn::spec::Sli::Events { error_query, .. } => assert_eq!(
            error_query,
            "sum (rate(traces_spanmetrics_calls_total{service=\"pay\"}[{{.window}}])) - (sum (rate(traces_spanmetrics_latency_bucket{service=\"pay\",le=~\"1|1\\\\.0\"}[{{.window}}])) or sum (rate(traces_spanmetrics_calls_total{service=\"pay\"}[{{.window}}])) * 0)"
        ),
        other => panic!("{other:?}"),
    }
    // The same selectors but for `le` stay a latency SLI.
    let plain = latency.replace(",code!~\"5..\"", "");
    let report = load_bytes("plain.yaml", pyrra("lat", "", &plain).as_bytes());
    assert_eq!(report.slos[0].sli.kind(), "latency");
}

/// A foreign SLO the translation refuses is still checked for everything else (#15.9): the
/// wrong selector and the out-of-range target are reported together, and the SLO never loads.
#[test]
fn a_refused_translation_still_reports_the_other_errors() {
    let latency = "    latency:\n      success:\n        metric: h_bucket{job=\"a\",le=\"0.3\"}\n      total:\n        metric: h_count{job=\"b\"}\n";
    let text = pyrra("lat", "", latency).replace("'99.5'", "'100'");
    let report = load_bytes("two.yaml", text.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.target", "spec.indicator.latency.total.metric"],
        "{:#?}",
        report.errors
    );
    assert!(report.slos.is_empty());
    // An error only the translation sees (an unknown field) still keeps a complete SLO out.
    let text =
        pyrra("lat", "", PYRRA_RATIO).replace("  window: 28d\n", "  window: 28d\n  windw: 1d\n");
    let report = load_bytes("unknown.yaml", text.as_bytes());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert!(report.slos.is_empty());
}

/// Sloth's example OpenSLO v1alpha SLO (tests/fixtures/corpus/sloth/openslo-getting-started.yml)
/// without its comments.
fn v1alpha_getting_started() -> String {
    let text = std::fs::read_to_string(corpus("sloth/openslo-getting-started.yml")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

const V1ALPHA_WINDOWS: &str = "  timeWindows:\n    - count: 30\n      unit: Day\n";

/// An openslo/v1alpha SLO without `timeWindows` (or with an empty list): Sloth gives it its
/// default period, 30 days (`--default-slo-period`), and so does sloburn, with a note saying
/// so; `convert` writes the period out (#15.8).
#[test]
fn v1alpha_without_time_windows_is_read_as_30_days() {
    let text = v1alpha_getting_started();
    assert!(text.contains(V1ALPHA_WINDOWS));
    for (name, windows) in [("absent", ""), ("empty", "  timeWindows: []\n")] {
        let doc = text.replace(V1ALPHA_WINDOWS, windows);
        let report = load_bytes("v1alpha.yaml", doc.as_bytes());
        assert!(report.errors.is_empty(), "{name}: {:#?}", report.errors);
        assert_eq!(report.slos[0].period.describe(), "30d", "{name}");
        let notes: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            notes.len() == 1 && notes[0].contains("spec.timeWindows: no time window"),
            "{name}: {notes:#?}"
        );
        if windows.is_empty() {
            insta::assert_snapshot!("v1alpha_default_period", notes[0]);
        }
    }
    let dir = std::env::temp_dir().join(format!("sloburn-v1alpha-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("v1alpha.yaml");
    std::fs::write(&file, text.replace(V1ALPHA_WINDOWS, "")).unwrap();
    let (report, converted) = convert_paths(std::slice::from_ref(&file));
    std::fs::remove_dir_all(&dir).ok();
    let yaml = &converted[0].yaml;
    assert!(yaml.contains("period: \"30d\""), "{yaml}");
    let again = load_bytes("converted.yaml", yaml.as_bytes());
    let a: Vec<Slo> = report.slos().map(comparable).collect();
    let b: Vec<Slo> = again.slos.iter().map(comparable).collect();
    assert_eq!(a, b, "{yaml}");
}

/// OpenSLO v1 objects as Nobl9 writes them (the shape of nobl9/nobl9-openslo's test data,
/// written for this test): a list of objects, `type: prometheus` with a `metricSourceRef`,
/// and the query under `spec.promql`, Nobl9's name for a Prometheus query.
const NOBL9_SHAPED: &str = r#"- apiVersion: openslo/v1
  kind: SLO
  metadata:
    name: web-availability
    displayName: SLO for web availability
    labels:
      team: [team-a, team-b]
    annotations:
      nobl9.com/metadata.project: my-project
  spec:
    service: web
    budgetingMethod: Occurrences
    indicator:
      metadata:
        name: web-successful-requests
      spec:
        ratioMetric:
          counter: true
          good:
            metricSource:
              metricSourceRef: my-agent
              type: prometheus
              spec:
                promql: sum(http_requests_total{handler="/api",code!~"5.."})
          total:
            metricSource:
              metricSourceRef: my-agent
              type: prometheus
              spec:
                promql: sum(http_requests_total{handler="/api"})
    objectives:
      - displayName: Good
        target: 0.95
    timeWindow:
      - duration: 28d
        isRolling: true
- apiVersion: openslo/v1
  kind: SLO
  metadata:
    name: queue-lag
  spec:
    service: annotator
    budgetingMethod: Occurrences
    indicatorRef: queue-lag
    objectives:
      - displayName: Good
        target: 0.95
        op: lte
        value: 100
    timeWindow:
      - duration: 28d
        isRolling: true
- apiVersion: openslo/v1
  kind: SLI
  metadata:
    name: queue-lag
  spec:
    thresholdMetric:
      metricSource:
        metricSourceRef: my-prometheus
        type: prometheus
        spec:
          promql: sum(kafka_consumergroup_lag{consumergroup="annotator"})
"#;

/// `metricSource.spec.promql` (Nobl9's key for a Prometheus query) is read as `query`; an
/// error about the query is placed on the `promql` line; both keys at once are refused by
/// name (#15.8).
#[test]
fn nobl9_promql_is_read_as_the_query() {
    let report = load_bytes("nobl9.yaml", NOBL9_SHAPED.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let ids: Vec<String> = report.slos.iter().map(Slo::id).collect();
    assert_eq!(ids, ["web/web-availability", "annotator/queue-lag"]);
    match &report.slos[0].sli {
        sloburn::spec::Sli::Events { total_query, .. } => assert_eq!(
            total_query,
            "sum(rate(http_requests_total{handler=\"/api\"}[{{.window}}]))"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.slos[1].sli.kind(), "threshold");

    let dir = std::env::temp_dir().join(format!("sloburn-nobl9-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nobl9.yaml");
    std::fs::write(&file, NOBL9_SHAPED).unwrap();
    let (converted_report, converted) = convert_paths(std::slice::from_ref(&file));
    std::fs::remove_dir_all(&dir).ok();
    let yaml: String = converted
        .iter()
        .map(|c| c.yaml.clone())
        .collect::<Vec<_>>()
        .join("---\n");
    let again = load_bytes("converted.yaml", yaml.as_bytes());
    let a: Vec<Slo> = converted_report.slos().map(comparable).collect();
    let b: Vec<Slo> = again.slos.iter().map(comparable).collect();
    assert_eq!(a, b, "{yaml}");

    // A query sloburn cannot window, written under promql: the error is on that line.
    let bad = NOBL9_SHAPED.replace(
        "promql: sum(http_requests_total{handler=\"/api\"})",
        "promql: sum(rate(http_requests_total{handler=\"/api\"}[5m]))",
    );
    assert_error_on_line(&bad, "[5m]", |path| {
        path.ends_with("total.metricSource.spec.promql")
    });
}

case!(
    promql_and_query,
    NOBL9_SHAPED.replace(
        "                promql: sum(http_requests_total{handler=\"/api\"})\n",
        "                promql: sum(http_requests_total{handler=\"/api\"})\n                query: sum(http_requests_total)\n",
    )
);
case!(
    neither_promql_nor_query,
    NOBL9_SHAPED.replace(
        "          promql: sum(kafka_consumergroup_lag{consumergroup=\"annotator\"})\n",
        "          prql: sum(kafka_consumergroup_lag{consumergroup=\"annotator\"})\n",
    )
);

/// An openslo/v1alpha SLO with a threshold indicator (`spec.indicator.thresholdMetric`,
/// judged by each objective's `op` and `value`; the shape of OpenSLO/oslo's v1alpha
/// schema), written for this test.
const V1ALPHA_THRESHOLD: &str = "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata:\n  name: latency\nspec:\n  service: api\n  budgetingMethod: Occurrences\n  indicator:\n    thresholdMetric:\n      source: prometheus\n      queryType: promql\n      query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))\n  objectives:\n    - displayName: fast\n      op: lte\n      value: 0.3\n      target: 0.99\n  timeWindows:\n    - count: 28\n      unit: Day\n";

/// v1alpha's thresholdMetric is refused by name, with what to write instead, at its own
/// line; not as a missing ratioMetrics (#15.8).
#[test]
fn v1alpha_threshold_metric_is_named() {
    let report = load_bytes("t.yaml", V1ALPHA_THRESHOLD.as_bytes());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.path, "spec.indicator.thresholdMetric", "{e}");
    // A mapping is placed where its value begins: thresholdMetric's first field.
    assert_eq!(e.line, Some(10), "{e}");
    assert!(e.message.contains("openslo/v1"), "{e}");
    insta::assert_snapshot!("v1alpha_threshold_metric", e.to_string());
    // What the message says to write instead is read, as a threshold SLI.
    let v1 = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: latency\nspec:\n  service: api\n  budgetingMethod: Occurrences\n  indicator:\n    spec:\n      thresholdMetric:\n        metricSource:\n          type: Prometheus\n          spec:\n            query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))\n  objectives:\n    - displayName: fast\n      op: lte\n      value: 0.3\n      target: 0.99\n  timeWindow:\n    - duration: 28d\n      isRolling: true\n";
    let report = load_bytes("v1.yaml", v1.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.slos[0].sli.kind(), "threshold");
}

/// Labels sloburn sets itself (`service`, `slo`, ...), written in a spec or grouped by, are
/// carried as `exported_<name>`, Prometheus's convention for clashing labels, with a warning,
/// in every format (#15.6).
#[test]
fn labels_sloburn_sets_are_carried_as_exported_labels() {
    let ratio = PYRRA_RATIO.replace("    ratio:\n", "    ratio:\n      grouping: [service]\n");
    let report = load_bytes("grouped.yaml", pyrra("a", "", &ratio).as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.slos[0].group_by, ["service"]);
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("grouping[0]") && w.contains("exported_service")),
        "{warnings:#?}"
    );
    let native = "version: sloburn/v1\nservice: api\nlabels:\n  service: legacy\n  team: x\nslos:\n  - name: a\n    objective: 99\n    labels:\n      slo: old-name\n    sli:\n      ratio: {errors: 'e{code=\"5\"}', total: e}\n    alerting:\n      labels:\n        slo: paging-name\n";
    let report = load_bytes("native.yaml", native.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let slo = &report.slos[0];
    let got: Vec<(&str, &str)> = slo
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("exported_service", "legacy"),
            ("exported_slo", "old-name"),
            ("team", "x")
        ]
    );
    assert_eq!(slo.alerting.labels["exported_slo"], "paging-name");
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    insta::assert_snapshot!("exported_labels", warnings.join("\n"));
    // The exported name written too is a clash sloburn cannot resolve.
    let both = native.replace("  team: x\n", "  exported_service: y\n");
    let report = load_bytes("both.yaml", both.as_bytes());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_eq!(report.errors[0].path, "labels.service");
}

/// openslo/v1alpha is read as Sloth reads it (#15.10): fields Sloth's reader does not know
/// (slogen's `createView`, the oslo schema's `ratioMetrics.counter`) are warnings that they have
/// no effect, a missing `budgetingMethod` is Occurrences, and `source: sloth` is Prometheus.
#[test]
fn v1alpha_is_read_as_sloth_reads_it() {
    let text = v1alpha_getting_started()
        .replace("kind: SLO\n", "kind: SLO\ncreateView: true\n")
        .replace("  budgetingMethod: Occurrences\n", "  owner: payments\n")
        .replace(
            "    - ratioMetrics:\n",
            "    - ratioMetrics:\n        counter: true\n",
        )
        .replacen("source: prometheus", "source: sloth", 1);
    let report = load_bytes("sloth-reads.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}\n{text}", report.errors);
    assert_eq!(report.slos.len(), 1);
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    insta::assert_snapshot!("v1alpha_as_sloth_reads_it", warnings.join("\n"));
    // What Sloth would count differently from what the file says stays refused.
    let timeslices = v1alpha_getting_started().replace("Occurrences", "Timeslices");
    let report = load_bytes("timeslices.yaml", timeslices.as_bytes());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
}

/// OpenSLO label keys written Kubernetes-style (`metric-type`) are carried with `_` for each
/// character a Prometheus label name may not hold, with a note, not refused.
#[test]
fn openslo_label_keys_become_prometheus_label_names() {
    let text = format!("{OPENSLO_SLI}---\n{}", openslo_slo("indicatorRef: errors-sli", "28d"))
        .replace(
            "metadata:\n  name: avail\n",
            "metadata:\n  name: avail\n  labels:\n    metric-type: availability\n    team: [a, b]\n    9th: x\n",
        );
    let report = load_bytes("labels.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let got: Vec<(&str, &str)> = report.slos[0]
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("_9th", "x"),
            ("metric_type", "availability"),
            ("team", "a,b")
        ]
    );
    let notes: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("carried as \"metric_type\"")),
        "{notes:#?}"
    );
}

/// Every error of an OpenSLO SLO in one run (#15.9): a wrong indicator does not hide an
/// objective's target out of range, and an objective with an error of its own does not hide
/// its other errors nor take down the good objective beside it.
#[test]
fn every_error_of_an_openslo_slo_in_one_run() {
    let text = openslo_slo("indicatorRef: nowhere", "28d").replace("target: 0.999", "target: 2");
    let report = load_bytes("one.yaml", text.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.indicatorRef", "spec.objectives[0].target"],
        "{:#?}",
        report.errors
    );
    let two = format!(
        "{OPENSLO_SLI}---\n{}",
        openslo_slo("indicatorRef: errors-sli", "28d").replace(
            "    - target: 0.999\n",
            "    - target: 2\n      displayName: bad\n      weight: 3\n    - target: 0.99\n      displayName: good\n"
        )
    );
    let report = load_bytes("two.yaml", two.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "(document 2) spec.objectives[0].target",
            "(document 2) spec.objectives[0].weight"
        ],
        "{:#?}",
        report.errors
    );
    let ids: Vec<String> = report.slos.iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["api/avail-good"]);
}

/// openslo/v1alpha too: a document-level error does not hide an objective's (#15.9).
#[test]
fn every_error_of_a_v1alpha_slo_in_one_run() {
    let text = v1alpha_getting_started()
        .replace("Occurrences", "Timeslices")
        .replace("target: 0.999", "target: 2");
    let report = load_bytes("v1alpha.yaml", text.as_bytes());
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.budgetingMethod", "spec.objectives[0].target"],
        "{:#?}",
        report.errors
    );
    assert!(report.slos.is_empty());
}
