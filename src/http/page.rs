//! The status page at `/` and a page per SLO at `/slo/{service}/{slo}`: server-rendered HTML
//! with inline CSS and inline SVG charts, no scripts and no external assets (it works offline).
//!
//! The status page shows a freeze banner per frozen service (`role="alert"`), then per service
//! a table of its SLOs (one row per group): objective, SLI over the period, remaining budget,
//! burn rate per window, alert states, data freshness. A series without data shows "no data"
//! and why wherever a number would be: no data must never look like a healthy budget. Each SLO's page adds, per group, a
//! burn-down chart of the budget over the period and a burn-rate chart per bucket with the page
//! threshold, both drawn from the engine's chart history.

mod chart;
#[cfg(test)]
mod tests;

use std::fmt::Write;

pub(crate) use crate::html::escape;

use crate::engine::snapshot::{AlertSnapshot, ChartSeries, ServiceSnapshot, SloSnapshot, Snapshot};

/// Seconds between automatic reloads of the pages.
const REFRESH_SECS: u32 = 30;

const STYLE: &str = "\
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;\
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--link:#0550ae}\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",\"DejaVu Sans\",sans-serif;\
color:var(--fg);background:var(--bg);margin:0 auto;padding:1rem;max-width:80rem;line-height:1.4}\
a{color:var(--link)}\
h1{font-size:1.6rem;margin:.2rem 0}\
h2{font-size:1.25rem;margin:1.6rem 0 .4rem}\
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}\
.meta{color:var(--muted);margin:.2rem 0 1rem}\
.banner{border:2px solid var(--bad);background:#ffebe9;border-radius:6px;padding:.6rem .9rem;margin:.6rem 0}\
.banner strong{color:var(--bad)}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px}\
.scroll:focus{outline:2px solid var(--link)}\
table{border-collapse:collapse;width:100%;min-width:56rem}\
caption{text-align:left;padding:.5rem .7rem;color:var(--muted);caption-side:top}\
th,td{padding:.45rem .7rem;text-align:left;vertical-align:top;border-top:1px solid var(--line)}\
thead th{background:var(--soft);font-size:.85rem;white-space:nowrap}\
tbody th a{white-space:nowrap}\
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}\
.group{display:block;color:var(--muted);font-weight:normal;font-size:.85rem}\
ul.plain{list-style:none;margin:0;padding:0}\
ul.plain li{white-space:nowrap;font-variant-numeric:tabular-nums}\
.budget{display:flex;align-items:center;gap:.5rem;white-space:nowrap}\
.bar{display:inline-block;width:7rem;height:.8rem;background:#eaeef2;border:1px solid #8c959f;border-radius:3px;overflow:hidden}\
.fill{display:block;height:100%;background:var(--ok)}\
.fill.low{background:var(--warn)}.fill.spent{background:var(--bad)}\
.pct{font-variant-numeric:tabular-nums;min-width:4.5rem;text-align:right}\
.spent{color:var(--bad)}\
.state{display:inline-block;padding:0 .35rem;border-radius:3px;font-size:.85rem}\
.firing{background:var(--bad);color:#fff;font-weight:bold}\
.quiet{color:var(--ok)}\
.off{color:var(--muted)}\
.stale,.nodata{color:var(--bad);font-weight:bold}\
.held{color:var(--warn);font-weight:bold}\
.fresh{color:var(--ok)}\
dl.numbers{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.4rem 0}\
dl.numbers dt{color:var(--muted)}dl.numbers dd{margin:0;font-variant-numeric:tabular-nums}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}\
figure{margin:0}figcaption{font-size:.9rem;color:var(--muted)}\
svg{width:100%;height:auto;display:block;background:var(--soft);border:1px solid var(--line);border-radius:6px}\
svg text{font-size:11px;fill:var(--muted)}\
footer{margin-top:2rem;color:var(--muted);font-size:.9rem}\
@media (max-width:40rem){body{padding:.6rem}h1{font-size:1.3rem}}";

