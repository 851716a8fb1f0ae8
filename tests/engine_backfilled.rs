//! The engine's numbers against ground truth: 30 days of synthetic data whose true counts the
//! test knows, backfilled into a real Prometheus, evaluated by `sloburn eval` (the real binary).
//!
//! - remaining budget within 0.005 (absolute) of the truth, for every SLO and group;
//! - every burn rate within 2% (relative) of Prometheus's own increase(bad[w]) / increase(total[w])
//!   divided by the budget, at the same instant;
//! - alert states at chosen instants equal what the workbook rules give for the known data.

mod support;

use serde_json::Value;
use support::backend::{Backend, Source};
use support::backfill::scenario;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute};
use support::eval::{series, sloburn_eval};
use support::prometheus::{Prometheus, QueryApi};

const SPECS: &str = r#"
version: sloburn/v1
service: synthetic
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
  - name: reset
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="reset",code="500"}
        total: http_requests_total{job="reset"}
  - name: quiet
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="quiet",code="500"}
        total: http_requests_total{job="quiet"}
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
  - name: saturation
    objective: 99.9
    sli:
      threshold:
        query: max(pool_utilisation{job="sat"})
        op: "<"
        value: 0.8
        slice: 1m
---
version: prometheus/v1
service: sloth
slos:
  - name: steady-events
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="steady",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="steady"}[{{.window}}]))
"#;

struct Fixture {
    b: Backfill,
    incident_from: i64,
    slow: Vec<(i64, i64)>,
    hot: Vec<(i64, i64)>,
}

fn build() -> Fixture {
    // End the data two hours ago, on an hour boundary, so every instant evaluated is inside it.
    let end = (now_minute() / HOUR) * HOUR - 2 * HOUR;
    let mut b = Backfill::thirty_days(end);
    let incident_from = scenario::incident_at(&b);
    scenario::steady(&mut b, "steady");
    scenario::incident(&mut b, "incident", incident_from, 10 * MINUTE);
    let reset_at = scenario::reset_at(&b);
    scenario::counter_reset(&mut b, "reset", reset_at);
    let quiet_at = scenario::quiet_at(&b);
    scenario::zero_traffic(&mut b, "quiet", quiet_at);
    scenario::grouped(&mut b, "grouped");
    let slow = vec![(b.end() - 2 * DAY, b.end() - 2 * DAY + 30 * MINUTE)];
    scenario::latency(&mut b, "lat", &slow);
    let hot = scenario::hot_windows(&b);
    scenario::saturation(&mut b, "sat", &hot);
    Fixture {
        b,
        incident_from,
        slow,
        hot,
    }
}

/// True (bad, total) in (a, b] for an SLO of the fixture, by kind.
fn truth(f: &Fixture, slo: &str, group: Option<&str>, a: i64, b: i64) -> (f64, f64) {
    let b_ = &f.b;
    let ratio = |job: &str, extra: &[(&str, &str)]| {
        let mut errs = vec![("job", job), ("code", "500")];
        errs.extend_from_slice(extra);
        let mut all = vec![("job", job)];
        all.extend_from_slice(extra);
        (
            b_.events("http_requests_total", &errs, a, b),
            b_.events("http_requests_total", &all, a, b),
        )
    };
    match slo {
        "steady" | "steady-events" => ratio("steady", &[]),
        "incident" => ratio("incident", &[]),
        "reset" => ratio("reset", &[]),
        "quiet" => ratio("quiet", &[]),
        "routes" => ratio("grouped", &[("route", group.unwrap())]),
        "latency" => {
            let total = b_.events(
                "http_request_duration_seconds_count",
                &[("job", "lat")],
                a,
                b,
            );
            let good = b_.events(
                "http_request_duration_seconds_bucket",
                &[("job", "lat"), ("le", "0.3")],
                a,
                b,
            );
            (total - good, total)
        }
        "saturation" => {
            // One slice per minute mark with data: bad when the gauge is at or above 0.8.
            let id = b_.find("pool_utilisation", &[("job", "sat")])[0];
            let (mut bad, mut total) = (0.0, 0.0);
            let mut m = (a / MINUTE + 1) * MINUTE;
            while m <= b {
                if m >= b_.start()
                    && let Some(v) = b_.value_at(id, m)
                {
                    total += 1.0;
                    if v >= 0.8 {
                        bad += 1.0;
                    }
                }
                m += MINUTE;
            }
            let _ = &f.hot;
            (bad, total)
        }
        other => panic!("unknown SLO {other}"),
    }
}

