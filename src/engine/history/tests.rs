use super::block::{self, Minute};
use super::fine::{Cursor, Fine};
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
    let buckets: Vec<Bucket> = h.chunks().into_iter().flat_map(|c| stored(&c)).collect();
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

/// A minute's value as the tests feed it: mostly counter-like integers, some fractions, some
/// arbitrary f32 bit patterns (the sealed tier must give back any bits it was given).
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => (0u32..2000).prop_map(|v| v as f32),
        2 => Just(0.0f32),
        1 => (0u64..(1 << 40)).prop_map(|v| v as f32),
        1 => (0u32..100_000).prop_map(|v| v as f32 / 7.0),
        // Any bits but NaN's (the plain ring's f64 round trip may quiet a NaN; none is ever fed).
        1 => any::<u32>().prop_map(|b| Some(f32::from_bits(b)).filter(|v| !v.is_nan()).unwrap_or(0.5)),
    ]
}

fn minute() -> impl Strategy<Value = Minute> {
    (value(), value()).prop_map(|(bad, total)| Minute { bad, total })
}

fn same(a: Minute, b: Counts) -> bool {
    f64::from(a.bad).to_bits() == b.bad.to_bits()
        && f64::from(a.total).to_bits() == b.total.to_bits()
}

proptest! {
    /// A sealed hour decodes to the very bits it was given, whatever they are, in the size its
    /// plan says.
    #[test]
    fn a_block_gives_back_its_bits(
        minutes in proptest::collection::vec(minute(), 60),
        steady in proptest::option::of((0u32..1000, 0u32..100_000, 0u32..64, any::<bool>())),
    ) {
        let mut block: [Minute; 60] = std::array::from_fn(|i| minutes[i]);
        if let Some((bad, total, noise, rates)) = steady {
            // Counter-like: near a rate, a few errors; or a rate times seconds (fractions).
            let scale = if rates { 1.013 } else { 1.0 };
            for (i, m) in block.iter_mut().enumerate() {
                let jitter = (i as u32).wrapping_mul(2_654_435_761) % (noise + 1);
                *m = Minute {
                    bad: ((bad + jitter) % 4) as f32 * scale,
                    total: (total + jitter) as f32 * scale,
                };
            }
        }
        let bytes = block::encode(&block);
        let back = block::decode(&bytes);
        for (a, b) in block.iter().zip(back.iter()) {
            prop_assert_eq!((a.bad.to_bits(), a.total.to_bits()), (b.bad.to_bits(), b.total.to_bits()));
        }
        // Never more than plain f32 pairs, but a few header bytes.
        prop_assert!(bytes.len() <= 60 * 8 + 22, "{}", bytes.len());
    }

    /// Malformed block bytes read as numbers, never a panic.
    #[test]
    fn malformed_blocks_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = block::decode(&bytes);
    }
}

/// What a tick does to the fine tier, for comparing it with a plain ring.
#[derive(Debug, Clone)]
enum FineOp {
    /// Moves the head forward by this many minutes, reading every window's old edge at each
    /// step, as `advance_fine` does.
    Advance(i64),
    /// Sets the newest minute.
    Set(Minute),
    /// Reads a minute this far back from the head (past the 3 days too).
    Get(i64),
    /// Reads every minute and rebuilds the tier from them, as a restore does.
    Rebuild,
}

