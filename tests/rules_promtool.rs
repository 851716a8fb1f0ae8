//! `sloburn generate` checked by Prometheus itself: every test writes a sloburn/v1 spec, runs
//! `sloburn generate` into a rule file and runs `promtool test rules` on it, with input series
//! whose true event counts are known, so the recorded values and the alerts can be compared
//! with numbers worked out by hand (the arithmetic is in the comments).
//!
//! How `promtool test rules` (Prometheus 2.42) evaluates rules, which these tests depend on:
//!
//! - **A group's own `interval` is ignored.** promtool evaluates *every* group at *every* tick of
//!   the test file's `evaluation_interval` (`for ts := mint; ...; ts += evalInterval { for g in
//!   groups { g.Eval(ts) } }` in `cmd/promtool/unittest.go`). The ruler-mode slice group
//!   (`interval: 5m`, recording `increase(...[5m])`) is therefore recorded every minute with the
//!   usual `evaluation_interval: 1m`, the slices overlap and `slo_period_*_events` count every
//!   event about five times: [`promtool_ignores_the_slice_group_interval`] pins that down.
//!   Tests of the period rules use `evaluation_interval: 5m`, so every group runs every 5m as
//!   the slice group would in Prometheus (the window rules and alerts do not depend on their
//!   evaluation interval, only on the evaluation time).
//! - **Group order is random unless `group_eval_order` lists the groups.** promtool takes the
//!   groups from a Go map and sorts them by their position in `group_eval_order` (unlisted
//!   groups count as position 0). The main group reads the slice group's series at the same
//!   timestamp, so without an order the period values lag one tick at random. Every test lists
//!   the slice group first, as the generated file does. (Prometheus runs groups concurrently at
//!   their own hashed offsets, so there the period values lag the slices by up to one slice.)
//! - Within a group, rules run in file order and a rule sees the samples recorded by the rules
//!   before it at the same timestamp, as in Prometheus. The generated main group records
//!   `slo_error_ratio`, then `slo_burn_rate`, then the alerts, so an alert fires at the very
//!   evaluation where the burn crosses its threshold (checked to the minute below).
//! - `increase()` over 1m samples at whole minutes, evaluated at whole minutes, is exact: the
//!   range `[t - w, t]` (closed at both ends in Prometheus 2) starts and ends on a sample, so
//!   nothing is extrapolated. A window reaching before the first sample of a counter that
//!   starts at 0 is exact too (extrapolation stops at the zero crossing, the first sample).
//! - `alert_rule_test` compares the firing alerts' labels *and annotations* exactly, so the
//!   expected alerts carry the rendered annotations (`{{ $value }}` is the left operand of the
//!   `and`, i.e. the long window's burn rate).

#[allow(dead_code)]
#[path = "support/process.rs"]
mod process;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

/// A spec written, rules generated: the temp dir and the rule file's path.
struct Generated {
    dir: TempDir,
    rules: PathBuf,
}

