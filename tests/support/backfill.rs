//! Synthetic history whose true counts the test knows, backfilled into a real Prometheus.
//!
//! A [`Backfill`] covers `[start, end)`. Every series has its own [`Schedule`]: an interval, a
//! phase (e.g. samples 13 s before each minute), deterministic jitter, a first and a last
//! instant (series that appear mid-range and vanish) and gaps; timestamps are milliseconds.
//! The original API ([`Backfill::counter`], [`Backfill::histogram_series`],
//! [`Backfill::gauge`]) samples every [`STEP`] seconds on whole seconds (`start, start + 15,
//! ..., end - 15`); [`Backfill::counter_on`] (counters and histogram series) and
//! [`Backfill::gauge_on`] take a schedule, [`Backfill::exact`] takes the samples themselves.
//! Series are generated eagerly (one `Vec<(ms, value)>` per series), then
//! [`Backfill::create_blocks`] writes OpenMetrics text and runs `promtool tsdb
//! create-blocks-from openmetrics --max-block-duration=744h`.
//!
//! Counters: the model gives the events since the previous sample, `events(prev_ms, t_ms)`
//! (the original API: `events(t)`, the events in `(t - 15, t]`). The first sample holds the
//! counter's start value ([`CounterOpts::start_value`], 0 by default) and carries no events. A
//! reset at instant `r` restarts the counter at the first sample at or after `r`: that sample
//! holds just the events since the previous sample, as a restarted process would report them. A
//! lazy series ([`CounterOpts::lazy`]) has no samples while its value since its (re)start is 0,
//! like a labelled counter a client library creates at its first increment.
//!
//! Truth: [`super::truth`] defines the events of a series in `(a, b]` from its samples alone
//! (consecutive samples at most 2 h apart; a drop is a reset). [`Backfill::series_events`],
//! [`Backfill::events`] and [`Backfill::events_matching`] answer it exactly. Generating a counter
//! also checks that the model's events are what the truth sees in every sample it can see (a
//! reset the values do not show, for one, fails the generator). On whole-second data with no
//! gap it is what `increase(x[b - a])` evaluated at `b` returns when `a` and `b` are on sample
//! instants (Prometheus 2.x range selectors include both ends, and nothing is extrapolated then).
//!
//! OpenMetrics written, and what promtool 2.42 accepts (checked by hand and by
//! `tests/prometheus_harness.rs`): seconds as timestamps, with three decimals when the sample
//! is not on a whole second (`1790000000.123`; promtool and Prometheus store milliseconds, as
//! `int64(seconds * 1000)`, which the writer checks gives back the millisecond meant); counters
//! as `# TYPE http_requests counter` with samples named `http_requests_total`; gauges as
//! `# TYPE x gauge`; histograms as one family `# TYPE x histogram` with samples
//! `x_bucket{le="0.1"}`, `x_count`, `x_sum` (the `le` values are stored exactly as written:
//! `"0.1"`, `"+Inf"`). promtool 2.42's parser is lenient (a `_bucket` series under a `counter`
//! family, or with no TYPE line at all, is also accepted unchanged) but it silently DROPS a
//! sample older than the previous sample of the same series, so each series is written in time
//! order, series after series.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::require_binary;
use super::truth::{MAX_GAP_MS, Selector, increments};

/// Scrape interval of the original API's synthetic data, seconds.
pub const STEP: i64 = 15;
pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;
pub const THIRTY_DAYS: i64 = 30 * DAY;

/// `t` rounded down to a whole minute.
pub fn minute_floor(t: i64) -> i64 {
    t.div_euclid(MINUTE) * MINUTE
}

/// The current time, rounded down to a whole minute (a good `end` for scenarios).
pub fn now_minute() -> i64 {
    minute_floor(chrono::Utc::now().timestamp())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic, events per sample; sample name should end in `_total` (family without it).
    Counter,
    /// A value per sample.
    Gauge,
    /// A `_bucket`, `_count` or `_sum` series of a histogram family (counter semantics). The
    /// family name is the series name without that suffix.
    Histogram,
}

/// One time series: the metric name as PromQL sees it (`http_requests_total`,
/// `http_request_duration_seconds_bucket`, `pool_utilisation`) and its labels.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub kind: Kind,
}

impl Series {
    /// The OpenMetrics family name and type this series is written under.
    pub fn family(&self) -> (String, &'static str) {
        match self.kind {
            Kind::Counter => (
                self.name
                    .strip_suffix("_total")
                    .unwrap_or(&self.name)
                    .to_string(),
                "counter",
            ),
            Kind::Gauge => (self.name.clone(), "gauge"),
            Kind::Histogram => {
                let family = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| self.name.strip_suffix(suffix))
                    .unwrap_or_else(|| {
                        panic!("histogram series {} lacks _bucket/_count/_sum", self.name)
                    });
                (family.to_string(), "histogram")
            }
        }
    }

    /// Whether every `(name, value)` of `matchers` is among this series' labels.
    pub fn matches(&self, name: &str, matchers: &[(&str, &str)]) -> bool {
        self.name == name
            && matchers
                .iter()
                .all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }

    /// `name{k="v",...}` with OpenMetrics escaping.
    pub fn selector(&self) -> String {
        let mut out = self.name.clone();
        if !self.labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in self.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(out, "{k}=\"{v}\"");
            }
            out.push('}');
        }
        out
    }
}

/// Index of a series in a [`Backfill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesId(pub usize);

