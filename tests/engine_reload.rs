//! Reloading the specs of a running `sloburn run` (the real binary), over HTTP and by SIGHUP,
//! against a real Prometheus holding 29 days of backfilled data.
//!
//! - A valid new set applies at once: a changed objective keeps the SLO's history (no second
//!   backfill, the same period counts), a removed SLO's series disappear, a new SLO appears.
//! - An invalid set is refused with its error, `sloburn_config_last_reload_success 0`, and the
//!   running SLOs go on (nothing of the refused set is applied).
//! - SIGHUP reloads too; `POST /-/reload` without `--enable-reload` is refused.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::path::Path;
use std::time::Duration;

use engine::{Metrics, Sloburn};
use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute, scenario};
use support::fake_http::{FakeHttp, Mode};
use support::prometheus::Prometheus;

fn spec(name: &str, objective: &str, job: &str) -> String {
    format!(
        r#"version: sloburn/v1
service: reload
slos:
  - name: {name}
    objective: {objective}
    sli:
      ratio:
        errors: http_requests_total{{job="{job}",code="500"}}
        total: http_requests_total{{job="{job}"}}
"#
    )
}

/// `sloburn run` on the specs in `specs`, reading `url`, its state under `dir`, ticking every
/// second with no lag, reloads allowed.
fn run_args(specs: &Path, url: &str, dir: &Path) -> Vec<String> {
    let state = dir.join("state");
    [
        "--spec",
        specs.to_str().unwrap(),
        "--prometheus-url",
        url,
        "--state-dir",
        state.to_str().unwrap(),
        "--evaluation-interval",
        "1s",
        "--query-lag",
        "0s",
        "--enable-reload",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

const BACKFILL_LOG: &str = "backfilling history from the source";

/// The log lines saying a backfill starts.
fn backfill_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(BACKFILL_LOG))
        .map(str::to_string)
        .collect()
}

fn slo_lines(m: &Metrics, slo: &str) -> Vec<String> {
    let label = format!("slo=\"{slo}\"");
    m.samples
        .iter()
        .filter(|s| s.line.contains(&label))
        .map(|s| s.line.clone())
        .collect()
}