/// Writes `spec` and runs `sloburn generate --mode <mode>` on it; panics with sloburn's output
/// on failure.
fn generate(spec: &str, mode: &str) -> Generated {
    let dir = TempDir::new().expect("temp dir");
    let spec_path = dir.path().join("slo.yaml");
    std::fs::write(&spec_path, spec).expect("write spec");
    let rules = dir.path().join("rules.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .arg("generate")
        .arg(&spec_path)
        .arg("-o")
        .arg(&rules)
        .args(["--mode", mode])
        .output()
        .expect("run sloburn generate");
    assert!(
        out.status.success(),
        "sloburn generate failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Generated { dir, rules }
}

impl Generated {
    fn text(&self) -> String {
        std::fs::read_to_string(&self.rules).expect("read generated rules")
    }

    /// Writes the promtool test file (rule_files = the generated file) and runs
    /// `promtool test rules`; panics with promtool's output and the test file on failure.
    fn promtool(&self, evaluation_interval: &str, group_eval_order: &[&str], tests: &str) {
        let mut file = format!(
            "rule_files:\n  - {}\nevaluation_interval: {evaluation_interval}\n",
            self.rules.display()
        );
        if !group_eval_order.is_empty() {
            file.push_str("group_eval_order:\n");
            for g in group_eval_order {
                writeln!(file, "  - {g}").unwrap();
            }
        }
        file.push_str("tests:\n");
        file.push_str(tests);
        let (ok, output) = process::promtool_test_rules(self.dir.path(), &file);
        assert!(
            ok,
            "promtool test rules failed:\n{output}\n--- test file ---\n{file}\n--- rules ---\n{}",
            self.text()
        );
    }
}

/// A YAML double-quoted scalar.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One `input_series` entry.
fn series(selector: &str, values: &str) -> String {
    format!(
        "      - series: {}\n        values: {}\n",
        q(selector),
        q(values)
    )
}

/// An `alert_rule_test` case: `alerts` are `exp_alerts` entries from [`alert`] (none: the alert
/// must not fire).
fn alert_test(at: &str, name: &str, alerts: &[String]) -> String {
    let mut s = format!("      - eval_time: {at}\n        alertname: {name}\n");
    if alerts.is_empty() {
        s.push_str("        exp_alerts: []\n");
    } else {
        s.push_str("        exp_alerts:\n");
        for a in alerts {
            s.push_str(a);
        }
    }
    s
}

/// An `exp_alerts` entry.
fn alert(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> String {
    let mut s = String::from("          - exp_labels:\n");
    for (k, v) in labels {
        writeln!(s, "              {k}: {}", q(v)).unwrap();
    }
    if !annotations.is_empty() {
        s.push_str("            exp_annotations:\n");
        for (k, v) in annotations {
            writeln!(s, "              {k}: {}", q(v)).unwrap();
        }
    }
    s
}

/// A `promql_expr_test` case; `samples` are (labels in PromQL notation, value).
fn expr_test(at: &str, expr: &str, samples: &[(String, &str)]) -> String {
    let mut s = format!("      - expr: {}\n        eval_time: {at}\n", q(expr));
    if samples.is_empty() {
        s.push_str("        exp_samples: []\n");
    } else {
        s.push_str("        exp_samples:\n");
        for (labels, value) in samples {
            writeln!(
                s,
                "          - labels: {}\n            value: {value}",
                q(labels)
            )
            .unwrap();
        }
    }
    s
}

/// A test group: name, input series interval 1m, series, alert tests, expression tests.
fn test_group(name: &str, series: &[String], alerts: &[String], exprs: &[String]) -> String {
    let mut s = format!(
        "  - name: {}\n    interval: 1m\n    input_series:\n",
        q(name)
    );
    for x in series {
        s.push_str(x);
    }
    if !alerts.is_empty() {
        s.push_str("    alert_rule_test:\n");
        for x in alerts {
            s.push_str(x);
        }
    }
    if !exprs.is_empty() {
        s.push_str("    promql_expr_test:\n");
        for x in exprs {
            s.push_str(x);
        }
    }
    s
}

/// The default window table for 30d: (severity, long, short, threshold, lasts).
const ROWS: [(&str, &str, &str, &str, &str); 4] = [
    ("page", "1h", "5m", "14.4", "2d2h"),
    ("page", "6h", "30m", "6", "5d"),
    ("ticket", "1d", "2h", "3", "10d"),
    ("ticket", "3d", "6h", "1", "30d"),
];

const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// The expected `SLOErrorBudgetBurn` alert of row `row` (index in [`ROWS`]) for `service/slo`,
/// with `value` the rendered long-window burn rate (`printf "%.1f"`) and `extra` labels that
/// come from the series (e.g. `route`).
fn burn_alert(service: &str, slo: &str, row: usize, value: &str, extra: &[(&str, &str)]) -> String {
    let (severity, long, short, threshold, lasts) = ROWS[row];
    let mut labels = vec![
        ("service", service),
        ("slo", slo),
        ("severity", severity),
        ("sloburn_severity", severity),
        ("long_window", long),
        ("short_window", short),
        ("burn_rate_threshold", threshold),
        ("exhaustion_at_threshold", lasts),
    ];
    labels.extend_from_slice(extra);
    let summary = format!(
        "{service}/{slo}: the error budget burns {value}x too fast ({severity} {long}/{short})"
    );
    let description = format!(
        "Burn rate above {threshold} over both {long} and {short}: at this rate the whole 30d budget lasts {lasts}."
    );
    alert(
        &labels,
        &[("summary", &summary), ("description", &description)],
    )
}

/// `name{service="shop",slo=...,<extra>}` as promtool prints expected labels.
fn labels(name: &str, slo: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!("{name}{{service=\"shop\",slo=\"{slo}\"}}")
    } else {
        format!("{name}{{service=\"shop\",slo=\"{slo}\",{extra}}}")
    }
}

/// A ratio SLO of service `shop` on `http_requests_total{job="t"}`, 30d, with extra YAML
/// (indented for the SLO's mapping) appended.
fn ratio_spec(slos: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("version: sloburn/v1\nservice: shop\nslos:\n");
    for (name, objective, extra) in slos {
        write!(
            s,
            "  - name: {name}\n    objective: {objective}\n    period: 30d\n    sli:\n      ratio:\n        errors: 'http_requests_total{{job=\"t\",code=\"500\"}}'\n        total: 'http_requests_total{{job=\"t\"}}'\n{extra}"
        )
        .unwrap();
    }
    s
}

/// The group order of the generated file for `slos` of service shop: each SLO's slices, then
/// its main group.
fn order(slos: &[&str]) -> Vec<String> {
    slos.iter()
        .flat_map(|s| {
            [
                format!("sloburn-shop-{s}-slices"),
                format!("sloburn-shop-{s}"),
            ]
        })
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const OK: &str = "http_requests_total{job=\"t\",code=\"200\"}";
const ERR: &str = "http_requests_total{job=\"t\",code=\"500\"}";

#[test]
fn generated_groups_record_before_they_read() {
    // Not promtool: the structure the promtool tests below rely on. The 5m slice group comes
    // first, then the main group (no interval); every series a rule reads is recorded by a rule
    // before it (in file order, which is promtool's and Prometheus's order within a group), so
    // each evaluation sees the values of its own timestamp.
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let text = g.text();
    let slices = text.find("- name: sloburn-shop-avail-slices\n  interval: 5m\n");
    let main = text.find("- name: sloburn-shop-avail\n  rules:\n");
    assert!(
        slices.is_some() && main.is_some() && slices < main,
        "expected the 5m slice group, then the main group without interval:\n{text}"
    );
    // (kind, name, expr) of every rule, in file order.
    let mut rules: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(name) = t.strip_prefix("- record: ") {
            rules.push(("record".into(), name.to_string(), String::new()));
        } else if let Some(name) = t.strip_prefix("- alert: ") {
            rules.push(("alert".into(), name.to_string(), String::new()));
        } else if line.starts_with("- name:") {
            rules.push(("group".into(), String::new(), String::new()));
        } else if let Some(last) = rules.last_mut() {
            last.2.push_str(line);
            last.2.push(' ');
        }
    }
    let recorded: Vec<&str> = rules
        .iter()
        .filter(|r| r.0 == "record")
        .map(|r| r.1.as_str())
        .collect();
    for (i, (kind, name, expr)) in rules.iter().enumerate() {
        for read in &recorded {
            if expr.contains(&format!("{read}{{")) {
                let before = rules[..i].iter().any(|r| r.0 == "record" && r.1 == *read);
                assert!(
                    before,
                    "{kind} {name} reads {read}, recorded only after it:\n{text}"
                );
            }
        }
    }
    assert!(
        rules
            .iter()
            .any(|r| r.0 == "alert" && r.1 == "SLOErrorBudgetExhausted")
    );
}

/// Test 1 data: 600 requests per minute, no errors for 2h, then 2% errors (12 per minute, burn
/// rate 20). At incident start + N minutes (t = 120m + N, N <= 60):
/// - 1h: 12N errors of 36000 requests, burn N/3: 14.33 at N = 43, 14.67 at N = 44;
/// - 6h (reaches before the data, which start at 0 from 0): 12N of 72000 + 600N, burn
///   20N / (120 + N): 5.965 at N = 51, 6.047 at N = 52; 1d and 3d give the same;
/// - 5m and 30m (N >= 30): burn 20; 2h: 12N of 72000, burn N/6 (> 3 from N = 19).
fn incident_series(ok: &str, err: &str) -> Vec<String> {
    vec![
        series(ok, "0+600x120 72588+588x60"),
        series(err, "0+0x120 12+12x60"),
    ]
}

#[test]
fn fast_and_slow_page_fire_on_the_minute_their_burn_crosses_the_threshold() {
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let b = |row, value| burn_alert("shop", "avail", row, value, &[]);
    let a = "SLOErrorBudgetBurn";
    let alerts = [
        // Before the incident: nothing.
        alert_test("120m", a, &[]),
        // N = 43: 1h burn 14.33 <= 14.4: only the tickets (1d 5.28 > 3 with 2h 7.17 > 3; 3d
        // 5.28 > 1 with 6h 5.28 > 1).
        alert_test("163m", a, &[b(2, "5.3"), b(3, "5.3")]),
        // N = 44: 1h burn 14.67 > 14.4 and 5m burn 20: the fast page fires.
        alert_test("164m", a, &[b(0, "14.7"), b(2, "5.4"), b(3, "5.4")]),
        // N = 51: 6h burn 5.965 <= 6: no slow page yet.
        alert_test("171m", a, &[b(0, "17.0"), b(2, "6.0"), b(3, "6.0")]),
        // N = 52: 6h burn 6.047 > 6 and 30m burn 20: the slow page fires.
        alert_test(
            "172m",
            a,
            &[b(0, "17.3"), b(1, "6.0"), b(2, "6.0"), b(3, "6.0")],
        ),
    ];
    let close =
        |w: &str, v: &str| format!("abs(slo_burn_rate{{window=\"{w}\"}} - ({v})) < bool 1e-9");
    let one = |w: &str| {
        vec![(
            format!("{{service=\"shop\",slo=\"avail\",window=\"{w}\"}}"),
            "1",
        )]
    };
    let exprs = [
        expr_test("163m", &close("1h", "43/3"), &one("1h")),
        expr_test("164m", &close("1h", "44/3"), &one("1h")),
        expr_test("164m", &close("5m", "20"), &one("5m")),
        expr_test("171m", &close("6h", "20*51/171"), &one("6h")),
        expr_test("172m", &close("6h", "20*52/172"), &one("6h")),
        expr_test("172m", &close("30m", "20"), &one("30m")),
        expr_test(
            "164m",
            "slo_burn_rate_threshold",
            &[
                (
                    labels(
                        "slo_burn_rate_threshold",
                        "avail",
                        "severity=\"page\",long_window=\"1h\",short_window=\"5m\"",
                    ),
                    "14.4",
                ),
                (
                    labels(
                        "slo_burn_rate_threshold",
                        "avail",
                        "severity=\"page\",long_window=\"6h\",short_window=\"30m\"",
                    ),
                    "6",
                ),
                (
                    labels(
                        "slo_burn_rate_threshold",
                        "avail",
                        "severity=\"ticket\",long_window=\"1d\",short_window=\"2h\"",
                    ),
                    "3",
                ),
                (
                    labels(
                        "slo_burn_rate_threshold",
                        "avail",
                        "severity=\"ticket\",long_window=\"3d\",short_window=\"6h\"",
                    ),
                    "1",
                ),
            ],
        ),
    ];
    let tests = test_group("incident", &incident_series(OK, ERR), &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn a_slow_burn_opens_tickets_and_never_pages() {
    // 1000 requests per minute, clean for 60m, then 0.4% errors (4 per minute, burn 4). At
    // t = 60m + N the 3d, 1d and 6h windows (t < 6h) hold all data: burn 4N / (60 + N), above 1
    // from N = 21 (1.037; 0.962 at N = 19) and above 3 from N = 181 (3.004; 2.996 at N = 179).
    // The 2h window burns 4 once N >= 120. No window ever burns above 4 < 6.
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let b = |row, value| burn_alert("shop", "avail", row, value, &[]);
    let a = "SLOErrorBudgetBurn";
    let alerts = [
        alert_test("79m", a, &[]),
        alert_test("81m", a, &[b(3, "1.0")]),
        alert_test("200m", a, &[b(3, "2.8")]),
        alert_test("239m", a, &[b(3, "3.0")]),
        alert_test("241m", a, &[b(2, "3.0"), b(3, "3.0")]),
    ];
    let exprs = [expr_test(
        "241m",
        "abs(slo_burn_rate{window=\"2h\"} - 4) < bool 1e-9",
        &[("{service=\"shop\",slo=\"avail\",window=\"2h\"}".into(), "1")],
    )];
    let series = [
        series(OK, "0+1000x60 60996+996x181"),
        series(ERR, "0+0x60 4+4x181"),
    ];
    let tests = test_group("slow burn", &series, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn errors_under_the_budget_never_alert() {
    // 2000 requests per minute, 1 of them an error (0.05%, burn 0.5), for 6h. Every window holds
    // n errors of 2000n requests (the long ones reach before the data, which start at 0), and
    // n / 2000n rounds to the same double as 0.0005.
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let mut alerts = Vec::new();
    for at in ["30m", "1h", "3h", "6h"] {
        alerts.push(alert_test(at, "SLOErrorBudgetBurn", &[]));
        alerts.push(alert_test(at, "SLOErrorBudgetExhausted", &[]));
    }
    let all: Vec<(String, &str)> = WINDOWS
        .iter()
        .map(|w| {
            (
                labels("slo_error_ratio", "avail", &format!("window=\"{w}\"")),
                "0.0005",
            )
        })
        .collect();
    let exprs = [
        expr_test(
            "6h",
            "slo_error_ratio{window=\"5m\"}",
            &[(
                labels("slo_error_ratio", "avail", "window=\"5m\""),
                "0.0005",
            )],
        ),
        expr_test("6h", "slo_error_ratio", &all),
        expr_test("3h", "slo_error_ratio", &all),
        expr_test(
            "6h",
            "abs(slo_burn_rate{window=\"5m\"} - 0.5) < bool 1e-12",
            &[("{service=\"shop\",slo=\"avail\",window=\"5m\"}".into(), "1")],
        ),
    ];
    let series = [series(OK, "0+1999x360"), series(ERR, "0+1x360")];
    let tests = test_group("steady", &series, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn no_traffic_gives_zero_not_nan_and_traffic_resuming_gives_the_ratio() {
    // Both counters flat (at 0) for an hour, then 1000 requests per minute with 2 errors (0.2%,
    // burn 2). At 60m every window has 0 of 0 events: ratio and burn 0, not NaN (a NaN would
    // fail the comparison, NaN != NaN). At 120m every window holds 120 of 60000 (the flat hour
    // adds nothing): 0.002 and burn 2, which only the 3d/6h ticket (threshold 1) exceeds.
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let each = |name: &str, value: &'static str| -> Vec<(String, &'static str)> {
        WINDOWS
            .iter()
            .map(|w| (labels(name, "avail", &format!("window=\"{w}\"")), value))
            .collect()
    };
    let mut alerts = Vec::new();
    for at in ["5m", "30m", "60m"] {
        alerts.push(alert_test(at, "SLOErrorBudgetBurn", &[]));
        alerts.push(alert_test(at, "SLOErrorBudgetExhausted", &[]));
    }
    alerts.push(alert_test(
        "120m",
        "SLOErrorBudgetBurn",
        &[burn_alert("shop", "avail", 3, "2.0", &[])],
    ));
    let exprs = [
        expr_test("30m", "slo_error_ratio", &each("slo_error_ratio", "0")),
        expr_test("60m", "slo_error_ratio", &each("slo_error_ratio", "0")),
        expr_test("60m", "slo_burn_rate", &each("slo_burn_rate", "0")),
        expr_test("120m", "slo_error_ratio", &each("slo_error_ratio", "0.002")),
        expr_test("120m", "slo_burn_rate", &each("slo_burn_rate", "2")),
    ];
    let series = [
        series(OK, "0+0x60 998+998x60"),
        series(ERR, "0+0x60 2+2x60"),
    ];
    let tests = test_group("no traffic, then traffic", &series, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn period_rules_give_the_true_remaining_budget() {
    // 1000 requests per minute for 3h; 1 error per minute during the first 90m. Evaluated every
    // 5m (the slice group's interval; promtool would otherwise record the slice every minute),
    // slices first. The 30d period covers all data, so the truth at t is the counters at t:
    // - 60m: 60 bad of 60000: error ratio 0.001, remaining 0;
    // - 120m: 90 of 120000: 0.00075, remaining 0.25;
    // - 180m: 90 of 180000: 0.0005, remaining 0.5; good events 179910.
    // (Each of these divisions gives the double nearest to the decimal, as promtool prints.)
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let l = |name: &str| labels(name, "avail", "");
    let exprs = [
        expr_test(
            "60m",
            "slo_period_total_events",
            &[(l("slo_period_total_events"), "60000")],
        ),
        expr_test(
            "60m",
            "slo_period_good_events",
            &[(l("slo_period_good_events"), "59940")],
        ),
        expr_test(
            "60m",
            "slo_period_error_ratio",
            &[(l("slo_period_error_ratio"), "0.001")],
        ),
        expr_test(
            "60m",
            "slo_error_budget_remaining_ratio",
            &[(l("slo_error_budget_remaining_ratio"), "0")],
        ),
        expr_test(
            "120m",
            "slo_period_total_events",
            &[(l("slo_period_total_events"), "120000")],
        ),
        expr_test(
            "120m",
            "slo_period_good_events",
            &[(l("slo_period_good_events"), "119910")],
        ),
        expr_test(
            "120m",
            "slo_error_budget_remaining_ratio",
            &[(l("slo_error_budget_remaining_ratio"), "0.25")],
        ),
        expr_test(
            "180m",
            "slo_period_total_events",
            &[(l("slo_period_total_events"), "180000")],
        ),
        expr_test(
            "180m",
            "slo_period_good_events",
            &[(l("slo_period_good_events"), "179910")],
        ),
        expr_test(
            "180m",
            "slo_period_error_ratio",
            &[(l("slo_period_error_ratio"), "0.0005")],
        ),
        expr_test(
            "180m",
            "slo_error_budget_remaining_ratio",
            &[(l("slo_error_budget_remaining_ratio"), "0.5")],
        ),
        // One slice per 5m, each 5000 requests: 13 in `[1h]`, as a Prometheus 2 range is closed
        // at both ends (the slices at 120m and at 180m).
        expr_test(
            "180m",
            "count_over_time(slo:total_events:slice5m[1h])",
            &[("{service=\"shop\",slo=\"avail\"}".into(), "13")],
        ),
        expr_test(
            "180m",
            "slo:total_events:slice5m",
            &[(l("slo:total_events:slice5m"), "5000")],
        ),
        expr_test(
            "180m",
            "slo_objective_ratio",
            &[(l("slo_objective_ratio"), "0.999")],
        ),
        expr_test(
            "180m",
            "slo_period_seconds",
            &[(l("slo_period_seconds"), "2592000")],
        ),
    ];
    let series = [
        series(OK, "0+999x90 90910+1000x89"),
        series(ERR, "0+1x90 90+0x90"),
    ];
    let tests = test_group("budget", &series, &[], &exprs);
    g.promtool("5m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn promtool_ignores_the_slice_group_interval() {
    // Documents promtool, not sloburn: with `evaluation_interval: 1m` the `interval: 5m` slice
    // group is still evaluated every minute, so the 5-minute slices overlap. With 1000 requests
    // per minute from 0, the slice at minute t is 1000t for t < 5 and 5000 after, so the period
    // sum at 180m is 1000 * (1 + 2 + 3 + 4) + 176 * 5000 = 890000 for 180000 true events, and
    // `[1h]` holds 61 slices (one per minute; the range is closed at both ends).
    let g = generate(&ratio_spec(&[("avail", "99.9", "")]), "ruler");
    let exprs = [
        expr_test(
            "180m",
            "count_over_time(slo:total_events:slice5m[1h])",
            &[("{service=\"shop\",slo=\"avail\"}".into(), "61")],
        ),
        expr_test(
            "180m",
            "slo_period_total_events",
            &[(labels("slo_period_total_events", "avail", ""), "890000")],
        ),
    ];
    let series = [series(OK, "0+1000x180"), series(ERR, "0+0x180")];
    let tests = test_group("1m evaluation", &series, &[], &exprs);
    g.promtool("1m", &strs(&order(&["avail"])), &tests);
}

#[test]
fn grouped_slo_pages_only_for_the_burning_route() {
    let spec = ratio_spec(&[("routes", "99.9", "    group_by: [route]\n")]);
    let g = generate(&spec, "ruler");
    let route = |r: &str, code: &str| {
        format!("http_requests_total{{job=\"t\",route=\"{r}\",code=\"{code}\"}}")
    };
    // Route a: the incident of the page test (same numbers); route b: 600 per minute, clean.
    let mut input = incident_series(&route("a", "200"), &route("a", "500"));
    input.push(series(&route("b", "200"), "0+600x180"));
    input.push(series(&route("b", "500"), "0+0x180"));
    let b = |row, value| burn_alert("shop", "routes", row, value, &[("route", "a")]);
    let a = "SLOErrorBudgetBurn";
    let alerts = [
        alert_test("163m", a, &[b(2, "5.3"), b(3, "5.3")]),
        alert_test("164m", a, &[b(0, "14.7"), b(2, "5.4"), b(3, "5.4")]),
        alert_test(
            "172m",
            a,
            &[b(0, "17.3"), b(1, "6.0"), b(2, "6.0"), b(3, "6.0")],
        ),
    ];
    let exprs = [
        expr_test(
            "164m",
            "slo_error_ratio{window=\"5m\"}",
            &[
                (
                    labels("slo_error_ratio", "routes", "route=\"a\",window=\"5m\""),
                    "0.02",
                ),
                (
                    labels("slo_error_ratio", "routes", "route=\"b\",window=\"5m\""),
                    "0",
                ),
            ],
        ),
        expr_test(
            "164m",
            "slo_burn_rate{route=\"b\"}",
            &WINDOWS
                .iter()
                .map(|w| {
                    (
                        labels(
                            "slo_burn_rate",
                            "routes",
                            &format!("route=\"b\",window=\"{w}\""),
                        ),
                        "0",
                    )
                })
                .collect::<Vec<_>>(),
        ),
    ];
    let tests = test_group("two routes", &input, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["routes"])), &tests);
}

#[test]
fn budget_exhausted_fires_below_the_freeze_line_and_not_before() {
    // Two SLOs on the same data: `freeze` with policy.freeze_below 50 (fires when the remaining
    // ratio is < 0.5), `spent` with the default (fires when it is <= 0). 1000 requests per
    // minute, 2 errors per minute from 60m: at t the period holds 2(t - 60) bad of 1000t.
    // - 75m: 30/75000, remaining 0.6;      80m: 40/80000 = 0.0005, remaining exactly 0.5 (not
    //   below 50%);                        85m: 50/85000, remaining 0.4118 (41.18%);
    // - 115m: 110/115000, remaining 0.0435 (4.348%); 120m: 120/120000 = 0.001, remaining
    //   exactly 0: the default fires (<= 0), and `freeze` still fires (0%).
    // Evaluated every 5m (the slice interval), slices before the groups that sum them.
    let spec = ratio_spec(&[
        ("freeze", "99.9", "    policy:\n      freeze_below: 50\n"),
        ("spent", "99.9", ""),
    ]);
    let g = generate(&spec, "ruler");
    let exhausted = |slo: &str, line: &str, left: &str| {
        alert(
            &[
                ("service", "shop"),
                ("slo", slo),
                ("severity", "ticket"),
                ("sloburn_severity", "ticket"),
                ("freeze", "true"),
            ],
            &[(
                "summary",
                &format!("shop/{slo}: error budget {line} ({left} left): freeze feature deploys"),
            )],
        )
    };
    let a = "SLOErrorBudgetExhausted";
    let alerts = [
        alert_test("60m", a, &[]),
        alert_test("75m", a, &[]),
        alert_test("80m", a, &[]),
        alert_test("85m", a, &[exhausted("freeze", "below 50%", "41.18%")]),
        alert_test("115m", a, &[exhausted("freeze", "below 50%", "4.348%")]),
        alert_test(
            "120m",
            a,
            &[
                exhausted("freeze", "below 50%", "0%"),
                exhausted("spent", "spent", "0%"),
            ],
        ),
    ];
    let exprs = [
        expr_test(
            "80m",
            "slo_error_budget_remaining_ratio{slo=\"freeze\"}",
            &[(
                labels("slo_error_budget_remaining_ratio", "freeze", ""),
                "0.5",
            )],
        ),
        expr_test(
            "120m",
            "slo_error_budget_remaining_ratio",
            &[
                (
                    labels("slo_error_budget_remaining_ratio", "freeze", ""),
                    "0",
                ),
                (labels("slo_error_budget_remaining_ratio", "spent", ""), "0"),
            ],
        ),
    ];
    let series = [
        series(OK, "0+1000x60 60998+998x60"),
        series(ERR, "0+0x60 2+2x60"),
    ];
    let tests = test_group("exhaustion", &series, &alerts, &exprs);
    g.promtool("5m", &strs(&order(&["freeze", "spent"])), &tests);
}

#[test]
fn engine_mode_alerts_on_sloburns_gauges() {
    // Two SLOs; sloburn exports the gauges of `avail` only, so `lost` has no data at all.
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n  - name: lost\n    objective: 99\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n";
    let g = generate(spec, "engine");
    let job = "job=\"sloburn\",instance=\"sloburn:9464\"";
    let input = [
        // The page row turns active at 11m (no `for`: the alert fires at once).
        series(
            &format!(
                "slo_burn_alert_active{{{job},service=\"shop\",slo=\"avail\",severity=\"page\",long_window=\"1h\",short_window=\"5m\"}}"
            ),
            "0+0x10 1+0x30",
        ),
        series(
            &format!(
                "slo_burn_alert_active{{{job},service=\"shop\",slo=\"avail\",severity=\"ticket\",long_window=\"1d\",short_window=\"2h\"}}"
            ),
            "0+0x40",
        ),
        // Frozen from 16m.
        series(
            &format!("slo_feature_freeze{{{job},service=\"shop\"}}"),
            "0+0x15 1+0x25",
        ),
        // Stale from 6m: SLODataStale (for 10m) fires at 16m.
        series(
            &format!("slo_data_fresh{{{job},service=\"shop\",slo=\"avail\"}}"),
            "1+0x5 0+0x35",
        ),
        // Down from 21m: SloburnDown (for 5m) fires at 26m.
        series(&format!("up{{{job}}}"), "1+0x20 0+0x20"),
        // Reload failing from 3m: SloburnReloadFailing (for 5m) fires at 8m.
        series(
            &format!("sloburn_config_last_reload_success{{{job}}}"),
            "1+0x2 0+0x38",
        ),
    ];
    let page = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("service", "shop"),
            ("slo", "avail"),
            ("severity", "page"),
            ("sloburn_severity", "page"),
            ("long_window", "1h"),
            ("short_window", "5m"),
        ],
        &[(
            "summary",
            "shop/avail: the error budget burns too fast (page 1h/5m)",
        )],
    );
    let freeze = alert(
        &[
            ("service", "shop"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
            ("freeze", "true"),
        ],
        &[(
            "summary",
            "shop: an SLO's error budget is below its freeze policy: freeze feature deploys",
        )],
    );
    let stale = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("service", "shop"),
            ("slo", "avail"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
        ],
        &[(
            "summary",
            "shop/avail: sloburn cannot read this SLO's data; its numbers are frozen at their last good values",
        )],
    );
    let missing = alert(
        &[
            ("service", "shop"),
            ("slo", "lost"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
        ],
        &[(
            "summary",
            "shop/lost: sloburn exports no series for this SLO",
        )],
    );
    let down = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("severity", "page"),
            ("sloburn_severity", "page"),
        ],
        &[(
            "summary",
            "sloburn is down: no SLO is evaluated and no burn alert can fire",
        )],
    );
    let reload = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
        ],
        &[(
            "summary",
            "sloburn refused its last spec reload; the previous SLOs keep running (see its log)",
        )],
    );
    let alerts = [
        alert_test("10m", "SLOErrorBudgetBurn", &[]),
        alert_test("11m", "SLOErrorBudgetBurn", std::slice::from_ref(&page)),
        alert_test("40m", "SLOErrorBudgetBurn", &[page]),
        alert_test("15m", "SLOFeatureFreeze", &[]),
        alert_test("16m", "SLOFeatureFreeze", &[freeze]),
        alert_test("15m", "SLODataStale", &[]),
        alert_test("16m", "SLODataStale", &[stale]),
        // `lost` has had no series since 0: pending at 0, firing at 10m; `avail` never.
        alert_test("9m", "SLODataMissing", &[]),
        alert_test("10m", "SLODataMissing", &[missing]),
        alert_test("25m", "SloburnDown", &[]),
        alert_test("26m", "SloburnDown", &[down]),
        alert_test("7m", "SloburnReloadFailing", &[]),
        alert_test("8m", "SloburnReloadFailing", &[reload]),
    ];
    let tests = test_group("engine gauges", &input, &alerts, &[]);
    g.promtool("1m", &["sloburn-engine"], &tests);
}

#[test]
fn engine_mode_no_data_opens_a_ticket_after_ten_minutes_and_clears_with_data() {
    // `typo` matches no series from 2m to 21m (slo_data_present 0), then has data again; `avail`
    // has data throughout. Both are fresh and exported, so only SLONoData can speak for `typo`.
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n  - name: typo\n    objective: 99\n    sli:\n      ratio:\n        errors: 'http_request_total{code=\"500\"}'\n        total: http_request_total\n";
    let g = generate(spec, "engine");
    let job = "job=\"sloburn\",instance=\"sloburn:9464\"";
    let gauge = |name: &str, slo: &str, values: &str| {
        series(
            &format!("{name}{{{job},service=\"shop\",slo=\"{slo}\"}}"),
            values,
        )
    };
    let input = [
        gauge("slo_data_present", "avail", "1+0x40"),
        gauge("slo_data_fresh", "avail", "1+0x40"),
        gauge("slo_data_present", "typo", "1+0x1 0+0x19 1+0x19"),
        gauge("slo_data_fresh", "typo", "1+0x40"),
        series(&format!("up{{{job}}}"), "1+0x40"),
        series(
            &format!("sloburn_config_last_reload_success{{{job}}}"),
            "1+0x40",
        ),
    ];
    let no_data = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("service", "shop"),
            ("slo", "typo"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
        ],
        &[(
            "summary",
            "shop/typo: sloburn has no data for this SLO (a selector matches no series, or the \
             source never answered), so its burn alerts cannot fire; sloburn's status page and \
             log say why",
        )],
    );
    let alerts = [
        // Pending from 2m: fires at 12m (for 10m), never for `avail`.
        alert_test("11m", "SLONoData", &[]),
        alert_test("12m", "SLONoData", std::slice::from_ref(&no_data)),
        alert_test("21m", "SLONoData", &[no_data]),
        // Data again from 22m: resolved.
        alert_test("22m", "SLONoData", &[]),
        alert_test("40m", "SLONoData", &[]),
        // Neither series is stale nor missing.
        alert_test("20m", "SLODataStale", &[]),
        alert_test("20m", "SLODataMissing", &[]),
    ];
    let tests = test_group("no data", &input, &alerts, &[]);
    g.promtool("1m", &["sloburn-engine"], &tests);
}

#[test]
fn engine_mode_sloburn_absent_is_down() {
    // No `up` series for sloburn's job at all (never scraped): SloburnDown fires after its 5m
    // `for` through `absent(...)`, carrying only `job` (from the matcher) and `severity`.
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n";
    let g = generate(spec, "engine");
    let down = alert(
        &[
            ("job", "sloburn"),
            ("severity", "page"),
            ("sloburn_severity", "page"),
        ],
        &[(
            "summary",
            "sloburn is down: no SLO is evaluated and no burn alert can fire",
        )],
    );
    let alerts = [
        alert_test("4m", "SloburnDown", &[]),
        alert_test("5m", "SloburnDown", &[down]),
    ];
    let input = [series("up{job=\"other\"}", "1+0x10")];
    let tests = test_group("sloburn never scraped", &input, &alerts, &[]);
    g.promtool("1m", &["sloburn-engine"], &tests);
}

#[test]
fn period_sum_counts_each_slice_once_when_the_period_is_full() {
    // A 1d period (so promtool's evaluations stay few), 1000 requests per 5m, no errors, for 25h,
    // evaluated every 5m. At 25h the period (t - 1d, t] holds 288 slices of 1000 events: 288000.
    // `[1d]` in Prometheus 2 is [t - 1d, t]: 289 slices, 289000.
    let g = generate(
        &ratio_spec(&[("avail", "99.9", "")]).replace("period: 30d", "period: 1d"),
        "ruler",
    );
    let exprs = [expr_test(
        "25h",
        "slo_period_total_events",
        &[(labels("slo_period_total_events", "avail", ""), "288000")],
    )];
    let series = [
        "      - series: 'http_requests_total{job=\"t\",code=\"200\"}'\n        values: '0+1000x310'\n".to_string(),
        "      - series: 'http_requests_total{job=\"t\",code=\"500\"}'\n        values: '0+0x310'\n".to_string(),
    ];
    let tests = test_group("full period", &series, &[], &exprs)
        .replace("    interval: 1m\n", "    interval: 5m\n");
    g.promtool("5m", &strs(&order(&["avail"])), &tests);
}

/// Ruler mode's edge cases (#14.8), each against counts worked out by hand:
/// - an SLO whose errors selector never matched a series (no bad slices at all) still records
///   its good events and a bad count of 0;
/// - an objective of 99.99999% divides by its budget (1e-7), not by a budget rounded to 0;
/// - a threshold slice whose query is NaN is no measurement: counted neither good nor bad, as
///   the scrape source drops it.
#[test]
fn ruler_edge_cases_no_bad_series_tiny_budget_nan_slices() {
    let mut spec = ratio_spec(&[("clean", "99.9", ""), ("tight", "99.99999", "")]);
    spec.push_str("  - name: cool\n    objective: 99\n    period: 30d\n    sli:\n      threshold:\n        query: max(temperature_ratio)\n        op: \"<\"\n        value: 0.5\n        slice: 1m\n");
    // `clean` reads job t, which has no error series; `tight` job u, which has errors.
    let spec = {
        let at = spec.find("- name: tight").unwrap();
        let (head, tail) = spec.split_at(at);
        format!("{head}{}", tail.replace("job=\"t\"", "job=\"u\""))
    };
    let g = generate(&spec, "ruler");
    let clean = |name: &str| labels(name, "clean", "");
    let tight = |name: &str| labels(name, "tight", "");
    let exprs = [
        // clean: 1000 requests a minute, no error series: at 60m, 60000 good, 0 bad.
        expr_test(
            "60m",
            "slo_period_good_events{slo=\"clean\"}",
            &[(clean("slo_period_good_events"), "60000")],
        ),
        expr_test(
            "60m",
            "slo:bad_events:period{slo=\"clean\"}",
            &[(clean("slo:bad_events:period"), "0")],
        ),
        // tight: 1 error per 1000 requests: error ratio 0.001, budget 1e-7, burn 10,000 and
        // remaining 1 - 10,000 = -9,999 (within the budget's float error).
        expr_test(
            "60m",
            "slo_error_budget_remaining_ratio{slo=\"tight\"} > bool -9999.01",
            &[("{service=\"shop\",slo=\"tight\"}".into(), "1")],
        ),
        expr_test(
            "60m",
            "slo_error_budget_remaining_ratio{slo=\"tight\"} < bool -9998.99",
            &[("{service=\"shop\",slo=\"tight\"}".into(), "1")],
        ),
        expr_test(
            "60m",
            "slo_burn_rate{slo=\"tight\",window=\"1h\"} > bool 9999.99",
            &[("{service=\"shop\",slo=\"tight\",window=\"1h\"}".into(), "1")],
        ),
        expr_test(
            "60m",
            "slo_objective_ratio{slo=\"tight\"}",
            &[(tight("slo_objective_ratio"), "0.9999999")],
        ),
        // cool: 0.1 (good) at minutes 0-29, NaN from minute 30. The 1h window at 60m steps
        // through minutes 1..60: 29 good slices, 31 NaN ones that count for nothing.
        expr_test(
            "60m",
            "slo:total_events:window{slo=\"cool\",window=\"1h\"}",
            &[(
                labels("slo:total_events:window", "cool", "window=\"1h\""),
                "29",
            )],
        ),
        expr_test(
            "60m",
            "slo:bad_events:window{slo=\"cool\",window=\"1h\"}",
            &[(
                labels("slo:bad_events:window", "cool", "window=\"1h\""),
                "0",
            )],
        ),
    ];
    let series = [
        series(OK, "0+1000x60"),
        series("http_requests_total{job=\"u\",code=\"200\"}", "0+999x60"),
        series("http_requests_total{job=\"u\",code=\"500\"}", "0+1x60"),
        series("temperature_ratio", &format!("0.1x29{}", " NaN".repeat(31))),
    ];
    let tests = test_group("edges", &series, &[], &exprs);
    g.promtool("5m", &strs(&order(&["clean", "tight", "cool"])), &tests);
}

/// Grouped by a label sloburn sets itself (`service`, as a Pyrra SLO grouped by service is):
/// each group keeps its value as `exported_service`, so the groups stay apart and only the
/// burning one pages (#15.6).
#[test]
fn grouped_by_service_keeps_each_group_as_exported_service() {
    let spec = ratio_spec(&[("backends", "99.9", "    group_by: [service]\n")]);
    let g = generate(&spec, "ruler");
    let backend = |s: &str, code: &str| {
        format!("http_requests_total{{job=\"t\",service=\"{s}\",code=\"{code}\"}}")
    };
    let mut input = incident_series(&backend("a", "200"), &backend("a", "500"));
    input.push(series(&backend("b", "200"), "0+600x180"));
    input.push(series(&backend("b", "500"), "0+0x180"));
    let b = |row, value| burn_alert("shop", "backends", row, value, &[("exported_service", "a")]);
    let alerts = [alert_test(
        "164m",
        "SLOErrorBudgetBurn",
        &[b(0, "14.7"), b(2, "5.4"), b(3, "5.4")],
    )];
    let exprs = [expr_test(
        "164m",
        "slo_error_ratio{window=\"5m\"}",
        &[
            (
                labels(
                    "slo_error_ratio",
                    "backends",
                    "exported_service=\"a\",window=\"5m\"",
                ),
                "0.02",
            ),
            (
                labels(
                    "slo_error_ratio",
                    "backends",
                    "exported_service=\"b\",window=\"5m\"",
                ),
                "0",
            ),
        ],
    )];
    let tests = test_group("two backends", &input, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["backends"])), &tests);
}