/// The status page for `snapshot`.
pub(super) fn render(snapshot: &Snapshot) -> String {
    let mut html = head("SLO status · sloburn", snapshot.evaluated_at);
    html.push_str("<header>\n<h1>SLO status</h1>\n");
    evaluated_line(&mut html, snapshot);
    html.push_str("</header>\n<main>\n");
    if snapshot.evaluated_at.is_none() {
        html.push_str("<p>No evaluation yet: the page fills in after the first one.</p>\n");
    }
    let services = services(snapshot);
    for service in &services {
        if let Some(s) = snapshot.services.iter().find(|s| &s.service == service) {
            freeze_banner(&mut html, s);
        }
    }
    for (i, service) in services.iter().enumerate() {
        service_section(&mut html, snapshot, service, i);
    }
    html.push_str("</main>\n");
    report_links(&mut html, snapshot);
    footer(&mut html, snapshot);
    html
}

/// `YYYY-MM` of the month holding `at` and of the month before it (UTC).
fn months(at: f64) -> Option<(String, String)> {
    use chrono::Datelike;
    let t = datetime(at)?;
    let (y, m) = (t.year(), t.month());
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    Some((format!("{y:04}-{m:02}"), format!("{py:04}-{pm:02}")))
}

/// Links to this month's report (so far) and last month's, as HTML from the running engine.
/// The month is the last evaluation's (UTC): the page has no clock of its own.
fn report_links(html: &mut String, snapshot: &Snapshot) {
    let Some((this, last)) = snapshot.evaluated_at.and_then(months) else {
        return;
    };
    let _ = writeln!(
        html,
        "<p class=\"meta\">Reports: <a class=\"report\" href=\"/api/v1/report?month={this}&amp;format=html\">{this} so far</a> · \
         <a class=\"report\" href=\"/api/v1/report?month={last}&amp;format=html\">{last}</a> \
         (also as <code>format=markdown</code>, <code>csv</code> or <code>json</code>)</p>"
    );
}

/// The page of one SLO, or `None` when the snapshot has no such SLO. `history` is the engine's
/// chart history of that SLO (`None` when it could not be had: the page says so).
pub(super) fn render_slo(
    snapshot: &Snapshot,
    service: &str,
    slo: &str,
    history: Option<&[ChartSeries]>,
) -> Option<String> {
    let series: Vec<&SloSnapshot> = snapshot
        .slos
        .iter()
        .filter(|s| *s.service == *service && *s.slo == *slo)
        .collect();
    let first = *series.first()?;
    let mut html = head(
        &format!("{slo} · {service} · sloburn"),
        snapshot.evaluated_at,
    );
    html.push_str("<header>\n<nav><a href=\"/\">← All SLOs</a></nav>\n");
    let _ = writeln!(
        html,
        "<h1>{} <span class=\"group\">service {}</span></h1>",
        escape(slo),
        escape(service)
    );
    evaluated_line(&mut html, snapshot);
    html.push_str("</header>\n<main>\n");
    if let Some(s) = snapshot.services.iter().find(|s| s.service == service) {
        freeze_banner(&mut html, s);
    }
    html.push_str("<dl class=\"numbers\">\n");
    let _ = writeln!(
        html,
        "<dt>Objective</dt><dd>{}</dd>\n<dt>Period</dt><dd>{}</dd>\n<dt>SLI</dt><dd>{}</dd>\n\
         <dt>Deploys freeze</dt><dd>{}</dd>",
        percent_trimmed(first.objective),
        escape(&first.period),
        escape(first.sli_kind),
        if first.freeze_below > 0.0 {
            format!(
                "below {} of the budget, or when it is spent",
                pct1(first.freeze_below)
            )
        } else {
            "when the budget is spent".to_string()
        },
    );
    if !first.labels.is_empty() {
        let _ = writeln!(
            html,
            "<dt>Labels</dt><dd>{}</dd>",
            escape(&pairs(&first.labels))
        );
    }
    html.push_str("</dl>\n");
    let page_threshold = first
        .alerts
        .iter()
        .find(|a| a.severity == "page")
        .map(|a| a.threshold);
    for (i, s) in series.iter().enumerate() {
        let name = if s.group.is_empty() {
            "All events".to_string()
        } else {
            pairs(&s.group)
        };
        let _ = writeln!(
            html,
            "<section aria-labelledby=\"g{i}\" data-group=\"{}\">\n<h2 id=\"g{i}\">{}</h2>",
            escape(&pairs(&s.group)),
            escape(&name)
        );
        series_numbers(&mut html, snapshot, s);
        series_tables(&mut html, s, i);
        let points = history.and_then(|h| h.iter().find(|c| *c.group == *s.group));
        html.push_str("<h3>Over the period</h3>\n");
        match points {
            Some(c) if !c.points.is_empty() => {
                let from = snapshot.evaluated_at.unwrap_or(s.last_evaluation) - s.period_seconds;
                html.push_str("<div class=\"charts\">\n");
                chart::burn_down(&mut html, &format!("bd{i}"), s, &c.points, from);
                chart::burn_rate(&mut html, &format!("br{i}"), s, &c.points, page_threshold);
                html.push_str("</div>\n");
            }
            _ => html.push_str("<p>No history to chart yet.</p>\n"),
        }
        html.push_str("</section>\n");
    }
    html.push_str("</main>\n");
    footer(&mut html, snapshot);
    Some(html)
}

