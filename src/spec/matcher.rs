//! Label matchers compiled for matching series in sloburn, as Prometheus matches them: regexes
//! are anchored, and an absent label matches as the empty string. Used where sloburn picks
//! series itself: the scrape source, and batched reads that share one query between SLOs.

use regex::Regex;

use crate::spec::{MatchOp, Matcher};

/// One matcher, ready to test label values.
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    pub label: String,
    op: MatchOp,
    value: String,
    re: Option<Regex>,
}

impl CompiledMatcher {
    /// Compiles `m`; an invalid regex is an error (the loader refuses such specs first).
    ///
    /// ```
    /// use sloburn::spec::{MatchOp, Matcher, matcher::CompiledMatcher};
    /// let m = Matcher { label: "code".into(), op: MatchOp::Regex, value: "5..".into() };
    /// let m = CompiledMatcher::new(&m).unwrap();
    /// assert!(m.matches("503") && !m.matches("1503") && !m.matches(""));
    /// ```
    pub fn new(m: &Matcher) -> Result<Self, String> {
        let re = match m.op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{})$", m.value))
                    .map_err(|e| format!("regex {:?}: {e}", m.value))?,
            ),
            _ => None,
        };
        Ok(Self {
            label: m.label.clone(),
            op: m.op,
            value: m.value.clone(),
            re,
        })
    }

    /// Whether a label value matches (pass `""` for an absent label).
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => self.re.as_ref().is_some_and(|r| !r.is_match(v)),
        }
    }
}
