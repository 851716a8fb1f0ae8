//! #15.2 on the engine's side: a latency SLO's threshold bucket is read in every `le` spelling,
//! by `sloburn eval` and by `sloburn run`'s steady ticks, on a real Prometheus.
//!
//! Four targets' histograms (threshold 5 s), 100 requests per 15 s sample of which 10 are slower
//! than 5 s, so every window's error ratio is exactly 0.1:
//! - `job="go"` writes `le="5"` (Go clients, kept so by Prometheus 2);
//! - `job="java"` writes `le="5.0"` (Java and Python clients; Prometheus 3 writes every `le` so);
//! - the SLO `both` reads the two together, both spellings at the same instant;
//! - `job="upgraded"` writes `le="5"` until 3 h ago and `le="5.0"` since (Prometheus upgraded
//!   to 3): the same counter under a new name. The one sample interval across the switch is
//!   lost, as it is to `increase()`: windows holding it read 90 more bad events.

mod support;

#[path = "support/engine.rs"]
mod engine;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::backfill::{Backfill, CounterOpts, HOUR, Kind, MINUTE, STEP, Schedule, now_minute};
use support::eval::sloburn_eval;
use support::prometheus::Prometheus;

const SPEC: &str = r#"
version: sloburn/v1
service: spell
slos:
  - name: go
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job="go"}', threshold: 5}}
  - name: java
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job="java"}', threshold: 5}}
  - name: both
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job=~"go|java"}', threshold: 5}}
  - name: upgraded
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job="upgraded"}', threshold: 5}}
"#;

const PER_SAMPLE: f64 = 100.0;
const FAST_PER_SAMPLE: f64 = 90.0;

/// One histogram series sampled every 15 s on `schedule`, counting `per_sample` events a sample.
fn series(
    b: &mut Backfill,
    schedule: &Schedule,
    name: &str,
    labels: &[(&str, &str)],
    start_value: f64,
    per_sample: f64,
) {
    let opts = CounterOpts {
        start_value,
        ..CounterOpts::default()
    };
    b.counter_on(
        Kind::Histogram,
        schedule,
        name,
        labels,
        &opts,
        move |_, _| per_sample,
    );
}

/// 6 hours up to 10 minutes from now (so `run`'s ticks find their samples).
fn history(switch: i64) -> Backfill {
    let end = now_minute() + 10 * MINUTE;
    let mut b = Backfill::new(end - 6 * HOUR, end);
    let every = Schedule::every(STEP);
    let bucket = "http_request_duration_seconds_bucket";
    for (job, le) in [("go", "5"), ("java", "5.0")] {
        series(
            &mut b,
            &every,
            bucket,
            &[("job", job), ("le", le)],
            0.0,
            FAST_PER_SAMPLE,
        );
    }
    let before = every.clone().until(switch - STEP);
    let after = every.clone().from(switch);
    series(
        &mut b,
        &before,
        bucket,
        &[("job", "upgraded"), ("le", "5")],
        0.0,
        FAST_PER_SAMPLE,
    );
    // The counter goes on under its new name: at the switch it has counted one sample more.
    let counted = ((switch - b.start()) / STEP) as f64 * FAST_PER_SAMPLE;
    series(
        &mut b,
        &after,
        bucket,
        &[("job", "upgraded"), ("le", "5.0")],
        counted,
        FAST_PER_SAMPLE,
    );
    for (job, le) in [("go", "+Inf"), ("java", "+Inf"), ("upgraded", "+Inf")] {
        series(
            &mut b,
            &every,
            bucket,
            &[("job", job), ("le", le)],
            0.0,
            PER_SAMPLE,
        );
    }
    for job in ["go", "java", "upgraded"] {
        series(
            &mut b,
            &every,
            "http_request_duration_seconds_count",
            &[("job", job)],
            0.0,
            PER_SAMPLE,
        );
    }
    b
}

/// Every SLO of a snapshot reads 10% errors in every window (within the one lost interval of
/// `upgraded`); the failures, one line each.
fn check(snapshot: &Value, when: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for name in ["go", "java", "both", "upgraded"] {
        let Some(s) = snapshot["slos"]
            .as_array()
            .and_then(|slos| slos.iter().find(|s| s["slo"] == name))
        else {
            failures.push(format!("{when}: {name} not in the snapshot"));
            continue;
        };
        let windows = s["windows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if windows.is_empty() {
            failures.push(format!("{when}: {name} has no windows: {s}"));
        }
        for w in windows {
            let (bad, total) = (w["bad"].as_f64(), w["total"].as_f64());
            let ok = match (bad, total) {
                (Some(bad), Some(total)) if total > 0.0 => {
                    let slack = if name == "upgraded" { PER_SAMPLE } else { 1e-6 };
                    bad >= 0.1 * total - 1e-6 && bad <= 0.1 * total + slack
                }
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{when}: {name} window {}: bad/total {}/{}, want 10% errors",
                    w["window"], w["bad"], w["total"]
                ));
            }
        }
    }
    failures
}

#[test]
fn the_threshold_bucket_is_read_in_every_spelling_by_eval_and_run() {
    let switch = now_minute() - 3 * HOUR;
    let b = history(switch);
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPEC).unwrap();

    let mut failures = check(
        &sloburn_eval(&prometheus.url, now_minute() - MINUTE, &specs).ok(),
        "eval",
    );

    // `run`: its first tick reads the history, the later ones share reads (batches by `job`).
    let mut sloburn = engine::Sloburn::start_with_spec(&prometheus.url, SPEC, dir.path());
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "only {} ticks in 90 s\n{}",
            ticks.len(),
            sloburn.log_tail(30)
        );
        let (status, body) = sloburn.get("/api/v1/slos");
        let snapshot: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if let (200, Some(at)) = (status, snapshot["evaluated_at"].as_f64())
            && ticks.last() != Some(&at)
        {
            failures.extend(check(&snapshot, &format!("run tick {}", ticks.len())));
            ticks.push(at);
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