/// When a series is sampled. Nominal instants are `phase_ms + k * interval_ms` (every integer
/// `k`); each is moved by a deterministic jitter in `[-jitter_ms, +jitter_ms]` drawn from
/// `(seed, k)`, so series with equal schedules (one scrape target) share their timestamps. A
/// sample exists when its timestamp is in the backfill's `[start, end)`, in `[first, last]`
/// and in no gap. Jitter never reorders samples (`2 * jitter_ms < interval_ms`).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub interval_ms: i64,
    pub phase_ms: i64,
    pub jitter_ms: i64,
    pub seed: u64,
    /// No sample before this instant, seconds (the series appears).
    pub first: Option<i64>,
    /// No sample after this instant, seconds (the series vanishes).
    pub last: Option<i64>,
    /// No sample with a timestamp in `[from, to)`, seconds (a failed scrape, a target down).
    pub gaps: Vec<(i64, i64)>,
}

impl Schedule {
    /// A sample every `interval_secs`, on multiples of it, no jitter, over the whole range.
    pub fn every(interval_secs: i64) -> Schedule {
        assert!(interval_secs > 0, "interval {interval_secs}s");
        Schedule {
            interval_ms: interval_secs * 1000,
            phase_ms: 0,
            jitter_ms: 0,
            seed: 0,
            first: None,
            last: None,
            gaps: Vec::new(),
        }
    }

    /// Nominal instants at `phase_ms` past multiples of the interval (`-13_000` with a 60 s
    /// interval: 13 s before each minute).
    pub fn phase_ms(mut self, phase_ms: i64) -> Schedule {
        self.phase_ms = phase_ms;
        self
    }

    /// Each sample moved by up to `max_ms` either way (deterministic for `seed`).
    pub fn jitter(mut self, max_ms: i64, seed: u64) -> Schedule {
        assert!(
            max_ms >= 0 && 2 * max_ms < self.interval_ms,
            "jitter ±{max_ms} ms would reorder samples {} ms apart",
            self.interval_ms
        );
        self.jitter_ms = max_ms;
        self.seed = seed;
        self
    }

    /// No sample before `t` (seconds).
    pub fn from(mut self, t: i64) -> Schedule {
        self.first = Some(t);
        self
    }

    /// No sample after `t` (seconds).
    pub fn until(mut self, t: i64) -> Schedule {
        self.last = Some(t);
        self
    }

    /// No sample in `[from, to)` (seconds).
    pub fn gap(mut self, from: i64, to: i64) -> Schedule {
        assert!(from < to, "empty gap [{from}, {to})");
        self.gaps.push((from, to));
        self
    }

    /// The jitter of nominal instant `k`, in `[-jitter_ms, jitter_ms]` (splitmix64).
    fn jitter_of(&self, k: i64) -> i64 {
        if self.jitter_ms == 0 {
            return 0;
        }
        let mut z = self
            .seed
            .wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % (2 * self.jitter_ms as u64 + 1)) as i64 - self.jitter_ms
    }

    /// The sample timestamps (ms) within `[start, end)` seconds, in order.
    pub fn timestamps_ms(&self, start: i64, end: i64) -> Vec<i64> {
        let (lo, hi) = (start * 1000, end * 1000);
        let lo = lo.max(self.first.map_or(i64::MIN, |t| t * 1000));
        let hi_incl = (hi - 1).min(self.last.map_or(i64::MAX, |t| t * 1000));
        let k0 = (lo - self.jitter_ms - self.phase_ms).div_euclid(self.interval_ms);
        let mut out = Vec::new();
        let mut k = k0;
        loop {
            let nominal = self.phase_ms + k * self.interval_ms;
            if nominal - self.jitter_ms > hi_incl {
                break;
            }
            let t = nominal + self.jitter_of(k);
            let in_gap = self
                .gaps
                .iter()
                .any(|&(from, to)| from * 1000 <= t && t < to * 1000);
            if lo <= t && t <= hi_incl && !in_gap {
                out.push(t);
            }
            k += 1;
        }
        out
    }
}

/// How a counter of [`Backfill::counter_on`] starts, restarts and appears.
#[derive(Clone, Debug, Default)]
pub struct CounterOpts {
    /// The value of the first sample (what the counter had counted before anyone scraped it).
    pub start_value: f64,
    /// No sample while the value since the counter's (re)start is 0: the series appears at the
    /// first sample with events (value 1 for one event), and again after a reset.
    pub lazy: bool,
    /// The counter restarts from 0 at the first sample at or after each instant (seconds).
    pub resets: Vec<i64>,
}

struct Generated {
    series: Series,
    /// `(timestamp in ms, value)`, strictly increasing in time.
    samples: Vec<(i64, f64)>,
    /// Counters: the truth's events up to and including each sample (running sum of
    /// [`increments`]). Empty for gauges.
    cum: Vec<f64>,
}

/// Synthetic series over `[start, end)` and their truth.
pub struct Backfill {
    start: i64,
    end: i64,
    generated: Vec<Generated>,
}

/// What [`Backfill::create_blocks`] did, for timing reports.
#[derive(Debug)]
pub struct BlocksReport {
    pub samples: usize,
    pub series: usize,
    pub openmetrics_bytes: u64,
    pub write_time: Duration,
    pub promtool_time: Duration,
    pub promtool_output: String,
}

impl Backfill {
    /// An empty backfill over `[start, end)`; both must be multiples of [`STEP`].
    pub fn new(start: i64, end: i64) -> Backfill {
        assert!(start < end, "empty range [{start}, {end})");
        assert_eq!(
            start.rem_euclid(STEP),
            0,
            "start {start} not on a {STEP}s step"
        );
        assert_eq!(end.rem_euclid(STEP), 0, "end {end} not on a {STEP}s step");
        Backfill {
            start,
            end,
            generated: Vec::new(),
        }
    }

    /// 30 days ending at `end` (rounded down to a minute): `[end - 30d, end)`.
    pub fn thirty_days(end: i64) -> Backfill {
        let end = minute_floor(end);
        Backfill::new(end - THIRTY_DAYS, end)
    }

