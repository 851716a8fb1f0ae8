//! What a Prometheus-compatible source holds for the selectors of a spec: whether they match
//! series, how often those series are scraped, how a histogram spells its `le` boundaries, and
//! whether a selector read as a counter is one. `sloburn check --prometheus-url` reports these;
//! the engine reuses [`scrape_interval`] and [`template_selectors`].
//!
//! Each check is a query built by a pure function, an async function over the client, and a
//! pure function judging the answer, so the judging is tested without a source.

use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};

use crate::core::PromDuration;
use crate::source::prometheus::Client;
use crate::source::{Series, SourceError};
use crate::spec::promql::render;

/// How far back a selector's series are looked for: a series scraped within this range exists,
/// even when its counter stood still (an idle service is not a typo).
pub const LOOKBACK: &str = "1h";

/// The ranges of raw samples an interval is estimated from, tried in order: recent samples
/// first, a longer range for series scraped less often than every 5 minutes.
pub const INTERVAL_RANGES: [&str; 2] = ["10m", "1h"];

/// A vector selector read by a templated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRead {
    /// The selector as PromQL, without `offset` or `@` (what exists now is what is checked).
    pub selector: String,
    /// Its metric name, when the selector names one.
    pub metric: Option<String>,
    /// Whether the query reads it as a counter: as the range of `rate`, `irate` or `increase`.
    pub counter: bool,
}

/// The vector selectors of a query template (`{{.window}}` rendered as 5m), in order of first
/// appearance, each once; whether each is read as a counter. A template that does not parse
/// reads nothing (specs are checked before this).
///
/// ```
/// use sloburn::source::inspect::template_reads;
/// let reads = template_reads(r#"sum(rate(jobs_total{outcome="failed"}[{{.window}}])) / sum(jobs_running)"#);
/// assert_eq!(reads[0].selector, r#"jobs_total{outcome="failed"}"#);
/// assert!(reads[0].counter);
/// assert_eq!(reads[1].metric.as_deref(), Some("jobs_running"));
/// assert!(!reads[1].counter);
/// ```
pub fn template_reads(template: &str) -> Vec<TemplateRead> {
    let Ok(expr) = parser::parse(&render(template, PromDuration::from_secs(300))) else {
        return Vec::new();
    };
    let mut reads = Vec::new();
    walk(&expr, false, &mut reads);
    reads
}

/// The vector selectors of a query template, as PromQL (see [`template_reads`]).
///
/// ```
/// use sloburn::source::inspect::template_selectors;
/// let q = r#"sum(rate(http_requests_total{code=~"5.."}[{{.window}}] offset 1m)) / sum(rate(http_requests_total[{{ .window }}]))"#;
/// assert_eq!(
///     template_selectors(q),
///     [r#"http_requests_total{code=~"5.."}"#, "http_requests_total"]
/// );
/// ```
pub fn template_selectors(template: &str) -> Vec<String> {
    template_reads(template)
        .into_iter()
        .map(|r| r.selector)
        .collect()
}

fn walk(e: &Expr, counter: bool, reads: &mut Vec<TemplateRead>) {
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, false, reads);
            if let Some(param) = &a.param {
                walk(param, false, reads);
            }
        }
        Expr::Unary(u) => walk(&u.expr, false, reads),
        Expr::Binary(b) => {
            walk(&b.lhs, false, reads);
            walk(&b.rhs, false, reads);
        }
        Expr::Paren(p) => walk(&p.expr, counter, reads),
        Expr::Subquery(s) => walk(&s.expr, false, reads),
        Expr::VectorSelector(vs) => add_read(vs, counter, reads),
        Expr::MatrixSelector(ms) => add_read(&ms.vs, counter, reads),
        Expr::Call(call) => {
            let counter = matches!(call.func.name, "rate" | "irate" | "increase");
            for arg in &call.args.args {
                walk(arg, counter, reads);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn add_read(vs: &VectorSelector, counter: bool, reads: &mut Vec<TemplateRead>) {
    let plain = VectorSelector {
        offset: None,
        at: None,
        ..vs.clone()
    };
    let selector = Expr::VectorSelector(plain).to_string();
    if let Some(read) = reads.iter_mut().find(|r| r.selector == selector) {
        read.counter |= counter;
        return;
    }
    let metric = vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    });
    reads.push(TemplateRead {
        selector,
        metric,
        counter,
    });
}

/// The query counting the series of `selector` seen within [`LOOKBACK`].
///
/// ```
/// assert_eq!(
///     sloburn::source::inspect::series_count_query("up"),
///     "count(last_over_time(up[1h]))"
/// );
/// ```
pub fn series_count_query(selector: &str) -> String {
    format!("count(last_over_time({selector}[{LOOKBACK}]))")
}

