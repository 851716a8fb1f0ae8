use super::*;
use proptest::prelude::*;

fn d(s: &str) -> PromDuration {
    s.parse().unwrap()
}

fn windows() -> Vec<PromDuration> {
    ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
        .iter()
        .map(|w| d(w))
        .collect()
}

/// The truth: every minute's counts, summed naively.
fn naive(minutes: &[(i64, Counts)], from: i64, to: i64) -> Counts {
    let mut s = Counts::default();
    for (end, c) in minutes {
        if *end > from && *end <= to {
            s += *c;
        }
    }
    s
}

#[test]
fn windows_are_exact_sums_of_minutes() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let mut fed = Vec::new();
    let start = 1_700_000_040; // a minute boundary
    for k in 1..=5000 {
        let c = Counts {
            bad: (k % 7) as f64,
            total: 100.0 + (k % 13) as f64,
        };
        let end = start + k * 60;
        h.push_minute(end, c);
        fed.push((end, c));
    }
    let end = start + 5000 * 60;
    for w in windows() {
        let want = naive(&fed, end - w.as_secs() as i64, end);
        let got = h.window(w);
        assert!(
            (got.bad - want.bad).abs() < 1e-6 && (got.total - want.total).abs() < 1e-6,
            "{w}: {got:?} vs {want:?}"
        );
    }
    let period_sum = h.period(&period);
    let all = naive(&fed, 0, end);
    assert!(
        (period_sum.total - all.total).abs() < 1e-6,
        "{period_sum:?} vs {all:?}"
    );
}

#[test]
fn a_minute_is_never_counted_twice() {
    let period = Period::Rolling(d("7d"));
    let mut h = History::new(&period, &windows());
    h.push_minute(
        600,
        Counts {
            bad: 1.0,
            total: 10.0,
        },
    );
    h.push_minute(
        600,
        Counts {
            bad: 1.0,
            total: 10.0,
        },
    );
    h.push_minute(
        540,
        Counts {
            bad: 1.0,
            total: 10.0,
        },
    );
    assert_eq!(
        h.window(d("5m")),
        Counts {
            bad: 1.0,
            total: 10.0
        }
    );
    assert_eq!(
        h.period(&period),
        Counts {
            bad: 1.0,
            total: 10.0
        }
    );
}

#[test]
fn coarse_backfill_then_minutes_make_the_period() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let end = 30 * 86400 + 1_700_006_400; // hour-aligned
    let from = end - 30 * 86400;
    // 30 days of hours, each 1 bad of 1000, then the last hour again as minutes.
    let mut t = from + 3600;
    while t <= end - 3600 {
        h.push_coarse(
            t,
            Counts {
                bad: 1.0,
                total: 1000.0,
            },
        );
        t += 3600;
    }
    for m in 1..=60 {
        h.push_minute(
            end - 3600 + m * 60,
            Counts {
                bad: 0.0,
                total: 1000.0 / 60.0,
            },
        );
    }
    let p = h.period(&period);
    // Buckets are f32: the hour fed as 60 non-integer minutes is within 60 x 2^-24 of its 1000.
    let bound = 1000.0 * 60.0 * f64::from(f32::EPSILON) / 2.0;
    assert!((p.total - 30.0 * 24.0 * 1000.0).abs() <= bound, "{p:?}");
    assert!((p.bad - (30.0 * 24.0 - 1.0)).abs() < 1e-6, "{p:?}");
    // The fine ring only has the last hour.
    assert!((h.window(d("1h")).total - 1000.0).abs() <= bound);
}

#[test]
fn restore_gives_back_the_same_numbers() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    for k in 1..=3000 {
        h.push_minute(
            1_700_000_040 + k * 60,
            Counts {
                bad: (k % 3) as f64,
                total: 50.0,
            },
        );
    }
    let back = History::restore(
        &period,
        &windows(),
        &h.buckets(),
        h.fed_until(),
        h.coarse_fed_until(),
    );
    for w in windows() {
        assert_eq!(back.window(w), h.window(w), "{w}");
    }
    assert_eq!(back.period(&period), h.period(&period));
}

#[test]
fn memory_per_series_stays_under_64_kib() {
    for p in ["30d", "28d", "7d", "90d", "365d"] {
        let h = History::new(&Period::Rolling(d(p)), &windows());
        assert!(h.heap_bytes() < 64 * 1024, "{p}: {}", h.heap_bytes());
    }
    let cal = Period::Calendar {
        unit: crate::core::CalendarUnit::Month,
        tz: chrono_tz::Europe::Berlin,
    };
    assert!(History::new(&cal, &windows()).heap_bytes() < 64 * 1024);
}

