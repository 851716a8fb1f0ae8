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

use crate::core::PromDuration;
use crate::spec::promql::render;
use crate::spec::{CompareOp, Sli, Slo};

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
    /// The histogram's `le` label value for the threshold, once it has been looked up (exposition
    /// writes `0.3`, `0.30` or `3e-01` depending on the client library).
    pub le_value: Option<String>,
}

impl QueryPlan {
    pub fn new(slo: &Slo) -> Self {
        Self {
            sli: slo.sli.clone(),
            group_by: slo.group_by.clone(),
            le_value: None,
        }
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
                    // `x == x` drops NaN (no traffic) so that minute is not counted at all.
                    bad: format!("(({q}) == ({q})) * {minutes}", q = q.trim()),
                    total: format!("(({q}) == ({q})) * 0 + {minutes}", q = q.trim()),
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
                let le = self
                    .le_value
                    .clone()
                    .unwrap_or_else(|| format_le(*threshold));
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
                // A subquery range includes both ends in Prometheus 2 (left-open in 3): one
                // second less keeps (t - step, t] and never counts a boundary slice twice.
                let range = PromDuration::from_secs(secs.saturating_sub(1).max(1));
                BucketQueries {
                    bad: format!(
                        "sum_over_time((({query}) {fails} bool {value})[{range}:{slice}])"
                    ),
                    total: format!("count_over_time(({query})[{range}:{slice}])"),
                }
            }
        }
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

fn negate(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Ge,
        CompareOp::Le => CompareOp::Gt,
        CompareOp::Gt => CompareOp::Le,
        CompareOp::Ge => CompareOp::Lt,
    }
}

/// `1` stays `1`, `0.3` stays `0.3`: the shortest form that round-trips, as Go clients write it.
fn format_le(v: f64) -> String {
    format!("{v}")
}

#[cfg(test)]
mod tests;
