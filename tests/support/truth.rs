//! The ground truth every number of sloburn is checked against, written from the definition
//! below and never from engine code.
//!
//! **Events of a counter series in `(a, b]`.** A series is a list of samples `(t, v)`, `t` in
//! milliseconds, strictly increasing. Its events in `(a, b]` are the sum, over consecutive
//! samples `p`, `q` of that series with `a < q.t <= b` and `q.t - p.t <= H` ([`MAX_GAP_MS`],
//! 2 hours), of `inc(p, q) = q.v - p.v` when `q.v >= p.v`, else `q.v` (a counter reset: the new
//! value is the increase, as Prometheus's `increase()` has it). The first sample of a series,
//! and a sample more than `H` after the one before it, carry no events: nobody can see the
//! increments before them.
//!
//! **SLIs.** Ratio: bad = events of the series matching the errors selector, total = events of
//! the series matching the total selector. Latency (histogram `h`, threshold `T`): total =
//! events of `h_count`, good = events of `h_bucket{le="T"}`, bad = `max(total - good, 0)` per
//! window. A window is `(at - w, at]`, the period `(at - 30d, at]`. Remaining budget =
//! `1 - (bad / total) / (1 - objective)` (1 when total is 0); burn rate =
//! `(bad / total) / (1 - objective)` (0 when total is 0).
//!
//! [`increments`] is the only place the counter rule is written; [`super::backfill::Backfill`]
//! keeps its running sum per series and answers [`super::backfill::Backfill::series_events`]
//! and [`super::backfill::Backfill::events_matching`] from it, and [`counts`] builds the SLIs on
//! those.

use std::collections::BTreeSet;

use super::backfill::{Backfill, Series};

/// `H`: consecutive samples further apart than this carry no events between them.
pub const MAX_GAP_MS: i64 = 2 * 3_600_000;

/// The events each sample carries (see the module docs): `0` for the first sample and for a
/// sample more than [`MAX_GAP_MS`] after the previous one, else `inc(previous, this)`.
/// `samples` are `(t in ms, value)` in strictly increasing time order (panics otherwise).
pub fn increments(samples: &[(i64, f64)]) -> Vec<f64> {
    let mut out = Vec::with_capacity(samples.len());
    for (i, &(t, v)) in samples.iter().enumerate() {
        let inc = match i.checked_sub(1).map(|j| samples[j]) {
            None => 0.0,
            Some((pt, pv)) => {
                assert!(pt < t, "samples out of order: {pt} then {t}");
                if t - pt > MAX_GAP_MS {
                    0.0
                } else if v >= pv {
                    v - pv
                } else {
                    v
                }
            }
        };
        out.push(inc);
    }
    out
}

/// A label matcher of a [`Selector`].
#[derive(Clone, Debug)]
pub enum Matcher {
    Eq(String, String),
    Ne(String, String),
    /// Fully anchored, as in PromQL.
    Re(String, regex::Regex),
    NotRe(String, regex::Regex),
}

impl Matcher {
    fn label(&self) -> &str {
        match self {
            Matcher::Eq(l, _) | Matcher::Ne(l, _) | Matcher::Re(l, _) | Matcher::NotRe(l, _) => l,
        }
    }

    /// Whether a series with label value `value` (`""` when it lacks the label) passes.
    fn passes(&self, value: &str) -> bool {
        match self {
            Matcher::Eq(_, v) => value == v,
            Matcher::Ne(_, v) => value != v,
            Matcher::Re(_, re) => re.is_match(value),
            Matcher::NotRe(_, re) => !re.is_match(value),
        }
    }
}

/// A PromQL series selector as SLO specs write it: `name{label="v", label!="v", label=~"re",
/// label!~"re"}` (the name is required; values in double quotes with `\\` and `\"` escapes).
/// A small parser of its own, so the truth shares nothing with the engine's spec code.
#[derive(Clone, Debug)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Parses `text`; panics with the text on anything it does not understand.
    pub fn parse(text: &str) -> Selector {
        let fail = |why: &str| -> ! { panic!("selector {text:?}: {why}") };
        let text_trimmed = text.trim();
        let (name, rest) = match text_trimmed.find('{') {
            Some(i) => (&text_trimmed[..i], &text_trimmed[i..]),
            None => (text_trimmed, ""),
        };
        let name = name.trim();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if !name_ok {
            fail("expected a metric name");
        }
        let mut matchers = Vec::new();
        if !rest.is_empty() {
            let body = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .unwrap_or_else(|| fail("unbalanced braces"));
            let mut chars = body.chars().peekable();
            loop {
                take_while(&mut chars, |c| c.is_whitespace() || c == ',');
                if chars.peek().is_none() {
                    break;
                }
                let label = take_while(&mut chars, |c| c.is_ascii_alphanumeric() || c == '_');
                take_while(&mut chars, char::is_whitespace);
                let op = take_while(&mut chars, |c| matches!(c, '=' | '!' | '~'));
                take_while(&mut chars, char::is_whitespace);
                if label.is_empty() || chars.next() != Some('"') {
                    fail("expected label=\"value\"");
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(c) => value.push(c),
                            None => fail("unterminated string"),
                        },
                        Some('"') => break,
                        Some(c) => value.push(c),
                        None => fail("unterminated string"),
                    }
                }
                let anchored = || {
                    regex::Regex::new(&format!("^(?:{value})$"))
                        .unwrap_or_else(|e| fail(&format!("bad regex {value:?}: {e}")))
                };
                matchers.push(match op.as_str() {
                    "=" => Matcher::Eq(label, value),
                    "!=" => Matcher::Ne(label, value),
                    "=~" => Matcher::Re(label, anchored()),
                    "!~" => Matcher::NotRe(label, anchored()),
                    other => fail(&format!("unknown operator {other:?}")),
                });
            }
        }
        Selector {
            name: name.to_string(),
            matchers,
        }
    }

    /// The same selector with `name` instead (`h` -> `h_count`).
    pub fn renamed(&self, name: &str) -> Selector {
        Selector {
            name: name.to_string(),
            matchers: self.matchers.clone(),
        }
    }

    /// The same selector with one more `label="value"` matcher.
    pub fn with(&self, label: &str, value: &str) -> Selector {
        let mut s = self.clone();
        s.matchers
            .push(Matcher::Eq(label.to_string(), value.to_string()));
        s
    }

    pub fn matches(&self, series: &Series) -> bool {
        series.name == self.name
            && self.matchers.iter().all(|m| {
                let value = series
                    .labels
                    .iter()
                    .find(|(k, _)| k == m.label())
                    .map_or("", |(_, v)| v.as_str());
                m.passes(value)
            })
    }
}

