//! A client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`) with the
//! authentication and tenancy headers of Thanos, Mimir and Cortex, a per-request timeout and a
//! bound on the response size.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Series, SourceError};

/// Largest response body read; a bigger one is a bad response, not an out-of-memory.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// How to reach a Prometheus-compatible API.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub url: String,
    /// Extra headers on every request (e.g. `X-Scope-OrgID` for Mimir and Cortex tenants).
    pub headers: BTreeMap<String, String>,
    pub bearer_token: Option<String>,
    pub basic_auth: Option<(String, String)>,
    /// PEM CA bundle to trust, in addition to the system's.
    pub ca_pem: Option<Vec<u8>>,
    pub insecure_skip_verify: bool,
    pub timeout: Duration,
}

/// Errors building a client from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid Prometheus URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("invalid header {0:?}")]
    Header(String),
    #[error("invalid CA file: {0}")]
    Ca(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// A Prometheus API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// One answer, with what it cost.
#[derive(Debug, Clone)]
pub struct Answer {
    pub series: Vec<Series>,
    pub elapsed: Duration,
}

impl Client {
    pub fn new(cfg: &ClientConfig) -> Result<Self, ClientError> {
        // rustls needs one process-wide crypto provider; ring is the chosen one. A second
        // install (another client) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = cfg.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Url {
                url: cfg.url.clone(),
                reason: "accepted: an http:// or https:// URL".into(),
            });
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| ClientError::Header(k.clone()))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| ClientError::Header(k.clone()))?;
            headers.insert(name, value);
        }
        if let Some(token) = &cfg.bearer_token {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .map_err(|_| ClientError::Header("Authorization".into()))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        if let Some((user, password)) = &cfg.basic_auth {
            use std::io::Write;
            let mut raw = Vec::new();
            let _ = write!(raw, "{user}:{password}");
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Basic {}", base64(&raw)))
                    .map_err(|_| ClientError::Header("Authorization".into()))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(cfg.insecure_skip_verify)
            .user_agent(concat!("sloburn/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &cfg.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::Ca(e.to_string()))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Self {
            http,
            base,
            timeout: cfg.timeout,
        })
    }

    /// Evaluates `expr` at each step in [start, end] (unix seconds).
    pub async fn query_range(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Answer, SourceError> {
        let params = [
            ("query", expr.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ];
        self.get("/api/v1/query_range", &params).await
    }

    /// Evaluates `expr` at one instant (unix seconds).
    pub async fn query(&self, expr: &str, at: i64) -> Result<Answer, SourceError> {
        let params = [("query", expr.to_string()), ("time", at.to_string())];
        self.get("/api/v1/query", &params).await
    }

    /// The types the source's metadata gives for `metric` (`/api/v1/metadata?metric=NAME`):
    /// one entry per distinct metadata its targets report, e.g. `["counter"]`; empty when it has
    /// none (series that were backfilled or remote-written carry no metadata).
    ///
    /// ```no_run
    /// # async fn f(client: sloburn::source::prometheus::Client) -> Result<(), sloburn::source::SourceError> {
    /// let types = client.metadata("http_requests_total").await?;
    /// assert!(types.iter().all(|t| t != "gauge"));
    /// # Ok(()) }
    /// ```
    pub async fn metadata(&self, metric: &str) -> Result<Vec<String>, SourceError> {
        // The metadata endpoint only answers GET.
        let request = self
            .http
            .get(format!("{}/api/v1/metadata", self.base))
            .query(&[("metric", metric)]);
        let (status, body) = self.send(request).await?;
        parse_metadata(status, &body, metric)
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Answer, SourceError> {
        let started = Instant::now();
        // POST with a form body, as Prometheus accepts: long queries do not hit URL limits.
        let request = self.http.post(format!("{}{path}", self.base)).form(params);
        let (status, body) = self.send(request).await?;
        let series = parse_body(status, &body)?;
        Ok(Answer {
            series,
            elapsed: started.elapsed(),
        })
    }

    /// Sends a request and reads its body (bounded): the HTTP status and the bytes.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), SourceError> {
        let response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        let body = read_limited(response).await.map_err(|e| match e {
            // The headers came, the body did not: a malformed answer, not an unreachable source.
            ReadError::Http(e) if !e.is_timeout() => {
                SourceError::BadResponse(format!("answer cut short: {}", error_chain(&e)))
            }
            ReadError::Http(e) => self.classify(e),
            ReadError::TooLarge => {
                SourceError::BadResponse(format!("response larger than {MAX_RESPONSE_BYTES} bytes"))
            }
        })?;
        Ok((status.as_u16(), body))
    }

    fn classify(&self, e: reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout(self.timeout)
        } else {
            SourceError::Unreachable(error_chain(&e))
        }
    }
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[derive(Deserialize)]
// Only `data` is generic: without the bound serde would ask `D: Default` for its `default`.
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
struct ApiResponse<D> {
    status: String,
    #[serde(default)]
    data: Option<D>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The result is kept as raw text until its type is known, then read straight into points: a
/// cold start's answers hold thousands of points, and an intermediate `serde_json::Value` (and a
/// `String` per sample) cost several times the answer itself.
#[derive(Deserialize)]
struct ApiData<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(borrow)]
    result: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct MatrixSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, Sample)>,
    #[serde(default)]
    value: Option<(f64, Sample)>,
}

