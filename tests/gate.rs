//! `sloburn gate` in a pipeline: frozen, not frozen, stale and unreachable give 1, 0, 2 and 2;
//! an SLO without data gives 2 (unless another SLO freezes the service: 1); `--fail-open`
//! turns "cannot tell" into 0; the API's answer matches `slo_feature_freeze`.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::process::Command;
use std::time::Duration;

use engine::Sloburn;
use support::fake_http::{FakeHttp, Mode, recent_minutes_json};
use support::process::free_port;

fn gate(url: &str, service: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args([
            "gate",
            "--url",
            url,
            "--service",
            service,
            "--timeout",
            "3s",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Templated PromQL (`irate`, not a selector in disguise), whose buckets the source evaluates,
/// so the fake's one answer for every query is a known count per bucket. (Counter SLIs read raw
/// samples and boundary values, which one answer for every query cannot play; the gate reads
/// the same snapshot either way.)
const SPEC: &str = r#"
version: sloburn/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    policy: {freeze_below: 10}
    sli:
      events:
        error_query: sum(irate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(irate(http_requests_total[{{.window}}]))
"#;

fn answer(value: &str) -> String {
    recent_minutes_json(engine::now_unix(), value)
}

fn start(fake: &FakeHttp, dir: &std::path::Path) -> Sloburn {
    Sloburn::start_with_spec(&fake.url, SPEC, dir)
}

#[test]
fn frozen_stale_and_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    // Every event bad: the budget is overspent, the service frozen.
    let fake = FakeHttp::start(Mode::Json(answer("10")));
    let mut sloburn = start(&fake, dir.path());
    let m = sloburn.wait_metrics(
        "the service frozen",
        Duration::from_secs(30),
        "slo_feature_freeze",
        |m| {
            m.get("slo_feature_freeze", &[("service", "checkout")]) == Some(1.0)
                && m.fresh("checkout", "availability") == Some(true)
        },
    );
    let (code, out) = gate(&sloburn.url, "checkout", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FROZEN") && out.contains("availability"),
        "{out}"
    );
    // The JSON says what the metrics say.
    let (status, body) = sloburn.get("/api/v1/gate?service=checkout");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["frozen"],
        m.value("slo_feature_freeze", &[("service", "checkout")]) == 1.0
    );
    assert_eq!(json["reasons"][0]["slo"], "availability");
    let remaining = m.value(
        "slo_error_budget_remaining_ratio",
        &[("service", "checkout"), ("slo", "availability")],
    );
    assert!((json["reasons"][0]["remaining"].as_f64().unwrap() - remaining).abs() < 1e-9);
    assert_eq!(json["reasons"][0]["freeze_below"], 0.1);
    // An SLO with data is not listed as without.
    assert_eq!(json["no_data"], serde_json::json!([]));

    // The source starts failing: stale, so the gate cannot tell.
    fake.set_mode(Mode::Status(500));
    sloburn.wait_metrics(
        "the SLO stale",
        Duration::from_secs(30),
        "slo_data_fresh",
        |m| m.fresh("checkout", "availability") == Some(false),
    );
    let (code, out) = gate(&sloburn.url, "checkout", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("stale"), "{out}");
    let (code, _) = gate(&sloburn.url, "checkout", &["--fail-open"]);
    assert_eq!(code, 0);
    // An unknown service cannot be judged either.
    assert_eq!(gate(&sloburn.url, "nope", &[]).0, 2);
}

#[test]
fn not_frozen_and_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    // No traffic at all (0/0): nothing spent, deploys may go on.
    let fake = FakeHttp::start(Mode::Json(answer("0")));
    let mut sloburn = start(&fake, dir.path());
    sloburn.wait_metrics(
        "fresh and not frozen",
        Duration::from_secs(30),
        "slo_feature_freeze",
        |m| {
            m.get("slo_feature_freeze", &[("service", "checkout")]) == Some(0.0)
                && m.fresh("checkout", "availability") == Some(true)
        },
    );
    let (code, out) = gate(&sloburn.url, "checkout", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("may go on"), "{out}");
    // Nobody listens: cannot tell.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (code, out) = gate(&closed, "checkout", &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(gate(&closed, "checkout", &["--fail-open"]).0, 0);
}

/// A stand-in for sloburn's `/api/v1/gate`, evaluated just now.
fn gate_answer(frozen: bool, no_data: &str) -> String {
    let reasons = if frozen {
        r#"[{"slo":"latency","remaining":-0.25,"freeze_below":0.0}]"#
    } else {
        "[]"
    };
    format!(
        r#"{{"service":"payments","frozen":{frozen},"reasons":{reasons},"no_data":{no_data},"evaluated_at":{},"fresh":true}}"#,
        engine::now_unix()
    )
}

const CHARGE_WITHOUT_DATA: &str =
    r#"[{"slo":"charge{route=/eu}","reason":"no series matches payments_total{job=\"pay\"}"}]"#;

#[test]
fn an_slo_without_data_means_cannot_tell() {
    let fake = FakeHttp::start(Mode::Json(gate_answer(false, CHARGE_WITHOUT_DATA)));
    let (code, out) = gate(&fake.url, "payments", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "payments: cannot tell: charge{route=/eu} has no data (no series matches payments_total{job=\"pay\"})"
        ),
        "{out}"
    );
    assert!(out.contains("failing closed"), "{out}");
    let (code, out) = gate(&fake.url, "payments", &["--fail-open"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("has no data") && out.contains("--fail-open"),
        "{out}"
    );

    // A freeze decided by SLOs with data stays a freeze (failing open must not undo it), and
    // the SLO without data is named too.
    fake.set_mode(Mode::Json(gate_answer(true, CHARGE_WITHOUT_DATA)));
    for extra in [&[][..], &["--fail-open"]] {
        let (code, out) = gate(&fake.url, "payments", extra);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("FROZEN: latency has -25.0% of its budget left")
                && out.contains("charge{route=/eu} has no data"),
            "{out}"
        );
    }

    // With data everywhere (and from a sloburn that predates the field), deploys may go on.
    fake.set_mode(Mode::Json(gate_answer(false, "[]")));
    assert_eq!(gate(&fake.url, "payments", &[]).0, 0);
    let old = gate_answer(false, "[]").replace(r#""no_data":[],"#, "");
    fake.set_mode(Mode::Json(old));
    let (code, out) = gate(&fake.url, "payments", &[]);
    assert_eq!(code, 0, "{out}");
}
