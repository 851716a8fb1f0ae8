use super::*;

const H: i64 = 3600;
const M: i64 = 60;
/// An hour boundary (so a minute boundary too).
const T: i64 = 1_799_996_400;

fn thirty_days() -> Period {
    Period::Rolling("30d".parse().unwrap())
}

fn reach(minute: i64, into: i64) -> Reach {
    Reach {
        minute,
        instant: minute + into,
    }
}

fn span(from: i64, to: i64) -> Span {
    Span { from, to }
}

/// (case, fed, coarse fed, reach, counter SLI?, plan)
type Case = (
    &'static str,
    Option<i64>,
    Option<i64>,
    Reach,
    bool,
    Option<ReadPlan>,
);

#[test]
fn each_case_reads_what_it_needs() {
    let p = thirty_days();
    let month = 30 * 24 * H;
    let cases: Vec<Case> = vec![
        (
            "first start, counters: the period in hours, 3 days of minutes by boundaries",
            None,
            None,
            reach(T, 35),
            true,
            Some(ReadPlan {
                lead: None,
                coarse: Some((span(T - month - H, T), H)),
                fine: span(T - 3 * 24 * H, T),
                how: FineRead::Boundaries,
            }),
        ),
        (
            "first start, templated: the same spans in the source's buckets",
            None,
            None,
            reach(T + 5 * M, 0),
            false,
            Some(ReadPlan {
                lead: None,
                // The period back from T + 5m starts inside the hour before T - 30d.
                coarse: Some((span(T - month - H, T), H)),
                fine: span(T + 5 * M - 3 * 24 * H, T + 5 * M),
                how: FineRead::Buckets,
            }),
        ),
        (
            "steady counters: the samples since the last read, into the current minute",
            Some(T + 20),
            Some(T + M),
            reach(T, 35),
            true,
            Some(ReadPlan {
                lead: None,
                coarse: None,
                fine: span(T + 20, T + 35),
                how: FineRead::Samples,
            }),
        ),
        (
            "steady templated: only whole minutes",
            Some(T - M),
            Some(T - M),
            reach(T, 35),
            false,
            Some(ReadPlan {
                lead: None,
                coarse: None,
                fine: span(T - M, T),
                how: FineRead::Buckets,
            }),
        ),
        (
            "templated, minute already read",
            Some(T),
            Some(T),
            reach(T, 35),
            false,
            None,
        ),
        (
            "counters, instant already read",
            Some(T + 35),
            Some(T + M),
            reach(T, 35),
            true,
            None,
        ),
        (
            "a 6-hour gap is still read sample by sample",
            Some(T - 6 * H),
            Some(T - 6 * H),
            reach(T, 0),
            true,
            Some(ReadPlan {
                lead: None,
                coarse: None,
                fine: span(T - 6 * H, T),
                how: FineRead::Samples,
            }),
        ),
        (
            "a longer gap (a restart a day later): coarse buckets from the coarse mark, the rest of \
             the minute the last read ended in sample by sample, then minutes by boundaries",
            Some(T - 24 * H - 30),
            Some(T - 24 * H),
            reach(T, 10),
            true,
            Some(ReadPlan {
                lead: Some(span(T - 24 * H - 30, T - 24 * H)),
                coarse: Some((span(T - 24 * H, T), H)),
                fine: span(T - 24 * H, T),
                how: FineRead::Boundaries,
            }),
        ),
        (
            "a gap longer than the period: the coarse read starts at the period's start",
            Some(T - 90 * 24 * H),
            Some(T - 90 * 24 * H),
            reach(T, 0),
            true,
            Some(ReadPlan {
                lead: None,
                coarse: Some((span(T - month - H, T), H)),
                fine: span(T - 3 * 24 * H, T),
                how: FineRead::Boundaries,
            }),
        ),
    ];
    for (case, fed, coarse_fed, reach, counts, want) in cases {
        let marks = Marks {
            fed,
            coarse_fed,
            coarse_from: None,
        };
        assert_eq!(plan(marks, reach, counts, &p), want, "{case}");
    }
}

