//! Label text written out ahead of time and handed to prometheus-client whole.
//!
//! prometheus-client writes each label in several steps (separator, name, `="`, value checked
//! for escaping, `"`); a scrape of 10,000 SLOs writes 1.4 million labels, and those steps were
//! its largest cost. Labels that repeat on every family of a series are written out once per
//! scrape instead (see [`super::table`]).

use std::fmt::{self, Write};

use prometheus_client::encoding::{EncodeLabel, LabelEncoder};

/// Appends `name="value"` to `out`, escaping the value as both text formats do: `\` as `\\`,
/// `"` as `\"`, newline as `\n` (as prometheus-client's own label value encoder).
pub(super) fn write_label(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    let mut last = 0;
    for (index, byte) in value.bytes().enumerate() {
        let escaped = match byte {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        // The escaped bytes are ASCII, so `index` and `index + 1` are char boundaries.
        out.push_str(value.get(last..index).unwrap_or(""));
        out.push_str(escaped);
        last = index + 1;
    }
    out.push_str(value.get(last..).unwrap_or(""));
    out.push('"');
}

/// Labels written out by [`write_label`] and joined by commas: encoded as they are.
///
/// The text encoders write a label's key verbatim and then the separators around it, so
/// handing the whole text over as one key puts it between the braces unchanged; the value step
/// is skipped, which writes nothing. An empty text writes no label (and no stray comma).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rendered<'a>(pub &'a str);

impl EncodeLabel for Rendered<'_> {
    fn encode(&self, mut encoder: LabelEncoder) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        encoder.encode_label_key()?.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::DescriptorEncoder;
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::Registry;
    use proptest::prelude::*;

    use super::*;

    /// One gauge whose labels are `pairs`, written out ahead (`rendered`) or by the library.
    #[derive(Debug)]
    struct One {
        pairs: Vec<(String, String)>,
        rendered: bool,
    }

    impl Collector for One {
        fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
            let mut metric = encoder.encode_descriptor("x", "h", None, MetricType::Gauge)?;
            let pairs: Vec<(&str, &str)> = self
                .pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            if self.rendered {
                let mut text = String::new();
                for (name, value) in &pairs {
                    if !text.is_empty() {
                        text.push(',');
                    }
                    write_label(&mut text, name, value);
                }
                // A trailing empty text must add nothing, not even a comma.
                let labels = [Rendered(&text), Rendered("")];
                metric.encode_family(&labels)?.encode_gauge(&1_i64)
            } else {
                metric.encode_family(&pairs)?.encode_gauge(&1_i64)
            }
        }
    }

    fn both_formats(pairs: &[(String, String)], rendered: bool) -> (String, String) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(One {
            pairs: pairs.to_vec(),
            rendered,
        }));
        let (mut classic, mut openmetrics) = (String::new(), String::new());
        prometheus_client::encoding::prometheus_text::encode(&mut classic, &registry)
            .unwrap_or_else(|e| panic!("classic: {e}"));
        prometheus_client::encoding::text::encode(&mut openmetrics, &registry)
            .unwrap_or_else(|e| panic!("openmetrics: {e}"));
        (classic, openmetrics)
    }

    #[test]
    fn escapes_as_the_library_does() {
        let pairs = vec![
            ("team".to_string(), "se\"arch\\\nops".to_string()),
            ("route".to_string(), "/päy \"v2\"\\".to_string()),
            ("empty".to_string(), String::new()),
        ];
        assert_eq!(both_formats(&pairs, true), both_formats(&pairs, false));
    }

    proptest! {
        #[test]
        fn writes_what_the_library_writes(
            pairs in proptest::collection::vec(("[a-z_][a-z0-9_]{0,8}", "\\PC{0,12}|[\\\\\"\n a]{0,6}"), 0..4)
        ) {
            prop_assert_eq!(both_formats(&pairs, true), both_formats(&pairs, false));
        }
    }
}
