//! Sloth's own example files (tests/fixtures/sloth, Apache-2.0, see its README) are read
//! unchanged, or refused with a specific message where they use Sloth plugins.

use std::path::Path;

use sloburn::spec::load::load_file;

fn fixture(name: &str) -> sloburn::spec::load::FileReport {
    load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sloth")
            .join(name),
    )
}

#[test]
fn sloth_files_are_read_unchanged() {
    for (file, expected) in [
        (
            "getting-started.yml",
            vec!["myservice/requests-availability"],
        ),
        (
            "home-wifi.yml",
            vec![
                "home-wifi/good-wifi-client-satisfaction",
                "home-wifi/risk-wifi-client-satisfaction",
            ],
        ),
        (
            "kubernetes-apiserver.yml",
            vec![
                "k8s-apiserver/requests-availability",
                "k8s-apiserver/requests-latency",
            ],
        ),
        (
            "multifile.yml",
            vec![
                "myservice/requests-availability",
                "myservice2/requests-availability",
            ],
        ),
        ("no-alerts.yml", vec!["myapp/http-availability"]),
        (
            "raw-home-wifi.yml",
            vec!["home-wifi/wifi-client-satisfaction"],
        ),
    ] {
        let report = fixture(file);
        assert!(report.errors.is_empty(), "{file}: {:#?}", report.errors);
        let ids: Vec<String> = report.slos.iter().map(|s| s.id()).collect();
        assert_eq!(ids, expected, "{file}");
        for slo in &report.slos {
            assert_eq!(slo.version.as_str(), "prometheus/v1");
            // Sloth has no periods: its SLOs are 30d, with the workbook's alert table.
            assert_eq!(slo.period.describe(), "30d");
            let thresholds: Vec<f64> = slo
                .alerting
                .windows
                .rows
                .iter()
                .map(|r| r.threshold)
                .collect();
            assert_eq!(thresholds.len(), 4);
            for (got, want) in thresholds.iter().zip([14.4, 6.0, 3.0, 1.0]) {
                assert!((got - want).abs() < 1e-9, "{file}: {thresholds:?}");
            }
        }
    }
}

#[test]
fn sloth_fields_are_kept() {
    let report = fixture("getting-started.yml");
    let slo = &report.slos[0];
    assert_eq!(slo.objective.percent(), 99.9);
    assert_eq!(slo.labels.get("owner").map(String::as_str), Some("myteam"));
    assert_eq!(slo.labels.get("tier").map(String::as_str), Some("2"));
    assert_eq!(slo.alerting.name.as_deref(), Some("MyServiceHighErrorRate"));
    assert_eq!(
        slo.alerting.page.labels.get("severity").map(String::as_str),
        Some("pageteam")
    );
    assert_eq!(
        slo.alerting
            .ticket
            .labels
            .get("slack_channel")
            .map(String::as_str),
        Some("#alerts-myteam")
    );
    match &slo.sli {
        sloburn::spec::Sli::Events { error_query, .. } => {
            assert!(error_query.contains("{{.window}}"))
        }
        other => panic!("expected an events SLI, got {other:?}"),
    }
    let no_alerts = fixture("no-alerts.yml");
    assert!(no_alerts.slos[0].alerting.page.disable);
    assert!(no_alerts.slos[0].alerting.ticket.disable);
}

#[test]
fn plugin_files_get_a_specific_refusal() {
    for (file, needle) in [
        (
            "plugin-getting-started.yml",
            "Sloth SLI plugins are not supported",
        ),
        (
            "slo-plugin-getting-started.yml",
            "Sloth SLO plugins are not supported",
        ),
        (
            "contrib-slo-plugins.yml",
            "Sloth SLO plugins are not supported",
        ),
        (
            "victoria-metrics.yml",
            "Sloth SLO plugins are not supported",
        ),
    ] {
        let report = fixture(file);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.message.contains(needle) && e.line.is_some()),
            "{file}: {:#?}",
            report.errors
        );
    }
    // The VictoriaMetrics file is also MetricsQL, which is not PromQL: said per query.
    let vm = fixture("victoria-metrics.yml");
    assert!(
        vm.errors
            .iter()
            .any(|e| e.message.contains("histogram_share")),
        "{:#?}",
        vm.errors
    );
}