#[test]
fn reload_keeps_history_drops_removed_adds_new_refuses_invalid_and_sighup_reloads() {
    // 29 days of data ending an hour ago: every period evaluated here holds all of it, so the
    // period's counts do not move while the test runs.
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::new(end - 29 * DAY, end);
    scenario::steady(&mut b, "steady");
    scenario::incident(&mut b, "incident", end - 5 * HOUR, 10 * MINUTE);
    let prometheus = Prometheus::backfilled(&b);

    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    write(&specs.join("a.yaml"), &spec("a", "99.5", "steady"));
    write(&specs.join("b.yaml"), &spec("b", "99.9", "incident"));
    let args = run_args(&specs, &prometheus.url, dir.path());
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    let a = [("service", "reload"), ("slo", "a")];

    let m = sloburn.wait_metrics(
        "A and B fresh",
        Duration::from_secs(60),
        "slo_data_fresh",
        |m| m.fresh("reload", "a") == Some(true) && m.fresh("reload", "b") == Some(true),
    );
    assert_eq!(m.value("slo_objective_ratio", &a), 0.995);
    let total_a = m.value("slo_period_total_events", &a);
    let good_a = m.value("slo_period_good_events", &a);
    let steady_total = b.events("http_requests_total", &[("job", "steady")], 0, end);
    let steady_bad = b.events(
        "http_requests_total",
        &[("job", "steady"), ("code", "500")],
        0,
        end,
    );
    assert!(
        (total_a - steady_total).abs() <= 0.001 * steady_total,
        "A's period total {total_a} vs truth {steady_total}"
    );
    assert_eq!(m.value("sloburn_config_last_reload_success", &[]), 1.0);
    let reload_ts0 = m.value("sloburn_config_last_reload_timestamp_seconds", &[]);
    let backfills_at_start = backfill_lines(&sloburn.log());
    assert_eq!(
        backfills_at_start.len(),
        1,
        "one backfill at start: {backfills_at_start:#?}"
    );
    assert!(
        backfills_at_start[0].contains("slos=2"),
        "{backfills_at_start:?}"
    );

    // GET is not a reload.
    assert_eq!(sloburn.get("/-/reload").0, 405);

    // A's objective changes, B goes, C comes.
    write(&specs.join("a.yaml"), &spec("a", "99", "steady"));
    std::fs::remove_file(specs.join("b.yaml")).unwrap();
    write(&specs.join("c.yaml"), &spec("c", "99.9", "incident"));
    let (status, body) = sloburn.post("/-/reload");
    assert_eq!(status, 200, "POST /-/reload: {body}");

    let m = sloburn.wait_metrics(
        "C fresh after the reload",
        Duration::from_secs(60),
        "slo_data_fresh",
        |m| m.fresh("reload", "c") == Some(true),
    );
    assert_eq!(
        m.value("slo_objective_ratio", &a),
        0.99,
        "A's new objective"
    );
    let total_after = m.value("slo_period_total_events", &a);
    let good_after = m.value("slo_period_good_events", &a);
    assert!(
        (total_after - total_a).abs() <= 1e-9 * total_a
            && (good_after - good_a).abs() <= 1e-9 * good_a,
        "A's history must be kept: total {total_a} -> {total_after}, good {good_a} -> {good_after}"
    );
    // The kept history under the new objective: 1 - ratio / 0.01.
    let want = 1.0 - (steady_bad / steady_total) / 0.01;
    let got = m.value("slo_error_budget_remaining_ratio", &a);
    assert!(
        (got - want).abs() <= 0.005,
        "A's remaining budget under 99%: {got} vs truth {want}"
    );
    assert_eq!(m.fresh("reload", "a"), Some(true));
    assert!(
        slo_lines(&m, "b").is_empty(),
        "B's series must be gone: {:#?}",
        slo_lines(&m, "b")
    );
    assert_eq!(
        m.find("slo_data_fresh", &[("slo", "c")]).count(),
        1,
        "C once"
    );
    assert_eq!(m.value("sloburn_slos", &[]), 2.0);
    assert_eq!(m.value("sloburn_config_last_reload_success", &[]), 1.0);
    let reload_ts1 = m.value("sloburn_config_last_reload_timestamp_seconds", &[]);
    assert!(
        reload_ts1 > reload_ts0,
        "reload timestamp {reload_ts0} -> {reload_ts1}"
    );
    let log = sloburn.log();
    let backfills = backfill_lines(&log);
    assert_eq!(
        backfills.len(),
        2,
        "exactly one more backfill after the reload (C's): {backfills:#?}"
    );
    assert!(
        backfills[1].contains("slos=1"),
        "only C backfills, not A again: {backfills:#?}"
    );
    assert!(
        !log.contains("SLI definition changed"),
        "A's SLI did not change:\n{}",
        sloburn.log_tail(20)
    );
    assert!(
        log.contains("SLO not in the specs: its stored history is kept"),
        "B's history is kept for the grace:\n{}",
        sloburn.log_tail(20)
    );

    // An invalid set: A's objective changes again, but C's is out of range: all refused.
    write(&specs.join("a.yaml"), &spec("a", "98", "steady"));
    write(&specs.join("c.yaml"), &spec("c", "100", "incident"));
    let (status, body) = sloburn.post("/-/reload");
    assert_ne!(status, 200, "an invalid spec must be refused: {body}");
    assert!(
        body.contains("c.yaml") && body.contains("objective") && body.contains("refused"),
        "the answer names the file, the field and says it was refused: {status} {body}"
    );
    let m = sloburn.metrics();
    assert_eq!(
        m.value("sloburn_config_last_reload_success", &[]),
        0.0,
        "\n{}",
        m.lines_with("sloburn_config")
    );
    let reload_ts2 = m.value("sloburn_config_last_reload_timestamp_seconds", &[]);
    assert!(
        reload_ts2 > reload_ts1,
        "reload timestamp {reload_ts1} -> {reload_ts2}"
    );
    assert_eq!(
        m.value("slo_objective_ratio", &a),
        0.99,
        "nothing of a refused set applies"
    );
    assert_eq!(
        m.value(
            "slo_objective_ratio",
            &[("service", "reload"), ("slo", "c")]
        ),
        0.999
    );
    // Still running and fresh, tick after tick.
    let evaluated = m.value("slo_last_evaluation_timestamp_seconds", &a);
    let m = sloburn.wait_metrics(
        "A and C still exported and fresh after the refused reload, on a later tick",
        Duration::from_secs(90),
        "slo_data_fresh",
        |m| {
            m.fresh("reload", "a") == Some(true)
                && m.fresh("reload", "c") == Some(true)
                && m.get("slo_last_evaluation_timestamp_seconds", &a) > Some(evaluated)
        },
    );
    assert_eq!(m.value("sloburn_config_last_reload_success", &[]), 0.0);
    assert_eq!(m.value("sloburn_slos", &[]), 2.0);

    // Fixed, and reloaded by SIGHUP: A's 98% applies now.
    write(&specs.join("c.yaml"), &spec("c", "99.9", "incident"));
    sloburn.hangup();
    let m = sloburn.wait_metrics(
        "the SIGHUP reload applied",
        Duration::from_secs(60),
        "slo_objective_ratio",
        |m| {
            m.get("sloburn_config_last_reload_success", &[]) == Some(1.0)
                && m.get("slo_objective_ratio", &a) == Some(0.98)
        },
    );
    assert_eq!(m.fresh("reload", "a"), Some(true));
    assert_eq!(m.fresh("reload", "c"), Some(true));
    assert_eq!(
        m.value("slo_period_total_events", &a),
        total_a,
        "A's history kept through every reload"
    );
    assert_eq!(
        backfill_lines(&sloburn.log()).len(),
        2,
        "no backfill for an objective change"
    );
    assert!(m.non_finite_slo_lines().is_empty());
    sloburn.assert_running();
    sloburn.stop();
}