/// The page for an SLO this sloburn does not know (served with 404).
pub(super) fn render_not_found(snapshot: &Snapshot, what: &str) -> String {
    let mut html = head("Not found · sloburn", None);
    html.push_str("<header>\n<nav><a href=\"/\">← All SLOs</a></nav>\n<h1>Not found</h1>\n</header>\n<main>\n");
    let _ = writeln!(html, "<p>There is no {}.</p>", escape(what));
    if !snapshot.slos.is_empty() {
        html.push_str("<p>Known SLOs:</p>\n<ul>\n");
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for s in &snapshot.slos {
            if seen.contains(&(&*s.service, &*s.slo)) {
                continue;
            }
            seen.push((&s.service, &s.slo));
            let _ = writeln!(
                html,
                "<li><a href=\"{}\">{} / {}</a></li>",
                slo_href(&s.service, &s.slo),
                escape(&s.service),
                escape(&s.slo)
            );
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</main>\n</body></html>\n");
    html
}

/// The page for a malformed path (served with 400).
pub(super) fn render_bad_request(message: &str) -> String {
    let mut html = head("Bad request · sloburn", None);
    let _ = writeln!(
        html,
        "<header>\n<nav><a href=\"/\">← All SLOs</a></nav>\n<h1>Bad request</h1>\n</header>\n\
         <main>\n<p>{}</p>\n</main>\n</body></html>",
        escape(message)
    );
    html
}

/// The link to an SLO's page, its segments percent-encoded.
pub(super) fn slo_href(service: &str, slo: &str) -> String {
    format!("/slo/{}/{}", encode_segment(service), encode_segment(slo))
}

fn head(title: &str, evaluated_at: Option<f64>) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body",
        escape(title)
    );
    if let Some(at) = evaluated_at {
        let _ = write!(html, " data-evaluated-at=\"{at}\"");
    }
    html.push_str(">\n");
    html
}

fn evaluated_line(html: &mut String, snapshot: &Snapshot) {
    match snapshot.evaluated_at {
        Some(at) => {
            let _ = writeln!(
                html,
                "<p class=\"meta\">Last evaluation: <time datetime=\"{}\">{}</time>. \
                 The page reloads every {REFRESH_SECS} seconds.</p>",
                iso(at),
                human_time(at)
            );
        }
        None => html.push_str("<p class=\"meta\">Last evaluation: none yet.</p>\n"),
    }
}

fn footer(html: &mut String, snapshot: &Snapshot) {
    html.push_str("<footer><p>");
    if !snapshot.engine.version.is_empty() {
        let _ = write!(html, "sloburn {} · ", escape(&snapshot.engine.version));
    }
    html.push_str(
        "<a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/slos\">JSON API</a></p></footer>\n\
         </body></html>\n",
    );
}

/// Service names in the snapshot's order (services first, then any only the SLOs name).
fn services(snapshot: &Snapshot) -> Vec<String> {
    let mut names: Vec<String> = snapshot
        .services
        .iter()
        .map(|s| s.service.clone())
        .collect();
    for s in &snapshot.slos {
        if !names.iter().any(|n| **n == *s.service) {
            names.push(s.service.to_string());
        }
    }
    names
}

