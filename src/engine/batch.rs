//! Steady reads shared between SLOs. A steady tick reads the raw samples since the last one;
//! asked per SLO that is two requests per SLO, and Prometheus's cost per request (not per
//! sample) dominates. SLOs whose counter reads name the same metric and pin the same label with
//! `=` (e.g. `job="checkout"`) are read together: one query per metric and label,
//! `metric{label=~"v1|v2|...", <matchers all of them share>}`, and each series of the answer is
//! handed to every read whose matchers it satisfies, matched in sloburn as Prometheus would.
//! Every series is then read once per tick however many SLOs and roles use it.
//!
//! Reads that pin no label stay per SLO (one query for them could read a whole metric family).
//! Backfills (first start, long gaps) share the same batches
//! ([`crate::engine::counters::read_boundaries`], `runner::backfill`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::plan::{CounterRead, Role};
use crate::source::Series;
use crate::spec::matcher::CompiledMatcher;
use crate::spec::model::quote as quote_label_value;
use crate::spec::{MatchOp, Matcher};

/// Labels preferred to key a batch on, in order; otherwise the first pinned label by name.
const PREFERRED_KEYS: [&str; 3] = ["job", "service", "app"];

/// At most this many values of the key label in one query (longer regexes are split).
pub const MAX_VALUES: usize = 1000;

/// One read of one SLO inside a batch.
#[derive(Debug, Clone)]
struct Member {
    slo: usize,
    role: Role,
    metric: String,
    matchers: Vec<CompiledMatcher>,
}

/// One query serving the reads of many SLOs.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The selector to read (without a range).
    pub selector: String,
    /// The metric every member reads.
    pub metric: String,
    /// The label whose value picks the candidate members of a series.
    key: String,
    members: Vec<Member>,
    /// Key label value -> indices into `members`.
    by_value: HashMap<String, Vec<usize>>,
}

/// A member read with its key label's value and its matchers as written.
type Planned = (String, Member, Vec<Matcher>);

/// What one SLO's reads got from the batches: `(role, series)` in the order read.
pub type Shares = BTreeMap<usize, Vec<(Role, Series)>>;

/// The label a read is batched on: a preferred one it pins with `=`, else the first it pins.
fn key_of(read: &CounterRead) -> Option<&Matcher> {
    let pinned = |m: &&Matcher| m.op == MatchOp::Equal && m.label != "le";
    PREFERRED_KEYS
        .iter()
        .find_map(|k| read.matchers.iter().filter(pinned).find(|m| m.label == *k))
        .or_else(|| {
            read.matchers
                .iter()
                .filter(pinned)
                .min_by(|a, b| a.label.cmp(&b.label))
        })
}

/// Plans the batches for these SLOs' reads (`(slo index, reads)`). An SLO is batched only when
/// all its reads are (a read that pins no label, or whose regex does not compile, keeps the
/// SLO on its own queries); the second value lists the SLOs batched.
///
/// ```
/// use sloburn::engine::batch::plan;
/// use sloburn::engine::plan::QueryPlan;
/// let report = sloburn::spec::load::load_bytes("x.yaml", br#"
/// version: sloburn/v1
/// service: api
/// slos:
///   - name: a
///     objective: 99.9
///     sli: {ratio: {errors: 'http_requests_total{job="a",code="500"}', total: 'http_requests_total{job="a"}'}}
///   - name: b
///     objective: 99.9
///     sli: {ratio: {errors: 'http_requests_total{job="b",code="500"}', total: 'http_requests_total{job="b"}'}}
/// "#);
/// let reads: Vec<_> = report.slos.iter().enumerate()
///     .map(|(i, s)| (i, QueryPlan::new(s).counter_reads().unwrap()))
///     .collect();
/// let (batches, batched) = plan(&reads);
/// assert_eq!(batches.len(), 1);
/// assert_eq!(batches[0].selector, r#"http_requests_total{job=~"a|b"}"#);
/// assert_eq!(batched.len(), 2);
/// ```
pub fn plan(reads: &[(usize, Vec<CounterRead>)]) -> (Vec<Batch>, BTreeSet<usize>) {
    // (metric, key label) -> members with their key value.
    let mut groups: BTreeMap<(String, String), Vec<Planned>> = BTreeMap::new();
    let mut batched = BTreeSet::new();
    for (slo, slo_reads) in reads {
        let planned: Option<Vec<_>> = slo_reads
            .iter()
            .map(|r| {
                let key = key_of(r)?;
                let matchers = r
                    .matchers
                    .iter()
                    .map(CompiledMatcher::new)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()?;
                let member = Member {
                    slo: *slo,
                    role: r.role,
                    metric: r.metric.clone(),
                    matchers,
                };
                Some((
                    (r.metric.clone(), key.label.clone()),
                    key.value.clone(),
                    member,
                    r.matchers.clone(),
                ))
            })
            .collect();
        let Some(planned) = planned else { continue };
        batched.insert(*slo);
        for (group, value, member, matchers) in planned {
            groups
                .entry(group)
                .or_default()
                .push((value, member, matchers));
        }
    }
    let mut batches = Vec::new();
    for ((metric, key), mut members) in groups {
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let values: Vec<String> = {
            let mut v: Vec<String> = members.iter().map(|m| m.0.clone()).collect();
            v.dedup();
            v
        };
        for chunk in values.chunks(MAX_VALUES) {
            let wanted: BTreeSet<&String> = chunk.iter().collect();
            let part: Vec<&Planned> = members.iter().filter(|m| wanted.contains(&m.0)).collect();
            batches.push(batch(&metric, &key, chunk, &part));
        }
    }
    (batches, batched)
}