#[test]
fn post_reload_is_refused_without_enable_reload() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeHttp::start(Mode::Json(
        r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.into(),
    ));
    let specs = dir.path().join("specs.yaml");
    write(&specs, &spec("a", "99.5", "steady"));
    let args: Vec<String> = [
        "--spec",
        specs.to_str().unwrap(),
        "--prometheus-url",
        &fake.url,
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
        "--evaluation-interval",
        "1s",
        "--query-lag",
        "0s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sloburn = Sloburn::start(&args, &dir.path().join("sloburn.log"));
    sloburn.wait_metrics("A fresh", Duration::from_secs(30), "slo_data_fresh", |m| {
        m.fresh("reload", "a") == Some(true)
    });
    // A change that a reload would apply.
    write(&specs, &spec("a", "99", "steady"));
    let (status, body) = sloburn.post("/-/reload");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("--enable-reload"), "{body}");
    let m = sloburn.metrics();
    assert_eq!(
        m.value(
            "slo_objective_ratio",
            &[("service", "reload"), ("slo", "a")]
        ),
        0.995,
        "a refused POST must not reload"
    );
    assert_eq!(m.value("sloburn_config_last_reload_success", &[]), 1.0);
    assert_eq!(sloburn.get("/healthz").0, 200);
    sloburn.stop();
}

