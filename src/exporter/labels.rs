//! The label set of one SLO series, encoded from the scrape's [`LabelTable`](super::table).

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use super::table::SeriesTexts;

/// `service`, `slo`, the spec's labels, the `group_by` labels, then `extra`.
pub(super) struct SeriesLabels<'a> {
    pub series: SeriesTexts<'a>,
    pub extra: &'a [(&'a str, &'a str)],
}

impl EncodeLabelSet for SeriesLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for label in self.series.labels() {
            label.encode(encoder.encode_label())?;
        }
        for label in self.extra {
            label.encode(encoder.encode_label())?;
        }
        Ok(())
    }
}