    pub fn start(&self) -> i64 {
        self.start
    }

    pub fn end(&self) -> i64 {
        self.end
    }

    /// Samples per series of the original API (172,800 for 30 days at [`STEP`]).
    pub fn samples_per_series(&self) -> usize {
        ((self.end - self.start) / STEP) as usize
    }

    /// The sample instants of the original API, in order.
    pub fn instants(&self) -> impl Iterator<Item = i64> + use<> {
        (self.start..self.end).step_by(STEP as usize)
    }

    pub fn series(&self, id: SeriesId) -> &Series {
        &self.generated[id.0].series
    }

    pub fn all_series(&self) -> impl Iterator<Item = (SeriesId, &Series)> {
        self.generated
            .iter()
            .enumerate()
            .map(|(i, g)| (SeriesId(i), &g.series))
    }

    /// Adds a counter sampled every [`STEP`] s: `events(t)` is the number of events in
    /// `(t - 15, t]`, called for every sample instant but the first; at each instant of
    /// `resets` (a sample instant) the counter restarts from 0.
    pub fn counter(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        self.legacy_counter_like(series(name, labels, Kind::Counter), events, resets)
    }

    /// Adds a `_bucket`/`_count`/`_sum` series of a histogram family (see [`Backfill::counter`]).
    pub fn histogram_series(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        self.legacy_counter_like(series(name, labels, Kind::Histogram), events, resets)
    }

    /// Adds a gauge sampled every [`STEP`] s whose sample at `t` is `value(t)`.
    pub fn gauge(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Fn(i64) -> f64,
    ) -> SeriesId {
        self.gauge_on(&Schedule::every(STEP), name, labels, |ms| value(ms / 1000))
    }

    /// Adds a counter ([`Kind::Counter`]) or a `_bucket`/`_count`/`_sum` series of a histogram
    /// family ([`Kind::Histogram`]) sampled on `schedule`: `events(prev_ms, t_ms)` is the number
    /// of events since the previous sample instant, called for every sample instant of the
    /// schedule but the first (also across gaps: the process kept counting). See [`CounterOpts`].
    pub fn counter_on(
        &mut self,
        kind: Kind,
        schedule: &Schedule,
        name: &str,
        labels: &[(&str, &str)],
        opts: &CounterOpts,
        events: impl Fn(i64, i64) -> f64,
    ) -> SeriesId {
        assert_ne!(kind, Kind::Gauge, "{name}: a gauge has no events");
        self.add_counter_like(series(name, labels, kind), schedule, opts, events)
    }

    /// Adds a gauge sampled on `schedule` whose sample at `t_ms` is `value(t_ms)`.
    pub fn gauge_on(
        &mut self,
        schedule: &Schedule,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Fn(i64) -> f64,
    ) -> SeriesId {
        let samples = schedule
            .timestamps_ms(self.start, self.end)
            .into_iter()
            .map(|t| (t, value(t)))
            .collect();
        self.push(series(name, labels, Kind::Gauge), samples)
    }

    /// Adds a series with exactly these `(timestamp in ms, value)` samples (hand-made truth
    /// tests, data checks). They must be in time order and within `[start, end)`.
    pub fn exact(
        &mut self,
        kind: Kind,
        name: &str,
        labels: &[(&str, &str)],
        samples: &[(i64, f64)],
    ) -> SeriesId {
        let range = self.start * 1000..self.end * 1000;
        for &(t, _) in samples {
            assert!(range.contains(&t), "sample at {t} ms outside {range:?}");
        }
        self.push(series(name, labels, kind), samples.to_vec())
    }

    fn legacy_counter_like(
        &mut self,
        series: Series,
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        for &r in resets {
            assert_eq!(r.rem_euclid(STEP), 0, "reset {r} is not a sample instant");
        }
        let opts = CounterOpts {
            resets: resets.to_vec(),
            ..CounterOpts::default()
        };
        self.add_counter_like(series, &Schedule::every(STEP), &opts, |_, t| {
            events(t / 1000)
        })
    }

    fn add_counter_like(
        &mut self,
        series: Series,
        schedule: &Schedule,
        opts: &CounterOpts,
        events: impl Fn(i64, i64) -> f64,
    ) -> SeriesId {
        assert!(
            !opts.lazy || opts.start_value == 0.0,
            "{}: a lazy counter starts at 0",
            series.selector()
        );
        let times = schedule.timestamps_ms(self.start, self.end);
        let mut resets: Vec<i64> = opts.resets.iter().map(|r| r * 1000).collect();
        resets.sort_unstable();
        let mut next_reset = resets.iter().copied().peekable();
        let mut samples = Vec::with_capacity(times.len());
        // The model's events since the previous sample written, next to each sample written.
        let mut model = Vec::with_capacity(times.len());
        let (mut value, mut since_written) = (opts.start_value, 0.0f64);
        for (i, &t) in times.iter().enumerate() {
            let mut reset = false;
            while next_reset.peek().is_some_and(|&r| r <= t) {
                next_reset.next();
                reset = true;
            }
            if i > 0 {
                let inc = events(times[i - 1], t);
                assert!(
                    inc >= 0.0,
                    "{}: negative events {inc} at {t} ms",
                    series.selector()
                );
                if reset {
                    value = 0.0;
                }
                value += inc;
                since_written += inc;
            } else {
                assert!(!reset, "{}: reset at its first sample", series.selector());
            }
            if opts.lazy && value == 0.0 {
                continue;
            }
            samples.push((t, value));
            model.push(since_written);
            since_written = 0.0;
        }
        let id = self.push(series, samples);
        // What the truth sees must be what the model made, wherever the truth can see.
        let g = &self.generated[id.0];
        let seen = increments(&g.samples);
        for i in 1..g.samples.len() {
            let ((pt, pv), (t, v)) = (g.samples[i - 1], g.samples[i]);
            let tolerance = 1e-9 * v.abs().max(1.0);
            assert!(
                t - pt > MAX_GAP_MS || (seen[i] - model[i]).abs() <= tolerance,
                "{}: the model counted {} events at {t} ms but the samples show {} ({pv} then \
                 {v}): a reset whose value does not drop?",
                g.series.selector(),
                model[i],
                seen[i]
            );
        }
        id
    }

