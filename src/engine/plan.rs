//! The query plan: for each SLO, two PromQL expressions whose value at time t is the number of
//! bad and of total events in the bucket (t - step, t]. Every SLI kind is turned into this one
//! shape, so history, backfill and evaluation need not know the kind.
//!
//! - `events`: Sloth's rate queries rendered with `{{.window}}` = step, times the step's seconds.
//! - `raw`: an error ratio has no event counts, so a raw SLI is weighted by time: each minute with
//!   data counts as one event, bad by the ratio (a 1h bucket is 60 events). A minute where the
//!   ratio is NaN (no traffic: 0/0) is left out.
//! - `ratio`: `sum(increase(errors[step]))` and `sum(increase(total[step]))`.
//! - `latency`: total = `increase(<h>_count[step])`, bad = total minus the `le` bucket at the
//!   threshold.
//! - `threshold`: time slices: total = slices in the step (`count_over_time(q[step:slice])`), bad =
//!   slices where the condition does not hold.

use promql_parser::parser::{self, Expr};

use crate::core::PromDuration;
use crate::spec::promql::{parse_selector, render};
use crate::spec::{CompareOp, Matcher, Selector, Sli, Slo};

/// What a counter read stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Bad events (`ratio`'s errors).
    Bad,
    /// All events.
    Total,
    /// Good events (a latency histogram's bucket at the threshold); bad = total - good.
    Good,
}

impl Role {
    /// A stable code for the store.
    pub fn code(self) -> u8 {
        match self {
            Role::Bad => 0,
            Role::Total => 1,
            Role::Good => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            0 => Some(Role::Bad),
            1 => Some(Role::Total),
            2 => Some(Role::Good),
            _ => None,
        }
    }
}

/// One counter selector an SLO reads, and the role of its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRead {
    pub role: Role,
    /// The selector as PromQL.
    pub selector: String,
    /// Its metric name (every series it matches has it).
    pub metric: String,
    /// Its label matchers (with the `le` of a latency threshold), to pick its series out of a
    /// read shared with other SLOs.
    pub matchers: Vec<Matcher>,
}

/// The range of a threshold SLI's slice subquery for buckets of `step`. A subquery range includes
/// both ends in Prometheus 2 (left-open in 3): one second less keeps (t - step, t] and never
/// counts a boundary slice twice.
fn slice_range(step: PromDuration) -> PromDuration {
    PromDuration::from_secs(step.as_secs().saturating_sub(1).max(1))
}

/// The two expressions of an SLO for one bucket width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketQueries {
    pub bad: String,
    pub total: String,
}

/// How to query an SLO's events.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    sli: Sli,
    group_by: Vec<String>,
    /// The histogram's `le` label value for the threshold, once it has been looked up: read
    /// besides the usual spellings ([`le_spellings`]) when it is none of them (`0.30`).
    pub le_value: Option<String>,
    /// For an `events` SLI whose queries are `sum(rate(SELECTOR[{{.window}}]))`: the `errors` and
    /// `total` selectors it stands for, read exactly as a `ratio` SLI.
    disguised: Option<(Selector, Selector)>,
}

impl QueryPlan {
    pub fn new(slo: &Slo) -> Self {
        Self {
            sli: slo.sli.clone(),
            group_by: slo.group_by.clone(),
            le_value: None,
            disguised: disguised_ratio(&slo.sli, &slo.group_by),
        }
    }

    /// For SLIs counted from counters (`ratio`, `latency`, and Sloth `events` that are
    /// selectors in disguise): the selectors to read, each with its role. `None` for SLIs whose
    /// buckets the source evaluates (other templated PromQL, time slices).
    ///
    /// ```
    /// use sloburn::engine::plan::{QueryPlan, Role};
    /// let report = sloburn::spec::load::load_bytes("x.yaml", br#"
    /// version: prometheus/v1
    /// service: api
    /// slos:
    ///   - name: availability
    ///     objective: 99.9
    ///     sli:
    ///       events:
    ///         error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
    ///         total_query: sum(rate(http_requests_total[{{.window}}]))
    /// "#);
    /// let reads = QueryPlan::new(&report.slos[0]).counter_reads().unwrap();
    /// assert_eq!(reads[0].role, Role::Bad);
    /// assert_eq!(reads[0].selector, r#"http_requests_total{code=~"5.."}"#);
    /// ```
    pub fn counter_reads(&self) -> Option<Vec<CounterRead>> {
        let read = |role, s: &Selector, suffix: Option<&str>, le: Option<&Matcher>| CounterRead {
            role,
            selector: s.promql(suffix, le),
            metric: format!("{}{}", s.metric, suffix.unwrap_or("")),
            matchers: s.matchers.iter().chain(le).cloned().collect(),
        };
        if let Some((errors, total)) = &self.disguised {
            return Some(vec![
                read(Role::Bad, errors, None, None),
                read(Role::Total, total, None, None),
            ]);
        }
        match &self.sli {
            Sli::Ratio { errors, total } => Some(vec![
                read(Role::Bad, errors, None, None),
                read(Role::Total, total, None, None),
            ]),
            Sli::Latency {
                histogram,
                threshold,
            } => {
                let le = self.le_matcher(*threshold);
                Some(vec![
                    read(Role::Good, histogram, Some("_bucket"), Some(&le)),
                    read(Role::Total, histogram, Some("_count"), None),
                ])
            }
            _ => None,
        }
    }

