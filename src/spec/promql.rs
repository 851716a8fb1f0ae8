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

/// The query without its PromQL `#` comments (each to the end of its line; a `#` inside a
/// string is text). sloburn composes around the queries it is given (`(q) * 300`,
/// `(q) == (q)`), and a comment left in would swallow what follows it on its line.
///
/// ```
/// use sloburn::spec::promql::strip_comments;
/// assert_eq!(strip_comments("sum(x) # total"), "sum(x)");
/// assert_eq!(strip_comments("max(y{a=\"1#2\"}) # hot\n+ 1"), "max(y{a=\"1#2\"})\n+ 1");
/// assert_eq!(strip_comments("sum(x)\n\n"), "sum(x)\n\n");
/// ```
pub fn strip_comments(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut found = false;
    for c in query.chars() {
        if comment {
            if c == '\n' {
                comment = false;
                out.push(c);
            }
            continue;
        }
        match quote {
            Some(q) => {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '#' => {
                comment = true;
                found = true;
            }
            None => {
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    // A query without comments is kept as written (its text is part of the history's identity).
    if !found {
        return query.to_string();
    }
    // Spaces before a comment, and lines that held only a comment, are dropped.
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines.join("\n")
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

#[cfg(test)]
mod comment_tests {
    use super::strip_comments;

    #[test]
    fn comments_go_and_strings_stay() {
        let cases = [
            ("sum(x) # total", "sum(x)"),
            ("# header\nsum(x)", "sum(x)"),
            ("sum(x{a=\"#\"})", "sum(x{a=\"#\"})"),
            ("sum(x{a='#'}) # c", "sum(x{a='#'})"),
            ("sum(x{a=`#\\`}) # c", "sum(x{a=`#\\`})"),
            (r##"sum(x{a="\"#"}) # c"##, r##"sum(x{a="\"#"})"##),
            (
                "rate(x[5m]) # a\n/ rate(y[5m]) # b\n",
                "rate(x[5m])\n/ rate(y[5m])",
            ),
            ("sum(x)  \n\n  + 1", "sum(x)  \n\n  + 1"),
        ];
        for (query, want) in cases {
            assert_eq!(strip_comments(query), want, "{query:?}");
        }
    }
}
