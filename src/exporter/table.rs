//! A scrape's label texts, written out once into one buffer that every family then reads in order.
//!
//! Each family walks all series again, and the snapshot keeps every text in its own `Arc<str>`
//! spread over the heap. With 10,000 SLOs a scrape writes 35 MB, which evicts those texts between
//! families, so nearly every label read missed the cache. Copying them here costs those misses
//! once per scrape instead of once per family; writing them out as label text (`name="value"`
//! pairs) here also spares each series the encoder's per-label steps.

use super::rendered::write_label;
use crate::engine::snapshot::SloSnapshot;
use crate::spec::labels::RESERVED_SERIES_LABELS;

/// The label text of every SLO series, its alert windows and its alert tiers, back to back.
#[derive(Debug, Default)]
pub(super) struct LabelTable {
    /// Every text, each starting where the one before it ends.
    text: String,
    /// Where each text ends in `text`.
    ends: Vec<usize>,
    rows: Vec<Row>,
}

/// Where one SLO series' texts are in the table: its own labels, then one text per alert window
/// (`window`), then one per alert tier (`severity`, `long_window`, `short_window`).
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Index in `ends` of the series' own labels.
    first: usize,
    windows: usize,
    alerts: usize,
}

/// One SLO series' label texts, borrowed from a [`LabelTable`].
#[derive(Debug, Clone, Copy)]
pub(super) struct SeriesTexts<'t> {
    table: &'t LabelTable,
    row: Row,
}

impl LabelTable {
    /// Writes out the labels of `slos`, in order.
    pub(super) fn new(slos: &[SloSnapshot]) -> Self {
        let mut table = Self {
            text: String::with_capacity(slos.len() * 256),
            ends: Vec::with_capacity(slos.len() * 8),
            rows: Vec::with_capacity(slos.len()),
        };
        for slo in slos {
            table.push_row(slo);
        }
        table
    }

    /// The series in the order of the slice the table was built from.
    pub(super) fn series(&self) -> impl Iterator<Item = SeriesTexts<'_>> {
        self.rows
            .iter()
            .map(|&row| SeriesTexts { table: self, row })
    }

    fn push_row(&mut self, slo: &SloSnapshot) {
        let first = self.ends.len();
        self.push(series_labels(slo));
        for w in &slo.windows {
            self.push([("window", &*w.window)]);
        }
        for a in &slo.alerts {
            self.push([
                ("severity", a.severity),
                ("long_window", &*a.long_window),
                ("short_window", &*a.short_window),
            ]);
        }
        self.rows.push(Row {
            first,
            windows: slo.windows.len(),
            alerts: slo.alerts.len(),
        });
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

impl<'t> SeriesTexts<'t> {
    /// `service`, `slo`, the spec's labels, then the `group_by` labels.
    pub(super) fn labels(self) -> &'t str {
        self.table.get(self.row.first)
    }

    /// `window`, one text per alert window, in the snapshot's order.
    pub(super) fn windows(self) -> impl Iterator<Item = &'t str> {
        let first = self.row.first + 1;
        (first..first + self.row.windows).map(move |i| self.table.get(i))
    }

    /// `severity`, `long_window` and `short_window`, one text per alert tier, in the snapshot's
    /// order.
    pub(super) fn alerts(self) -> impl Iterator<Item = &'t str> {
        let first = self.row.first + 1 + self.row.windows;
        (first..first + self.row.alerts).map(move |i| self.table.get(i))
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
