//! The engine's own costs, without the network: one evaluation tick (a new minute into every
//! history, then every number and alert state), encoding /metrics, and saving a tick durably.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sloburn::core::Counts;
use sloburn::engine::evaluate::{Freshness, SloNames, evaluate_series, services};
use sloburn::engine::history::History;
use sloburn::engine::snapshot::Snapshot;
use sloburn::exporter::{Exporter, Format, SnapshotCell};
use sloburn::spec::Slo;
use sloburn::spec::load::load_bytes;
use sloburn::store::{SloChanges, SloMeta, Store, StoredSeries};

const START: i64 = 1_790_000_040;

fn slos(n: usize) -> Vec<Slo> {
    let mut text =
        String::from("version: sloburn/v1\nservice: checkout\nlabels:\n  team: payments\nslos:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - name: route-{i}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: http_requests_total{{route=\"/r{i}\",code=~\"5..\"}}\n        total: http_requests_total{{route=\"/r{i}\"}}\n"
        ));
    }
    let report = load_bytes("bench.yaml", text.as_bytes());
    assert!(report.errors.is_empty());
    report.slos
}

/// Histories with three days of minutes, as in steady state: one built, then cloned (building
/// each would spend the bench's setup, and a profile of it, on 43 million pushes).
fn histories(slos: &[Slo]) -> Vec<History> {
    let s = &slos[0];
    let mut h = History::new(&s.period, &s.alerting.windows.windows());
    for m in 1..=(3 * 1440) {
        h.push_minute(
            START + m * 60,
            Counts {
                bad: (m % 3) as f64,
                total: 600.0,
            },
        );
    }
    h.mark_empty_until(START + 3 * 1440 * 60);
    let _ = h.take_dirty();
    vec![h; slos.len()]
}

/// The SLOs as the engine holds them: each with its names, built once at load.
fn named(slos: Vec<Slo>) -> Vec<(Slo, SloNames)> {
    slos.into_iter()
        .map(|s| {
            let names = SloNames::new(&s);
            (s, names)
        })
        .collect()
}

