//! The status page in a real headless Chromium: `sloburn demo` serves it, Chromium renders it
//! (`--dump-dom`), and the rendered DOM must show every demo SLO and the /checkout group, budgets
//! equal (to the displayed precision) to `/api/v1/slos` of the same evaluation, and the page
//! alert of the checkout route active. A second test makes a service frozen for real (`sloburn
//! run` against a fake Prometheus whose every event is bad, as `tests/gate.rs` does) and checks
//! the freeze banner. A screenshot of the demo's page is kept under `target/` (and copied to
//! `docs/status-page.png` when that is missing or `SLOBURN_UPDATE_SCREENSHOT=1`).
//!
//! Chromium is required: a missing one fails the test (scripts/test installs it).

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine::{Sloburn, http_request};
use support::chromium::{chromium, chromium_binary, dump_dom};
use support::fake_http::{FakeHttp, Mode, recent_minutes_json};
use support::process::{ChildGuard, free_port, http_status, tail};

/// A `sloburn demo` on a free port with a temp state dir; killed on drop.
struct Demo {
    base: String,
    child: ChildGuard,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("demo.log");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut command = Command::new(env!("CARGO_BIN_EXE_sloburn"));
            command
                .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
                .arg("--state-dir")
                .arg(dir.path().join("state"))
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(dir.path().join("demo.err")).unwrap());
            let mut child = ChildGuard::spawn(command, "sloburn demo");
            let base = format!("http://127.0.0.1:{port}");
            let ready = child.wait_ready(&format!("{base}/readyz"), Duration::from_secs(90));
            match ready {
                Ok(()) => {
                    return Demo {
                        base,
                        child,
                        log,
                        _dir: dir,
                    };
                }
                Err(e) => {
                    let err = tail(&dir.path().join("demo.err"), 20);
                    if !err.contains("cannot listen") {
                        panic!("sloburn demo did not get ready: {e}\n--- stderr ---\n{err}");
                    }
                    last = err;
                }
            }
        }
        panic!("sloburn demo could not bind a free port in 5 attempts: {last}");
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        if let Some(status) = self.child.exited() {
            panic!(
                "sloburn demo exited ({status})\n--- log ---\n{}",
                tail(&self.log, 20)
            );
        }
        http_request(
            "GET",
            &format!("{}{path}", self.base),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn slos(&mut self) -> serde_json::Value {
        let (status, body) = self.get("/api/v1/slos");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// `route=/checkout` for a series' `group` object (as the page's `data-group` writes it).
fn group_text(series: &serde_json::Value) -> String {
    series["group"]
        .as_object()
        .map(|g| {
            g.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The markup of the table row of one series in the rendered DOM.
fn row<'a>(dom: &'a str, slo: &str, group: &str) -> &'a str {
    let key = format!("<tr data-slo=\"{slo}\" data-group=\"{group}\">");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no row for {slo} {group:?} in the rendered page:\n{dom}"));
    let end = dom[at..].find("</tr>").expect("the row ends") + at;
    &dom[at..end]
}

/// The budget percentage a row shows as text (`42.1%`).
fn shown_budget(row: &str) -> String {
    let at = row.find("<span class=\"pct").expect("a budget text");
    let start = row[at..].find('>').unwrap() + at + 1;
    let end = row[start..].find("</span>").unwrap() + start;
    row[start..end].to_string()
}

/// `data-evaluated-at` of the rendered page.
fn evaluated_at(dom: &str) -> Option<f64> {
    let at = dom.find("data-evaluated-at=\"")? + "data-evaluated-at=\"".len();
    dom[at..at + dom[at..].find('"')?].parse().ok()
}

fn page_active(series: &serde_json::Value) -> bool {
    series["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["severity"] == "page" && a["active"] == true)
}

fn checkout(slos: &serde_json::Value) -> Option<&serde_json::Value> {
    slos["slos"]
        .as_array()?
        .iter()
        .find(|s| s["slo"] == "route-availability" && s["group"]["route"] == "/checkout")
}

#[test]
fn the_demo_status_page_in_chromium() {
    chromium_binary(); // fail fast, before starting anything
    let mut demo = Demo::start();

    // The demo pages at once: wait for the checkout route's page alert in the API.
    let started = Instant::now();
    loop {
        let slos = demo.slos();
        if checkout(&slos).is_some_and(page_active) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no page alert for /checkout within 120s: {slos}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The page and the API of the same evaluation: the API before and after the rendering
    // must name the evaluation the page shows. Evaluations come quickly just after the start
    // (the first at once, the next at the first interval boundary), so retry for longer than
    // one 10s interval, not a fixed number of times.
    let started = Instant::now();
    let mut seen = Vec::new();
    let (dom, slos) = loop {
        let before = demo.slos();
        let dom = dump_dom(&format!("{}/", demo.base));
        let after = demo.slos();
        let at = evaluated_at(&dom);
        if at.is_some()
            && at == before["evaluated_at"].as_f64()
            && at == after["evaluated_at"].as_f64()
        {
            break (dom, after);
        }
        seen.push((
            before["evaluated_at"].as_f64(),
            at,
            after["evaluated_at"].as_f64(),
        ));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "could not render the page within one evaluation in 30s; (API before, page, API after) per attempt: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };

    // A proper document: language, viewport, refresh, one h1 then an h2 per service.
    assert!(dom.contains("<html lang=\"en\">"), "{dom:.500}");
    assert!(dom.contains("name=\"viewport\""));
    assert!(dom.contains("http-equiv=\"refresh\""));
    assert!(dom.contains("Last evaluation: <time"));
    assert_eq!(dom.matches("<h1").count(), 1);
    assert!(dom.contains("<h2 id=\"s0\">demo-shop</h2>"));
    assert!(dom.find("<h1").unwrap() < dom.find("<h2").unwrap());
    assert!(dom.contains("<caption id=\"c0\">SLOs of demo-shop"));

    // Every series of the API has its row, with the same budget as displayed.
    let series = slos["slos"].as_array().expect("slos");
    let names: std::collections::BTreeSet<&str> =
        series.iter().filter_map(|s| s["slo"].as_str()).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "availability",
            "latency",
            "pool-saturation",
            "route-availability"
        ]
    );
    for s in series {
        let slo = s["slo"].as_str().unwrap();
        let group = group_text(s);
        let row = row(&dom, slo, &group);
        // The demo's shop serves every metric its SLOs read: no series may lack data (the page
        // without data is checked by the page's unit tests).
        assert_eq!(s["data_present"], true, "{slo} {group}: {s}");
        assert!(!row.contains("NO DATA"), "{row}");
        let want = format!(
            "{:.1}%",
            s["error_budget_remaining"].as_f64().unwrap() * 100.0
        );
        assert_eq!(shown_budget(row), want, "budget of {slo} {group}: {row}");
        assert!(
            row.contains(&format!("<a href=\"/slo/demo-shop/{slo}\">{slo}</a>")),
            "{row}"
        );
        assert!(row.contains("role=\"meter\""), "{row}");
        let fresh = if s["fresh"] == true {
            ">fresh<"
        } else {
            ">STALE<"
        };
        assert!(row.contains(fresh), "{row}");
        let paged = page_active(s);
        assert_eq!(
            row.contains("data-severity=\"page\" data-active=\"true\""),
            paged,
            "{row}"
        );
    }
    // The checkout route pages, in words.
    let checkout_row = row(&dom, "route-availability", "route=/checkout");
    assert!(
        checkout_row.contains("page: <span class=\"state firing\">FIRING</span>"),
        "{checkout_row}"
    );
    // A freeze banner exactly when the gate says the service is frozen.
    let (_, gate) = demo.get("/api/v1/gate?service=demo-shop");
    let gate: serde_json::Value = serde_json::from_str(&gate).unwrap();
    assert_eq!(
        dom.contains("role=\"alert\""),
        gate["frozen"] == true,
        "banner vs gate {gate}"
    );

    // The SLO's page: two charts per group, each named, and a way back.
    let groups = series
        .iter()
        .filter(|s| s["slo"] == "route-availability")
        .count();
    let detail = dump_dom(&format!("{}/slo/demo-shop/route-availability", demo.base));
    assert!(detail.contains("<a href=\"/\">← All SLOs</a>"));
    assert_eq!(
        detail.matches("<svg role=\"img\"").count(),
        2 * groups,
        "{detail:.3000}"
    );
    assert!(detail.contains(
        "<title id=\"bd0-t\">Error budget burn-down over the period, route-availability (route="
    ));
    assert!(detail.contains(">page 14.40×</text>"));
    assert!(
        !detail.contains("No history to chart yet."),
        "the demo has 30 days of history"
    );
    // Unknown SLOs: a 404 page.
    let missing = format!("{}/slo/demo-shop/nope", demo.base);
    assert_eq!(http_status(&missing, Duration::from_secs(5)).unwrap(), 404);
    assert!(dump_dom(&missing).contains("There is no SLO nope in service demo-shop."));

    // The screenshot: a test artifact, and the README's picture.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status_page");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (name, path) in [
        ("status-page.png", "/"),
        ("slo-page.png", "/slo/demo-shop/route-availability"),
    ] {
        let file = artifacts.join(name);
        let _ = std::fs::remove_file(&file);
        chromium(&[
            format!("--screenshot={}", file.display()),
            "--window-size=1280,1600".to_string(),
            "--hide-scrollbars".to_string(),
            format!("{}{path}", demo.base),
        ]);
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is no PNG",
            file.display()
        );
        eprintln!("screenshot: {} ({} bytes)", file.display(), png.len());
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page.png");
    if !docs.exists() || std::env::var_os("SLOBURN_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        std::fs::copy(artifacts.join("status-page.png"), &docs).unwrap();
        eprintln!("copied to {}", docs.display());
    }
}

/// Templated PromQL (`irate`, not a selector in disguise), whose buckets the source evaluates,
/// so the stand-in's one answer for every query is one known count per bucket.
const FROZEN_SPEC: &str = r#"
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

#[test]
fn a_frozen_service_shows_its_banner_in_chromium() {
    chromium_binary();
    let dir = tempfile::tempdir().unwrap();
    // A Prometheus stand-in: every answer the same matrix, bad = total, so every event is bad.
    let fake = FakeHttp::start(Mode::Json(recent_minutes_json(engine::now_unix(), "10")));
    let mut sloburn = Sloburn::start_with_spec(&fake.url, FROZEN_SPEC, dir.path());
    sloburn.wait_metrics(
        "the service frozen",
        Duration::from_secs(30),
        "slo_feature_freeze",
        |m| {
            m.get("slo_feature_freeze", &[("service", "checkout")]) == Some(1.0)
                && m.fresh("checkout", "availability") == Some(true)
        },
    );
    let dom = dump_dom(&format!("{}/", sloburn.url));
    let at = dom
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("no freeze banner although the service is frozen:\n{dom}"));
    let banner = &dom[at..at + dom[at..].find("</div>").unwrap()];
    assert!(banner.contains("Deploy freeze: checkout"), "{banner}");
    assert!(banner.contains("availability: "), "{banner}");
    assert!(banner.contains("(freeze below 10.0%)"), "{banner}");
    assert_eq!(dom.matches("role=\"alert\"").count(), 1);
    // The banner comes first, before the service's section; the row says overspent.
    assert!(at < dom.find("<h2").unwrap());
    let row = row(&dom, "availability", "");
    assert!(shown_budget(row).starts_with('-'), "{row}");
    // The SLO's own page carries the banner too.
    let detail = dump_dom(&format!("{}/slo/checkout/availability", sloburn.url));
    assert!(detail.contains("role=\"alert\""), "{detail:.2000}");
    sloburn.stop();
    drop(fake);
}
