//! Every number of `sloburn eval` (the real binary) against the exact truth, on data shaped like
//! real scrapes.
//!
//! One Prometheus holds 30 days per scrape interval, 15 s, 30 s, 60 s and 2 m, under
//! `job="exact-15s"`, `"exact-30s"`, `"exact-60s"` and `"exact-120s"`. Every target has its own phase off the minute grid (13 s
//! before each minute for `checkout`), ±2 s of seeded jitter and millisecond timestamps.
//! Requests are counted in continuous time (10 a second per target, [`Requests`]), so each
//! sample holds exactly what happened before it:
//!
//! - `app="steady"`: 0.1 % errors, nothing else (the Sloth `prometheus/v1` SLO, written as
//!   `sum(rate(SEL[{{.window}}]))`);
//! - `app="checkout"`: 0.1 % errors, a 10-minute 100 % outage, a zero-traffic hour (samples go
//!   on, counters flat), two restarts (one 20 s after an evaluation instant, evaluated again one
//!   and two minutes later; the error series is created at its first error, after a restart
//!   too), and a latency histogram (threshold 0.3 s) with a slow half hour;
//! - `app="routes"`: `group_by: [route]`, `/home` 0.1 % errors but none before day 26, its error
//!   series appearing at its first error with value 1; `/search` 1 %, from one instance that
//!   vanishes on day 21 and one that appears on day 13 with counters at 12,345 and 67; `/pay`
//!   5 %, with scrapes missing for 20 minutes and for 3 hours (more than the 2 h a pair of
//!   samples may span).
//!
//! The truth is `tests/support/truth.rs` (events of a series in `(a, b]` from its samples, the
//! SLIs, burn rates and remaining budgets), never engine code. At each instant below, for every
//! SLO (and group) of every interval: each window's bad and total events equal to the truth's
//! (to 1e-6: the engine counts exactly), each window's burn rate within 2 % (relative, floor as in
//! `engine_backfilled`: `0.02 * truth.max(0.05)`), the remaining budget within 0.005, `fresh`,
//! alert states where the true burn rates are not within 3 % of a threshold, and the outage pages
//! (`alerts[0]`, page 1h/5m) while it lasts at every interval. All failures are collected and
//! reported together, summarized per interval and SLO. A second test follows `sloburn run`'s
//! live ticks across a restart (see [`live_ticks_across_a_restart_are_exact`]).
//!
//! Both also run on a real VictoriaMetrics holding the same samples (imported through its API;
//! the exact-truth test at 15 s and 2 m only, for time), with the same checks.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::backend::{Backend, Source};
use support::backfill::scenario::{self, Regime, Requests};
use support::backfill::{Backfill, CounterOpts, DAY, HOUR, MINUTE, Schedule, now_minute};
use support::eval::sloburn_eval;
use support::truth::{Sli, counts, groups};

/// Scrape intervals, seconds (Prometheus's default 60 s and a slow 2 m among them); each has its
/// own `job`.
const INTERVALS: [i64; 4] = [15, 30, 60, 120];

// Selectors of the specs and of the truth; `JOB` is each interval's job.
const CHECKOUT_ERRORS: &str = r#"http_requests_total{job="JOB",app="checkout",code="500"}"#;
const CHECKOUT_TOTAL: &str = r#"http_requests_total{job="JOB",app="checkout"}"#;
const HISTOGRAM: &str = r#"http_request_duration_seconds{job="JOB",app="checkout"}"#;
const ROUTES_ERRORS: &str = r#"http_requests_total{job="JOB",app="routes",code="500"}"#;
const ROUTES_TOTAL: &str = r#"http_requests_total{job="JOB",app="routes"}"#;
const STEADY_ERRORS: &str = r#"http_requests_total{job="JOB",app="steady",code="500"}"#;
const STEADY_TOTAL: &str = r#"http_requests_total{job="JOB",app="steady"}"#;

