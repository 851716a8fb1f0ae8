//! The report math on hand-built stored histories: 10 days of coarse hours `[D, D + 10d)`, the
//! last 3 days also in minutes, with every count known.

use std::collections::BTreeMap;

use super::*;
use crate::core::bucket::{Bucket, Tier};
use crate::store::{SloMeta, StoredSlo};

const DAY: i64 = 86400;
const HOUR: i64 = 3600;
const MIN: i64 = 60;
/// A UTC midnight: 2026-11-01.
const D: i64 = 1_793_491_200;

/// 2 events a minute; the first minute of every hour has 1 bad; day 3, 05:00-05:25 all bad
/// (50 bad that hour); day 8, 10:30-10:40 all bad; day 6, 00:00-04:00 no events.
fn minute(t: i64) -> Counts {
    let (day, hour, min) = ((t - D) / DAY, (t - D) % DAY / HOUR, (t - D) % HOUR / MIN);
    if day == 6 && hour < 4 {
        return Counts::default();
    }
    let bad = if (day == 3 && hour == 5 && min < 25)
        || (day == 8 && hour == 10 && (30..40).contains(&min))
    {
        2.0
    } else if min == 0 {
        1.0
    } else {
        0.0
    };
    Counts { bad, total: 2.0 }
}

/// One group's stored buckets from `minute`, scaled by `scale`.
fn buckets(scale: f64) -> Vec<Bucket> {
    let mut out = Vec::new();
    let end = D + 10 * DAY;
    for h in (D..end).step_by(HOUR as usize) {
        let mut sum = Counts::default();
        for m in (h..h + HOUR).step_by(MIN as usize) {
            let c = minute(m);
            let c = Counts {
                bad: c.bad * scale,
                total: c.total * scale,
            };
            sum += c;
            if m >= end - 3 * DAY && c.total > 0.0 {
                out.push(Bucket {
                    tier: Tier::Fine,
                    start: m,
                    counts: c,
                });
            }
        }
        if sum.total > 0.0 {
            out.push(Bucket {
                tier: Tier::Coarse,
                start: h,
                counts: sum,
            });
        }
    }
    out
}

fn stored(groups: &[(&str, f64)]) -> StoredSlo {
    let meta = SloMeta {
        fingerprint: "v1:1".into(),
        fine_fed_until: Some(D + 10 * DAY),
        coarse_fed_until: Some(D + 10 * DAY),
        groups: groups
            .iter()
            .map(|(k, _)| {
                let labels = if k.is_empty() {
                    Vec::new()
                } else {
                    vec![("route".to_string(), k.to_string())]
                };
                (k.to_string(), labels)
            })
            .collect(),
        coarse_from: Some(D),
        coarse_res: Some(HOUR),
        objective: Some(0.99),
        ..Default::default()
    };
    let buckets: BTreeMap<String, Vec<Bucket>> = groups
        .iter()
        .map(|(k, s)| (k.to_string(), buckets(*s)))
        .collect();
    StoredSlo {
        meta,
        buckets,
        records: Default::default(),
    }
}