/// #15.2: the latency bucket at the threshold is selected in every spelling clients and
/// Prometheus write for it. Every request takes 7 s, above the 5 s threshold: the `_count` and
/// the buckets from 50 s up grow by 600 a minute, the 0.5 s and 5 s buckets stay at 0. The
/// buckets are written once as Go clients and Prometheus 2 write them (`le="5"`) and once as
/// Prometheus 3, Java and Python clients write them (`le="5.0"`); both must read 100% errors
/// (a selector that misses the 5 s bucket reads 0%), and the 50 s bucket, which holds every
/// request, must not be mistaken for it. Burn 1000 over every window: all four rows fire.
#[test]
fn latency_reads_the_threshold_bucket_in_both_le_spellings() {
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: latency\n    objective: 99.9\n    period: 30d\n    sli:\n      latency:\n        histogram: 'http_request_duration_seconds{job=\"t\"}'\n        threshold: 5\n";
    let g = generate(spec, "ruler");
    let b = |row| burn_alert("shop", "latency", row, "1000.0", &[]);
    let every_window: Vec<(String, &str)> = WINDOWS
        .iter()
        .map(|w| {
            (
                labels("slo_error_ratio", "latency", &format!("window=\"{w}\"")),
                "1",
            )
        })
        .collect();
    let mut tests = String::new();
    for (five, fifty) in [("5", "50"), ("5.0", "50.0")] {
        let bucket =
            |le: &str| format!("http_request_duration_seconds_bucket{{job=\"t\",le=\"{le}\"}}");
        let input = [
            series(&bucket("0.5"), "0+0x60"),
            series(&bucket(five), "0+0x60"),
            series(&bucket(fifty), "0+600x60"),
            series(&bucket("+Inf"), "0+600x60"),
            series("http_request_duration_seconds_count{job=\"t\"}", "0+600x60"),
        ];
        let alerts = [alert_test(
            "60m",
            "SLOErrorBudgetBurn",
            &[b(0), b(1), b(2), b(3)],
        )];
        let exprs = [expr_test("60m", "slo_error_ratio", &every_window)];
        tests.push_str(&test_group(
            &format!("all slow, le=\"{five}\""),
            &input,
            &alerts,
            &exprs,
        ));
    }
    g.promtool("1m", &strs(&order(&["latency"])), &tests);
}

