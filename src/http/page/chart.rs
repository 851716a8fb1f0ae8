//! The SLO page's charts as inline SVG: the budget's burn-down over the period, and the burn
//! rate per bucket with the page threshold. Each is `role="img"` named by its `<title>`, which
//! states the current value, so the chart has a text alternative.

use std::fmt::Write;

use super::{burn, escape, human_time, pairs, pct1};
use crate::engine::snapshot::{ChartPoint, SloSnapshot};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 590.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 188.0;

/// Maps data to the plot area.
struct Frame {
    from: f64,
    to: f64,
    low: f64,
    high: f64,
}

impl Frame {
    fn x(&self, t: f64) -> f64 {
        let span = (self.to - self.from).max(1.0);
        LEFT + ((t - self.from) / span).clamp(0.0, 1.0) * (RIGHT - LEFT)
    }

    fn y(&self, v: f64) -> f64 {
        let span = (self.high - self.low).max(f64::EPSILON);
        BOTTOM - ((v - self.low) / span).clamp(0.0, 1.0) * (BOTTOM - TOP)
    }
}

fn series_name(s: &SloSnapshot) -> String {
    if s.group.is_empty() {
        s.slo.to_string()
    } else {
        format!("{} ({})", s.slo, pairs(&s.group))
    }
}

/// `no data now (reason)`, for a chart title of a series without data.
fn no_data_now(s: &SloSnapshot) -> String {
    match &s.no_data_reason {
        Some(reason) => format!("no data now ({reason})"),
        None => "no data now".to_string(),
    }
}

fn open(html: &mut String, id: &str, title: &str) {
    let _ = write!(
        html,
        "<figure>\n<svg role=\"img\" aria-labelledby=\"{id}-t\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         preserveAspectRatio=\"xMidYMid meet\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-t\">{}</title>",
        escape(title)
    );
    let _ = write!(
        html,
        "<line x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{RIGHT}\" y2=\"{BOTTOM}\" stroke=\"#8c959f\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{BOTTOM}\" stroke=\"#8c959f\"/>"
    );
}

fn close(html: &mut String, frame: &Frame, caption: &str) {
    let day = |t: f64| human_time(t).get(..10).unwrap_or_default().to_string();
    let _ = write!(
        html,
        "<text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{RIGHT}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         </svg>\n<figcaption aria-hidden=\"true\">{}</figcaption>\n</figure>\n",
        BOTTOM + 16.0,
        day(frame.from),
        BOTTOM + 16.0,
        day(frame.to),
        escape(caption)
    );
}

fn y_label(html: &mut String, frame: &Frame, v: f64, text: &str) {
    let y = frame.y(v);
    let _ = write!(
        html,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
         <line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{LEFT}\" y2=\"{y:.1}\" stroke=\"#8c959f\"/>",
        LEFT - 6.0,
        y + 4.0,
        escape(text),
        LEFT - 3.0
    );
}

/// The budget's burn-down: the share of the period's error budget left after each bucket, from
/// 100% at the period start. The budget is the bad events the objective allows over the events
/// of the period so far, so the line ends at the SLO's remaining budget now.
pub(super) fn burn_down(
    html: &mut String,
    id: &str,
    s: &SloSnapshot,
    points: &[ChartPoint],
    from: f64,
) {
    let to = from + s.period_seconds;
    let total: f64 = points
        .iter()
        .map(|p| p.total)
        .filter(|v| v.is_finite())
        .sum();
    let allowed = (1.0 - s.objective) * total;
    let mut bad = 0.0;
    let left: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| {
            if allowed > 0.0 {
                bad += (p.total - p.good).max(0.0);
                Some((p.t as f64, 1.0 - bad / allowed))
            } else {
                p.remaining.is_finite().then_some((p.t as f64, p.remaining))
            }
        })
        .filter(|(_, v)| v.is_finite())
        .collect();
    let lowest = left.iter().map(|(_, v)| *v).fold(0.0_f64, f64::min);
    let low = if lowest < 0.0 {
        (lowest * 4.0).floor() / 4.0
    } else {
        0.0
    };
    let frame = Frame {
        from,
        to,
        low,
        high: 1.0,
    };
    // The history may hold old buckets; what is left now is unknown without data.
    let now = match s.error_budget_remaining {
        Some(r) => format!("{} left now", pct1(r)),
        None => no_data_now(s),
    };
    let title = format!(
        "Error budget burn-down over the period, {}: {now}, from 100% at the period start{}.",
        series_name(s),
        if s.freeze_below > 0.0 {
            format!("; deploys freeze below {}", pct1(s.freeze_below))
        } else {
            String::new()
        }
    );
    let caption = format!("Budget burn-down: {now}");
    open(html, id, &title);
    y_label(html, &frame, 1.0, "100%");
    y_label(html, &frame, 0.0, "0%");
    if low < 0.0 {
        y_label(html, &frame, low, &pct1(low));
    }
    if s.freeze_below > 0.0 {
        let y = frame.y(s.freeze_below);
        let _ = write!(
            html,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#9a6700\" \
             stroke-dasharray=\"5 4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">freeze {}</text>",
            RIGHT - 2.0,
            y - 4.0,
            pct1(s.freeze_below)
        );
    }
    let start = left.first().map_or(from, |(t, _)| *t);
    let mut line = format!("M{:.1} {:.1}", frame.x(from), frame.y(1.0));
    if start > from {
        let _ = write!(line, "L{:.1} {:.1}", frame.x(start), frame.y(1.0));
    }
    let mut last_x = frame.x(from);
    for (t, v) in &left {
        last_x = frame.x(*t);
        let _ = write!(line, "L{last_x:.1} {:.1}", frame.y(*v));
    }
    let base = frame.y(0.0);
    let _ = write!(
        html,
        "<path d=\"{line}L{last_x:.1} {base:.1}L{:.1} {base:.1}Z\" fill=\"#1a7f37\" fill-opacity=\"0.15\" \
         stroke=\"none\"/><path d=\"{line}\" fill=\"none\" stroke=\"#1a7f37\" stroke-width=\"2\"/>",
        frame.x(from)
    );
    close(html, &frame, &caption);
}