#[test]
fn calendar_period_counts_from_the_start_of_the_month() {
    let period = Period::Calendar {
        unit: crate::core::CalendarUnit::Month,
        tz: chrono_tz::UTC,
    };
    let mut h = History::new(&period, &windows());
    // 2026-03-01T00:00:00Z = 1772323200; feed the last 2 days of February and 1 day of March.
    let march = 1_772_323_200;
    for k in 0..(3 * 1440) {
        let end = march - 2 * 86400 + (k + 1) * 60;
        h.push_minute(
            end,
            Counts {
                bad: 0.0,
                total: 1.0,
            },
        );
    }
    let p = h.period(&period);
    assert!((p.total - 1440.0).abs() < 1e-6, "{p:?}");
}

proptest! {
    #[test]
    fn windows_match_the_naive_sum_with_gaps(
        steps in proptest::collection::vec((1i64..30, 0u32..50, 0u32..500), 1..400)
    ) {
        let period = Period::Rolling(d("7d"));
        let mut h = History::new(&period, &windows());
        let mut fed = Vec::new();
        let mut end = 1_700_000_040;
        for (gap, bad, total) in steps {
            end += gap * 60;
            let c = Counts { bad: bad.min(total) as f64, total: total as f64 };
            h.push_minute(end, c);
            fed.push((end, c));
        }
        for w in windows() {
            let want = naive(&fed, end - w.as_secs() as i64, end);
            let got = h.window(w);
            prop_assert!((got.bad - want.bad).abs() < 1e-3 && (got.total - want.total).abs() < 1e-3, "{} {:?} {:?}", w, got, want);
        }
        // The period's old edge cuts one coarse bucket, weighted by share: the sum lies between
        // the sums that start at that bucket's two boundaries.
        let from = end - 7 * 86400;
        let lo = naive(&fed, from.div_euclid(3600) * 3600 + 3600, end);
        let hi = naive(&fed, from.div_euclid(3600) * 3600, end);
        let got = h.period(&period);
        prop_assert!(got.total >= lo.total - 1e-3 && got.total <= hi.total + 1e-3, "{:?} not in [{:?}, {:?}]", got, lo, hi);
    }
}

#[test]
fn chunks_round_trip() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    for k in 1..=200 {
        h.push_minute(
            1_700_000_040 + k * 60,
            Counts {
                bad: (k % 5) as f64,
                total: 40.0,
            },
        );
    }
    let dirty = h.take_dirty();
    assert!(!dirty.is_empty());
    assert!(h.take_dirty().is_empty());
    let buckets: Vec<Bucket> = h
        .chunks()
        .into_iter()
        .flat_map(|(tier, start, bytes)| History::decode_chunk(tier, start, &bytes))
        .collect();
    let back = History::restore(
        &period,
        &windows(),
        &buckets,
        h.fed_until(),
        h.coarse_fed_until(),
    );
    for w in windows() {
        assert_eq!(back.window(w), h.window(w), "{w}");
    }
    assert_eq!(back.period(&period), h.period(&period));
    assert!(History::decode_chunk(Tier::Coarse, 0, &[1, 2, 3]).is_empty());
}

proptest! {
    #[test]
    fn the_incremental_period_sum_equals_a_scan(
        steps in proptest::collection::vec((1i64..400, 0u32..50, 0u32..500, proptest::bool::ANY), 1..300),
        calendar in proptest::bool::ANY,
    ) {
        let period = if calendar {
            Period::Calendar { unit: crate::core::CalendarUnit::Week, tz: chrono_tz::Asia::Kolkata }
        } else {
            Period::Rolling(d("1d"))
        };
        let mut h = History::new(&period, &windows());
        let mut end = 1_700_000_040;
        for (gap, bad, total, settle) in steps {
            end += gap * 60;
            h.push_minute(end, Counts { bad: bad.min(total) as f64, total: total as f64 });
            if settle {
                h.settle();
                let (from, first) = h.period_start(end);
                prop_assert_eq!(h.period_sum.map(|(f, _)| f), Some(first), "the cached sum is in use");
                let cached = h.period(&period);
                let scanned = h.coarse_range(from, end);
                prop_assert!((cached.total - scanned.total).abs() < 1e-6 * scanned.total.max(1.0), "{:?} vs {:?}", cached, scanned);
                prop_assert!((cached.bad - scanned.bad).abs() < 1e-6 * scanned.bad.max(1.0), "{:?} vs {:?}", cached, scanned);
            }
        }
    }
}

#[test]
fn a_steady_tick_reads_the_period_from_the_running_sum() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let start = 1_790_000_040;
    for m in 1..=(3 * 1440) {
        h.push_minute(
            start + m * 60,
            Counts {
                bad: 1.0,
                total: 600.0,
            },
        );
    }
    h.mark_empty_until(start + 3 * 1440 * 60);
    for k in 1..=200 {
        let end = start + (3 * 1440 + k) * 60;
        h.push_minute(
            end,
            Counts {
                bad: 1.0,
                total: 600.0,
            },
        );
        h.mark_empty_until(end);
        let (_, first) = h.period_start(end);
        assert_eq!(h.period_sum.map(|(f, _)| f), Some(first), "tick {k}");
    }
}