/// #15.11: a Sloth file that sets `severity: critical` for all of an SLO's alerts, in the SLO's
/// `labels` (`avail`) or in its `alerting.labels` (`routed`), keeps that `severity` on every
/// alert (Sloth's meaning), and sloburn's tier stays in `sloburn_severity`, which routing uses:
/// the slow burn's tickets say `sloburn_severity="ticket"`, not a page.
const SLOTH_CRITICAL: &str = r#"version: prometheus/v1
service: shop
slos:
  - name: avail
    objective: 99.9
    labels:
      severity: critical
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="t",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="t"}[{{.window}}]))
  - name: routed
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="t",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="t"}[{{.window}}]))
    alerting:
      labels:
        severity: critical
"#;

#[test]
fn ruler_tickets_of_a_critical_sloth_slo_keep_their_tier_in_sloburn_severity() {
    let g = generate(SLOTH_CRITICAL, "ruler");
    // The slow burn of `a_slow_burn_opens_tickets_and_never_pages`: at 241m both tickets fire.
    let ticket = |slo: &str, row: usize| {
        let (_, long, short, threshold, lasts) = ROWS[row];
        alert(
            &[
                ("service", "shop"),
                ("slo", slo),
                ("severity", "critical"),
                ("sloburn_severity", "ticket"),
                ("long_window", long),
                ("short_window", short),
                ("burn_rate_threshold", threshold),
                ("exhaustion_at_threshold", lasts),
            ],
            &[
                (
                    "summary",
                    &format!(
                        "shop/{slo}: the error budget burns 3.0x too fast (ticket {long}/{short})"
                    ),
                ),
                (
                    "description",
                    &format!(
                        "Burn rate above {threshold} over both {long} and {short}: at this rate the whole 30d budget lasts {lasts}."
                    ),
                ),
            ],
        )
    };
    let alerts = [alert_test(
        "241m",
        "SLOErrorBudgetBurn",
        &[
            ticket("avail", 2),
            ticket("avail", 3),
            ticket("routed", 2),
            ticket("routed", 3),
        ],
    )];
    let series = [
        series(OK, "0+1000x60 60996+996x181"),
        series(ERR, "0+0x60 4+4x181"),
    ];
    let tests = test_group("critical tickets", &series, &alerts, &[]);
    g.promtool("1m", &strs(&order(&["avail", "routed"])), &tests);
}

