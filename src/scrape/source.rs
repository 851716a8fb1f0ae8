//! The scrape source: sloburn scrapes the targets' `/metrics` itself and turns counter samples
//! into per-minute events for the same history the Prometheus source feeds.
//!
//! Selector SLIs only (`ratio`, `latency`, `threshold` over a selector or one aggregation of a
//! selector): templated PromQL (`events`, `raw`) needs a Prometheus. Counters are followed per
//! series by the same rule as the Prometheus source ([`crate::core::counter`]): an increase is
//! the difference to the previous scrape, and a drop (a target restart, a counter reset) counts
//! the new value as the increase, as Prometheus's `increase` does. A series seen for the first
//! time only sets the starting point. Events are attributed to the minute of the scrape that saw
//! them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use promql_parser::parser::{self, Expr};
use serde::Deserialize;

use crate::core::Counts;
use crate::core::counter::{LastSample, follow};
use crate::engine::snapshot::{Histogram, TargetHealth};
use crate::scrape::exposition::{self, Limits, Sample};
use crate::spec::matcher::CompiledMatcher;
use crate::spec::promql::parse_selector;
use crate::spec::{CompareOp, Selector, Sli, Slo};

/// `source: scrape:` in sloburn.yaml.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    #[serde(
        default = "default_interval",
        with = "crate::config::humantime_serde_compat"
    )]
    pub interval: Duration,
    #[serde(
        default = "default_timeout",
        with = "crate::config::humantime_serde_compat"
    )]
    pub timeout: Duration,
    pub targets: Vec<TargetConfig>,
    /// Samples read per scrape of one target.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// Bytes read per scrape of one target (after decompression).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub url: String,
    /// Added to every sample of the target (e.g. `job: checkout`), as Prometheus's target labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_series() -> usize {
    200_000
}
fn default_max_bytes() -> usize {
    32 * 1024 * 1024
}

/// A selector compiled for matching samples.
#[derive(Debug, Clone)]
struct Matcher {
    name: String,
    labels: Vec<CompiledMatcher>,
}

