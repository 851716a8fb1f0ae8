use super::*;
use chrono::Weekday;
use proptest::prelude::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn month(tz: Tz) -> Period {
    Period::Calendar {
        unit: CalendarUnit::Month,
        tz,
    }
}

fn week(tz: Tz) -> Period {
    Period::Calendar {
        unit: CalendarUnit::Week,
        tz,
    }
}

#[test]
fn nominal_lengths() {
    let d: PromDuration = "28d".parse().unwrap();
    assert_eq!(Period::Rolling(d).nominal(), d);
    assert_eq!(month(Tz::UTC).nominal().as_secs(), 30 * 86400);
    assert_eq!(week(Tz::UTC).nominal().as_secs(), 7 * 86400);
}

#[test]
fn describes_itself() {
    assert_eq!(Period::Rolling("30d".parse().unwrap()).describe(), "30d");
    assert_eq!(
        month(chrono_tz::Europe::Berlin).describe(),
        "calendar month (Europe/Berlin)"
    );
    assert_eq!(week(Tz::UTC).describe(), "calendar week (UTC)");
}

#[test]
fn rolling_bounds_end_at_the_instant() {
    let at = utc(2026, 3, 29, 12, 0);
    let p = Period::Rolling("30d".parse().unwrap());
    assert_eq!(p.bounds_at(at), (utc(2026, 2, 27, 12, 0), at));
    // Near the start of chrono's range the start clamps rather than panicking.
    let (start, end) = p.bounds_at(DateTime::<Utc>::MIN_UTC);
    assert_eq!(
        (start, end),
        (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC)
    );
    let huge = Period::Rolling(PromDuration::from_millis(u64::MAX));
    assert_eq!(huge.bounds_at(at).0, DateTime::<Utc>::MIN_UTC);
}

#[test]
fn known_month_in_utc() {
    let (start, end) = month(Tz::UTC).bounds_at(utc(2024, 2, 29, 23, 59));
    assert_eq!((start, end), (utc(2024, 2, 1, 0, 0), utc(2024, 3, 1, 0, 0)));
    let (start, end) = month(Tz::UTC).bounds_at(utc(2025, 12, 1, 0, 0));
    assert_eq!(
        (start, end),
        (utc(2025, 12, 1, 0, 0), utc(2026, 1, 1, 0, 0))
    );
}

#[test]
fn berlin_dst_start_2026() {
    let berlin = chrono_tz::Europe::Berlin;
    // Sunday 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    for at in [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)] {
        let (start, end) = week(berlin).bounds_at(at);
        assert_eq!(start, utc(2026, 3, 22, 23, 0), "Monday 23rd, CET");
        assert_eq!(end, utc(2026, 3, 29, 22, 0), "Monday 30th, CEST");
        assert_eq!((end - start).num_hours(), 167);
        let (start, end) = month(berlin).bounds_at(at);
        assert_eq!(start, utc(2026, 2, 28, 23, 0));
        assert_eq!(end, utc(2026, 3, 31, 22, 0));
    }
    // The last instant of the week belongs to it; the next belongs to the next week.
    let end = utc(2026, 3, 29, 22, 0);
    assert_eq!(week(berlin).bounds_at(end - TimeDelta::seconds(1)).1, end);
    assert_eq!(week(berlin).bounds_at(end).0, end);
}

#[test]
fn missing_midnight_starts_at_the_first_existing_instant() {
    // São Paulo, Monday 1997-10-06: 00:00 -03 jumped to 01:00 -02.
    let (start, _) = week(chrono_tz::America::Sao_Paulo).bounds_at(utc(1997, 10, 8, 12, 0));
    assert_eq!(start, utc(1997, 10, 6, 3, 0));
    // Havana, 2012-04-01: 00:00 CST jumped to 01:00 CDT.
    let (start, _) = month(chrono_tz::America::Havana).bounds_at(utc(2012, 4, 15, 12, 0));
    assert_eq!(start, utc(2012, 4, 1, 5, 0));
    // Tehran, Monday 2010-03-22: 00:00 +0330 jumped to 01:00 +0430.
    let (start, _) = week(chrono_tz::Asia::Tehran).bounds_at(utc(2010, 3, 24, 12, 0));
    assert_eq!(start, utc(2010, 3, 21, 20, 30));
    // Samoa skipped Friday 2011-12-30 entirely; the month boundaries are unaffected.
    let (start, end) = month(chrono_tz::Pacific::Apia).bounds_at(utc(2011, 12, 31, 12, 0));
    assert_eq!(month(chrono_tz::Pacific::Apia).bounds_at(end).0, end);
    assert!(start < end);
}

#[test]
fn repeated_midnight_starts_at_the_first_occurrence() {
    // Havana, 2015-11-01: 01:00 CDT fell back to 00:00 CST, so midnight happened twice.
    let (start, _) = month(chrono_tz::America::Havana).bounds_at(utc(2015, 11, 10, 0, 0));
    assert_eq!(start, utc(2015, 11, 1, 4, 0));
}

#[test]
fn extreme_instants_do_not_panic() {
    for tz in [
        Tz::UTC,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Etc::GMTPlus12,
    ] {
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for p in [month(tz), week(tz)] {
                let (start, end) = p.bounds_at(at);
                assert!(start <= end);
            }
        }
    }
}

const ZONES: [Tz; 8] = [
    Tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::America::Havana,
    chrono_tz::Asia::Tehran,
];

/// True when `start` is the first instant whose local time is at or after midnight of `day`.
fn is_first_instant_of(tz: Tz, start: DateTime<Utc>, day: NaiveDate) -> bool {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap();
    let before = (start - TimeDelta::seconds(1))
        .with_timezone(&tz)
        .naive_local();
    start.with_timezone(&tz).naive_local() >= midnight && before < midnight
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn calendar_periods_contain_and_tile(
        // 1970..2100, a superset of 2000..2100 that includes São Paulo's midnight DST starts.
        secs in 0i64..4_102_444_800,
        zone in 0..ZONES.len(),
        is_month in any::<bool>(),
    ) {
        let tz = ZONES[zone];
        let at = DateTime::from_timestamp(secs, 0).unwrap();
        let p = if is_month { month(tz) } else { week(tz) };
        let (start, end) = p.bounds_at(at);
        prop_assert!(start <= at && at < end, "{start} <= {at} < {end}");
        let local_day = at.with_timezone(&tz).date_naive();
        let first = if is_month {
            local_day.with_day(1).unwrap()
        } else {
            local_day - Days::new(u64::from(local_day.weekday().num_days_from_monday()))
        };
        if is_month {
            prop_assert_eq!(first.day(), 1);
        } else {
            prop_assert_eq!(first.weekday(), Weekday::Mon);
        }
        prop_assert!(is_first_instant_of(tz, start, first), "start {start} for {first} in {tz:?}");
        prop_assert_eq!(p.bounds_at(end).0, end);
        let days = (end - start).num_hours() as f64 / 24.0;
        if is_month {
            prop_assert!((27.9..=31.1).contains(&days), "{days}");
        } else {
            prop_assert!((6.9..=7.1).contains(&days), "{days}");
        }
    }

    #[test]
    fn rolling_bounds_have_the_period_length(secs in 0i64..4_102_444_800, len in 0u64..(400 * 86400)) {
        let at = DateTime::from_timestamp(secs, 0).unwrap();
        let (start, end) = Period::Rolling(PromDuration::from_secs(len)).bounds_at(at);
        prop_assert_eq!(end, at);
        prop_assert_eq!((end - start).num_seconds(), len as i64);
    }
}
