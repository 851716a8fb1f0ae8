use proptest::prelude::*;

use super::*;

const PAGE: Active = Active {
    page: true,
    ticket: false,
    exhaustion: false,
    freeze: false,
};
const QUIET: Active = Active {
    page: false,
    ticket: false,
    exhaustion: false,
    freeze: false,
};

#[test]
fn a_state_opens_at_the_evaluation_it_became_active_and_closes_at_the_one_it_stopped() {
    let mut r = Record::default();
    for (t, a) in [
        (0, QUIET),
        (60, PAGE),
        (120, PAGE),
        (180, QUIET),
        (240, QUIET),
    ] {
        r.observe(t, Some(a), 90);
    }
    assert_eq!(r.page, vec![(60, 180)]);
    assert_eq!(r.recorded, vec![(0, 240)]);
    assert!(r.ticket.is_empty() && r.freeze.is_empty());
}

#[test]
fn an_open_state_counts_to_the_last_evaluation_and_a_restart_after_a_gap_is_not_recorded() {
    let mut r = Record::default();
    r.observe(0, Some(PAGE), 90);
    r.observe(60, Some(PAGE), 90);
    // Killed here: what was saved is the span to the last evaluation.
    let saved: Record = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
    assert_eq!(saved.page, vec![(0, 60)]);
    // Back 10 minutes later: the downtime is neither alerting nor quiet.
    let mut r = saved;
    r.observe(660, Some(PAGE), 90);
    r.observe(720, Some(QUIET), 90);
    assert_eq!(r.page, vec![(0, 60), (660, 720)]);
    assert_eq!(r.recorded, vec![(0, 60), (660, 720)]);
}

#[test]
fn after_an_evaluation_that_cannot_judge_the_time_is_not_recorded() {
    let mut r = Record::default();
    r.observe(0, Some(PAGE), 90);
    r.observe(60, None, 90); // the state at 0 holds to here
    r.observe(120, Some(QUIET), 90); // nothing since 60 is known
    r.observe(180, Some(QUIET), 90);
    assert_eq!(r.page, vec![(0, 60)]);
    assert_eq!(r.recorded, vec![(0, 60), (120, 180)]);
}

#[test]
fn nothing_changes_without_new_data() {
    let mut r = Record::default();
    assert!(!r.observe(0, None, 90));
    assert!(r.observe(0, Some(QUIET), 90));
    assert!(!r.observe(0, Some(QUIET), 90));
    assert!(
        !r.observe(-60, Some(PAGE), 90),
        "time going back adds nothing"
    );
    assert_eq!(r.last, Some((0, QUIET)));
}

#[test]
fn retention_drops_and_clips_old_spans() {
    let mut r = Record::default();
    for t in (0..=600).step_by(60) {
        r.observe(t, Some(if t < 300 { PAGE } else { QUIET }), 90);
    }
    assert!(r.retain_from(100));
    assert_eq!(r.recorded, vec![(100, 600)]);
    assert_eq!(r.page, vec![(100, 300)]);
    assert!(r.retain_from(400));
    assert!(r.page.is_empty());
    assert!(!r.retain_from(400));
}

#[test]
fn a_flapping_state_keeps_at_most_max_spans() {
    let mut r = Record::default();
    for k in 0..(MAX_SPANS as i64 + 10) * 2 {
        r.observe(k * 60, Some(if k % 2 == 0 { PAGE } else { QUIET }), 90);
    }
    assert_eq!(r.page.len(), MAX_SPANS);
    assert_eq!(
        r.recorded[0].0, r.page[0].0,
        "the recording starts where its spans do"
    );
}

#[test]
fn older_records_and_unknown_fields_read() {
    let r: Record = serde_json::from_str(r#"{"recorded":[[0,60]],"future":1}"#).unwrap();
    assert_eq!(r.recorded, vec![(0, 60)]);
    assert!(r.page.is_empty() && r.last.is_none());
}

#[test]
fn union_merges_overlapping_and_touching_spans() {
    let a = vec![(0, 10), (20, 30)];
    let b = vec![(5, 20), (40, 50)];
    assert_eq!(union([a.as_slice(), b.as_slice()]), vec![(0, 30), (40, 50)]);
    assert_eq!(overlap(&[(0, 30), (40, 50)], 25, 45), 10);
}

proptest! {
    /// Second by second: a second is recorded when the evaluation before it could judge and
    /// the next one comes within the gap; it is paging when that evaluation paged.
    #[test]
    fn spans_match_a_second_by_second_walk(
        steps in prop::collection::vec((1i64..200, prop::option::of(any::<bool>())), 1..40),
    ) {
        let gap = 90;
        let mut r = Record::default();
        let mut evals = Vec::new();
        let mut t = 0;
        for (dt, state) in steps {
            t += dt;
            let active = state.map(|page| Active { page, ..QUIET });
            r.observe(t, active, gap);
            evals.push((t, active));
        }
        let (mut recorded, mut paging) = (0, 0);
        for s in 0..t {
            let Some(k) = evals.iter().rposition(|(at, _)| *at <= s) else { continue };
            let (at, active) = evals[k];
            let Some((next, _)) = evals.get(k + 1) else { continue };
            if let Some(a) = active && next - at <= gap {
                recorded += 1;
                paging += i64::from(a.page);
            }
        }
        prop_assert_eq!(overlap(&r.recorded, 0, t), recorded);
        prop_assert_eq!(overlap(&r.page, 0, t), paging);
    }
}

#[test]
fn only_real_changes_report_changed_not_a_span_growing() {
    let mut r = Record::default();
    let mut changed = Vec::new();
    for (t, a) in [
        (0, Some(QUIET)),   // first judgement: last None -> Some
        (60, Some(QUIET)),  // grows
        (120, Some(PAGE)),  // page opens
        (180, Some(PAGE)),  // grows
        (180, Some(PAGE)),  // same instant, same judgement
        (240, Some(QUIET)), // page closes
        (300, None),        // cannot judge
        (360, None),        // still cannot
        (420, Some(QUIET)), // judges again
        (900, Some(QUIET)), // a gap
        (960, Some(QUIET)), // grows
    ] {
        changed.push(r.observe(t, a, 90));
    }
    assert_eq!(
        changed,
        [
            true, false, true, false, false, true, true, false, true, true, false
        ]
    );
}

#[test]
fn a_record_saved_before_a_steady_run_resumes_to_the_tail_saved_each_tick() {
    let mut r = Record::default();
    r.observe(0, Some(QUIET), 90);
    r.observe(60, Some(PAGE), 90);
    // Saved here (the page opened); the next ticks change nothing and only the tail is saved.
    let mut saved = r.clone();
    for t in [120, 180, 240] {
        assert!(!r.observe(t, Some(PAGE), 90));
    }
    saved.resume(r.last);
    assert_eq!(saved, r);
    assert_eq!(saved.page, vec![(60, 240)]);
    assert_eq!(saved.recorded, vec![(0, 240)]);
    // A tail that does not continue the record (older, or other states) is ignored.
    let mut other = saved.clone();
    other.resume(Some((100, PAGE)));
    other.resume(Some((300, QUIET)));
    other.resume(None);
    assert_eq!(other, saved);
}