fn one(range: (i64, i64)) -> Row {
    let s = stored(&[("", 1.0)]);
    let o = Objective::from_ratio(0.99);
    let rows = rows("shop/avail", &s, o, Range::new(range.0, range.1).unwrap());
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

#[test]
fn whole_days_in_coarse_hours_with_the_worst_day_and_time_before_the_history() {
    let r = one((D - 2 * HOUR, D + 5 * DAY));
    assert_eq!((r.service.as_str(), r.slo.as_str()), ("shop", "avail"));
    assert_eq!(r.group, GroupOf::Ungrouped);
    // 5 days of 24 hours of 120 events; 1 bad an hour, 50 in day 3's hour 5.
    assert_eq!(
        r.counts,
        Counts {
            bad: 120.0 - 1.0 + 50.0,
            total: 5.0 * 24.0 * 120.0
        }
    );
    assert_eq!(r.not_held_secs, 2 * HOUR);
    assert_eq!(r.no_data_secs, 0);
    assert_eq!(r.covered, Some((D, D + 5 * DAY)));
    assert_eq!((r.coarse_res, r.minutes_from), (Some(HOUR), None));
    let worst = r.worst_day.clone().unwrap();
    assert_eq!(worst.start, D + 3 * DAY);
    assert_eq!(
        worst.counts,
        Counts {
            bad: 23.0 + 50.0,
            total: 24.0 * 120.0
        }
    );
    // bad / (total x (1 - objective)): 169 / 144.
    assert!((r.budget_consumed().unwrap() - 169.0 / 144.0).abs() < 1e-12);
    assert!((r.day_consumed(&worst).unwrap() - 73.0 / 144.0).abs() < 1e-12);
    assert!((r.sli().unwrap() - (1.0 - 169.0 / 14400.0)).abs() < 1e-12);
}

#[test]
fn hours_without_events_are_a_data_gap() {
    let r = one((D + 5 * DAY, D + 7 * DAY));
    assert_eq!(r.no_data_secs, 4 * HOUR);
    assert_eq!(r.counts.total, (48.0 - 4.0) * 120.0);
}

#[test]
fn an_edge_inside_a_coarse_bucket_counts_the_whole_bucket_and_says_so() {
    let r = one((D + DAY + 30 * MIN, D + 2 * DAY - 10 * MIN));
    assert_eq!(r.covered, Some((D + DAY, D + 2 * DAY)));
    assert_eq!(
        r.counts,
        Counts {
            bad: 24.0,
            total: 24.0 * 120.0
        }
    );
    assert_eq!((r.coarse_res, r.minutes_from), (Some(HOUR), None));
}

#[test]
fn inside_the_fine_tier_edges_are_exact_to_the_minute() {
    let from = D + 8 * DAY + 10 * HOUR + 35 * MIN;
    let r = one((from, D + 8 * DAY + 11 * HOUR));
    assert_eq!(
        r.counts,
        Counts {
            bad: 10.0,
            total: 50.0
        }
    );
    assert_eq!(r.covered, Some((from, D + 8 * DAY + 11 * HOUR)));
    assert_eq!((r.coarse_res, r.minutes_from), (None, Some(from)));
    // An edge inside a minute takes the whole minute.
    let r = one((from + 30, D + 8 * DAY + 10 * HOUR + 40 * MIN + 1));
    assert_eq!(
        r.counts,
        Counts {
            bad: 10.0,
            total: 12.0
        }
    );
    assert_eq!(r.covered, Some((from, D + 8 * DAY + 10 * HOUR + 41 * MIN)));
}

#[test]
fn coarse_before_the_fine_tier_and_minutes_inside_it() {
    let r = one((D + 6 * DAY, D + 8 * DAY));
    assert_eq!(r.counts.total, 48.0 * 120.0 - 4.0 * 120.0);
    assert_eq!(
        (r.coarse_res, r.minutes_from),
        (Some(HOUR), Some(D + 7 * DAY))
    );
    assert_eq!(r.worst_day.unwrap().start, D + 7 * DAY);
}

#[test]
fn a_range_past_the_newest_data_is_not_held_there() {
    let r = one((D + 9 * DAY, D + 11 * DAY));
    assert_eq!(r.not_held_secs, DAY);
    assert_eq!(r.covered, Some((D + 9 * DAY, D + 10 * DAY)));
    let r = one((D + 20 * DAY, D + 21 * DAY));
    assert_eq!(
        (r.covered, r.not_held_secs, r.counts),
        (None, DAY, Counts::default())
    );
    assert_eq!((r.sli(), r.worst_day.clone()), (None, None));
    // No event: the budget consumed is unknown, not a perfect 0%.
    assert_eq!(r.objective, Objective::from_ratio(0.99));
    assert_eq!(r.budget_consumed(), None);
}

#[test]
fn groups_each_and_all_together() {
    let s = stored(&[("a", 1.0), ("b", 3.0)]);
    let rows = rows("shop/routes", &s, None, Range::new(D, D + DAY).unwrap());
    let groups: Vec<&GroupOf> = rows.iter().map(|r| &r.group).collect();
    assert_eq!(
        groups,
        [
            &GroupOf::Labels(vec![("route".into(), "a".into())]),
            &GroupOf::Labels(vec![("route".into(), "b".into())]),
            &GroupOf::All(2),
        ]
    );
    assert_eq!(
        rows[0].counts,
        Counts {
            bad: 24.0,
            total: 2880.0
        }
    );
    assert_eq!(
        rows[1].counts,
        Counts {
            bad: 72.0,
            total: 8640.0
        }
    );
    assert_eq!(
        rows[2].counts,
        Counts {
            bad: 96.0,
            total: 11520.0
        }
    );
    // No objective: no budget, but the SLI and the worst day (most bad events) stand.
    assert_eq!(rows[2].budget_consumed(), None);
    assert!(rows[2].sli().is_some());
    assert_eq!(rows[2].worst_day.as_ref().unwrap().start, D);
}

#[test]
fn no_bad_event_has_no_worst_day_and_ties_take_the_earliest() {
    let mut s = stored(&[("", 1.0)]);
    for b in s.buckets.get_mut("").unwrap() {
        b.counts.bad = 0.0;
    }
    let o = Objective::from_ratio(0.99);
    let r = &rows("x/y", &s, o, Range::new(D, D + 2 * DAY).unwrap())[0];
    assert_eq!(r.worst_day, None);
    assert_eq!(r.budget_consumed(), Some(0.0));
    // Days 0 and 1 have the same bad events (1 an hour).
    let r = one((D, D + 2 * DAY));
    assert_eq!(r.worst_day.unwrap().start, D);
}

#[test]
fn an_older_file_without_resolution_or_coarse_from_is_read_from_its_buckets() {
    let mut s = stored(&[("", 1.0)]);
    s.meta.coarse_res = None;
    s.meta.coarse_from = None;
    let r = &rows("x/y", &s, None, Range::new(D - DAY, D + DAY).unwrap())[0];
    assert_eq!((r.not_held_secs, r.coarse_res), (DAY, Some(HOUR)));
}

#[test]
fn ranges_from_a_month_or_two_instants() {
    assert_eq!(
        Range::month("2026-11").unwrap(),
        Range {
            from: D,
            to: D + 30 * DAY
        }
    );
    assert_eq!(Range::month("2026-12").unwrap().to, D + 61 * DAY);
    for bad in ["2026-13", "2026", "26-11", "2026-11-01", "november"] {
        assert!(Range::month(bad).is_err(), "{bad}");
    }
    let r = Range::parse("2026-11-01T00:00:00Z", "2026-11-02T01:00:00+01:00").unwrap();
    assert_eq!(
        r,
        Range {
            from: D,
            to: D + DAY
        }
    );
    assert!(matches!(
        Range::parse("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"),
        Err(RangeError::Empty { .. })
    ));
    assert!(matches!(
        Range::parse("yesterday", "2026-11-01T00:00:00Z"),
        Err(RangeError::Time { .. })
    ));
    assert!(Range::new(D, D).is_err());
}

/// The fine tier begins inside an hour (3 days before a read that ended at :30): that hour is
/// counted from its coarse bucket, never from the minutes it only partly holds.
#[test]
fn an_hour_the_minutes_hold_only_in_part_is_counted_coarse() {
    let mut s = stored(&[("", 1.0)]);
    s.meta.fine_fed_until = Some(D + 10 * DAY - 30 * MIN);
    s.meta.coarse_fed_until = s.meta.fine_fed_until;
    let r = &rows(
        "x/y",
        &s,
        None,
        Range::new(D + 7 * DAY - HOUR, D + 7 * DAY).unwrap(),
    )[0];
    assert_eq!(
        r.counts,
        Counts {
            bad: 1.0,
            total: 120.0
        }
    );
    assert_eq!((r.coarse_res, r.minutes_from), (Some(HOUR), None));
    let r = &rows(
        "x/y",
        &s,
        None,
        Range::new(D + 7 * DAY - HOUR, D + 7 * DAY + HOUR).unwrap(),
    )[0];
    assert_eq!(
        r.counts,
        Counts {
            bad: 2.0,
            total: 240.0
        }
    );
    assert_eq!(
        (r.coarse_res, r.minutes_from),
        (Some(HOUR), Some(D + 7 * DAY))
    );
}

/// The coarse buckets were fed a day past the minutes (the engine moves `coarse_fed_until`
/// before a minute read that can fail): that day is counted from its coarse buckets, not read
/// as a day of no events from minutes never stored.
#[test]
fn coarse_fed_past_the_minutes_is_counted_coarse() {
    let mut s = stored(&[("", 1.0)]);
    s.meta.fine_fed_until = Some(D + 9 * DAY);
    s.buckets
        .get_mut("")
        .unwrap()
        .retain(|b| b.tier == Tier::Coarse || b.start < D + 9 * DAY);
    let r = &rows(
        "x/y",
        &s,
        None,
        Range::new(D + 8 * DAY, D + 10 * DAY).unwrap(),
    )[0];
    assert_eq!(r.counts.total, 48.0 * 120.0);
    assert_eq!(r.no_data_secs, 0);
    assert_eq!(
        (r.coarse_res, r.minutes_from),
        (Some(HOUR), Some(D + 8 * DAY))
    );
}

/// 5h coarse buckets (long periods) cross UTC midnight: a bucket goes to the day holding most
/// of it, and minutes are split at midnight.
#[test]
fn the_worst_day_splits_minutes_at_midnight_and_gives_a_bucket_to_its_larger_day() {
    const RES: i64 = 5 * HOUR;
    // The 5h grid from the epoch: a bucket runs [D - 2h, D + 3h).
    assert_eq!((D - 2 * HOUR) % RES, 0);
    let from = D - 22 * HOUR;
    let mut buckets = Vec::new();
    for k in 0..5 {
        let start = from + k * RES;
        // Only the bucket across midnight has bad events; 3 of its 5 hours are on day D.
        let bad = if start == D - 2 * HOUR { 30.0 } else { 0.0 };
        buckets.push(Bucket {
            tier: Tier::Coarse,
            start,
            counts: Counts { bad, total: 600.0 },
        });
    }
    let mut s = StoredSlo {
        meta: SloMeta {
            fingerprint: "v1:1".into(),
            coarse_fed_until: Some(D + 3 * HOUR),
            groups: [(String::new(), Vec::new())].into(),
            coarse_from: Some(from),
            coarse_res: Some(RES),
            ..Default::default()
        },
        buckets: [(String::new(), buckets)].into(),
        records: Default::default(),
    };
    let range = Range::new(from, D + 3 * HOUR).unwrap();
    let r = &rows("x/y", &s, None, range)[0];
    assert_eq!(r.coarse_res, Some(RES));
    let worst = r.worst_day.clone().unwrap();
    assert_eq!(
        (worst.start, worst.counts),
        (
            D,
            Counts {
                bad: 30.0,
                total: 600.0
            }
        )
    );
    // The same bucket in minutes: 2h before midnight all good, 3h after all bad.
    s.meta.fine_fed_until = Some(D + 3 * HOUR);
    let minutes = (D - 2 * HOUR..D + 3 * HOUR)
        .step_by(MIN as usize)
        .map(|m| Bucket {
            tier: Tier::Fine,
            start: m,
            counts: Counts {
                bad: if m >= D { 1.0 } else { 0.0 },
                total: 1.0,
            },
        });
    s.buckets.get_mut("").unwrap().extend(minutes);
    let r = &rows(
        "x/y",
        &s,
        None,
        Range::new(D - 2 * HOUR, D + 3 * HOUR).unwrap(),
    )[0];
    assert_eq!(r.minutes_from, Some(D - 2 * HOUR));
    assert_eq!(r.counts.total, 300.0);
    let worst = r.worst_day.clone().unwrap();
    assert_eq!(
        (worst.start, worst.counts),
        (
            D,
            Counts {
                bad: 180.0,
                total: 180.0
            }
        )
    );
    assert_eq!(r.covered, Some((D - 2 * HOUR, D + 3 * HOUR)));
}

/// A period under 3 days: the coarse buckets begin after the minutes do. The history begins at
/// the oldest minute, so those minutes are held, not "not held".
#[test]
fn the_history_begins_at_the_minutes_when_they_reach_further_back() {
    let mut s = stored(&[("", 1.0)]);
    s.meta.coarse_from = Some(D + 8 * DAY);
    s.buckets
        .get_mut("")
        .unwrap()
        .retain(|b| b.tier == Tier::Fine || b.start >= D + 8 * DAY);
    let r = &rows(
        "x/y",
        &s,
        None,
        Range::new(D + 6 * DAY, D + 8 * DAY).unwrap(),
    )[0];
    assert_eq!(r.not_held_secs, DAY);
    assert_eq!(r.counts.total, 24.0 * 120.0);
    assert_eq!(r.covered, Some((D + 7 * DAY, D + 8 * DAY)));
    assert_eq!((r.coarse_res, r.minutes_from), (None, Some(D + 7 * DAY)));
}

/// Records built by the engine's own bookkeeping from evaluations a minute apart whose states
/// the test chose: group a pages 10:00-11:00 on day 2 and freezes from then on; group b pages
/// 10:30-12:00; recording begins on day 1 and misses 02:00-03:00 on day 4 (engine down).
#[test]
fn alert_time_per_group_and_any_group_within_the_recorded_time() {
    use crate::core::record::{Active, Record};
    let mut s = stored(&[("a", 1.0), ("b", 1.0)]);
    let mut a = Record::default();
    let mut b = Record::default();
    for t in (D + DAY..=D + 10 * DAY).step_by(MIN as usize) {
        if (D + 4 * DAY + 2 * HOUR + MIN..D + 4 * DAY + 3 * HOUR).contains(&t) {
            continue;
        }
        let on = |from: i64, to: i64| (from..to).contains(&t);
        let day2 = D + 2 * DAY;
        a.observe(
            t,
            Some(Active {
                page: on(day2 + 10 * HOUR, day2 + 11 * HOUR),
                freeze: t >= day2 + 11 * HOUR,
                ..Default::default()
            }),
            90,
        );
        b.observe(
            t,
            Some(Active {
                page: on(day2 + 10 * HOUR + 30 * MIN, day2 + 12 * HOUR),
                ticket: on(day2, day2 + HOUR),
                ..Default::default()
            }),
            90,
        );
    }
    s.records = [("a".to_string(), a), ("b".to_string(), b)].into();
    let range = Range::new(D, D + 10 * DAY).unwrap();
    let rows = rows("shop/avail", &s, Objective::from_ratio(0.99), range);
    let [ra, rb, all] = rows.as_slice() else {
        panic!("{rows:?}")
    };
    // 9 days recorded, less the hour down.
    let recorded = 9 * DAY - HOUR;
    for r in [ra, rb, all] {
        assert_eq!(r.alerts.recorded_secs, recorded);
        assert_eq!(r.alerts.recorded_since, Some(D + DAY));
    }
    assert_eq!((ra.alerts.page_secs, rb.alerts.page_secs), (HOUR, 90 * MIN));
    assert_eq!((ra.alerts.ticket_secs, rb.alerts.ticket_secs), (0, HOUR));
    // Frozen from day 2 11:00 to the end, less the hour down.
    let frozen = 8 * DAY - 11 * HOUR - HOUR;
    assert_eq!((ra.alerts.freeze_secs, rb.alerts.freeze_secs), (frozen, 0));
    // Any group: 10:00-12:00.
    assert_eq!(all.alerts.page_secs, 2 * HOUR);
    assert_eq!(all.alerts.freeze_secs, frozen);
    // A range before recording began records nothing: its alert hours read "not recorded".
    let before = rows_of(&s, (D, D + DAY));
    assert_eq!(before[0].alerts.recorded_secs, 0);
    assert!(render::markdown(Range::new(D, D + DAY).unwrap(), &before).contains("not recorded"));
}

fn rows_of(s: &StoredSlo, (from, to): (i64, i64)) -> Vec<Row> {
    rows(
        "shop/avail",
        s,
        Objective::from_ratio(0.99),
        Range::new(from, to).unwrap(),
    )
}

/// A one-off correction named `mig` over `[from, to)`.
fn correction(from: i64, to: i64) -> crate::core::correction::Correction {
    crate::core::correction::Correction {
        name: Some("mig".into()),
        reason: "db migration".into(),
        when: crate::core::correction::When::OneOff { from, to },
        alerts: crate::core::correction::AlertMode::Fire,
        origin: "spec s.yaml:1:1".into(),
    }
}

/// The events `minute` feeds over `[from, to)` outside `[skip_from, skip_to)`: the history as
/// it would be without the outage, summed minute by minute (independent of the tiers).
fn fed_without(from: i64, to: i64, skip_from: i64, skip_to: i64) -> Counts {
    (from..to)
        .step_by(MIN as usize)
        .filter(|m| !(skip_from..skip_to).contains(m))
        .map(minute)
        .fold(Counts::default(), |s, c| s + c)
}

/// A correction over exactly day 8's outage (10:30-10:40, in the minutes): the corrected
/// budget is the budget of the history without those minutes, and it excludes their events.
#[test]
fn a_correction_over_an_outage_in_the_minutes_gives_the_budget_without_it() {
    let (out_from, out_to) = (
        D + 8 * DAY + 10 * HOUR + 30 * MIN,
        D + 8 * DAY + 10 * HOUR + 40 * MIN,
    );
    let mut s = stored(&[("", 1.0)]);
    s.meta.corrections = vec![correction(out_from, out_to)];
    let r = rows_of(&s, (D + 7 * DAY, D + 10 * DAY)).remove(0);
    assert_eq!(r.minutes_from, Some(D + 7 * DAY));
    // The outage's events: 10 minutes of 2, all bad.
    assert_eq!(
        r.excluded,
        Counts {
            bad: 20.0,
            total: 20.0
        }
    );
    let without = fed_without(D + 7 * DAY, D + 10 * DAY, out_from, out_to);
    assert_eq!(r.corrected(), without);
    let budget = without.bad / (without.total * 0.01);
    assert!((r.budget_consumed_corrected().unwrap() - budget).abs() < 1e-12);
    assert!((r.sli_corrected().unwrap() - (1.0 - without.bad / without.total)).abs() < 1e-12);
    // As measured, the outage still counts.
    let all = fed_without(D + 7 * DAY, D + 10 * DAY, 0, 0);
    assert_eq!(r.counts, all);
    assert!(r.budget_consumed().unwrap() > r.budget_consumed_corrected().unwrap());
    assert_eq!(r.corrections.len(), 1);
    assert_eq!(r.corrections[0].name.as_deref(), Some("mig"));
    assert_eq!(r.corrections[0].reason, "db migration");
    assert_eq!(
        r.corrections[0].when,
        "2026-11-09T10:30:00+00:00 to 2026-11-09T10:40:00+00:00"
    );
}

/// Before the minutes, only coarse hours wholly inside a correction are excluded: day 3's hour
/// 5 (the outage) exactly, nothing of an hour a correction only cuts.
#[test]
fn a_correction_in_the_coarse_hours_excludes_only_whole_hours() {
    let hour5 = D + 3 * DAY + 5 * HOUR;
    let mut s = stored(&[("", 1.0)]);
    s.meta.corrections = vec![correction(hour5, hour5 + HOUR)];
    let r = rows_of(&s, (D, D + 5 * DAY)).remove(0);
    assert_eq!(
        r.excluded,
        Counts {
            bad: 50.0,
            total: 120.0
        }
    );
    let without = fed_without(D, D + 5 * DAY, hour5, hour5 + HOUR);
    assert_eq!(r.corrected(), without);
    let budget = without.bad / (without.total * 0.01);
    assert!((r.budget_consumed_corrected().unwrap() - budget).abs() < 1e-12);

    // Only the outage's 25 minutes: inside one hour, which is kept whole.
    s.meta.corrections = vec![correction(hour5, hour5 + 25 * MIN)];
    let r = rows_of(&s, (D, D + 5 * DAY)).remove(0);
    assert_eq!(r.corrections.len(), 1);
    assert_eq!(r.excluded, Counts::default());
    assert_eq!(r.corrected(), r.counts);

    // A correction outside the range is not listed; rows without corrections are as before.
    s.meta.corrections = vec![correction(D + 6 * DAY, D + 7 * DAY)];
    let r = rows_of(&s, (D, D + 5 * DAY)).remove(0);
    assert!(r.corrections.is_empty());
    assert_eq!(r.excluded, Counts::default());
    assert_eq!(r.budget_consumed_corrected(), r.budget_consumed());
}

/// Groups each exclude their own events; the `all` row excludes their sum.
#[test]
fn a_correction_excludes_from_each_group_and_all() {
    let hour5 = D + 3 * DAY + 5 * HOUR;
    let mut s = stored(&[("a", 1.0), ("b", 2.0)]);
    s.meta.corrections = vec![correction(hour5, hour5 + HOUR)];
    let r = rows_of(&s, (D, D + 5 * DAY));
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0].excluded,
        Counts {
            bad: 50.0,
            total: 120.0
        }
    );
    assert_eq!(
        r[1].excluded,
        Counts {
            bad: 100.0,
            total: 240.0
        }
    );
    assert_eq!(
        r[2].excluded,
        Counts {
            bad: 150.0,
            total: 360.0
        }
    );
    assert!(r.iter().all(|r| r.corrections.len() == 1));
}

