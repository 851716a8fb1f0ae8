//! The pages rendered for a crafted snapshot: the freeze banner, the table's semantics, the SLO
//! page's charts and text alternatives, and the routes (404 for an unknown SLO, decoded paths).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{months, render, render_slo, slo_href};
use crate::engine::snapshot::{
    AlertSnapshot, ChartPoint, ChartSeries, FreezeReason, ServiceSnapshot, SloSnapshot, Snapshot,
    WindowSnapshot,
};
use crate::exporter::{Exporter, SnapshotCell};
use crate::http::{AppState, HistoryRequest, ServeConfig, serve_with};

const NOW: f64 = 1_700_000_000.0;

fn slo(service: &str, name: &str, group: Option<&str>, remaining: f64) -> SloSnapshot {
    SloSnapshot {
        service: service.into(),
        slo: name.into(),
        labels: vec![("team".into(), "core".into())].into(),
        group: group
            .map(|g| vec![("route".into(), g.into())])
            .unwrap_or_default()
            .into(),
        sli_kind: "ratio",
        period: "30d".into(),
        objective: 0.999,
        period_seconds: 2_592_000.0,
        windows: vec![
            WindowSnapshot {
                window: "5m".into(),
                seconds: 300.0,
                error_ratio: Some(0.02),
                burn_rate: Some(20.0),
                bad: 20.0,
                total: 1000.0,
            },
            WindowSnapshot {
                window: "1h".into(),
                seconds: 3600.0,
                error_ratio: Some(0.0156),
                burn_rate: Some(15.6),
                bad: 156.0,
                total: 10_000.0,
            },
        ],
        data_present: true,
        no_data_reason: None,
        period_error_ratio: Some(0.001 * (1.0 - remaining)),
        error_budget_remaining: Some(remaining),
        period_good_events: 999_000.0,
        period_total_events: 1_000_000.0,
        alerts: vec![
            AlertSnapshot {
                severity: "page",
                long_window: "1h".into(),
                short_window: "5m".into(),
                threshold: 14.4,
                active: group == Some("/pay"),
                disabled: false,
                ..AlertSnapshot::default()
            },
            AlertSnapshot {
                severity: "ticket",
                long_window: "3d".into(),
                short_window: "6h".into(),
                threshold: 1.0,
                active: false,
                disabled: false,
                ..AlertSnapshot::default()
            },
        ],
        exhaustion_seconds: Some(7200.0),
        exhaustion_alert: None,
        fresh: group != Some("/cart"),
        last_evaluation: NOW - 20.0,
        freeze_below: 0.1,
        ..SloSnapshot::default()
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        evaluated_at: Some(NOW),
        slos: vec![
            slo("checkout", "availability", Some("/pay"), 0.8),
            slo("checkout", "availability", Some("/cart"), 0.9),
            slo("my service", "a/b", None, -0.5),
            slo("my service", "<script>", None, 0.5),
        ],
        services: vec![
            ServiceSnapshot {
                service: "checkout".into(),
                frozen: false,
                reasons: vec![],
                fresh: false,
                no_data: vec![],
            },
            ServiceSnapshot {
                service: "my service".into(),
                frozen: true,
                reasons: vec![FreezeReason {
                    slo: "a/b".into(),
                    remaining: -0.5,
                    freeze_below: 0.1,
                }],
                fresh: true,
                no_data: vec![],
            },
        ],
        ..Snapshot::default()
    }
}

