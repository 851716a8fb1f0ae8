//! The engine's steady path minute by minute, against the exact truth, on a real Prometheus (and
//! the same on a real VictoriaMetrics).
//!
//! Two days of data shaped like real scrapes (30 s and 2 m intervals off the minute grid, with
//! jitter and millisecond timestamps) are backfilled; the engine (the library, with a real
//! store) starts cold three hours before the end of the data and then ticks every 17 to 60 s,
//! some ticks on a minute boundary and most inside a minute (the current minute so far, as
//! `sloburn run` reads counters), reading only what is new, both SLOs with one shared query. Inside those three hours the counters reset
//! between two ticks, an error series appears at its first error (value 1), a target vanishes,
//! and the engine restarts from its store (its series' last samples). After every tick every
//! window's bad and total events must equal the truth exactly (a window read at `t` inside a
//! minute holds that minute up to `t` and the whole minutes before it), and at the end a cold start at
//! the same instant (the backfill path) must give the same numbers as the ticks did.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sloburn::config::PrometheusConfig;
use sloburn::engine::runner::{Engine, PrometheusSource, Querier, Reach, SloState};
use sloburn::engine::snapshot::Snapshot;
use sloburn::source::prometheus::Client;
use sloburn::spec::Slo;
use sloburn::store::Store;
use support::backend::{Backend, Source};
use support::backfill::scenario::{self, Regime, Requests};
use support::backfill::{Backfill, CounterOpts, DAY, HOUR, MINUTE, Schedule, now_minute};
use support::truth::{Sli, counts};

const SPEC: &str = r#"
version: sloburn/v1
service: ticks
slos:
  - name: api-30s
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="api30",code="500"}
        total: http_requests_total{job="api30"}
  - name: api-2m
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="api120",code="500"}
        total: http_requests_total{job="api120"}
"#;

/// (SLO name, job, scrape interval).
const SLOS: [(&str, &str, i64); 2] = [("api-30s", "api30", 30), ("api-2m", "api120", 120)];