/// The specs of one interval: `SERVICE`, `JOB` and the selector names are replaced.
const SPEC: &str = r#"
version: sloburn/v1
service: SERVICE
slos:
  - name: requests
    objective: 99.9
    sli:
      ratio:
        errors: CHECKOUT_ERRORS
        total: CHECKOUT_TOTAL
  - name: latency
    objective: 95
    sli:
      latency:
        histogram: HISTOGRAM
        threshold: 0.3
  - name: routes
    objective: 98
    group_by: [route]
    sli:
      ratio:
        errors: ROUTES_ERRORS
        total: ROUTES_TOTAL
---
version: prometheus/v1
service: SERVICE-sloth
slos:
  - name: steady-events
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(STEADY_ERRORS[{{.window}}]))
        total_query: sum(rate(STEADY_TOTAL[{{.window}}]))
"#;

fn job(interval: i64) -> String {
    format!("exact-{interval}s")
}

fn with_job(selector: &str, interval: i64) -> String {
    selector.replace("JOB", &job(interval))
}

fn spec(interval: i64) -> String {
    let mut text = SPEC.to_string();
    for (name, selector) in [
        ("CHECKOUT_ERRORS", CHECKOUT_ERRORS),
        ("CHECKOUT_TOTAL", CHECKOUT_TOTAL),
        ("HISTOGRAM", HISTOGRAM),
        ("ROUTES_ERRORS", ROUTES_ERRORS),
        ("ROUTES_TOTAL", ROUTES_TOTAL),
        ("STEADY_ERRORS", STEADY_ERRORS),
        ("STEADY_TOTAL", STEADY_TOTAL),
    ] {
        text = text.replace(name, &with_job(selector, interval));
    }
    text.replace("SERVICE", &job(interval))
}

/// One SLO of the specs as the truth sees it.
struct Slo {
    interval: i64,
    service: String,
    name: &'static str,
    objective: f64,
    sli: Sli,
    group_by: Option<&'static str>,
}

fn slos(interval: i64) -> Vec<Slo> {
    let service = job(interval);
    let j = |s: &str| with_job(s, interval);
    let slo = |service: String, name, objective, sli, group_by| Slo {
        interval,
        service,
        name,
        objective,
        sli,
        group_by,
    };
    vec![
        slo(
            service.clone(),
            "requests",
            0.999,
            Sli::ratio(&j(CHECKOUT_ERRORS), &j(CHECKOUT_TOTAL)),
            None,
        ),
        slo(
            service.clone(),
            "latency",
            0.95,
            Sli::latency(&j(HISTOGRAM), "0.3"),
            None,
        ),
        slo(
            service.clone(),
            "routes",
            0.98,
            Sli::ratio(&j(ROUTES_ERRORS), &j(ROUTES_TOTAL)),
            Some("route"),
        ),
        slo(
            format!("{service}-sloth"),
            "steady-events",
            0.995,
            Sli::ratio(&j(STEADY_ERRORS), &j(STEADY_TOTAL)),
            None,
        ),
    ]
}

/// The known events, seconds (all off the minute grid).
struct Timeline {
    /// `(outage, outage + 10m]`: every checkout request fails.
    outage: i64,
    /// checkout restarts (at its first sample at or after this).
    reset: i64,
    /// An evaluation instant on a whole minute; checkout restarts again 20 s after it.
    tick: i64,
    /// `(quiet, quiet + 1h]`: no checkout request at all.
    quiet: i64,
    /// `(slow, slow + 30m]`: half of checkout's requests take longer than 0.3 s.
    slow: i64,
    /// `/home` has no error before this.
    home_errors: i64,
    /// `/search` on instance b appears.
    search_b: i64,
    /// `/search` on instance c vanishes.
    search_c_gone: i64,
    /// `/pay`: no samples in `[pay_short_gap, + 20m)`.
    pay_short_gap: i64,
    /// `/pay`: no samples in `[pay_long_gap, + 3h)`.
    pay_long_gap: i64,
}

