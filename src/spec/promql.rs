//! PromQL checks for specs: query templates with the `{{.window}}` placeholder, and the vector
//! selectors of the selector SLIs.

use std::sync::LazyLock;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{self, Expr};
use regex::Regex;

use crate::core::PromDuration;
use crate::spec::model::{MatchOp, Matcher, Selector};

/// `{{.window}}`, also written with spaces (`{{ .window }}`), as Sloth accepts.
static WINDOW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{\s*\.window\s*\}\}").unwrap());

/// Renders a query template for one window.
///
/// ```
/// use sloburn::spec::promql::render;
/// use sloburn::core::PromDuration;
/// let q = render("sum(rate(x[{{ .window }}]))", PromDuration::from_secs(300));
/// assert_eq!(q, "sum(rate(x[5m]))");
/// ```
pub fn render(template: &str, window: PromDuration) -> String {
    WINDOW
        .replace_all(template, window.to_string().as_str())
        .into_owned()
}

/// Checks a query template: it has the window placeholder, no other template syntax, and
/// parses as PromQL once rendered.
pub fn check_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("empty query; accepted: a PromQL expression using {{.window}}".into());
    }
    if !WINDOW.is_match(template) {
        return Err(format!(
            "the query has no {{{{.window}}}} placeholder, so it cannot be evaluated per window; write the range as [{{{{.window}}}}], e.g. rate(http_requests_total[{{{{.window}}}}]) (got {:?})",
            shorten(template)
        ));
    }
    let rest = WINDOW.replace_all(template, "");
    if let Some(i) = rest.find("{{") {
        let end = rest[i..]
            .find("}}")
            .map(|j| i + j + 2)
            .unwrap_or(rest.len());
        return Err(format!(
            "unknown template placeholder {:?}; the only placeholder is {{{{.window}}}}",
            &rest[i..end]
        ));
    }
    let rendered = render(template, PromDuration::from_secs(300));
    parser::parse(&rendered).map(|_| ()).map_err(|e| {
        format!(
            "not valid PromQL once {{{{.window}}}} is 5m: {} (in {:?})",
            one_line(&e),
            shorten(&rendered)
        )
    })
}

/// Checks an instant PromQL expression (a threshold SLI's query); no placeholder is allowed.
pub fn check_expression(query: &str) -> Result<(), String> {
    if query.trim().is_empty() {
        return Err("empty query; accepted: a PromQL expression giving one value".into());
    }
    if query.contains("{{") {
        return Err("a threshold query is evaluated at each time slice and takes no {{.window}} placeholder".into());
    }
    parser::parse(query)
        .map(|_| ())
        .map_err(|e| format!("not valid PromQL: {}", one_line(&e)))
}

/// Parses a vector selector such as `http_requests_total{job="api",code=~"5.."}`.
///
/// ```
/// use sloburn::spec::promql::parse_selector;
/// let s = parse_selector(r#"http_requests_total{code=~"5.."}"#).unwrap();
/// assert_eq!(s.metric, "http_requests_total");
/// assert!(parse_selector("rate(x[5m])").is_err());
/// ```
pub fn parse_selector(text: &str) -> Result<Selector, String> {
    const ACCEPTED: &str = r#"accepted: a metric name with optional label matchers, e.g. http_requests_total{job="api",code=~"5.."}"#;
    let expr = parser::parse(text)
        .map_err(|e| format!("not valid PromQL: {}; {ACCEPTED}", one_line(&e)))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "{:?} is an expression, not a selector; sloburn computes rates itself; {ACCEPTED}",
            shorten(text)
        ));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(format!(
            "offset and @ modifiers are not allowed in a selector; {ACCEPTED}"
        ));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(format!(
            "`or` inside a selector is not supported; {ACCEPTED}"
        ));
    }
    let mut metric = vs.name.clone();
    let mut matchers = Vec::new();
    for m in &vs.matchers.matchers {
        let op = match &m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        if m.name == "__name__" {
            if op == MatchOp::Equal && metric.is_none() {
                metric = Some(m.value.clone());
                continue;
            }
            return Err(format!(
                "the metric name must be one fixed name; {ACCEPTED}"
            ));
        }
        matchers.push(Matcher {
            label: m.name.clone(),
            op,
            value: m.value.clone(),
        });
    }
    let Some(metric) = metric else {
        return Err(format!("the selector names no metric; {ACCEPTED}"));
    };
    Ok(Selector {
        text: text.trim().to_string(),
        metric,
        matchers,
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(s: &str) -> String {
    let s = one_line(s);
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}