fn fine_op() -> impl Strategy<Value = FineOp> {
    prop_oneof![
        8 => (1i64..3).prop_map(FineOp::Advance),
        2 => (1i64..200).prop_map(FineOp::Advance),
        1 => (200i64..6000).prop_map(FineOp::Advance),
        8 => minute().prop_map(FineOp::Set),
        3 => (0i64..4400).prop_map(FineOp::Get),
        1 => Just(FineOp::Rebuild),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The fine tier (a plain ring of 2 hours, then sealed hours) reads exactly as the plain
    /// 3-day ring it replaced (kept here as the reference), through window edges, random reads,
    /// full reads and rebuilds.
    #[test]
    fn the_fine_tier_reads_as_a_plain_ring(
        ops in proptest::collection::vec(fine_op(), 1..600),
        offset in 0i64..120,
    ) {
        let mut plain: Ring<f32> = Ring::new(FINE_SECS, FINE_LEN);
        let mut fine = Fine::new();
        let edges = [5i64, 30, 60, 120, 360, 1440, 4320];
        let mut cursors = [Cursor::default(); 7];
        let mut head = 1_700_000_040 + offset * 60;
        plain.advance(head, |_, _| {});
        fine.advance(head);
        for op in ops {
            match op {
                FineOp::Advance(n) => {
                    for _ in 0..n.min(FINE_LEN as i64 + 1) {
                        let next = head + FINE_SECS;
                        for (w, cursor) in edges.iter().zip(cursors.iter_mut()) {
                            let leaving = next - w * FINE_SECS;
                            prop_assert!(same(fine.read(leaving, cursor), plain.get(leaving)), "edge {} at {}", w, next);
                        }
                        head = next;
                        plain.advance(head, |_, _| {});
                        fine.advance(head);
                    }
                    if n > FINE_LEN as i64 + 1 {
                        head += (n - FINE_LEN as i64 - 1) * FINE_SECS;
                        plain.advance(head, |_, _| {});
                        fine.advance(head);
                    }
                }
                FineOp::Set(m) => {
                    prop_assert!(fine.set(head, m));
                    plain.set(head, m.counts());
                }
                FineOp::Get(k) => {
                    let at = head - k * FINE_SECS;
                    prop_assert!(same(fine.get(at), plain.get(at)), "{} back", k);
                }
                FineOp::Rebuild => {
                    // As a restore does: a new tier, new cursors.
                    fine = Fine::from_minutes(head, &fine.minutes());
                    cursors = [Cursor::default(); 7];
                }
            }
            prop_assert_eq!(fine.head(), plain.head);
        }
        let all = fine.minutes();
        prop_assert_eq!(all.len(), FINE_LEN);
        for (k, m) in all.iter().enumerate() {
            let at = head - (FINE_LEN - 1 - k) as i64 * FINE_SECS;
            prop_assert!(same(*m, plain.get(at)), "minute {}", k);
        }
    }
}

/// One feeding step of a history: a gap in seconds, then what is read.
#[derive(Debug, Clone)]
enum Feed {
    /// A whole minute ending this many minutes after the last instant read.
    Minute(i64, u32, u32),
    /// A read up to this many seconds after the last instant read (inside a minute: open).
    Partial(i64, u32, u32),
    /// Nothing read up to this many seconds later.
    Empty(i64),
    /// The history saved and restored from its chunks.
    Restore,
}

fn feed() -> impl Strategy<Value = Feed> {
    prop_oneof![
        6 => (1i64..3, 0u32..20, 0u32..2000).prop_map(|(g, b, t)| Feed::Minute(g, b, t)),
        1 => (3i64..600, 0u32..20, 0u32..2000).prop_map(|(g, b, t)| Feed::Minute(g, b, t)),
        1 => (4000i64..6000, 0u32..20, 0u32..2000).prop_map(|(g, b, t)| Feed::Minute(g, b, t)),
        3 => (1i64..100, 0u32..20, 0u32..2000).prop_map(|(g, b, t)| Feed::Partial(g, b, t)),
        1 => (1i64..7200).prop_map(Feed::Empty),
        1 => Just(Feed::Restore),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// With integer counts (counter minutes), every window, the fine buckets and the stored
    /// chunks are exactly (==) the naive sums of the minutes fed, through gaps (longer than 3
    /// days too), open minutes, empty ticks and restores from stored chunks; a restore keeps
    /// every number.
    #[test]
    fn the_compact_history_is_exact_against_the_minutes_fed(
        steps in proptest::collection::vec(feed(), 1..400),
    ) {
        let period = Period::Rolling(d("7d"));
        let mut h = History::new(&period, &windows());
        let mut truth: Vec<(i64, Counts)> = Vec::new();
        let mut at: i64 = 1_700_000_040;
        for step in steps {
            match step {
                Feed::Minute(gap, bad, total) => {
                    at = (at.div_euclid(60) + gap) * 60;
                    let c = Counts { bad: bad.min(total) as f64, total: total as f64 };
                    h.push_minute(at, c);
                    h.mark_empty_until(at);
                    truth.push((at, c));
                }
                Feed::Partial(gap, bad, total) => {
                    at += gap;
                    let c = Counts { bad: bad.min(total) as f64, total: total as f64 };
                    h.push_partial(at, c);
                    h.mark_empty_until(at);
                    truth.push(((at + 59).div_euclid(60) * 60, c));
                }
                Feed::Empty(gap) => {
                    at += gap;
                    h.mark_empty_until(at);
                }
                Feed::Restore => {
                    let buckets: Vec<Bucket> = h
                        .chunks()
                        .into_iter()
                        .flat_map(|c| stored(&c))
                        .collect();
                    let back = History::restore(&period, &windows(), &buckets, h.read_until(), h.coarse_fed_until());
                    for w in windows() {
                        prop_assert_eq!(back.window(w), h.window(w), "{}", w);
                    }
                    prop_assert_eq!(back.period(&period), h.period(&period));
                    prop_assert_eq!(back.buckets(), h.buckets());
                    h = back;
                }
            }
            let Some(end) = h.fed_until() else { continue };
            for w in windows().into_iter().chain([d("10m"), d("2d")]) {
                let want = naive(&truth, end - w.as_secs() as i64, end);
                prop_assert_eq!(h.window(w), want, "{} at {}", w, at);
            }
        }
        let Some(end) = h.fed_until() else { return Ok(()) };
        // Every fine bucket is the minute's truth, and the stored chunks hold the same.
        let mut by_minute: std::collections::BTreeMap<i64, Counts> = Default::default();
        for (minute_end, c) in &truth {
            if *minute_end > end - FINE_LEN as i64 * 60 {
                *by_minute.entry(minute_end - 60).or_default() += *c;
            }
        }
        by_minute.retain(|_, c| c.bad != 0.0 || c.total != 0.0);
        let fine: Vec<(i64, Counts)> = h.buckets().into_iter().filter(|b| b.tier == Tier::Fine).map(|b| (b.start, b.counts)).collect();
        prop_assert_eq!(fine, by_minute.into_iter().collect::<Vec<_>>());
        let stored: Vec<Bucket> = h
            .chunks()
            .into_iter()
            .filter(|c| c.tier == Tier::Fine)
            .flat_map(|c| stored(&c))
            .filter(|b| b.counts != Counts::default())
            .collect();
        let fine: Vec<Bucket> = h.buckets().into_iter().filter(|b| b.tier == Tier::Fine).collect();
        prop_assert_eq!(stored, fine);
    }
}

/// Three days of minutes near 600 events (Poisson-like noise, a few errors), as a 10 req/s
/// service gives.
fn noisy_history(period: &Period) -> History {
    let mut h = History::new(period, &windows());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let start = 1_790_000_040;
    for m in 1..=(3 * 1440 + 30) {
        // A sum of 12 uniforms is near normal: 600 +- 25.
        let noise: i64 = (0..12).map(|_| (next() % 1000) as i64).sum::<i64>() - 6000;
        let total = (600 + noise * 25 / 1000) as f64;
        let bad = (next() % 1000 < 600) as u32 as f64;
        h.push_minute(start + m * 60, Counts { bad, total });
    }
    h
}

#[test]
fn memory_per_series_stays_under_16_kib() {
    let cal = Period::Calendar {
        unit: crate::core::CalendarUnit::Month,
        tz: chrono_tz::Europe::Berlin,
    };
    let periods: Vec<Period> = ["30d", "28d", "7d", "90d", "365d"]
        .iter()
        .map(|p| Period::Rolling(d(p)))
        .chain([cal])
        .collect();
    for p in &periods {
        let empty = History::new(p, &windows()).heap_bytes();
        assert!(empty < 8 * 1024, "{p:?}: {empty}");
        let full = noisy_history(p).heap_bytes();
        assert!(full < 16 * 1024, "{p:?}: {full}");
    }
}

/// A chunk's buckets as they come back from the store.
fn stored(c: &Chunk) -> Vec<Bucket> {
    let bytes = crate::store::chunk::encode(c).unwrap_or_default();
    crate::store::chunk::decode(c.tier, c.start, &bytes)
        .buckets()
        .collect()
}

/// A calendar month in a zone whose midnight is not a UTC hour (Kolkata +5:30, Kathmandu
/// +5:45, Adelaide +10:30 in summer): the new month's budget counts only its own minutes while
/// its start is within the minute ring. The outage (100% errors 18:00-18:30 UTC on the last
/// day of November, clean after) lies before Kolkata's December begins (18:30 UTC).
#[test]
fn a_calendar_period_starting_inside_an_hour_counts_only_its_own_minutes() {
    use chrono::TimeZone;
    let zones = [
        chrono_tz::Asia::Kolkata,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Australia::Adelaide,
    ];
    for tz in zones {
        let period = Period::Calendar {
            unit: crate::core::CalendarUnit::Month,
            tz,
        };
        // The month's first instant, from chrono alone (the truth's own clock).
        let december = tz
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .unwrap()
            .timestamp();
        let outage_start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 30, 18, 0, 0)
            .single()
            .unwrap()
            .timestamp();
        let mut h = History::new(&period, &windows());
        let mut fed = Vec::new();
        let first = december - 2 * 86_400;
        let mut end = first;
        while end < december + 2 * 86_400 {
            end += 60;
            let in_outage = end > outage_start && end <= outage_start + 1800;
            let c = Counts {
                bad: if in_outage {
                    100.0
                } else {
                    (end / 60 % 3) as f64
                },
                total: 100.0,
            };
            h.push_minute(end, c);
            fed.push((end, c));
            // Check at every minute of the month's first hours, then hourly.
            if end > december && (end - december <= 3 * 3600 || end % 3600 == 0) {
                let got = h.period(&period);
                let want = naive(&fed, december, end);
                // The chart's buckets add up to the same period.
                let charted = h
                    .period_buckets()
                    .into_iter()
                    .fold(Counts::default(), |a, (_, c)| a + c);
                assert!(
                    (charted.bad - want.bad).abs() < 1e-6
                        && (charted.total - want.total).abs() < 1e-6,
                    "{tz} chart at {end}: {charted:?}, truth {want:?}"
                );
                assert!(
                    (got.bad - want.bad).abs() < 1e-6 && (got.total - want.total).abs() < 1e-6,
                    "{tz} at {end} ({} min into the month): {got:?}, truth {want:?}",
                    (end - december) / 60
                );
            }
        }
    }
}

/// Rebuilt at a finer resolution (45d in 2-hour buckets to 7d in 1-hour ones), the newest
/// bucket, fed only 40 minutes into its two hours, keeps all its events in the hour they
/// happened in; older buckets are shared by time.
#[test]
fn a_finer_rebuild_keeps_the_newest_buckets_events() {
    let long = Period::Rolling(d("45d"));
    let short = Period::Rolling(d("7d"));
    assert_eq!(
        (coarse_resolution(&long), coarse_resolution(&short)),
        (7200, 3600)
    );
    let mut h = History::new(&long, &windows());
    let mut fed = Vec::new();
    let start = 1_800_000_000; // a multiple of 2 hours
    let mut end = start;
    // Two days, then 40 minutes into a 2-hour bucket.
    while end < start + 2 * 86_400 + 40 * 60 {
        end += 60;
        let c = Counts {
            bad: 1.0,
            total: 10.0,
        };
        h.push_minute(end, c);
        fed.push((end, c));
    }
    let back = History::restore_from(
        &short,
        &windows(),
        &h.buckets(),
        h.read_until(),
        h.coarse_fed_until(),
        Some(7200),
    );
    let want = naive(&fed, end - 7 * 86_400, end);
    assert_eq!(back.period(&short), want);
}

/// Minute `k` of a synthetic feed: counts the test knows.
fn minute_counts(k: i64) -> Counts {
    Counts {
        bad: (k % 5) as f64,
        total: 50.0 + (k % 11) as f64,
    }
}

#[test]
fn corrections_exclude_whole_minutes_inside_from_the_fine_tier() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let start = 1_700_000_040 / 3600 * 3600;
    let mut fed = Vec::new();
    for k in 1..=3000 {
        let end = start + k * 60;
        h.push_minute(end, minute_counts(k));
        fed.push((end, minute_counts(k)));
    }
    // Whole minutes 100..160 after the start: the minutes ending in (a, b].
    let (a, b) = (start + 100 * 60, start + 160 * 60);
    let got = h.excluded(&[(a, b)]);
    assert_eq!(got.counts, naive(&fed, a, b));
    assert!(!got.coarse);
    // Edges inside a minute: only the whole minutes inside count (never a minute's events
    // outside the declared range).
    let got = h.excluded(&[(a - 30, b + 30)]);
    assert_eq!(got.counts, naive(&fed, a, b));
    // Two disjoint intervals add up.
    let got = h.excluded(&[(a, a + 600), (b, b + 600)]);
    let want = naive(&fed, a, a + 600) + naive(&fed, b, b + 600);
    assert_eq!(got.counts, want);
    // Outside the history: nothing.
    assert_eq!(h.excluded(&[(0, 1000)]).counts, Counts::default());
    assert_eq!(h.excluded(&[]).counts, Counts::default());
}

