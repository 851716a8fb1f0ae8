//! `sloburn check --prometheus-url`: the specs against a live source, as the linter pint does
//! for rules. Per SLO: selectors that match no series, a latency threshold that is no bucket
//! boundary (or is spelled differently), scrape intervals too long for sloburn's buckets or the
//! alert windows, and selectors read as counters that are not counters. The inspection itself is
//! in `sloburn::source::inspect`; this module decides what to check and says what was found.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use sloburn::config::PrometheusConfig;
use sloburn::engine::plan::{QueryPlan, format_le, le_matcher, le_spellings};
use sloburn::source::SourceError;
use sloburn::source::inspect::{
    self, CounterEvidence, LOOKBACK, describe_interval, find_le, metric_selector, template_reads,
};
use sloburn::source::prometheus::Client;
use sloburn::spec::{Sli, Slo};

/// sloburn evaluates templated `events`/`raw` SLIs in 1-minute buckets: a range of 1m needs two
/// samples, so an interval above half of it leaves `rate(x[1m])` empty.
const BUCKET: Duration = Duration::from_secs(60);

/// How bad a finding is: warnings fail `--strict`, notes never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Note,
}

/// Which check found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    NoSeries,
    Buckets,
    ScrapeInterval,
    NotACounter,
    Refused,
}

/// One thing found about one SLO, placed at its `sli` field.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub service: String,
    pub slo: String,
    pub severity: Severity,
    pub check: Check,
    /// The selector it is about, as PromQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub message: String,
}

impl Finding {
    /// `file:line:column: service/slo: message`, as the table prints it.
    pub fn line(&self) -> String {
        format!(
            "{}:{}:{}: {}/{}: {}",
            self.file, self.line, self.column, self.service, self.slo, self.message
        )
    }
}

/// What the live checks found, for the table and the `live` section of the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    pub url: String,
    /// The instant checked (unix seconds).
    pub at: i64,
    pub slos_checked: usize,
    pub warnings: usize,
    pub notes: usize,
    pub findings: Vec<Finding>,
}

/// Checks `slos` against the source at `url`. An unreachable or failing source is an error
/// naming the URL; a query the source refuses is a finding of that SLO.
pub fn check(slos: &[&Slo], url: &str, timeout: Option<Duration>) -> anyhow::Result<LiveReport> {
    let mut source = PrometheusConfig::with_url(url);
    if let Some(timeout) = timeout {
        source.timeout = timeout;
    }
    let client = Client::new(&source.client_config()?).context("the Prometheus source")?;
    let at = chrono::Utc::now().timestamp();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let findings = runtime
        .block_on(async {
            // One cheap query first, so an unreachable source says so once, before any SLO.
            client.query("vector(1)", at).await?;
            let mut live = Live::new(client, at);
            let mut findings = Vec::new();
            for slo in slos {
                let mut found = Vec::new();
                match live.check_slo(slo, &mut found).await {
                    Ok(()) => {}
                    Err(e @ SourceError::Query { .. }) => found.push(Found::warn(
                        Check::Refused,
                        None,
                        format!("not checked: {e}"),
                    )),
                    Err(e) => return Err(e),
                }
                findings.extend(found.into_iter().map(|f| f.place(slo)));
            }
            Ok(findings)
        })
        .with_context(|| format!("cannot check the specs against {url}"))?;
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    Ok(LiveReport {
        url: url.to_string(),
        at,
        slos_checked: slos.len(),
        warnings,
        notes: findings.len() - warnings,
        findings,
    })
}

/// A finding before it is placed on its SLO.
struct Found {
    severity: Severity,
    check: Check,
    selector: Option<String>,
    message: String,
}

impl Found {
    fn warn(check: Check, selector: Option<&str>, message: String) -> Found {
        Found {
            severity: Severity::Warning,
            check,
            selector: selector.map(str::to_string),
            message,
        }
    }

    fn place(self, slo: &Slo) -> Finding {
        Finding {
            file: slo.origin.file.clone(),
            line: slo.origin.sli.line,
            column: slo.origin.sli.column,
            service: slo.service.clone(),
            slo: slo.name.clone(),
            severity: self.severity,
            check: self.check,
            selector: self.selector,
            message: self.message,
        }
    }
}

/// What a selector stands for in its SLO, which decides what its absence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Bad events: nothing before the first error is normal.
    Errors,
    /// Everything the SLO counts: nothing means no data.
    Total,
    /// A histogram's buckets: checked through their `le` values.
    Buckets,
}

/// One selector an SLO reads.
struct Read {
    /// How messages name it, e.g. `errors selector`, `total_query selector`.
    what: &'static str,
    selector: String,
    metric: Option<String>,
    role: Role,
    counter: bool,
}