/// The selector of every series of one metric name, whatever its labels.
///
/// ```
/// assert_eq!(sloburn::source::inspect::metric_selector("up"), r#"{__name__="up"}"#);
/// ```
pub fn metric_selector(metric: &str) -> String {
    format!("{{__name__={}}}", crate::spec::model::quote(metric))
}

/// The first value of an answer as a whole number (a count); 0 for an empty answer.
///
/// ```
/// use sloburn::source::{Series, inspect::count_of};
/// assert_eq!(count_of(&[]), 0);
/// let one = Series { labels: Default::default(), points: vec![(0, 3.0)] };
/// assert_eq!(count_of(&[one]), 3);
/// ```
pub fn count_of(series: &[Series]) -> u64 {
    value_of(series).map_or(0, |v| v.max(0.0).round() as u64)
}

fn value_of(series: &[Series]) -> Option<f64> {
    series
        .first()
        .and_then(|s| s.points.last())
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
}

/// How many series `selector` matches within [`LOOKBACK`] before `at_unix_secs`.
///
/// ```no_run
/// # async fn f(client: sloburn::source::prometheus::Client) -> Result<(), sloburn::source::SourceError> {
/// let n = sloburn::source::inspect::series_count(&client, r#"up{job="api"}"#, 1_700_000_000).await?;
/// # Ok(()) }
/// ```
pub async fn series_count(
    client: &Client,
    selector: &str,
    at_unix_secs: i64,
) -> Result<u64, SourceError> {
    let answer = client
        .query(&series_count_query(selector), at_unix_secs)
        .await?;
    Ok(count_of(&answer.series))
}

/// The query giving the raw samples of `selector` over `range` (an instant query of a range
/// selector answers with every sample as scraped).
///
/// ```
/// assert_eq!(sloburn::source::inspect::samples_query("up", "10m"), "up[10m]");
/// ```
pub fn samples_query(selector: &str, range: &str) -> String {
    format!("{selector}[{range}]")
}

/// The median gap between the samples of one series (`(unix ms, value)` in time order): jitter
/// and the odd missed scrape do not move it. `None` with fewer than two samples.
///
/// ```
/// use std::time::Duration;
/// use sloburn::source::inspect::series_interval;
/// let points = [(0, 1.0), (14_900, 2.0), (30_100, 3.0), (45_000, 4.0), (75_000, 5.0)];
/// assert_eq!(series_interval(&points), Some(Duration::from_millis(15_050)));
/// ```
pub fn series_interval(points: &[(i64, f64)]) -> Option<Duration> {
    let mut gaps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|gap| *gap > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let middle = gaps.len() / 2;
    let median = if gaps.len().is_multiple_of(2) {
        (gaps[middle - 1] + gaps[middle]) / 2
    } else {
        gaps[middle]
    };
    Some(Duration::from_millis(median as u64))
}

/// The scrape interval of a selector's series: the longest of their median gaps, since the
/// slowest series decides whether a range holds enough samples. `None` when no series has two
/// samples.
///
/// ```
/// use std::time::Duration;
/// use sloburn::source::{Series, inspect::estimate_interval};
/// let every = |secs: i64| Series {
///     labels: Default::default(),
///     points: (0..5).map(|i| (i * secs * 1000, i as f64)).collect(),
/// };
/// assert_eq!(estimate_interval(&[every(15), every(120)]), Some(Duration::from_secs(120)));
/// ```
pub fn estimate_interval(series: &[Series]) -> Option<Duration> {
    series
        .iter()
        .filter_map(|s| series_interval(&s.points))
        .max()
}

/// How often the series of `selector` are scraped, estimated at `at_unix_secs` from their raw
/// samples of the last 10 minutes (of the last hour when no series has two samples in 10
/// minutes): the longest per-series median gap. `None` when no series has two samples in the
/// last hour.
///
/// ```no_run
/// # async fn f(client: sloburn::source::prometheus::Client) -> Result<(), sloburn::source::SourceError> {
/// use std::time::Duration;
/// let interval = sloburn::source::inspect::scrape_interval(&client, r#"up{job="api"}"#, 1_700_000_000).await?;
/// if interval.is_some_and(|i| i > Duration::from_secs(30)) {
///     println!("a 1m range holds fewer than two samples");
/// }
/// # Ok(()) }
/// ```
pub async fn scrape_interval(
    client: &Client,
    selector: &str,
    at_unix_secs: i64,
) -> Result<Option<Duration>, SourceError> {
    for range in INTERVAL_RANGES {
        let answer = client
            .query(&samples_query(selector, range), at_unix_secs)
            .await?;
        if let Some(interval) = estimate_interval(&answer.series) {
            return Ok(Some(interval));
        }
    }
    Ok(None)
}