fn objective(slo: &str) -> f64 {
    match slo {
        "incident" | "saturation" => 0.999,
        "routes" => 0.90,
        "latency" => 0.95,
        _ => 0.995,
    }
}

const ALL: [(&str, Option<&str>); 10] = [
    ("steady", None),
    ("steady-events", None),
    ("incident", None),
    ("reset", None),
    ("quiet", None),
    ("routes", Some("/home")),
    ("routes", Some("/search")),
    ("routes", Some("/pay")),
    ("latency", None),
    ("saturation", None),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_burn_rates_and_alerts_match_the_truth_and_prometheus() {
    budgets_burn_rates_and_alerts(Backend::Prometheus).await;
}

/// The same on a real VictoriaMetrics: the engine against the truth, and against VM's own
/// `increase()` (which does not extrapolate: it starts from the last sample before the window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_burn_rates_and_alerts_match_the_truth_and_victoriametrics() {
    budgets_burn_rates_and_alerts(Backend::VictoriaMetrics).await;
}

async fn budgets_burn_rates_and_alerts(backend: Backend) {
    let f = build();
    let prometheus = Source::backfilled(backend, &f.b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();

    // Instants: the end of the data, during and after the incident, during the slow half hour.
    let at_end = f.b.end() - MINUTE;
    let during = f.incident_from + 5 * MINUTE;
    let just_after = f.incident_from + 20 * MINUTE;
    let later = f.incident_from + 50 * MINUTE;
    let slow = f.slow[0].0 + 20 * MINUTE;
    for at in [at_end, during, just_after, later, slow] {
        let snapshot = sloburn_eval(&prometheus.url, at, &specs).ok();
        for (slo, group) in ALL {
            let s = series(&snapshot, slo, group);
            let budget = 1.0 - objective(slo);
            // Remaining budget against the truth over the 30d period ending at `at`.
            let (bad, total) = truth(&f, slo, group, at - 30 * DAY, at);
            let want = 1.0 - (if total > 0.0 { bad / total } else { 0.0 }) / budget;
            let got = s["error_budget_remaining"].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.005,
                "{slo} {group:?} at {at}: remaining {got} vs truth {want} (bad {bad} of {total})"
            );
            assert_eq!(s["fresh"], true, "{slo} {group:?}");
            // Burn rates against the truth and against Prometheus's own answer.
            for w in s["windows"].as_array().unwrap() {
                let secs = w["seconds"].as_f64().unwrap() as i64;
                let got = w["burn_rate"].as_f64().unwrap();
                let (bad, total) = truth(&f, slo, group, at - secs, at);
                let true_burn = if total > 0.0 {
                    bad / total / budget
                } else {
                    0.0
                };
                assert!(
                    (got - true_burn).abs() <= 0.02 * true_burn.max(0.05),
                    "{slo} {group:?} at {at}: burn({}) {got} vs truth {true_burn}",
                    w["window"]
                );
                if let Some(prom) =
                    prometheus_burn(&prometheus, slo, group, &w["window"], at, budget).await
                {
                    assert!(
                        (got - prom).abs() <= 0.02 * prom.max(0.05),
                        "{slo} {group:?} at {at}: burn({}) {got} vs {backend:?} {prom}",
                        w["window"]
                    );
                }
            }
            // Alert states: the workbook rule on the true burn rates.
            for a in s["alerts"].as_array().unwrap() {
                let thr = a["threshold"].as_f64().unwrap();
                let burn = |label: &Value| {
                    let w = s["windows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|w| w["window"] == *label)
                        .unwrap();
                    let secs = w["seconds"].as_f64().unwrap() as i64;
                    let (bad, total) = truth(&f, slo, group, at - secs, at);
                    if total > 0.0 {
                        bad / total / budget
                    } else {
                        0.0
                    }
                };
                let want = burn(&a["long_window"]) > thr && burn(&a["short_window"]) > thr;
                assert_eq!(a["active"], want, "{slo} {group:?} at {at}: {a}");
            }
        }
        // The known incident: a 10-minute outage on a 99.9% SLO pages while it lasts.
        let page_fast = |snap: &Value| {
            series(snap, "incident", None)["alerts"][0]["active"]
                .as_bool()
                .unwrap()
        };
        if at == during {
            assert!(
                page_fast(&snapshot),
                "the outage must page (1h/5m) while it lasts"
            );
        }
        if at == later {
            assert!(
                !page_fast(&snapshot),
                "the 1h/5m page must clear once the 5m window is clean"
            );
        }
    }
}

/// Source requests of one `sloburn eval` (every outcome).
fn requests(snapshot: &Value) -> u64 {
    snapshot["engine"]["source_requests_total"]
        .as_object()
        .map_or(0, |o| o.values().filter_map(Value::as_u64).sum())
}

/// A cold start reads the SLOs that share a metric family together, as steady ticks do: three
/// SLOs over `http_requests_total` (each pinning its own `job`, with an outage and a quiet hour
/// among them) cost no more requests than one of them, and each keeps its own numbers. Before
/// shared backfills each SLO sent its own ~28 requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_reads_slos_of_one_family_together() {
    let f = build();
    let prometheus = Prometheus::backfilled(&f.b);
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.yaml");
    let three = dir.path().join("three.yaml");
    // The first three SLOs of SPECS: steady, incident, quiet (reset's counters restart, so its
    // exact reads of that hour would rightly cost requests of their own).
    let slo = |name: &str, objective: f64| {
        format!(
            "  - name: {name}\n    objective: {objective}\n    sli:\n      ratio:\n        errors: \
             http_requests_total{{job=\"{name}\",code=\"500\"}}\n        total: \
             http_requests_total{{job=\"{name}\"}}\n"
        )
    };
    let head = "version: sloburn/v1\nservice: synthetic\nslos:\n";
    std::fs::write(&one, format!("{head}{}", slo("steady", 99.5))).unwrap();
    std::fs::write(
        &three,
        format!(
            "{head}{}{}{}",
            slo("steady", 99.5),
            slo("incident", 99.9),
            slo("quiet", 99.5)
        ),
    )
    .unwrap();
    let at = f.incident_from + 5 * MINUTE;
    let alone = sloburn_eval(&prometheus.url, at, &one).ok();
    let together = sloburn_eval(&prometheus.url, at, &three).ok();
    assert_eq!(
        requests(&together),
        requests(&alone),
        "three SLOs of one family must cost the requests of one: {:#} vs {:#}",
        together["engine"]["source_requests_total"],
        alone["engine"]["source_requests_total"]
    );
    for name in ["steady", "incident", "quiet"] {
        let s = series(&together, name, None);
        let (bad, total) = truth(&f, name, None, at - 30 * DAY, at);
        let budget = 1.0 - objective(name);
        let want = 1.0 - bad / total / budget;
        let got = s["error_budget_remaining"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 0.005,
            "{name}: remaining {got} vs truth {want}"
        );
    }
    assert!(
        series(&together, "incident", None)["alerts"][0]["active"] == true,
        "the outage pages when read together"
    );

    // Read together, SLOs whose matchers differ over the same series each get their own exact
    // share: two over counters that reset inside the period (`=~` and `!=` beside `=`), two
    // latency thresholds on one histogram, and a grouped SLO of the same family.
    let mixed = dir.path().join("mixed.yaml");
    std::fs::write(
        &mixed,
        r#"
version: sloburn/v1
service: synthetic
slos:
  - name: reset
    objective: 99.5
    sli: {ratio: {errors: 'http_requests_total{job="reset",code="500"}', total: 'http_requests_total{job="reset"}'}}
  - name: reset-5xx
    objective: 99.5
    sli: {ratio: {errors: 'http_requests_total{job="reset",code=~"5.."}', total: 'http_requests_total{job="reset",code!="404"}'}}
  - name: routes
    objective: 90
    group_by: [route]
    sli: {ratio: {errors: 'http_requests_total{job="grouped",code="500"}', total: 'http_requests_total{job="grouped"}'}}
  - name: latency
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job="lat"}', threshold: 0.3}}
  - name: latency-1s
    objective: 95
    sli: {latency: {histogram: 'http_request_duration_seconds{job="lat"}', threshold: 1}}
"#,
    )
    .unwrap();
    let at = f.b.end() - MINUTE;
    let snapshot = sloburn_eval(&prometheus.url, at, &mixed).ok();
    let (from, to) = (at - 30 * DAY, at);
    let lat_1s = {
        let total = f.b.events(
            "http_request_duration_seconds_count",
            &[("job", "lat")],
            from,
            to,
        );
        let good = f.b.events(
            "http_request_duration_seconds_bucket",
            &[("job", "lat"), ("le", "1")],
            from,
            to,
        );
        (total - good, total)
    };
    let cases = [
        ("reset", None, truth(&f, "reset", None, from, to)),
        ("reset-5xx", None, truth(&f, "reset", None, from, to)),
        (
            "routes",
            Some("/home"),
            truth(&f, "routes", Some("/home"), from, to),
        ),
        (
            "routes",
            Some("/pay"),
            truth(&f, "routes", Some("/pay"), from, to),
        ),
        ("latency", None, truth(&f, "latency", None, from, to)),
        ("latency-1s", None, lat_1s),
    ];
    for (name, group, (bad, total)) in cases {
        let s = series(&snapshot, name, group);
        let got = (
            s["period_total_events"].as_f64().unwrap() - s["period_good_events"].as_f64().unwrap(),
            s["period_total_events"].as_f64().unwrap(),
        );
        assert!(
            (got.0 - bad).abs() < 1e-6 && (got.1 - total).abs() < 1e-6,
            "{name} {group:?}: bad/total {got:?} vs truth {bad}/{total}"
        );
    }
    assert!(
        lat_1s.0 < truth(&f, "latency", None, from, to).0,
        "the two thresholds count differently"
    );
}