fn batch(metric: &str, key: &str, values: &[String], part: &[&Planned]) -> Batch {
    // Matchers every member has (besides the key) narrow the query further.
    let mut common: Vec<&Matcher> = part[0]
        .2
        .iter()
        .filter(|m| m.label != key)
        .filter(|m| part.iter().all(|p| p.2.contains(m)))
        .collect();
    common.sort_by(|a, b| (&a.label, &a.value).cmp(&(&b.label, &b.value)));
    common.dedup();
    let key_matcher = if values.len() == 1 {
        format!("{key}={}", quote_label_value(&values[0]))
    } else {
        let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
        format!("{key}=~{}", quote_label_value(&alternatives.join("|")))
    };
    let mut matchers = vec![key_matcher];
    matchers.extend(common.iter().map(|m| m.promql()));
    matchers.extend(unions(key, &common, part));
    let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
    let members: Vec<Member> = part
        .iter()
        .enumerate()
        .map(|(i, p)| {
            by_value.entry(p.0.clone()).or_default().push(i);
            p.1.clone()
        })
        .collect();
    Batch {
        selector: format!("{metric}{{{}}}", matchers.join(",")),
        metric: metric.to_string(),
        key: key.to_string(),
        members,
        by_value,
    }
}

/// For each label every member narrows with `=` or `=~` but not all alike (the `le` of
/// different latency thresholds), one `=~` accepting what any of them accepts: the query then
/// reads those series only, not every bucket of every histogram.
fn unions(key: &str, common: &[&Matcher], part: &[&Planned]) -> Vec<String> {
    let labels: BTreeSet<&str> = part
        .iter()
        .flat_map(|p| p.2.iter().map(|m| m.label.as_str()))
        .filter(|l| *l != key && !common.iter().any(|m| m.label == *l))
        .collect();
    labels
        .into_iter()
        .filter_map(|label| {
            let alternatives: Option<BTreeSet<String>> = part
                .iter()
                .map(|p| {
                    p.2.iter().find_map(|m| match m.op {
                        _ if m.label != label => None,
                        MatchOp::Equal => Some(regex::escape(&m.value)),
                        MatchOp::Regex => Some(format!("(?:{})", m.value)),
                        MatchOp::NotEqual | MatchOp::NotRegex => None,
                    })
                })
                .collect();
            let alternatives: Vec<String> = alternatives?.into_iter().collect();
            Some(format!(
                "{label}=~{}",
                quote_label_value(&alternatives.join("|"))
            ))
        })
        .collect()
}

impl Batch {
    /// One SLO's read on its own, as a batch: its selector, every series of the answer its own.
    /// Lets one code path read for one SLO or many ([`crate::engine::counters::read_boundaries`]).
    pub fn single(slo: usize, read: &CounterRead) -> Batch {
        Batch {
            selector: read.selector.clone(),
            metric: read.metric.clone(),
            key: String::new(),
            members: vec![Member {
                slo,
                role: read.role,
                metric: read.metric.clone(),
                // The selector chose the series already; an aggregated answer may not carry
                // the labels it names.
                matchers: Vec::new(),
            }],
            by_value: HashMap::from([(String::new(), vec![0])]),
        }
    }

    /// The labels a series must keep for [`Batch::dispatch`] to hand it to the right members:
    /// the key and every label a member's matchers name. An aggregation `by` these (and the
    /// members' group labels) answers for every member exactly.
    pub fn labels(&self) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = self
            .members
            .iter()
            .flat_map(|m| m.matchers.iter().map(|c| c.label.as_str()))
            .collect();
        if !self.key.is_empty() {
            out.insert(&self.key);
        }
        out
    }

    /// Hands each series of an answer to every member read it matches.
    pub fn dispatch(&self, answer: Vec<Series>, out: &mut Shares) {
        for s in answer {
            for (slo, role) in self.matching(&s.labels) {
                out.entry(slo).or_default().push((role, s.clone()));
            }
        }
    }

    /// The members (`(slo, role)`) whose reads match a series with these labels; a series
    /// without its name (an aggregation's) is taken to be of the batch's metric.
    pub fn matching<'a>(
        &'a self,
        labels: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = (usize, Role)> + 'a {
        let value = labels.get(&self.key).map(String::as_str).unwrap_or("");
        let name = labels
            .get("__name__")
            .map_or(self.metric.as_str(), String::as_str);
        self.by_value
            .get(value)
            .into_iter()
            .flatten()
            .map(|&i| &self.members[i])
            .filter(move |m| {
                m.metric == name
                    && m.matchers
                        .iter()
                        .all(|c| c.matches(labels.get(&c.label).map(String::as_str).unwrap_or("")))
            })
            .map(|m| (m.slo, m.role))
    }

    /// The SLOs this batch reads for.
    pub fn slos(&self) -> impl Iterator<Item = usize> + '_ {
        self.members.iter().map(|m| m.slo)
    }
}

#[cfg(test)]
mod tests;