#[test]
fn corrections_exclude_only_coarse_buckets_wholly_inside_beyond_the_minutes() {
    let period = Period::Rolling(d("30d"));
    let mut h = History::new(&period, &windows());
    let start = 1_700_000_000 / 3600 * 3600;
    // 20 days of hours, hour k holding k bad of 1000.
    let hour = |k: i64| Counts {
        bad: k as f64,
        total: 1000.0,
    };
    for k in 1..=480 {
        h.push_coarse(start + k * 3600, hour(k));
    }
    // Then 4 days of minutes (the fine tier holds the last 3 days).
    let fine_from = start + 480 * 3600;
    for k in 1..=(4 * 1440) {
        h.push_minute(fine_from + k * 60, minute_counts(k));
    }
    assert_eq!(h.coarse_res(), 3600);
    // Hours 10 to 13 whole (buckets starting at start + 10h .. + 12h, i.e. hours 11, 12, 13 of
    // the feed), plus half an hour each side that must not count.
    let a = start + 10 * 3600 - 1800;
    let b = start + 13 * 3600 + 1800;
    let got = h.excluded(&[(a, b)]);
    assert_eq!(got.counts, hour(11) + hour(12) + hour(13));
    assert!(got.coarse);
    // A correction shorter than a bucket excludes nothing out there.
    assert_eq!(
        h.excluded(&[(start + 3600 + 60, start + 7200 - 60)]).counts,
        Counts::default()
    );
    // Never more than the period holds, even for a correction over everything.
    let all = h.excluded(&[(0, i64::MAX / 2)]).counts;
    let p = h.period(&period);
    assert!(
        all.total <= p.total + 1e-6 && all.bad <= p.bad + 1e-6,
        "{all:?} vs {p:?}"
    );
}

