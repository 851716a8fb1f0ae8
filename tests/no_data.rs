//! No data is never good news: `sloburn run` (the real binary) with an SLO whose selector has a
//! typo (against a real Prometheus that holds the other SLOs' data), and with a source that is
//! unreachable from the start. Each face says "no data" and why: `/metrics` (`slo_data_present
//! 0`, no budget, ratio or burn rate), the JSON API (nulls), the status page, and the deploy
//! gate (cannot tell, exit 2, naming the SLO). The log says which selector matched nothing, once.
//! Zero traffic on series that exist stays data (0 errors).

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::process::Command;
use std::time::Duration;

use engine::{Metrics, Sloburn};
use support::backfill::{Backfill, HOUR, now_minute, scenario};
use support::process::free_port;
use support::prometheus::Prometheus;

const SPEC: &str = r#"
version: sloburn/v1
service: shop
slos:
  - name: good
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="steady",code="500"}
        total: http_requests_total{job="steady"}
  # One letter missing in the metric name: nothing matches.
  - name: typo
    objective: 99.5
    sli:
      ratio:
        errors: http_request_total{job="steady",code="500"}
        total: http_request_total{job="steady"}
  - name: typo-grouped
    objective: 99.5
    group_by: [route]
    sli:
      ratio:
        errors: http_request_total{job="steady",code="500"}
        total: http_request_total{job="steady"}
  # Series that exist but see no traffic: 0 errors of 0 is data, not its absence.
  - name: idle
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{job="idle",code="500"}
        total: http_requests_total{job="idle"}
  # The same as a raw error ratio: 0/0 every minute (NaN), which is no traffic, not no data.
  - name: idle-raw
    objective: 99.5
    sli:
      raw:
        error_ratio_query: sum(rate(http_requests_total{job="idle",code="500"}[{{.window}}])) / sum(rate(http_requests_total{job="idle"}[{{.window}}]))
"#;

fn gate(url: &str, service: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(["gate", "--url", url, "--service", service])
        .output()
        .expect("run sloburn gate");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn slo(name: &str) -> [(&'static str, &str); 2] {
    [("service", "shop"), ("slo", name)]
}

/// The four faces of one SLO without data, each saying `reason`.
fn assert_no_data(sloburn: &mut Sloburn, m: &Metrics, name: &str, reason: &str) {
    let what = format!("{name}: {reason}");
    assert_eq!(m.get("slo_data_present", &slo(name)), Some(0.0), "{what}");
    for family in [
        "slo_error_budget_remaining_ratio",
        "slo_period_error_ratio",
        "slo_error_ratio",
        "slo_burn_rate",
        "slo_error_budget_exhaustion_seconds",
    ] {
        assert!(
            m.find(family, &slo(name)).next().is_none(),
            "{what}: {family} exported without data:\n{}",
            m.lines_with(name)
        );
    }
    let (status, body) = sloburn.get(&format!("/api/v1/slos/shop/{name}"));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let series = &json["series"][0];
    let series = if series.is_null() { &json } else { series };
    assert_eq!(series["data_present"], false, "{what}: {body:.800}");
    assert!(series["error_budget_remaining"].is_null(), "{body:.800}");
    assert!(
        series["no_data_reason"]
            .as_str()
            .is_some_and(|r| r.contains(reason)),
        "{what}: {body:.800}"
    );
    let (status, page) = sloburn.get("/");
    assert_eq!(status, 200);
    assert!(
        page.contains("no data") && page.contains(&html_escape(reason)),
        "{what}: the status page does not say it"
    );
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn a_typo_in_a_selector_is_no_data_on_every_face() {
    let end = (now_minute() / HOUR) * HOUR;
    let mut b = Backfill::new(end - 6 * HOUR, end);
    scenario::steady(&mut b, "steady");
    let mut idle = scenario::Traffic::steady("idle");
    idle.quiet.push((end - 6 * HOUR, end));
    idle.add_to(&mut b);
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let mut sloburn = Sloburn::start_with_spec(&prometheus.url, SPEC, dir.path());
    let m = sloburn.wait_metrics(
        "the good SLO fresh with data",
        Duration::from_secs(60),
        "slo_data",
        |m| {
            m.fresh("shop", "good") == Some(true)
                && m.get("slo_data_present", &slo("good")) == Some(1.0)
        },
    );
    // The source answers for the typo too: fresh, but nothing to show.
    assert_eq!(m.fresh("shop", "typo"), Some(true));
    let reason = r#"no series matches http_request_total{job="steady"}"#;
    assert_no_data(&mut sloburn, &m, "typo", reason);
    // A grouped SLO that never saw a group still shows, as one series without group labels.
    assert_no_data(&mut sloburn, &m, "typo-grouped", reason);
    // Zero traffic on series that exist: data, a full budget, 0 errors.
    for idle in ["idle", "idle-raw"] {
        assert_eq!(m.get("slo_data_present", &slo(idle)), Some(1.0), "{idle}");
        assert_eq!(
            m.get("slo_error_budget_remaining_ratio", &slo(idle)),
            Some(1.0),
            "{idle}"
        );
    }
    assert_eq!(m.get("slo_data_present", &slo("good")), Some(1.0));
    assert!(
        m.get("slo_error_budget_remaining_ratio", &slo("good"))
            .is_some()
    );

    let (code, out) = gate(&sloburn.url, "shop");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("typo has no data") && out.contains(reason),
        "the gate names the SLO and why: {out}"
    );

    // A few more ticks: the log said it once, naming the selector.
    std::thread::sleep(Duration::from_secs(3));
    let log = sloburn.log();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the SLO has no data") && l.contains("slo=shop/typo "))
        .collect();
    assert_eq!(said.len(), 1, "said once:\n{}", sloburn.log_tail(40));
    assert!(said[0].contains("http_request_total"), "{}", said[0]);
    sloburn.stop();
}

#[test]
fn an_unreachable_source_from_the_start_is_no_data_on_every_face() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let mut sloburn = Sloburn::start_with_spec(&nobody, SPEC, dir.path());
    let m = sloburn.wait_metrics(
        "every SLO exported, stale, without data",
        Duration::from_secs(30),
        "slo_data",
        |m| {
            ["good", "typo", "idle"]
                .iter()
                .all(|s| m.get("slo_data_present", &slo(s)) == Some(0.0))
                && m.requests("unreachable") > 0.0
        },
    );
    for name in ["good", "typo", "typo-grouped", "idle"] {
        assert_eq!(m.fresh("shop", name), Some(false), "{name}");
        assert_no_data(
            &mut sloburn,
            &m,
            name,
            "from the source yet: cannot reach the source",
        );
    }
    let (code, out) = gate(&sloburn.url, "shop");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no usable answer from the source yet"),
        "{out}"
    );
    sloburn.stop();
}
