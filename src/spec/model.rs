//! The one model every spec format is read into. Everything here has been validated: a value of
//! these types is a spec the engine, the rule generator and the gate can use as is.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use crate::core::{Objective, Period, PromDuration, Severity, WindowTable};
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
    /// Budget corrections: the service's (the document's `corrections:`), then the SLO's own,
    /// then a corrections file's; empty for most SLOs.
    pub corrections: Vec<crate::core::correction::Correction>,
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
    /// The opt-in exhaustion alert (`alerting.exhaustion`); `None` when not written.
    pub exhaustion: Option<ExhaustionSpec>,
}

/// An alert on the forecast time to a spent budget (`slo_error_budget_exhaustion_seconds`):
/// fires while that forecast is at most `within`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExhaustionSpec {
    /// Above 0 and no longer than the period's nominal length.
    pub within: PromDuration,
    /// The tier its alert carries in `sloburn_severity` (and `severity` by default): `ticket`
    /// unless the spec says `page`, so Alertmanager routes it as it routes burn alerts.
    pub severity: Severity,
    /// `disable`, `labels`, `annotations` and `for`, as a tier's (`min_events` is always 0:
    /// a forecast over the whole period has no low-traffic guard).
    pub alert: AlertSpec,
}

/// One alert tier (page or ticket).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertSpec {
    pub disable: bool,
    pub labels: Labels,
    pub annotations: Labels,
    pub for_: Option<PromDuration>,
    /// The low-traffic guard of this tier's rows (`min_events`, or `alerting.min_events`; 0 =
    /// none), also set on each of its rows in the window table.
    pub min_events: u64,
}

/// What the deploy gate does with this SLO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Freeze the service when the remaining budget falls below this percentage (0 = when spent).
    pub freeze_below_percent: f64,
}

/// Every `le` value a bucket boundary is written as, in this order and without repeats:
/// - Go clients (`strconv` `'g'`, shortest digits), kept as is by Prometheus 2: `5`, `0.25`,
///   `1e-05`, `1e+06`;
/// - Prometheus 3, which rewrites every `le` on ingestion to the OpenMetrics form (Go's, with
///   `.0` appended to an integer); Python clients write the same: `5.0`, `1e-05`, `1e+06`;
/// - Java clients (`Double.toString`: a decimal point always, `E` notation below 1e-3 and
///   from 1e7): `5.0`, `1.0E-5`, `1000000.0`;
/// - the plain decimal that sloburn wrote before (`0.00001`, `1000000`).
///
/// ```
/// use sloburn::spec::le_spellings;
/// assert_eq!(le_spellings(5.0), ["5", "5.0"]);
/// assert_eq!(le_spellings(0.25), ["0.25"]);
/// assert_eq!(le_spellings(1e-5), ["1e-05", "1.0E-5", "0.00001"]);
/// ```
pub fn le_spellings(v: f64) -> Vec<String> {
    let plain = format!("{v}");
    // Shortest round-trip digits and the decimal exponent, e.g. `2.5e-1`.
    let sci = format!("{:e}", v.abs());
    let parsed = sci
        .split_once('e')
        .and_then(|(m, e)| Some((m.replace('.', ""), e.parse::<i32>().ok()?)));
    let Some((digits, exp)) = parsed.filter(|_| v.is_finite() && v != 0.0) else {
        return vec![plain];
    };
    let sign = if v < 0.0 { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    let go = if !(-4..6).contains(&exp) {
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{rest}e{exp_sign}{:02}", exp.abs())
    } else {
        plain.clone()
    };
    let openmetrics = if go.contains(['.', 'e']) {
        go.clone()
    } else {
        format!("{go}.0")
    };
    let java = if (-3..7).contains(&exp) {
        if plain.contains('.') {
            plain.clone()
        } else {
            format!("{plain}.0")
        }
    } else {
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    };
    let mut out: Vec<String> = Vec::with_capacity(4);
    for s in [go, openmetrics, java, plain] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// `le="v"` for one spelling; `le=~"a|b"` for several, each escaped and (as Prometheus anchors
/// a regex) matched whole, so `5|5\.0` never matches `50` or `0.5`.
pub fn le_matcher(spellings: &[String]) -> Matcher {
    let (op, value) = match spellings {
        [one] => (MatchOp::Equal, one.clone()),
        many => (
            MatchOp::Regex,
            // A spelling has digits, `.`, `e`, `E`, `+` and `-`: only `.` and `+` are special.
            many.iter()
                .map(|s| s.replace('.', "\\.").replace('+', "\\+"))
                .collect::<Vec<_>>()
                .join("|"),
        ),
    };
    Matcher {
        label: "le".into(),
        op,
        value,
    }
}