/// The burn rate of each bucket, with the page alert's threshold as a line.
pub(super) fn burn_rate(
    html: &mut String,
    id: &str,
    s: &SloSnapshot,
    points: &[ChartPoint],
    page_threshold: Option<f64>,
) {
    // The typical step (the newest bucket may be a partial one).
    let mut steps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].t - w[0].t)
        .filter(|d| *d > 0)
        .collect();
    steps.sort_unstable();
    let bucket = steps.get(steps.len() / 2).map_or(3600.0, |d| *d as f64);
    let to = points.last().map_or(0.0, |p| p.t as f64);
    let from = (to - s.period_seconds).min(points.first().map_or(to, |p| p.t as f64 - bucket));
    let highest = points
        .iter()
        .map(|p| p.burn_rate)
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let high = highest.max(page_threshold.unwrap_or(0.0) * 1.15) * 1.05;
    let frame = Frame {
        from,
        to,
        low: 0.0,
        high,
    };
    let every = if (bucket - 3600.0).abs() < 1.0 {
        "hour".to_string()
    } else {
        format!("{} min", (bucket / 60.0).round())
    };
    let latest = points.last().map_or(0.0, |p| p.burn_rate);
    // Without data the newest buckets are empty, not a burn of 0.
    let latest = if s.data_present {
        format!("{} in the latest {every}", burn(latest))
    } else {
        no_data_now(s)
    };
    let above = page_threshold.map_or(0, |thr| points.iter().filter(|p| p.burn_rate > thr).count());
    let title = format!(
        "Burn rate per {every}, {}: {latest}{}.",
        series_name(s),
        match page_threshold {
            Some(thr) => format!(
                "; page threshold {}, exceeded in {above} of {} buckets",
                burn(thr),
                points.len()
            ),
            None => String::new(),
        }
    );
    let caption = format!("Burn rate per {every}: {latest}");
    open(html, id, &title);
    y_label(html, &frame, 0.0, "0×");
    y_label(html, &frame, 1.0, "1×");
    y_label(html, &frame, high / 1.05, &burn(high / 1.05));
    let mut bars = String::new();
    let width = (frame.x(from + bucket) - frame.x(from)).max(0.6);
    for p in points
        .iter()
        .filter(|p| p.burn_rate.is_finite() && p.burn_rate > 0.0)
    {
        let x = frame.x(p.t as f64 - bucket);
        let y = frame.y(p.burn_rate);
        let _ = write!(bars, "M{x:.1} {BOTTOM}V{y:.1}h{width:.2}V{BOTTOM}Z");
    }
    let _ = write!(
        html,
        "<path d=\"{bars}\" fill=\"#0550ae\" fill-opacity=\"0.75\"/>"
    );
    let one = frame.y(1.0);
    let _ = write!(
        html,
        "<line x1=\"{LEFT}\" y1=\"{one:.1}\" x2=\"{RIGHT}\" y2=\"{one:.1}\" stroke=\"#57606a\" \
         stroke-dasharray=\"2 3\"/>"
    );
    if let Some(thr) = page_threshold {
        let y = frame.y(thr);
        let _ = write!(
            html,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#cf222e\" \
             stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"end\" style=\"fill:#cf222e\">page {}</text>",
            RIGHT - 2.0,
            y - 4.0,
            burn(thr)
        );
    }
    close(html, &frame, &caption);
}
