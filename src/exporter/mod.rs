//! The Prometheus exporter: renders the current [`Snapshot`] on every scrape.
//!
//! One custom [`Collector`](prometheus_client::collector::Collector) reads the snapshot from a
//! shared [`SnapshotCell`], so thousands of SLO series cost no registered per-series state: a
//! scrape clones an `Arc` and writes text from it.

mod cell;
mod collector;
mod format;
mod labels;
mod table;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use prometheus_client::registry::Registry;

pub use cell::SnapshotCell;
pub use format::{Format, negotiate};

#[cfg(doc)]
use crate::engine::snapshot::Snapshot;

/// Why a scrape could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The encoder failed; with a `String` sink this means a metric or label was unencodable.
    #[error("encoding the metrics failed")]
    Encode(#[from] std::fmt::Error),
}

/// The registry behind `/metrics`, with the snapshot collector registered.
///
/// ```
/// use std::sync::Arc;
/// use sloburn::engine::snapshot::Snapshot;
/// use sloburn::exporter::{Exporter, Format, SnapshotCell};
///
/// let cell = Arc::new(SnapshotCell::new());
/// let exporter = Exporter::new(Arc::clone(&cell));
/// cell.publish(Snapshot::default());
/// let text = exporter.encode(Format::Classic)?;
/// assert!(text.contains("# TYPE sloburn_slos gauge"));
/// # Ok::<(), sloburn::exporter::ExportError>(())
/// ```
#[derive(Debug)]
pub struct Exporter {
    registry: Registry,
}

impl Exporter {
    /// An exporter that renders whatever `cell` holds at scrape time.
    pub fn new(cell: Arc<SnapshotCell>) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector::SnapshotCollector::new(cell)));
        Self { registry }
    }

    /// The exposition text of the current snapshot in `format`.
    pub fn encode(&self, format: Format) -> Result<String, ExportError> {
        let mut out = String::new();
        match format {
            Format::Classic => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)?
            }
        }
        Ok(out)
    }
}
