//! Spec files from public repositories, as teams and tools wrote them (tests/fixtures/real, see
//! its SOURCES.md for origins and licences): each is read, or refused for a stated reason, and
//! every file that loads converts to sloburn/v1 and reads back as the same SLOs (#15).

use std::path::{Path, PathBuf};

use sloburn::spec::Slo;

#[path = "support/compare.rs"]
mod compare;
use compare::comparable;
use sloburn::spec::load::{convert_paths, load_bytes, load_paths};

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

enum Expect {
    /// Loads without errors, with this many SLOs (0: objects that define none).
    Loads(usize),
    /// Some SLOs load; an error contains this text.
    Partly(usize, &'static str),
    /// Nothing loads; an error contains this text.
    Refused(&'static str),
}
use Expect::*;

const FILES: &[(&str, Expect)] = &[
    ("mixed/JiRaska__open-bank-oss__pyrra.yaml", Loads(1)),
    (
        "mixed/OpenSLO__oslo__valid-slos.yml",
        Refused("n9/v1alpha is Nobl9's own format"),
    ),
    (
        "openslo-v1/OpenSLO__oslo__multi.yaml",
        Refused("\"CloudWatch\" is not supported"),
    ),
    (
        "openslo-v1/OpenSLO__oslo__slo-composite-no-indicatorRef-rolling-no-alerts.yaml",
        Refused("composite"),
    ),
    (
        "openslo-v1/OpenSLO__oslo__slo-no-indicatorref-rolling-alerts.yaml",
        Refused("a rolling window of 1M is not supported"),
    ),
    (
        "openslo-v1/OpenSLO__oslo__slo-with-labels.yaml",
        Refused("missing; accepted: an SLI spec"),
    ),
    ("openslo-v1/OpenSLO__oslo__two-documents.yaml", Loads(0)),
    (
        "openslo-v1/OpenSLO__oslo__v1beta1_valid-slos-ratio.yaml",
        Refused("openslo/v1beta1"),
    ),
    (
        "openslo-v1/OpenSLO__slogen__logs-req-calendar.yaml",
        Refused("a calendar window of Week is not supported"),
    ),
    (
        "openslo-v1/grokify__slogo__availability.yaml",
        Refused("counter: false (gauge metrics) is not supported"),
    ),
    ("openslo-v1/grokify__slogo__duration.yaml", Loads(2)),
    (
        "openslo-v1/oskoperator__osko__openslo_v1_slo.yaml",
        Refused("openslo.com/v1 is osko's"),
    ),
    (
        "openslo-v1/oskoperator__osko__slo_gatekeeper_webhook_response_time_0005.yaml",
        Refused("openslo.com/v1 is osko's"),
    ),
    (
        "openslo-v1alpha/OpenSLO__oslo__valid-slos-ratio.yaml",
        Refused("got \"Timeslices\""),
    ),
    (
        "openslo-v1alpha/OpenSLO__oslo__valid-slos-threshold.yaml",
        Refused("thresholdMetric"),
    ),
    (
        "openslo-v1alpha/OpenSLO__slogen__drift-calculation.yaml",
        Refused("source \"sumologic\" is not supported"),
    ),
    (
        "pyrra/JiRaska__open-bank-oss__pyrra-slo-money-path.yaml",
        Loads(54),
    ),
    (
        "pyrra/pyrra-dev__pyrra__dynamic-burn-rate-ratio.yaml",
        Loads(1),
    ),
    ("pyrra/pyrra-dev__pyrra__krm.yaml", Loads(1)),
    ("pyrra/pyrra-dev__pyrra__mimir-example-slo.yaml", Loads(1)),
    (
        "pyrra/pyrra-dev__pyrra__nginx.yaml",
        Partly(1, "the success selector needs le="),
    ),
    (
        "pyrra/pyrra-dev__pyrra__slo-prometheus-query-errors-with-offset.yaml",
        Refused("offset and @ modifiers are not allowed"),
    ),
    (
        "pyrra/rou-cru__idp-blueprint__argocd-application-health-slo.yaml",
        Refused("6h is out of range"),
    ),
    (
        "pyrra/rou-cru__idp-blueprint__gateway-api-latency-slo.yaml",
        Refused("unknown field `good`"),
    ),
    (
        "pyrra/rou-cru__idp-blueprint__loki-query-latency-slo.yaml",
        Refused("unknown field `good`"),
    ),
    (
        "pyrra/rou-cru__idp-blueprint__prometheus-targets-up-slo.yaml",
        Refused("is an expression, not a selector"),
    ),
    (
        "pyrra/rou-cru__idp-blueprint__secrets-sync-slo.yaml",
        Refused("is an expression, not a selector"),
    ),
    (
        "pyrra/yairst__pyrra__synthetic-alert-test-dynamic.yaml",
        Loads(1),
    ),
    (
        "pyrra/yairst__pyrra__test-bool-gauge-dynamic.yaml",
        Loads(1),
    ),
    ("pyrra/yairst__pyrra__test-regex-static.yaml", Loads(1)),
    (
        "sloth-crd/Kuadrant__kuadrant-operator__slo-availability.yaml",
        Loads(1),
    ),
    (
        "sloth-crd/Kuadrant__kuadrant-operator__slo-latency.yaml",
        Loads(1),
    ),
    ("sloth-crd/slok__sloth__good-multi-k8s.yaml", Loads(4)),
    (
        "sloth/Kuadrant__kuadrant-operator__availability.yaml",
        Loads(1),
    ),
    ("sloth/Kuadrant__kuadrant-operator__latency.yaml", Loads(1)),
    (
        "sloth/slok__sloth__bad-prom-multi-duplicates.yaml",
        Partly(2, "is defined twice"),
    ),
    (
        "sloth/slok__sloth__in-base.yaml",
        Partly(1, "missing field `error_ratio_query`"),
    ),
];

fn fixtures(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            fixtures(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(
                path.strip_prefix(real())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// Every fixture has an expectation, so a file added without one fails here.
#[test]
fn every_real_file_has_an_expectation() {
    let mut found = Vec::new();
    fixtures(&real(), &mut found);
    found.sort();
    let mut listed: Vec<String> = FILES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn every_real_file_is_read_or_refused_for_its_reason() {
    let mut wrong = Vec::new();
    for (file, expect) in FILES {
        let report = load_paths(&[real().join(file)]);
        let slos = report.slos().count();
        let errors: Vec<String> = report.errors().map(|e| e.to_string()).collect();
        let has = |text: &str| report.errors().any(|e| e.message.contains(text));
        let ok = match expect {
            Loads(n) => errors.is_empty() && slos == *n,
            Partly(n, text) => slos == *n && has(text),
            Refused(text) => slos == 0 && has(text),
        };
        if !ok {
            wrong.push(format!("{file}: {slos} SLO(s)\n  {}", errors.join("\n  ")));
        }
        // Every error is placed on a line of its file.
        for e in report.errors() {
            if e.line.is_none() && !e.message.contains("defined twice") {
                wrong.push(format!("{file}: error without a line: {e}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `convert` then `check` of each file that loads gives the same SLOs.
#[test]
fn every_real_file_that_loads_converts_to_the_same_slos() {
    for (file, expect) in FILES {
        if !matches!(expect, Loads(n) if *n > 0) {
            continue;
        }
        let (report, converted) = convert_paths(&[real().join(file)]);
        let again = load_bytes("converted.yaml", converted[0].yaml.as_bytes());
        assert!(again.errors.is_empty(), "{file}: {:#?}", again.errors);
        let a: Vec<Slo> = report.slos().map(comparable).collect();
        let b: Vec<Slo> = again.slos.iter().map(comparable).collect();
        assert_eq!(a, b, "{file}");
    }
}

/// Pyrra's `pyrra.dev/*` labels reach every SLO of the files that set them (#15.5).
#[test]
fn pyrra_team_labels_of_real_files_are_kept() {
    let mut checked = 0;
    for (file, _) in FILES {
        let text = std::fs::read_to_string(real().join(file)).unwrap();
        if !text.contains("pyrra.dev/team:") {
            continue;
        }
        let report = load_paths(&[real().join(file)]);
        for slo in report.slos() {
            assert!(slo.labels.contains_key("team"), "{file}: {}", slo.id());
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked}");
}

/// Pyrra alerting settings that match what sloburn does anyway (`absent: false`) are not warned
/// about: 27 identical warnings buried the one that mattered in a 54-SLO file.
#[test]
fn settings_that_change_nothing_are_not_warned_about() {
    let report =
        load_paths(&[real().join("pyrra/JiRaska__open-bank-oss__pyrra-slo-money-path.yaml")]);
    let warnings: Vec<String> = report.files[0]
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert!(
        !warnings.iter().any(|w| w.contains("alerting.absent")),
        "{warnings:#?}"
    );
    // A setting that does change something still is.
    let report = load_paths(&[real().join("pyrra/pyrra-dev__pyrra__dynamic-burn-rate-ratio.yaml")]);
    assert!(
        report.files[0]
            .warnings
            .iter()
            .any(|w| w.path.contains("burnRateType")),
        "{:#?}",
        report.files[0].warnings
    );
}

/// An SLO object of a format sloburn does not read is refused by name, never skipped as
/// another kind of Kubernetes object.
#[test]
fn slo_objects_of_unknown_formats_are_refused_not_skipped() {
    let text = "apiVersion: slo.example.com/v1\nkind: SLO\nmetadata:\n  name: a\nspec: {}\n";
    let report = load_bytes("other.yaml", text.as_bytes());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.notes);
    assert!(
        report.errors[0].message.contains("kind SLO"),
        "{}",
        report.errors[0]
    );
}