/// The characters `keep` accepts from the front of `chars`.
fn take_while(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    keep: impl Fn(char) -> bool,
) -> String {
    let mut out = String::new();
    while let Some(&c) = chars.peek() {
        if !keep(c) {
            break;
        }
        out.push(c);
        chars.next();
    }
    out
}

/// An SLI as the truth evaluates it: selectors as written in the spec.
#[derive(Clone, Debug)]
pub enum Sli {
    Ratio {
        errors: String,
        total: String,
    },
    /// `histogram` without suffix (`http_request_duration_seconds{job="x"}`), `le` as the
    /// bucket label spells the threshold (`"0.3"`).
    Latency {
        histogram: String,
        le: String,
    },
}

impl Sli {
    pub fn ratio(errors: &str, total: &str) -> Sli {
        Sli::Ratio {
            errors: errors.to_string(),
            total: total.to_string(),
        }
    }

    pub fn latency(histogram: &str, le: &str) -> Sli {
        Sli::Latency {
            histogram: histogram.to_string(),
            le: le.to_string(),
        }
    }

    /// The selectors whose series carry the SLI's events (ratio: errors, total; latency: the
    /// `le` bucket, `_count`).
    fn selectors(&self) -> (Selector, Selector) {
        match self {
            Sli::Ratio { errors, total } => (Selector::parse(errors), Selector::parse(total)),
            Sli::Latency { histogram, le } => {
                let h = Selector::parse(histogram);
                (
                    h.renamed(&format!("{}_bucket", h.name)).with("le", le),
                    h.renamed(&format!("{}_count", h.name)),
                )
            }
        }
    }
}

/// Bad and total events of an SLI over one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counts {
    pub bad: f64,
    pub total: f64,
}

impl Counts {
    /// `bad / total`, 0 when there were no events.
    pub fn error_ratio(&self) -> f64 {
        if self.total > 0.0 {
            self.bad / self.total
        } else {
            0.0
        }
    }

    /// `(bad / total) / (1 - objective)`, 0 when there were no events.
    pub fn burn_rate(&self, objective: f64) -> f64 {
        self.error_ratio() / (1.0 - objective)
    }

    /// `1 - (bad / total) / (1 - objective)`, 1 when there were no events.
    pub fn remaining(&self, objective: f64) -> f64 {
        1.0 - self.burn_rate(objective)
    }
}

/// The true bad and total events of `sli` in `(a, b]` (seconds), for one group (`Some((label,
/// value))`: only series with that label value) or all series (`None`).
pub fn counts(data: &Backfill, sli: &Sli, group: Option<(&str, &str)>, a: i64, b: i64) -> Counts {
    let (first, total) = sli.selectors();
    let (first, total) = match group {
        Some((label, value)) => (first.with(label, value), total.with(label, value)),
        None => (first, total),
    };
    let first = data.events_of(&first, a, b);
    let total = data.events_of(&total, a, b);
    match sli {
        Sli::Ratio { .. } => Counts { bad: first, total },
        Sli::Latency { .. } => Counts {
            bad: (total - first).max(0.0),
            total,
        },
    }
}

/// The values of `label` among the series of `sli`'s total selector (the groups of a
/// `group_by: [label]` SLO), sorted.
pub fn groups(data: &Backfill, sli: &Sli, label: &str) -> Vec<String> {
    let (_, total) = sli.selectors();
    let values: BTreeSet<String> = data
        .all_series()
        .filter(|(_, s)| total.matches(s))
        .filter_map(|(_, s)| {
            s.labels
                .iter()
                .find(|(k, _)| k == label)
                .map(|(_, v)| v.clone())
        })
        .collect();
    values.into_iter().collect()
}
