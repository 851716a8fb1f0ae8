//! Exposition formats and content negotiation.

/// The text format of a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4, what every scraper understands.
    Classic,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` header of a response in this format.
    ///
    /// ```
    /// use sloburn::exporter::Format;
    /// assert_eq!(Format::Classic.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Picks the format for a request's `Accept` header: OpenMetrics when the client asks for
/// `application/openmetrics-text` at least as strongly as for classic text, classic otherwise.
///
/// ```
/// use sloburn::exporter::{Format, negotiate};
/// assert_eq!(negotiate(None), Format::Classic);
/// assert_eq!(
///     negotiate(Some("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.4")),
///     Format::OpenMetrics
/// );
/// assert_eq!(negotiate(Some("text/plain, */*")), Format::Classic);
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Classic;
    };
    let mut openmetrics = 0.0_f64;
    let mut classic = 0.0_f64;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .filter(|q| q.is_finite())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics = openmetrics.max(q);
        } else if media.eq_ignore_ascii_case("text/plain") {
            classic = classic.max(q);
        }
    }
    // Prometheus lists OpenMetrics first with the higher q; a tie also goes to OpenMetrics
    // because only a client that names it at all can parse it.
    if openmetrics > 0.0 && openmetrics >= classic {
        Format::OpenMetrics
    } else {
        Format::Classic
    }
}