#[test]
fn engine_tickets_of_a_critical_sloth_slo_keep_their_tier_in_sloburn_severity() {
    let g = generate(SLOTH_CRITICAL, "engine");
    let job = "job=\"sloburn\",instance=\"sloburn:9464\"";
    let active = |slo: &str, severity: &str, long: &str, short: &str, values: &str| {
        series(
            &format!(
                "slo_burn_alert_active{{{job},service=\"shop\",slo=\"{slo}\",severity=\"{severity}\",long_window=\"{long}\",short_window=\"{short}\"}}"
            ),
            values,
        )
    };
    let input = [
        active("avail", "ticket", "1d", "2h", "0 1+0x5"),
        active("avail", "page", "1h", "5m", "0+0x5"),
        active("routed", "ticket", "1d", "2h", "0 1+0x5"),
        active("routed", "page", "1h", "5m", "0+0x5"),
    ];
    let ticket = |slo: &str| {
        alert(
            &[
                ("job", "sloburn"),
                ("instance", "sloburn:9464"),
                ("service", "shop"),
                ("slo", slo),
                ("severity", "critical"),
                ("sloburn_severity", "ticket"),
                ("long_window", "1d"),
                ("short_window", "2h"),
            ],
            &[(
                "summary",
                &format!("shop/{slo}: the error budget burns too fast (ticket 1d/2h)"),
            )],
        )
    };
    let alerts = [alert_test(
        "2m",
        "SLOErrorBudgetBurn",
        &[ticket("avail"), ticket("routed")],
    )];
    let tests = test_group("critical tickets", &input, &alerts, &[]);
    g.promtool("1m", &["sloburn-engine"], &tests);
}