proptest! {
    /// The runs of changed chunks give back exactly the set of starts marked, in any order of
    /// marking (in order, repeated, out of order, both tiers mixed).
    #[test]
    fn dirty_runs_are_the_set_of_marked_starts(
        marks in proptest::collection::vec((any::<bool>(), 0i64..200), 0..400),
    ) {
        let mut dirty = Dirty::default();
        let mut want = std::collections::BTreeSet::new();
        for (fine, k) in marks {
            let (tier, step) = if fine { (Tier::Fine, CHUNK_SECS) } else { (Tier::Coarse, 7200) };
            dirty.insert(tier, k * step, step);
            want.insert((tier, k * step));
        }
        let got = dirty.take();
        prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        prop_assert!(dirty.take().is_empty());
    }
}

#[test]
fn a_backfill_marks_its_chunks_in_a_few_runs() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let end = 1_700_006_400 + 30 * 86400;
    let mut t = end - 30 * 86400 + 3600;
    while t <= end {
        h.push_coarse(
            t,
            Counts {
                bad: 1.0,
                total: 10.0,
            },
        );
        t += 3600;
    }
    let mut m = end - 3 * 86400 + 60;
    while m <= end {
        h.push_minute(
            m,
            Counts {
                bad: 0.0,
                total: 1.0,
            },
        );
        m += 60;
    }
    assert!(h.dirty.runs.len() <= 3, "{:?}", h.dirty.runs);
    // 720 coarse buckets and the 72 hours of minutes (the minutes' coarse buckets are among
    // the 720).
    assert_eq!(h.take_dirty().len(), 720 + 72);
}

proptest! {
    /// Events fed in pieces as reads end inside minutes (an open minute, closed by a later
    /// read), with ticks that read nothing and restores in between, give the same windows and
    /// period at every step as the same events fed in whole minutes; at a read inside a minute,
    /// the windows hold that minute so far.
    #[test]
    fn an_open_minute_fed_in_pieces_equals_whole_minutes(
        steps in proptest::collection::vec((1i64..100, 0u32..5, 0u32..50, 0u8..4), 1..300),
    ) {
        let period = Period::Rolling(d("1d"));
        let mut h = History::new(&period, &windows());
        // Every event at the instant it was read up to: the truth by minute.
        let mut truth: Vec<(i64, Counts)> = Vec::new();
        let mut at = 1_700_000_040;
        for (gap, bad, total, how) in steps {
            at += gap;
            let c = Counts { bad: bad.min(total) as f64, total: total as f64 };
            let minute_end = (at + 59).div_euclid(60) * 60;
            match how {
                0 => h.mark_empty_until(at),
                _ => {
                    h.push_partial(at, c);
                    h.mark_empty_until(at);
                    truth.push((minute_end, c));
                }
            }
            if how == 3 {
                h = History::restore(&period, &windows(), &h.buckets(), h.read_until(), h.coarse_fed_until());
            }
            prop_assert_eq!(h.read_until(), Some(at));
            prop_assert_eq!(h.fed_until(), Some(minute_end));
            for w in windows() {
                let want = naive(&truth, minute_end - w.as_secs() as i64, minute_end);
                let got = h.window(w);
                prop_assert!((got.bad - want.bad).abs() < 1e-3 && (got.total - want.total).abs() < 1e-3, "{} at {}: {:?} {:?}", w, at, got, want);
            }
            let from = minute_end - 86400;
            let lo = naive(&truth, from.div_euclid(3600) * 3600 + 3600, minute_end);
            let hi = naive(&truth, from.div_euclid(3600) * 3600, minute_end);
            let got = h.period(&period);
            prop_assert!(got.total >= lo.total - 1e-3 && got.total <= hi.total + 1e-3, "{:?} not in [{:?}, {:?}]", got, lo, hi);
        }
    }
}

#[test]
fn a_closed_minute_takes_no_more_events() {
    let period = Period::Rolling(d("7d"));
    let five = d("5m");
    let mut h = History::new(&period, &[five]);
    h.push_partial(
        1_700_000_010,
        Counts {
            bad: 1.0,
            total: 10.0,
        },
    );
    h.push_minute(
        1_700_000_040,
        Counts {
            bad: 0.0,
            total: 5.0,
        },
    );
    assert_eq!(h.read_until(), Some(1_700_000_040));
    // A re-read of the closed minute is ignored, whole or in part.
    h.push_minute(
        1_700_000_040,
        Counts {
            bad: 9.0,
            total: 9.0,
        },
    );
    h.push_partial(
        1_700_000_030,
        Counts {
            bad: 9.0,
            total: 9.0,
        },
    );
    assert_eq!(
        h.window(five),
        Counts {
            bad: 1.0,
            total: 15.0
        }
    );
}
