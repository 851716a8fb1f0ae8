//! The minimal status page at `/`: one table, no scripts, no external assets.

use std::fmt::Write;

use crate::engine::snapshot::Snapshot;

/// The page for `snapshot`.
pub(super) fn render(snapshot: &Snapshot) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>sloburn</title>\
         <style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}\
         .spent{color:#b00}</style></head><body>\n<h1>sloburn</h1>\n",
    );
    if snapshot.evaluated_at.is_none() {
        html.push_str("<p>No evaluation yet.</p>\n");
    }
    html.push_str(
        "<table>\n<tr><th>Service</th><th>SLO</th><th>Group</th><th>Objective</th>\
         <th>Budget remaining</th><th>Data</th></tr>\n",
    );
    for s in &snapshot.slos {
        let group: Vec<String> = s.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let class = if s.error_budget_remaining <= 0.0 {
            " class=\"spent\""
        } else {
            ""
        };
        // Writing into a String cannot fail.
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}%</td><td{class}>{:.1}%</td><td>{}</td></tr>",
            escape(&s.service),
            escape(&s.slo),
            escape(&group.join(", ")),
            s.objective * 100.0,
            s.error_budget_remaining * 100.0,
            if s.fresh { "fresh" } else { "stale" },
        );
    }
    html.push_str(
        "</table>\n<p><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/slos\">API</a></p>\n\
         </body></html>\n",
    );
    html
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