    /// Whether the SLI is counted from raw counter samples ([`Self::counter_reads`] is `Some`),
    /// without building the reads.
    pub fn counts_samples(&self) -> bool {
        self.disguised.is_some() || matches!(self.sli, Sli::Ratio { .. } | Sli::Latency { .. })
    }

    /// The selector whose series say whether the SLO has data at all (its `total`), as PromQL.
    pub fn total_selector(&self) -> Option<String> {
        self.counter_reads()?
            .into_iter()
            .find(|r| r.role == Role::Total)
            .map(|r| r.selector)
    }

    /// The expressions for buckets of `step`.
    ///
    /// ```
    /// use sloburn::engine::plan::QueryPlan;
    /// use sloburn::core::PromDuration;
    /// let report = sloburn::spec::load::load_bytes("x.yaml", br#"
    /// version: sloburn/v1
    /// service: api
    /// slos:
    ///   - name: availability
    ///     objective: 99.9
    ///     sli:
    ///       ratio:
    ///         errors: http_requests_total{code=~"5.."}
    ///         total: http_requests_total
    /// "#);
    /// let plan = QueryPlan::new(&report.slos[0]);
    /// let q = plan.bucket_queries(PromDuration::from_secs(60));
    /// assert_eq!(q.bad, r#"sum(increase(http_requests_total{code=~"5.."}[1m]))"#);
    /// ```
    pub fn bucket_queries(&self, step: PromDuration) -> BucketQueries {
        let secs = step.as_secs();
        let by = self.by_clause();
        match &self.sli {
            Sli::Events {
                error_query,
                total_query,
            } => BucketQueries {
                bad: format!("({}) * {secs}", render(error_query, step).trim()),
                total: format!("({}) * {secs}", render(total_query, step).trim()),
            },
            Sli::Raw { error_ratio_query } => {
                let q = render(error_ratio_query, step);
                let minutes = (secs / 60).max(1);
                BucketQueries {
                    // `x == x` drops NaN (no traffic) so that minute is not counted at all; the
                    // total keeps it as a NaN point (`x != x`), which shows the series exists
                    // (zero traffic is data, not its absence) and counts nothing.
                    bad: format!("(({q}) == ({q})) * {minutes}", q = q.trim()),
                    total: format!(
                        "((({q}) == ({q})) * 0 + {minutes}) or (({q}) != ({q}))",
                        q = q.trim()
                    ),
                }
            }
            Sli::Ratio { errors, total } => BucketQueries {
                bad: format!("sum{by}(increase({}[{step}]))", errors.promql(None, None)),
                total: format!("sum{by}(increase({}[{step}]))", total.promql(None, None)),
            },
            Sli::Latency {
                histogram,
                threshold,
            } => {
                let le = self.le_matcher(*threshold);
                let count = format!(
                    "sum{by}(increase({}[{step}]))",
                    histogram.promql(Some("_count"), None)
                );
                let good = format!(
                    "sum{by}(increase({}[{step}]))",
                    histogram.promql(Some("_bucket"), Some(&le))
                );
                BucketQueries {
                    bad: format!("clamp_min({count} - {good}, 0)"),
                    total: count,
                }
            }
            Sli::Threshold {
                query,
                op,
                value,
                slice,
            } => {
                let fails = negate(*op).as_str();
                let range = slice_range(step);
                // `q == q` drops a NaN value: no measurement, neither a good nor a bad slice
                // (as the scrape source counts it).
                let measured = format!("(({query}) == ({query}))");
                BucketQueries {
                    bad: format!(
                        "sum_over_time(({measured} {fails} bool {value})[{range}:{slice}])"
                    ),
                    total: format!("count_over_time({measured}[{range}:{slice}])"),
                }
            }
        }
    }

    /// The subquery of [`QueryPlan::bucket_queries`] for `step`, `(range, step)` in seconds:
    /// threshold SLIs' slices. A range query of them is cut so that the subquery stays within
    /// what VictoriaMetrics evaluates at once.
    pub fn bucket_subquery(&self, step: PromDuration) -> Option<(i64, i64)> {
        match &self.sli {
            Sli::Threshold { slice, .. } => {
                Some((slice_range(step).as_secs() as i64, slice.as_secs() as i64))
            }
            _ => None,
        }
    }

