//! A scrape's label texts, copied once into one buffer that every family then reads in order.
//!
//! Each family walks all series again, and the snapshot keeps every text in its own `Arc<str>`
//! spread over the heap. With 10,000 SLOs a scrape writes 35 MB, which evicts those texts between
//! families, so nearly every label read missed the cache (measured: most of a scrape's time).
//! Copying them here costs those misses once per scrape instead of once per family.

use crate::engine::snapshot::SloSnapshot;
use crate::spec::labels::RESERVED_SERIES_LABELS;

/// The labels of every SLO series, its alert windows and its alert tiers, back to back.
#[derive(Debug, Default)]
pub(super) struct LabelTable {
    /// Every text, each starting where the one before it ends.
    text: String,
    /// Where each text ends in `text`.
    ends: Vec<usize>,
    rows: Vec<Row>,
}

/// Where one SLO series' texts are in the table, and how many of each kind.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Index in `ends` of the first text.
    first: usize,
    /// Label pairs: name then value, two texts each.
    labels: usize,
    /// Alert windows: one text each.
    windows: usize,
    /// Alert tiers: severity, long window and short window, three texts each.
    alerts: usize,
}

/// One SLO series' texts, borrowed from a [`LabelTable`].
#[derive(Debug, Clone, Copy)]
pub(super) struct SeriesTexts<'t> {
    table: &'t LabelTable,
    row: Row,
}

impl LabelTable {
    /// Copies the texts of `slos`, in order; the series' label pairs are filtered as they are
    /// exported.
    pub(super) fn new(slos: &[SloSnapshot]) -> Self {
        let mut table = Self {
            text: String::with_capacity(slos.len() * 64),
            ends: Vec::with_capacity(slos.len() * 16),
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
        let mut labels = 0;
        for (name, value) in series_labels(slo) {
            self.push(name);
            self.push(value);
            labels += 1;
        }
        for w in &slo.windows {
            self.push(&w.window);
        }
        for a in &slo.alerts {
            self.push(a.severity);
            self.push(&a.long_window);
            self.push(&a.short_window);
        }
        self.rows.push(Row {
            first,
            labels,
            windows: slo.windows.len(),
            alerts: slo.alerts.len(),
        });
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
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
    pub(super) fn labels(self) -> impl Iterator<Item = (&'t str, &'t str)> {
        let first = self.row.first;
        (0..self.row.labels).map(move |i| {
            let at = first + 2 * i;
            (self.table.get(at), self.table.get(at + 1))
        })
    }

    /// The alert windows, in the snapshot's order.
    pub(super) fn windows(self) -> impl Iterator<Item = &'t str> {
        let first = self.row.first + 2 * self.row.labels;
        (first..first + self.row.windows).map(move |i| self.table.get(i))
    }

    /// Each alert tier's `severity`, `long_window` and `short_window`, in the snapshot's order.
    pub(super) fn alerts(self) -> impl Iterator<Item = [(&'static str, &'t str); 3]> {
        let first = self.row.first + 2 * self.row.labels + self.row.windows;
        (0..self.row.alerts).map(move |i| {
            let at = first + 3 * i;
            [
                ("severity", self.table.get(at)),
                ("long_window", self.table.get(at + 1)),
                ("short_window", self.table.get(at + 2)),
            ]
        })
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