proptest! {
    /// Against the minutes fed (the truth): a correction takes out exactly the whole minutes
    /// inside it, never more than the period holds, and nothing when it covers nothing.
    #[test]
    fn excluded_minutes_are_the_whole_minutes_inside_and_never_exceed_the_period(
        feed in proptest::collection::vec((0u32..20, 0u32..200), 1..600),
        spans in proptest::collection::vec((0i64..40_000, 0i64..20_000), 0..4),
    ) {
        let period = Period::Rolling(d("7d"));
        let mut h = History::new(&period, &windows());
        let start = 1_700_000_040;
        let mut fed = Vec::new();
        for (k, (bad, extra)) in feed.iter().enumerate() {
            let c = Counts { bad: f64::from(*bad), total: f64::from(bad + extra) };
            let end = start + (k as i64 + 1) * 60;
            h.push_minute(end, c);
            fed.push((end, c));
        }
        let intervals = crate::core::correction::merge(
            spans.iter().map(|(a, len)| (start + a, start + a + len)).collect(),
        );
        let got = h.excluded(&intervals);
        // A minute ending at `e` is taken out when [e - 60, e) lies inside a span.
        let mut want = Counts::default();
        for (e, c) in &fed {
            if intervals.iter().any(|(a, b)| *a <= e - 60 && *e <= *b) {
                want += *c;
            }
        }
        prop_assert!((got.counts.bad - want.bad).abs() < 1e-6 && (got.counts.total - want.total).abs() < 1e-6,
            "{:?} vs {:?}", got.counts, want);
        let p = h.period(&period);
        prop_assert!(got.counts.total <= p.total + 1e-6 && got.counts.bad <= p.bad + 1e-6);
        prop_assert!(!got.coarse);
        if intervals.is_empty() {
            prop_assert_eq!(got.counts, Counts::default());
        }
    }
}