fn freeze_banner(html: &mut String, service: &ServiceSnapshot) {
    if !service.frozen {
        return;
    }
    let _ = write!(
        html,
        "<div class=\"banner\" role=\"alert\" data-frozen=\"{}\"><strong>Deploy freeze: {}</strong> \
         — the error budget is below the freeze threshold",
        escape(&service.service),
        escape(&service.service)
    );
    let reasons: Vec<String> = service
        .reasons
        .iter()
        .map(|r| {
            format!(
                "{}: {} left (freeze below {})",
                escape(&r.slo),
                pct1(r.remaining),
                pct1(r.freeze_below)
            )
        })
        .collect();
    if reasons.is_empty() {
        html.push_str(".</div>\n");
    } else {
        let _ = writeln!(html, ": {}.</div>", reasons.join("; "));
    }
}

fn service_section(html: &mut String, snapshot: &Snapshot, service: &str, i: usize) {
    let info = snapshot.services.iter().find(|s| s.service == service);
    let _ = writeln!(
        html,
        "<section aria-labelledby=\"s{i}\" data-service=\"{}\">\n<h2 id=\"s{i}\">{}</h2>",
        escape(service),
        escape(service)
    );
    if let Some(info) = info {
        let series = snapshot
            .slos
            .iter()
            .filter(|s| *s.service == *service)
            .count();
        let _ = writeln!(
            html,
            "<p class=\"meta\">Deploys: {}. Data: {}.</p>",
            deploys(info),
            data_summary(info, series)
        );
    }
    let _ = writeln!(
        html,
        "<div class=\"scroll\" role=\"region\" aria-labelledby=\"c{i}\" tabindex=\"0\">\n<table>\n\
         <caption id=\"c{i}\">SLOs of {}: budget, burn and alerts over the period</caption>\n\
         <thead><tr><th scope=\"col\">SLO</th><th scope=\"col\">Objective</th>\
         <th scope=\"col\">SLI (period)</th><th scope=\"col\">Budget remaining</th>\
         <th scope=\"col\">Burn rate per window</th><th scope=\"col\">Alerts</th>\
         <th scope=\"col\">Data</th></tr></thead>\n<tbody>",
        escape(service)
    );
    for s in snapshot.slos.iter().filter(|s| *s.service == *service) {
        slo_row(html, snapshot, s);
    }
    html.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// What the gate would answer for the service, in words: frozen beats "cannot tell", which a
/// series without data makes of "allowed".
fn deploys(info: &ServiceSnapshot) -> &'static str {
    if info.frozen {
        "<strong class=\"spent\">frozen</strong>"
    } else if !info.no_data.is_empty() {
        "<strong class=\"nodata\">cannot tell (no data)</strong>"
    } else {
        "allowed"
    }
}

/// `fresh`, `stale`, and how many of the service's `series` have no data.
fn data_summary(info: &ServiceSnapshot, series: usize) -> String {
    let mut parts = Vec::new();
    if !info.fresh {
        parts.push("<strong class=\"stale\">stale</strong>".to_string());
    }
    if !info.no_data.is_empty() {
        parts.push(format!(
            "<strong class=\"nodata\">no data for {} of {series} series</strong>",
            info.no_data.len()
        ));
    }
    if parts.is_empty() {
        "fresh".to_string()
    } else {
        parts.join(", ")
    }
}

fn slo_row(html: &mut String, snapshot: &Snapshot, s: &SloSnapshot) {
    let group = pairs(&s.group);
    let _ = write!(
        html,
        "<tr data-slo=\"{}\" data-group=\"{}\"><th scope=\"row\"><a href=\"{}\">{}</a>",
        escape(&s.slo),
        escape(&group),
        escape(&slo_href(&s.service, &s.slo)),
        escape(&s.slo)
    );
    if !group.is_empty() {
        let _ = write!(html, "<span class=\"group\">{}</span>", escape(&group));
    }
    if s.correction_active {
        html.push_str("<span class=\"group\">correction in effect</span>");
    } else if !s.corrections.is_empty() {
        html.push_str("<span class=\"group\">corrected</span>");
    }
    html.push_str("</th>");
    let _ = write!(
        html,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>",
        percent_trimmed(s.objective),
        sli_text(s)
    );
    budget_bar(html, s);
    html.push_str("</td><td>");
    windows_list(html, s);
    html.push_str("</td><td>");
    alerts_list(html, s);
    html.push_str("</td><td>");
    freshness(html, snapshot, s);
    html.push_str("</td></tr>\n");
}