/// A changed period keeps every event and reads what the new period needs (#14.3): 30d, then
/// 45d by a reload (2-hour buckets, and 15 days the history never held: an incident 40 days
/// back must count), then 7d, then 45d again across a restart. Each time the period's events
/// equal the backfilled truth over the new period.
#[test]
fn a_changed_period_counts_the_new_periods_events_across_reloads_and_restarts() {
    let end = (now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::new(end - 50 * DAY, end);
    scenario::incident(&mut b, "p", end - 40 * DAY, 2 * HOUR);
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let with_period = |period: &str| {
        spec("p", "99.9", "p").replace("    sli:", &format!("    period: {period}\n    sli:"))
    };
    write(&specs.join("p.yaml"), &with_period("30d"));
    let args = run_args(&specs, &prometheus.url, dir.path());
    let p = [("service", "reload"), ("slo", "p")];
    let truth = |days: i64| {
        let from = now_minute() - days * DAY;
        let total = b.events("http_requests_total", &[("job", "p")], from, end);
        let bad = b.events(
            "http_requests_total",
            &[("job", "p"), ("code", "500")],
            from,
            end,
        );
        (bad, total)
    };
    // The engine's numbers match the truth over `days` (the edge bucket is weighted: steady
    // traffic keeps that within 0.05% of the events).
    let matches = |m: &Metrics, days: i64| {
        let (Some(total), Some(good)) = (
            m.get("slo_period_total_events", &p),
            m.get("slo_period_good_events", &p),
        ) else {
            return false;
        };
        let (bad, want_total) = truth(days);
        (total - want_total).abs() <= 0.0005 * want_total
            && (total - good - bad).abs() <= 0.01 * bad
    };
    let report = |m: &Metrics, days: i64| {
        format!(
            "engine total {:?} good {:?}; truth over {days}d (bad, total) {:?}",
            m.get("slo_period_total_events", &p),
            m.get("slo_period_good_events", &p),
            truth(days)
        )
    };
    let log_path = dir.path().join("sloburn.log");
    let mut sloburn = Sloburn::start(&args, &log_path);
    let m = sloburn.wait_metrics(
        "30d counted",
        Duration::from_secs(90),
        "slo_period_total_events",
        |m| m.fresh("reload", "p") == Some(true) && matches(m, 30),
    );
    // The incident is outside 30 days: 30d holds only the steady errors.
    let (bad30, _) = truth(30);
    let (bad45, _) = truth(45);
    assert!(
        bad45 > 2.0 * bad30,
        "the incident dominates 45d: {bad30} vs {bad45}"
    );
    eprintln!("30d: {}", report(&m, 30));

    for (days, how) in [(45, "reload"), (7, "reload")] {
        write(&specs.join("p.yaml"), &with_period(&format!("{days}d")));
        let (status, body) = sloburn.post("/-/reload");
        assert_eq!(status, 200, "{body}");
        let m = sloburn.wait_metrics(
            &format!("{days}d counted after a {how}"),
            Duration::from_secs(90),
            "slo_period_total_events",
            |m| matches(m, days),
        );
        eprintln!("{days}d after a {how}: {}", report(&m, days));
    }
    // Stopped with a 7d history (1-hour buckets), started with 45d (2-hour buckets): the
    // restored buckets are added into the wider ones and the 38 days before them are read.
    sloburn.stop();
    write(&specs.join("p.yaml"), &with_period("45d"));
    let mut sloburn = Sloburn::start(&args, &log_path);
    let m = sloburn.wait_metrics(
        "45d counted after a restart",
        Duration::from_secs(90),
        "slo_period_total_events",
        |m| m.fresh("reload", "p") == Some(true) && matches(m, 45),
    );
    eprintln!("45d after a restart: {}", report(&m, 45));
    // And once more without a change: the rows saved after the rebuild are read back alone
    // (the 1-hour rows were replaced, not left to be added again).
    sloburn.stop();
    let mut sloburn = Sloburn::start(&args, &log_path);
    let m = sloburn.wait_metrics(
        "45d unchanged after a second restart",
        Duration::from_secs(90),
        "slo_period_total_events",
        |m| m.fresh("reload", "p") == Some(true),
    );
    assert!(matches(&m, 45), "{}", report(&m, 45));
    // Prometheus's own answer for the same 45 days (its `increase` extrapolates a little at
    // the edges): within 0.1%.
    let at = now_minute();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let prom_total = runtime
        .block_on(
            prometheus.query_scalar(r#"sum(increase(http_requests_total{job="p"}[45d]))"#, at),
        )
        .expect("Prometheus answers");
    let total = m.value("slo_period_total_events", &p);
    assert!(
        (total - prom_total).abs() <= 0.001 * prom_total,
        "45d: sloburn {total}, Prometheus increase() {prom_total}"
    );
    assert!(m.non_finite_slo_lines().is_empty());
    sloburn.stop();
}
