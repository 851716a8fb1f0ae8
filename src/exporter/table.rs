//! A scrape's label texts and alert window and tier values, gathered once into contiguous buffers
//! that every family then reads in order.
//!
//! Each family walks all series again, and the snapshot keeps every text in its own `Arc<str>`
//! and every series' windows and tiers in their own `Vec`, spread over the heap. With 10,000 SLOs
//! a scrape writes 35 MB, which evicts those between families, so nearly every read of them
//! missed the cache. Gathering them here costs those misses once per scrape instead of once per
//! family; writing the labels out as label text (`name="value"` pairs) here also spares each
//! series the encoder's per-label steps.

use super::rendered::write_label;
use crate::engine::snapshot::SloSnapshot;
use crate::spec::labels::RESERVED_SERIES_LABELS;

/// The label text of every SLO series, its alert windows and its alert tiers, back to back,
/// with the windows' and tiers' values.
#[derive(Debug, Default)]
pub(super) struct ScrapeTable {
    /// Every text, each starting where the one before it ends.
    text: String,
    /// Where each text ends in `text`.
    ends: Vec<usize>,
    windows: Vec<WindowValues>,
    alerts: Vec<AlertValues>,
    rows: Vec<Row>,
}

/// What the window families export of one alert window.
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowValues {
    pub error_ratio: Option<f64>,
    pub burn_rate: Option<f64>,
}

/// What the alert families export of one alert tier.
#[derive(Debug, Clone, Copy)]
pub(super) struct AlertValues {
    pub active: bool,
    pub threshold: f64,
}

/// Where one SLO series' entries are in the table. Its texts: its own labels, then one per alert
/// window (`window`), then one per alert tier (`severity`, `long_window`, `short_window`).
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Index in `ends` of the series' own labels.
    first: usize,
    /// Index in `windows` of the series' first window.
    window_at: usize,
    windows: usize,
    /// Index in `alerts` of the series' first tier.
    alert_at: usize,
    alerts: usize,
}

/// One SLO series' entries, borrowed from a [`ScrapeTable`].
#[derive(Debug, Clone, Copy)]
pub(super) struct SeriesEntry<'t> {
    table: &'t ScrapeTable,
    row: Row,
}

impl ScrapeTable {
    /// Writes out the labels of `slos`, in order.
    pub(super) fn new(slos: &[SloSnapshot]) -> Self {
        let mut table = Self {
            text: String::with_capacity(slos.len() * 256),
            ends: Vec::with_capacity(slos.len() * 8),
            windows: Vec::with_capacity(slos.len() * 4),
            alerts: Vec::with_capacity(slos.len() * 4),
            rows: Vec::with_capacity(slos.len()),
        };
        for slo in slos {
            table.push_row(slo);
        }
        table
    }

    /// The series in the order of the slice the table was built from.
    pub(super) fn series(&self) -> impl Iterator<Item = SeriesEntry<'_>> {
        self.rows
            .iter()
            .map(|&row| SeriesEntry { table: self, row })
    }

    fn push_row(&mut self, slo: &SloSnapshot) {
        let row = Row {
            first: self.ends.len(),
            window_at: self.windows.len(),
            windows: slo.windows.len(),
            alert_at: self.alerts.len(),
            alerts: slo.alerts.len(),
        };
        self.push(series_labels(slo));
        for w in &slo.windows {
            self.push([("window", &*w.window)]);
            self.windows.push(WindowValues {
                error_ratio: w.error_ratio,
                burn_rate: w.burn_rate,
            });
        }
        for a in &slo.alerts {
            self.push([
                ("severity", a.severity),
                ("long_window", &*a.long_window),
                ("short_window", &*a.short_window),
            ]);
            self.alerts.push(AlertValues {
                active: a.active,
                threshold: a.threshold,
            });
        }
        self.rows.push(row);
    }

    /// Appends one text: `labels` as `name="value"` pairs joined by commas.
    fn push<'a>(&mut self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let start = self.text.len();
        for (name, value) in labels {
            if self.text.len() > start {
                self.text.push(',');
            }
            write_label(&mut self.text, name, value);
        }
        self.ends.push(self.text.len());
    }

    /// The text at `index` in `ends`.
    fn get(&self, index: usize) -> &str {
        let start = match index.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(index).copied().unwrap_or(start);
        self.text.get(start..end).unwrap_or("")
    }
}

impl<'t> SeriesEntry<'t> {
    /// `service`, `slo`, the spec's labels, then the `group_by` labels.
    pub(super) fn labels(self) -> &'t str {
        self.table.get(self.row.first)
    }

    /// Each alert window's label (`window`) and values, in the snapshot's order.
    pub(super) fn windows(self) -> impl Iterator<Item = (&'t str, &'t WindowValues)> {
        let first = self.row.first + 1;
        let texts = (first..first + self.row.windows).map(move |i| self.table.get(i));
        let at = self.row.window_at;
        let values = self.table.windows.get(at..at + self.row.windows);
        texts.zip(values.unwrap_or_default())
    }

    /// Each alert tier's labels (`severity`, `long_window`, `short_window`) and values, in the
    /// snapshot's order.
    pub(super) fn alerts(self) -> impl Iterator<Item = (&'t str, &'t AlertValues)> {
        let first = self.row.first + 1 + self.row.windows;
        let texts = (first..first + self.row.alerts).map(move |i| self.table.get(i));
        let at = self.row.alert_at;
        let values = self.table.alerts.get(at..at + self.row.alerts);
        texts.zip(values.unwrap_or_default())
    }
}

/// `service`, `slo`, the spec's labels, then the `group_by` labels.
///
/// The spec loader rejects reserved and clashing names; skipping them here as well keeps one bad
/// series from producing a duplicate label, which would fail the whole scrape.
fn series_labels(slo: &SloSnapshot) -> impl Iterator<Item = (&str, &str)> {
    let own = [("service", &*slo.service), ("slo", &*slo.slo)];
    let spec = slo
        .labels
        .iter()
        .filter(|(name, _)| !is_reserved(name) && !slo.group.iter().any(|(g, _)| g == name));
    let group = slo.group.iter().filter(|(name, _)| !is_reserved(name));
    own.into_iter().chain(
        spec.chain(group)
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )
}

fn is_reserved(name: &str) -> bool {
    RESERVED_SERIES_LABELS.contains(&name)
}
