//! The exhaustion alert (#16.3) end to end: three hours of a service backfilled into a real
//! Prometheus and evaluated by `sloburn eval` (the real binary). 250 requests every 15 s; for
//! the last two hours 3 of them fail (1.2%, burn 1.2 at 99%). The forecast is worked out below
//! from those counts, not by sloburn: about 15 days, so `within: 17d` fires and `within: 13d`
//! does not. (The exact bound, a second either side, is tested on the evaluation itself.)

mod support;

use support::backfill::{Backfill, HOUR, MINUTE, STEP, now_minute};
use support::eval::{series, sloburn_eval};
use support::prometheus::Prometheus;

const SPECS: &str = r#"
version: sloburn/v1
service: shop
slos:
  - name: within-17d
    objective: 99
    sli: &sli
      ratio:
        errors: http_requests_total{job="shop",code="500"}
        total: http_requests_total{job="shop"}
    alerting:
      exhaustion: {within: 17d}
  - name: within-13d
    objective: 99
    sli: *sli
    alerting:
      exhaustion: {within: 13d, severity: page}
"#;

#[test]
fn the_exhaustion_alert_fires_on_the_forecast_from_the_counts() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let start = end - 3 * HOUR;
    let errors_from = end - 2 * HOUR;
    let mut b = Backfill::new(start, end);
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "200")],
        |t| if t > errors_from { 247.0 } else { 250.0 },
        &[],
    );
    b.counter(
        "http_requests_total",
        &[("job", "shop"), ("code", "500")],
        |t| if t > errors_from { 3.0 } else { 0.0 },
        &[],
    );
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let at = end - MINUTE;
    let snapshot = sloburn_eval(&prometheus.url, at, &specs).ok();

    // The truth at `at`: every sample after the first counts 250 requests, those after
    // `errors_from` 3 failures. The 30d period holds all of it; the 1h window only failing
    // samples. Rolling refill at the period's average burn (see `core::exhaustion_seconds`).
    let samples = |from: i64| ((at - from) / STEP) as f64;
    let (total, bad) = (250.0 * samples(start), 3.0 * samples(errors_from));
    let budget = 0.01;
    let remaining = 1.0 - bad / total / budget;
    let burn_1h = 3.0 / 250.0 / budget;
    let forecast = remaining * 30.0 * 86400.0 / (burn_1h - (1.0 - remaining));
    let days = forecast / 86400.0;
    assert!((15.0..15.2).contains(&days), "{days}");

    let fires = series(&snapshot, "within-17d", None);
    let got = fires["exhaustion_seconds"].as_f64().unwrap();
    // The engine counts the counters' samples exactly: the same number, to float noise.
    assert!(
        (got - forecast).abs() < 1e-9 * forecast,
        "sloburn {got}, counts {forecast}"
    );
    let alert = &fires["exhaustion_alert"];
    assert_eq!(alert["active"], true, "{alert}");
    assert_eq!(alert["severity"], "ticket", "{alert}");
    assert_eq!(alert["within"], "17d", "{alert}");

    let quiet = &series(&snapshot, "within-13d", None)["exhaustion_alert"];
    assert_eq!(quiet["active"], false, "{quiet}");
    assert_eq!(quiet["severity"], "page", "{quiet}");
}