/// Grouped by a label no rule sets (a log `severity`): the ruler's series carry the group as
/// `exported_severity` only, as the engine's do, never the original beside its copy (#15.6).
#[test]
fn grouped_by_severity_carries_the_group_only_as_exported_severity() {
    let spec = ratio_spec(&[("levels", "99.9", "    group_by: [severity]\n")]);
    let g = generate(&spec, "ruler");
    let level = |s: &str, code: &str| {
        format!("http_requests_total{{job=\"t\",severity=\"{s}\",code=\"{code}\"}}")
    };
    let mut input = incident_series(&level("a", "200"), &level("a", "500"));
    input.push(series(&level("b", "200"), "0+600x180"));
    input.push(series(&level("b", "500"), "0+0x180"));
    let exprs = [expr_test(
        "164m",
        "slo_error_ratio{window=\"5m\"}",
        &[
            (
                labels(
                    "slo_error_ratio",
                    "levels",
                    "exported_severity=\"a\",window=\"5m\"",
                ),
                "0.02",
            ),
            (
                labels(
                    "slo_error_ratio",
                    "levels",
                    "exported_severity=\"b\",window=\"5m\"",
                ),
                "0",
            ),
        ],
    )];
    let tests = test_group("two levels", &input, &[], &exprs);
    g.promtool("1m", &strs(&order(&["levels"])), &tests);
}

/// The low-traffic guard (#16.4): the incident of [`incident_series`] at N = 44 (t = 164m)
/// burns the fast page row (1h: 14.67, 5m: 20) over 600 requests a minute, so the 5m window
/// holds 3000 events and the 1h window 36000. A guard of 3000 lets the page fire; 3001 holds it
/// back. The tickets' short window (2h) holds 72000 and fires under either guard.
#[test]
fn low_traffic_guard_holds_the_page_one_event_below_the_bound() {
    let guard = |n: u32| format!("    alerting:\n      min_events: {n}\n");
    let spec = ratio_spec(&[
        ("at", "99.9", &guard(3000)),
        ("above", "99.9", &guard(3001)),
    ]);
    let g = generate(&spec, "ruler");
    let a = "SLOErrorBudgetBurn";
    let at = |row, value| burn_alert("shop", "at", row, value, &[]);
    let above = |row, value| burn_alert("shop", "above", row, value, &[]);
    let alerts = [
        // N = 43: the page does not burn enough yet, whatever the traffic.
        alert_test(
            "163m",
            a,
            &[at(2, "5.3"), at(3, "5.3"), above(2, "5.3"), above(3, "5.3")],
        ),
        alert_test(
            "164m",
            a,
            &[
                at(0, "14.7"),
                at(2, "5.4"),
                at(3, "5.4"),
                above(2, "5.4"),
                above(3, "5.4"),
            ],
        ),
    ];
    let exprs = [expr_test(
        "164m",
        "slo:total_events:window{slo=\"at\",window=\"5m\"}",
        &[(
            "slo:total_events:window{service=\"shop\",slo=\"at\",window=\"5m\"}".into(),
            "3000",
        )],
    )];
    let tests = test_group("guard", &incident_series(OK, ERR), &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["at", "above"])), &tests);
}

