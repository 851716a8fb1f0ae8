//! `sloburn.yaml`: what `sloburn run` reads at start. Flags and `SLOBURN_*` variables override it
//! (the CLI applies them). Secrets are read from files named here and never logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::source::prometheus::ClientConfig;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Spec files or folders.
    #[serde(default)]
    pub specs: Vec<PathBuf>,
    /// A corrections file (entries naming service and slo), reloaded with the specs.
    #[serde(default)]
    pub corrections: Option<PathBuf>,
    /// Address of the HTTP server (`/metrics`, API, status page).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where the durable history lives.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// How long the stored history of an SLO missing from the specs (a file that failed to
    /// load, a spec removed by mistake) is kept before it is deleted; default: the longest
    /// period of the loaded SLOs. `sloburn state prune` deletes it at once.
    #[serde(default, with = "humantime_serde_compat::option")]
    pub absent_history_grace: Option<Duration>,
    /// How often to evaluate. Counter SLIs are read sample by sample up to the tick (the current
    /// minute so far), so a tick at the scrape interval sees each scrape; templated SLIs are
    /// read in whole minutes, so for them ticks under 1m only re-evaluate.
    #[serde(default = "default_interval", with = "humantime_serde_compat")]
    pub evaluation_interval: Duration,
    /// Whether `POST /-/reload` re-reads the specs (SIGHUP always does).
    #[serde(default)]
    pub enable_reload: bool,
    /// TLS, basic auth and response headers of the HTTP server, in the Prometheus
    /// exporter-toolkit web config format (`--web.config.file`).
    #[serde(default)]
    pub web_config_file: Option<PathBuf>,
    #[serde(default)]
    pub source: SourceConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default)]
    pub prometheus: Option<PrometheusConfig>,
    /// Scrape the services' `/metrics` directly, with no Prometheus.
    #[serde(default)]
    pub scrape: Option<crate::scrape::ScrapeConfig>,
}

/// A Prometheus-compatible API (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub url: String,
    /// Sent with every request, e.g. `X-Scope-OrgID: team-a`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Per request.
    #[serde(default = "default_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// How long after its timestamp a sample may still appear in the source (Prometheus stores
    /// a scrape's samples when the scrape ends, stamped with its start): reads end this far
    /// behind now. A sample that appears later is counted with its series' next sample.
    /// Unset: learned from the longest recent `scrape_duration_seconds` (5 s until known).
    #[serde(default, with = "humantime_serde_compat::option")]
    pub query_lag: Option<Duration>,
    /// Queries in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

fn default_listen() -> String {
    "127.0.0.1:9099".into()
}
/// Where the durable history lives unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "sloburn-state";

fn default_state_dir() -> PathBuf {
    PathBuf::from(DEFAULT_STATE_DIR)
}
fn default_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_concurrency() -> usize {
    8
}

impl Default for Config {
    fn default() -> Self {
        Self {
            specs: Vec::new(),
            corrections: None,
            listen: default_listen(),
            state_dir: default_state_dir(),
            absent_history_grace: None,
            evaluation_interval: default_interval(),
            enable_reload: false,
            web_config_file: None,
            source: SourceConfig::default(),
        }
    }
}

impl PrometheusConfig {
    /// A source pointing at `url` with every default.
    pub fn with_url(url: &str) -> Self {
        Self {
            url: url.to_string(),
            headers: BTreeMap::new(),
            bearer_token_file: None,
            basic_auth: None,
            tls: None,
            timeout: default_timeout(),
            query_lag: None,
            concurrency: default_concurrency(),
        }
    }

    /// Reads the secret files and builds the client configuration.
    pub fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| ConfigError::Secret {
                file: p.display().to_string(),
                reason: e.to_string(),
            })
        };
        let bearer_token = match &self.bearer_token_file {
            Some(p) => Some(read(p)?.trim().to_string()),
            None => None,
        };
        let basic_auth = match &self.basic_auth {
            Some(b) => Some((
                b.username.clone(),
                read(&b.password_file)?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            )),
            None => None,
        };
        let ca_pem = match self.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            Some(p) => Some(std::fs::read(p).map_err(|e| ConfigError::Secret {
                file: p.display().to_string(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        Ok(ClientConfig {
            url: self.url.clone(),
            headers: self.headers.clone(),
            bearer_token,
            basic_auth,
            ca_pem,
            insecure_skip_verify: self.tls.as_ref().is_some_and(|t| t.insecure_skip_verify),
            timeout: self.timeout,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("cannot read the secret file {file}: {reason}")]
    Secret { file: String, reason: String },
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Parses configuration text; errors name the line, column and field.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let docs = crate::spec::yaml::parse_documents(text.as_bytes()).map_err(|e| {
            ConfigError::Parse {
                file: at(file, e.pos),
                message: e.message,
            }
        })?;
        let Some(doc) = docs.into_iter().next() else {
            return Ok(Self::default());
        };
        serde_path_to_error::deserialize(&doc.value).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Parse {
                file: at(file, doc.index.find(&path)),
                message: format!("{path}: {}", e.inner()),
            }
        })
    }
}

fn at(file: &str, pos: Option<crate::spec::yaml::Pos>) -> String {
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file.to_string(),
    }
}

/// humantime durations (`30s`, `1m`, `1h 30m`) in serde.
pub(crate) mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?}: {e}; accepted: durations such as 30s, 1m, 1h30m"
            ))
        })
    }

    /// The same for an optional field (with `#[serde(default)]`).
    pub mod option {
        use std::time::Duration;

        use serde::Deserializer;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

#[cfg(test)]
mod tests;