    fn push(&mut self, series: Series, samples: Vec<(i64, f64)>) -> SeriesId {
        let dup = self
            .generated
            .iter()
            .any(|g| g.series.name == series.name && g.series.labels == series.labels);
        assert!(!dup, "series {} added twice", series.selector());
        let cum = if series.kind == Kind::Gauge {
            Vec::new()
        } else {
            increments(&samples)
                .into_iter()
                .scan(0.0, |sum, inc| {
                    *sum += inc;
                    Some(*sum)
                })
                .collect()
        };
        self.generated.push(Generated {
            series,
            samples,
            cum,
        });
        SeriesId(self.generated.len() - 1)
    }

    /// Number of samples of `g` with timestamp `<= t_ms`.
    fn count_le(g: &Generated, t_ms: i64) -> usize {
        g.samples.partition_point(|&(t, _)| t <= t_ms)
    }

    /// The truth's events of one counter up to and including `t_ms`.
    fn cum_at(&self, id: SeriesId, t_ms: i64) -> f64 {
        let g = &self.generated[id.0];
        assert!(
            g.series.kind != Kind::Gauge,
            "{} is a gauge: it has no events",
            g.series.name
        );
        match Self::count_le(g, t_ms) {
            0 => 0.0,
            k => g.cum[k - 1],
        }
    }

    /// Exact events of one counter in `(a, b]` (seconds), as [`super::truth`] defines them.
    pub fn series_events(&self, id: SeriesId, a: i64, b: i64) -> f64 {
        self.series_events_ms(id, a * 1000, b * 1000)
    }

    /// Exact events of one counter in `(a_ms, b_ms]`.
    pub fn series_events_ms(&self, id: SeriesId, a_ms: i64, b_ms: i64) -> f64 {
        if b_ms <= a_ms {
            return 0.0;
        }
        self.cum_at(id, b_ms) - self.cum_at(id, a_ms)
    }

    /// Exact events in `(a, b]`, summed over the counter series named `name` whose labels
    /// include all of `matchers`. Panics if no series matches (a typo, not a zero).
    pub fn events(&self, name: &str, matchers: &[(&str, &str)], a: i64, b: i64) -> f64 {
        let ids = self.find(name, matchers);
        assert!(!ids.is_empty(), "no series {name} with {matchers:?}");
        self.sum_events(&ids, a, b)
    }

    /// Exact events in `(a, b]` summed over the counter series `selector` (PromQL:
    /// `http_requests_total{job="x",code=~"5.."}`) matches. Panics if none matches.
    pub fn events_matching(&self, selector: &str, a: i64, b: i64) -> f64 {
        self.events_of(&Selector::parse(selector), a, b)
    }

    /// [`Backfill::events_matching`] with a parsed selector.
    pub fn events_of(&self, selector: &Selector, a: i64, b: i64) -> f64 {
        let ids = self.matching(selector);
        assert!(!ids.is_empty(), "no series matches {selector:?}");
        self.sum_events(&ids, a, b)
    }

    fn sum_events(&self, ids: &[SeriesId], a: i64, b: i64) -> f64 {
        ids.iter().map(|&id| self.series_events(id, a, b)).sum()
    }

    /// The series named `name` whose labels include all of `matchers`.
    pub fn find(&self, name: &str, matchers: &[(&str, &str)]) -> Vec<SeriesId> {
        self.all_series()
            .filter(|(_, s)| s.matches(name, matchers))
            .map(|(id, _)| id)
            .collect()
    }

    /// The series `selector` matches.
    pub fn matching(&self, selector: &Selector) -> Vec<SeriesId> {
        self.all_series()
            .filter(|(_, s)| selector.matches(s))
            .map(|(id, _)| id)
            .collect()
    }

    /// The value of the last sample at or before `t` seconds (`None` before the first).
    pub fn value_at(&self, id: SeriesId, t: i64) -> Option<f64> {
        let g = &self.generated[id.0];
        match Self::count_le(g, t * 1000) {
            0 => None,
            k => Some(g.samples[k - 1].1),
        }
    }

    /// `(timestamp in s, value)` of every sample of `id` in `[a, b)` seconds. For series on
    /// whole seconds only (panics otherwise: use [`Backfill::raw_samples`]).
    pub fn samples(&self, id: SeriesId, a: i64, b: i64) -> Vec<(i64, f64)> {
        let g = &self.generated[id.0];
        let (from, to) = (
            Self::count_le(g, a * 1000 - 1),
            Self::count_le(g, b * 1000 - 1),
        );
        g.samples[from..to]
            .iter()
            .map(|&(t, v)| {
                assert_eq!(t % 1000, 0, "{}: sample at {t} ms", g.series.selector());
                (t / 1000, v)
            })
            .collect()
    }

    /// Every sample of `id`: `(timestamp in ms, value)`, in time order.
    pub fn raw_samples(&self, id: SeriesId) -> &[(i64, f64)] {
        &self.generated[id.0].samples
    }

    /// Number of instants of the original API's schedule in `[a, b)`.
    pub fn sample_count_in(&self, a: i64, b: i64) -> usize {
        let count_le = |t: i64| {
            ((t - self.start).div_euclid(STEP) + 1).clamp(0, self.samples_per_series() as i64)
        };
        (count_le(b - 1) - count_le(a - 1)) as usize
    }

