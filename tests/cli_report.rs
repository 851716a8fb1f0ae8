//! `sloburn report` end to end on a state directory written by the store with known counts:
//! the real binary, no Prometheus. Markdown, CSV and JSON are snapshots; errors exit 2.

mod support;

use support::chromium::dump_dom;

use std::collections::BTreeMap;

use sloburn::core::Counts;
use sloburn::core::bucket::{Chunk, Tier};
use sloburn::core::correction::{AlertMode, Correction, When};
use sloburn::store::{ChunkChange, SloChanges, SloMeta, Store, change};
use support::eval::{sloburn, text};

const DAY: i64 = 86400;
const HOUR: i64 = 3600;
const MIN: i64 = 60;
/// 2026-11-01T00:00:00Z.
const D: i64 = 1_793_491_200;
/// The history holds `[D, END)`: 5 days, the last 3 also in minutes.
const END: i64 = D + 5 * DAY;

/// 10 events a minute, the first minute of each hour all bad (10 an hour); 2026-11-02
/// 10:00-10:30 all bad (300 that hour); 2026-11-04 00:00-02:00 no events. `scale` multiplies.
fn minute(t: i64, scale: f64) -> Counts {
    let (day, hour, min) = ((t - D) / DAY, (t - D) % DAY / HOUR, (t - D) % HOUR / MIN);
    if day == 3 && hour < 2 {
        return Counts::default();
    }
    let bad = if min == 0 || (day == 1 && hour == 10 && min < 30) {
        10.0
    } else {
        0.0
    };
    Counts {
        bad: bad * scale,
        total: 10.0 * scale,
    }
}

fn chunks(scale: f64) -> Vec<ChunkChange> {
    let mut out = Vec::new();
    for h in (D..END).step_by(HOUR as usize) {
        let minutes: Vec<Counts> = (0..60).map(|m| minute(h + m * MIN, scale)).collect();
        let sum = minutes.iter().fold(Counts::default(), |s, c| s + *c);
        out.push(change(&Chunk {
            tier: Tier::Coarse,
            start: h,
            counts: vec![sum],
        }));
        if h >= END - 3 * DAY {
            out.push(change(&Chunk {
                tier: Tier::Fine,
                start: h,
                counts: minutes,
            }));
        }
    }
    out
}

/// `shop/avail` (99.9%, stored) and `shop/routes` grouped by route, written before the
/// objective was kept; one route's value holds `,`, `"`, `|` and a newline.
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let base = SloMeta {
        fingerprint: "v1:1".into(),
        fine_fed_until: Some(END),
        coarse_fed_until: Some(END),
        coarse_from: Some(D),
        coarse_res: Some(HOUR),
        ..Default::default()
    };
    // A correction over exactly the outage's hour (2026-11-02 10:00-11:00, coarse there): it
    // excludes that hour's 600 events, 300 bad.
    let avail = SloMeta {
        groups: BTreeMap::from([(String::new(), Vec::new())]),
        objective: Some(0.999),
        corrections: vec![Correction {
            name: Some("mig".into()),
            reason: "db migration".into(),
            when: When::OneOff {
                from: D + DAY + 10 * HOUR,
                to: D + DAY + 11 * HOUR,
            },
            alerts: AlertMode::Fire,
            origin: "spec shop.yaml:12:9".into(),
        }],
        ..base.clone()
    };
    let routes = SloMeta {
        groups: ["a", "b", ODD]
            .iter()
            .map(|r| (format!("route={r}"), vec![("route".into(), r.to_string())]))
            .collect(),
        ..base
    };
    let (one, a, b) = (chunks(1.0), chunks(1.0), chunks(2.0));
    let odd = chunks(1.0);
    let odd_key = format!("route={ODD}");
    store
        .save(&[
            SloChanges {
                records: Vec::new(),
                id: "shop/avail",
                meta: &avail,
                chunks: vec![("", &one)],
                prune: Vec::new(),
                replace: false,
            },
            SloChanges {
                records: Vec::new(),
                id: "shop/routes",
                meta: &routes,
                chunks: vec![("route=a", &a), ("route=b", &b), (&odd_key, &odd)],
                prune: Vec::new(),
                replace: false,
            },
        ])
        .unwrap();
    dir
}