/// The HTML budget chart has no point on a day without events (as the SLI chart): a no-data
/// day is not drawn as a flat line of "nothing consumed".
#[test]
fn the_budget_chart_skips_days_without_events() {
    let range = Range::from_request(Some("2026-11"), None, None).unwrap();
    let day0 = range.from;
    let counts = |bad: f64, total: f64| crate::core::Counts { bad, total };
    let days: Vec<Day> = [counts(1.0, 100.0), counts(0.0, 0.0), counts(2.0, 100.0)]
        .into_iter()
        .enumerate()
        .map(|(k, counts)| Day {
            start: day0 + k as i64 * 86_400,
            counts,
        })
        .collect();
    let row = Row {
        service: "a".into(),
        slo: "b".into(),
        group: GroupOf::Ungrouped,
        counts: counts(3.0, 200.0),
        objective: crate::core::Objective::from_ratio(0.99),
        worst_day: None,
        days,
        alerts: Default::default(),
        no_data_secs: 86_400,
        not_held_secs: 0,
        covered: Some((range.from, range.from + 3 * 86_400)),
        coarse_res: Some(3600),
        minutes_from: None,
        corrections: Vec::new(),
        excluded: Default::default(),
    };
    let html = Format::Html.write(range, &[row]);
    let budget = &html[html.find("class=\"chart budget\"").unwrap()..];
    let budget = &budget[..budget.find("</svg>").unwrap()];
    assert_eq!(
        budget.matches("data-consumed-percent=").count(),
        2,
        "{budget}"
    );
    assert!(!budget.contains("data-day=\"2026-11-02\""), "{budget}");
    let line = &budget[budget.find("points=\"").unwrap() + 8..];
    assert_eq!(line[..line.find('"').unwrap()].split(' ').count(), 2);
}