impl Timeline {
    fn new(b: &Backfill) -> Timeline {
        let (start, end) = (b.start(), b.end());
        Timeline {
            outage: end - 2 * DAY + 14 * HOUR + 3 * MINUTE + 23,
            reset: end - 5 * DAY + 3 * HOUR + 17,
            tick: end - 3 * DAY + 7 * HOUR,
            quiet: end - 10 * DAY + 2 * HOUR + 37,
            slow: end - 2 * DAY - 5 * HOUR + 11,
            home_errors: end - 4 * DAY + 9 * HOUR + 13,
            search_b: start + 12 * DAY + 5 * HOUR + 29,
            search_c_gone: start + 20 * DAY + 3 * HOUR + 1,
            pay_short_gap: end - 6 * DAY + 4 * HOUR + 9,
            pay_long_gap: end - 3 * DAY - 2 * HOUR + 44,
        }
    }

    /// The evaluation instants (whole minutes) and what each is for.
    fn instants(&self, b: &Backfill) -> Vec<(String, i64)> {
        let ceil = |t: i64| (t + MINUTE - 1).div_euclid(MINUTE) * MINUTE;
        [
            ("end of data", b.end() - MINUTE),
            ("outage +6m (paging)", ceil(self.outage) + 6 * MINUTE),
            (
                "outage over +4m",
                ceil(self.outage + 10 * MINUTE) + 4 * MINUTE,
            ),
            ("outage +50m", ceil(self.outage) + 50 * MINUTE),
            ("reset +1m", ceil(self.reset) + MINUTE),
            ("tick (reset 20 s later)", self.tick),
            ("tick +1m (across the reset)", self.tick + MINUTE),
            ("tick +2m", self.tick + 2 * MINUTE),
            ("quiet hour +30m", ceil(self.quiet) + 30 * MINUTE),
            ("quiet hour over +3m", ceil(self.quiet + HOUR) + 3 * MINUTE),
            ("slow +20m", ceil(self.slow) + 20 * MINUTE),
            ("/home first error +3m", ceil(self.home_errors) + 3 * MINUTE),
            ("/search b appears +5m", ceil(self.search_b) + 5 * MINUTE),
            (
                "/search c gone +10m",
                ceil(self.search_c_gone) + 10 * MINUTE,
            ),
            (
                "/pay 20m gap over +5m",
                ceil(self.pay_short_gap + 20 * MINUTE) + 5 * MINUTE,
            ),
            (
                "/pay 3h gap over +10m",
                ceil(self.pay_long_gap + 3 * HOUR) + 10 * MINUTE,
            ),
        ]
        .into_iter()
        .map(|(name, at)| (name.to_string(), at))
        .collect()
    }
}

/// The schedule of one scrape target: every `interval` seconds at its own phase, with ±2 s of
/// jitter drawn from its own seed (`n` tells the targets of an interval apart).
fn target(interval: i64, phase_ms: i64, n: u64) -> Schedule {
    Schedule::every(interval)
        .phase_ms(phase_ms)
        .jitter(2_000, interval as u64 * 100 + n)
}