/// A label value a table, CSV or HTML must quote or escape.
const ODD: &str = "x,\"y\"|<script>&z\nw";

const SPEC: &str = r#"
version: sloburn/v1
service: shop
slos:
  - name: routes
    objective: 99
    group_by: [route]
    sli:
      ratio:
        errors: http_requests_total{job="shop",code="500"}
        total: http_requests_total{job="shop"}
"#;

#[test]
fn a_month_as_markdown_csv_and_json() {
    let dir = state_dir();
    let path = dir.path().to_str().unwrap();
    let out = sloburn(&["report", "--state-dir", path, "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    insta::assert_snapshot!("report_markdown", text(&out));
    // The odd label keeps every row on one line: `|` escaped, the newline written `\n`.
    let md = text(&out);
    let table: Vec<&str> = md.lines().skip(2).take_while(|l| !l.is_empty()).collect();
    assert_eq!(table.len(), 2 + 5, "{md}");
    let mut rows = table.iter().skip(2);
    assert!(
        rows.all(|l| l.starts_with("| ") && l.ends_with(" |")),
        "{md}"
    );
    assert!(md.contains(r#"| route=x,"y"\|\<script\>&z\nw |"#), "{md}");
    // The corrected numbers: 70800 - 600 events, 1470 - 300 bad, against 0.1% budget.
    let line = md.lines().find(|l| l.starts_with("- shop/avail")).unwrap();
    assert!(
        line.contains("excluded 600 of 70800 events, 300 bad"),
        "{line}"
    );
    let corrected = 1170.0 / (70200.0 * 0.001) * 100.0;
    assert!(
        line.contains(&format!(
            "budget consumed {}%",
            (corrected * 1e4_f64).round() / 1e4
        )),
        "{line} {corrected}"
    );

    let out = sloburn(&[
        "report",
        "--state-dir",
        path,
        "--month",
        "2026-11",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    insta::assert_snapshot!("report_csv", text(&out));
    // RFC 4180: the field quoted, its quotes doubled, the newline kept inside the quotes.
    assert!(
        text(&out).contains("shop,routes,\"route=x,\"\"y\"\"|<script>&z\nw\",70800,"),
        "{}",
        text(&out)
    );

    // With the specs, the routes' objective is known.
    let spec = dir.path().join("shop.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = sloburn(&[
        "report",
        "--state-dir",
        path,
        "--month",
        "2026-11",
        "--format",
        "json",
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    insta::assert_snapshot!("report_json", text(&out));
}

#[test]
fn a_range_with_edges_inside_hours_and_minutes() {
    let dir = state_dir();
    let path = dir.path().to_str().unwrap();
    // 2026-11-02 09:30 to 2026-11-04 12:00:30: the first edge falls in coarse hours (counted
    // from 09:00), the second in minutes (to 12:01).
    let out = sloburn(&[
        "report",
        "--state-dir",
        path,
        "--from",
        "2026-11-02T09:30:00Z",
        "--to",
        "2026-11-04T12:00:30Z",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let avail = &v["slos"][0];
    assert_eq!(avail["slo"], "avail");
    assert_eq!(avail["covered_from"], "2026-11-02T09:00:00+00:00");
    assert_eq!(avail["covered_to"], "2026-11-04T12:01:00+00:00");
    assert_eq!(avail["resolution"], "1h, 1m from 2026-11-03T00:00:00+00:00");
    // Hours 09:00-24:00 of day 2 (15 of 600, 10 bad; 10:00 300 bad), all of day 3, day 4
    // 02:00-12:01 (10 h of 600 and one minute of 10, the 12:00 minute bad).
    let total = 15.0 * 600.0 + 24.0 * 600.0 + 10.0 * 600.0 + 10.0;
    let bad = 15.0 * 10.0 + 290.0 + 24.0 * 10.0 + 10.0 * 10.0 + 10.0;
    assert_eq!(avail["total"], total);
    assert_eq!(avail["bad"], bad);
    assert_eq!(avail["worst_day"]["day"], "2026-11-02");
    assert_eq!(avail["no_data_hours"], 2.0);
    assert_eq!(avail["not_held_hours"], 0.0);
}

#[test]
fn bad_arguments_and_a_locked_store_exit_2_with_a_reason() {
    let dir = state_dir();
    let path = dir.path().to_str().unwrap();
    for (args, says) in [
        (vec!["--month", "2026-13"], "is no month"),
        (vec!["--month", "11/2026"], "is no month"),
        (
            vec![
                "--from",
                "2026-11-02T00:00:00Z",
                "--to",
                "2026-11-02T00:00:00Z",
            ],
            "is not before",
        ),
        (
            vec!["--from", "yesterday", "--to", "2026-11-02T00:00:00Z"],
            "is no time",
        ),
        (
            vec!["--month", "2026-11", "--format", "pdf"],
            "invalid value 'pdf'",
        ),
        (vec!["--from", "2026-11-02T00:00:00Z"], "--to"),
        (vec![], "--month"),
    ] {
        let mut all = vec!["report", "--state-dir", path];
        all.extend(args.iter().copied());
        let out = sloburn(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
    let out = sloburn(&[
        "report",
        "--state-dir",
        "/nonexistent/sloburn",
        "--month",
        "2026-11",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no history in /nonexistent/sloburn"),
        "{}",
        text(&out)
    );

    // Held open here as `sloburn run` holds it.
    let _held = Store::open(dir.path()).unwrap();
    let out = sloburn(&["report", "--state-dir", path, "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("sloburn.redb is locked")
            && said.contains("stop it")
            && said.contains("GET /api/v1/report?month="),
        "{said}"
    );
}

/// The HTML report rendered by a real headless Chromium from a `file://` URL: every row the
/// JSON report has, with the same numbers; per row an SVG chart of the daily SLI with a point
/// for each day of the history (all 5 have events) and one of the budget consumed (a point a
/// day where the objective is known); the `<script>` and `&` of a label shown as text; and
/// nothing that could load from anywhere (a CSP of `default-src 'none'`, no URL but the SVG
/// namespace).
#[test]
fn a_month_as_html_in_chromium() {
    let dir = state_dir();
    let path = dir.path().to_str().unwrap();
    let spec = dir.path().join("routes.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let args = |format: &str| {
        let spec = spec.to_str().unwrap().to_string();
        vec![
            "report".to_string(),
            "--state-dir".into(),
            path.into(),
            "--month".into(),
            "2026-11".into(),
            "--spec".into(),
            spec,
            "--format".into(),
            format.into(),
        ]
    };
    let run = |format: &str| {
        let a = args(format);
        let out = sloburn(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let html = run("html");
    let file = dir.path().join("report.html");
    std::fs::write(&file, &html).unwrap();
    let dom = dump_dom(&format!("file://{}", file.display()));

    // Nothing to load: the policy, and no URL in the file but the SVG namespace.
    assert!(dom.contains("default-src 'none'; style-src 'unsafe-inline'"));
    let urls = html.matches("://").count();
    let svg_ns = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, svg_ns, "a URL besides the SVG namespace");
    for never in ["src=", "href=", "url(", "@import", "<link", "<script"] {
        assert!(!html.contains(never), "{never} in the report");
    }
    // The label's script is text in the rendered DOM, not an element.
    assert!(!dom.contains("<script"), "{dom:.3000}");
    assert!(dom.contains("&lt;script&gt;&amp;z"), "{dom:.3000}");

    let slos = json["slos"].as_array().unwrap();
    let rows: Vec<&str> = dom.split("<tr class=\"row\">").skip(1).collect();
    assert_eq!(rows.len(), slos.len(), "{dom:.3000}");
    let cell = |row: &str, column: &str| -> String {
        let at = format!("data-column=\"{column}\">");
        let rest = &row[row.find(&at).unwrap_or_else(|| panic!("{column} in {row}")) + at.len()..];
        rest[..rest.find("</td>").unwrap()].to_string()
    };
    let number = |s: String| -> f64 {
        s.trim_end_matches(['%', 'h'])
            .parse()
            .unwrap_or_else(|_| panic!("{s:?}"))
    };
    for (row, slo) in rows.iter().zip(slos) {
        assert_eq!(cell(row, "service"), slo["service"].as_str().unwrap());
        assert_eq!(cell(row, "slo"), slo["slo"].as_str().unwrap());
        assert_eq!(number(cell(row, "total")), slo["total"].as_f64().unwrap());
        assert_eq!(number(cell(row, "bad")), slo["bad"].as_f64().unwrap());
        let sli = slo["sli_percent"].as_f64().unwrap();
        assert!((number(cell(row, "SLI")) - sli).abs() < 1e-4, "{row}");
        match slo["budget_consumed_percent"].as_f64() {
            Some(c) => assert!((number(cell(row, "budget consumed")) - c).abs() < 1e-4),
            None => assert_eq!(cell(row, "budget consumed"), "unknown"),
        }
        assert_eq!(
            number(cell(row, "no data")),
            slo["no_data_hours"].as_f64().unwrap()
        );
        assert_eq!(cell(row, "page alert"), "not recorded");
    }
    // The corrections list under the table: one item, for the one row with a correction, with
    // the JSON's corrected budget.
    let list = &dom[dom
        .find("<ul id=\"corrections\">")
        .expect("a corrections list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert_eq!(list.matches("<li>").count(), 1, "{list}");
    let corrected = slos[0]["budget_consumed_corrected_percent"]
        .as_f64()
        .unwrap();
    assert!(
        list.contains(&format!(
            "budget consumed {}%",
            (corrected * 1e4).round() / 1e4
        )),
        "{list}"
    );
    // Charts: one pair per row, a point per day.
    let charts: Vec<&str> = dom.split("<section class=\"slo\"").skip(1).collect();
    assert_eq!(charts.len(), slos.len());
    for (section, slo) in charts.iter().zip(slos) {
        let days = slo["days"].as_array().unwrap();
        assert_eq!(days.len(), 5);
        let sli_chart = &section[section.find("class=\"chart sli\"").unwrap()..];
        let sli_chart = &sli_chart[..sli_chart.find("</svg>").unwrap()];
        for d in days {
            let day = d["day"].as_str().unwrap();
            let sli = 100.0 * (1.0 - d["bad"].as_f64().unwrap() / d["total"].as_f64().unwrap());
            let at = format!("data-day=\"{day}\" data-sli-percent=\"");
            let shown =
                &sli_chart[sli_chart.find(&at).unwrap_or_else(|| panic!("{day}")) + at.len()..];
            let shown: f64 = shown[..shown.find('"').unwrap()].parse().unwrap();
            assert!((shown - sli).abs() < 1e-4, "{day}: {shown} vs {sli}");
        }
        let budget = &section[section.find("class=\"chart budget\"").unwrap()..];
        let budget = &budget[..budget.find("</svg>").unwrap()];
        let points = budget.matches("data-consumed-percent=").count();
        match slo["budget_consumed_percent"].as_f64() {
            Some(total) => {
                assert_eq!(points, days.len());
                // The last day's point is the whole range's consumption.
                let last = budget.rsplit("data-consumed-percent=\"").next().unwrap();
                let last: f64 = last[..last.find('"').unwrap()].parse().unwrap();
                assert!((last - total).abs() < 1e-3, "{last} vs {total}");
            }
            None => assert_eq!(points, 0),
        }
    }
}
