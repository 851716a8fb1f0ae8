//! Ruler mode against the engine on the same data: the recording rules of `sloburn generate`,
//! evaluated by a real Prometheus over 30 backfilled days (the 5-minute slices evaluated at every
//! 5-minute step of the period, as a ruler would have recorded them), give the same
//! error ratios per window and the same remaining budget as `sloburn eval`, within the engine's
//! tolerance (2% relative per window, 0.005 absolute for the budget).

mod support;

use std::process::Command;

use serde_json::Value;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute, scenario};
use support::eval::sloburn_eval;
use support::prometheus::Prometheus;

const SPECS: &str = r#"
version: sloburn/v1
service: cross
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
  - name: routes
    objective: 90
    group_by: [route]
    sli:
      ratio:
        errors: http_requests_total{job="grouped",code="500"}
        total: http_requests_total{job="grouped"}
  - name: latency
    objective: 95
    sli:
      latency:
        histogram: http_request_duration_seconds{job="lat"}
        threshold: 0.3
"#;

fn sloburn(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(args)
        .output()
        .expect("run sloburn")
}

/// The group label value of a result or snapshot series (`""` when ungrouped).
fn route_of(labels: &Value) -> String {
    match labels {
        Value::Object(m) => m
            .get("route")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Value::Array(pairs) => pairs
            .first()
            .and_then(|p| p[1].as_str())
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruler_rules_agree_with_the_engine() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::thirty_days(end);
    scenario::steady(&mut b, "steady");
    let incident = b.end() - 3 * DAY + 5 * HOUR;
    scenario::incident(&mut b, "incident", incident, 20 * MINUTE);
    scenario::grouped(&mut b, "grouped");
    let slow = vec![(b.end() - 2 * DAY, b.end() - 2 * DAY + 30 * MINUTE)];
    scenario::latency(&mut b, "lat", &slow);
    let prometheus = Prometheus::backfilled(&b);
    let at = b.end() - 10 * MINUTE;

    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let rules = dir.path().join("rules.yml");
    let out = sloburn(&[
        "generate",
        specs.to_str().unwrap(),
        "-o",
        rules.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: Value = serde_saphyr::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    let groups = file["groups"].as_array().unwrap();

    // The slice rules as a ruler records them every 5 minutes, summed over the period: each
    // slice expression is evaluated at 5-minute steps by a subquery, which is what 30 days of
    // recorded slices hold. (promtool's rule backfiller evaluates slices at instants whose 5m
    // ranges hold 19 scrape intervals, so increase() extrapolates each by 20/19: on this
    // perfectly periodic data that biases the error ratio by +5%. A live ruler, evaluating at
    // unaligned instants, extrapolates the same way; the engine queries aligned ranges.)
    let slice_expr = |slo: &str, record: &str| -> String {
        groups
            .iter()
            .filter(|g| g["name"] == format!("sloburn-cross-{slo}-slices"))
            .flat_map(|g| g["rules"].as_array().unwrap())
            .find(|r| r["record"] == record)
            .unwrap_or_else(|| panic!("no {record} for {slo}"))["expr"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // The engine's numbers at the same instant.
    let engine = sloburn_eval(&prometheus.url, at, &specs).ok();

    let rule_expr = |slo: &str, record: &str, window: Option<&str>| -> String {
        groups
            .iter()
            .filter(|g| g["name"] == format!("sloburn-cross-{slo}"))
            .flat_map(|g| g["rules"].as_array().unwrap())
            .find(|r| r["record"] == record && window.is_none_or(|w| r["labels"]["window"] == w))
            .unwrap_or_else(|| panic!("no {record} {window:?} for {slo}"))["expr"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut compared = 0;
    for s in engine["slos"].as_array().unwrap() {
        let slo = s["slo"].as_str().unwrap();
        let route = route_of(&s["group"]);
        let pick = |result: &Value| -> Option<f64> {
            result["result"]
                .as_array()?
                .iter()
                .find(|r| route_of(&r["metric"]) == route)
                .and_then(|r| r["value"][1].as_str()?.parse().ok())
        };
        for w in s["windows"].as_array().unwrap() {
            let window = w["window"].as_str().unwrap();
            // The window's event-count rules, then the ratio rule's guard (0 without traffic).
            let bad = pick(
                &prometheus
                    .query(&rule_expr(slo, "slo:bad_events:window", Some(window)), at)
                    .await,
            )
            .unwrap_or(0.0);
            let total = pick(
                &prometheus
                    .query(&rule_expr(slo, "slo:total_events:window", Some(window)), at)
                    .await,
            )
            .unwrap_or(0.0);
            assert!(rule_expr(slo, "slo_error_ratio", Some(window)).contains("> 0) or"));
            let ruler = if total > 0.0 { bad / total } else { 0.0 };
            let eng = w["error_ratio"].as_f64().unwrap();
            assert!(
                (ruler - eng).abs() <= 0.02 * ruler.max(eng).max(1e-4),
                "{slo}{{{route}}} window {window}: ruler {ruler} vs engine {eng}"
            );
            compared += 1;
        }
        // The period: the slices summed over 30 days, weighted by events, as the generated
        // `slo_period_error_ratio` rule sums the recorded ones.
        let period_rule = rule_expr(slo, "slo:bad_events:period", None);
        assert!(
            period_rule.contains("sum_over_time(slo:bad_events:slice5m"),
            "{period_rule}"
        );
        let sum = |record: &str| format!("sum_over_time(({})[30d:5m])", slice_expr(slo, record));
        let expr = format!(
            "{} / ({} > 0)",
            sum("slo:bad_events:slice5m"),
            sum("slo:total_events:slice5m")
        );
        let period_ratio = pick(&prometheus.query(&expr, at).await).expect("period error ratio");
        let budget = 1.0 - s["objective"].as_f64().unwrap();
        let ruler_remaining = 1.0 - period_ratio / budget;
        let eng = s["error_budget_remaining"].as_f64().unwrap();
        assert!(
            (ruler_remaining - eng).abs() <= 0.005,
            "{slo}{{{route}}}: ruler remaining {ruler_remaining} vs engine {eng}"
        );
        eprintln!("{slo}{{{route}}}: remaining ruler {ruler_remaining:.5} engine {eng:.5}");
    }
    assert!(compared >= 6 * 7, "compared only {compared} windows");

    // What the rules of one SLO cost the ruler per evaluation: samples read by each expression
    // (Prometheus's stats=all). Printed for the record (`--nocapture`), and sanity-checked.
    let mut total = 0u64;
    for g in groups.iter().filter(|g| {
        g["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("sloburn-cross-steady"))
    }) {
        for r in g["rules"].as_array().unwrap() {
            let (_, samples) = prometheus
                .query_with_stats(r["expr"].as_str().unwrap(), at)
                .await;
            let name = r["record"].as_str().or(r["alert"].as_str()).unwrap_or("?");
            eprintln!(
                "samples read {samples:>9}  {name} {}",
                r["labels"]["window"].as_str().unwrap_or("")
            );
            total += samples;
        }
    }
    eprintln!("one ratio SLO, all its ruler rules, one evaluation: {total} samples read");
    assert!(total > 0);
}
