//! The Prometheus source's query lag when `query_lag` is not set: learned from how long the
//! scrapes take. Prometheus stores a scrape's samples when the scrape ends, stamped with its
//! start, so a read must end at least the longest scrape (and a second for ingestion and
//! clocks) behind now to see every sample it covers.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::engine::plan::QueryPlan;
use crate::spec::MatchOp;
use crate::spec::model::quote as quote_label_value;

/// The lag until a scrape duration is known, or when the source shows none (remote-written
/// data, a store that keeps no `scrape_duration_seconds`).
pub const FALLBACK_LAG: Duration = Duration::from_secs(5);
/// Never less: a scrape of a few milliseconds still needs ingestion and clock slack.
pub const MIN_LAG: Duration = Duration::from_secs(1);
/// Never more: a target that takes minutes to scrape would hold every SLO's freshness back;
/// its samples still count, a tick or a minute late.
pub const MAX_LAG: Duration = Duration::from_secs(60);
/// How often a learned lag is asked again.
pub const REFRESH: Duration = Duration::from_secs(60);
/// How soon to ask again while nothing was learned (a Prometheus that has not scraped yet).
pub const RETRY: Duration = Duration::from_secs(15);
/// More jobs than this and the query reads all targets (a regex that long helps no one).
const MAX_JOBS: usize = 1000;

/// The lag for the longest recent scrape, `max_secs` (`None`: the source showed none):
/// the scrape rounded up to whole seconds plus one, within [`MIN_LAG`]..=[`MAX_LAG`].
///
/// ```
/// use std::time::Duration;
/// use sloburn::engine::runner::lag_for_scrape_duration;
/// assert_eq!(lag_for_scrape_duration(Some(3.02)), Duration::from_secs(5));
/// assert_eq!(lag_for_scrape_duration(None), Duration::from_secs(5));
/// ```
pub fn lag_for_scrape_duration(max_secs: Option<f64>) -> Duration {
    match max_secs {
        // `as` saturates: a huge value lands on MAX_LAG.
        Some(s) if s.is_finite() && s >= 0.0 => {
            Duration::from_secs((s + 1.0).ceil() as u64).clamp(MIN_LAG, MAX_LAG)
        }
        _ => FALLBACK_LAG,
    }
}

/// The query for the longest scrape of the last 10 minutes. Restricted to the jobs the SLOs
/// read when every counter SLO pins `job` with `=` (a slow target nobody's SLO reads then
/// does not hold them back); otherwise, or with templated PromQL whose targets sloburn cannot
/// tell, every target.
pub fn scrape_duration_query<'a>(plans: impl IntoIterator<Item = &'a QueryPlan>) -> String {
    match jobs_read(plans) {
        Some(jobs) if jobs.len() == 1 => format!(
            "max(max_over_time(scrape_duration_seconds{{job={}}}[10m]))",
            quote_label_value(jobs.iter().next().map_or("", |j| j.as_str()))
        ),
        Some(jobs) => {
            let alternatives: Vec<String> = jobs.iter().map(|j| regex::escape(j)).collect();
            format!(
                "max(max_over_time(scrape_duration_seconds{{job=~{}}}[10m]))",
                quote_label_value(&alternatives.join("|"))
            )
        }
        None => "max(max_over_time(scrape_duration_seconds[10m]))".to_string(),
    }
}

/// The `job` values every read of every SLO pins with `=`; `None` when some read pins none,
/// an SLO is not read as counters, or there are too many.
fn jobs_read<'a>(plans: impl IntoIterator<Item = &'a QueryPlan>) -> Option<BTreeSet<String>> {
    let mut jobs = BTreeSet::new();
    for plan in plans {
        for read in plan.counter_reads()? {
            let job = read
                .matchers
                .iter()
                .find(|m| m.label == "job" && m.op == MatchOp::Equal)?;
            jobs.insert(job.value.clone());
        }
    }
    (!jobs.is_empty() && jobs.len() <= MAX_JOBS).then_some(jobs)
}

/// What one ask of the source gave: the longest scrape in seconds (`None`: no scrape shown),
/// or why the query failed.
pub type Answer = Result<Option<f64>, String>;

/// The lag after an answer, and how long until the next ask. A failed query keeps the lag in
/// use (a blip must not move every read); a source that shows no scrape gets
/// [`FALLBACK_LAG`]. Learned values are asked again every [`REFRESH`], others every [`RETRY`].
pub fn after_answer(current: Duration, answer: &Answer) -> (Duration, Duration) {
    match answer {
        Ok(Some(secs)) => (lag_for_scrape_duration(Some(*secs)), REFRESH),
        Ok(None) => (FALLBACK_LAG, RETRY),
        Err(_) => (current, RETRY),
    }
}

/// The longest value of an answer (NaN ignored), `None` when it has none.
pub fn longest(series: &[crate::source::Series]) -> Option<f64> {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| !v.is_nan())
        .reduce(f64::max)
}

#[cfg(test)]
mod tests;
