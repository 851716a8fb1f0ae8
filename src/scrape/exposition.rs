//! A bounded parser of the Prometheus text exposition format and OpenMetrics text: sample lines
//! `name{label="value",...} value [timestamp] [# exemplar]`, `# HELP`/`# TYPE`/`# UNIT`
//! comments, and `# EOF`. Only the samples whose metric name the caller wants are kept, so a
//! target with millions of other series costs time but not memory.

use std::collections::HashSet;

/// One sample of a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Bounds on one scrape.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sample lines read per scrape (all metrics, kept or not).
    pub max_series: usize,
    /// Bytes in one line.
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_series: 200_000,
            max_line_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("more than {0} series in one scrape; raise `max_series` or scrape less")]
    TooManySeries(usize),
}

/// Parses exposition text, keeping the samples whose name is in `wanted` (all when `None`).
///
/// ```
/// use sloburn::scrape::exposition::{parse, Limits};
/// let text = "# TYPE x counter\nx_total{code=\"500\"} 3\nx_total{code=\"200\"} 97 1700000000000\n# EOF\n";
/// let samples = parse(text.as_bytes(), None, &Limits::default()).unwrap();
/// assert_eq!(samples.len(), 2);
/// assert_eq!(samples[0].labels[0], ("code".to_string(), "500".to_string()));
/// ```
pub fn parse(
    bytes: &[u8],
    wanted: Option<&HashSet<String>>,
    limits: &Limits,
) -> Result<Vec<Sample>, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8(e.valid_up_to()))?;
    let mut out = Vec::new();
    let mut series = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r');
        let number = i + 1;
        if line.len() > limits.max_line_bytes {
            return Err(ParseError::Line {
                line: number,
                message: format!("longer than {} bytes", limits.max_line_bytes),
            });
        }
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                break;
            }
            continue;
        }
        series += 1;
        if series > limits.max_series {
            return Err(ParseError::TooManySeries(limits.max_series));
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(ParseError::Line {
                line: number,
                message: "a sample line must start with a metric name".into(),
            });
        }
        if wanted.is_some_and(|w| !w.contains(name)) {
            continue;
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end + 1..]).map_err(|message| ParseError::Line {
                line: number,
                message,
            })?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| ParseError::Line {
            line: number,
            message: "no value".into(),
        })?;
        let value = parse_value(value).ok_or_else(|| ParseError::Line {
            line: number,
            message: format!("{value:?} is not a number"),
        })?;
        // A timestamp and an OpenMetrics exemplar (`# {...} v [t]`) may follow; not needed.
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

type Labels = Vec<(String, String)>;

/// Labels after the `{`; returns them and the text after the `}`.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let name_end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or("unterminated label set")?;
        let name = &s[..name_end];
        if name.is_empty() {
            return Err(format!("expected a label name at {:?}", head(s)));
        }
        s = s[name_end..].trim_start();
        s = s.strip_prefix('=').ok_or("expected = after a label name")?;
        s = s.trim_start();
        s = s.strip_prefix('"').ok_or("a label value must be quoted")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err("unterminated label value".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        s = s[end + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!("expected , or }} at {:?}", head(s)));
        }
    }
}

fn head(s: &str) -> String {
    s.chars().take(20).collect()
}

#[cfg(test)]
mod tests;
