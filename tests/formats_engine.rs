//! The live engine's numbers for one SLO written in every format equal those of the same SLO
//! written natively, on the same 30 backfilled days in a real Prometheus.

mod support;

use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute, scenario};
use support::eval::sloburn_eval;
use support::prometheus::Prometheus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_gives_the_native_numbers() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::thirty_days(end);
    scenario::steady(&mut b, "steady");
    let prometheus = Prometheus::backfilled(&b);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats-engine");
    for at in [b.end() - 10 * MINUTE, b.end() - 2 * DAY] {
        let snapshot = sloburn_eval(&prometheus.url, at, dir).ok();
        let slos = snapshot["slos"].as_array().unwrap();
        assert_eq!(slos.len(), 5, "{snapshot:#}");
        let native = slos.iter().find(|s| s["service"] == "native").unwrap();
        let want = native["error_budget_remaining"].as_f64().unwrap();
        // The truth, too: 0.1% errors on a 0.5% budget leaves 80%.
        assert!((want - 0.8).abs() < 0.005, "native remaining {want}");
        for s in slos {
            let who = s["service"].as_str().unwrap();
            let got = s["error_budget_remaining"].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.005,
                "{who}: remaining {got} vs native {want}"
            );
            for (w, nw) in s["windows"]
                .as_array()
                .unwrap()
                .iter()
                .zip(native["windows"].as_array().unwrap())
            {
                assert_eq!(w["window"], nw["window"], "{who}");
                let (g, n) = (
                    w["burn_rate"].as_f64().unwrap(),
                    nw["burn_rate"].as_f64().unwrap(),
                );
                assert!(
                    (g - n).abs() <= 0.02 * n.max(0.05),
                    "{who} burn({}): {g} vs native {n}",
                    w["window"]
                );
            }
        }
    }
}