/// The guard with `group_by` (#16.4): each group is judged on its own events. Route a has the
/// incident of [`incident_series`] (600 requests a minute: 3000 in 5m, 36000 in 1h at 164m);
/// route b the same error ratio at a twelfth of the traffic (50 a minute, one failing from
/// 120m: 250 in 5m, 3000 in 1h, burn rates equal to route a's). A guard of 1000 lets route a
/// page and holds route b's page back; both routes' tickets (2h: 72000 and 6000 events) fire.
#[test]
fn low_traffic_guard_judges_each_group_on_its_own_events() {
    let spec = ratio_spec(&[(
        "routes",
        "99.9",
        "    group_by: [route]\n    alerting:\n      min_events: 1000\n",
    )]);
    let g = generate(&spec, "ruler");
    let route = |r: &str, code: &str| {
        format!("http_requests_total{{job=\"t\",route=\"{r}\",code=\"{code}\"}}")
    };
    let mut input = incident_series(&route("a", "200"), &route("a", "500"));
    input.push(series(&route("b", "200"), "0+50x120 6049+49x60"));
    input.push(series(&route("b", "500"), "0+0x120 1+1x60"));
    let busy = |row, value| burn_alert("shop", "routes", row, value, &[("route", "a")]);
    let quiet = |row, value| burn_alert("shop", "routes", row, value, &[("route", "b")]);
    let alerts = [alert_test(
        "164m",
        "SLOErrorBudgetBurn",
        &[
            busy(0, "14.7"),
            busy(2, "5.4"),
            busy(3, "5.4"),
            quiet(2, "5.4"),
            quiet(3, "5.4"),
        ],
    )];
    let total = |r: &str| {
        labels(
            "slo:total_events:window",
            "routes",
            &format!("route=\"{r}\",window=\"5m\""),
        )
    };
    let exprs = [
        expr_test(
            "164m",
            "slo:total_events:window{window=\"5m\"}",
            &[(total("a"), "3000"), (total("b"), "250")],
        ),
        // Route b burns as fast as route a: only its traffic holds its page back.
        expr_test(
            "164m",
            "slo_burn_rate{route=\"b\",window=\"5m\"}",
            &[(
                labels("slo_burn_rate", "routes", "route=\"b\",window=\"5m\""),
                "20",
            )],
        ),
    ];
    let tests = test_group("guarded routes", &input, &alerts, &exprs);
    g.promtool("1m", &strs(&order(&["routes"])), &tests);
}

/// A disabled tier (#16.5) alerts in neither mode. Ruler: the incident of [`incident_series`]
/// at 164m, which pages `paging` (row 0) and opens both tickets, opens only the tickets of
/// `quiet_page`, whose page tier is disabled.
#[test]
fn a_disabled_tier_never_alerts_in_ruler_mode() {
    let spec = ratio_spec(&[
        ("paging", "99.9", ""),
        (
            "quiet_page",
            "99.9",
            "    alerting:\n      page_alert:\n        disable: true\n",
        ),
    ]);
    let g = generate(&spec, "ruler");
    let on = |row, value| burn_alert("shop", "paging", row, value, &[]);
    let off = |row, value| burn_alert("shop", "quiet_page", row, value, &[]);
    let alerts = [alert_test(
        "172m",
        "SLOErrorBudgetBurn",
        &[
            on(0, "17.3"),
            on(1, "6.0"),
            on(2, "6.0"),
            on(3, "6.0"),
            off(2, "6.0"),
            off(3, "6.0"),
        ],
    )];
    let tests = test_group("disabled", &incident_series(OK, ERR), &alerts, &[]);
    g.promtool("1m", &strs(&order(&["paging", "quiet_page"])), &tests);
}

/// Engine mode: sloburn still exports the disabled tier's state (`slo_burn_alert_active` 1 for
/// its page row), but no rule reads it, while the enabled ticket tier fires.
#[test]
fn a_disabled_tier_never_alerts_in_engine_mode() {
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n    alerting:\n      page_alert:\n        disable: true\n";
    let g = generate(spec, "engine");
    let job = "job=\"sloburn\",instance=\"sloburn:9464\"";
    let active = |severity: &str, long: &str, short: &str| {
        series(
            &format!(
                "slo_burn_alert_active{{{job},service=\"shop\",slo=\"avail\",severity=\"{severity}\",long_window=\"{long}\",short_window=\"{short}\"}}"
            ),
            "1+0x20",
        )
    };
    let input = [active("page", "1h", "5m"), active("ticket", "1d", "2h")];
    let ticket = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("service", "shop"),
            ("slo", "avail"),
            ("severity", "ticket"),
            ("sloburn_severity", "ticket"),
            ("long_window", "1d"),
            ("short_window", "2h"),
        ],
        &[(
            "summary",
            "shop/avail: the error budget burns too fast (ticket 1d/2h)",
        )],
    );
    let alerts = [alert_test("10m", "SLOErrorBudgetBurn", &[ticket])];
    let tests = test_group("engine disabled", &input, &alerts, &[]);
    g.promtool("1m", &["sloburn-engine"], &tests);
}

/// Two ratio SLOs of 10,000 requests a minute on their own jobs, 30d, 99.9% (budget 0.001,
/// so 10 errors a minute burn at 1), each with `alerting.exhaustion: {within: 12d}`.
fn exhaustion_spec() -> String {
    let mut s = String::from("version: sloburn/v1\nservice: shop\nslos:\n");
    for name in ["fast", "slow"] {
        write!(
            s,
            "  - name: {name}\n    objective: 99.9\n    period: 30d\n    sli:\n      ratio:\n        errors: 'http_requests_total{{job=\"{name}\",code=\"500\"}}'\n        total: 'http_requests_total{{job=\"{name}\"}}'\n    alerting:\n      exhaustion:\n        within: 12d\n"
        )
        .unwrap();
    }
    s
}

/// The engine's forecast worked out from event counts (a rolling period refills at the
/// period's average burn): `remaining × period / (burn(1h) − (1 − remaining))` while that
/// drain is positive, 0 once the budget is spent, none otherwise.
fn forecast_from_counts(
    period_bad: f64,
    period_total: f64,
    bad_1h: f64,
    total_1h: f64,
) -> Option<f64> {
    let budget = 0.001;
    let remaining = 1.0 - period_bad / period_total / budget;
    if remaining <= 0.0 {
        return Some(0.0);
    }
    let burn = bad_1h / total_1h / budget;
    let drain = burn - (1.0 - remaining);
    (drain > 0.0).then(|| remaining * 30.0 * 86400.0 / drain)
}

#[test]
fn exhaustion_alert_fires_when_the_forecast_is_within_its_bound() {
    // No errors for an hour, then `fast` fails 15 requests a minute (burn 1.5) and `slow` 12
    // (burn 1.2). At minute t the period holds e·(t − 60) bad of 10,000·t, the 1h window
    // e·min(60, t − 60) bad of 600,000. Evaluated every 5m (the slice interval), slices first.
    // The forecasts, from those counts (`forecast_from_counts`):
    // - fast: 115m 12.89d, 120m 10d (fires: within 12d); 180m spent (forecast 0, quiet: a
    //   spent budget is SLOErrorBudgetExhausted's to report, not running out);
    // - slow: 120m 20d, 215m 12.08d, 220m 11.67d (fires).
    let g = generate(&exhaustion_spec(), "ruler");
    // `e` errors a minute from minute 60.
    let counts = |e: f64, t: f64| {
        let bad_1h = e * (t - 60.0).clamp(0.0, 60.0);
        forecast_from_counts(e * (t - 60.0).max(0.0), 10_000.0 * t, bad_1h, 600_000.0)
    };
    let within = 12.0 * 86400.0;
    // The budget left at minute t, from the same counts: spent once e·(t − 60) bad reach the
    // budget's 0.001 of 10,000·t.
    let left = |e: f64, t: f64| 1.0 - e * (t - 60.0).max(0.0) / (10_000.0 * t) / 0.001;
    let fires = |e: f64, t: f64| left(e, t) > 0.0 && counts(e, t).is_some_and(|f| f <= within);
    // The instants worked out above, checked against the formula.
    let day = |f: Option<f64>| f.map(|s| (s / 864.0).round() / 100.0);
    assert_eq!(day(counts(15.0, 115.0)), Some(12.89));
    assert_eq!(day(counts(15.0, 120.0)), Some(10.0));
    assert_eq!(counts(15.0, 180.0), Some(0.0));
    assert!(left(15.0, 175.0) > 0.0 && left(15.0, 180.0) <= 0.0);
    assert_eq!(day(counts(12.0, 215.0)), Some(12.08));
    assert_eq!(day(counts(12.0, 220.0)), Some(11.67));
    assert_eq!(counts(12.0, 60.0), None, "not burning: no forecast");
    let running_out = |slo: &str| {
        alert(
            &[
                ("service", "shop"),
                ("slo", slo),
                ("severity", "ticket"),
                ("sloburn_severity", "ticket"),
                ("exhaustion_within", "12d"),
            ],
            &[
                (
                    "summary",
                    &format!(
                        "shop/{slo}: at the current burn rate the error budget runs out within 12d"
                    ),
                ),
                (
                    "description",
                    "The forecast time to a spent budget (slo_error_budget_exhaustion_seconds: the remaining budget at the 1h burn rate, less the budget refilled as old events leave the 30d window) is at most 12d; a spent budget is left to SLOErrorBudgetExhausted.",
                ),
            ],
        )
    };
    let name = "SLOErrorBudgetRunningOut";
    let mut alerts = Vec::new();
    for t in [60, 115, 120, 175, 180, 215, 220] {
        let firing: Vec<String> = [("fast", 15.0), ("slow", 12.0)]
            .iter()
            .filter(|(_, e)| fires(*e, t as f64))
            .map(|(slo, _)| running_out(slo))
            .collect();
        alerts.push(alert_test(&format!("{t}m"), name, &firing));
    }
    // The expected instants, as stated above.
    assert!(!fires(15.0, 115.0) && fires(15.0, 120.0) && fires(15.0, 175.0));
    assert!(!fires(15.0, 180.0) && !fires(15.0, 215.0), "spent: quiet");
    assert!(!fires(12.0, 120.0) && !fires(12.0, 215.0) && fires(12.0, 220.0));
    // The recorded forecast is the engine's number: none while nothing burns, then 10d and 20d.
    let forecast = |slo: &str| labels("slo_error_budget_exhaustion_seconds", slo, "");
    assert_eq!(counts(15.0, 120.0), Some(864_000.0));
    assert_eq!(counts(12.0, 120.0), Some(1_728_000.0));
    let exprs = [
        expr_test("60m", "slo_error_budget_exhaustion_seconds", &[]),
        expr_test(
            "120m",
            "slo_error_budget_exhaustion_seconds",
            &[(forecast("fast"), "864000"), (forecast("slow"), "1728000")],
        ),
        // `fast` spent: still recorded as 0 (the engine's number), though its alert is quiet.
        expr_test(
            "180m",
            "slo_error_budget_exhaustion_seconds{slo=\"fast\"}",
            &[(forecast("fast"), "0")],
        ),
    ];
    let series = [
        series(
            "http_requests_total{job=\"fast\",code=\"200\"}",
            "0+10000x60 609985+9985x180",
        ),
        series(
            "http_requests_total{job=\"fast\",code=\"500\"}",
            "0+0x60 15+15x180",
        ),
        series(
            "http_requests_total{job=\"slow\",code=\"200\"}",
            "0+10000x60 609988+9988x180",
        ),
        series(
            "http_requests_total{job=\"slow\",code=\"500\"}",
            "0+0x60 12+12x180",
        ),
    ];
    let tests = test_group("running out", &series, &alerts, &exprs);
    g.promtool("5m", &strs(&order(&["fast", "slow"])), &tests);
}