    /// Total samples over all series.
    pub fn total_samples(&self) -> usize {
        self.generated.iter().map(|g| g.samples.len()).sum()
    }

    /// Writes the OpenMetrics text: one `# TYPE` line per family (families in order of first
    /// appearance), then each of its series' samples in time order, then `# EOF`.
    pub fn write_openmetrics(&self, path: &Path) -> std::io::Result<u64> {
        self.write_text(path, format_timestamp)
    }

    /// Writes the same samples as [`Backfill::write_openmetrics`] in the Prometheus text format
    /// with millisecond timestamps (`x{a="b"} 150 1790000000123`), which VictoriaMetrics
    /// imports on `/api/v1/import/prometheus` (it skips the `#` lines).
    pub fn write_prometheus_text(&self, path: &Path) -> std::io::Result<u64> {
        self.write_text(path, |ms| ms.to_string())
    }

    /// The text of [`Backfill::write_openmetrics`], timestamps written by `timestamp` (from ms).
    fn write_text(&self, path: &Path, timestamp: fn(i64) -> String) -> std::io::Result<u64> {
        let file = std::fs::File::create(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut families: Vec<(String, &'static str)> = Vec::new();
        for g in &self.generated {
            let family = g.series.family();
            if !families.contains(&family) {
                families.push(family);
            }
        }
        let mut line = String::with_capacity(256);
        let mut written = 0u64;
        for (family, kind) in &families {
            writeln!(out, "# TYPE {family} {kind}")?;
            for g in self
                .generated
                .iter()
                .filter(|g| &g.series.family().0 == family)
            {
                let selector = g.series.selector();
                for &(t, value) in &g.samples {
                    line.clear();
                    let _ = writeln!(line, "{selector} {} {}", format_value(value), timestamp(t));
                    out.write_all(line.as_bytes())?;
                    written += line.len() as u64;
                }
            }
        }
        writeln!(out, "# EOF")?;
        out.flush()?;
        Ok(written)
    }
    /// Writes the OpenMetrics text to `<data_dir>/backfill.om`, runs
    /// `promtool tsdb create-blocks-from openmetrics --max-block-duration=744h` into `data_dir`,
    /// and removes the text file again (it is kept when promtool fails). Panics on failure.
    pub fn create_blocks(&self, data_dir: &Path) -> BlocksReport {
        std::fs::create_dir_all(data_dir)
            .unwrap_or_else(|e| panic!("create {}: {e}", data_dir.display()));
        let input = data_dir.join("backfill.om");
        let started = Instant::now();
        let bytes = self
            .write_openmetrics(&input)
            .unwrap_or_else(|e| panic!("write {}: {e}", input.display()));
        let write_time = started.elapsed();
        let started = Instant::now();
        let text = create_blocks_from(&input, data_dir);
        let promtool_time = started.elapsed();
        BlocksReport {
            samples: self.total_samples(),
            series: self.generated.len(),
            openmetrics_bytes: bytes,
            write_time,
            promtool_time,
            promtool_output: text,
        }
    }
}

/// Runs `promtool tsdb create-blocks-from openmetrics --max-block-duration=744h` on the
/// OpenMetrics file `input` into `data_dir` and removes `input` (kept when promtool fails, for
/// a look). Returns promtool's output; panics on failure. For series a [`Backfill`] cannot
/// write (other sample instants), write the text yourself, in time order per series.
pub fn create_blocks_from(input: &Path, data_dir: &Path) -> String {
    let promtool = require_binary("promtool");
    let output = Command::new(&promtool)
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=744h",
        ])
        .arg(input)
        .arg(data_dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", promtool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool create-blocks-from openmetrics {} failed ({}):\n{text}",
        input.display(),
        output.status
    );
    let _ = std::fs::remove_file(input);
    text
}

fn series(name: &str, labels: &[(&str, &str)], kind: Kind) -> Series {
    Series {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        kind,
    }
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        // Rust's shortest round-trip form, never an exponent: "150", "0.875".
        format!("{v}")
    }
}

/// A timestamp in ms as OpenMetrics seconds: whole seconds bare (`1790000000`), else with three
/// decimals (`1790000000.123`). Checks that promtool's reading, `int64(seconds * 1000)`, gives
/// back `ms` (Go's ParseFloat and Rust's parse both round correctly; `as` truncates as Go does).
fn format_timestamp(ms: i64) -> String {
    let (sign, abs) = if ms < 0 { ("-", -ms) } else { ("", ms) };
    let text = if abs % 1000 == 0 {
        format!("{sign}{}", abs / 1000)
    } else {
        format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
    };
    let read_back = (text.parse::<f64>().expect("a float") * 1000.0) as i64;
    assert_eq!(
        read_back, ms,
        "timestamp {text} reads back as {read_back} ms"
    );
    text
}

/// Whether sample instant `t` belongs to one of `windows`, each `(from, to)` meaning the
/// samples with timestamps in `(from, to]` (i.e. the events of roughly `(from, to]`).
pub fn in_windows(t: i64, windows: &[(i64, i64)]) -> bool {
    windows.iter().any(|&(from, to)| from < t && t <= to)
}

/// Ready-made scenarios for the engine tests. Each adds series to a [`Backfill`] (usually
/// [`Backfill::thirty_days`]) under a `job` label of the caller's choice, so several scenarios
/// can share one Prometheus; the known instants are arguments or computed by the `*_at`
/// helpers from the backfill's `end`. Windows are `(from, to)` over sample instants in
/// `(from, to]`; all rates are deterministic integers per sample, so the truth is exact.
pub mod scenario {
    use super::*;

