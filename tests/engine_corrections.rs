//! Budget corrections (#16.1) end to end, on data shaped like real scrapes backfilled into a
//! real Prometheus and evaluated by the real binary (`sloburn eval`, `sloburn run`).
//!
//! The shop has two scrape targets, each counting its own requests in continuous time (10 a
//! second, [`Requests`]), so every sample holds exactly what happened before it:
//!
//! - instance `a`: every 15 s at 13 s before each minute with ±2 s of jitter (millisecond
//!   timestamps), 0.4 % errors, its error series created at its first error (also after a
//!   restart), restarting twice, once inside the outage;
//! - instance `b`: every 2 minutes at 41.5 s before a minute (±2 s), 0.2 % errors, appearing
//!   after the start with counters at 12,345 and 67, and vanishing before the end.
//!
//! The outage (every request of both fails, in `(from, to]` on whole hours: the span an operator
//! writes) is an incident of the generator. The truth is `tests/support/truth.rs` on the
//! generated samples, never engine code: the events of `(x, y]` are those of the samples there.
//! A correction over exactly the outage excludes exactly the events of the samples in its span
//! and leaves the budget of everything else; measured against the same traffic generated
//! without the outage, it leaves exactly the outage's failures that the first sample after the
//! span carries (the requests between a target's last scrape in the span and its end). A daily
//! schedule over the outage's hours excludes those hours of every day (minutes for the last 3
//! days, hours before).
//!
//! Tolerance: counts, and the budgets made of them, to 1e-6 relative, as `engine_exact` checks
//! the engine's counts: it counts exactly, the slack is for sums of floats. A span end one
//! minute late takes out another minute of requests (600 a target, 1e-4 of the millions in a
//! period) and fails it.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::time::Duration;

use engine::Sloburn;
use support::backfill::scenario::{self, Regime, Requests};
use support::backfill::{Backfill, CounterOpts, DAY, HOUR, MINUTE, Schedule, SeriesId, now_minute};
use support::eval::{series, sloburn_eval};
use support::prometheus::Prometheus;
use support::truth::{Counts, Sli, counts};

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

const ERRORS: &str = r#"http_requests_total{job="shop",code="500"}"#;
const TOTAL: &str = r#"http_requests_total{job="shop"}"#;
const OBJECTIVE: f64 = 0.99;

/// What happens to the shop; instants in seconds.
#[derive(Clone)]
struct Shop {
    /// `(from, to]`: every request of both instances fails.
    outage: Option<(i64, i64)>,
    /// Instance `a` restarts at its first scrape at or after each.
    resets: Vec<i64>,
    /// Instance `b` is scraped from `b_from` to `b_until` only.
    b_from: i64,
    b_until: i64,
}

/// Adds both targets' `http_requests_total{job="shop",instance,code}` to `data`. Returns each
/// target's `code="200"` series (scraped at every one of its instants) and its requests.
fn add_shop(data: &mut Backfill, shop: &Shop) -> Vec<(SeriesId, Requests)> {
    let origin = data.start() - DAY;
    let requests = |ppm| {
        let r = Requests::new(origin, ppm);
        match shop.outage {
            Some((from, to)) => r.with(from, to, Regime::Outage),
            None => r,
        }
    };
    let (a, b) = (requests(4_000), requests(2_000));

    let schedule = Schedule::every(15).phase_ms(-13_000).jitter(2_000, 1);
    let ok = CounterOpts {
        start_value: 4_321.0,
        resets: shop.resets.clone(),
        ..CounterOpts::default()
    };
    let errors = CounterOpts {
        start_value: 0.0,
        lazy: true,
        ..ok.clone()
    };
    let labels = [("job", "shop"), ("instance", "a")];
    let (a_ok, _) = scenario::requests_on(data, &schedule, &labels, &a, &ok, &errors);

    let schedule = Schedule::every(120)
        .phase_ms(-41_500)
        .jitter(2_000, 2)
        .from(shop.b_from)
        .until(shop.b_until);
    let start_at = |value| CounterOpts {
        start_value: value,
        ..CounterOpts::default()
    };
    let labels = [("job", "shop"), ("instance", "b")];
    let (b_ok, _) = scenario::requests_on(
        data,
        &schedule,
        &labels,
        &b,
        &start_at(12_345.0),
        &start_at(67.0),
    );
    vec![(a_ok, a), (b_ok, b)]
}

/// The true bad and total events of the SLI in `(from, to]`.
fn truth(data: &Backfill, from: i64, to: i64) -> Counts {
    counts(data, &Sli::ratio(ERRORS, TOTAL), None, from, to)
}

fn minus(a: Counts, b: Counts) -> Counts {
    Counts {
        bad: a.bad - b.bad,
        total: a.total - b.total,
    }
}

/// Whether `got` is `want` up to float sums (see the module docs).
fn same(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1.0)
}

fn check(got: &serde_json::Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or(f64::NAN);
    assert!(same(got, want), "{what}: sloburn {got}, truth {want}");
}

