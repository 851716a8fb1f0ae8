//! The one model every spec format is read into. Everything here has been validated: a value of
//! these types is a spec the engine, the rule generator and the gate can use as is.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use crate::core::{Objective, Period, PromDuration, WindowTable};
use crate::spec::yaml::Pos;

/// Labels as written in a spec, in a stable order.
pub type Labels = BTreeMap<String, String>;

/// Where a spec item was written, for messages that point back at it.
///
/// ```
/// use sloburn::spec::{Origin, yaml::Pos};
/// let o = Origin { file: "a.yaml".into(), pos: Pos { line: 4, column: 5 }, sli: Pos { line: 8, column: 9 } };
/// assert_eq!(o.to_string(), "a.yaml:4:5");
/// assert_eq!(o.sli_at(), "a.yaml:8:9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Origin {
    pub file: String,
    /// The SLO's entry.
    pub pos: Pos,
    /// The SLO's `sli` field (its value), where findings about its queries and selectors point.
    pub sli: Pos,
}

impl Origin {
    /// `file:line:column` of the SLO's `sli` field.
    pub fn sli_at(&self) -> String {
        format!("{}:{}", self.file, self.sli)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// The spec format a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SpecVersion {
    /// Sloth's `prometheus/v1`, read unchanged.
    #[serde(rename = "prometheus/v1")]
    SlothV1,
    /// sloburn's own `sloburn/v1`: Sloth's shape plus periods, selector SLIs, grouping, policy.
    #[serde(rename = "sloburn/v1")]
    SloburnV1,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::SlothV1 => "prometheus/v1",
            SpecVersion::SloburnV1 => "sloburn/v1",
        }
    }
}

/// One SLO, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub service: String,
    pub name: String,
    pub description: Option<String>,
    pub objective: Objective,
    /// Service labels merged with the SLO's own (the SLO's win).
    pub labels: Labels,
    pub period: Period,
    pub sli: Sli,
    /// One SLO series per distinct value of these labels.
    pub group_by: Vec<String>,
    /// The most groups tracked; more are refused with a message naming the cap.
    pub max_groups: u32,
    pub alerting: Alerting,
    pub policy: Policy,
    pub version: SpecVersion,
    pub origin: Origin,
}

impl Slo {
    /// `service/name`, unique across all loaded specs.
    pub fn id(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }
}

/// The default cap on `group_by` series per SLO.
pub const DEFAULT_MAX_GROUPS: u32 = 100;
/// The largest cap a spec may ask for.
pub const MAX_MAX_GROUPS: u32 = 10_000;

/// How good and bad are counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// PromQL templates giving error and total event rates over `{{.window}}`.
    Events {
        error_query: String,
        total_query: String,
    },
    /// A PromQL template giving the error ratio over `{{.window}}` (no event counts).
    Raw { error_ratio_query: String },
    /// Counters selected without PromQL: bad = increase of `errors`, total = increase of `total`.
    Ratio { errors: Selector, total: Selector },
    /// A histogram: good = the `le` bucket at `threshold`, total = `_count`.
    Latency { histogram: Selector, threshold: f64 },
    /// A condition on a gauge-like query, budgeted in time slices of `slice`.
    Threshold {
        query: String,
        op: CompareOp,
        value: f64,
        slice: PromDuration,
    },
}

impl Sli {
    /// The name used in `slo_info{sli_kind}` and in `check` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Events { .. } => "events",
            Sli::Raw { .. } => "raw",
            Sli::Ratio { .. } => "ratio",
            Sli::Latency { .. } => "latency",
            Sli::Threshold { .. } => "threshold",
        }
    }
}

/// A PromQL vector selector, kept as written and as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The text as written in the spec.
    pub text: String,
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// The selector written back as PromQL, with an optional metric-name suffix and an extra
    /// matcher (a latency threshold's `le`; how the engine's queries and the format readers
    /// write selectors).
    ///
    /// ```
    /// let s = sloburn::spec::promql::parse_selector("http_requests_total{code=~\"5..\"}").unwrap();
    /// assert_eq!(s.promql(None, None), "http_requests_total{code=~\"5..\"}");
    /// ```
    pub fn promql(&self, suffix: Option<&str>, extra: Option<&Matcher>) -> String {
        let s = self;
        let mut out = format!("{}{}", s.metric, suffix.unwrap_or(""));
        let mut matchers: Vec<String> = s.matchers.iter().map(Matcher::promql).collect();
        if let Some(m) = extra {
            matchers.push(m.promql());
        }
        if !matchers.is_empty() {
            let _ = write!(out, "{{{}}}", matchers.join(","));
        }
        out
    }
}

pub(crate) fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// One label matcher of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    /// The matcher as PromQL, e.g. `code=~"5.."`.
    ///
    /// ```
    /// use sloburn::spec::{MatchOp, Matcher};
    /// let m = Matcher { label: "code".into(), op: MatchOp::Regex, value: "5..".into() };
    /// assert_eq!(m.promql(), r#"code=~"5..""#);
    /// ```
    pub fn promql(&self) -> String {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        format!("{}{op}{}", self.label, quote(&self.value))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// The comparison of a threshold SLI: a slice is good when `query <op> value` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CompareOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    pub const ACCEPTED: &'static str = "<, <=, >, >=";

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "<" => Some(Self::Lt),
            "<=" => Some(Self::Le),
            ">" => Some(Self::Gt),
            ">=" => Some(Self::Ge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// Whether `sample <op> value` holds.
    pub fn holds(self, sample: f64, value: f64) -> bool {
        match self {
            Self::Lt => sample < value,
            Self::Le => sample <= value,
            Self::Gt => sample > value,
            Self::Ge => sample >= value,
        }
    }
}

/// Alerting as declared: names, labels and the window table in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    pub name: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    pub page: AlertSpec,
    pub ticket: AlertSpec,
    /// The spec's own table, or the default for the SLO's period.
    pub windows: WindowTable,
    /// Whether `windows` came from the spec rather than the default rule.
    pub custom_windows: bool,
}

/// One alert tier (page or ticket).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertSpec {
    pub disable: bool,
    pub labels: Labels,
    pub annotations: Labels,
    pub for_: Option<PromDuration>,
}

/// What the deploy gate does with this SLO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Freeze the service when the remaining budget falls below this percentage (0 = when spent).
    pub freeze_below_percent: f64,
}
