//! `sloburn check` end to end: the real binary on real folders.

mod support;

use std::path::Path;
use std::process::Output;
use support::eval::sloburn;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn example_specs_are_valid() {
    let out = sloburn(&["check", "slo-specs/"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for kind in ["ratio", "latency", "threshold", "events", "raw"] {
        assert!(
            text.contains(kind),
            "no {kind} SLO among the examples:\n{text}"
        );
    }
    assert!(text.contains("calendar month (Europe/Berlin)"), "{text}");
    assert!(text.contains(" 0 error(s)"), "{text}");
}

#[test]
fn a_bad_folder_exits_1_and_keeps_the_good_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("slo-specs/availability.yaml"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("nested/good.yaml"), &good).unwrap();
    std::fs::write(dir.path().join("bad.yml"), "version: sloburn/v1\nservice: api\nslos:\n  - name: x\n    objective: 100\n    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a spec, not read").unwrap();
    let path = dir.path().to_str().unwrap();
    let out = sloburn(&["check", path]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out).replace(path, "<dir>");
    insta::assert_snapshot!("bad_folder", text);

    let out = sloburn(&["check", "--output", "json", path]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{json:#}");
    let bad = &files[0];
    assert_eq!(bad["errors"][0]["line"], 5);
    assert_eq!(bad["errors"][0]["column"], 16);
    assert_eq!(bad["errors"][0]["path"], "slos[0].objective");
    let good_file = &files[1];
    assert_eq!(good_file["errors"].as_array().unwrap().len(), 0);
    assert_eq!(good_file["slos"][0]["sli_kind"], "ratio");
    assert_eq!(
        good_file["slos"][0]["alert_windows"][0]["burn_rate_threshold"],
        14.4
    );
    // The low-traffic guard in force per row (none by default).
    assert_eq!(good_file["slos"][0]["alert_windows"][0]["min_events"], 0);
}

#[test]
fn json_output_of_the_examples() {
    let out = sloburn(&["check", "-o", "json", "slo-specs/"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    let slos: Vec<&serde_json::Value> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["slos"].as_array().unwrap())
        .collect();
    assert!(slos.len() >= 6);
    let latency = slos
        .iter()
        .find(|s| s["slo"] == "requests-latency")
        .unwrap();
    assert_eq!(latency["period"], "28d");
    let thresholds: Vec<f64> = latency["alert_windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["burn_rate_threshold"].as_f64().unwrap())
        .collect();
    assert_eq!(thresholds.len(), 4);
    for (got, want) in thresholds.iter().zip([13.44, 5.6, 2.8, 0.9333333333333333]) {
        assert!((got - want).abs() < 1e-9, "{thresholds:?}");
    }
}

#[test]
fn a_missing_path_is_an_error_not_a_panic() {
    let out = sloburn(&["check", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no/such/folder: cannot read"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = sloburn(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sloburn(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_is_stable() {
    let top = stdout(&sloburn(&["--help"]));
    let check = stdout(&sloburn(&["check", "--help"]));
    let report = stdout(&sloburn(&["report", "--help"]));
    let run = stdout(&sloburn(&["run", "--help"]));
    insta::assert_snapshot!("help", top);
    insta::assert_snapshot!("run_help", run);
    insta::assert_snapshot!("check_help", check);
    insta::assert_snapshot!("report_help", report);
}

/// An alert row no burn rate can reach is a warning: the SLO loads, `check` names the row and
/// exits 0.
#[test]
fn an_alert_row_that_can_never_fire_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("low.yaml");
    std::fs::write(&file, "version: sloburn/v1\nservice: batch\nslos:\n  - name: jobs\n    objective: 90\n    sli: {ratio: {errors: 'jobs_total{result=\"failed\"}', total: 'jobs_total'}}\n").unwrap();
    let out = sloburn(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("  ok     batch/jobs"), "{text}");
    assert!(
        text.contains("  warn   ") && text.contains("low.yaml:5:16: slos[0].objective: the page row of the default table (1h/5m, burn rate above 14.4) can never fire"),
        "{text}"
    );
}

/// `check` validates `alerting.exhaustion` (a positioned error, exit 1) and lists it in JSON.
#[test]
fn check_validates_and_lists_the_exhaustion_alert() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |within: &str| {
        format!(
            "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    sli: {{ratio: {{errors: 'r{{code=\"5\"}}', total: r}}}}\n    alerting:\n      exhaustion: {{within: {within}, severity: page}}\n"
        )
    };
    let path = dir.path().join("x.yaml");
    std::fs::write(&path, spec("2h")).unwrap();
    let out = sloburn(&["check", "-o", "json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alert = &json["files"][0]["slos"][0]["exhaustion_alert"];
    assert_eq!(alert["within"], "2h", "{json:#}");
    assert_eq!(alert["severity"], "page");
    assert_eq!(alert["disabled"], false);

    std::fs::write(&path, spec("31d")).unwrap();
    let out = sloburn(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("x.yaml:8:")
            && text.contains("slos[0].alerting.exhaustion.within: 31d is out of range"),
        "{text}"
    );
}

/// A corrections file is checked with the specs: a bad entry is a positioned error (exit 1),
/// an entry naming no loaded SLO a warning (exit 0).
#[test]
fn check_validates_a_corrections_file() {
    let dir = tempfile::tempdir().unwrap();
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("slo-specs/availability.yaml");
    let specs = specs.to_str().unwrap();
    let file = dir.path().join("corrections.yaml");
    std::fs::write(
        &file,
        "corrections:\n  - service: nowhere\n    reason: gone\n    from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T11:00:00Z\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = sloburn(&["check", "--corrections", path, specs]);
    let text = stdout(&out)
        .replace(path, "<corrections>")
        .replace(specs, "<specs>");
    assert_eq!(out.status.code(), Some(0), "{text}");
    insta::assert_snapshot!("corrections_unknown_service", text);

    std::fs::write(
        &file,
        "corrections:\n  - service: checkout\n    reason: backups\n    schedule: {days: [sun], start: \"2:00\", end: \"04:00\", timezone: Mars/Olympus}\n",
    )
    .unwrap();
    let out = sloburn(&["check", "--corrections", path, specs]);
    let text = stdout(&out)
        .replace(path, "<corrections>")
        .replace(specs, "<specs>");
    assert_eq!(out.status.code(), Some(1), "{text}");
    insta::assert_snapshot!("corrections_bad_entry", text);
}