fn tick(slos: &[(Slo, SloNames)], hs: &mut [History], minute_end: i64) -> Snapshot {
    let ungrouped = Default::default();
    let mut out = Vec::with_capacity(slos.len());
    for ((slo, names), h) in slos.iter().zip(hs.iter_mut()) {
        h.push_minute(
            minute_end,
            Counts {
                bad: 1.0,
                total: 600.0,
            },
        );
        // As the runner does after each catch-up: moves the period's running sum forward.
        h.mark_empty_until(minute_end);
        out.push(evaluate_series(
            slo,
            names,
            &ungrouped,
            h,
            Freshness {
                fresh: true,
                last_evaluation: 0.0,
                no_data: None,
            },
        ));
    }
    Snapshot {
        evaluated_at: Some(0.0),
        services: services(&out),
        slos: out,
        engine: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let s = slos(n);
        let mut hs = histories(&s);
        let s = named(s);
        let mut minute = START + 3 * 1440 * 60;
        group.bench_function(format!("evaluation_tick_{n}_slos"), |b| {
            b.iter(|| {
                minute += 60;
                tick(&s, &mut hs, minute)
            })
        });
        let cell = Arc::new(SnapshotCell::new());
        cell.publish(tick(&s, &mut hs, minute + 60));
        let exporter = Exporter::new(cell);
        group.bench_function(format!("encode_metrics_{n}_slos"), |b| {
            b.iter(|| exporter.encode(Format::Classic))
        });
    }
    // SLOs with corrections pay for them each tick: a one-off over 2 hours of the minutes and a
    // daily hour (its spans in minutes and in hours).
    {
        use sloburn::core::correction::{AlertMode, Correction, Schedule, When};
        let mut s = slos(1_000);
        let mut hs = histories(&s);
        let now = START + 3 * 1440 * 60;
        for slo in &mut s {
            slo.corrections = vec![
                Correction {
                    name: None,
                    reason: "outage".into(),
                    when: When::OneOff {
                        from: now - 10 * 3600,
                        to: now - 8 * 3600,
                    },
                    alerts: AlertMode::Fire,
                    origin: String::new(),
                },
                Correction {
                    name: None,
                    reason: "batch".into(),
                    when: When::Recurring(Schedule {
                        days: [true; 7],
                        start: 120,
                        end: 180,
                        timezone: chrono_tz::Europe::Berlin,
                    }),
                    alerts: AlertMode::Fire,
                    origin: String::new(),
                },
            ];
        }
        let s = named(s);
        let mut minute = now;
        group.bench_function("evaluation_tick_1000_slos_with_2_corrections", |b| {
            b.iter(|| {
                minute += 60;
                tick(&s, &mut hs, minute)
            })
        });
    }
    let s = slos(1_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("store: {e}"));
    let mut hs = histories(&s);
    let mut minute = START + 3 * 1440 * 60;
    group.bench_function("append_tick_to_store_1000_slos", |b| {
        b.iter_batched(
            || {
                minute += 60;
                let ids: Vec<String> = s.iter().map(|x| x.id()).collect();
                let dirty: Vec<_> =
                    hs.iter_mut()
                        .map(|h| {
                            h.push_minute(
                                minute,
                                Counts {
                                    bad: 1.0,
                                    total: 600.0,
                                },
                            );
                            (
                            h.take_dirty().iter().map(sloburn::store::change).collect::<Vec<_>>(),
                            h.retention_floor(),
                            SloMeta {
                                fingerprint: "f".into(),
                                fine_fed_until: h.fed_until(),
                                coarse_fed_until: h.coarse_fed_until(),
                                groups: Default::default(),
                                // A ratio SLO's followed series: errors, and both codes for
                                // the total.
                                series: [(0, "500"), (1, "200"), (1, "500")]
                                    .into_iter()
                                    .map(|(role, code)| StoredSeries {
                                        role,
                                        series: format!(
                                            "http_requests_total{{code=\"{code}\",job=\"bench\"}}"
                                        ),
                                        t_ms: minute * 1000 - 13_250,
                                        value: 123_456_789.0,
                                    })
                                    .collect(),
                                series_seeded: true,
                                ..Default::default()
                            },
                        )
                        })
                        .collect();
                (ids, dirty)
            },
            |(ids, dirty)| {
                let changes: Vec<SloChanges> = ids
                    .iter()
                    .zip(dirty.iter())
                    .map(|(id, (rows, floor, meta))| SloChanges {
                        records: Vec::new(),
                        id,
                        meta,
                        chunks: vec![("", rows.as_slice())],
                        prune: vec![("", *floor)],
                        replace: false,
                    })
                    .collect();
                store.save(&changes).unwrap_or_else(|e| panic!("save: {e}"))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    report(c);
}

/// A report over the 3 days of minutes of 1,000 SLOs: from the engine's memory (how long it
/// held the engine loop up to 0.3.x) and from the store (now, beside the loop).
fn report(c: &mut Criterion) {
    use sloburn::engine::runner::{Engine, Reach, SloState};
    use sloburn::report::live::{LiveReports, Roster};
    let s = slos(1_000);
    let hs = histories(&s);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Arc::new(Store::open(dir.path()).unwrap_or_else(|e| panic!("store: {e}")));
    let states = s
        .iter()
        .zip(hs)
        .map(|(slo, h)| {
            let mut state = SloState::new(slo.clone(), None);
            *state.group_mut("", Vec::new()) = h;
            state.group_mut("", Vec::new()).mark_all_unsaved();
            state.fine_fed_until = Some(START + 3 * 1440 * 60);
            state.coarse_fed_until = state.fine_fed_until;
            state
        })
        .collect();
    let mut engine = Engine::new(states);
    engine.store = Some(store.clone());
    let end = START + 3 * 1440 * 60;
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(engine.tick(Reach::minute(end), end as f64));
    let roster: Roster = s.iter().map(|x| (x.id(), x.objective)).collect();
    let (_tx, rx) = tokio::sync::watch::channel(Some(roster));
    let live = LiveReports::new(store, rx);
    let range = sloburn::report::Range::new(START, end + 60).unwrap_or_else(|e| panic!("{e}"));
    let go = std::sync::atomic::AtomicBool::new(false);
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("report_3_days_1000_slos_from_memory_in_the_loop", |b| {
        b.iter(|| engine.report(range))
    });
    group.bench_function("report_3_days_1000_slos_from_the_store_beside_it", |b| {
        b.iter(|| live.rows(range, &go).unwrap_or_else(|e| panic!("{e}")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
