//! Tests of the test harness in `tests/support/`: the backfill truth, a real Prometheus fed
//! with 30 days of synthetic history, the process guard and the fake HTTP server's modes.
//! Needs Prometheus and promtool: a missing one fails the test ("run scripts/test").

mod support;

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use support::backfill::scenario::{Regime, Requests};
use support::backfill::{Backfill, CounterOpts, DAY, HOUR, Kind, MINUTE, STEP, Schedule, scenario};
use support::fake_http::{FakeHttp, GARBAGE, Mode, PARTIAL_JSON, vector_json};
use support::process::{ChildGuard, find_binary, free_port, http_status, missing_binary_message};
use support::prometheus::{EMPTY_CONFIG, Prometheus, RawSeries, http_client};
use support::truth::{Counts, Selector, Sli, counts, groups, increments};

fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, truth {want} (allowed ±{}%)",
        rel * 100.0
    );
}

#[test]
fn truth_of_a_small_backfill() {
    // 10 samples: t = 0, 15, ..., 135; 2 events per sample, reset at 60.
    let mut b = Backfill::new(0, 150);
    let c = b.counter("x_total", &[("job", "t")], |_| 2.0, &[60]);
    let g = b.gauge("g", &[("job", "t")], |t| t as f64);
    assert_eq!(b.samples_per_series(), 10);
    // The first sample carries no events; the others 2 each.
    assert_eq!(b.series_events(c, -1000, 1000), 18.0);
    assert_eq!(b.series_events(c, 0, 15), 2.0);
    assert_eq!(b.series_events(c, 14, 15), 2.0);
    assert_eq!(b.series_events(c, 15, 29), 0.0);
    assert_eq!(b.events("x_total", &[("job", "t")], 30, 90), 8.0);
    // The reset: 0, 2, 4, 6, then 2 at t = 60.
    let values: Vec<f64> = b.samples(c, 0, 90).iter().map(|s| s.1).collect();
    assert_eq!(values, [0.0, 2.0, 4.0, 6.0, 2.0, 4.0]);
    assert_eq!(b.value_at(g, 44), Some(30.0));
    assert_eq!(b.value_at(g, -1), None);
    assert_eq!(b.sample_count_in(15, 45), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.om");
    b.write_openmetrics(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# TYPE x counter");
    assert_eq!(lines[1], r#"x_total{job="t"} 0 0"#);
    assert_eq!(lines[11], "# TYPE g gauge");
    assert_eq!(lines[13], r#"g{job="t"} 15 15"#);
    assert_eq!(*lines.last().unwrap(), "# EOF");
}

/// The truth on tiny hand-made series, every answer worked out by hand (times in ms).
#[test]
fn truth_by_hand() {
    let mut b = Backfill::new(0, 15_000);
    let c = Kind::Counter;
    // A reset between two samples: 25 then 4 is an increase of 4.
    let reset = b.exact(
        c,
        "a_total",
        &[],
        &[
            (0, 0.0),
            (15_000, 10.0),
            (30_000, 25.0),
            (45_000, 4.0),
            (60_000, 9.0),
        ],
    );
    assert_eq!(
        increments(b.raw_samples(reset)),
        [0.0, 10.0, 15.0, 4.0, 5.0]
    );
    assert_eq!(b.series_events(reset, 0, 60), 34.0);
    assert_eq!(b.series_events(reset, 30, 45), 4.0);
    assert_eq!(b.series_events(reset, 29, 46), 19.0);
    assert_eq!(b.series_events(reset, 60, 600), 0.0);
    // A series appearing mid-window whose first value is 7: the 7 is nobody's increase.
    let late = b.exact(
        c,
        "b_total",
        &[],
        &[(20_500, 7.0), (35_500, 9.0), (50_500, 12.0)],
    );
    assert_eq!(b.series_events(late, 0, 60), 5.0);
    assert_eq!(b.series_events(late, 0, 21), 0.0);
    assert_eq!(b.series_events(late, 20, 36), 2.0);
    assert_eq!(b.series_events_ms(late, 20_500, 35_500), 2.0);
    assert_eq!(b.series_events_ms(late, 20_499, 35_499), 0.0);
    // Gaps: exactly H (2 h) still counts, one millisecond more does not, not even a drop.
    let gaps = b.exact(
        c,
        "c_total",
        &[],
        &[
            (0, 100.0),
            (60_000, 110.0),
            (7_260_000, 150.0),  // 2 h after the previous sample: +40
            (14_460_001, 90.0),  // 2 h + 1 ms after: nothing (though it is a drop)
            (14_520_001, 110.0), // +20
        ],
    );
    assert_eq!(
        increments(b.raw_samples(gaps)),
        [0.0, 10.0, 40.0, 0.0, 20.0]
    );
    assert_eq!(b.series_events(gaps, -1, 15_000), 70.0);
    assert_eq!(b.series_events(gaps, 7_260, 14_520), 0.0);
    assert_eq!(b.series_events(gaps, 7_260, 14_521), 20.0);
    // A sample exactly on a window edge belongs to the window it ends, not the one it starts.
    let edge = b.exact(
        c,
        "d_total",
        &[],
        &[
            (60_000, 0.0),
            (120_000, 5.0),
            (180_000, 8.0),
            (239_999, 9.0),
        ],
    );
    assert_eq!(b.series_events(edge, 0, 60), 0.0);
    assert_eq!(b.series_events(edge, 60, 120), 5.0);
    assert_eq!(b.series_events(edge, 120, 180), 3.0);
    assert_eq!(b.series_events(edge, 180, 240), 1.0);
    assert_eq!(b.series_events(edge, 240, 300), 0.0);

    // A ratio SLI through selectors: the error series appears at its first error (value 1),
    // which is not counted; route /b has errors only in its second minute.
    let req = |b: &mut Backfill, labels: &[(&str, &str)], samples: &[(i64, f64)]| {
        b.exact(c, "http_requests_total", labels, samples);
    };
    let (ok_a, err_a) = (
        [("route", "/a"), ("code", "200")],
        [("route", "/a"), ("code", "500")],
    );
    req(
        &mut b,
        &ok_a,
        &[(0, 0.0), (60_000, 1000.0), (120_000, 1500.0)],
    );
    req(&mut b, &err_a, &[(60_000, 1.0), (120_000, 3.0)]);
    req(
        &mut b,
        &[("route", "/b"), ("code", "200")],
        &[(0, 50.0), (60_000, 150.0), (120_000, 250.0)],
    );
    req(
        &mut b,
        &[("route", "/b"), ("code", "500")],
        &[(0, 0.0), (60_000, 0.0), (120_000, 25.0)],
    );
    let ratio = Sli::ratio(
        r#"http_requests_total{code=~"5.."}"#,
        r#"http_requests_total{route!=""}"#,
    );
    assert_eq!(groups(&b, &ratio, "route"), ["/a", "/b"]);
    let got = |group, a, z| counts(&b, &ratio, group, a, z);
    assert_eq!(
        got(Some(("route", "/a")), 0, 60),
        Counts {
            bad: 0.0,
            total: 1000.0
        }
    );
    assert_eq!(
        got(Some(("route", "/a")), 0, 120),
        Counts {
            bad: 2.0,
            total: 1502.0
        }
    );
    assert_eq!(
        got(Some(("route", "/b")), 60, 120),
        Counts {
            bad: 25.0,
            total: 125.0
        }
    );
    assert_eq!(
        got(None, 0, 120),
        Counts {
            bad: 27.0,
            total: 1727.0
        }
    );
    assert_eq!(
        got(None, 120, 180),
        Counts {
            bad: 0.0,
            total: 0.0
        }
    );
    let one_in_ten = Counts {
        bad: 25.0,
        total: 250.0,
    };
    assert!((one_in_ten.burn_rate(0.9) - 1.0).abs() < 1e-12);
    assert!((one_in_ten.remaining(0.99) - -9.0).abs() < 1e-12);
    let none = Counts {
        bad: 0.0,
        total: 0.0,
    };
    assert_eq!((none.burn_rate(0.999), none.remaining(0.999)), (0.0, 1.0));

    // Latency: bad = max(total - good, 0) per window, so a window where the bucket got ahead
    // of the count (scraped a moment later) is 0 bad, not negative, and does not cancel another.
    let h = Kind::Histogram;
    b.exact(
        h,
        "lat_count",
        &[("job", "x")],
        &[(0, 0.0), (60_000, 10.0), (120_000, 20.0)],
    );
    let bucket = [("job", "x"), ("le", "0.3")];
    b.exact(
        h,
        "lat_bucket",
        &bucket,
        &[(0, 0.0), (60_000, 12.0), (120_000, 19.0)],
    );
    let latency = Sli::latency(r#"lat{job="x"}"#, "0.3");
    assert_eq!(
        counts(&b, &latency, None, 0, 60),
        Counts {
            bad: 0.0,
            total: 10.0
        }
    );
    assert_eq!(
        counts(&b, &latency, None, 60, 120),
        Counts {
            bad: 3.0,
            total: 10.0
        }
    );
    assert_eq!(
        counts(&b, &latency, None, 0, 120),
        Counts {
            bad: 1.0,
            total: 20.0
        }
    );
}

#[test]
fn selectors_parse_like_promql() {
    let s = Selector::parse(
        r#" http_requests_total{job="a\"b", code=~"5..",route!="/x", le!~"0\\.1|1" } "#,
    );
    assert_eq!(s.name, "http_requests_total");
    assert_eq!(s.matchers.len(), 4);
    let mut b = Backfill::new(0, 60);
    let mk = |b: &mut Backfill, labels: &[(&str, &str)]| {
        let id = b.exact(Kind::Counter, "http_requests_total", labels, &[]);
        s.matches(b.series(id))
    };
    assert!(mk(&mut b, &[("job", "a\"b"), ("code", "503")]));
    assert!(
        !mk(&mut b, &[("job", "a\"b"), ("code", "5030")]),
        "regexes are anchored"
    );
    assert!(!mk(
        &mut b,
        &[("job", "a\"b"), ("code", "500"), ("route", "/x")]
    ));
    assert!(!mk(
        &mut b,
        &[("job", "a\"b"), ("code", "501"), ("le", "0.1")]
    ));
    assert!(mk(
        &mut b,
        &[("job", "a\"b"), ("code", "502"), ("le", "0.3")]
    ));
    assert!(!mk(&mut b, &[("job", "ab"), ("code", "504")]));
    assert!(Selector::parse("up").matches(&support::backfill::Series {
        name: "up".into(),
        labels: vec![],
        kind: Kind::Gauge
    }));
}

#[test]
fn schedules_jitter_phase_gaps_and_bounds() {
    let s = Schedule::every(60).phase_ms(-13_000).jitter(2_000, 42);
    let ts = s.timestamps_ms(0, DAY);
    assert_eq!(ts.len(), 1440);
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
    for (k, &t) in ts.iter().enumerate() {
        let nominal = (k as i64 + 1) * 60_000 - 13_000;
        assert!((t - nominal).abs() <= 2_000, "{t} vs {nominal}");
    }
    let fractional = ts.iter().filter(|t| *t % 1000 != 0).count();
    assert!(
        fractional > 1400,
        "only {fractional} of 1440 off whole seconds"
    );
    assert_eq!(ts, s.timestamps_ms(0, DAY), "deterministic");
    assert_ne!(ts, s.clone().jitter(2_000, 43).timestamps_ms(0, DAY));
    // First, last and gaps (seconds) bound the timestamps themselves.
    let bounded = Schedule::every(15)
        .jitter(1_000, 1)
        .from(600)
        .until(3_600)
        .gap(1_200, 1_500);
    let ts = bounded.timestamps_ms(0, DAY);
    assert!(ts.iter().all(|&t| (600_000..=3_600_000).contains(&t)));
    assert!(!ts.iter().any(|&t| (1_200_000..1_500_000).contains(&t)));
    assert!((176..=182).contains(&ts.len()), "{}", ts.len());
}

#[test]
fn scheduled_counters_reset_appear_lazily_and_keep_the_truth() {
    let mut b = Backfill::new(0, HOUR);
    let s = Schedule::every(60).phase_ms(-13_000);
    // 1 event a second; reset at 1000 s (first sample at or after: 1007 s), start value 7.
    let opts = CounterOpts {
        start_value: 7.0,
        resets: vec![1_000],
        ..CounterOpts::default()
    };
    let id = b.counter_on(Kind::Counter, &s, "x_total", &[], &opts, |p, t| {
        ((t - p) / 1000) as f64
    });
    let samples = b.raw_samples(id);
    assert_eq!(samples[0], (47_000, 7.0));
    assert_eq!(samples[1], (107_000, 67.0));
    let at_reset = samples.iter().position(|s| s.0 == 1_007_000).unwrap();
    assert_eq!(samples[at_reset].1, 60.0, "restarted: only the last minute");
    assert_eq!(samples[at_reset + 1].1, 120.0);
    // The first sample carries nothing; every later one 60 (the reset's too).
    assert_eq!(
        b.series_events(id, 0, HOUR),
        60.0 * (samples.len() - 1) as f64
    );
    // Lazy: an error every 10 minutes from 300 s; no sample before the first one is counted.
    let lazy = CounterOpts {
        lazy: true,
        ..CounterOpts::default()
    };
    let errs = b.counter_on(Kind::Counter, &s, "e_total", &[], &lazy, |p, t| {
        ((t / 1000 + 300) / 600 - (p / 1000 + 300) / 600) as f64
    });
    let samples = b.raw_samples(errs);
    assert_eq!(
        samples[0],
        (347_000, 1.0),
        "appears at its first error, value 1"
    );
    assert_eq!(
        b.series_events(errs, 0, HOUR),
        samples.last().unwrap().1 - 1.0
    );
    // A reset the values cannot show is refused.
    let invisible = std::panic::catch_unwind(|| {
        let mut b = Backfill::new(0, HOUR);
        let opts = CounterOpts {
            resets: vec![100],
            ..CounterOpts::default()
        };
        b.counter_on(
            Kind::Counter,
            &Schedule::every(60),
            "y_total",
            &[],
            &opts,
            |_, t| {
                if t < 120_000 { 1.0 } else { 100.0 }
            },
        );
    });
    let why = invisible.unwrap_err();
    let why = why.downcast_ref::<String>().unwrap();
    assert!(why.contains("a reset whose value does not drop"), "{why}");
}

#[test]
fn request_streams_count_every_request_once() {
    let r = Requests::new(0, 1_000)
        .with(600, 1_200, Regime::Outage)
        .with(3_600, 7_200, Regime::Quiet)
        .with(9_000, 10_800, Regime::Slow);
    let failed = |g: Regime| r.failed(g);
    // 10 a second, 0.1 % of them failing: 1 in 100 s.
    assert_eq!(r.count(600_000, Requests::all), 6_000);
    assert_eq!(r.count(600_000, failed), 6);
    // The outage: every request of (600, 1200] fails.
    assert_eq!(r.count(1_200_000, failed) - r.count(600_000, failed), 6_000);
    // The quiet hour: nothing at all.
    assert_eq!(
        r.count(7_200_000, Requests::all),
        r.count(3_600_000, Requests::all)
    );
    // Slow: half the requests at or under 0.3 s.
    let under = |t| r.count(t, |g| Requests::under("0.3", g));
    assert_eq!(under(10_800_000) - under(9_000_000), 9_000);
    // Events between any two instants are exact differences.
    let ev = r.events(Requests::all);
    assert_eq!(ev(0, 1_234), 12.0);
    assert_eq!(ev(1_234, 1_299) + ev(1_299, 1_300), 1.0);
}

#[test]
fn missing_binary_fails_with_install_hint() {
    assert_eq!(find_binary("sloburn-no-such-binary"), None);
    let msg = missing_binary_message("sloburn-no-such-binary");
    assert!(msg.contains("run scripts/test, which installs it"), "{msg}");
    assert!(
        find_binary("prometheus").is_some(),
        "run scripts/test, which installs Prometheus"
    );
}

#[test]
fn child_guard_kills_and_reaps_on_drop() {
    let mut command = std::process::Command::new("sleep");
    command.arg("600");
    let guard = ChildGuard::spawn(command, "sleep");
    let pid = guard.id().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(guard);
    // Killed and waited for: not even a zombie is left.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// 30 days of every scenario, (a) to (g), in one Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_backfilled_into_real_prometheus() {
    let end = support::backfill::now_minute();
    let started = Instant::now();
    let mut b = Backfill::thirty_days(end);
    scenario::steady(&mut b, "demo");
    let reset = scenario::reset_at(&b);
    scenario::counter_reset(&mut b, "reset", reset);
    scenario::latency(&mut b, "demo", &[]);
    let hot = scenario::hot_windows(&b);
    scenario::saturation(&mut b, "demo", &hot);
    let incident = scenario::incident_at(&b);
    scenario::incident(&mut b, "incident", incident, 10 * MINUTE);
    let quiet = scenario::quiet_at(&b);
    scenario::zero_traffic(&mut b, "quiet", quiet);
    scenario::grouped(&mut b, "grouped");
    let generated = started.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let report = b.create_blocks(&data);
    let started_prometheus = Instant::now();
    let mut prometheus = Prometheus::start(&data, EMPTY_CONFIG);
    eprintln!(
        "{} series, {} samples: generate {:?}, write {:?} ({} MB), promtool {:?}, \
         Prometheus ready {:?}\n{}",
        report.series,
        report.samples,
        generated,
        report.write_time,
        report.openmetrics_bytes / 1_000_000,
        report.promtool_time,
        started_prometheus.elapsed(),
        report.promtool_output
    );

    // (a) increase over one hour matches the truth.
    let at = end - 2 * DAY - 17 * MINUTE;
    let truth = b.events(
        "http_requests_total",
        &[("job", "demo"), ("code", "500")],
        at - HOUR,
        at,
    );
    assert_eq!(truth, 36.0, "0.1 % of 10 req/s over an hour");
    let got = prometheus
        .query_scalar(
            r#"increase(http_requests_total{job="demo",code="500"}[1h])"#,
            at,
        )
        .await
        .expect("a sample");
    assert_close("increase of errors over 1h", got, truth, 0.01);

    // Retention: the oldest sample is still there, 30 days back.
    let count = prometheus
        .query_scalar(
            r#"count_over_time(http_requests_total{job="demo",code="500"}[30d])"#,
            end,
        )
        .await
        .expect("a sample");
    assert_eq!(
        count as usize,
        b.samples_per_series(),
        "samples over 30 days"
    );
    let oldest = prometheus
        .query_scalar(
            r#"min_over_time(timestamp(http_requests_total{job="demo",code="500"})[31d:1h])"#,
            end,
        )
        .await
        .expect("a sample");
    assert!(
        oldest <= (b.start() + HOUR) as f64,
        "oldest sample at {oldest}, start {}",
        b.start()
    );

    // (c) The reset is in the data, and increase() across it matches the truth.
    let before = prometheus
        .query_scalar(
            r#"http_requests_total{job="reset",code="200"}"#,
            reset - STEP,
        )
        .await
        .unwrap();
    let after = prometheus
        .query_scalar(r#"http_requests_total{job="reset",code="200"}"#, reset)
        .await
        .unwrap();
    assert!(
        after < before,
        "no reset in the data: {before} then {after}"
    );
    for code in ["200", "500"] {
        let truth = b.events(
            "http_requests_total",
            &[("job", "reset"), ("code", code)],
            reset - 30 * MINUTE,
            reset + 30 * MINUTE,
        );
        let expr = format!(r#"increase(http_requests_total{{job="reset",code="{code}"}}[1h])"#);
        let got = prometheus
            .query_scalar(&expr, reset + 30 * MINUTE)
            .await
            .unwrap();
        assert_close(
            &format!("increase across the reset, code {code}"),
            got,
            truth,
            0.01,
        );
    }

    // (f) The histogram family was accepted: share of requests under 0.3 s.
    let share = prometheus
        .query_scalar(
            r#"sum(increase(http_request_duration_seconds_bucket{job="demo",le="0.3"}[1h]))
               / sum(increase(http_request_duration_seconds_count{job="demo"}[1h]))"#,
            at,
        )
        .await
        .unwrap();
    assert_close(
        "share under 0.3 s",
        share,
        scenario::LATENCY_GOOD_SHARE,
        1e-9,
    );

    // (g) The gauge is above 0.8 for exactly the known samples.
    let (from, to) = hot[0];
    let hot_samples = b.sample_count_in(from + 1, to + 1);
    assert_eq!(hot_samples, 28, "7 minutes at 15 s");
    let above = prometheus
        .query_scalar(
            r#"count_over_time((pool_utilisation{job="demo"} > 0.8)[2h:15s])"#,
            to + HOUR,
        )
        .await
        .unwrap();
    assert_eq!(above as usize, hot_samples, "samples above 0.8");

    // (b) The incident: every request of its 10 minutes failed, none succeeded.
    let incident_end = incident + 10 * MINUTE;
    for (code, want) in [("500", 6000.0), ("200", 0.0)] {
        let truth = b.events(
            "http_requests_total",
            &[("job", "incident"), ("code", code)],
            incident,
            incident_end,
        );
        assert_eq!(truth, want, "10 minutes at 10 req/s, code {code}");
        let expr = format!(r#"increase(http_requests_total{{job="incident",code="{code}"}}[10m])"#);
        let got = prometheus.query_scalar(&expr, incident_end).await.unwrap();
        assert_eq!(got, truth, "{expr}");
    }

    // (d) The quiet hour: no traffic, so the error ratio is 0/0.
    let ratio = prometheus
        .query_scalar(
            r#"sum(increase(http_requests_total{job="quiet",code="500"}[1h]))
               / sum(increase(http_requests_total{job="quiet"}[1h]))"#,
            quiet + HOUR,
        )
        .await
        .unwrap();
    assert!(ratio.is_nan(), "error ratio of a quiet hour: {ratio}");
    assert_eq!(
        b.events(
            "http_requests_total",
            &[("job", "quiet")],
            quiet,
            quiet + HOUR
        ),
        0.0
    );

    // (e) Grouped: each route's error ratio over a day.
    let data = prometheus
        .query(
            r#"sum by (route) (increase(http_requests_total{job="grouped",code="500"}[1d]))
               / sum by (route) (increase(http_requests_total{job="grouped"}[1d]))"#,
            at,
        )
        .await;
    let result = data["result"].as_array().unwrap();
    assert_eq!(result.len(), scenario::ROUTES.len(), "{data}");
    for (route, ppm) in scenario::ROUTES {
        let matchers = [("job", "grouped"), ("route", route)];
        let bad = b.events(
            "http_requests_total",
            &[matchers[0], matchers[1], ("code", "500")],
            at - DAY,
            at,
        );
        let truth = bad / b.events("http_requests_total", &matchers, at - DAY, at);
        assert_close(
            &format!("{route} error share"),
            truth,
            ppm as f64 / 1e6,
            0.01,
        );
        let got: f64 = result
            .iter()
            .find(|r| r["metric"]["route"] == route)
            .unwrap_or_else(|| panic!("no {route} in {data}"))["value"][1]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_close(&format!("{route} error ratio"), got, truth, 1e-9);
    }

    // Stats: the number of samples a query read.
    let (data, samples) = prometheus
        .query_with_stats(
            r#"count_over_time(http_requests_total{job="demo",code="500"}[1d])"#,
            end,
        )
        .await;
    assert_eq!(data["resultType"], "vector");
    assert!(samples > 0, "totalQueryableSamples = {samples}");
    eprintln!("count_over_time over 1 day read {samples} samples");

    // Restart on the same port and data dir: same answers.
    let url = prometheus.url.clone();
    let restarted = Instant::now();
    prometheus.restart();
    eprintln!("restart {:?}", restarted.elapsed());
    assert_eq!(prometheus.url, url);
    let again = prometheus
        .query_scalar(
            r#"increase(http_requests_total{job="demo",code="500"}[1h])"#,
            at,
        )
        .await
        .unwrap();
    assert_eq!(again, got);

    // Stopped means gone.
    prometheus.stop();
    assert!(!prometheus.is_running());
    assert!(http_status(&format!("{url}/-/ready"), Duration::from_secs(1)).is_err());
    assert!(
        prometheus.try_query("up", end).await.is_err(),
        "a query to a stopped Prometheus must fail"
    );
}

/// Data shaped like real scrapes reads back from Prometheus exactly: samples off the minute
/// grid with jitter and millisecond timestamps, at 15 s, 30 s, 60 s and 2 m, a series that
/// appears with value 7 and one that vanishes, gaps shorter and longer than 2 h, a reset, an
/// error series that appears at its first error. Every sample, hour by hour through
/// `{job="offgrid"}[1h]`, and a range ending exactly on a fractional sample timestamp.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_grid_fractional_samples_read_back_exactly() {
    let end = (support::backfill::now_minute() / HOUR) * HOUR - HOUR;
    let mut b = Backfill::new(end - DAY, end);
    let start = b.start();
    let requests = Requests::new(start - 600, 1_000)
        .with(
            start + 5 * HOUR + 17,
            start + 5 * HOUR + 617,
            Regime::Outage,
        )
        .with(start + 14 * HOUR + 3, start + 15 * HOUR + 3, Regime::Quiet)
        .with(
            start + 16 * HOUR + 41,
            start + 16 * HOUR + 1841,
            Regime::Slow,
        );
    let s60 = Schedule::every(60)
        .phase_ms(-13_000)
        .jitter(2_000, 1)
        .gap(start + 3 * HOUR, start + 3 * HOUR + 20 * MINUTE)
        .gap(start + 8 * HOUR, start + 11 * HOUR);
    let reset = CounterOpts {
        resets: vec![start + 12 * HOUR + 31],
        ..CounterOpts::default()
    };
    let lazy_reset = CounterOpts {
        lazy: true,
        ..reset.clone()
    };
    let l60 = [("job", "offgrid"), ("interval", "60s")];
    let (ok60, _) = scenario::requests_on(&mut b, &s60, &l60, &requests, &reset, &lazy_reset);
    let s15 = Schedule::every(15)
        .phase_ms(2_345)
        .jitter(2_000, 2)
        .from(start + 2 * HOUR)
        .until(end - 3 * HOUR);
    let seven = CounterOpts {
        start_value: 7.0,
        ..CounterOpts::default()
    };
    let l15 = [("job", "offgrid"), ("interval", "15s")];
    scenario::requests_on(&mut b, &s15, &l15, &requests, &seven, &seven);
    let s30 = Schedule::every(30).phase_ms(-13_000).jitter(2_000, 3);
    let l30 = [("job", "offgrid"), ("interval", "30s")];
    scenario::latency_on(&mut b, &s30, &l30, &requests, &CounterOpts::default());
    let s120 = Schedule::every(120).phase_ms(-13_000).jitter(5_000, 4);
    let l120 = [("job", "offgrid"), ("interval", "2m")];
    b.gauge_on(&s120, "pool_utilisation", &l120, |t| {
        0.25 + (t % 1000) as f64 / 1000.0
    });
    let prometheus = Prometheus::backfilled(&b);

    let series: Vec<_> = b
        .all_series()
        .map(|(id, s)| {
            let mut labels: BTreeMap<String, String> = s.labels.iter().cloned().collect();
            labels.insert("__name__".into(), s.name.clone());
            (id, labels)
        })
        .collect();
    let check = |got: &[RawSeries], at_ms: i64| -> usize {
        let mut seen = 0;
        for (id, labels) in &series {
            let want: Vec<(i64, f64)> = b
                .raw_samples(*id)
                .iter()
                .copied()
                .filter(|&(t, _)| at_ms - HOUR * 1000 <= t && t <= at_ms)
                .collect();
            let got = got
                .iter()
                .find(|(l, _)| l == labels)
                .map_or(&[][..], |(_, s)| &s[..]);
            assert_eq!(
                got,
                &want[..],
                "{labels:?} in [{at_ms} ms - 1h, {at_ms} ms]"
            );
            seen += got.len();
        }
        assert_eq!(
            got.len(),
            series
                .iter()
                .filter(|(id, _)| {
                    b.raw_samples(*id)
                        .iter()
                        .any(|&(t, _)| at_ms - HOUR * 1000 <= t && t <= at_ms)
                })
                .count(),
            "series Prometheus has that the backfill has not, at {at_ms} ms"
        );
        seen
    };
    let mut seen = 0;
    let mut fractional = 0;
    for h in 1..=24 {
        let at_ms = (start + h * HOUR) * 1000;
        let got = prometheus
            .raw_samples(r#"{job="offgrid"}[1h]"#, at_ms)
            .await;
        fractional += got
            .iter()
            .flat_map(|(_, s)| s)
            .filter(|(t, _)| t % 1000 != 0)
            .count();
        seen += check(&got, at_ms);
    }
    assert_eq!(seen, b.total_samples(), "every sample read back once");
    assert!(
        fractional * 10 > seen * 9,
        "{fractional} of {seen} timestamps are fractional"
    );
    // A range ending exactly on a fractional timestamp holds that sample as its last.
    let &(t, v) = &b.raw_samples(ok60)[700];
    assert_ne!(t % 1000, 0, "sample 700 is off whole seconds");
    let got = prometheus
        .raw_samples(
            r#"http_requests_total{job="offgrid",interval="60s",code="200"}[1h]"#,
            t,
        )
        .await;
    assert_eq!(got[0].1.last(), Some(&(t, v)));
    check(
        &prometheus.raw_samples(r#"{job="offgrid"}[1h]"#, t).await,
        t,
    );
}

#[tokio::test]
async fn fake_server_modes() {
    let server = FakeHttp::start(Mode::Json(vector_json(100, "0.5")));
    let client = http_client(Duration::from_millis(500));
    let url = format!("{}/api/v1/query?query=up", server.url);
    let get = || client.get(&url).send();

    // Json: the body as given.
    let response = get().await.unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["data"]["result"][0]["value"][1], "0.5");

    // Garbage: 200, not JSON.
    server.set_mode(Mode::Garbage);
    let response = get().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(body, GARBAGE);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());

    // Status.
    server.set_mode(Mode::Status(503));
    let response = get().await.unwrap();
    assert_eq!(response.status(), 503);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["status"], "error");

    // PartialJson: complete HTTP, truncated JSON.
    server.set_mode(Mode::PartialJson);
    let body = get().await.unwrap().text().await.unwrap();
    assert_eq!(body, PARTIAL_JSON);
    let err = serde_json::from_str::<serde_json::Value>(&body).unwrap_err();
    assert!(err.is_eof(), "{err}");

    // CutConnection: the body cannot be read to the announced end.
    server.set_mode(Mode::CutConnection);
    assert!(get().await.unwrap().bytes().await.is_err());

    // HugeBody: exactly n bytes of valid JSON.
    server.set_mode(Mode::HugeBody(3_000_000));
    let body = get().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 3_000_000);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["resultType"], "string");

    // Hang: the client times out; other connections are still served meanwhile.
    server.set_mode(Mode::Hang);
    let started = Instant::now();
    let err = get().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(450));

    // Delayed.
    server.set_mode(Mode::Delayed(
        Duration::from_millis(200),
        Box::new(Mode::Json(vector_json(1, "1"))),
    ));
    let started = Instant::now();
    assert_eq!(get().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // The requests are recorded.
    assert_eq!(server.hits(), 8);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.starts_with("GET /api/v1/query?query=up HTTP/1.1")),
        "{:?}",
        server.requests()
    );

    // A POST's form body is recorded too.
    server.set_mode(Mode::Json(vector_json(1, "1")));
    let response = client
        .post(format!("{}/api/v1/query", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=up&time=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        server
            .requests()
            .last()
            .unwrap()
            .ends_with(" query=up&time=1"),
        "{:?}",
        server.requests().last()
    );

    // Dropped (with a hanging connection open): the port no longer answers.
    server.set_mode(Mode::Hang);
    let _ = get().await;
    let port = server.port;
    let dropped = Instant::now();
    drop(server);
    assert!(dropped.elapsed() < Duration::from_secs(2));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn free_ports_are_free() {
    let port = free_port();
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
}

#[test]
fn failed_startup_reports_the_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let panic = std::panic::catch_unwind(move || {
        Prometheus::start(&data, "scrape_configs: [ {job_name: }\n");
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("did not get ready"), "{msg}");
    assert!(msg.contains("exited during startup"), "{msg}");
    assert!(msg.contains("prometheus.log"), "{msg}");
    assert!(
        msg.contains("config"),
        "the log tail names the problem: {msg}"
    );
}

#[tokio::test]
async fn backfilled_prometheus_owns_its_data_dir() {
    let end = support::backfill::now_minute();
    let mut b = Backfill::new(end - DAY, end);
    scenario::steady(&mut b, "small");
    let prometheus = Prometheus::backfilled(&b);
    let count = prometheus
        .query_scalar(
            r#"count_over_time(http_requests_total{code="200"}[1d])"#,
            end,
        )
        .await;
    assert_eq!(count, Some(b.samples_per_series() as f64));
    let data_dir = prometheus.data_dir().to_path_buf();
    assert!(data_dir.exists());
    drop(prometheus);
    assert!(
        !data_dir.exists(),
        "the temporary data dir is removed on drop"
    );
}