    /// Requests per sample for ~10 req/s.
    pub const REQUESTS_PER_STEP: u64 = 150;
    /// The steady error share of scenario (a): 0.1 %, as errors per million requests.
    pub const STEADY_ERROR_PPM: u64 = 1_000;

    /// Request traffic as a pair of counters `http_requests_total{job, code="200"|"500", ...}`.
    #[derive(Clone, Debug)]
    pub struct Traffic {
        pub job: String,
        /// Extra labels on both series (e.g. `route`).
        pub labels: Vec<(String, String)>,
        /// Requests per 15 s sample.
        pub per_step: u64,
        /// Errors per million requests outside incidents (spread evenly, exactly).
        pub error_ppm: u64,
        /// Every request fails during these windows.
        pub incidents: Vec<(i64, i64)>,
        /// No request at all during these windows (counters stay flat).
        pub quiet: Vec<(i64, i64)>,
        /// Both counters restart from 0 at these sample instants.
        pub resets: Vec<i64>,
    }

    impl Traffic {
        /// ~10 req/s with 0.1 % errors, no incident.
        pub fn steady(job: &str) -> Traffic {
            Traffic {
                job: job.to_string(),
                labels: Vec::new(),
                per_step: REQUESTS_PER_STEP,
                error_ppm: STEADY_ERROR_PPM,
                incidents: Vec::new(),
                quiet: Vec::new(),
                resets: Vec::new(),
            }
        }

        /// Adds the two series; returns `(ok, errors)`.
        pub fn add_to(&self, b: &mut Backfill) -> (SeriesId, SeriesId) {
            let start = b.start();
            let t = self.clone();
            // Cumulative errors after sample i of steady traffic: floor(i * per_step * ppm / 1e6).
            let steady_errors = move |ts: i64| -> u64 {
                let i = ((ts - start) / STEP) as u64;
                let before = |i: u64| i * t.per_step * t.error_ppm / 1_000_000;
                before(i) - before(i.saturating_sub(1))
            };
            let model = move |ts: i64| -> (u64, u64) {
                if in_windows(ts, &self.quiet) {
                    (0, 0)
                } else if in_windows(ts, &self.incidents) {
                    (0, self.per_step)
                } else {
                    let errors = steady_errors(ts);
                    (self.per_step - errors, errors)
                }
            };
            let mut labels: Vec<(&str, &str)> = vec![("job", self.job.as_str())];
            labels.extend(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut ok_labels = labels.clone();
            ok_labels.push(("code", "200"));
            let mut err_labels = labels;
            err_labels.push(("code", "500"));
            let ok = b.counter(
                "http_requests_total",
                &ok_labels,
                |ts| model(ts).0 as f64,
                &self.resets,
            );
            let err = b.counter(
                "http_requests_total",
                &err_labels,
                |ts| model(ts).1 as f64,
                &self.resets,
            );
            (ok, err)
        }
    }

    /// (a) `http_requests_total{job, code="200"|"500"}`, ~10 req/s, 0.1 % errors.
    pub fn steady(b: &mut Backfill, job: &str) -> (SeriesId, SeriesId) {
        Traffic::steady(job).add_to(b)
    }

    /// Day 29 of 30 (numbering days from 1 at `start`), 14:00 after that day's start: the
    /// default instant for scenario (b).
    pub fn incident_at(b: &Backfill) -> i64 {
        b.start() + 28 * DAY + 14 * HOUR
    }

    /// (b) Steady traffic plus an incident: every request fails in `(from, from + len]`.
    pub fn incident(b: &mut Backfill, job: &str, from: i64, len: i64) -> (SeriesId, SeriesId) {
        let mut traffic = Traffic::steady(job);
        traffic.incidents.push((from, from + len));
        traffic.add_to(b)
    }

    /// Default reset instant for scenario (c): 5 days before the end, plus 3 h.
    pub fn reset_at(b: &Backfill) -> i64 {
        b.end() - 5 * DAY + 3 * HOUR
    }

    /// (c) Steady traffic whose counters both restart from 0 at the sample instant `at`.
    pub fn counter_reset(b: &mut Backfill, job: &str, at: i64) -> (SeriesId, SeriesId) {
        assert_eq!(
            at.rem_euclid(STEP),
            0,
            "reset instant must be a sample instant"
        );
        let mut traffic = Traffic::steady(job);
        traffic.resets.push(at);
        traffic.add_to(b)
    }

    /// Default start of the quiet hour of scenario (d): 10 days before the end, plus 2 h.
    pub fn quiet_at(b: &Backfill) -> i64 {
        b.end() - 10 * DAY + 2 * HOUR
    }

    /// (d) Steady traffic with no request at all in `(from, from + 1h]` (samples still exist,
    /// the counters are flat: the error ratio there is 0/0).
    pub fn zero_traffic(b: &mut Backfill, job: &str, from: i64) -> (SeriesId, SeriesId) {
        let mut traffic = Traffic::steady(job);
        traffic.quiet.push((from, from + HOUR));
        traffic.add_to(b)
    }

    /// Routes of scenario (e) and their error shares in ppm: 0.1 %, 1 %, 5 %.
    pub const ROUTES: [(&str, u64); 3] = [("/home", 1_000), ("/search", 10_000), ("/pay", 50_000)];

    /// (e) `http_requests_total{job, route, code}` for the three [`ROUTES`], each ~10 req/s with
    /// its own error share. Returns `(route, ok, errors)`.
    pub fn grouped(b: &mut Backfill, job: &str) -> Vec<(&'static str, SeriesId, SeriesId)> {
        ROUTES
            .iter()
            .map(|&(route, ppm)| {
                let mut traffic = Traffic::steady(job);
                traffic.labels.push(("route".into(), route.into()));
                traffic.error_ppm = ppm;
                let (ok, err) = traffic.add_to(b);
                (route, ok, err)
            })
            .collect()
    }

