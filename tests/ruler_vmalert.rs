//! Ruler mode on VictoriaMetrics: the rules of `sloburn generate`, run by `vmalert` (Debian
//! package `victoria-metrics`) against a real VictoriaMetrics.
//!
//! - Every rule file sloburn generates for the example specs (both modes) passes
//!   `vmalert -dryRun`, which parses each expression as MetricsQL and checks the templates.
//! - vmalert evaluating the ruler-mode rules over backfilled data (an outage in progress on one
//!   SLO, clean traffic on another; data written up to 15 minutes ahead, so the outage goes on
//!   while vmalert runs) fires the 1h/5m page of the burning SLO and no alert of the clean one,
//!   and what it recorded through remote write equals the truth. With VictoriaMetrics' defaults
//!   a query for an instant within 30 s of now is answered as of 30 s earlier
//!   (`-search.latencyOffset`), and every rule that reads a series an earlier rule recorded
//!   waits for that (and the remote-write flush): the page fires about a minute and a half after
//!   vmalert starts, against one evaluation on Prometheus. The time is printed.
//! - The generated window expressions on VictoriaMetrics equal the truth exactly at any instant
//!   (its `increase()` starts from the last sample before the range and never extrapolates);
//!   on Prometheus they are exact when the range starts on a sample and extrapolate otherwise
//!   (by up to a scrape interval over the range): measured and bounded below.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, STEP, now_minute, scenario};
use support::prometheus::Prometheus;
use support::victoria::{Victoria, Vmalert, vmalert_dry_run};

const SPECS: &str = r#"
version: sloburn/v1
service: vm
slos:
  - name: steady
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="steady",code="500"}
        total: http_requests_total{job="steady"}
  - name: incident
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="incident",code="500"}
        total: http_requests_total{job="incident"}
"#;

