//! The low-traffic guard (#16.4) end to end: three hours of a service with one request a minute,
//! every one failing (burn 1000 at 99.9%), backfilled into a real Prometheus and evaluated by
//! `sloburn eval` (the real binary). Its 5m window holds about 5 events and its 1h window about
//! 60, so a page guard of 3 events lets the 1h/5m page fire and one of 10 holds it back. (The
//! exact bound, N - 1 against N events, is tested on the evaluation itself.)

mod support;

use support::backfill::{Backfill, HOUR, MINUTE, now_minute};
use support::eval::{series, sloburn_eval};
use support::prometheus::Prometheus;

const SPECS: &str = r#"
version: sloburn/v1
service: night
slos:
  - name: unguarded
    objective: 99.9
    sli: &sli
      ratio:
        errors: http_requests_total{job="night",code="500"}
        total: http_requests_total{job="night"}
  - name: guard-below
    objective: 99.9
    sli: *sli
    alerting:
      page_alert:
        min_events: 3
  - name: guard-above
    objective: 99.9
    sli: *sli
    alerting:
      min_events: 10
"#;

#[test]
fn a_page_at_night_fires_above_the_guard_and_is_held_back_below_it() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::new(end - 3 * HOUR, end);
    // One failed request a minute (the counter's samples are every 15 s).
    b.counter(
        "http_requests_total",
        &[("job", "night"), ("code", "500")],
        |t| if t % MINUTE == 0 { 1.0 } else { 0.0 },
        &[],
    );
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let snapshot = sloburn_eval(&prometheus.url, end - MINUTE, &specs).ok();

    let page = |slo: &str| series(&snapshot, slo, None)["alerts"][0].clone();
    let total = |w: &str| {
        series(&snapshot, "unguarded", None)["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["window"] == w)
            .unwrap()["total"]
            .as_f64()
            .unwrap()
    };
    // The data are what the bounds assume.
    assert!((4.5..=5.5).contains(&total("5m")), "5m: {}", total("5m"));
    assert!((55.0..=65.0).contains(&total("1h")), "1h: {}", total("1h"));

    let unguarded = page("unguarded");
    assert_eq!(unguarded["long_window"], "1h", "{unguarded}");
    assert_eq!(unguarded["active"], true, "{unguarded}");
    assert_eq!(unguarded["low_traffic"], false, "{unguarded}");
    assert_eq!(unguarded["min_events"], 0, "{unguarded}");

    let below = page("guard-below");
    assert_eq!(below["active"], true, "{below}");
    assert_eq!(below["low_traffic"], false, "{below}");
    assert_eq!(below["min_events"], 3, "{below}");

    let above = page("guard-above");
    assert_eq!(above["active"], false, "{above}");
    assert_eq!(above["low_traffic"], true, "{above}");
    assert_eq!(above["min_events"], 10, "{above}");
}
