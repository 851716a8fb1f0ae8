//! Synthetic history whose true counts the test knows, backfilled into a real Prometheus.
//!
//! A [`Backfill`] covers `[start, end)` with one sample every [`STEP`] seconds per series
//! (timestamps `start, start + 15, ..., end - 15`). Series are generated eagerly from a model
//! (linear time, one `Vec<f64>` per series), then [`Backfill::create_blocks`] writes OpenMetrics
//! text and runs `promtool tsdb create-blocks-from openmetrics --max-block-duration=744h`.
//!
//! Counters: the model gives the number of events in `(t - 15, t]` for each sample instant `t`.
//! The first sample is the counter's start value (0) and carries no events (no one can see
//! increments before the first sample). A reset at instant `r` restarts the counter: the sample
//! at `r` holds just the events of `(r - 15, r]`, as a restarted process would report them;
//! Prometheus counts them through its reset rule, and so does the truth.
//!
//! Truth: [`Backfill::events`] is the exact number of events with sample timestamps in `(a, b]`
//! — what `increase(x[b - a])` evaluated at `b` returns when `a` and `b` are on sample instants
//! (Prometheus 2.x range selectors include both ends, and nothing is extrapolated then).
//!
//! OpenMetrics written, and what promtool 2.42 accepts (checked by hand and by
//! `tests/prometheus_harness.rs`): seconds as timestamps; counters as `# TYPE http_requests
//! counter` with samples named `http_requests_total`; gauges as `# TYPE x gauge`; histograms as
//! one family `# TYPE x histogram` with samples `x_bucket{le="0.1"}`, `x_count`, `x_sum` (the
//! `le` values are stored exactly as written: `"0.1"`, `"+Inf"`). promtool 2.42's parser is
//! lenient (a `_bucket` series under a `counter` family, or with no TYPE line at all, is also
//! accepted unchanged) but it silently DROPS a sample older than the previous sample of the
//! same series, so each series is written in time order, series after series.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::require_binary;

/// Scrape interval of the synthetic data, seconds.
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

struct Generated {
    series: Series,
    values: Vec<f64>,
    /// Counters: events up to and including each sample (`cum[0] == 0`). Empty for gauges.
    cum: Vec<f64>,
}

