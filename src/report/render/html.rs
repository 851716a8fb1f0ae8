//! The report as one self-contained HTML file: inline CSS and inline SVG charts, no script and
//! nothing from the network (a Content-Security-Policy of `default-src 'none'` says so to the
//! browser), so it can be mailed, archived or opened offline. Per row: the table's numbers,
//! a chart of the daily SLI against the objective and one of the budget consumed so far over
//! the range. Every label value is escaped.

use std::fmt::Write;

use super::{COLUMNS, cells, corrections_line, day, percent, title};
use crate::html::escape;
use crate::report::{Range, Row};

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;color:#1b1f24;margin:0 auto;padding:1rem;max-width:90rem;line-height:1.4}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin:1.6rem 0 .4rem}\
.scroll{overflow-x:auto;border:1px solid #d0d7de;border-radius:6px}\
table{border-collapse:collapse;width:100%}\
th,td{padding:.35rem .6rem;text-align:left;vertical-align:top;border-top:1px solid #d0d7de;font-size:.85rem}\
thead th{background:#f6f8fa;white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}\
figure{margin:0}figcaption{font-size:.85rem;color:#57606a}\
svg{width:100%;height:auto;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px}\
svg text{font-size:11px;fill:#57606a}.muted{color:#57606a}";

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 590.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 170.0;

/// The report as an HTML document.
pub fn html(range: Range, rows: &[Row]) -> String {
    let title = title(range);
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n\
         <p class=\"muted\">From sloburn's stored history. Alert and freeze hours count only \
         time the engine recorded; \"not recorded\" is neither quiet nor alerting.</p>\n",
        t = escape(&title)
    );
    out.push_str("<div class=\"scroll\">\n<table id=\"report\">\n<thead><tr>");
    for (name, _) in COLUMNS {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr class=\"row\">");
        for ((name, num), cell) in COLUMNS.iter().zip(cells(range, r)) {
            let class = if *num { " class=\"num\"" } else { "" };
            let _ = write!(
                out,
                "<td{class} data-column=\"{}\">{}</td>",
                escape(name),
                escape(&cell)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    // The table's numbers are as measured; corrections, where any apply, are listed below it.
    let lines: Vec<String> = rows.iter().filter_map(corrections_line).collect();
    if !lines.is_empty() {
        out.push_str("<h2>Corrections applied</h2>\n<ul id=\"corrections\">\n");
        for l in lines {
            let _ = writeln!(out, "<li>{}</li>", escape(&l));
        }
        out.push_str("</ul>\n");
    }
    for (i, r) in rows.iter().enumerate() {
        let [service, slo, group, ..] = cells(range, r);
        let _ = write!(
            out,
            "<section class=\"slo\" id=\"slo-{i}\">\n<h2>{} <span class=\"muted\">{} · {}</span></h2>\n<div class=\"charts\">\n",
            escape(&slo),
            escape(&service),
            escape(&group)
        );
        sli_chart(&mut out, i, r);
        budget_chart(&mut out, i, r);
        out.push_str("</div>\n</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The x of day `k` of `n`.
fn x(k: usize, n: usize) -> f64 {
    if n <= 1 {
        (LEFT + RIGHT) / 2.0
    } else {
        LEFT + (RIGHT - LEFT) * k as f64 / (n - 1) as f64
    }
}

/// The y of `v` between `low` and `high`.
fn y(v: f64, low: f64, high: f64) -> f64 {
    let span = (high - low).max(f64::EPSILON);
    BOTTOM - ((v - low) / span).clamp(0.0, 1.0) * (BOTTOM - TOP)
}

fn open(out: &mut String, class: &str, id: &str, title: &str) {
    let _ = write!(
        out,
        "<figure>\n<svg class=\"chart {class}\" role=\"img\" aria-labelledby=\"{id}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}\">{}</title>\
         <line x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{RIGHT}\" y2=\"{BOTTOM}\" stroke=\"#8c959f\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{BOTTOM}\" stroke=\"#8c959f\"/>",
        escape(title)
    );
}

fn close(out: &mut String, r: &Row, caption: &str) {
    if let (Some(first), Some(last)) = (r.days.first(), r.days.last()) {
        let _ = write!(
            out,
            "<text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{RIGHT}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            BOTTOM + 16.0,
            day(first.start),
            BOTTOM + 16.0,
            day(last.start)
        );
    }
    let _ = write!(
        out,
        "</svg>\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(caption)
    );
}

fn y_label(out: &mut String, yv: f64, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        LEFT - 6.0,
        yv + 4.0,
        escape(text)
    );
}

/// The SLI of each day with events (a day without events has no point) against the objective.
fn sli_chart(out: &mut String, i: usize, r: &Row) {
    let n = r.days.len();
    let slis: Vec<(usize, f64)> = r
        .days
        .iter()
        .enumerate()
        .filter(|(_, d)| d.counts.total > 0.0)
        .map(|(k, d)| (k, 1.0 - d.counts.bad.max(0.0) / d.counts.total))
        .collect();
    let objective = r.objective.map(|o| o.ratio());
    let low = slis
        .iter()
        .map(|p| p.1)
        .chain(objective)
        .fold(1.0_f64, f64::min);
    // Some room below the lowest value, and a visible range when all are 100%.
    let low = (low - (1.0 - low).max(0.0005) * 0.2).max(0.0);
    open(
        out,
        "sli",
        &format!("sli-{i}"),
        "Daily SLI against the objective",
    );
    y_label(out, y(1.0, low, 1.0), "100%");
    y_label(out, y(low, low, 1.0), &format!("{}%", percent(low)));
    if let Some(o) = objective {
        let yo = y(o, low, 1.0);
        let _ = write!(
            out,
            "<line class=\"objective\" x1=\"{LEFT}\" y1=\"{yo:.1}\" x2=\"{RIGHT}\" y2=\"{yo:.1}\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"/>"
        );
    }
    let line: Vec<String> = slis
        .iter()
        .map(|(k, v)| format!("{:.1},{:.1}", x(*k, n), y(*v, low, 1.0)))
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"#0550ae\" stroke-width=\"1.5\" points=\"{}\"/>",
        line.join(" ")
    );
    for (k, v) in &slis {
        let d = &r.days[*k];
        let _ = write!(
            out,
            "<circle class=\"point\" data-day=\"{day}\" data-sli-percent=\"{p}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#0550ae\"><title>{day}: SLI {p}%</title></circle>",
            x(*k, n),
            y(*v, low, 1.0),
            day = day(d.start),
            p = percent(*v),
        );
    }
    let caption = match objective {
        Some(o) => format!(
            "Daily SLI (blue) against the objective {}% (red dashes).",
            percent(o)
        ),
        None => "Daily SLI (blue); the objective is unknown.".into(),
    };
    close(out, r, &caption);
}

/// The share of the range's budget consumed by the end of each day (bad so far over the
/// range's total events times the budget), ending at the row's budget consumed; days without
/// events have no point.
fn budget_chart(out: &mut String, i: usize, r: &Row) {
    let n = r.days.len();
    let budget = r.objective.map(|o| o.budget());
    let total = r.counts.total;
    let mut bad = 0.0;
    let consumed: Vec<Option<f64>> = r
        .days
        .iter()
        .map(|d| {
            bad += d.counts.bad.max(0.0);
            // No point on a day without events (as the SLI chart): not a flat "nothing more
            // consumed" where nothing is known.
            budget
                .filter(|_| total > 0.0 && d.counts.total > 0.0)
                .map(|b| bad / (total * b))
        })
        .collect();
    let high = consumed.iter().flatten().fold(1.0_f64, |a, b| a.max(*b));
    open(
        out,
        "budget",
        &format!("budget-{i}"),
        "Budget consumed over the range",
    );
    y_label(out, y(0.0, 0.0, high), "0%");
    y_label(out, y(high, 0.0, high), &format!("{}%", percent(high)));
    let y100 = y(1.0, 0.0, high);
    let _ = write!(
        out,
        "<line class=\"whole\" x1=\"{LEFT}\" y1=\"{y100:.1}\" x2=\"{RIGHT}\" y2=\"{y100:.1}\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"/>"
    );
    let pts: Vec<(usize, f64)> = consumed
        .iter()
        .enumerate()
        .filter_map(|(k, c)| Some((k, (*c)?)))
        .collect();
    let line: Vec<String> = pts
        .iter()
        .map(|(k, c)| format!("{:.1},{:.1}", x(*k, n), y(*c, 0.0, high)))
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"#9a6700\" stroke-width=\"1.5\" points=\"{}\"/>",
        line.join(" ")
    );
    for (k, c) in &pts {
        let _ = write!(
            out,
            "<circle class=\"point\" data-day=\"{day}\" data-consumed-percent=\"{p}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#9a6700\"><title>{day}: {p}% consumed</title></circle>",
            x(*k, n),
            y(*c, 0.0, high),
            day = day(r.days[*k].start),
            p = percent(*c),
        );
    }
    let caption = if pts.is_empty() {
        "Budget consumed: unknown (no events in the range, or no objective).".to_string()
    } else {
        "Share of the range's error budget consumed by the end of each day (100%: red dashes)."
            .to_string()
    };
    close(out, r, &caption);
}