    /// The matcher of the threshold's bucket: every spelling of [`le_spellings`], and the one
    /// the histogram was found to write when that is another. Never the found one alone: two
    /// targets may write it two ways, and Prometheus 3 renames `5` to `5.0` mid-history.
    fn le_matcher(&self, threshold: f64) -> Matcher {
        let mut spellings = le_spellings(threshold);
        if let Some(v) = &self.le_value
            && !spellings.contains(v)
        {
            spellings.push(v.clone());
        }
        le_matcher(&spellings)
    }

    /// For latency SLIs: the query that lists the histogram's bucket boundaries.
    pub fn le_lookup(&self) -> Option<String> {
        match &self.sli {
            Sli::Latency { histogram, .. } => Some(format!(
                "count by (le) ({})",
                histogram.promql(Some("_bucket"), None)
            )),
            _ => None,
        }
    }

    /// The latency threshold, when this is a latency SLI.
    pub fn latency_threshold(&self) -> Option<f64> {
        match &self.sli {
            Sli::Latency { threshold, .. } => Some(*threshold),
            _ => None,
        }
    }

    fn by_clause(&self) -> String {
        if self.group_by.is_empty() {
            String::new()
        } else {
            format!(" by ({})", self.group_by.join(", "))
        }
    }
}

/// An `events` SLI whose error and total queries are each `sum(rate|increase(SELECTOR[{{.window}}]))`
/// (optionally `... or vector(0)`, and `sum by (...)` when it groups by the SLO's own
/// `group_by`) is a ratio of two counter selectors in disguise.
fn disguised_ratio(sli: &Sli, group_by: &[String]) -> Option<(Selector, Selector)> {
    let Sli::Events {
        error_query,
        total_query,
    } = sli
    else {
        return None;
    };
    Some((
        selector_of_rate_sum(error_query, group_by)?,
        selector_of_rate_sum(total_query, group_by)?,
    ))
}

/// The selector of `sum [by (group_by)] (rate|increase(SELECTOR[{{.window}}]))`.
fn selector_of_rate_sum(template: &str, group_by: &[String]) -> Option<Selector> {
    // An unusual window that cannot occur in a spec marks where the placeholder was.
    let marker = PromDuration::from_secs(7919);
    let expr = parser::parse(&render(template, marker)).ok()?;
    let expr = strip_or_vector_zero(unparen(&expr));
    let Expr::Aggregate(agg) = expr else {
        return None;
    };
    if agg.op.to_string() != "sum" || agg.param.is_some() {
        return None;
    }
    let mut by: Vec<String> = match &agg.modifier {
        None => Vec::new(),
        Some(parser::LabelModifier::Include(labels)) => labels.labels.clone(),
        Some(parser::LabelModifier::Exclude(_)) => return None,
    };
    let mut want = group_by.to_vec();
    by.sort();
    want.sort();
    if by != want {
        return None;
    }
    let Expr::Call(call) = unparen(&agg.expr) else {
        return None;
    };
    if !matches!(call.func.name, "rate" | "increase") || call.args.args.len() != 1 {
        return None;
    }
    let Expr::MatrixSelector(ms) = unparen(&call.args.args[0]) else {
        return None;
    };
    if ms.range.as_secs() != marker.as_secs() || ms.vs.offset.is_some() || ms.vs.at.is_some() {
        return None;
    }
    parse_selector(&Expr::VectorSelector(ms.vs.clone()).to_string()).ok()
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// `X or vector(0)` is X for counting events (no series means no events).
fn strip_or_vector_zero(e: &Expr) -> &Expr {
    if let Expr::Binary(b) = e
        && b.op.to_string() == "or"
        && let Expr::Call(c) = unparen(&b.rhs)
        && c.func.name == "vector"
        && c.args.args.len() == 1
        && matches!(unparen(&c.args.args[0]), Expr::NumberLiteral(n) if n.val == 0.0)
    {
        return unparen(&b.lhs);
    }
    e
}

fn negate(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Ge,
        CompareOp::Le => CompareOp::Gt,
        CompareOp::Gt => CompareOp::Le,
        CompareOp::Ge => CompareOp::Lt,
    }
}

/// A threshold as messages show it: the shortest plain decimal that round-trips (`1` stays `1`,
/// `0.3` stays `0.3`). Queries select every spelling of [`le_spellings`] instead.
///
/// ```
/// assert_eq!(sloburn::engine::plan::format_le(5.0), "5");
/// assert_eq!(sloburn::engine::plan::format_le(0.25), "0.25");
/// ```
pub fn format_le(v: f64) -> String {
    format!("{v}")
}

// Where a threshold is spelled, the spec model says: re-exported for the engine's callers.
pub use crate::spec::model::{le_matcher, le_spellings};

#[cfg(test)]
mod tests;