/// Prometheus's own burn rate for the SLOs whose SLI it can compute with `increase` directly.
async fn prometheus_burn(
    p: &QueryApi,
    slo: &str,
    group: Option<&str>,
    window: &Value,
    at: i64,
    budget: f64,
) -> Option<f64> {
    let w = window.as_str()?;
    let job = match slo {
        "steady" | "steady-events" => "steady",
        "incident" | "reset" | "quiet" => slo,
        "routes" => "grouped",
        "latency" => {
            let q = format!(
                "1 - sum(increase(http_request_duration_seconds_bucket{{job=\"lat\",le=\"0.3\"}}[{w}])) / sum(increase(http_request_duration_seconds_count{{job=\"lat\"}}[{w}]))"
            );
            return p.query_scalar(&q, at).await.map(|r| r / budget);
        }
        _ => return None,
    };
    let route = group.map(|g| format!(",route=\"{g}\"")).unwrap_or_default();
    let q = format!(
        "sum(increase(http_requests_total{{job=\"{job}\",code=\"500\"{route}}}[{w}])) / sum(increase(http_requests_total{{job=\"{job}\"{route}}}[{w}]))"
    );
    // NaN (no traffic) compares as 0, as sloburn reports it.
    p.query_scalar(&q, at)
        .await
        .map(|r| if r.is_nan() { 0.0 } else { r / budget })
}
