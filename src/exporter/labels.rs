//! The label set of one SLO series, encoded from the scrape's [`ScrapeTable`](super::table).

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use super::rendered::Rendered;

/// The series' own labels (`service`, `slo`, the spec's, the `group_by` ones), then `more`
/// (an alert window's or tier's, written out like them; may be empty), then `extra`.
pub(super) struct SeriesLabels<'a> {
    pub series: &'a str,
    pub more: &'a str,
    pub extra: &'a [(&'a str, &'a str)],
}

impl EncodeLabelSet for SeriesLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        Rendered(self.series).encode(encoder.encode_label())?;
        Rendered(self.more).encode(encoder.encode_label())?;
        for label in self.extra {
            label.encode(encoder.encode_label())?;
        }
        Ok(())
    }
}