/// An interval as people read it, to the second (`15s`, `2m`, `1m30s`); under a second in ms.
///
/// ```
/// use std::time::Duration;
/// use sloburn::source::inspect::describe_interval;
/// assert_eq!(describe_interval(Duration::from_millis(119_700)), "2m");
/// assert_eq!(describe_interval(Duration::from_millis(250)), "250ms");
/// ```
pub fn describe_interval(interval: Duration) -> String {
    let millis = interval.as_millis() as u64;
    if millis < 1000 {
        PromDuration::from_millis(millis).to_string()
    } else {
        PromDuration::from_secs((millis + 500) / 1000).to_string()
    }
}

/// The query listing the `le` values of a histogram's `_bucket` series seen within
/// [`LOOKBACK`].
///
/// ```
/// assert_eq!(
///     sloburn::source::inspect::le_query(r#"h_bucket{job="api"}"#),
///     r#"count by (le) (last_over_time(h_bucket{job="api"}[1h]))"#
/// );
/// ```
pub fn le_query(bucket_selector: &str) -> String {
    format!("count by (le) (last_over_time({bucket_selector}[{LOOKBACK}]))")
}

/// The distinct `le` values of an answer, in numeric order (`+Inf` last).
///
/// ```
/// use sloburn::source::{Series, inspect::le_values_of};
/// let le = |v: &str| Series { labels: [("le".to_string(), v.to_string())].into(), points: vec![] };
/// assert_eq!(le_values_of(&[le("+Inf"), le("0.5"), le("0.1")]), ["0.1", "0.5", "+Inf"]);
/// ```
pub fn le_values_of(series: &[Series]) -> Vec<String> {
    let mut values: Vec<String> = series
        .iter()
        .filter_map(|s| s.labels.get("le").cloned())
        .collect();
    sort_le(&mut values);
    values.dedup();
    values
}

/// Sorts `le` values numerically; a value that is no number goes last.
///
/// ```
/// let mut le = vec!["+Inf".to_string(), "10".to_string(), "2.5".to_string()];
/// sloburn::source::inspect::sort_le(&mut le);
/// assert_eq!(le, ["2.5", "10", "+Inf"]);
/// ```
pub fn sort_le(values: &mut [String]) {
    let key = |v: &str| v.parse::<f64>().unwrap_or(f64::INFINITY);
    values.sort_by(|a, b| key(a).total_cmp(&key(b)).then_with(|| a.cmp(b)));
}

/// The `le` value among `values` that stands for `threshold`, compared as numbers (exposition
/// writes `0.3`, `0.30` or `3e-01` depending on the client library).
///
/// ```
/// use sloburn::source::inspect::find_le;
/// let values = ["0.1".to_string(), "5.0".to_string(), "+Inf".to_string()];
/// assert_eq!(find_le(5.0, &values), Some("5.0"));
/// assert_eq!(find_le(0.3, &values), None);
/// ```
pub fn find_le(threshold: f64, values: &[String]) -> Option<&str> {
    values
        .iter()
        .find(|le| {
            le.parse::<f64>().is_ok_and(|v| {
                v == threshold
                    || (threshold.is_finite() && (v - threshold).abs() <= threshold.abs() * 1e-9)
            })
        })
        .map(String::as_str)
}

/// The `le` values of the `_bucket` series of `bucket_selector` (a histogram's `_bucket`
/// selector without an `le` matcher), in numeric order.
///
/// ```no_run
/// # async fn f(client: sloburn::source::prometheus::Client) -> Result<(), sloburn::source::SourceError> {
/// let le = sloburn::source::inspect::le_values(&client, "http_request_duration_seconds_bucket", 1_700_000_000).await?;
/// # Ok(()) }
/// ```
pub async fn le_values(
    client: &Client,
    bucket_selector: &str,
    at_unix_secs: i64,
) -> Result<Vec<String>, SourceError> {
    let answer = client
        .query(&le_query(bucket_selector), at_unix_secs)
        .await?;
    Ok(le_values_of(&answer.series))
}