impl Matcher {
    fn new(s: &Selector, suffix: &str) -> Result<Self, String> {
        Ok(Self {
            name: format!("{}{suffix}", s.metric),
            labels: s
                .matchers
                .iter()
                .map(CompiledMatcher::new)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether a sample (with its target's labels) matches; an absent label is "".
    fn matches(&self, sample: &Sample, target: &BTreeMap<String, String>) -> bool {
        sample.name == self.name
            && self
                .labels
                .iter()
                .all(|m| m.matches(label_of(sample, target, &m.label)))
    }
}

fn label_of<'a>(sample: &'a Sample, target: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    sample
        .labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .or_else(|| target.get(name).map(String::as_str))
        .unwrap_or("")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    One,
    Sum,
    Max,
    Min,
    Avg,
}

/// What an SLO reads from scrapes.
#[derive(Debug, Clone)]
enum Need {
    /// Counters: bad from `bad`; total from `total`. With `bad_is_good`, `bad` counts good
    /// events and bad = total - good (latency buckets).
    Counters {
        bad: Matcher,
        total: Matcher,
        bad_is_good: bool,
        le: Option<f64>,
    },
    Slices {
        series: Matcher,
        agg: Agg,
        op: CompareOp,
        value: f64,
        slice_secs: i64,
    },
}

/// Compiles an SLO for the scrape source, or says why it cannot be scraped.
fn compile(slo: &Slo) -> Result<Need, String> {
    match &slo.sli {
        Sli::Events { .. } | Sli::Raw { .. } => Err(format!(
            "`{}` SLIs are templated PromQL, which needs a Prometheus; with the scrape source use `ratio`, `latency` or `threshold`",
            slo.sli.kind()
        )),
        Sli::Ratio { errors, total } => Ok(Need::Counters {
            bad: Matcher::new(errors, "")?,
            total: Matcher::new(total, "")?,
            bad_is_good: false,
            le: None,
        }),
        Sli::Latency {
            histogram,
            threshold,
        } => Ok(Need::Counters {
            bad: Matcher::new(histogram, "_bucket")?,
            total: Matcher::new(histogram, "_count")?,
            bad_is_good: true,
            le: Some(*threshold),
        }),
        Sli::Threshold {
            query,
            op,
            value,
            slice,
        } => {
            const ACCEPTED: &str = "with the scrape source a threshold query is a selector, or sum, max, min or avg of one (e.g. max(pool_utilisation{job=\"api\"}))";
            let expr = parser::parse(query).map_err(|e| format!("{e}; {ACCEPTED}"))?;
            let (agg, text) = match &expr {
                Expr::VectorSelector(_) => (Agg::One, query.clone()),
                Expr::Aggregate(a) if a.modifier.is_none() && a.param.is_none() => {
                    let agg = match a.op.to_string().as_str() {
                        "sum" => Agg::Sum,
                        "max" => Agg::Max,
                        "min" => Agg::Min,
                        "avg" => Agg::Avg,
                        other => {
                            return Err(format!(
                                "aggregation {other} is not supported; {ACCEPTED}"
                            ));
                        }
                    };
                    (agg, a.expr.to_string())
                }
                _ => return Err(ACCEPTED.to_string()),
            };
            let sel = parse_selector(&text).map_err(|e| format!("{e}; {ACCEPTED}"))?;
            Ok(Need::Slices {
                series: Matcher::new(&sel, "")?,
                agg,
                op: *op,
                value: *value,
                slice_secs: (slice.as_secs() as i64).max(1),
            })
        }
    }
}

/// An SLO as the scraper follows it.
#[derive(Debug, Clone)]
struct Followed {
    id: String,
    /// The identity of what it counts (as the stored history's), to tell on a reload whether
    /// its state still applies.
    identity: String,
    group_by: Vec<String>,
    max_groups: usize,
    need: Need,
}

/// A round's kept samples by metric name, with the index of their target.
type ByName<'a> = HashMap<&'a str, Vec<(usize, &'a Sample)>>;

/// Per-minute events waiting for the engine, per SLO and group.
type Pending = BTreeMap<(String, String), (Vec<(String, String)>, BTreeMap<i64, Counts>)>;

#[derive(Default)]
struct State {
    /// Last sample of each counter series: (SLO id, role, series key).
    last: HashMap<(String, u8, String), Option<LastSample>>,
    pending: Pending,
    /// The last slice counted per SLO (threshold SLIs).
    slices: HashMap<String, i64>,
    targets: Vec<TargetHealth>,
    by_outcome: BTreeMap<String, u64>,
    duration: Histogram,
    /// Whether every target answered in the last round.
    all_up: bool,
    rounds: u64,
}

/// A complete minute of one group: `(group key, group labels, minute end, counts)`.
pub type Drained = (String, Vec<(String, String)>, i64, Counts);

/// Scrapes the targets and keeps what the SLOs need.
pub struct Scraper {
    client: reqwest::Client,
    config: ScrapeConfig,
    slos: Vec<Followed>,
    wanted: std::sync::Arc<HashSet<String>>,
    state: Mutex<State>,
}

/// An SLO the scrape source cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{slo}: {message}")]
pub struct Unscrapeable {
    pub slo: String,
    pub message: String,
}

impl Scraper {
    /// A scraper for these SLOs; SLOs it cannot follow are returned as errors, the rest work.
    pub fn new(config: ScrapeConfig, slos: &[Slo]) -> Result<(Self, Vec<Unscrapeable>), String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("sloburn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let mut followed = Vec::new();
        let mut refused = Vec::new();
        for slo in slos {
            match compile(slo) {
                Ok(need) => followed.push(Followed {
                    id: slo.id(),
                    identity: crate::engine::runner::fingerprint(slo),
                    group_by: slo.group_by.clone(),
                    max_groups: slo.max_groups as usize,
                    need,
                }),
                Err(message) => refused.push(Unscrapeable {
                    slo: slo.id(),
                    message,
                }),
            }
        }
        let mut wanted = HashSet::new();
        for f in &followed {
            match &f.need {
                Need::Counters { bad, total, .. } => {
                    wanted.insert(bad.name.clone());
                    wanted.insert(total.name.clone());
                }
                Need::Slices { series, .. } => {
                    wanted.insert(series.name.clone());
                }
            }
        }
        let targets = config
            .targets
            .iter()
            .map(|t| TargetHealth {
                url: t.url.clone(),
                ..Default::default()
            })
            .collect();
        Ok((
            Self {
                client,
                config,
                slos: followed,
                wanted: std::sync::Arc::new(wanted),
                state: Mutex::new(State {
                    targets,
                    ..Default::default()
                }),
            },
            refused,
        ))
    }

    /// Takes over what `old` holds for the SLOs both follow the same way (the same SLI
    /// identity, which includes the grouping): the counters' last samples, the minutes not yet handed to the engine and the
    /// last threshold slice, so a reload loses no events; and the health of targets with the
    /// same URL. A scrape `old` finishes after this is not carried over.
    pub fn carry_over(&self, old: &Scraper) {
        let same: HashSet<&str> = self
            .slos
            .iter()
            .filter(|f| {
                old.slos
                    .iter()
                    .any(|o| o.id == f.id && o.identity == f.identity)
            })
            .map(|f| f.id.as_str())
            .collect();
        let (Ok(mut new), Ok(mut prev)) = (self.state.lock(), old.state.lock()) else {
            return;
        };
        let prev = &mut *prev;
        for (key, last) in prev.last.drain() {
            if same.contains(key.0.as_str()) {
                new.last.insert(key, last);
            }
        }
        for (key, pending) in std::mem::take(&mut prev.pending) {
            if same.contains(key.0.as_str()) {
                new.pending.insert(key, pending);
            }
        }
        for (id, slice) in prev.slices.drain() {
            if same.contains(id.as_str()) {
                new.slices.insert(id, slice);
            }
        }
        for t in &mut new.targets {
            if let Some(o) = prev.targets.iter().find(|o| o.url == t.url) {
                *t = o.clone();
            }
        }
        new.all_up = prev.all_up;
        new.rounds = prev.rounds;
        new.by_outcome = prev.by_outcome.clone();
        new.duration = prev.duration.clone();
    }

    /// How often to scrape.
    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// Scrapes every target once (concurrently) at `now` (unix seconds) and records events.
    pub async fn scrape_once(&self, now: f64) {
        let started = Instant::now();
        // Every target at once; each fetch owns what it needs, so it can run as its own task.
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in self.config.targets.iter().enumerate() {
            let fetch = Fetch {
                client: self.client.clone(),
                url: t.url.clone(),
                timeout: self.config.timeout,
                max_bytes: self.config.max_bytes,
                max_series: self.config.max_series,
                wanted: self.wanted.clone(),
            };
            set.spawn(async move { (i, fetch.run().await) });
        }
        let mut results: Vec<Option<FetchResult>> = vec![None; self.config.targets.len()];
        while let Some(Ok((i, r))) = set.join_next().await {
            results[i] = Some(r);
        }
        let results: Vec<FetchResult> = results
            .into_iter()
            .map(|r| {
                r.unwrap_or((
                    Err(("unreachable", "the scrape task failed".into())),
                    Duration::ZERO,
                ))
            })
            .collect();
        let elapsed = started.elapsed();
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let mut all_up = true;
        let mut samples: Vec<(usize, Vec<Sample>)> = Vec::new();
        for (i, (result, took)) in results.into_iter().enumerate() {
            let outcome = match &result {
                Ok(_) => "success",
                Err((outcome, _)) => outcome,
            };
            *state.by_outcome.entry(outcome.to_string()).or_default() += 1;
            state.duration.observe(took.as_secs_f64());
            let health = &mut state.targets[i];
            health.duration_seconds = took.as_secs_f64();
            match result {
                Ok((read, kept)) => {
                    if !health.up && health.last_error.is_some() {
                        tracing::info!(target = %health.url, "scrape target is up again");
                    }
                    health.up = true;
                    health.samples = read;
                    health.last_error = None;
                    samples.push((i, kept));
                }
                Err((_, message)) => {
                    if health.last_error.as_deref() != Some(message.as_str()) {
                        tracing::warn!(target = %health.url, error = %message, "scrape failed");
                    }
                    health.up = false;
                    health.last_error = Some(message);
                    all_up = false;
                }
            }
        }
        state.all_up = all_up;
        state.rounds += 1;
        let minute_end = ((now / 60.0).floor() as i64 + 1) * 60;
        // Samples by metric name, once per round, so each SLO looks only at its own metrics.
        let mut by_name: ByName = HashMap::new();
        for (ti, kept) in &samples {
            for sample in kept {
                by_name
                    .entry(sample.name.as_str())
                    .or_default()
                    .push((*ti, sample));
            }
        }
        for slo in &self.slos {
            self.record(&mut state, slo, &by_name, now, minute_end);
        }
        tracing::trace!(elapsed = ?elapsed, "scrape round done");
    }

    fn record(
        &self,
        state: &mut State,
        slo: &Followed,
        by_name: &ByName,
        now: f64,
        minute_end: i64,
    ) {
        let group = |s: &Sample,
                     target: &BTreeMap<String, String>|
         -> (String, Vec<(String, String)>) {
            crate::engine::runner::group_key(&slo.group_by, |l| label_of(s, target, l).to_string())
        };
        let add = |state: &mut State, key: String, labels: Vec<(String, String)>, c: Counts| {
            let entry = (slo.id.clone(), key);
            // Only a new group can hit the cap; count the SLO's groups only then.
            if !state.pending.contains_key(&entry)
                && state.pending.keys().filter(|(id, _)| *id == slo.id).count() >= slo.max_groups
            {
                return;
            }
            let (l, minutes) = state
                .pending
                .entry(entry)
                .or_insert_with(|| (labels, BTreeMap::new()));
            let _ = l;
            *minutes.entry(minute_end).or_default() += c;
        };
        match &slo.need {
            Need::Counters {
                bad,
                total,
                bad_is_good,
                le,
            } => {
                let mut per_group: BTreeMap<String, (Vec<(String, String)>, Counts)> =
                    BTreeMap::new();
                for (role, m) in [(0u8, bad), (1u8, total)] {
                    for (ti, s) in by_name.get(m.name.as_str()).into_iter().flatten() {
                        let target = &self.config.targets[*ti];
                        if !m.matches(s, &target.labels) {
                            continue;
                        }
                        if role == 0
                            && let Some(le) = le
                        {
                            let v: f64 = label_of(s, &target.labels, "le")
                                .parse()
                                .unwrap_or(f64::NAN);
                            if (v - le).abs() > le.abs() * 1e-9 {
                                continue;
                            }
                        }
                        let mut labels: Vec<String> = s
                            .labels
                            .iter()
                            .filter(|(k, _)| k != "le")
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        labels.sort();
                        let series = format!("{}|{}|{}", target.url, s.name, labels.join(","));
                        // Scrapes carry no timestamps: the sample is as of this round.
                        let last = state
                            .last
                            .entry((slo.id.clone(), role, series))
                            .or_default();
                        let inc = follow(last, (now * 1000.0) as i64, s.value).unwrap_or(0.0);
                        let (key, glabels) = group(s, &target.labels);
                        let e = per_group.entry(key).or_insert((glabels, Counts::default()));
                        if role == 0 {
                            e.1.bad += inc;
                        } else {
                            e.1.total += inc;
                        }
                    }
                }
                for (key, (labels, mut c)) in per_group {
                    if *bad_is_good {
                        c.bad = (c.total - c.bad).max(0.0);
                    }
                    add(state, key, labels, c);
                }
            }
            Need::Slices {
                series,
                agg,
                op,
                value,
                slice_secs,
            } => {
                let values: Vec<f64> = by_name
                    .get(series.name.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|(ti, s)| series.matches(s, &self.config.targets[*ti].labels))
                    .map(|(_, s)| s.value)
                    .filter(|v| !v.is_nan())
                    .collect();
                let v = match (agg, values.as_slice()) {
                    (_, []) => return,
                    (Agg::One, [v]) => *v,
                    (Agg::One, _) => {
                        tracing::warn!(slo = %slo.id, series = values.len(), "the threshold selector matches several series; aggregate it (e.g. max(...))");
                        return;
                    }
                    (Agg::Sum, vs) => vs.iter().sum(),
                    (Agg::Max, vs) => vs.iter().cloned().fold(f64::MIN, f64::max),
                    (Agg::Min, vs) => vs.iter().cloned().fold(f64::MAX, f64::min),
                    (Agg::Avg, vs) => vs.iter().sum::<f64>() / vs.len() as f64,
                };
                let slice = (now as i64).div_euclid(*slice_secs);
                if state.slices.insert(slo.id.clone(), slice) == Some(slice) {
                    return; // this slice is already counted
                }
                let bad = if op.holds(v, *value) { 0.0 } else { 1.0 };
                add(state, String::new(), Vec::new(), Counts { bad, total: 1.0 });
            }
        }
    }

    /// Takes the events of every complete minute up to `until` for one SLO:
    /// `(group key, group labels, minute end, counts)` in time order per group.
    pub fn drain(&self, slo_id: &str, until: i64) -> Vec<Drained> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ((id, key), (labels, minutes)) in state.pending.iter_mut() {
            if id != slo_id {
                continue;
            }
            let later = minutes.split_off(&(until + 1));
            for (minute, c) in std::mem::replace(minutes, later) {
                out.push((key.clone(), labels.clone(), minute, c));
            }
        }
        out
    }

    /// Whether the SLO can be followed (its SLI compiled) and every target answered last round.
    pub fn fresh(&self, slo_id: &str) -> bool {
        self.slos.iter().any(|s| s.id == slo_id)
            && self.state.lock().is_ok_and(|s| s.all_up && s.rounds > 0)
    }

    /// Target health and request counters, for the snapshot.
    /// How long one scrape may take.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    pub fn stats(&self) -> (Vec<TargetHealth>, BTreeMap<String, u64>, Histogram) {
        match self.state.lock() {
            Ok(s) => (s.targets.clone(), s.by_outcome.clone(), s.duration.clone()),
            Err(_) => Default::default(),
        }
    }
}

/// One scrape of one target, owning what it needs.
struct Fetch {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
    max_bytes: usize,
    max_series: usize,
    wanted: std::sync::Arc<HashSet<String>>,
}

/// Samples read and kept, or the outcome label and message; and how long it took.
type FetchResult = (
    Result<(usize, Vec<Sample>), (&'static str, String)>,
    Duration,
);

impl Fetch {
    async fn run(self) -> FetchResult {
        let started = Instant::now();
        let result = async {
            let response = self
                .client
                .get(&self.url)
                .header(
                    reqwest::header::ACCEPT,
                    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4",
                )
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        ("timeout", format!("no answer within {:?}", self.timeout))
                    } else {
                        ("unreachable", e.to_string())
                    }
                })?;
            if !response.status().is_success() {
                return Err(("http_error", format!("HTTP {}", response.status())));
            }
            let mut response = response;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| ("bad_response", e.to_string()))? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(("bad_response", format!("more than {} bytes", self.max_bytes)));
                }
                body.extend_from_slice(&chunk);
            }
            let limits = Limits {
                max_series: self.max_series,
                ..Limits::default()
            };
            let read = body.iter().filter(|b| **b == b'\n').count();
            exposition::parse(&body, Some(&self.wanted), &limits)
                .map(|kept| (read, kept))
                .map_err(|e| ("bad_response", e.to_string()))
        }
        .await;
        (result, started.elapsed())
    }
}

#[cfg(test)]
mod tests;
