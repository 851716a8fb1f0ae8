//! Budget corrections (#16.1) end to end: five days of a service backfilled into a real
//! Prometheus and evaluated by `sloburn eval` (the real binary). 250 requests every 15 s, 1 of
//! them failing; a two-hour outage four days back (beyond the 3 days of minutes: coarse
//! buckets) fails 100 of them. The truth is counted below from the generator's own numbers:
//! a correction over exactly the outage gives the budget of the same service without it, and
//! excludes exactly the outage's events; a daily schedule over the outage's hours excludes
//! those hours of every day (minutes for the last 3 days, hours before).

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::time::Duration;

use engine::Sloburn;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, STEP, now_minute};
use support::eval::{series, sloburn_eval};
use support::prometheus::Prometheus;

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

#[test]
fn a_correction_over_a_known_outage_restores_the_budget_to_the_truth_without_it() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let start = end - 5 * DAY;
    let (o1, o2) = (start + DAY, start + DAY + 2 * HOUR);
    let outage = |t: i64| t > o1 && t <= o2;
    let mut b = Backfill::new(start, end);
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "200")],
        |t| if outage(t) { 150.0 } else { 249.0 },
        &[],
    );
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "500")],
        |t| if outage(t) { 100.0 } else { 1.0 },
        &[],
    );
    let prometheus = Prometheus::backfilled(&b);
    // The daily schedule: the outage's hours of the day, in UTC.
    let hh = (o1.rem_euclid(DAY)) / HOUR;
    let specs = format!(
        r#"
version: sloburn/v1
service: shop
slos:
  - name: raw
    objective: 99
    sli: &sli
      ratio:
        errors: http_requests_total{{job="shop",code="500"}}
        total: http_requests_total{{job="shop"}}
  - name: one-off
    objective: 99
    sli: *sli
    corrections:
      - name: outage
        reason: known outage of the payment provider
        from: {from}
        to: {to}
  - name: daily
    objective: 99
    sli: *sli
    corrections:
      - reason: nightly batch
        schedule: {{start: "{hh:02}:00", end: "{end_hh:02}:00", timezone: UTC}}
"#,
        from = rfc3339(o1),
        to = rfc3339(o2),
        end_hh = (hh + 2) % 24,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("specs.yaml");
    std::fs::write(&path, specs).unwrap();
    let at = end - MINUTE;
    let snapshot = sloburn_eval(&prometheus.url, at, &path).ok();

    // The truth: each sample after the first counts its 250 requests and its failures.
    let samples: Vec<i64> = (start + STEP..=at).step_by(STEP as usize).collect();
    let bad_of = |t: i64| if outage(t) { 100.0 } else { 1.0 };
    let sum = |keep: &dyn Fn(i64) -> bool| {
        samples
            .iter()
            .filter(|t| keep(**t))
            .fold((0.0, 0.0), |(bad, total), t| {
                (bad + bad_of(*t), total + 250.0)
            })
    };
    let remaining = |(bad, total): (f64, f64)| 1.0 - bad / total / 0.01;
    let close = |got: &serde_json::Value, want: f64| {
        let got = got.as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "sloburn {got}, truth {want}"
        );
    };

    // Without a correction: everything counts.
    let all = sum(&|_| true);
    let raw = series(&snapshot, "raw", None);
    close(&raw["period_total_events"], all.1);
    close(&raw["error_budget_remaining"], remaining(all));
    assert!(raw["corrections"].as_array().unwrap().is_empty());

    // Over exactly the outage: the service as if it had not happened.
    let without = sum(&|t| !outage(t));
    let one_off = series(&snapshot, "one-off", None);
    close(&one_off["period_total_events"], without.1);
    close(&one_off["period_good_events"], without.1 - without.0);
    close(&one_off["error_budget_remaining"], remaining(without));
    close(&one_off["period_excluded_total"], all.1 - without.1);
    close(&one_off["period_excluded_bad"], all.0 - without.0);
    let c = &one_off["corrections"][0];
    assert_eq!(c["resolution_seconds"], 3600, "{c}");
    assert_eq!(c["active"], false, "{c}");
    // The burn windows are not corrected: the same as the uncorrected SLO's.
    assert_eq!(one_off["windows"], raw["windows"]);

    // Daily from hh:00 to hh+2:00 UTC: a sample at t counts for the window of its day when
    // it lies in (window start, window end].
    let in_daily = |t: i64| {
        let a = (t - 1).div_euclid(DAY) * DAY + hh * HOUR;
        let a = if t - 1 < a { a - DAY } else { a };
        t > a && t <= a + 2 * HOUR
    };
    let kept = sum(&|t| !in_daily(t));
    let daily = series(&snapshot, "daily", None);
    close(&daily["period_excluded_total"], all.1 - kept.1);
    close(&daily["period_excluded_bad"], all.0 - kept.0);
    close(&daily["error_budget_remaining"], remaining(kept));
    let c = &daily["corrections"][0];
    assert_eq!(c["kind"], "recurring", "{c}");
    // Some of its days lie beyond the minutes: counted in coarse buckets.
    assert_eq!(c["resolution_seconds"], 3600, "{c}");
}