/// The names metadata may be kept under for a series name: the name itself, then its family
/// (without `_total`, `_bucket`, `_count` or `_sum`), as OpenMetrics and histograms name it.
///
/// ```
/// use sloburn::source::inspect::metadata_names;
/// assert_eq!(metadata_names("h_bucket"), ["h_bucket", "h"]);
/// assert_eq!(metadata_names("queue_depth"), ["queue_depth"]);
/// ```
pub fn metadata_names(metric: &str) -> Vec<String> {
    let mut names = vec![metric.to_string()];
    if let Some(family) = ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .find_map(|suffix| metric.strip_suffix(suffix))
        .filter(|family| !family.is_empty())
    {
        names.push(family.to_string());
    }
    names
}

/// Why a selector read as a counter is believed to be one, or not.
#[derive(Debug, Clone, PartialEq)]
pub enum CounterEvidence {
    /// The source's metadata (from the targets it scrapes) types `name` as `types`.
    Metadata { name: String, types: Vec<String> },
    /// No metadata (backfilled or remote-written series have none): the series went down
    /// `resets` times in `samples` samples within [`LOOKBACK`].
    Data { resets: u64, samples: u64 },
}

/// Metadata types that count up: a counter, and the `_bucket`/`_count`/`_sum` of a histogram or
/// summary.
const COUNTING_TYPES: [&str; 3] = ["counter", "histogram", "summary"];

impl CounterEvidence {
    /// Whether the evidence says the selector is not a counter: metadata typing it as anything
    /// but a counter, histogram or summary (a gauge), or, without metadata, series that went
    /// down in at least 5% of their samples (at least 5 times), as gauges do; a counter goes
    /// down only when its process restarts.
    ///
    /// ```
    /// use sloburn::source::inspect::CounterEvidence;
    /// let gauge = CounterEvidence::Metadata { name: "queue_depth".into(), types: vec!["gauge".into()] };
    /// assert!(gauge.is_not_a_counter());
    /// assert!(CounterEvidence::Data { resets: 110, samples: 240 }.is_not_a_counter());
    /// assert!(!CounterEvidence::Data { resets: 1, samples: 240 }.is_not_a_counter());
    /// ```
    pub fn is_not_a_counter(&self) -> bool {
        match self {
            CounterEvidence::Metadata { types, .. } => types
                .iter()
                .any(|t| t != "unknown" && !COUNTING_TYPES.contains(&t.as_str())),
            CounterEvidence::Data { resets, samples } => {
                *resets >= 5 && (*resets as f64) >= 0.05 * (*samples as f64)
            }
        }
    }
}

/// Metadata that says something: a type other than `unknown` (an untyped exposition).
fn typed(types: &[String]) -> bool {
    types.iter().any(|t| t != "unknown")
}

/// The query counting how often the series of `selector` went down within [`LOOKBACK`].
///
/// ```
/// assert_eq!(sloburn::source::inspect::resets_query("x"), "sum(resets(x[1h]))");
/// ```
pub fn resets_query(selector: &str) -> String {
    format!("sum(resets({selector}[{LOOKBACK}]))")
}

/// The query counting the samples of the series of `selector` within [`LOOKBACK`].
///
/// ```
/// assert_eq!(sloburn::source::inspect::sample_count_query("x"), "sum(count_over_time(x[1h]))");
/// ```
pub fn sample_count_query(selector: &str) -> String {
    format!("sum(count_over_time({selector}[{LOOKBACK}]))")
}

/// Whether `selector` (whose series are named `metric`) is a counter: the source's metadata
/// when it has some for the name or its family, else how often the data went down.
///
/// ```no_run
/// # async fn f(client: sloburn::source::prometheus::Client) -> Result<(), sloburn::source::SourceError> {
/// use sloburn::source::inspect::counter_evidence;
/// let evidence = counter_evidence(&client, r#"queue_depth{job="api"}"#, "queue_depth", 1_700_000_000).await?;
/// if evidence.is_not_a_counter() {
///     println!("not a counter: {evidence:?}");
/// }
/// # Ok(()) }
/// ```
pub async fn counter_evidence(
    client: &Client,
    selector: &str,
    metric: &str,
    at_unix_secs: i64,
) -> Result<CounterEvidence, SourceError> {
    for name in metadata_names(metric) {
        let types = match client.metadata(&name).await {
            Ok(types) => types,
            // A source without the metadata API (older Prometheus, some stores) has none.
            Err(SourceError::Http { status: 404, .. }) => break,
            Err(e) => return Err(e),
        };
        if typed(&types) {
            return Ok(CounterEvidence::Metadata { name, types });
        }
    }
    let resets = client.query(&resets_query(selector), at_unix_secs).await?;
    let samples = client
        .query(&sample_count_query(selector), at_unix_secs)
        .await?;
    Ok(CounterEvidence::Data {
        resets: count_of(&resets.series),
        samples: count_of(&samples.series),
    })
}

#[cfg(test)]
mod tests;
