use proptest::prelude::*;

use super::*;

/// A counter as a process keeps it: events per sample, and restarts that zero it first.
/// Returns the samples and the events each sample shows (the truth), with a reset counted as
/// the events since the restart.
fn process(steps: &[(i64, u32, bool)]) -> (Vec<(i64, f64)>, Vec<f64>) {
    let mut t = 0i64;
    let mut value = 0.0f64;
    let mut samples = Vec::new();
    let mut events = Vec::new();
    for (i, (gap, e, reset)) in steps.iter().enumerate() {
        t += gap;
        // A restart is only visible when the counter comes back lower than it was: that is
        // the rule, so the generator keeps to it (and counts what Prometheus would count).
        let restarted = *reset && i > 0 && f64::from(*e) < value;
        if restarted {
            value = 0.0;
        }
        value += f64::from(*e);
        samples.push((t, value));
        events.push(if i == 0 { 0.0 } else { f64::from(*e) });
    }
    (samples, events)
}

fn steps() -> impl Strategy<Value = Vec<(i64, u32, bool)>> {
    // Gaps from 1 ms to 10 minutes (never beyond the memory), small event counts, rare resets.
    prop::collection::vec(
        (1i64..600_000, 0u32..50, prop::bool::weighted(0.05)),
        1..200,
    )
}

proptest! {
    /// Fed once in order, the counted events are exactly the events each sample shows.
    #[test]
    fn counts_every_increment_once(steps in steps()) {
        let (samples, events) = process(&steps);
        let mut last = None;
        for ((t, v), want) in samples.iter().zip(&events) {
            let got = follow(&mut last, *t, *v).unwrap_or(0.0);
            prop_assert_eq!(got, *want, "sample at {} ms", t);
        }
    }

    /// Reads that overlap (each starts anywhere before the last one ended, as Prometheus 2's
    /// closed ranges and re-reads after a failure do) count nothing twice and miss nothing.
    #[test]
    fn overlapping_reads_count_the_same(steps in steps(), cuts in prop::collection::vec((0usize..200, 0usize..20), 0..20)) {
        let (samples, events) = process(&steps);
        let truth: f64 = events.iter().sum();
        let mut last = None;
        let mut counted = 0.0;
        let mut end = 0usize;
        let mut cuts = cuts;
        cuts.sort();
        for (cut, back) in cuts.into_iter().chain([(samples.len(), 0)]) {
            let cut = cut.min(samples.len()).max(end);
            let from = end.saturating_sub(back);
            for (t, v) in &samples[from..cut] {
                counted += follow(&mut last, *t, *v).unwrap_or(0.0);
            }
            end = cut;
        }
        prop_assert_eq!(counted, truth);
    }

    /// Bucket ends are the smallest multiple of the width at or after the instant.
    #[test]
    fn bucket_end_is_the_ceiling(t in -10_000_000_000i64..10_000_000_000, w in 1i64..100_000) {
        let end = bucket_end(t, w);
        prop_assert_eq!(end.rem_euclid(w), 0);
        prop_assert!(end * 1000 >= t);
        prop_assert!((end - w) * 1000 < t);
    }
}

#[test]
fn a_long_silence_starts_the_series_afresh() {
    let mut last = None;
    assert_eq!(follow(&mut last, 0, 10.0), None);
    assert_eq!(follow(&mut last, SERIES_MEMORY_MS, 25.0), Some(15.0));
    // One millisecond past the memory: a new starting point, its increase not counted.
    assert_eq!(follow(&mut last, 2 * SERIES_MEMORY_MS + 1, 40.0), None);
    assert_eq!(follow(&mut last, 2 * SERIES_MEMORY_MS + 2, 41.0), Some(1.0));
}

#[test]
fn a_sample_that_is_not_a_number_changes_nothing() {
    let mut last = None;
    follow(&mut last, 0, 10.0);
    assert_eq!(follow(&mut last, 1000, f64::NAN), None);
    assert_eq!(follow(&mut last, 2000, f64::INFINITY), None);
    assert_eq!(follow(&mut last, 3000, 12.0), Some(2.0));
}

#[test]
fn an_older_sample_is_ignored() {
    let mut last = None;
    follow(&mut last, 5000, 10.0);
    assert_eq!(follow(&mut last, 4000, 3.0), None);
    assert_eq!(
        last,
        Some(LastSample {
            t_ms: 5000,
            value: 10.0
        })
    );
}