/// Synthetic series over `[start, end)` at [`STEP`], and their truth.
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

    /// Samples per series (172,800 for 30 days).
    pub fn samples_per_series(&self) -> usize {
        ((self.end - self.start) / STEP) as usize
    }

    /// The sample instants, in order.
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

    /// Adds a counter: `events(t)` is the number of events in `(t - 15, t]`, called for every
    /// sample instant but the first; at each instant of `resets` the counter restarts from 0.
    pub fn counter(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        self.add_counter_like(series(name, labels, Kind::Counter), events, resets)
    }

    /// Adds a `_bucket`/`_count`/`_sum` series of a histogram family (see [`Backfill::counter`]).
    pub fn histogram_series(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        self.add_counter_like(series(name, labels, Kind::Histogram), events, resets)
    }

    /// Adds a gauge whose sample at `t` is `value(t)`.
    pub fn gauge(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Fn(i64) -> f64,
    ) -> SeriesId {
        let values = self.instants().map(value).collect();
        self.push(Generated {
            series: series(name, labels, Kind::Gauge),
            values,
            cum: Vec::new(),
        })
    }

    fn add_counter_like(
        &mut self,
        series: Series,
        events: impl Fn(i64) -> f64,
        resets: &[i64],
    ) -> SeriesId {
        let n = self.samples_per_series();
        let mut resets: Vec<i64> = resets.to_vec();
        resets.sort_unstable();
        let mut next_reset = resets.iter().copied().peekable();
        let mut values = Vec::with_capacity(n);
        let mut cum = Vec::with_capacity(n);
        let (mut value, mut total) = (0.0f64, 0.0f64);
        for (i, t) in self.instants().enumerate() {
            let mut reset = false;
            while next_reset.peek().is_some_and(|&r| r <= t) {
                reset |= next_reset.next() == Some(t);
            }
            if i > 0 {
                let inc = events(t);
                assert!(inc >= 0.0, "{}: negative events {inc} at {t}", series.name);
                if reset {
                    value = 0.0;
                }
                value += inc;
                total += inc;
            }
            values.push(value);
            cum.push(total);
        }
        self.push(Generated {
            series,
            values,
            cum,
        })
    }

    fn push(&mut self, generated: Generated) -> SeriesId {
        let dup = self.generated.iter().any(|g| {
            g.series.name == generated.series.name && g.series.labels == generated.series.labels
        });
        assert!(!dup, "series {} added twice", generated.series.selector());
        self.generated.push(generated);
        SeriesId(self.generated.len() - 1)
    }

    /// Number of samples with timestamp `<= t`.
    fn count_le(&self, t: i64) -> usize {
        ((t - self.start).div_euclid(STEP) + 1).clamp(0, self.samples_per_series() as i64) as usize
    }

    fn cum_at(&self, id: SeriesId, t: i64) -> f64 {
        let g = &self.generated[id.0];
        assert!(
            !g.cum.is_empty(),
            "{} is a gauge: it has no events",
            g.series.name
        );
        match self.count_le(t) {
            0 => 0.0,
            k => g.cum[k - 1],
        }
    }

    /// Exact events of one counter with sample timestamps in `(a, b]`.
    pub fn series_events(&self, id: SeriesId, a: i64, b: i64) -> f64 {
        if b <= a {
            return 0.0;
        }
        self.cum_at(id, b) - self.cum_at(id, a)
    }

    /// Exact events in `(a, b]`, summed over the counter series named `name` whose labels
    /// include all of `matchers`. Panics if no series matches (a typo, not a zero).
    pub fn events(&self, name: &str, matchers: &[(&str, &str)], a: i64, b: i64) -> f64 {
        let ids = self.find(name, matchers);
        assert!(!ids.is_empty(), "no series {name} with {matchers:?}");
        ids.into_iter().map(|id| self.series_events(id, a, b)).sum()
    }

    /// The series named `name` whose labels include all of `matchers`.
    pub fn find(&self, name: &str, matchers: &[(&str, &str)]) -> Vec<SeriesId> {
        self.all_series()
            .filter(|(_, s)| s.matches(name, matchers))
            .map(|(id, _)| id)
            .collect()
    }

    /// The value written at the last sample at or before `t` (`None` before the first).
    pub fn value_at(&self, id: SeriesId, t: i64) -> Option<f64> {
        match self.count_le(t) {
            0 => None,
            k => Some(self.generated[id.0].values[k - 1]),
        }
    }

    /// `(timestamp, value)` of every sample of `id` in `[a, b)`.
    pub fn samples(&self, id: SeriesId, a: i64, b: i64) -> Vec<(i64, f64)> {
        let (from, to) = (self.count_le(a - 1), self.count_le(b - 1));
        (from..to)
            .map(|i| (self.start + i as i64 * STEP, self.generated[id.0].values[i]))
            .collect()
    }

    /// Number of samples in `[a, b)` per series.
    pub fn sample_count_in(&self, a: i64, b: i64) -> usize {
        self.count_le(b - 1) - self.count_le(a - 1)
    }

    /// Total samples over all series.
    pub fn total_samples(&self) -> usize {
        self.samples_per_series() * self.generated.len()
    }

    /// Writes the OpenMetrics text: one `# TYPE` line per family (families in order of first
    /// appearance), then each of its series' samples in time order, then `# EOF`.
    pub fn write_openmetrics(&self, path: &Path) -> std::io::Result<u64> {
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
                for (i, value) in g.values.iter().enumerate() {
                    line.clear();
                    let t = self.start + i as i64 * STEP;
                    let _ = writeln!(line, "{selector} {} {t}", format_value(*value));
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
}