fn history(group: &[(String, String)]) -> ChartSeries {
    let start = (NOW as i64 / 3600) * 3600 - 48 * 3600;
    ChartSeries {
        group: group.to_vec(),
        points: (1..=48)
            .map(|h| ChartPoint {
                t: start + h * 3600,
                good: 990.0,
                total: 1000.0,
                error_ratio: 0.01,
                burn_rate: if h == 48 { 16.0 } else { 2.0 },
                remaining: 1.0 - h as f64 / 100.0,
            })
            .collect(),
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_frozen_service_shows_one_banner() {
    let html = render(&snapshot());
    assert_eq!(count(&html, "role=\"alert\""), 1, "{html}");
    let banner_at = html.find("role=\"alert\"").unwrap();
    let banner = &html[banner_at..html[banner_at..].find("</div>").unwrap() + banner_at];
    assert!(banner.contains("Deploy freeze: my service"), "{banner}");
    assert!(
        banner.contains("a/b: -50.0% left (freeze below 10.0%)"),
        "{banner}"
    );
    // The banners come before the services' sections.
    assert!(banner_at < html.find("<h2").unwrap());
    // Nothing frozen, no banner.
    let mut calm = snapshot();
    calm.services[1].frozen = false;
    assert!(!render(&calm).contains("role=\"alert\""));
}

#[test]
fn the_status_page_is_a_proper_document() {
    let html = render(&snapshot());
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(
        html.contains("<time datetime=\"2023-11-14T22:13:20Z\">2023-11-14 22:13:20 UTC</time>")
    );
    // No external assets and no script.
    assert!(!html.contains("<script"), "unescaped name or a script");
    assert!(!html.contains("src="));
    assert!(!html.contains("<link"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    // Headings in order: one h1, then one h2 per service.
    assert_eq!(count(&html, "<h1"), 1);
    assert_eq!(count(&html, "<h2"), 2);
    assert!(html.find("<h1").unwrap() < html.find("<h2").unwrap());
    assert!(html.find(">checkout</h2>").unwrap() < html.find(">my service</h2>").unwrap());
}

#[test]
fn each_service_has_a_table_with_headers_and_links() {
    let html = render(&snapshot());
    assert_eq!(count(&html, "<table>"), 2);
    assert_eq!(count(&html, "<caption"), 2);
    assert_eq!(count(&html, "<th scope=\"col\">"), 2 * 7);
    // One row per series, its header the SLO (a link to its page) and the group.
    assert_eq!(count(&html, "<th scope=\"row\">"), 4);
    assert!(html.contains(
        "<th scope=\"row\"><a href=\"/slo/checkout/availability\">availability</a>\
         <span class=\"group\">route=/pay</span></th>"
    ));
    assert!(html.contains("<a href=\"/slo/my%20service/a%2Fb\">a/b</a>"));
    assert!(html.contains("<a href=\"/slo/my%20service/%3Cscript%3E\">&lt;script&gt;</a>"));
    // The table scrolls in a focusable, named region on narrow screens.
    assert!(
        html.contains(
            "<div class=\"scroll\" role=\"region\" aria-labelledby=\"c0\" tabindex=\"0\">"
        )
    );
    assert!(html.contains(".scroll{overflow-x:auto"));
}

#[test]
fn rows_show_numbers_as_text() {
    let html = render(&snapshot());
    let row = |group: &str| {
        let at = html
            .find(&format!("data-group=\"{group}\""))
            .unwrap_or_else(|| panic!("no row {group}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    let pay = row("route=/pay");
    assert!(pay.contains("<td class=\"num\">99.9%</td>"), "{pay}");
    assert!(pay.contains("<td class=\"num\">99.980%</td>"), "{pay}");
    // The budget: a named meter and the percentage as text.
    assert!(pay.contains("role=\"meter\""), "{pay}");
    assert!(
        pay.contains("aria-label=\"Error budget remaining, availability route=/pay\""),
        "{pay}"
    );
    assert!(pay.contains(">80.0%</span>"), "{pay}");
    assert!(
        pay.contains("<li>5m: 20.00×</li><li>1h: 15.60×</li>"),
        "{pay}"
    );
    // Alert state in words, not only in colour.
    assert!(
        pay.contains("page: <span class=\"state firing\">FIRING</span>"),
        "{pay}"
    );
    assert!(
        pay.contains("ticket: <span class=\"state quiet\">ok</span>"),
        "{pay}"
    );
    assert!(pay.contains(">fresh</span>"), "{pay}");
    assert!(pay.contains("(20 s ago)"), "{pay}");
    let cart = row("route=/cart");
    assert!(
        cart.contains("page: <span class=\"state quiet\">ok</span>"),
        "{cart}"
    );
    assert!(cart.contains(">STALE</span>"), "{cart}");
    // Overspent: the bar is empty, the text negative.
    let overspent = {
        let at = html.find("data-slo=\"a/b\"").unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(overspent.contains("aria-valuenow=\"0.0\""), "{overspent}");
    assert!(overspent.contains(">-50.0%</span>"), "{overspent}");
}

#[test]
fn no_evaluation_yet() {
    let html = render(&Snapshot::default());
    assert!(html.contains("No evaluation yet"));
    assert!(html.contains("Last evaluation: none yet."));
}

#[test]
fn the_slo_page_charts_each_group() {
    let snap = snapshot();
    let groups: Vec<ChartSeries> = snap.slos[..2].iter().map(|s| history(&s.group)).collect();
    let html = render_slo(&snap, "checkout", "availability", Some(&groups)).unwrap();
    assert!(html.contains("<a href=\"/\">← All SLOs</a>"));
    assert_eq!(count(&html, "<h1"), 1);
    assert_eq!(count(&html, "<h2"), 2);
    assert_eq!(count(&html, "<svg role=\"img\""), 4, "{html}");
    assert!(html.contains(
        "Error budget burn-down over the period, availability (route=/pay): 80.0% left now, from \
         100% at the period start; deploys freeze below 10.0%.</title>"
    ));
    assert!(html.contains(
        "Burn rate per hour, availability (route=/cart): 16.00× in the latest hour; page \
         threshold 14.40×, exceeded in 1 of 48 buckets.</title>"
    ));
    // Every chart is named by its title.
    for (i, _) in html.match_indices("<svg role=\"img\" aria-labelledby=\"") {
        let id = &html[i + 33..i + 33 + html[i + 33..].find('"').unwrap()];
        assert!(html.contains(&format!("<title id=\"{id}\">")), "{id}");
    }
    // The page threshold is drawn.
    assert_eq!(count(&html, ">page 14.40×</text>"), 2);
    // Without history the page still has its numbers.
    let bare = render_slo(&snap, "checkout", "availability", None).unwrap();
    assert!(bare.contains("No history to chart yet."));
    assert!(bare.contains("<caption id=\"w0\">Burn rate per window</caption>"));
    // Frozen service: the banner on its SLO's page too.
    let frozen = render_slo(&snap, "my service", "a/b", None).unwrap();
    assert!(frozen.contains("role=\"alert\""));
}

#[test]
fn unknown_slo_has_no_page() {
    assert!(render_slo(&snapshot(), "checkout", "nope", None).is_none());
    assert!(render_slo(&snapshot(), "nope", "availability", None).is_none());
    assert_eq!(slo_href("a b", "x/y?"), "/slo/a%20b/x%2Fy%3F");
}

/// A server whose engine answers history requests from the crafted snapshot.
async fn server() -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let cell = Arc::new(SnapshotCell::new());
    cell.publish(snapshot());
    let (tx, mut rx) = mpsc::channel::<HistoryRequest>(4);
    tokio::spawn(async move {
        while let Some((service, slo, reply)) = rx.recv().await {
            let snap = snapshot();
            let groups: Vec<ChartSeries> = snap
                .slos
                .iter()
                .filter(|s| *s.service == *service && *s.slo == *slo)
                .map(|s| history(&s.group))
                .collect();
            let _ = reply.send((!groups.is_empty()).then_some(groups));
        }
    });
    let state = AppState {
        exporter: Arc::new(Exporter::new(Arc::clone(&cell))),
        snapshot: cell,
        ready: Arc::new(AtomicBool::new(true)),
        reload: None,
        history: Some(tx),
        report: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = serve_with(listener, state, ServeConfig::default(), async {
            let _ = stopped.await;
        })
        .await;
    });
    (base, stop, task)
}

#[tokio::test]
async fn routes_serve_the_pages() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (base, stop, task) = server().await;
    let get = |path: &str| {
        let request = client.get(format!("{base}{path}"));
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let kind = r.headers()["content-type"].to_str().unwrap().to_string();
            (status, kind, r.text().await.unwrap())
        }
    };
    let (status, kind, body) = get("/").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.contains("role=\"alert\""));
    // Percent-decoded segments, an encoded slash inside a name, charts from the history.
    let (status, _, body) = get("/slo/my%20service/a%2Fb").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>a/b <span class=\"group\">service my service</span></h1>"));
    assert_eq!(count(&body, "<svg role=\"img\""), 2, "{body}");
    let (status, _, body) = get("/slo/checkout/availability").await;
    assert_eq!(status, 200);
    assert_eq!(count(&body, "<svg role=\"img\""), 4);
    // Unknown SLOs and malformed paths: HTML error pages.
    let (status, kind, body) = get("/slo/checkout/nope").await;
    assert_eq!((status, kind.as_str()), (404, "text/html; charset=utf-8"));
    assert!(
        body.contains("There is no SLO nope in service checkout."),
        "{body}"
    );
    assert!(
        body.contains("<a href=\"/slo/checkout/availability\">"),
        "{body}"
    );
    assert_eq!(get("/slo/checkout").await.0, 404);
    assert_eq!(get("/slo/checkout/availability/x").await.0, 404);
    assert_eq!(get("/slo//availability").await.0, 404);
    assert_eq!(get("/slo/check%zzout/availability").await.0, 400);
    let r = client
        .post(format!("{base}/slo/checkout/availability"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

const NO_SERIES: &str = "no series matches pay_total{job=\"pay\"}";

/// The crafted snapshot plus `checkout/charge`, which has no data.
fn snapshot_without_data() -> Snapshot {
    let mut snap = snapshot();
    snap.slos.insert(
        2,
        slo("checkout", "charge", None, 1.0).without_data(NO_SERIES),
    );
    snap.services[0].no_data = vec![crate::engine::snapshot::NoDataReason {
        slo: "charge".into(),
        reason: NO_SERIES.into(),
    }];
    snap
}

#[test]
fn a_row_without_data_says_so_and_why() {
    let html = render(&snapshot_without_data());
    let at = html
        .find("<tr data-slo=\"charge\"")
        .expect("a row for charge");
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    // No budget meter and no number where the budget, the SLI or a burn rate would be.
    assert!(!row.contains("role=\"meter\""), "{row}");
    assert_eq!(
        count(row, "%"),
        1,
        "only the objective is a percentage: {row}"
    );
    // The only rates are the alert thresholds.
    assert_eq!(count(row, "×"), 2, "{row}");
    for want in [
        // SLI, budget and burn rates.
        "<td class=\"num\">no data</td>",
        "<span class=\"pct nodata\">no data</span>",
        "<li>5m: no data</li><li>1h: no data</li>",
        // Its alerts cannot fire, which is no "ok".
        "page: <span class=\"state nodata\">cannot fire (no data)</span>",
        // The data column says no data and why (escaped).
        "<span class=\"nodata\">NO DATA</span>",
        "no series matches pay_total{job=&quot;pay&quot;}",
    ] {
        assert!(row.contains(want), "{want} not in {row}");
    }
    assert!(!row.contains(">ok<"), "{row}");
    assert!(!row.contains(">fresh<"), "{row}");
    // The service's line counts it and says the gate cannot tell.
    assert!(
        html.contains(
            "<p class=\"meta\">Deploys: <strong class=\"nodata\">cannot tell (no data)</strong>. \
             Data: <strong class=\"stale\">stale</strong>, \
             <strong class=\"nodata\">no data for 1 of 3 series</strong>.</p>"
        ),
        "{html}"
    );
    // The other rows are untouched.
    assert!(html.contains(">80.0%</span>"));
    // Without any series lacking data, the line is as before.
    assert!(render(&snapshot()).contains(
        "<p class=\"meta\">Deploys: allowed. Data: <strong class=\"stale\">stale</strong>.</p>"
    ));
}

#[test]
fn a_frozen_service_stays_frozen_with_a_series_without_data() {
    let mut snap = snapshot_without_data();
    snap.services[0].frozen = true;
    let html = render(&snap);
    assert!(
        html.contains("Deploys: <strong class=\"spent\">frozen</strong>."),
        "{html}"
    );
}

#[test]
fn the_slo_page_without_data_shows_no_number() {
    let snap = snapshot_without_data();
    // Old buckets in the history still chart; the titles say there is no data now.
    let groups = [history(&[])];
    let html = render_slo(&snap, "checkout", "charge", Some(&groups)).unwrap();
    assert!(!html.contains("role=\"meter\""), "{html}");
    assert!(
        html.contains("<dt>SLI over the period</dt><dd>no data</dd>"),
        "{html}"
    );
    assert!(
        html.contains("<dt>Budget spent in</dt><dd>unknown: no data</dd>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr><th scope=\"row\">5m</th><td class=\"num\">no data</td><td class=\"num\">no data</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "Error budget burn-down over the period, charge: no data now (no series matches \
             pay_total{job=&quot;pay&quot;}), from 100% at the period start"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "Burn rate per hour, charge: no data now (no series matches \
             pay_total{job=&quot;pay&quot;}); page threshold"
        ),
        "{html}"
    );
    assert!(!html.contains("left now"), "{html}");
    assert!(!html.contains("in the latest hour"), "{html}");
    assert!(!html.contains(">ok<"), "{html}");
}

/// A burning row held back by the low-traffic guard (#16.4) says so instead of "ok".
#[test]
fn an_alert_held_back_by_low_traffic_says_so() {
    let held = AlertSnapshot {
        severity: "page",
        long_window: "1h".into(),
        short_window: "5m".into(),
        threshold: 14.4,
        min_events: 20,
        low_traffic: true,
        ..AlertSnapshot::default()
    };
    assert_eq!(
        super::alert_state(&held, true),
        ("held", "held back (low traffic)")
    );
}

/// The SLO page shows an exhaustion alert's state beside the forecast, only when it has one.
#[test]
fn the_slo_page_shows_the_exhaustion_alert() {
    use crate::engine::snapshot::ExhaustionAlertSnapshot;
    let mut snap = snapshot();
    let page = |snap: &Snapshot| render_slo(snap, "checkout", "availability", None).unwrap();
    assert!(!page(&snap).contains("Exhaustion alert"));
    let alert = |active, disabled| ExhaustionAlertSnapshot {
        severity: "ticket",
        within: "2h".into(),
        within_seconds: 7200.0,
        active,
        disabled,
        held_by_correction: false,
    };
    snap.slos[0].exhaustion_alert = Some(alert(true, false));
    assert!(
        page(&snap).contains(
            "<dt>Exhaustion alert</dt><dd><span class=\"state firing\">FIRING</span> ticket when the budget is forecast to be spent within 2h</dd>"
        ),
        "{}",
        page(&snap)
    );
    snap.slos[0].exhaustion_alert = Some(alert(false, false));
    assert!(page(&snap).contains("<span class=\"state quiet\">ok</span> ticket when"));
    snap.slos[0].exhaustion_alert = Some(alert(false, true));
    assert!(page(&snap).contains("<span class=\"state off\">disabled</span> ticket when"));
}

#[test]
fn the_status_page_links_this_and_last_months_reports() {
    // NOW is 2023-11-14 (UTC).
    let body = render(&snapshot());
    assert!(
        body.contains("href=\"/api/v1/report?month=2023-11&amp;format=html\""),
        "{body}"
    );
    assert!(body.contains("href=\"/api/v1/report?month=2023-10&amp;format=html\""));
    // Across a year: January's previous month is December of the year before.
    let january = chrono::NaiveDate::from_ymd_opt(2027, 1, 31)
        .unwrap()
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc()
        .timestamp() as f64;
    assert_eq!(
        months(january),
        Some(("2027-01".to_string(), "2026-12".to_string()))
    );
    // No evaluation yet: no month to link.
    assert!(!render(&Snapshot::default()).contains("/api/v1/report"));
}

/// The SLO page lists each correction (reason, when, what it took out) and marks one in
/// effect; the overview marks the row; a held alert says why.
#[test]
fn the_status_page_shows_corrections() {
    use crate::engine::snapshot::CorrectionSnapshot;
    let mut snap = snapshot();
    {
        let s = &mut snap.slos[0];
        s.period_excluded_total = 6000.0;
        s.period_excluded_bad = 3000.0;
        s.correction_active = true;
        s.alerts[0].active = false;
        s.alerts[0].held_by_correction = true;
        s.corrections = vec![
            CorrectionSnapshot {
                name: Some("db-migration".into()),
                reason: "planned <migration>".into(),
                kind: "one-off",
                when: "2023-11-14T20:00:00+00:00 to 2023-11-14T23:00:00+00:00".into(),
                next: Some((1_699_992_000, 1_700_002_800)),
                active: true,
                alerts: "silence",
                excluded_total: 6000.0,
                excluded_bad: 3000.0,
                resolution_seconds: 60,
                ..CorrectionSnapshot::default()
            },
            CorrectionSnapshot {
                reason: "backups".into(),
                kind: "recurring",
                when: "sun 02:00-04:00 Europe/Berlin".into(),
                next: Some((1_700_355_600, 1_700_362_800)),
                alerts: "fire",
                resolution_seconds: 3600,
                ..CorrectionSnapshot::default()
            },
        ];
    }
    let page = render_slo(&snap, "checkout", "availability", None).unwrap();
    assert!(
        page.contains("after corrections took out 6\u{202f}000 (3\u{202f}000 bad)"),
        "{page}"
    );
    assert!(page.contains("<li data-correction-active=\"true\"><span class=\"state held\">IN EFFECT</span> <strong>db-migration</strong>: planned &lt;migration&gt; "), "{page}");
    assert!(page.contains("until 2023-11-14 23:00:00 UTC): 6\u{202f}000 events excluded (3\u{202f}000 bad), counted in whole minutes; alerts held while in effect"), "{page}");
    assert!(page.contains("<li data-correction-active=\"false\">backups <span class=\"group\" style=\"display:inline\">(sun 02:00-04:00 Europe/Berlin; next 2023-11-19 01:00:00 UTC to 2023-11-19 03:00:00 UTC): 0 events excluded (0 bad), counted in whole 1 h buckets (a bucket partly inside is kept)</span></li>"), "{page}");
    assert!(page.contains("held (correction)"), "{page}");
    let overview = render(&snap);
    assert_eq!(count(&overview, "correction in effect"), 1, "{overview}");
}