/// The selectors `slo` reads, each once, in the order of the spec.
fn reads(slo: &Slo) -> Vec<Read> {
    let selector = |what, s: &sloburn::spec::Selector, suffix: Option<&str>, role| Read {
        what,
        selector: s.promql(suffix, None),
        metric: Some(format!("{}{}", s.metric, suffix.unwrap_or(""))),
        role,
        counter: true,
    };
    let templated = |what, template: &str, role| {
        template_reads(template).into_iter().map(move |r| Read {
            what,
            selector: r.selector,
            metric: r.metric,
            role,
            counter: r.counter,
        })
    };
    let mut reads: Vec<Read> = match &slo.sli {
        Sli::Ratio { errors, total } => vec![
            selector("errors selector", errors, None, Role::Errors),
            selector("total selector", total, None, Role::Total),
        ],
        Sli::Latency { histogram, .. } => vec![
            selector(
                "histogram count selector",
                histogram,
                Some("_count"),
                Role::Total,
            ),
            selector(
                "histogram bucket selector",
                histogram,
                Some("_bucket"),
                Role::Buckets,
            ),
        ],
        Sli::Events {
            error_query,
            total_query,
        } => templated("error_query selector", error_query, Role::Errors)
            .chain(templated("total_query selector", total_query, Role::Total))
            .collect(),
        // Any selector of a ratio or a threshold query matching nothing leaves it empty.
        Sli::Raw { error_ratio_query } => {
            templated("error_ratio_query selector", error_ratio_query, Role::Total).collect()
        }
        Sli::Threshold { query, .. } => {
            templated("threshold query selector", query, Role::Total).collect()
        }
    };
    let mut seen = std::collections::HashSet::new();
    reads.retain(|r| seen.insert(r.selector.clone()));
    reads
}

/// The client and what was already asked: SLOs often share selectors.
struct Live {
    client: Client,
    at: i64,
    counts: HashMap<String, u64>,
    intervals: HashMap<String, Option<Duration>>,
    evidence: HashMap<String, CounterEvidence>,
}

impl Live {
    fn new(client: Client, at: i64) -> Live {
        Live {
            client,
            at,
            counts: HashMap::new(),
            intervals: HashMap::new(),
            evidence: HashMap::new(),
        }
    }

    async fn series_count(&mut self, selector: &str) -> Result<u64, SourceError> {
        if let Some(n) = self.counts.get(selector) {
            return Ok(*n);
        }
        let n = inspect::series_count(&self.client, selector, self.at).await?;
        self.counts.insert(selector.to_string(), n);
        Ok(n)
    }

    async fn interval(&mut self, selector: &str) -> Result<Option<Duration>, SourceError> {
        if let Some(i) = self.intervals.get(selector) {
            return Ok(*i);
        }
        let i = inspect::scrape_interval(&self.client, selector, self.at).await?;
        self.intervals.insert(selector.to_string(), i);
        Ok(i)
    }

    async fn counter_evidence(
        &mut self,
        selector: &str,
        metric: &str,
    ) -> Result<CounterEvidence, SourceError> {
        if let Some(e) = self.evidence.get(selector) {
            return Ok(e.clone());
        }
        let e = inspect::counter_evidence(&self.client, selector, metric, self.at).await?;
        self.evidence.insert(selector.to_string(), e.clone());
        Ok(e)
    }

    async fn check_slo(&mut self, slo: &Slo, out: &mut Vec<Found>) -> Result<(), SourceError> {
        let mut present = Vec::new();
        for read in reads(slo) {
            if read.role == Role::Buckets {
                if self.check_buckets(slo, &read, out).await? {
                    present.push(read);
                }
                continue;
            }
            if self.series_count(&read.selector).await? > 0 {
                present.push(read);
                continue;
            }
            let hint = match &read.metric {
                Some(m) if self.series_count(&metric_selector(m)).await? > 0 => {
                    format!("the metric {m} exists, so a label matcher selects nothing")
                }
                Some(m) => format!("no series named {m} at all"),
                None => "the selector names no metric".to_string(),
            };
            let meaning = match read.role {
                Role::Errors => "normal before the first error, but often a typo",
                _ => "the SLO would have no data",
            };
            out.push(Found::warn(
                Check::NoSeries,
                Some(&read.selector),
                format!(
                    "{} {} matches no series in the last {LOOKBACK}: {meaning} ({hint})",
                    read.what, read.selector
                ),
            ));
        }
        self.check_intervals(slo, &present, out).await?;
        for read in &present {
            let Some(metric) = read.metric.as_deref().filter(|_| read.counter) else {
                continue;
            };
            let evidence = self.counter_evidence(&read.selector, metric).await?;
            if evidence.is_not_a_counter() {
                out.push(Found::warn(
                    Check::NotACounter,
                    Some(&read.selector),
                    not_a_counter(read, metric, &evidence),
                ));
            }
        }
        Ok(())
    }

