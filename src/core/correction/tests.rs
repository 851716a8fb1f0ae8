use super::*;
use proptest::prelude::*;

/// Unix seconds of an RFC 3339 instant written in the test (the truth, worked out by hand).
fn t(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

fn schedule(days: &[usize], start: u32, end: u32, tz: Tz) -> Schedule {
    let mut d = [false; 7];
    for i in days {
        d[*i] = true;
    }
    Schedule {
        days: d,
        start,
        end,
        timezone: tz,
    }
}

const SUN: usize = 6;
const FRI: usize = 4;
const EVERY: [usize; 7] = [0, 1, 2, 3, 4, 5, 6];

#[test]
fn sundays_in_berlin_follow_winter_and_summer_time() {
    let s = schedule(&[SUN], 120, 240, chrono_tz::Europe::Berlin);
    // 2026-01-04 is a Sunday (CET, UTC+1); 2026-07-05 a Sunday (CEST, UTC+2).
    assert_eq!(
        s.intervals(t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z")),
        [(t("2026-01-04T01:00:00Z"), t("2026-01-04T03:00:00Z"))]
    );
    assert_eq!(
        s.intervals(t("2026-07-01T00:00:00Z"), t("2026-07-08T00:00:00Z")),
        [(t("2026-07-05T00:00:00Z"), t("2026-07-05T02:00:00Z"))]
    );
}

#[test]
fn a_skipped_local_time_starts_where_the_clocks_jump_to() {
    // 2026-03-29: Berlin's clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC); 02:00-04:00
    // holds one real hour, 03:00-04:00 CEST.
    let s = schedule(&[SUN], 120, 240, chrono_tz::Europe::Berlin);
    assert_eq!(
        s.intervals(t("2026-03-28T00:00:00Z"), t("2026-03-30T00:00:00Z")),
        [(t("2026-03-29T01:00:00Z"), t("2026-03-29T02:00:00Z"))]
    );
    // 02:30 does not exist either: it too starts at the jump.
    let s = schedule(&[SUN], 150, 210, chrono_tz::Europe::Berlin);
    assert_eq!(
        s.intervals(t("2026-03-28T00:00:00Z"), t("2026-03-30T00:00:00Z")),
        [(t("2026-03-29T01:00:00Z"), t("2026-03-29T01:30:00Z"))]
    );
}

#[test]
fn a_repeated_local_time_covers_both_showings() {
    // 2026-10-25: Berlin's clocks go back from 03:00 CEST (01:00 UTC) to 02:00 CET, so 02:00
    // to 03:00 is shown twice; 02:00-04:00 starts at the first 02:00 (00:00 UTC) and ends at
    // 04:00 CET (03:00 UTC): three real hours.
    let s = schedule(&[SUN], 120, 240, chrono_tz::Europe::Berlin);
    assert_eq!(
        s.intervals(t("2026-10-24T00:00:00Z"), t("2026-10-26T00:00:00Z")),
        [(t("2026-10-25T00:00:00Z"), t("2026-10-25T03:00:00Z"))]
    );
    // 02:15-02:45 ends at the second 02:45 (01:45 UTC).
    let s = schedule(&[SUN], 135, 165, chrono_tz::Europe::Berlin);
    assert_eq!(
        s.intervals(t("2026-10-24T00:00:00Z"), t("2026-10-26T00:00:00Z")),
        [(t("2026-10-25T00:15:00Z"), t("2026-10-25T01:45:00Z"))]
    );
}

#[test]
fn an_end_at_or_before_the_start_runs_past_midnight() {
    // Fridays 22:00 to 02:00: 2026-01-02 is a Friday.
    let s = schedule(&[FRI], 22 * 60, 120, chrono_tz::UTC);
    assert_eq!(
        s.intervals(t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z")),
        [(t("2026-01-02T22:00:00Z"), t("2026-01-03T02:00:00Z"))]
    );
    // Equal start and end: a whole day.
    let s = schedule(&[FRI], 0, 0, chrono_tz::UTC);
    assert_eq!(
        s.intervals(t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z")),
        [(t("2026-01-02T00:00:00Z"), t("2026-01-03T00:00:00Z"))]
    );
}

#[test]
fn a_window_past_midnight_is_clipped_to_the_range_and_found_from_the_day_before() {
    let s = schedule(&EVERY, 23 * 60, 60, chrono_tz::UTC);
    assert_eq!(
        s.intervals(t("2026-01-02T00:30:00Z"), t("2026-01-02T23:30:00Z")),
        [
            (t("2026-01-02T00:30:00Z"), t("2026-01-02T01:00:00Z")),
            (t("2026-01-02T23:00:00Z"), t("2026-01-02T23:30:00Z")),
        ]
    );
}

#[test]
fn the_days_filter_keeps_only_those_days() {
    // Mondays and Wednesdays 10:00-11:00 in a week starting Monday 2026-01-05.
    let s = schedule(&[0, 2], 600, 660, chrono_tz::UTC);
    assert_eq!(
        s.intervals(t("2026-01-05T00:00:00Z"), t("2026-01-12T00:00:00Z")),
        [
            (t("2026-01-05T10:00:00Z"), t("2026-01-05T11:00:00Z")),
            (t("2026-01-07T10:00:00Z"), t("2026-01-07T11:00:00Z")),
        ]
    );
    assert_eq!(s.describe(), "mon,wed 10:00-11:00 UTC");
}

fn one_off(from: i64, to: i64) -> Correction {
    Correction {
        name: None,
        reason: "r".into(),
        when: When::OneOff { from, to },
        alerts: AlertMode::Fire,
        origin: String::new(),
    }
}

#[test]
fn one_off_is_clipped_and_active_inside_only() {
    let c = one_off(100, 200);
    assert_eq!(c.intervals(0, 150), [(100, 150)]);
    assert!(c.intervals(200, 300).is_empty());
    assert!(c.active_at(100) && c.active_at(199));
    assert!(!c.active_at(99) && !c.active_at(200));
    assert_eq!(c.next_after(150), Some((100, 200)));
    assert_eq!(c.next_after(200), None);
}

#[test]
fn next_after_a_recurring_window_is_the_current_or_the_next_whole() {
    let c = Correction {
        when: When::Recurring(schedule(&[SUN], 120, 240, chrono_tz::UTC)),
        ..one_off(0, 0)
    };
    // Inside the 2026-01-04 window: that window, whole.
    assert_eq!(
        c.next_after(t("2026-01-04T03:00:00Z")),
        Some((t("2026-01-04T02:00:00Z"), t("2026-01-04T04:00:00Z")))
    );
    assert_eq!(
        c.next_after(t("2026-01-04T04:00:00Z")),
        Some((t("2026-01-11T02:00:00Z"), t("2026-01-11T04:00:00Z")))
    );
}

#[test]
fn overlapping_and_touching_intervals_merge_once() {
    assert_eq!(
        merge(vec![(10, 20), (0, 5), (15, 30), (30, 40), (50, 50)]),
        [(0, 5), (10, 40)]
    );
}

/// The seconds covered, counted one by one: the truth the merge must keep.
fn covered(intervals: &[Interval], lo: i64, hi: i64) -> Vec<bool> {
    (lo..hi)
        .map(|s| intervals.iter().any(|(a, b)| *a <= s && s < *b))
        .collect()
}

proptest! {
    #[test]
    fn merge_covers_the_same_seconds_disjointly_and_is_idempotent(
        raw in proptest::collection::vec((0i64..200, 0i64..40), 0..12)
    ) {
        let intervals: Vec<Interval> = raw.iter().map(|(a, len)| (*a, a + len)).collect();
        let merged = merge(intervals.clone());
        prop_assert_eq!(covered(&merged, 0, 240), covered(&intervals, 0, 240));
        for w in merged.windows(2) {
            prop_assert!(w[0].1 < w[1].0);
        }
        prop_assert_eq!(merge(merged.clone()), merged);
    }

    #[test]
    fn schedule_windows_lie_in_the_range_and_last_about_their_length(
        days in proptest::array::uniform7(any::<bool>()),
        start in 0u32..1440,
        end in 0u32..1440,
        from in 1_700_000_000i64..1_800_000_000,
        span in 0i64..(20 * 86400),
    ) {
        let s = Schedule { days, start, end, timezone: chrono_tz::Europe::Berlin };
        let to = from + span;
        let got = s.intervals(from, to);
        let nominal = if end <= start { end + 1440 - start } else { end - start } as i64 * 60;
        for (a, b) in &got {
            prop_assert!(from <= *a && a < b && *b <= to);
            // A DST change stretches or shrinks a window by at most an hour.
            prop_assert!(b - a <= nominal + 3600);
        }
        for w in got.windows(2) {
            prop_assert!(w[0].1 <= w[1].0);
        }
        // At most one window starts per selected day.
        let selected = days.iter().filter(|d| **d).count() as i64;
        prop_assert!(got.len() as i64 <= (span / 86400 + 2) * selected);
    }
}
