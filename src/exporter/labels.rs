//! The label set of one SLO series, encoded straight from the snapshot without copying.

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use crate::engine::snapshot::SloSnapshot;
use crate::spec::labels::RESERVED_SERIES_LABELS;

/// `service`, `slo`, the spec's labels, the `group_by` labels, then `extra`.
pub(super) struct SeriesLabels<'a> {
    pub slo: &'a SloSnapshot,
    pub extra: &'a [(&'a str, &'a str)],
}

impl EncodeLabelSet for SeriesLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        let slo = self.slo;
        ("service", &*slo.service).encode(encoder.encode_label())?;
        ("slo", &*slo.slo).encode(encoder.encode_label())?;
        // The spec loader rejects reserved and clashing names; skipping them here as well keeps
        // one bad series from producing a duplicate label, which would fail the whole scrape.
        for (name, value) in slo.labels.iter() {
            let clashes = slo.group.iter().any(|(g, _)| g == name);
            if !is_reserved(name) && !clashes {
                (name.as_str(), value.as_str()).encode(encoder.encode_label())?;
            }
        }
        for (name, value) in slo.group.iter() {
            if !is_reserved(name) {
                (name.as_str(), value.as_str()).encode(encoder.encode_label())?;
            }
        }
        for (name, value) in self.extra {
            (*name, *value).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

fn is_reserved(name: &str) -> bool {
    RESERVED_SERIES_LABELS.contains(&name)
}