const SHOP: &str = r#"version: sloburn/v1
service: shop
slos:
  - name: checkout
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="shop",code="500"}
        total: http_requests_total{job="shop"}
"#;

/// A corrections file reloaded by a running `sloburn run`: adding a correction over a known
/// outage restores the budget and logs an audit line; a bad file is refused and the running
/// set kept; removing the correction gives the original numbers back.
#[test]
fn reloading_the_corrections_file_changes_the_budget_and_writes_audit_lines() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let start = end - 2 * DAY;
    let (o1, o2) = (end - 30 * HOUR, end - 28 * HOUR);
    let outage = |t: i64| t > o1 && t <= o2;
    let mut b = Backfill::new(start, end);
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "200")],
        |t| if outage(t) { 150.0 } else { 249.0 },
        &[],
    );
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "500")],
        |t| if outage(t) { 100.0 } else { 1.0 },
        &[],
    );
    let prometheus = Prometheus::backfilled(&b);
    // Every sample after the first, up to the end of the data (the run reads past it).
    let samples = ((end - STEP - start) / STEP) as f64;
    let outage_samples = ((o2 - o1) / STEP) as f64;
    let all = (samples * 1.0 + outage_samples * 99.0, samples * 250.0);
    let without = (samples - outage_samples, (samples - outage_samples) * 250.0);
    let remaining = |(bad, total): (f64, f64)| 1.0 - bad / total / 0.01;

    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("shop.yaml");
    std::fs::write(&specs, SHOP).unwrap();
    let corrections = dir.path().join("corrections.yaml");
    std::fs::write(&corrections, "corrections: []\n").unwrap();
    let state = dir.path().join("state");
    let args: Vec<String> = [
        "--spec",
        specs.to_str().unwrap(),
        "--corrections",
        corrections.to_str().unwrap(),
        "--prometheus-url",
        &prometheus.url,
        "--state-dir",
        state.to_str().unwrap(),
        "--evaluation-interval",
        "1s",
        "--query-lag",
        "0s",
        "--enable-reload",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let slo = [("service", "shop"), ("slo", "checkout")];
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: sloburn {got}, truth {want}"
        );
    };

    let m = sloburn.wait_metrics("fresh", Duration::from_secs(60), "slo_data_fresh", |m| {
        m.fresh("shop", "checkout") == Some(true)
    });
    close(
        m.value("slo_period_total_events", &slo),
        all.1,
        "total before",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        remaining(all),
        "budget before",
    );
    assert_eq!(m.get("slo_period_excluded_events", &slo), None);

    let entry = format!(
        "corrections:\n  - service: shop\n    slo: checkout\n    name: psp-outage\n    reason: payment provider down\n    from: {}\n    to: {}\n",
        rfc3339(o1),
        rfc3339(o2)
    );
    std::fs::write(&corrections, &entry).unwrap();
    let (status, body) = sloburn.post("/-/reload");
    assert_eq!(status, 200, "{body}");
    let m = sloburn.wait_metrics(
        "corrected",
        Duration::from_secs(30),
        "slo_period_excluded_events",
        |m| m.get("slo_period_excluded_events", &slo).is_some(),
    );
    close(
        m.value("slo_period_excluded_events", &slo),
        all.1 - without.1,
        "excluded",
    );
    close(
        m.value("slo_period_excluded_bad_events", &slo),
        all.0 - without.0,
        "excluded bad",
    );
    close(
        m.value("slo_period_total_events", &slo),
        without.1,
        "total corrected",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        remaining(without),
        "budget corrected",
    );
    assert_eq!(m.value("slo_correction_active", &slo), 0.0);
    let log = sloburn.log();
    assert!(
        log.contains("correction added: service=shop slo=checkout correction=\"psp-outage\" reason=\"payment provider down\""),
        "{}",
        sloburn.log_tail(20)
    );

    // A bad file: refused, the running corrections kept.
    std::fs::write(&corrections, entry.replace("from: ", "from: yesterday ")).unwrap();
    let (status, body) = sloburn.post("/-/reload");
    assert_ne!(status, 200, "{body}");
    assert!(
        body.contains("corrections.yaml") && body.contains("corrections[0].from"),
        "{body}"
    );
    let m = sloburn.metrics();
    assert_eq!(m.value("sloburn_config_last_reload_success", &[]), 0.0);
    close(
        m.value("slo_period_excluded_events", &slo),
        all.1 - without.1,
        "kept",
    );

    // Removed: the original numbers come back (the history was never rewritten).
    std::fs::write(&corrections, "corrections: []\n").unwrap();
    let (status, body) = sloburn.post("/-/reload");
    assert_eq!(status, 200, "{body}");
    let m = sloburn.wait_metrics(
        "uncorrected",
        Duration::from_secs(30),
        "slo_period_total_events",
        |m| m.get("slo_period_excluded_events", &slo).is_none(),
    );
    close(
        m.value("slo_period_total_events", &slo),
        all.1,
        "total after removal",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        remaining(all),
        "budget after removal",
    );
    assert!(
        sloburn
            .log()
            .contains("correction removed: service=shop slo=checkout correction=\"psp-outage\""),
        "{}",
        sloburn.log_tail(20)
    );
    sloburn.stop();
}
