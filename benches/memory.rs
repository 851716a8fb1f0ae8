//! Heap bytes the engine holds per SLO in steady state, counted exactly by a counting allocator
//! (no allocator slack, no binary, no transient): the specs, the engine states with full 30-day
//! histories, one snapshot and one `/metrics` page. `cargo bench --bench memory`.
//!
//! The process figure (RSS, which adds the binary, the runtime and what the allocator keeps) is
//! the e2e bench's; this one says what the engine itself needs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use sloburn::core::{Counts, Period};
use sloburn::engine::history::History;
use sloburn::engine::runner::{Engine, SloState};
use sloburn::exporter::{Exporter, Format, SnapshotCell};
use sloburn::spec::load::load_bytes;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const START: i64 = 1_790_000_040;

fn spec(n: usize) -> String {
    let mut text =
        String::from("version: sloburn/v1\nservice: checkout\nlabels:\n  team: payments\nslos:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - name: route-{i}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: http_requests_total{{route=\"/r{i}\",code=~\"5..\"}}\n        total: http_requests_total{{route=\"/r{i}\"}}\n"
        ));
    }
    text
}

fn main() {
    let n = 1_000usize;
    let text = spec(n);
    let base = live();
    let report = load_bytes("bench.yaml", text.as_bytes());
    assert!(report.errors.is_empty());
    let slos = report.slos;
    let after_specs = live();

    // A full 30-day history per SLO, fed as the runner feeds it: hours for the period, then
    // minutes for the last 3 days.
    let end = START + 30 * 86_400;
    let mut states = Vec::with_capacity(n);
    for slo in slos {
        let mut state = SloState::new(slo, None);
        let h = state.group_mut("", Vec::new());
        let mut t = START + 3600;
        while t <= end - 3 * 86_400 {
            h.push_coarse(
                t,
                Counts {
                    bad: 3.0,
                    total: 36_000.0,
                },
            );
            t += 3600;
        }
        let mut m = end - 3 * 86_400 + 60;
        while m <= end {
            h.push_minute(
                m,
                Counts {
                    bad: 0.0,
                    total: 600.0,
                },
            );
            m += 60;
        }
        h.mark_empty_until(end);
        state.fine_fed_until = Some(end);
        state.coarse_fed_until = Some(end);
        states.push(state);
    }
    // As after a cold start's tick, before the save: every chunk marked as changed.
    let unsaved = live();
    for state in &mut states {
        for g in state.groups.values_mut() {
            let _ = g.history.take_dirty();
        }
    }
    let after_states = live();

    let engine = Engine::new(states);
    let before_snapshot = live();
    let snapshot = engine.snapshot(end as f64, Duration::ZERO);
    let after_snapshot = live();
    let cell = Arc::new(SnapshotCell::new());
    cell.publish(snapshot);
    let exporter = Exporter::new(cell);
    let before_page = live();
    let page = exporter
        .encode(Format::Classic)
        .unwrap_or_else(|e| panic!("encode: {e}"));
    let after_page = live();
    let history = engine.slos[0].groups[""].history.heap_bytes();

    let per = |bytes: isize| bytes as f64 / n as f64 / 1024.0;
    let specs = after_specs - base;
    let states = after_states - after_specs;
    let snap = after_snapshot - before_snapshot;
    let metrics = after_page - before_page;
    let total = specs + states + snap + metrics;
    println!("Heap bytes held per SLO, N = {n}, 30-day rolling period, one ratio SLI:\n");
    println!("| part | KiB per SLO |\n|---|---:|");
    println!("| spec (parsed SLO, PromQL) | {:.1} |", per(specs));
    println!(
        "| engine state (history, query plan, names) | {:.1} (of which the history {:.1}) |",
        per(states),
        history as f64 / 1024.0
    );
    println!(
        "| (engine state before the cold start's first save, all chunks marked changed) | ({:.1}) |",
        per(unsaved - after_specs)
    );
    println!("| one snapshot | {:.1} |", per(snap));
    println!(
        "| one /metrics page ({} bytes) | {:.1} |",
        page.len(),
        per(metrics)
    );
    println!("| **total** | **{:.1}** |", per(total));
    drop(page);

    traffic_shapes();

    // What giving free pages back costs with this heap (the runner does it after large ticks).
    let started = std::time::Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        sloburn::allocator::release_free_memory();
    }
    println!(
        "\nrelease_free_memory (malloc_trim) with this heap: {:.1} µs per call (mean of {rounds})",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    );
}

/// The history's size depends on the traffic (the fine tier's sealed hours are compressed): one
/// 30-day history per shape, 30 days of hours and 3 days of minutes.
fn traffic_shapes() {
    let period = Period::Rolling("30d".parse().unwrap_or_else(|e| panic!("period: {e}")));
    let windows: Vec<_> = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
        .iter()
        .map(|w| w.parse().unwrap_or_else(|e| panic!("window: {e}")))
        .collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    type Shape<'a> = (&'a str, Box<dyn FnMut(&mut XorShift) -> Counts>);
    let shapes: Vec<Shape> = vec![
        (
            "steady (the table above: 600 events a minute, no errors)",
            Box::new(|_| Counts {
                bad: 0.0,
                total: 600.0,
            }),
        ),
        (
            "counter, 10 req/s with noise (600 +- 25 a minute, 0.1% errors)",
            Box::new(|r| r.counts(600.0, 25.0, 0.001)),
        ),
        (
            "counter, 1,000 req/s with noise (60,000 +- 2,500 a minute, 0.1% errors)",
            Box::new(|r| r.counts(60_000.0, 2_500.0, 0.001)),
        ),
        (
            "rates x seconds (fractions: an events SLI)",
            Box::new(|r| {
                let c = r.counts(600.0, 25.0, 0.001);
                Counts {
                    bad: c.bad * 1.013,
                    total: c.total * 1.013,
                }
            }),
        ),
    ];
    println!("\n| traffic (one 30-day history) | history KiB |\n|---|---:|");
    for (name, mut minute) in shapes {
        let mut h = History::new(&period, &windows);
        let end = START + 30 * 86_400;
        let mut t = START + 3600;
        while t <= end - 3 * 86_400 {
            h.push_coarse(
                t,
                Counts {
                    bad: 36.0,
                    total: 36_000.0,
                },
            );
            t += 3600;
        }
        let mut m = end - 3 * 86_400 + 60;
        while m <= end {
            h.push_minute(m, minute(&mut rng));
            m += 60;
        }
        h.mark_empty_until(end);
        println!("| {name} | {:.1} |", h.heap_bytes() as f64 / 1024.0);
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Near-normal noise (a sum of 12 uniforms) around `mean`, errors at `ratio`.
    fn counts(&mut self, mean: f64, sd: f64, ratio: f64) -> Counts {
        let z: f64 = (0..12)
            .map(|_| (self.next() % 10_000) as f64 / 10_000.0)
            .sum::<f64>()
            - 6.0;
        let total = (mean + z * sd).round().max(0.0);
        let bad = (total * ratio + (self.next() % 1000) as f64 / 1000.0 - 0.5)
            .round()
            .max(0.0);
        Counts { bad, total }
    }
}