fn sli_text(s: &SloSnapshot) -> String {
    match s.period_error_ratio {
        None => NO_DATA.to_string(),
        Some(_) if s.period_total_events <= 0.0 => "no events yet".to_string(),
        Some(ratio) => format!("{:.3}%", (1.0 - ratio) * 100.0),
    }
}

/// What stands where a number is unknown because the series has no data.
const NO_DATA: &str = "no data";

/// A ratio or burn rate of a window, or "no data".
fn or_no_data(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| NO_DATA.to_string(), show)
}

fn budget_bar(html: &mut String, s: &SloSnapshot) {
    // No meter without a value: an empty or full bar would read as a spent or untouched budget.
    let Some(remaining) = s.error_budget_remaining else {
        let _ = write!(
            html,
            "<div class=\"budget\"><span class=\"pct nodata\">{NO_DATA}</span></div>"
        );
        return;
    };
    let width = (remaining * 100.0).clamp(0.0, 100.0);
    let class = if remaining <= 0.0 {
        " spent"
    } else if remaining < s.freeze_below.max(0.25) {
        " low"
    } else {
        ""
    };
    let name = if s.group.is_empty() {
        s.slo.to_string()
    } else {
        format!("{} {}", s.slo, pairs(&s.group))
    };
    let text = pct1(remaining);
    let _ = write!(
        html,
        "<div class=\"budget\"><span class=\"bar\" role=\"meter\" aria-valuemin=\"0\" \
         aria-valuemax=\"100\" aria-valuenow=\"{width:.1}\" aria-valuetext=\"{text}\" \
         aria-label=\"Error budget remaining, {}\"><span class=\"fill{class}\" style=\"width:{width:.1}%\">\
         </span></span><span class=\"pct{}\">{text}</span></div>",
        escape(&name),
        if remaining <= 0.0 { " spent" } else { "" }
    );
}

fn windows_list(html: &mut String, s: &SloSnapshot) {
    if s.windows.is_empty() {
        html.push('—');
        return;
    }
    html.push_str("<ul class=\"plain\">");
    for w in &s.windows {
        let _ = write!(
            html,
            "<li>{}: {}</li>",
            escape(&w.window),
            or_no_data(w.burn_rate, burn)
        );
    }
    html.push_str("</ul>");
}

fn alerts_list(html: &mut String, s: &SloSnapshot) {
    if s.alerts.is_empty() {
        html.push_str("none defined");
        return;
    }
    html.push_str("<ul class=\"plain\">");
    for a in &s.alerts {
        let (class, state) = alert_state(a, s.data_present);
        let _ = write!(
            html,
            "<li data-severity=\"{}\" data-active=\"{}\">{}: <span class=\"state {class}\">{state}</span> \
             <span class=\"group\" style=\"display:inline\">{}/{} &gt; {}</span></li>",
            escape(a.severity),
            a.active && !a.disabled,
            escape(a.severity),
            escape(&a.long_window),
            escape(&a.short_window),
            burn(a.threshold)
        );
    }
    html.push_str("</ul>");
}

fn freshness(html: &mut String, snapshot: &Snapshot, s: &SloSnapshot) {
    // No data outranks stale: the series has nothing to be stale about.
    if let Some(reason) = &s.no_data_reason {
        let _ = write!(
            html,
            "<span class=\"nodata\">NO DATA</span><span class=\"group\">{}</span>",
            escape(reason)
        );
    } else {
        let (class, word) = if s.fresh {
            ("fresh", "fresh")
        } else {
            ("stale", "STALE")
        };
        let _ = write!(html, "<span class=\"{class}\">{word}</span>");
    }
    if s.last_evaluation > 0.0 {
        let age = snapshot
            .evaluated_at
            .map(|at| (at - s.last_evaluation).max(0.0));
        let _ = write!(
            html,
            "<span class=\"group\">read <time datetime=\"{}\">{}</time>{}</span>",
            iso(s.last_evaluation),
            human_time(s.last_evaluation),
            match age {
                Some(age) if age >= 1.0 => format!(" ({} ago)", ago(age)),
                _ => String::new(),
            }
        );
    } else {
        html.push_str("<span class=\"group\">never read</span>");
    }
}

