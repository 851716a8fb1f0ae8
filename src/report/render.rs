//! The report's rows as Markdown (for people), HTML (for people, with charts), CSV (for
//! spreadsheets) or JSON (for tools).

mod html;
pub use html::html;

use serde_json::{Value, json};

use super::{GroupOf, Range, Row};
use crate::core::{number, rfc3339};

/// A share as a percent, 4 decimals at most: 0.99 -> "99".
fn percent(v: f64) -> String {
    number((v * 100.0 * 1e4).round() / 1e4)
}

fn hours(secs: i64) -> String {
    number(secs as f64 / 3600.0)
}

fn day(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn width(secs: i64) -> String {
    if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn group(g: &GroupOf) -> String {
    match g {
        GroupOf::Ungrouped => "-".into(),
        GroupOf::Labels(labels) => labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        GroupOf::All(n) => format!("all ({n})"),
    }
}

/// Which tiers the numbers come from: `1h`, `1m`, or `1h, 1m from <instant>`.
pub fn resolution(r: &Row) -> String {
    match (r.coarse_res, r.minutes_from) {
        (Some(res), None) => width(res),
        (None, Some(_)) => "1m".into(),
        (Some(res), Some(from)) => format!("{}, 1m from {}", width(res), rfc3339(from)),
        (None, None) => "-".into(),
    }
}

const UNKNOWN: &str = "unknown";

/// Time in a state as hours, or "not recorded" when no time of the range was recorded (zero
/// would read as quiet); when only part of it was, with how much (`0h (of 0.03h recorded)`).
fn alert_hours(range: Range, r: &Row, secs: i64) -> String {
    match recorded_hours(r, secs) {
        None => NOT_RECORDED.into(),
        Some(h) if r.alerts.recorded_secs < range.to - range.from => {
            format!("{h}h (of {}h recorded)", hours(r.alerts.recorded_secs))
        }
        Some(h) => format!("{h}h"),
    }
}

const NOT_RECORDED: &str = "not recorded";

/// What the alert recording covers: `700h since <instant>, 20h not recorded`.
fn recorded(range: Range, r: &Row) -> String {
    let not = range.to - range.from - r.alerts.recorded_secs;
    match r.alerts.recorded_since {
        None => NOT_RECORDED.into(),
        Some(since) => format!(
            "{}h since {}, {}h not recorded",
            hours(r.alerts.recorded_secs),
            rfc3339(since),
            hours(not)
        ),
    }
}

/// The columns of the Markdown and HTML tables, with whether each holds a number.
pub const COLUMNS: [(&str, bool); 18] = [
    ("service", false),
    ("slo", false),
    ("group", false),
    ("total", true),
    ("bad", true),
    ("SLI", true),
    ("objective", true),
    ("budget consumed", true),
    ("worst day (bad/total, budget)", false),
    ("no data", true),
    ("not held", true),
    ("resolution", false),
    ("covered", false),
    ("page alert", true),
    ("ticket alert", true),
    ("exhaustion alert", true),
    ("freeze", true),
    ("alerts recorded", false),
];

/// One row's cells for people, in the order of [`COLUMNS`] (unescaped).
pub fn cells(range: Range, r: &Row) -> [String; 18] {
    let objective = r
        .objective
        .map_or(UNKNOWN.into(), |o| format!("{}%", percent(o.ratio())));
    let consumed = r
        .budget_consumed()
        .map_or(UNKNOWN.into(), |c| format!("{}%", percent(c)));
    let worst = r.worst_day.as_ref().map_or("-".into(), |d| {
        format!(
            "{} ({}/{}, {})",
            day(d.start),
            number(d.counts.bad),
            number(d.counts.total),
            r.day_consumed(d)
                .map_or(UNKNOWN.into(), |c| format!("{}%", percent(c)))
        )
    });
    let covered = r.covered.map_or("-".into(), |(a, b)| {
        format!("{} to {}", rfc3339(a), rfc3339(b))
    });
    [
        r.service.clone(),
        r.slo.clone(),
        group(&r.group),
        number(r.counts.total),
        number(r.counts.bad),
        r.sli().map_or("-".into(), |s| format!("{}%", percent(s))),
        objective,
        consumed,
        worst,
        format!("{}h", hours(r.no_data_secs)),
        format!("{}h", hours(r.not_held_secs)),
        resolution(r),
        covered,
        alert_hours(range, r, r.alerts.page_secs),
        alert_hours(range, r, r.alerts.ticket_secs),
        alert_hours(range, r, r.alerts.exhaustion_secs),
        alert_hours(range, r, r.alerts.freeze_secs),
        recorded(range, r),
    ]
}

/// The corrections applied to a row, one text: `mig (db migration; 2026-11-09T10:30:00+00:00
/// to ...)`, `;`-separated; empty without any.
pub fn corrections(r: &Row) -> String {
    r.corrections
        .iter()
        .map(|c| match &c.name {
            Some(name) => format!("{name} ({}; {})", c.reason, c.when),
            None => format!("{} ({})", c.reason, c.when),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A row's line under the table when corrections apply to it (`None` otherwise): the SLI and
/// budget as measured (the table's) and with the corrections applied, and what they excluded.
pub fn corrections_line(r: &Row) -> Option<String> {
    if r.corrections.is_empty() {
        return None;
    }
    let pct = |v: Option<f64>, none: &str| v.map_or(none.into(), |v| format!("{}%", percent(v)));
    Some(format!(
        "{}/{}{}: corrected SLI {}, budget consumed {} (measured: {}, {}); excluded {} of {} events, {} bad; corrections: {}",
        r.service,
        r.slo,
        match r.group {
            GroupOf::Ungrouped => String::new(),
            _ => format!(" {}", group(&r.group)),
        },
        pct(r.sli_corrected(), "-"),
        pct(r.budget_consumed_corrected(), UNKNOWN),
        pct(r.sli(), "-"),
        pct(r.budget_consumed(), UNKNOWN),
        number(r.excluded.total),
        number(r.counts.total),
        number(r.excluded.bad),
        corrections(r)
    ))
}

/// The report's title line.
pub fn title(range: Range) -> String {
    format!(
        "SLO report {} to {}",
        rfc3339(range.from),
        rfc3339(range.to)
    )
}

/// The report as a Markdown table with a title naming the range.
pub fn markdown(range: Range, rows: &[Row]) -> String {
    // One row a line: `\`, `|` and line breaks escaped (a label value may hold any of them),
    // and `<`, `>` so a viewer that renders HTML in Markdown shows them as text.
    let cell = |s: String| {
        s.replace('\\', "\\\\")
            .replace('|', "\\|")
            .replace('<', "\\<")
            .replace('>', "\\>")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    };
    let mut out = format!("# {}\n\n", title(range));
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let rule: Vec<&str> = COLUMNS
        .iter()
        .map(|c| if c.1 { "--:" } else { "---" })
        .collect();
    out.push_str(&format!(
        "| {} |\n|{}|\n",
        names.join(" | "),
        rule.join("|")
    ));
    for r in rows {
        out.push_str("| ");
        out.push_str(&cells(range, r).map(cell).join(" | "));
        out.push_str(" |\n");
    }
    // The table's numbers are as measured; corrections, where any apply, are listed below it.
    let lines: Vec<String> = rows.iter().filter_map(corrections_line).collect();
    if !lines.is_empty() {
        out.push_str("\n## Corrections applied\n\n");
        for l in lines {
            out.push_str(&format!("- {}\n", cell(l)));
        }
    }
    out
}

/// Hours in a state, `None` when no time of the range was recorded.
fn recorded_hours(r: &Row, secs: i64) -> Option<String> {
    (r.alerts.recorded_secs > 0).then(|| hours(secs))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str = "service,slo,group,total,bad,sli_percent,objective_percent,budget_consumed_percent,worst_day,worst_day_bad,worst_day_total,worst_day_budget_consumed_percent,no_data_hours,not_held_hours,resolution,covered_from,covered_to,page_alert_hours,ticket_alert_hours,exhaustion_alert_hours,freeze_hours,alerts_recorded_hours,alerts_not_recorded_hours,alerts_recorded_since,excluded_total,excluded_bad,sli_corrected_percent,budget_consumed_corrected_percent,corrections";

/// The report as CSV, one row per line after the header; unknown numbers say `unknown`,
/// absent ones are empty (alert hours too when no time of the range was recorded).
pub fn csv(range: Range, rows: &[Row]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        let opt = |v: Option<f64>| v.map_or(String::new(), percent);
        let unknown = |v: Option<f64>| v.map_or(UNKNOWN.into(), percent);
        let w = r.worst_day.as_ref();
        let fields = [
            r.service.clone(),
            r.slo.clone(),
            group(&r.group),
            number(r.counts.total),
            number(r.counts.bad),
            opt(r.sli()),
            unknown(r.objective.map(|o| o.ratio())),
            unknown(r.budget_consumed()),
            w.map_or(String::new(), |d| day(d.start)),
            w.map_or(String::new(), |d| number(d.counts.bad)),
            w.map_or(String::new(), |d| number(d.counts.total)),
            w.map_or(String::new(), |d| unknown(r.day_consumed(d))),
            hours(r.no_data_secs),
            hours(r.not_held_secs),
            resolution(r),
            r.covered.map_or(String::new(), |c| rfc3339(c.0)),
            r.covered.map_or(String::new(), |c| rfc3339(c.1)),
            recorded_hours(r, r.alerts.page_secs).unwrap_or_default(),
            recorded_hours(r, r.alerts.ticket_secs).unwrap_or_default(),
            recorded_hours(r, r.alerts.exhaustion_secs).unwrap_or_default(),
            recorded_hours(r, r.alerts.freeze_secs).unwrap_or_default(),
            hours(r.alerts.recorded_secs),
            hours(range.to - range.from - r.alerts.recorded_secs),
            r.alerts.recorded_since.map_or(String::new(), rfc3339),
            number(r.excluded.total),
            number(r.excluded.bad),
            opt(r.sli_corrected()),
            unknown(r.budget_consumed_corrected()),
            corrections(r),
        ];
        out.push_str(&fields.map(|f| csv_field(&f)).join(","));
        out.push('\n');
    }
    out
}

/// The report as JSON: `{from, to, slos: [...]}`; unknown or absent numbers are `null`.
pub fn json(range: Range, rows: &[Row]) -> Value {
    let slos: Vec<Value> = rows
        .iter()
        .map(|r| {
            let group = match &r.group {
                GroupOf::Ungrouped => Value::Null,
                GroupOf::Labels(l) => l.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
                GroupOf::All(_) => json!("all"),
            };
            let pct = |v: f64| v * 100.0;
            // `null` when no time of the range was recorded (0 would read as quiet).
            let in_hours =
                |secs: i64| (r.alerts.recorded_secs > 0).then(|| secs as f64 / 3600.0);
            json!({
                "service": r.service,
                "slo": r.slo,
                "group": group,
                "total": r.counts.total,
                "bad": r.counts.bad,
                "sli_percent": r.sli().map(pct),
                "objective_percent": r.objective.map(|o| o.percent()),
                "budget_consumed_percent": r.budget_consumed().map(pct),
                "worst_day": r.worst_day.as_ref().map(|d| json!({
                    "day": day(d.start),
                    "bad": d.counts.bad,
                    "total": d.counts.total,
                    "budget_consumed_percent": r.day_consumed(d).map(pct),
                })),
                "no_data_hours": r.no_data_secs as f64 / 3600.0,
                "not_held_hours": r.not_held_secs as f64 / 3600.0,
                "resolution": resolution(r),
                "coarse_seconds": r.coarse_res,
                "minutes_from": r.minutes_from.map(rfc3339),
                "covered_from": r.covered.map(|c| rfc3339(c.0)),
                "covered_to": r.covered.map(|c| rfc3339(c.1)),
                "page_alert_hours": in_hours(r.alerts.page_secs),
                "ticket_alert_hours": in_hours(r.alerts.ticket_secs),
                "exhaustion_alert_hours": in_hours(r.alerts.exhaustion_secs),
                "freeze_hours": in_hours(r.alerts.freeze_secs),
                "alerts_recorded_hours": r.alerts.recorded_secs as f64 / 3600.0,
                "alerts_not_recorded_hours": (range.to - range.from - r.alerts.recorded_secs) as f64 / 3600.0,
                "alerts_recorded_since": r.alerts.recorded_since.map(rfc3339),
                "excluded_total": r.excluded.total,
                "excluded_bad": r.excluded.bad,
                "sli_corrected_percent": r.sli_corrected().map(pct),
                "budget_consumed_corrected_percent": r.budget_consumed_corrected().map(pct),
                "corrections": r.corrections.iter().map(|c| json!({
                    "name": c.name,
                    "reason": c.reason,
                    "when": c.when,
                })).collect::<Vec<_>>(),
                "days": r.days.iter().map(|d| json!({
                    "day": day(d.start),
                    "bad": d.counts.bad,
                    "total": d.counts.total,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "from": rfc3339(range.from),
        "to": rfc3339(range.to),
        "slos": slos,
    })
}