/// Adds the series of one interval (see the module docs).
fn add_interval(b: &mut Backfill, tl: &Timeline, interval: i64) {
    let job = job(interval);
    let origin = b.start() - DAY;
    let labels = |app: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut l = vec![("job", job.as_str()), ("app", app)];
        l.extend_from_slice(extra);
        l
    };
    let plain = CounterOpts::default();
    let lazy = CounterOpts {
        lazy: true,
        ..CounterOpts::default()
    };

    // steady
    let steady = Requests::new(origin, 1_000);
    let s = target(interval, -7_250, 1);
    scenario::requests_on(b, &s, &labels("steady", &[]), &steady, &plain, &plain);

    // checkout: outage, quiet hour, slow half hour, two restarts.
    let checkout = Requests::new(origin, 1_000)
        .with(tl.outage, tl.outage + 10 * MINUTE, Regime::Outage)
        .with(tl.quiet, tl.quiet + HOUR, Regime::Quiet)
        .with(tl.slow, tl.slow + 30 * MINUTE, Regime::Slow);
    add_checkout(b, interval, &checkout, &[tl.reset, tl.tick + 20]);

    // routes
    let home = Requests::new(origin, 1_000).with(origin, tl.home_errors, Regime::Clean);
    let s = target(interval, -29_000, 3);
    let l = labels("routes", &[("instance", "a"), ("route", "/home")]);
    scenario::requests_on(b, &s, &l, &home, &plain, &lazy);

    let search = Requests::new(origin, 10_000);
    let s = target(interval, -41_500, 4).from(tl.search_b);
    let l = labels("routes", &[("instance", "b"), ("route", "/search")]);
    let (ok, errors) = (
        CounterOpts {
            start_value: 12_345.0,
            ..CounterOpts::default()
        },
        CounterOpts {
            start_value: 67.0,
            ..CounterOpts::default()
        },
    );
    scenario::requests_on(b, &s, &l, &search, &ok, &errors);
    let s = target(interval, -3_250, 5).until(tl.search_c_gone);
    let l = labels("routes", &[("instance", "c"), ("route", "/search")]);
    scenario::requests_on(b, &s, &l, &search, &plain, &lazy);

    let pay = Requests::new(origin, 50_000);
    let s = target(interval, -50_500, 6)
        .gap(tl.pay_short_gap, tl.pay_short_gap + 20 * MINUTE)
        .gap(tl.pay_long_gap, tl.pay_long_gap + 3 * HOUR);
    let l = labels("routes", &[("instance", "p"), ("route", "/pay")]);
    scenario::requests_on(b, &s, &l, &pay, &plain, &plain);
}

/// The `checkout` target of one interval: its request counters (the error series created at
/// the first error, also after a restart) and latency histogram, 13 s before each minute with
/// ±2 s of jitter, restarting at `resets`.
fn add_checkout(b: &mut Backfill, interval: i64, requests: &Requests, resets: &[i64]) {
    let job = job(interval);
    let s = target(interval, -13_000, 2);
    let l = [("job", job.as_str()), ("app", "checkout")];
    let ok = CounterOpts {
        start_value: 4_321.0,
        resets: resets.to_vec(),
        ..CounterOpts::default()
    };
    let errors = CounterOpts {
        start_value: 0.0,
        lazy: true,
        ..ok.clone()
    };
    let histogram = CounterOpts {
        start_value: 0.0,
        ..ok.clone()
    };
    scenario::requests_on(b, &s, &l, requests, &ok, &errors);
    scenario::latency_on(b, &s, &l, requests, &histogram);
}

/// The snapshot entry of one SLO (and group).
fn entry<'a>(
    snapshot: &'a Value,
    service: &str,
    slo: &str,
    group: Option<&str>,
) -> Option<&'a Value> {
    snapshot["slos"].as_array()?.iter().find(|s| {
        s["service"] == service
            && s["slo"] == slo
            && match group {
                None => s["group"].as_array().is_none_or(Vec::is_empty),
                Some(g) => s["group"][0][1].as_str() == Some(g),
            }
    })
}

/// Failed checks, and checks made, per (interval, SLO); and the failure lines.
#[derive(Default)]
struct Report {
    checks: BTreeMap<(i64, String), (usize, usize, usize)>,
    lines: Vec<String>,
}

impl Report {
    /// Records one check; `got == None` (null or missing) always fails.
    fn check(&mut self, key: (i64, &str), ok: bool, zero_for_nonzero: bool, line: String) {
        let entry = self.checks.entry((key.0, key.1.to_string())).or_default();
        entry.1 += 1;
        if !ok {
            entry.0 += 1;
            if zero_for_nonzero {
                entry.2 += 1;
            }
            self.lines.push(line);
        }
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        for ((interval, slo), (failed, total, zeros)) in &self.checks {
            out.push_str(&format!(
                "  {interval:>2} s  {slo:<32} {failed:>4} of {total:>4} checks failed{}\n",
                if *zeros > 0 {
                    format!(" ({zeros} saw no bad event where the truth has some)")
                } else {
                    String::new()
                }
            ));
        }
        out
    }
}