fn series_numbers(html: &mut String, snapshot: &Snapshot, s: &SloSnapshot) {
    html.push_str("<dl class=\"numbers\">\n");
    let _ = writeln!(
        html,
        "<dt>SLI over the period</dt><dd>{}</dd>\n<dt>Events (good / total)</dt><dd>{} / {}{}</dd>",
        sli_text(s),
        count(s.period_good_events),
        count(s.period_total_events),
        if s.corrections.is_empty() {
            String::new()
        } else {
            format!(
                " <span class=\"group\" style=\"display:inline\">after corrections took out {} ({} bad)</span>",
                count(s.period_excluded_total),
                count(s.period_excluded_bad)
            )
        }
    );
    corrections_list(html, s);
    html.push_str("<dt>Error budget remaining</dt><dd>");
    budget_bar(html, s);
    html.push_str("</dd>\n");
    let _ = writeln!(
        html,
        "<dt>Budget spent in</dt><dd>{}</dd>",
        match (s.exhaustion_seconds, s.data_present) {
            (_, false) => "unknown: no data".to_string(),
            (Some(secs), _) if secs > 365.0 * 86_400.0 =>
                "not within a year at the current burn".to_string(),
            (Some(secs), _) => format!("about {} at the current burn", ago(secs)),
            (None, _) => "not burning faster than it refills".to_string(),
        }
    );
    if let Some(e) = &s.exhaustion_alert {
        let (class, word) = if e.held_by_correction && !e.disabled {
            ("held", "held (correction)")
        } else {
            state(e.active, e.disabled, s.data_present, false)
        };
        let _ = writeln!(
            html,
            "<dt>Exhaustion alert</dt><dd><span class=\"state {class}\">{word}</span> {} when the budget is forecast to be spent within {}</dd>",
            escape(e.severity),
            escape(&e.within)
        );
    }
    html.push_str("<dt>Data</dt><dd>");
    freshness(html, snapshot, s);
    html.push_str("</dd>\n</dl>\n");
}

/// Each correction: reason, when, whether in effect (or its next span), what it took out of
/// the period and at which resolution.
fn corrections_list(html: &mut String, s: &SloSnapshot) {
    if s.corrections.is_empty() {
        return;
    }
    html.push_str("<dt>Corrections</dt><dd><ul class=\"plain\">");
    for c in &s.corrections {
        let name = c
            .name
            .as_deref()
            .map(|n| format!("<strong>{}</strong>: ", escape(n)))
            .unwrap_or_default();
        let state = if c.active {
            "<span class=\"state held\">IN EFFECT</span> ".to_string()
        } else {
            String::new()
        };
        let next = match c.next {
            Some((from, to)) if !c.active => format!(
                "; next {} to {}",
                human_time(from as f64),
                human_time(to as f64)
            ),
            Some((_, to)) => format!("; until {}", human_time(to as f64)),
            None => String::new(),
        };
        let resolution = if c.resolution_seconds <= 60 {
            "whole minutes".to_string()
        } else {
            let r = c.resolution_seconds;
            if r % 3600 == 0 {
                format!(
                    "whole {} h buckets (a bucket partly inside is kept)",
                    r / 3600
                )
            } else {
                format!("whole {r} s buckets (a bucket partly inside is kept)")
            }
        };
        let alerts = if c.alerts == "silence" {
            "; alerts held while in effect"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<li data-correction-active=\"{}\">{state}{name}{} <span class=\"group\" style=\"display:inline\">({}{next}): {} events excluded ({} bad), counted in {resolution}{alerts}</span></li>",
            c.active,
            escape(&c.reason),
            escape(&c.when),
            count(c.excluded_total),
            count(c.excluded_bad),
        );
    }
    html.push_str("</ul></dd>\n");
}