    /// Bucket bounds of scenario (f) and cumulative requests per sample at each bound, normally
    /// and during slow windows. Normal: 147 of 150 at or under 0.3 s (98 %); slow: 75 (50 %).
    pub const LATENCY_BUCKETS: [(&str, u64, u64); 4] = [
        ("0.1", 120, 30),
        ("0.3", 147, 75),
        ("1", 149, 140),
        ("+Inf", 150, 150),
    ];
    /// Share of requests at or under 0.3 s outside slow windows.
    pub const LATENCY_GOOD_SHARE: f64 = 147.0 / 150.0;
    /// Share of requests at or under 0.3 s inside slow windows.
    pub const LATENCY_SLOW_GOOD_SHARE: f64 = 75.0 / 150.0;

    /// (f) A latency histogram `http_request_duration_seconds{job}`: `_bucket` for each of
    /// [`LATENCY_BUCKETS`], `_count` and `_sum`, 150 requests per sample; during `slow`
    /// windows only half are at or under 0.3 s. Returns the bucket ids (in bound order) and the
    /// count id.
    pub fn latency(b: &mut Backfill, job: &str, slow: &[(i64, i64)]) -> (Vec<SeriesId>, SeriesId) {
        let slow = slow.to_vec();
        let mut buckets = Vec::new();
        for (le, normal, slowed) in LATENCY_BUCKETS {
            let slow = slow.clone();
            buckets.push(b.histogram_series(
                "http_request_duration_seconds_bucket",
                &[("job", job), ("le", le)],
                move |t| if in_windows(t, &slow) { slowed } else { normal } as f64,
                &[],
            ));
        }
        let count = b.histogram_series(
            "http_request_duration_seconds_count",
            &[("job", job)],
            |_| REQUESTS_PER_STEP as f64,
            &[],
        );
        // Sum: per-bucket midpoints (0.05, 0.2, 0.65) and 2 s above 1 s, counted in 1/20 s.
        b.histogram_series(
            "http_request_duration_seconds_sum",
            &[("job", job)],
            move |t| {
                let c: Vec<u64> = LATENCY_BUCKETS
                    .iter()
                    .map(|&(_, n, s)| if in_windows(t, &slow) { s } else { n })
                    .collect();
                let twentieths = c[0] + (c[1] - c[0]) * 4 + (c[2] - c[1]) * 13 + (c[3] - c[2]) * 40;
                twentieths as f64 / 20.0
            },
            &[],
        );
        (buckets, count)
    }

    /// Default hot windows of scenario (g): 7 minutes yesterday at 09:00 and 20 minutes three
    /// days ago, relative to `end` (in `(from, to]` form).
    pub fn hot_windows(b: &Backfill) -> Vec<(i64, i64)> {
        let day = b.end() - DAY;
        vec![
            (day + 9 * HOUR, day + 9 * HOUR + 7 * MINUTE),
            (b.end() - 3 * DAY, b.end() - 3 * DAY + 20 * MINUTE),
        ]
    }

    /// (g) A saturation gauge `pool_utilisation{job}`: 0.5 ± 0.1 (daily wave, never above 0.6)
    /// outside `hot` windows, 0.9 inside them.
    pub fn saturation(b: &mut Backfill, job: &str, hot: &[(i64, i64)]) -> SeriesId {
        let hot = hot.to_vec();
        b.gauge("pool_utilisation", &[("job", job)], move |t| {
            if in_windows(t, &hot) {
                0.9
            } else {
                let phase = (t.rem_euclid(DAY)) as f64 / DAY as f64;
                // Rounded to 1/1000 so the text stays short and exact.
                ((0.5 + 0.1 * (phase * std::f64::consts::TAU).sin()) * 1000.0).round() / 1000.0
            }
        })
    }

    /// What the requests of a [`Requests`] stream do in one of its windows.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Regime {
        /// The stream's own error share, normal latency (outside every window too).
        Normal,
        /// Every request fails.
        Outage,
        /// No request at all: the counters stay flat, the samples go on.
        Quiet,
        /// Latency as in [`OFFGRID_BUCKETS`]'s slow column; errors as normal.
        Slow,
        /// No request fails.
        Clean,
    }

    /// Bucket bounds of [`latency_on`] with the share of requests (ppm) at or under each,
    /// normally and in [`Regime::Slow`]: 98 % at or under 0.3 s normally, 50 % when slow.
    pub const OFFGRID_BUCKETS: [(&str, u64, u64); 3] = [
        ("0.1", 800_000, 300_000),
        ("0.3", 980_000, 500_000),
        ("+Inf", 1_000_000, 1_000_000),
    ];

    /// Requests as a process counts them, in continuous time: request `n` (`n >= 1`) happens
    /// at `origin_ms + n * tick_ms`. Windows `(from, to]` (seconds, not overlapping) give
    /// stretches a [`Regime`] other than normal. A share of requests (errors, those under a
    /// bucket bound) is spread evenly: request `n` of a stretch with share `p` ppm is in it when
    /// `floor(n p / 1e6)` steps up at `n`. A counter's events between two instants are the
    /// difference of [`Requests::count`] there, so samples anywhere, at any interval, hold
    /// exactly what happened before them.
    #[derive(Clone, Debug)]
    pub struct Requests {
        pub origin_ms: i64,
        pub tick_ms: i64,
        /// Errors per million requests in [`Regime::Normal`] and [`Regime::Slow`].
        pub error_ppm: u64,
        pub windows: Vec<(i64, i64, Regime)>,
    }

    impl Requests {
        /// 10 requests a second from `origin` (seconds) with `error_ppm` errors per million.
        pub fn new(origin: i64, error_ppm: u64) -> Requests {
            Requests {
                origin_ms: origin * 1000,
                tick_ms: 100,
                error_ppm,
                windows: Vec::new(),
            }
        }