/// `sloburn generate --mode <mode> <specs> -o <out>`; panics with its output on failure.
fn generate(specs: &Path, mode: &str, out: &Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(["generate", "--mode", mode])
        .arg(specs)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run sloburn generate");
    assert!(
        run.status.success(),
        "sloburn generate --mode {mode} {}: {}",
        specs.display(),
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn vmalert_accepts_every_generated_rule_file() {
    let dir = tempfile::tempdir().unwrap();
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("slo-specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&specs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "example specs: {files:?}");
    let mut checked = 0;
    for spec in &files {
        let name = spec.file_stem().unwrap().to_string_lossy().to_string();
        for mode in ["ruler", "engine"] {
            // A calendar month cannot be written in PromQL: ruler mode refuses it (tested in
            // tests/generate.rs).
            if mode == "ruler" && name == "calendar-month" {
                continue;
            }
            let rules = dir.path().join(format!("{name}-{mode}.yml"));
            generate(spec, mode, &rules);
            let (ok, output) = vmalert_dry_run(&rules);
            assert!(ok, "vmalert -dryRun refused {}:\n{output}", rules.display());
            checked += 1;
        }
    }
    // A file vmalert refuses is refused: the check can fail.
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n- name: x\n  rules:\n  - record: a\n    expr: sum(rate(x[5m])\n",
    )
    .unwrap();
    assert!(!vmalert_dry_run(&bad).0);
    eprintln!("vmalert -dryRun accepted {checked} generated rule files");
}

/// The `(labels, state)` of vmalert's alerts (`/api/v1/alerts`).
fn alerts(vmalert: &Vmalert) -> Vec<(Value, String)> {
    let (status, body) = engine::http_request(
        "GET",
        &format!("{}/api/v1/alerts", vmalert.url),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("vmalert /api/v1/alerts: {e}"));
    assert_eq!(status, 200, "{body:.500}");
    let json: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:.300}"));
    assert_eq!(json["status"], "success", "{body:.500}");
    // `null` while there is no alert.
    json["data"]["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a["labels"].clone(),
                a["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vmalert_pages_for_the_burning_slo_only_and_records_the_truth() {
    let now = now_minute();
    let end = now + 15 * MINUTE;
    let mut b = Backfill::new(end - DAY, end);
    scenario::steady(&mut b, "steady");
    let outage = now - 30 * MINUTE;
    scenario::incident(&mut b, "incident", outage, 45 * MINUTE);
    let vm = Victoria::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let rules = dir.path().join("rules.yml");
    generate(&specs, "ruler", &rules);

    let started = Instant::now();
    let mut vmalert = Vmalert::start(&vm, &rules, "5s", dir.path());
    let is_page = |labels: &Value, slo: &str| {
        labels["alertname"] == "SLOErrorBudgetBurn"
            && labels["slo"] == slo
            && labels["severity"] == "page"
            && labels["long_window"] == "1h"
    };
    let deadline = started + Duration::from_secs(240);
    let fired = loop {
        assert!(
            vmalert.is_running(),
            "vmalert exited\n{}",
            vmalert.log_tail(30)
        );
        let now_alerts = alerts(&vmalert);
        if now_alerts
            .iter()
            .any(|(l, state)| is_page(l, "incident") && state == "firing")
        {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "the 1h/5m page of vm/incident did not fire within 240 s; alerts: {now_alerts:?}\n\
             --- vmalert log ---\n{}",
            vmalert.log_tail(30)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("vmalert fired the 1h/5m page {fired:?} after it started");
    let all = alerts(&vmalert);
    let steady: Vec<_> = all.iter().filter(|(l, _)| l["slo"] == "steady").collect();
    assert!(steady.is_empty(), "the clean SLO alerts: {steady:?}");

    // What vmalert recorded (remote write into VictoriaMetrics): the window rules' event counts
    // at their own timestamps against the truth. Read raw, so nothing is re-evaluated.
    vm.force_flush();
    let mut compared = 0;
    for (record, code) in [
        ("slo:bad_events:window", Some("500")),
        ("slo:total_events:window", None),
    ] {
        for window in ["5m", "1h"] {
            let secs = if window == "5m" { 5 * MINUTE } else { HOUR };
            let selector =
                format!(r#"{record}{{service="vm",slo="incident",window="{window}"}}[10m]"#);
            let recorded = vm
                .raw_samples(&selector, chrono::Utc::now().timestamp_millis())
                .await;
            assert_eq!(recorded.len(), 1, "{selector}: {recorded:?}");
            for &(t_ms, value) in &recorded[0].1 {
                let t = t_ms.div_euclid(1000);
                // VictoriaMetrics answers a query for an instant within 30 s of its clock as of
                // 30 s before its clock: the value is the exact truth at an instant up to 35 s
                // before the evaluation's timestamp.
                let mut m = vec![("job", "incident")];
                if let Some(code) = code {
                    m.push(("code", code));
                }
                let truth_at = |at: i64| b.events("http_requests_total", &m, at - secs, at);
                let candidates: Vec<f64> = (t - 35..=t).map(truth_at).collect();
                assert!(
                    candidates.iter().any(|&want| (value - want).abs() < 1e-9),
                    "{record} {window} at {t}: recorded {value}, truth over the 35 s before: \
                     {candidates:?}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 4, "compared {compared} recorded samples");
    eprintln!("{compared} recorded window samples equal the truth");
}

/// The generated window expressions at instants on and off the samples (every 15 s): exact on
/// VictoriaMetrics at both; exact on Prometheus on a sample, off by its extrapolation between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_rules_are_exact_on_victoriametrics_and_extrapolate_on_prometheus() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::new(end - DAY, end);
    scenario::steady(&mut b, "steady");
    let outage = end - 3 * HOUR;
    scenario::incident(&mut b, "incident", outage, 20 * MINUTE);
    let vm = Victoria::backfilled(&b);
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let rules = dir.path().join("rules.yml");
    generate(&specs, "ruler", &rules);
    let file: Value = serde_saphyr::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for g in file["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let record = r["record"].as_str().unwrap_or("");
            if record == "slo:bad_events:window" || record == "slo:total_events:window" {
                exprs.push((
                    r["labels"]["slo"].as_str().unwrap().to_string(),
                    record.to_string(),
                    r["labels"]["window"].as_str().unwrap().to_string(),
                    r["expr"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(exprs.len(), 2 * 2 * 7, "window rules: {exprs:?}");
    let secs = |w: &str| match w {
        "5m" => 5 * MINUTE,
        "30m" => 30 * MINUTE,
        "1h" => HOUR,
        "2h" => 2 * HOUR,
        "6h" => 6 * HOUR,
        "1d" => DAY,
        "3d" => 3 * DAY,
        other => panic!("window {other}"),
    };
    let mut worst_prometheus: f64 = 0.0;
    let mut checked = 0;
    // On a sample instant, then 7 s after one (half-way to the next), during and after the outage.
    for base in [outage + 10 * MINUTE, end - 10 * MINUTE] {
        for offset in [0, 7] {
            let at = base + offset;
            for (slo, record, window, expr) in &exprs {
                let w = secs(window);
                // The 1d and 3d windows reach before the data: both stores and the truth
                // count from its first sample.
                let mut m = vec![("job", slo.as_str())];
                if record.contains("bad") {
                    m.push(("code", "500"));
                }
                let truth = b.events("http_requests_total", &m, at - w, at);
                let on_vm = vm.query_scalar(expr, at).await.unwrap_or(0.0);
                assert!(
                    (on_vm - truth).abs() <= 1e-9 * truth.max(1.0),
                    "VictoriaMetrics {slo} {record} {window} at {at} (+{offset} s): {on_vm} vs \
                     truth {truth}"
                );
                let on_prometheus = prometheus.query_scalar(expr, at).await.unwrap_or(0.0);
                let off = (on_prometheus - truth).abs();
                if offset == 0 && w < DAY {
                    assert!(
                        off <= 1e-9 * truth.max(1.0),
                        "Prometheus {slo} {record} {window} at a sample instant {at}: \
                         {on_prometheus} vs truth {truth}"
                    );
                } else if w < DAY {
                    // The range holds one sample fewer than the truth counts increments into;
                    // Prometheus scales the rest by w / (w - 15 s): off by at most that share
                    // of the truth plus the increments of two samples (150 requests each).
                    let per_sample = scenario::REQUESTS_PER_STEP as f64;
                    assert!(
                        off <= truth * STEP as f64 / (w - STEP) as f64 + 2.0 * per_sample,
                        "Prometheus {slo} {record} {window} at {at}: {on_prometheus} vs truth \
                         {truth}: off by {off}"
                    );
                    eprintln!(
                        "off the sample grid: {slo} {record} {window}: Prometheus {on_prometheus:.3}, \
                         VictoriaMetrics {on_vm}, truth {truth}"
                    );
                    worst_prometheus = worst_prometheus.max(off / truth.max(1.0));
                }
                checked += 1;
            }
        }
    }
    eprintln!(
        "{checked} window expressions: VictoriaMetrics exact; Prometheus off the sample grid by \
         up to {:.3} % (its extrapolation)",
        worst_prometheus * 100.0
    );
    assert!(
        worst_prometheus > 0.0,
        "Prometheus extrapolates between samples: a difference was expected"
    );
}