/// A sample value, written as a string in the API, parsed without keeping the string.
struct Sample(f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Sample;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sample, E> {
                parse_value(v)
                    .map(Sample)
                    .ok_or_else(|| E::custom(format_args!("sample value {v:?} is not a number")))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// The `data` of an API answer, once its status says it is one: the API's JSON error and the
/// HTTP status are turned into the matching [`SourceError`].
fn envelope<'a, D: Deserialize<'a>>(status: u16, body: &'a [u8]) -> Result<D, SourceError> {
    let parsed: Result<ApiResponse<D>, _> = serde_json::from_slice(body);
    let response = match parsed {
        Ok(r) => r,
        Err(e) => {
            if !(200..300).contains(&status) {
                return Err(SourceError::Http {
                    status,
                    body: snippet(body),
                });
            }
            return Err(SourceError::BadResponse(format!(
                "not the Prometheus API's JSON ({e})"
            )));
        }
    };
    // A server failure (5xx) is the source's fault even when its body is Prometheus's JSON
    // error (Prometheus, Thanos and Mimir all send one); a 4xx one is the query's.
    if status >= 500 {
        return Err(SourceError::Http {
            status,
            body: response.error.unwrap_or_else(|| snippet(body)),
        });
    }
    if response.status != "success" {
        return Err(SourceError::Query {
            kind: response
                .error_type
                .unwrap_or_else(|| format!("HTTP {status}")),
            message: response.error.unwrap_or_default(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(SourceError::Http {
            status,
            body: snippet(body),
        });
    }
    response
        .data
        .ok_or_else(|| SourceError::BadResponse("success without data".into()))
}

#[derive(Deserialize)]
struct MetadataEntry {
    #[serde(rename = "type")]
    kind: String,
}

/// The types in a metadata answer for `metric`, without repeats.
fn parse_metadata(status: u16, body: &[u8], metric: &str) -> Result<Vec<String>, SourceError> {
    let mut data: BTreeMap<String, Vec<MetadataEntry>> = envelope(status, body)?;
    let mut types: Vec<String> = data
        .remove(metric)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    types.sort();
    types.dedup();
    Ok(types)
}

/// Parses an API answer into series; vectors become series of one point, a scalar a series
/// without labels.
pub fn parse_body(status: u16, body: &[u8]) -> Result<Vec<Series>, SourceError> {
    let data: ApiData = envelope(status, body)?;
    match data.result_type.as_str() {
        "matrix" | "vector" => {
            let raw: Vec<MatrixSeries> = serde_json::from_str(data.result.get())
                .map_err(|e| SourceError::BadResponse(format!("result: {e}")))?;
            Ok(raw
                .into_iter()
                .map(|s| {
                    let pairs = if s.values.is_empty() {
                        s.value.into_iter().collect()
                    } else {
                        s.values
                    };
                    Series {
                        labels: s.metric,
                        points: pairs.into_iter().map(|(t, v)| (unix_ms(t), v.0)).collect(),
                    }
                })
                .collect())
        }
        "scalar" => {
            let (t, v): (f64, Sample) = serde_json::from_str(data.result.get())
                .map_err(|e| SourceError::BadResponse(format!("scalar: {e}")))?;
            Ok(vec![Series {
                labels: BTreeMap::new(),
                points: vec![(unix_ms(t), v.0)],
            }])
        }
        other => Err(SourceError::BadResponse(format!(
            "unexpected result type {other:?}"
        ))),
    }
}

/// The API writes instants as seconds with up to millisecond precision: kept exactly, since a
/// raw sample's bucket depends on it (119.6 s and 120.4 s fall in different minutes).
fn unix_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// Sample values are strings in the API: numbers, `NaN`, `+Inf`, `-Inf`.
fn parse_value(v: &str) -> Option<f64> {
    match v {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => v.parse().ok(),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