fn series_tables(html: &mut String, s: &SloSnapshot, i: usize) {
    let _ = writeln!(
        html,
        "<div class=\"scroll\" role=\"region\" aria-labelledby=\"w{i}\" tabindex=\"0\"><table>\n\
         <caption id=\"w{i}\">Burn rate per window</caption>\n<thead><tr><th scope=\"col\">Window</th>\
         <th scope=\"col\">Error ratio</th><th scope=\"col\">Burn rate</th>\
         <th scope=\"col\">Bad events</th><th scope=\"col\">Total events</th></tr></thead>\n<tbody>"
    );
    for w in &s.windows {
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&w.window),
            or_no_data(w.error_ratio, |r| format!("{:.4}%", r * 100.0)),
            or_no_data(w.burn_rate, burn),
            count(w.bad),
            count(w.total)
        );
    }
    html.push_str("</tbody>\n</table></div>\n");
    if s.alerts.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<div class=\"scroll\" role=\"region\" aria-labelledby=\"a{i}\" tabindex=\"0\" style=\"margin-top:.8rem\"><table>\n\
         <caption id=\"a{i}\">Alerts: a tier fires while both windows burn faster than its threshold</caption>\n\
         <thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Windows (long / short)</th>\
         <th scope=\"col\">Threshold</th><th scope=\"col\">State</th></tr></thead>\n<tbody>"
    );
    for a in &s.alerts {
        let (class, word) = alert_state(a, s.data_present);
        let state = format!("<span class=\"state {class}\">{word}</span>");
        let _ = writeln!(
            html,
            "<tr data-severity=\"{}\" data-active=\"{}\"><th scope=\"row\">{}</th><td>{} / {}</td>\
             <td class=\"num\">{}</td><td>{state}</td></tr>",
            escape(a.severity),
            a.active && !a.disabled,
            escape(a.severity),
            escape(&a.long_window),
            escape(&a.short_window),
            burn(a.threshold)
        );
    }
    html.push_str("</tbody>\n</table></div>\n");
}

/// An alert row's CSS class and word: firing, quiet, or off when its tier is disabled. Without
/// data an enabled tier cannot fire, which is no "ok"; nor is a burn the low-traffic guard
/// holds back.
fn alert_state(a: &AlertSnapshot, data_present: bool) -> (&'static str, &'static str) {
    if a.held_by_correction && !a.disabled {
        return ("held", "held (correction)");
    }
    state(a.active, a.disabled, data_present, a.low_traffic)
}

/// [`alert_state`] of any alert: the exhaustion alert has no low-traffic guard.
fn state(
    active: bool,
    disabled: bool,
    data_present: bool,
    low_traffic: bool,
) -> (&'static str, &'static str) {
    match (active, disabled) {
        (true, false) => ("firing", "FIRING"),
        (true, true) => ("off", "would fire (disabled)"),
        (false, false) if !data_present => ("nodata", "cannot fire (no data)"),
        (false, false) if low_traffic => ("held", "held back (low traffic)"),
        (false, false) => ("quiet", "ok"),
        (false, true) => ("off", "disabled"),
    }
}

/// `route=/checkout, code=5xx`.
fn pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A ratio as a percentage with one decimal: `42.1%`.
fn pct1(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// An objective as a percentage without trailing zeros: `99.9%`, `99%`.
fn percent_trimmed(ratio: f64) -> String {
    let text = format!("{:.4}", ratio * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// A burn rate: `14.4×`.
fn burn(rate: f64) -> String {
    if !rate.is_finite() {
        return "—".to_string();
    }
    if rate >= 100.0 {
        format!("{rate:.0}×")
    } else {
        format!("{rate:.2}×")
    }
}

/// An event count: integers without decimals, thousands grouped with a thin space.
fn count(n: f64) -> String {
    if !n.is_finite() {
        return "—".to_string();
    }
    let whole = n.round();
    if (n - whole).abs() > 1e-6 && n.abs() < 100.0 {
        return format!("{n:.2}");
    }
    let digits = format!("{}", whole.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if whole < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A duration in words: `3 s`, `5 min`, `2.5 h`, `4.1 days`.
fn ago(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 90.0 * 60.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 48.0 * 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86_400.0)
    }
}

fn datetime(unix: f64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(unix.floor() as i64, 0)
}

/// `2026-05-04T12:00:05Z` (for `<time datetime>`).
fn iso(unix: f64) -> String {
    datetime(unix)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `2026-05-04 12:00:05 UTC`.
fn human_time(unix: f64) -> String {
    datetime(unix)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
