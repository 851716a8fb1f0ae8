//! The end-to-end benchmark's harness (`benches/e2e.rs`), run small so it cannot rot: N = 10 SLOs,
//! two days of backfilled history, one steady tick. Asserts only that every stage ran and gave
//! positive numbers, and that sloburn's steady tick read fewer samples than either rule set.
//! Every process it starts (Prometheus, sloburn, the live target thread) is stopped on return
//! or panic (guards), and its temporary directory is removed.

#[path = "../benches/e2e.rs"]
mod e2e;

use std::time::{Duration, Instant};

#[test]
fn e2e_harness_runs_small() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let opts = e2e::Opts {
        n: 10,
        cycles: 1,
        periods: vec!["30d".into()],
        history: 2 * 86_400,
        interval: "1m".into(),
        rule_concurrency: 2,
        work_dir: work.path().to_path_buf(),
    };
    let report = e2e::run(&opts);
    eprintln!("{}", e2e::markdown(&report));
    assert!(report.backfill.samples > 0);
    let run = &report.runs[0];
    assert!(run.cold_samples > 0 && run.cold_requests > 0, "{run:?}");
    assert_eq!(run.ticks.len(), 1);
    let tick = &run.ticks[0];
    assert!(
        tick.samples > 0 && tick.floor > 0 && tick.requests > 0,
        "{tick:?}"
    );
    assert!(run.peak_rss_kib > 0);
    assert_eq!(run.rules.len(), 2);
    for rules in &run.rules {
        assert!(rules.expressions > 0 && rules.samples > 0, "{rules:?}");
        assert!(
            tick.samples < rules.samples,
            "sloburn read {} samples, {} only {}",
            tick.samples,
            rules.name,
            rules.samples
        );
    }
    // Not a speed measure: a guard that the harness does not hang (it waits for Prometheus's
    // first scrape, up to two minute boundaries and the rule cycles).
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "took {:?}",
        started.elapsed()
    );
}