        /// The same stream with `regime` in `(from, to]` (seconds).
        pub fn with(mut self, from: i64, to: i64, regime: Regime) -> Requests {
            assert!(from < to, "empty window ({from}, {to}]");
            let overlaps = self.windows.iter().any(|&(f, t, _)| f < to && from < t);
            assert!(!overlaps, "window ({from}, {to}] overlaps another");
            self.windows.push((from, to, regime));
            self.windows.sort_by_key(|w| w.0);
            self
        }

        /// Requests up to and including `t_ms` that are in the share `share(regime)` (ppm) of
        /// the stretch they happened in.
        pub fn count(&self, t_ms: i64, share: impl Fn(Regime) -> u64) -> u64 {
            let ticks = |t: i64| ((t.min(t_ms) - self.origin_ms).max(0) / self.tick_ms) as u64;
            let part = |from: i64, to: i64, regime: Regime| -> u64 {
                let (n1, n2, p) = (ticks(from), ticks(to), share(regime));
                if n2 <= n1 {
                    0
                } else {
                    n2 * p / 1_000_000 - n1 * p / 1_000_000
                }
            };
            let mut total = 0;
            let mut cursor = i64::MIN / 2;
            for &(from, to, regime) in &self.windows {
                total += part(cursor, from * 1000, Regime::Normal);
                total += part(from * 1000, to * 1000, regime);
                cursor = to * 1000;
            }
            total + part(cursor, i64::MAX / 2, Regime::Normal)
        }

        /// Share of all requests: none when quiet.
        pub fn all(regime: Regime) -> u64 {
            if regime == Regime::Quiet {
                0
            } else {
                1_000_000
            }
        }

        /// Share of failed requests.
        pub fn failed(&self, regime: Regime) -> u64 {
            match regime {
                Regime::Normal | Regime::Slow => self.error_ppm,
                Regime::Outage => 1_000_000,
                Regime::Quiet | Regime::Clean => 0,
            }
        }

        /// Share of requests at or under bucket bound `le` of [`OFFGRID_BUCKETS`].
        pub fn under(le: &str, regime: Regime) -> u64 {
            let &(_, normal, slow) = OFFGRID_BUCKETS
                .iter()
                .find(|b| b.0 == le)
                .unwrap_or_else(|| panic!("no bucket {le}"));
            match regime {
                Regime::Quiet => 0,
                Regime::Slow => slow,
                _ => normal,
            }
        }

        /// The events of `share` in `(prev_ms, t_ms]`, as [`Backfill::counter_on`] takes them.
        pub fn events<'a>(
            &'a self,
            share: impl Fn(Regime) -> u64 + Copy + 'a,
        ) -> impl Fn(i64, i64) -> f64 + 'a {
            move |prev, t| (self.count(t, share) - self.count(prev, share)) as f64
        }
    }

    /// `http_requests_total{labels.., code="200"|"500"}` counting `requests`, sampled on
    /// `schedule` (both series of one target share it). Returns `(ok, errors)`.
    pub fn requests_on(
        b: &mut Backfill,
        schedule: &Schedule,
        labels: &[(&str, &str)],
        requests: &Requests,
        ok: &CounterOpts,
        errors: &CounterOpts,
    ) -> (SeriesId, SeriesId) {
        let with_code = |code| {
            let mut l = labels.to_vec();
            l.push(("code", code));
            l
        };
        let failed = |r: Regime| requests.failed(r);
        let ok = b.counter_on(
            Kind::Counter,
            schedule,
            "http_requests_total",
            &with_code("200"),
            ok,
            |prev, t| {
                let n = |t| requests.count(t, Requests::all) - requests.count(t, failed);
                (n(t) - n(prev)) as f64
            },
        );
        let err = b.counter_on(
            Kind::Counter,
            schedule,
            "http_requests_total",
            &with_code("500"),
            errors,
            requests.events(failed),
        );
        (ok, err)
    }

    /// A latency histogram `http_request_duration_seconds{labels..}` of `requests` on
    /// `schedule`: `_bucket` for each of [`OFFGRID_BUCKETS`], `_count` and `_sum` (each request
    /// weighs its bucket's 1/16 s midpoint, 2 s above 0.3 s), all with `opts`. Returns the bucket
    /// ids (in bound order) and the count id.
    pub fn latency_on(
        b: &mut Backfill,
        schedule: &Schedule,
        labels: &[(&str, &str)],
        requests: &Requests,
        opts: &CounterOpts,
    ) -> (Vec<SeriesId>, SeriesId) {
        let name = "http_request_duration_seconds";
        let mut buckets = Vec::new();
        for (le, _, _) in OFFGRID_BUCKETS {
            let mut l = labels.to_vec();
            l.push(("le", le));
            buckets.push(b.counter_on(
                Kind::Histogram,
                schedule,
                &format!("{name}_bucket"),
                &l,
                opts,
                requests.events(move |r| Requests::under(le, r)),
            ));
        }
        let count = b.counter_on(
            Kind::Histogram,
            schedule,
            &format!("{name}_count"),
            labels,
            opts,
            requests.events(Requests::all),
        );
        let sum = |t| {
            let under = |le| requests.count(t, move |r| Requests::under(le, r)) as f64;
            let (fast, mid, all) = (under("0.1"), under("0.3"), under("+Inf"));
            fast / 16.0 + (mid - fast) * 3.0 / 16.0 + (all - mid) * 2.0
        };
        b.counter_on(
            Kind::Histogram,
            schedule,
            &format!("{name}_sum"),
            labels,
            opts,
            |prev, t| sum(t) - sum(prev),
        );
        (buckets, count)
    }
}