#[test]
fn a_calendar_month_reaches_back_31_days() {
    let month = Period::Calendar {
        unit: crate::core::CalendarUnit::Month,
        tz: chrono_tz::UTC,
    };
    let p = plan(Marks::default(), reach(T, 0), true, &month).unwrap();
    assert_eq!(p.coarse, Some((span(T - 31 * 24 * H - H, T), H)));
}

/// A period made longer (30d to 40d): steady reads go on, and the part of the new period
/// before where the buckets begin is read once in coarse buckets; after a long gap, the coarse
/// read starts at the new period's start.
#[test]
fn a_longer_period_reads_what_lies_before_the_buckets() {
    let forty = Period::Rolling("40d".parse().unwrap());
    let day = 24 * H;
    let marks = Marks {
        fed: Some(T - 30),
        coarse_fed: Some(T - 30),
        coarse_from: Some(T - 30 * day - H),
    };
    // 40 days are kept in 2-hour buckets (the ring stays under 800).
    let res = coarse_resolution(&forty);
    assert_eq!(res, 2 * H);
    let floor = |t: i64| t.div_euclid(res) * res;
    let p = plan(marks, reach(T, 35), true, &forty).unwrap();
    assert_eq!(
        p.coarse,
        Some((
            span(floor(T - 40 * day - res), floor(T - 30 * day - H)),
            res
        ))
    );
    assert_eq!((p.fine, p.how), (span(T - 30, T + 35), FineRead::Samples));
    // Buckets that begin inside a 2-hour bucket: that bucket is read again, whole.
    let inside = Marks {
        coarse_from: Some(floor(T - 30 * day) + H),
        ..marks
    };
    let p = plan(inside, reach(T, 35), true, &forty).unwrap();
    assert_eq!(
        p.coarse,
        Some((
            span(floor(T - 40 * day - res), floor(T - 30 * day) + res),
            res
        ))
    );
    // Already read (the buckets begin at the period's start): nothing more.
    let done = Marks {
        coarse_from: Some(floor(T - 40 * day - res)),
        ..marks
    };
    assert_eq!(plan(done, reach(T, 35), true, &forty).unwrap().coarse, None);
    // A shorter period holds all it needs.
    let shorter = plan(
        marks,
        reach(T, 35),
        true,
        &Period::Rolling("7d".parse().unwrap()),
    );
    assert_eq!(shorter.unwrap().coarse, None);
    // After a long gap: from the period's start, not from the last bucket.
    let gap = Marks {
        fed: Some(T - day),
        coarse_fed: Some(T - day),
        ..marks
    };
    let p = plan(gap, reach(T, 0), true, &forty).unwrap();
    assert_eq!(
        p.coarse,
        Some((span(floor(T - 40 * day - res), floor(T)), res))
    );
}

/// Raw reads in slices of at most 15 minutes, oldest first, covering `(from, to]` once.
#[test]
fn raw_reads_are_sliced_without_gaps_or_overlaps() {
    let slices = |from, to| raw_slices(from, to).collect::<Vec<_>>();
    assert!(slices(T, T).is_empty());
    assert!(slices(T, T - 1).is_empty());
    assert_eq!(slices(T, T + 35), [(T + 35, 35)]);
    assert_eq!(
        slices(T, T + 30 * M),
        [(T + 15 * M, 15 * M), (T + 30 * M, 15 * M)]
    );
    let long = slices(T - 30, T + 6 * H);
    assert_eq!(long.first(), Some(&(T - 30 + 15 * M, 15 * M)));
    assert_eq!(long.last().map(|s| s.0), Some(T + 6 * H));
    assert_eq!(long.iter().map(|s| s.1).sum::<i64>(), 6 * H + 30);
}