fn slos() -> Vec<Slo> {
    let report = sloburn::spec::load::load_bytes("ticks.yaml", SPEC.as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report.slos
}

/// The instants of the scenario, all inside the last three hours of the data.
struct Timeline {
    cold: i64,
    reset: i64,
    first_error: i64,
    vanish: i64,
    restart: i64,
    last: i64,
}

fn build(end: i64) -> (Backfill, Timeline) {
    let mut b = Backfill::new(end - 2 * DAY, end);
    let cold = end - 3 * HOUR;
    let tl = Timeline {
        cold,
        // Between two ticks (ticks fall on whole minutes), off any sample instant.
        reset: cold + 40 * MINUTE + 25,
        first_error: cold + 70 * MINUTE + 10,
        vanish: cold + 100 * MINUTE,
        restart: cold + 120 * MINUTE,
        last: cold + 150 * MINUTE,
    };
    let origin = b.start() - DAY;
    for (_, job, interval) in SLOS {
        let schedule = |n: u64, phase_ms: i64| {
            Schedule::every(interval)
                .phase_ms(phase_ms)
                .jitter(2_000, interval as u64 * 10 + n)
        };
        // Instance a: 1% errors, restarting between two ticks.
        let a = Requests::new(origin, 10_000);
        let restarts = CounterOpts {
            start_value: 1_000.0,
            resets: vec![tl.reset],
            ..CounterOpts::default()
        };
        let l = [("job", job), ("instance", "a")];
        scenario::requests_on(&mut b, &schedule(1, -13_000), &l, &a, &restarts, &restarts);
        // Instance b: clean until its first error (its error series appears with value 1),
        // then an outage of 5 minutes.
        let clean = Requests::new(origin, 0)
            .with(origin, tl.first_error - 1, Regime::Clean)
            .with(
                tl.first_error + 4 * MINUTE,
                tl.first_error + 9 * MINUTE,
                Regime::Outage,
            );
        let lazy = CounterOpts {
            lazy: true,
            ..CounterOpts::default()
        };
        let l = [("job", job), ("instance", "b")];
        scenario::requests_on(
            &mut b,
            &schedule(2, -41_500),
            &l,
            &clean,
            &CounterOpts::default(),
            &lazy,
        );
        // Instance c: 5% errors, gone for good at `vanish`.
        let c = Requests::new(origin, 50_000);
        let l = [("job", job), ("instance", "c")];
        scenario::requests_on(
            &mut b,
            &schedule(3, -3_250).until(tl.vanish),
            &l,
            &c,
            &CounterOpts::default(),
            &CounterOpts::default(),
        );
    }
    (b, tl)
}

fn querier(url: &str) -> Querier {
    let config = PrometheusConfig::with_url(url)
        .client_config()
        .expect("client config");
    Querier {
        client: Client::new(&config).expect("client"),
        stats: Arc::new(Mutex::new(Default::default())),
        limit: Arc::new(tokio::sync::Semaphore::new(4)),
    }
}

fn engine(url: &str, store: Option<Arc<Store>>) -> Engine {
    let states = slos()
        .into_iter()
        .map(|slo| {
            let stored = store.as_ref().and_then(|s| s.load(&slo.id()).unwrap());
            SloState::new(slo, stored)
        })
        .collect();
    Engine {
        source: Some(Box::new(PrometheusSource::new(
            querier(url),
            Duration::ZERO,
        ))),
        store,
        ..Engine::new(states)
    }
}

/// Every window of every SLO against the truth; failures are collected into `wrong`.
/// Requests the engine has sent to the source.
fn requests(engine: &Engine) -> u64 {
    engine
        .source
        .as_ref()
        .map(|s| s.health().requests_by_outcome.values().sum())
        .unwrap_or(0)
}

fn check(b: &Backfill, snapshot: &Snapshot, at: i64, what: &str, wrong: &mut Vec<String>) {
    for (name, job, _) in SLOS {
        let s = snapshot
            .slos
            .iter()
            .find(|s| &*s.slo == name)
            .unwrap_or_else(|| panic!("{name} not in the snapshot"));
        if !s.data_present || !s.fresh {
            wrong.push(format!(
                "{what} {name}: data {} fresh {}",
                s.data_present, s.fresh
            ));
            continue;
        }
        let sli = Sli::ratio(
            &format!(r#"http_requests_total{{job="{job}",code="500"}}"#),
            &format!(r#"http_requests_total{{job="{job}"}}"#),
        );
        let minute_end = (at + MINUTE - 1).div_euclid(MINUTE) * MINUTE;
        for w in &s.windows {
            let truth = counts(b, &sli, None, minute_end - w.seconds as i64, at);
            if w.bad != truth.bad || w.total != truth.total {
                wrong.push(format!(
                    "{what} {name} window {}: bad/total {}/{} vs truth {}/{}",
                    w.window, w.bad, w.total, truth.bad, truth.total
                ));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_inside_minutes_across_a_reset_a_new_series_a_vanished_one_and_a_restart_are_exact() {
    ticks_are_exact(Backend::Prometheus).await;
}

/// The same ticks on the same data in a real VictoriaMetrics (left-open ranges, no lookback
/// delta, its own subquery evaluation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_are_exact_on_victoriametrics() {
    ticks_are_exact(Backend::VictoriaMetrics).await;
}

async fn ticks_are_exact(backend: Backend) {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let (b, tl) = build(end);
    let prometheus = Source::backfilled(backend, &b);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut wrong = Vec::new();

    let mut sloburn = engine(&prometheus.url, Some(store.clone()));
    let snapshot = sloburn.tick(Reach::minute(tl.cold), tl.cold as f64).await;
    check(&b, &snapshot, tl.cold, "cold start", &mut wrong);
    let mut t = tl.cold;
    let (mut sent, mut expected) = (0, 0);
    // Three minutes a cycle, so the restart and the last tick fall on whole minutes.
    let steps = [17, 43, 60, 29, 31].into_iter().cycle();
    for step in steps {
        if t >= tl.last {
            break;
        }
        // A 36-minute gap (sloburn paused: 12 whole cycles, so later ticks keep their places)
        // across the first error and its outage, caught up sample by sample in 15-minute
        // slices.
        let step = if t == tl.cold + 60 * MINUTE {
            step + 36 * MINUTE
        } else {
            step
        };
        t += step;
        if t == tl.restart {
            // The process ends (its last tick saved) and starts again from the store.
            drop(sloburn);
            sloburn = engine(&prometheus.url, Some(store.clone()));
            assert!(
                sloburn.slos.iter().all(|s| !s.series.last.is_empty()),
                "the series' last samples come back from the store"
            );
        }
        let before = requests(&sloburn);
        let snapshot = sloburn
            .tick(Reach::at(t as f64, Duration::ZERO), t as f64)
            .await;
        sent += requests(&sloburn) - before;
        // One query a slice for both SLOs: they read the same metric pinned on `job`.
        expected += (step as u64).div_ceil(15 * MINUTE as u64);
        check(
            &b,
            &snapshot,
            t,
            &format!("tick {:+} s", t - tl.cold),
            &mut wrong,
        );
    }
    assert_eq!(
        sent, expected,
        "requests sent by the ticks after the cold start"
    );
    let ticks = sloburn.snapshot(t as f64, Duration::ZERO);

    // The backfill path at the same instant gives what the ticks gave.
    let mut cold = engine(&prometheus.url, None);
    let again = cold.tick(Reach::minute(t), t as f64).await;
    for (a, b) in ticks.slos.iter().zip(&again.slos) {
        for (wa, wb) in a.windows.iter().zip(&b.windows) {
            if (wa.bad, wa.total) != (wb.bad, wb.total) {
                wrong.push(format!(
                    "{} window {}: ticks {}/{} vs cold start {}/{}",
                    a.slo, wa.window, wa.bad, wa.total, wb.bad, wb.total
                ));
            }
        }
        if (a.period_good_events, a.period_total_events)
            != (b.period_good_events, b.period_total_events)
        {
            wrong.push(format!(
                "{} period: ticks {}/{} vs cold start {}/{}",
                a.slo,
                a.period_good_events,
                a.period_total_events,
                b.period_good_events,
                b.period_total_events
            ));
        }
    }
    // The scenario happened inside the ticks: errors after the first error, a reset read.
    let sli = Sli::ratio(
        r#"http_requests_total{job="api30",instance="b",code="500"}"#,
        r#"http_requests_total{job="api30",instance="b"}"#,
    );
    assert!(counts(&b, &sli, None, tl.cold, tl.last).bad > 0.0);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A gap longer than the 6 hours read sample by sample (sloburn stopped, Prometheus down) after
/// a tick inside a minute: the backfill must start where that tick's read ended, not lose what
/// came between it and the next minute, and stay exact across the reset, the new series and
/// the vanished one inside the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_gap_after_a_tick_inside_a_minute_is_exact() {
    a_long_gap_is_exact(Backend::Prometheus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_gap_after_a_tick_inside_a_minute_is_exact_on_victoriametrics() {
    a_long_gap_is_exact(Backend::VictoriaMetrics).await;
}

async fn a_long_gap_is_exact(backend: Backend) {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let (b, tl) = build(end);
    let prometheus = Source::backfilled(backend, &b);
    let mut wrong = Vec::new();
    let mut sloburn = engine(&prometheus.url, None);
    let start = tl.cold - 5 * HOUR;
    let snapshot = sloburn.tick(Reach::minute(start), start as f64).await;
    check(&b, &snapshot, start, "cold start", &mut wrong);
    // Inside a minute, then 7 hours later inside another, then on a minute.
    for t in [start + 37, start + 37 + 7 * HOUR + 11, tl.last] {
        let snapshot = sloburn
            .tick(Reach::at(t as f64, Duration::ZERO), t as f64)
            .await;
        check(
            &b,
            &snapshot,
            t,
            &format!("tick {:+} s", t - start),
            &mut wrong,
        );
    }
    assert!(tl.last > start + 37 + 7 * HOUR + 11 && tl.reset > start + 37);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