    /// A latency SLI's buckets: the threshold must be one of their `le` values, best in a
    /// spelling that ruler-mode rules select. Whether any bucket exists.
    async fn check_buckets(
        &mut self,
        slo: &Slo,
        read: &Read,
        out: &mut Vec<Found>,
    ) -> Result<bool, SourceError> {
        let Sli::Latency { threshold, .. } = &slo.sli else {
            return Ok(false);
        };
        let threshold = *threshold;
        let values = inspect::le_values(&self.client, &read.selector, self.at).await?;
        let sloburn_le = format_le(threshold);
        let found = find_le(threshold, &values);
        let sel = &read.selector;
        match found {
            _ if values.is_empty() => out.push(Found::warn(
                Check::Buckets,
                Some(sel),
                format!(
                    "{} {sel} matches no series in the last {LOOKBACK}: good events cannot be counted (a summary has _count but no _bucket series)",
                    read.what
                ),
            )),
            None => out.push(Found::warn(
                Check::Buckets,
                Some(sel),
                format!(
                    "threshold {sloburn_le} is no bucket boundary of {sel}: the data has le = {}; use one of them as the threshold",
                    values.join(", ")
                ),
            )),
            Some(le) if !le_spellings(threshold).iter().any(|s| s == le) => out.push(Found {
                severity: Severity::Note,
                check: Check::Buckets,
                selector: Some(sel.clone()),
                message: format!(
                    "the data writes the threshold's bucket as le=\"{le}\": `sloburn run` and `eval` look the spelling up, but rules from `sloburn generate --mode ruler` select {} (as Go, Java and Python clients and Prometheus 3 write it) and need le=\"{le}\" added",
                    le_matcher(&le_spellings(threshold)).promql()
                ),
            }),
            Some(_) => {}
        }
        Ok(!values.is_empty())
    }

    /// Scrape intervals against sloburn's 1-minute buckets (templated SLIs) and the shortest
    /// alert window (every SLI).
    async fn check_intervals(
        &mut self,
        slo: &Slo,
        present: &[Read],
        out: &mut Vec<Found>,
    ) -> Result<(), SourceError> {
        let mut intervals = Vec::new();
        for read in present.iter().filter(|r| r.role != Role::Buckets) {
            if let Some(i) = self.interval(&read.selector).await? {
                intervals.push((read.selector.as_str(), i));
            }
        }
        // Sloth's `sum(rate(SEL[{{.window}}]))` shape is read as counters, like a ratio SLI.
        let templated = matches!(slo.sli, Sli::Events { .. } | Sli::Raw { .. })
            && QueryPlan::new(slo).counter_reads().is_none();
        if templated && let Some((slowest, list)) = slower_than(&intervals, BUCKET / 2) {
            out.push(Found::warn(
                Check::ScrapeInterval,
                Some(slowest),
                format!(
                    "{list}: sloburn evaluates templated events/raw SLIs in 1-minute buckets, and a minute then holds fewer than two samples, so rate({slowest}[1m]) reads nothing; ratio and latency selector SLIs (or Sloth's sum(rate(SEL[{{{{.window}}}}])) shape, which sloburn reads exactly) do not have this limit"
                ),
            ));
        }
        let shortest = slo.alerting.windows.windows().into_iter().min();
        if let Some(window) = shortest
            && let Some((slowest, list)) = slower_than(&intervals, window.to_std() / 2)
        {
            out.push(Found::warn(
                Check::ScrapeInterval,
                Some(slowest),
                format!(
                    "{list}: the shortest alert window ({window}) holds fewer than two samples, so its burn rate cannot be measured; scrape at least every {}, or make the shortest window at least twice the interval (alerting.windows)",
                    describe_interval(window.to_std() / 2)
                ),
            ));
        }
        Ok(())
    }
}

/// The selectors scraped less often than every `limit`, said slowest first, those of one
/// interval together (`A and B are scraped every 2m`); and the slowest selector. `None` when
/// none is.
fn slower_than<'a>(
    intervals: &[(&'a str, Duration)],
    limit: Duration,
) -> Option<(&'a str, String)> {
    let mut slow: Vec<(&str, Duration)> = intervals
        .iter()
        .filter(|(_, i)| *i > limit)
        .copied()
        .collect();
    slow.sort_by_key(|s| std::cmp::Reverse(s.1));
    let slowest = slow.first()?.0;
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (selector, interval) in slow {
        let every = describe_interval(interval);
        match groups.iter_mut().find(|(e, _)| *e == every) {
            Some((_, selectors)) => selectors.push(selector),
            None => groups.push((every, vec![selector])),
        }
    }
    let said: Vec<String> = groups
        .iter()
        .map(|(every, selectors)| match selectors.as_slice() {
            [one] => format!("{one} is scraped every {every}"),
            [init @ .., last] => {
                format!("{} and {last} are scraped every {every}", init.join(", "))
            }
            [] => String::new(),
        })
        .collect();
    Some((slowest, said.join("; ")))
}

fn not_a_counter(read: &Read, metric: &str, evidence: &CounterEvidence) -> String {
    let head = format!("{} {} is read as a counter, but", read.what, read.selector);
    match evidence {
        CounterEvidence::Metadata { name, types } => format!(
            "{head} the source's metadata types {name} as {}: a rate or increase of it means nothing (evidence: /api/v1/metadata of the scraped targets)",
            types.join(", ")
        ),
        CounterEvidence::Data { resets, samples } => format!(
            "{head} its series went down {resets} times in {samples} samples in the last {LOOKBACK}, as a gauge does; a counter only goes down when its process restarts (evidence: the data; the source has no metadata for {metric}, e.g. because it was backfilled)"
        ),
    }
}