#[test]
fn a_correction_over_a_known_outage_restores_the_budget_to_the_truth_without_it() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let start = end - 5 * DAY;
    // Four days back: beyond the 3 days of minutes, counted in hourly buckets.
    let (o1, o2) = (start + DAY, start + DAY + 2 * HOUR);
    let shop = Shop {
        outage: Some((o1, o2)),
        resets: vec![o1 + 37 * MINUTE + 11, end - 2 * DAY + 5 * HOUR + 17],
        b_from: start + 20 * HOUR + 29,
        // In the daily window of yesterday, in the minutes.
        b_until: end - DAY + HOUR + 1,
    };
    let mut b = Backfill::new(start, end);
    let targets = add_shop(&mut b, &shop);
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
        errors: {ERRORS}
        total: {TOTAL}
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

    // Without a correction: everything in the period counts.
    let all = truth(&b, at - 30 * DAY, at);
    let raw = series(&snapshot, "raw", None);
    check(&raw["period_total_events"], all.total, "raw total");
    check(
        &raw["error_budget_remaining"],
        all.remaining(OBJECTIVE),
        "raw budget",
    );
    assert!(raw["corrections"].as_array().unwrap().is_empty());

    // Over exactly the outage: the events of the samples in its span are out, nothing else.
    let span = truth(&b, o1, o2);
    let without = minus(all, span);
    let one_off = series(&snapshot, "one-off", None);
    check(
        &one_off["period_total_events"],
        without.total,
        "one-off total",
    );
    check(
        &one_off["period_good_events"],
        without.total - without.bad,
        "one-off good",
    );
    check(
        &one_off["error_budget_remaining"],
        without.remaining(OBJECTIVE),
        "one-off budget",
    );
    check(&one_off["period_excluded_total"], span.total, "excluded");
    check(&one_off["period_excluded_bad"], span.bad, "excluded bad");
    let c = &one_off["corrections"][0];
    assert_eq!(c["resolution_seconds"], 3600, "{c}");
    assert_eq!(c["active"], false, "{c}");
    // The burn windows are not corrected: the same as the uncorrected SLO's.
    assert_eq!(one_off["windows"], raw["windows"]);

    // The same traffic had the outage not happened (generated, never loaded): the same
    // requests, so the same corrected total; its failures, plus the outage's that each target's
    // first scrape after the span carries (those after its last scrape in the span).
    let calm_shop = Shop {
        outage: None,
        ..shop.clone()
    };
    let mut calm = Backfill::new(start, end);
    let calm_targets = add_shop(&mut calm, &calm_shop);
    let calm_kept = minus(truth(&calm, at - 30 * DAY, at), truth(&calm, o1, o2));
    let carried: f64 = targets
        .iter()
        .zip(&calm_targets)
        .map(|((id, outage), (_, calm))| {
            let last = b
                .raw_samples(*id)
                .iter()
                .rev()
                .find(|s| s.0 <= o2 * 1000)
                .expect("a scrape in the outage")
                .0;
            let failed = |r: &Requests| {
                (r.count(o2 * 1000, |g| r.failed(g)) - r.count(last, |g| r.failed(g))) as f64
            };
            failed(outage) - failed(calm)
        })
        .sum();
    assert!(carried > 0.0, "no scrape straddles the outage's end");
    eprintln!(
        "all {all:?}; outage span {span:?}; no outage, kept {calm_kept:?}, outage failures \
         after the span {carried}"
    );
    check(
        &one_off["period_total_events"],
        calm_kept.total,
        "one-off total vs no outage",
    );
    check(
        &one_off["period_good_events"],
        calm_kept.total - calm_kept.bad - carried,
        "one-off good vs no outage",
    );

    // Daily from hh:00 to hh+2:00 UTC, every day of the data (and the one before it).
    let day0 = start.div_euclid(DAY) * DAY;
    let mut excluded = Counts {
        bad: 0.0,
        total: 0.0,
    };
    for d in -1..=6 {
        let w = day0 + d * DAY + hh * HOUR;
        if w < at {
            let part = truth(&b, w, (w + 2 * HOUR).min(at));
            excluded.bad += part.bad;
            excluded.total += part.total;
        }
    }
    let kept = minus(all, excluded);
    eprintln!("daily excluded {excluded:?}");
    let daily = series(&snapshot, "daily", None);
    check(
        &daily["period_excluded_total"],
        excluded.total,
        "daily excluded",
    );
    check(
        &daily["period_excluded_bad"],
        excluded.bad,
        "daily excluded bad",
    );
    check(
        &daily["error_budget_remaining"],
        kept.remaining(OBJECTIVE),
        "daily budget",
    );
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
    // In the minutes (the last 3 days).
    let (o1, o2) = (end - 30 * HOUR, end - 28 * HOUR);
    let shop = Shop {
        outage: Some((o1, o2)),
        resets: vec![o1 + 47 * MINUTE + 11, end - 10 * HOUR + 17],
        b_from: start + 5 * HOUR + 29,
        b_until: end - 3 * HOUR + 1,
    };
    let mut b = Backfill::new(start, end);
    add_shop(&mut b, &shop);
    let prometheus = Prometheus::backfilled(&b);
    // Every event of the data (the run's period holds it all; it reads past its end).
    let all = truth(&b, start - DAY, end);
    let span = truth(&b, o1, o2);
    let without = minus(all, span);

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
        assert!(same(got, want), "{what}: sloburn {got}, truth {want}");
    };

    let m = sloburn.wait_metrics("fresh", Duration::from_secs(60), "slo_data_fresh", |m| {
        m.fresh("shop", "checkout") == Some(true)
    });
    close(
        m.value("slo_period_total_events", &slo),
        all.total,
        "total before",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        all.remaining(OBJECTIVE),
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
        span.total,
        "excluded",
    );
    close(
        m.value("slo_period_excluded_bad_events", &slo),
        span.bad,
        "excluded bad",
    );
    close(
        m.value("slo_period_total_events", &slo),
        without.total,
        "total corrected",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        without.remaining(OBJECTIVE),
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
        span.total,
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
        all.total,
        "total after removal",
    );
    close(
        m.value("slo_error_budget_remaining_ratio", &slo),
        all.remaining(OBJECTIVE),
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
