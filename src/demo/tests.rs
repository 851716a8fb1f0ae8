use super::shop::{LEAD, conditions, in_maintenance_vacuum};

/// 2026-11-29 was a Sunday (Unix seconds from the calendar, not from the function's formula).
const SUNDAY_0210: f64 = 1_795_918_200.0;
const SUNDAY_0240: f64 = 1_795_920_000.0;
const SUNDAY_015959: f64 = 1_795_917_599.0;
const SATURDAY_0210: f64 = 1_795_831_800.0;

#[test]
fn the_maintenance_vacuum_is_sunday_0200_to_0230_utc() {
    assert!(in_maintenance_vacuum(SUNDAY_0210));
    assert!(in_maintenance_vacuum(SUNDAY_015959 + 1.0));
    assert!(!in_maintenance_vacuum(SUNDAY_015959));
    assert!(!in_maintenance_vacuum(SUNDAY_0240));
    assert!(!in_maintenance_vacuum(SATURDAY_0210));
    assert!(in_maintenance_vacuum(SUNDAY_0210 - 7.0 * 86400.0));
}

#[test]
fn the_vacuum_saturates_the_pool_in_the_past_only() {
    // Made-up history: above the pool SLO's 0.9 during the vacuum.
    let start = SUNDAY_0210 + 86400.0;
    assert!(conditions(SUNDAY_0210, start).pool >= 0.9);
    assert!(conditions(SUNDAY_0240, start).pool < 0.9);
    // The live script (from LEAD before the start) keeps its own 15-minute cycle.
    let live = conditions(SUNDAY_0210, SUNDAY_0210 + LEAD / 2.0);
    assert!(live.pool < 0.9, "{live:?}");
}