impl Report {
    /// Prints the summary and every failure, and panics with the summary and the first 40 if
    /// anything failed.
    fn finish(&self, started: Instant) {
        let failed = self.lines.len();
        eprintln!(
            "checks per interval and SLO:\n{}{failed} failures; whole test {:?}",
            self.summary(),
            started.elapsed()
        );
        if failed > 0 {
            for line in &self.lines {
                eprintln!("FAIL {line}");
            }
            panic!(
                "{failed} checks failed against the exact truth:\n{}first failures:\n{}",
                self.summary(),
                self.lines
                    .iter()
                    .take(40)
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            );
        }
    }
}

/// Checks every SLO of `slos` (each group the truth knows of) in one snapshot.
fn check_snapshot(
    report: &mut Report,
    b: &Backfill,
    snapshot: &Value,
    slos: &[Slo],
    name: &str,
    at: i64,
) {
    for slo in slos {
        let group_values: Vec<Option<String>> = match slo.group_by {
            None => vec![None],
            Some(label) => groups(b, &slo.sli, label).into_iter().map(Some).collect(),
        };
        for group in &group_values {
            check_slo(report, b, snapshot, slo, group.as_deref(), name, at);
        }
    }
}

fn close_burn(got: f64, truth: f64) -> bool {
    (got - truth).abs() <= 0.02 * truth.max(0.05)
}

#[test]
fn every_window_and_budget_is_exact_at_15s_30s_60s_and_2m() {
    every_window_and_budget_is_exact(Backend::Prometheus, &INTERVALS);
}

/// The same data, specs, instants and checks in a real VictoriaMetrics (its import API instead
/// of promtool), at the 15 s and 2 m intervals (the shortest and the one whose scrapes are
/// further apart than a minute), to keep the test's time down.
#[test]
fn every_window_and_budget_is_exact_on_victoriametrics() {
    every_window_and_budget_is_exact(Backend::VictoriaMetrics, &[15, 120]);
}

