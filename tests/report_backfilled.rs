//! `sloburn report` on a state directory written by `sloburn run` against a real Prometheus
//! backfilled with 14 days of traffic whose counts the test knows: a 45-minute outage on a known
//! day (the worst day) and 3 hours without requests (a data gap). The run is stopped, then the
//! report, with no Prometheus involved in it, must give the true counts over whole hours, in
//! coarse hours and in minutes.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::backfill::scenario::Traffic;
use support::backfill::{Backfill, DAY, HOUR, MINUTE, now_minute};
use support::eval::text;
use support::process::{ChildGuard, free_port, wait_for_http_ok};
use support::prometheus::Prometheus;
use support::truth::{Sli, counts};

const SPECS: &str = r#"
version: sloburn/v1
service: e2e
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="report",code="500"}
        total: http_requests_total{job="report"}
"#;

fn report(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .arg("report")
        .args(args)
        .output()
        .expect("run sloburn report")
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

async fn fresh(port: u16, deadline: Duration) {
    let started = Instant::now();
    loop {
        let answer = async {
            let r = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/slos"))
                .await
                .ok()?;
            r.json::<Value>().await.ok()
        };
        if let Some(v) = answer.await
            && v["slos"]
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|s| s["fresh"] == true))
        {
            return;
        }
        assert!(
            started.elapsed() < deadline,
            "not fresh within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_of_a_backfilled_run_gives_the_true_counts() {
    let end = now_minute() + MINUTE;
    let mut b = Backfill::new(end - 14 * DAY, end);
    let midnight = b.start().div_euclid(DAY) * DAY + DAY;
    let outage = midnight + 5 * DAY + 14 * HOUR;
    let quiet = midnight + 4 * DAY + 2 * HOUR;
    let mut traffic = Traffic::steady("report");
    traffic.incidents.push((outage, outage + 45 * MINUTE));
    traffic.quiet.push((quiet, quiet + 3 * HOUR));
    traffic.add_to(&mut b);
    let prometheus = Prometheus::backfilled(&b);

    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap();

    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args([
        "run",
        "--prometheus-url",
        &prometheus.url,
        "--evaluation-interval",
        "1s",
    ])
    .args(["--query-lag", "0s"])
    .arg("--spec")
    .arg(&specs)
    .arg("--state-dir")
    .arg(&state)
    .args(["--listen", &format!("127.0.0.1:{port}")])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut run = ChildGuard::spawn(cmd, "sloburn run");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();
    fresh(port, Duration::from_secs(120)).await;
    // A few ticks more: saved.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The running engine's own report, over whole hours of the backfill (minutes at the end):
    // its counts are the truth's, and equal the offline report's below.
    let sli = Sli::ratio(
        r#"http_requests_total{job="report",code="500"}"#,
        r#"http_requests_total{job="report"}"#,
    );
    let (api_from, api_to) = (midnight + DAY, end.div_euclid(HOUR) * HOUR);
    let base = format!("http://127.0.0.1:{port}");
    let api = |query: String| {
        let url = format!("{base}/api/v1/report?{query}");
        async move {
            let r = reqwest::get(&url).await.unwrap();
            let status = r.status().as_u16();
            let kind = r.headers()["content-type"].to_str().unwrap().to_string();
            (status, kind, r.text().await.unwrap())
        }
    };
    let range = format!("from={}&to={}", rfc3339(api_from), rfc3339(api_to)).replace('+', "%2B");
    let (status, kind, body) = api(range.clone()).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"), "{body}");
    let live: Value = serde_json::from_str(&body).unwrap();
    let truth = counts(&b, &sli, None, api_from, api_to);
    assert_eq!(live["slos"][0]["total"].as_f64().unwrap(), truth.total);
    assert_eq!(live["slos"][0]["bad"].as_f64().unwrap(), truth.bad);
    let (status, kind, body) = api(format!("{range}&format=csv")).await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(body.contains(&format!("e2e,avail,-,{},{},", truth.total, truth.bad)));
    // Bad parameters: 400 with the CLI's words.
    let (status, _, body) = api("month=2026-13".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is no month"), "{body}");
    // The status page links this month's and last month's HTML report, and both answer.
    let page = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let links: Vec<String> = page
        .split("href=\"")
        .skip(1)
        .map(|h| h[..h.find('"').unwrap()].replace("&amp;", "&"))
        .filter(|h| h.starts_with("/api/v1/report?"))
        .collect();
    assert_eq!(links.len(), 2, "{page}");
    for link in links {
        let r = reqwest::get(format!("{base}{link}")).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{link}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.text().await.unwrap().contains("<svg class=\"chart sli\""));
    }

    // While it runs, the file is locked: the report says so.
    let locked = report(&["--state-dir", state_arg, "--month", "2026-11"]);
    assert_eq!(locked.status.code(), Some(2), "{}", text(&locked));
    assert!(text(&locked).contains("is locked"), "{}", text(&locked));

    run.stop();
    drop(prometheus); // the report needs no Prometheus

    let fed = {
        let store = sloburn::store::Store::open_existing(&state).unwrap();
        store
            .load("e2e/avail")
            .unwrap()
            .unwrap()
            .meta
            .fine_fed_until
            .unwrap()
    };
    // Whole hours: from a UTC midnight in coarse hours to the last whole hour (in minutes).
    let (from, to) = (midnight + DAY, fed.div_euclid(HOUR) * HOUR);
    assert!(to - from > 8 * DAY && to > outage);
    let out = report(&[
        "--state-dir",
        state_arg,
        "--from",
        &rfc3339(from),
        "--to",
        &rfc3339(to),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &v["slos"][0];
    eprintln!("{row:#}");

    // The offline report over the API's range, after the stop: the same counts.
    let offline = report(&[
        "--state-dir",
        state_arg,
        "--from",
        &rfc3339(api_from),
        "--to",
        &rfc3339(api_to),
        "--format",
        "json",
    ]);
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    for field in ["total", "bad", "sli_percent", "worst_day", "no_data_hours"] {
        assert_eq!(offline["slos"][0][field], live["slos"][0][field], "{field}");
    }

    let truth = counts(&b, &sli, None, from, to);
    assert_eq!(row["total"].as_f64().unwrap(), truth.total);
    assert_eq!(row["bad"].as_f64().unwrap(), truth.bad);
    assert_eq!(row["objective_percent"], 99.9);
    let consumed = truth.bad / (truth.total * 0.001) * 100.0;
    assert!((row["budget_consumed_percent"].as_f64().unwrap() - consumed).abs() < 1e-9);
    // Both tiers: coarse hours, then the last 3 days in minutes.
    assert_eq!(row["coarse_seconds"], 3600);
    assert!(row["minutes_from"].is_string(), "{row}");
    assert_eq!(row["covered_from"], rfc3339(from));
    assert_eq!(row["covered_to"], rfc3339(to));
    assert_eq!(row["not_held_hours"], 0.0);

    // The worst day and the gap, from the truth day by day and hour by hour.
    let mut worst = (0, counts(&b, &sli, None, from, from + DAY));
    let mut day = from;
    while day < to {
        let c = counts(&b, &sli, None, day, (day + DAY).min(to));
        if c.bad > worst.1.bad {
            worst = (day, c);
        }
        day += DAY;
    }
    assert_eq!(worst.0, outage.div_euclid(DAY) * DAY);
    let w = &row["worst_day"];
    assert_eq!(w["day"], rfc3339(worst.0)[..10]);
    assert_eq!(w["bad"].as_f64().unwrap(), worst.1.bad);
    assert_eq!(w["total"].as_f64().unwrap(), worst.1.total);
    let empty_hours = (from..to)
        .step_by(HOUR as usize)
        .filter(|h| counts(&b, &sli, None, *h, h + HOUR).total == 0.0)
        .count();
    assert_eq!(empty_hours, 3);
    assert_eq!(row["no_data_hours"].as_f64().unwrap(), empty_hours as f64);

    // The same in Markdown and CSV.
    let md = report(&[
        "--state-dir",
        state_arg,
        "--from",
        &rfc3339(from),
        "--to",
        &rfc3339(to),
    ]);
    assert!(
        text(&md).contains(&format!(
            "| e2e | avail | - | {} | {} |",
            truth.total, truth.bad
        )),
        "{}",
        text(&md)
    );
    let csv = report(&[
        "--state-dir",
        state_arg,
        "--from",
        &rfc3339(from),
        "--to",
        &rfc3339(to),
        "--format",
        "csv",
    ]);
    let line = String::from_utf8_lossy(&csv.stdout)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with(&format!("e2e,avail,-,{},{},", truth.total, truth.bad)),
        "{line}"
    );
}