/// A range of which only a sliver was recorded says how much next to the alert time in
/// Markdown and HTML (a bare "0h" would read as a quiet range); a fully recorded range does
/// not.
#[test]
fn alert_cells_of_a_partly_recorded_range_show_the_recorded_time() {
    let range = Range::from_request(Some("2026-11"), None, None).unwrap();
    let row = |recorded_secs: i64| Row {
        service: "a".into(),
        slo: "b".into(),
        group: GroupOf::Ungrouped,
        counts: crate::core::Counts {
            bad: 0.0,
            total: 100.0,
        },
        objective: crate::core::Objective::from_ratio(0.99),
        worst_day: None,
        days: Vec::new(),
        alerts: AlertTime {
            recorded_secs,
            recorded_since: Some(range.to - recorded_secs),
            page_secs: 36,
            ..Default::default()
        },
        no_data_secs: 0,
        not_held_secs: 0,
        covered: Some((range.from, range.to)),
        coarse_res: Some(3600),
        minutes_from: None,
        corrections: Vec::new(),
        excluded: Default::default(),
    };
    for format in [Format::Markdown, Format::Html] {
        let out = format.write(range, &[row(108)]);
        assert!(out.contains("0.01h (of 0.03h recorded)"), "{out}");
        assert!(out.contains("0h (of 0.03h recorded)"), "{out}");
        let out = format.write(range, &[row(range.to - range.from)]);
        assert!(!out.contains("recorded)"), "{out}");
    }
}