/// 30 days of the scenario at `intervals`, in a store of kind `backend`; `sloburn eval` at every
/// instant of the timeline, checked against the truth.
fn every_window_and_budget_is_exact(backend: Backend, intervals: &[i64]) {
    let started = Instant::now();
    let end = (now_minute() / HOUR) * HOUR - 2 * HOUR;
    let mut b = Backfill::thirty_days(end);
    let tl = Timeline::new(&b);
    for &interval in intervals {
        add_interval(&mut b, &tl, interval);
    }
    eprintln!(
        "generated {} samples in {:?}",
        b.total_samples(),
        started.elapsed()
    );
    let source = Source::backfilled(backend, &b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    let text: Vec<String> = intervals.iter().map(|&i| spec(i)).collect();
    std::fs::write(&specs, text.join("---\n")).unwrap();
    let slos: Vec<Slo> = intervals.iter().flat_map(|&i| slos(i)).collect();

    let mut report = Report::default();
    for (name, at) in tl.instants(&b) {
        let evaluated = Instant::now();
        // Exit 1 only says some SLO is not fresh, which is checked per SLO.
        let snapshot = sloburn_eval(&source.url, at, &specs).snapshot;
        eprintln!("{name} ({at}): evaluated in {:?}", evaluated.elapsed());
        check_snapshot(&mut report, &b, &snapshot, &slos, &name, at);
        // The outage pages while it lasts, at every interval.
        if name.starts_with("outage +6m") {
            for &interval in intervals {
                let service = job(interval);
                let page = entry(&snapshot, &service, "requests", None).map(|s| &s["alerts"][0]);
                let paging = page.is_some_and(|a| {
                    a["severity"] == "page"
                        && a["long_window"] == "1h"
                        && a["short_window"] == "5m"
                        && a["active"] == true
                });
                report.check(
                    (interval, &format!("{service}/requests")),
                    paging,
                    false,
                    format!(
                        "{interval} s {service}/requests at {name} ({at}): the outage does not \
                         page: alerts[0] = {}",
                        page.map_or("missing".to_string(), Value::to_string)
                    ),
                );
            }
        }
    }
    report.finish(started);
}

/// The live read path: `sloburn run` (1 s evaluation interval, no lag) ticks across a restart
/// of `checkout`. The data is backfilled up to 10 minutes into the future: Prometheus answers a
/// query at `t` from samples at or before `t` only, so each tick sees what was "scraped" by then.
/// The restart falls 15-77 s after the data is made; the test follows the ticks (their instant is
/// `evaluated_at` to the second, the lag being 0: the current minute so far) until one has read the minute
/// holding the 60 s target's first sample after the restart, and checks every tick it saw, at
/// both intervals, against the truth: each window's burn rate, the remaining budget, `fresh`.
#[test]
fn live_ticks_across_a_restart_are_exact() {
    live_ticks_across_a_restart(Backend::Prometheus);
}

/// The same live ticks on a real VictoriaMetrics with its defaults: its 30 s
/// `-search.latencyOffset` answers instant vectors within 30 s of now as of 30 s earlier, but
/// not the raw range reads the ticks make.
#[test]
fn live_ticks_across_a_restart_are_exact_on_victoriametrics() {
    live_ticks_across_a_restart(Backend::VictoriaMetrics);
}

fn live_ticks_across_a_restart(backend: Backend) {
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp();
    let end = now_minute() + 10 * MINUTE;
    let mut b = Backfill::new(end - DAY, end);
    // Just before the 60 s target's first sample 15 s or more from now, so that the tick which
    // reads the restart comes as soon as it can (the minute holding that sample ends).
    let sample = target(60, -13_000, 2).timestamps_ms(now + 15, end)[0];
    let restart = sample.div_euclid(1000) - 1;
    for interval in [15, 60] {
        let requests = Requests::new(b.start() - DAY, 1_000);
        add_checkout(&mut b, interval, &requests, &[restart]);
    }
    let prometheus = Source::backfilled(backend, &b);
    let dir = tempfile::tempdir().unwrap();
    let spec_text: Vec<String> = [15, 60].iter().map(|&i| spec(i)).collect();
    let mut sloburn =
        engine::Sloburn::start_with_spec(&prometheus.url, &spec_text.join("---\n"), dir.path());
    // Only checkout's SLOs have data here.
    let slos: Vec<Slo> = [15, 60]
        .iter()
        .flat_map(|&i| slos(i))
        .filter(|s| matches!(s.name, "requests" | "latency"))
        .collect();
    let first_after = |interval: i64| {
        let ok = b.find(
            "http_requests_total",
            &[("job", &job(interval)), ("code", "200")],
        )[0];
        let t = b
            .raw_samples(ok)
            .iter()
            .find(|s| s.0 >= restart * 1000)
            .unwrap()
            .0;
        (t + 59_999).div_euclid(60_000) * MINUTE
    };
    let needed = first_after(60).max(first_after(15));
    let mut report = Report::default();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs((needed - now + 90).max(90) as u64);
    while seen.last().is_none_or(|&at| at < needed) {
        assert!(
            Instant::now() < deadline,
            "no tick past {needed} (saw {seen:?})\n{}",
            sloburn.log_tail(30)
        );
        let (status, body) = sloburn.get("/api/v1/slos");
        let snapshot: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if let (200, Some(evaluated)) = (status, snapshot["evaluated_at"].as_f64()) {
            // With no lag a tick reads up to the second it started at: the current minute so far.
            let at = evaluated.floor() as i64;
            if seen.last() != Some(&at) {
                let name = format!("live tick at restart {:+} s", at - restart);
                check_snapshot(&mut report, &b, &snapshot, &slos, &name, at);
                seen.push(at);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("ticks checked: {seen:?} (restart at {restart}, read by {needed})");
    report.finish(started);
}

/// Checks one SLO (one group) of one snapshot against the truth.
fn check_slo(
    report: &mut Report,
    b: &Backfill,
    snapshot: &Value,
    slo: &Slo,
    group: Option<&str>,
    name: &str,
    at: i64,
) {
    let label = match group {
        Some(g) => format!("{}/{}{{route={g}}}", slo.service, slo.name),
        None => format!("{}/{}", slo.service, slo.name),
    };
    let key = (slo.interval, label.as_str());
    let prefix = format!("{} s {label} at {name} ({at})", slo.interval);
    // A window read inside a minute holds that minute so far and the whole minutes before it.
    let minute_end = (at + MINUTE - 1).div_euclid(MINUTE) * MINUTE;
    let truth = |w: i64| counts(b, &slo.sli, slo.group_by.zip(group), minute_end - w, at);
    let Some(s) = entry(snapshot, &slo.service, slo.name, group) else {
        report.check(key, false, false, format!("{prefix}: not in the snapshot"));
        return;
    };
    report.check(
        key,
        s["fresh"] == true,
        false,
        format!("{prefix}: not fresh"),
    );
    // The remaining budget over the period.
    let period = truth(30 * DAY);
    let want = period.remaining(slo.objective);
    let got = s["error_budget_remaining"].as_f64();
    report.check(
        key,
        got.is_some_and(|g| (g - want).abs() <= 0.005),
        got == Some(1.0) && want != 1.0,
        format!(
            "{prefix}: remaining {} vs truth {want:.5} (good/total got {}/{}, truth {}/{})",
            got.map_or(
                "null (the engine reports no data)".to_string(),
                |g| format!("{g:.5}")
            ),
            s["period_good_events"],
            s["period_total_events"],
            period.total - period.bad,
            period.total,
        ),
    );
    // Every window's burn rate.
    let windows = s["windows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    report.check(
        key,
        !windows.is_empty(),
        false,
        format!("{prefix}: no windows"),
    );
    let mut burns = BTreeMap::new();
    for w in windows {
        let secs = w["seconds"].as_f64().unwrap_or(0.0) as i64;
        let counts = truth(secs);
        let want = counts.burn_rate(slo.objective);
        burns.insert(w["window"].as_str().unwrap_or("?").to_string(), want);
        // The counts themselves: exact, not merely close (f32 buckets hold these integers).
        let same = |got: &Value, want: f64| {
            got.as_f64()
                .is_some_and(|g| (g - want).abs() <= 1e-6 * want.max(1.0))
        };
        report.check(
            key,
            same(&w["bad"], counts.bad) && same(&w["total"], counts.total),
            false,
            format!(
                "{prefix}: window {} counts bad/total {}/{} vs truth {}/{}",
                w["window"].as_str().unwrap_or("?"),
                w["bad"],
                w["total"],
                counts.bad,
                counts.total
            ),
        );
        let got = w["burn_rate"].as_f64();
        report.check(
            key,
            got.is_some_and(|g| close_burn(g, want)),
            got == Some(0.0) && want > 0.0,
            format!(
                "{prefix}: burn({}) {} vs truth {want:.4} (bad/total got {}/{}, truth {}/{})",
                w["window"].as_str().unwrap_or("?"),
                got.map_or(
                    "null (the engine reports no data)".to_string(),
                    |g| format!("{g:.4}")
                ),
                w["bad"],
                w["total"],
                counts.bad,
                counts.total
            ),
        );
    }
    // Alert states, where the true burn rates are clearly on one side of the threshold.
    for a in s["alerts"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let (Some(thr), Some(long), Some(short)) = (
            a["threshold"].as_f64(),
            a["long_window"].as_str().and_then(|w| burns.get(w)),
            a["short_window"].as_str().and_then(|w| burns.get(w)),
        ) else {
            continue;
        };
        let near = |burn: f64| (burn - thr).abs() <= 0.03 * thr;
        if near(*long) || near(*short) {
            continue;
        }
        let want = *long > thr && *short > thr;
        report.check(
            key,
            a["active"] == want,
            false,
            format!(
                "{prefix}: alert {} {}/{} active {} vs truth {want} (true burns {long:.3}, \
                 {short:.3}, threshold {thr})",
                a["severity"], a["long_window"], a["short_window"], a["active"]
            ),
        );
    }
}