#[test]
fn engine_mode_exhaustion_alert_follows_its_gauge() {
    // sloburn's gauge turns 1 at 5m; `for: 2m` fires it at 7m, as a page with the spec's labels.
    // A disabled exhaustion alert gets no rule, whatever its gauge says.
    let spec = "version: sloburn/v1\nservice: shop\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n    alerting:\n      exhaustion:\n        within: 2h\n        severity: page\n        for: 2m\n        labels: {team: sre}\n        annotations: {runbook_url: https://r.example.com}\n  - name: quiet\n    objective: 99.9\n    sli:\n      ratio:\n        errors: 'http_requests_total{code=\"500\"}'\n        total: http_requests_total\n    alerting:\n      exhaustion: {within: 2h, disable: true}\n";
    let g = generate(spec, "engine");
    let job = "job=\"sloburn\",instance=\"sloburn:9464\"";
    let gauge = |slo: &str| {
        format!("slo_error_budget_exhaustion_alert_active{{{job},service=\"shop\",slo=\"{slo}\"}}")
    };
    let input = [
        series(&gauge("avail"), "0+0x4 1+0x20"),
        series(&gauge("quiet"), "1+0x24"),
    ];
    let fired = alert(
        &[
            ("job", "sloburn"),
            ("instance", "sloburn:9464"),
            ("service", "shop"),
            ("slo", "avail"),
            ("severity", "page"),
            ("sloburn_severity", "page"),
            ("exhaustion_within", "2h"),
            ("team", "sre"),
        ],
        &[
            (
                "summary",
                "shop/avail: at the current burn rate the error budget runs out within 2h",
            ),
            (
                "description",
                "The forecast time to a spent budget (slo_error_budget_exhaustion_seconds: the remaining budget at the 1h burn rate, less the budget refilled as old events leave the 30d window) is at most 2h; a spent budget is left to SLOErrorBudgetExhausted.",
            ),
            ("runbook_url", "https://r.example.com"),
        ],
    );
    let name = "SLOErrorBudgetRunningOut";
    let alerts = [
        alert_test("4m", name, &[]),
        alert_test("6m", name, &[]),
        alert_test("7m", name, std::slice::from_ref(&fired)),
        alert_test("20m", name, &[fired]),
    ];
    let tests = test_group("engine running out", &input, &alerts, &[]);
    g.promtool("1m", &[], &tests);
}

/// A grouped SLO (`group_by: [service]`, a label sloburn sets itself, so each group is carried
/// as `exported_service`) with `alerting.exhaustion: {within: 12d}`: each group gets its own
/// forecast and alert. Backends `a` and `b` serve 10,000 requests a minute; from minute 60 `a`
/// fails 15 a minute (burn 1.5 at 99.9%) and `b` 12 (burn 1.2). Worked out from those counts
/// per group (`forecast_from_counts`, as the ungrouped case): at 120m `a` lasts 10d (fires) and
/// `b` 20d (quiet); at 180m `a` is spent (forecast 0, quiet) and `b` lasts 15d (quiet).
#[test]
fn grouped_exhaustion_forecasts_and_alerts_each_group_on_its_own() {
    let spec = ratio_spec(&[(
        "backends",
        "99.9",
        "    group_by: [service]\n    alerting:\n      exhaustion:\n        within: 12d\n",
    )]);
    let g = generate(&spec, "ruler");
    let within = 12.0 * 86400.0;
    // Per group, from its own counts: `e` errors a minute of 10,000 from minute 60.
    let counts = |e: f64, t: f64| {
        let bad_1h = e * (t - 60.0).clamp(0.0, 60.0);
        forecast_from_counts(e * (t - 60.0).max(0.0), 10_000.0 * t, bad_1h, 600_000.0)
    };
    let left = |e: f64, t: f64| 1.0 - e * (t - 60.0).max(0.0) / (10_000.0 * t) / 0.001;
    let fires = |e: f64, t: f64| left(e, t) > 0.0 && counts(e, t).is_some_and(|f| f <= within);
    assert_eq!(counts(15.0, 120.0), Some(864_000.0));
    assert_eq!(counts(12.0, 120.0), Some(1_728_000.0));
    assert!(fires(15.0, 120.0) && !fires(12.0, 120.0));
    assert_eq!(counts(15.0, 180.0), Some(0.0));
    assert!(!fires(15.0, 180.0) && !fires(12.0, 180.0));
    let groups = [("a", 15.0), ("b", 12.0)];
    let running_out = |group: &str| {
        alert(
            &[
                ("service", "shop"),
                ("slo", "backends"),
                ("exported_service", group),
                ("severity", "ticket"),
                ("sloburn_severity", "ticket"),
                ("exhaustion_within", "12d"),
            ],
            &[
                (
                    "summary",
                    "shop/backends: at the current burn rate the error budget runs out within 12d",
                ),
                (
                    "description",
                    "The forecast time to a spent budget (slo_error_budget_exhaustion_seconds: the remaining budget at the 1h burn rate, less the budget refilled as old events leave the 30d window) is at most 12d; a spent budget is left to SLOErrorBudgetExhausted.",
                ),
            ],
        )
    };
    let mut alerts = Vec::new();
    for t in [60, 120, 180] {
        let firing: Vec<String> = groups
            .iter()
            .filter(|(_, e)| fires(*e, t as f64))
            .map(|(group, _)| running_out(group))
            .collect();
        alerts.push(alert_test(
            &format!("{t}m"),
            "SLOErrorBudgetRunningOut",
            &firing,
        ));
    }
    let forecast = |group: &str| {
        labels(
            "slo_error_budget_exhaustion_seconds",
            "backends",
            &format!("exported_service=\"{group}\""),
        )
    };
    let exprs: Vec<String> = [60.0, 120.0]
        .iter()
        .map(|&t| {
            let samples: Vec<(String, String)> = groups
                .iter()
                .filter_map(|(group, e)| counts(*e, t).map(|f| (forecast(group), f.to_string())))
                .collect();
            let samples: Vec<(String, &str)> = samples
                .iter()
                .map(|(l, v)| (l.clone(), v.as_str()))
                .collect();
            expr_test(
                &format!("{t}m"),
                "slo_error_budget_exhaustion_seconds",
                &samples,
            )
        })
        .collect();
    let backend = |s: &str, code: &str| {
        format!("http_requests_total{{job=\"t\",service=\"{s}\",code=\"{code}\"}}")
    };
    let input = [
        series(&backend("a", "200"), "0+10000x60 609985+9985x180"),
        series(&backend("a", "500"), "0+0x60 15+15x180"),
        series(&backend("b", "200"), "0+10000x60 609988+9988x180"),
        series(&backend("b", "500"), "0+0x60 12+12x180"),
    ];
    let tests = test_group("grouped running out", &input, &alerts, &exprs);
    g.promtool("5m", &strs(&order(&["backends"])), &tests);
}
