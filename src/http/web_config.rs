//! `--web.config.file`: TLS, client certificates, basic auth and response headers for the HTTP
//! server, in the Prometheus exporter-toolkit format, so one file serves node_exporter and
//! sloburn alike.
//!
//! What maps onto rustls is honoured; what does not (Go cipher-suite and curve names, unverified
//! client certificates, TLS 1.0/1.1, SAN allow-lists, rate limits) is refused with a positioned
//! error rather than silently ignored, since ignoring a security setting reads as having it.
//! Paths are relative to the file's directory, as in the toolkit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hyper::header::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

use super::auth::Users;
use crate::spec::yaml::{LocIndex, parse_documents};

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    /// Known to the toolkit, not supported here: refused when set.
    #[serde(default)]
    rate_limit: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<serde_json::Value>,
    #[serde(default)]
    curve_preferences: Option<serde_json::Value>,
    #[serde(default)]
    client_allowed_sans: Option<serde_json::Value>,
    /// A no-op in Go since 1.18; accepted with a warning.
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

/// The headers the toolkit lets a web config set, with the values it accepts (`None`: any).
/// Anything else could break the API's own headers, so it is refused as the toolkit does.
const ALLOWED_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
];

/// A web config ready to serve with.
#[derive(Debug)]
pub struct WebSecurity {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `None`: no basic auth.
    pub users: Option<Users>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// What was accepted but has no effect, positioned like errors.
    pub warnings: Vec<String>,
    /// The files read, to notice a change.
    files: Vec<PathBuf>,
}

/// A web config that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct WebConfigError {
    /// `file`, or `file:line:column`.
    pub location: String,
    /// The field path and what is wrong, with what is accepted.
    pub message: String,
}

impl WebSecurity {
    /// Reads and checks the file and everything it names (certificates, keys, hashes).
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| WebConfigError {
            location: file.clone(),
            message: format!("cannot read the web config: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut web = Self::parse(&file, &bytes, base)?;
        web.files.insert(0, path.to_path_buf());
        Ok(web)
    }

    /// Parses web config text; paths in it are relative to `base`.
    pub fn parse(file: &str, bytes: &[u8], base: &Path) -> Result<Self, WebConfigError> {
        let docs = parse_documents(bytes).map_err(|e| WebConfigError {
            location: at(file, e.pos),
            message: e.message,
        })?;
        let Some(doc) = docs.into_iter().next() else {
            return Ok(Self::plain());
        };
        let parsed: File = if doc.value.is_null() {
            File::default()
        } else {
            serde_path_to_error::deserialize(&doc.value).map_err(|e| {
                let path = e.path().to_string();
                WebConfigError {
                    location: at(file, doc.index.find(&path)),
                    message: format!("{path}: {}", e.inner()),
                }
            })?
        };
        let mut cx = Context {
            file,
            index: &doc.index,
            base,
            warnings: Vec::new(),
            files: Vec::new(),
        };
        cx.build(parsed)
    }

    /// No TLS, no auth, no headers.
    fn plain() -> Self {
        Self {
            tls: None,
            users: None,
            headers: Vec::new(),
            warnings: Vec::new(),
            files: Vec::new(),
        }
    }
}

struct Context<'a> {
    file: &'a str,
    index: &'a LocIndex,
    base: &'a Path,
    warnings: Vec<String>,
    files: Vec<PathBuf>,
}

impl Context<'_> {
    fn error(&self, path: &str, message: impl std::fmt::Display) -> WebConfigError {
        WebConfigError {
            location: at(self.file, self.index.find(path)),
            message: format!("{path}: {message}"),
        }
    }

    fn warn(&mut self, path: &str, message: impl std::fmt::Display) {
        let e = self.error(path, message);
        self.warnings.push(e.to_string());
    }

    fn build(&mut self, file: File) -> Result<WebSecurity, WebConfigError> {
        if file.rate_limit.is_some() {
            return Err(self.error(
                "rate_limit",
                "not supported by sloburn; remove it (the server caps concurrent connections instead, see the README's server limits)",
            ));
        }
        let tls = match file.tls_server_config {
            Some(t) => self.tls(t)?,
            None => None,
        };
        let mut headers = Vec::new();
        if let Some(http) = file.http_server_config {
            if http.http2 == Some(true) {
                self.warn(
                    "http_server_config.http2",
                    "has no effect: sloburn serves HTTP/1.1 only",
                );
            }
            for (name, value) in http.headers.unwrap_or_default() {
                if let Some(h) = self.header(&name, &value)? {
                    headers.push(h);
                }
            }
        }
        let users = match file.basic_auth_users {
            Some(users) if !users.is_empty() => Some(self.users(users)?),
            _ => None,
        };
        if users.is_some() && tls.is_none() {
            self.warn(
                "basic_auth_users",
                "passwords travel in clear text without tls_server_config",
            );
        }
        Ok(WebSecurity {
            tls,
            users,
            headers,
            warnings: std::mem::take(&mut self.warnings),
            files: std::mem::take(&mut self.files),
        })
    }

    fn header(
        &self,
        name: &str,
        value: &str,
    ) -> Result<Option<(HeaderName, HeaderValue)>, WebConfigError> {
        let path = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(self.error(
                &path,
                format!(
                    "this header cannot be configured; accepted: {}",
                    names.join(", ")
                ),
            ));
        };
        // Blank means unset, as in the toolkit.
        if value.is_empty() {
            return Ok(None);
        }
        if let Some(allowed) = allowed
            && !allowed.contains(&value)
        {
            return Err(self.error(
                &path,
                format!(
                    "{value:?} is not accepted; accepted: {}",
                    allowed.join(", ")
                ),
            ));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| self.error(&path, "not a valid header value (control characters?)"))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| self.error(&path, "not a valid header name"))?;
        Ok(Some((name, value)))
    }

    fn users(&self, users: BTreeMap<String, String>) -> Result<Users, WebConfigError> {
        let mut checked = Vec::new();
        for (user, hash) in users {
            let path = format!("basic_auth_users.{user}");
            if user.contains(':') {
                return Err(self.error(&path, "a user name cannot hold ':' in basic auth"));
            }
            let cost = hash
                .parse::<bcrypt::HashParts>()
                .map(|h| h.get_cost())
                .map_err(|_| {
                    // Never echo the value: it may be a plain-text password.
                    self.error(
                        &path,
                        "not a bcrypt hash; accepted: a hash such as `$2y$10$...` (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`), never the password itself",
                    )
                })?;
            checked.push((user, hash, cost));
        }
        Ok(Users::new(checked))
    }

    fn tls(&mut self, t: TlsFile) -> Result<Option<Arc<rustls::ServerConfig>>, WebConfigError> {
        const P: &str = "tls_server_config";
        // Any field set means TLS was meant: a config with, say, only `min_version` is an
        // error (no certificate), never plain HTTP in silence.
        let empty = t.cert.is_none()
            && t.key.is_none()
            && t.cert_file.is_none()
            && t.key_file.is_none()
            && t.client_ca.is_none()
            && t.client_ca_file.is_none()
            && t.client_auth_type.is_none()
            && t.min_version.is_none()
            && t.max_version.is_none()
            && t.cipher_suites.is_none()
            && t.curve_preferences.is_none()
            && t.client_allowed_sans.is_none()
            && t.prefer_server_cipher_suites.is_none();
        if empty {
            return Ok(None);
        }
        for (field, set, why) in [
            (
                "cipher_suites",
                t.cipher_suites.is_some(),
                "rustls chooses among its own safe suites (Go suite names do not map onto them); remove it",
            ),
            (
                "curve_preferences",
                t.curve_preferences.is_some(),
                "rustls chooses among its own key-exchange groups; remove it",
            ),
            (
                "client_allowed_sans",
                t.client_allowed_sans.is_some(),
                "not supported by sloburn yet; give clients certificates from a CA of their own (client_ca_file) instead",
            ),
        ] {
            if set {
                return Err(self.error(&format!("{P}.{field}"), format!("not supported: {why}")));
            }
        }
        if t.prefer_server_cipher_suites.is_some() {
            self.warn(
                &format!("{P}.prefer_server_cipher_suites"),
                "has no effect (as in Go since 1.18)",
            );
        }
        let cert = self.pem(P, "cert", t.cert, t.cert_file)?;
        let key = self.pem(P, "key", t.key, t.key_file)?;
        let (cert_field, cert) = cert.ok_or_else(|| {
            self.error(P, "missing cert_file (or cert): the server's certificate")
        })?;
        let (key_field, key) = key
            .ok_or_else(|| self.error(P, "missing key_file (or key): the server's private key"))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(&cert_field, format!("not a PEM certificate: {e}")))?;
        if chain.is_empty() {
            return Err(self.error(
                &cert_field,
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| self.error(&key_field, format!("no PEM private key found: {e}")))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = self.versions(t.min_version.as_deref(), t.max_version.as_deref())?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| self.error(P, e))?;

        let auth_path = format!("{P}.client_auth_type");
        let auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
        let ca = self.pem(P, "client_ca", t.client_ca, t.client_ca_file)?;
        let verify = match auth {
            "" | "NoClientCert" => None,
            "VerifyClientCertIfGiven" => Some(true),
            "RequireAndVerifyClientCert" => Some(false),
            "RequestClientCert" | "RequireAnyClientCert" => {
                return Err(self.error(
                    &auth_path,
                    format!(
                        "{auth} accepts client certificates without verifying them, which sloburn does not do; accepted: NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
                    ),
                ));
            }
            other => {
                return Err(self.error(
                    &auth_path,
                    format!(
                        "unknown {other:?}; accepted: NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
                    ),
                ));
            }
        };
        let builder = match (verify, ca) {
            (None, None) => builder.with_no_client_auth(),
            (None, Some((ca_field, _))) => {
                return Err(self.error(
                    &ca_field,
                    "a client CA is given but client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)",
                ));
            }
            (Some(_), None) => {
                return Err(self.error(
                    &auth_path,
                    format!("{auth} needs client_ca_file (or client_ca): the CA that signs the clients' certificates"),
                ));
            }
            (Some(optional), Some((ca_field, pem))) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| {
                        self.error(&ca_field, format!("not a PEM certificate: {e}"))
                    })?;
                    roots.add(cert).map_err(|e| {
                        self.error(&ca_field, format!("not a usable CA certificate: {e}"))
                    })?;
                }
                if roots.is_empty() {
                    return Err(self.error(&ca_field, "holds no PEM certificate"));
                }
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if optional {
                    verifier = verifier.allow_unauthenticated();
                }
                let verifier = verifier.build().map_err(|e| self.error(&ca_field, e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            self.error(
                &key_field,
                format!("the certificate and key do not make a pair: {e}"),
            )
        })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(config)))
    }

    /// Inline PEM (`field`) or a file (`field_file`), never both; returns the field read.
    fn pem(
        &mut self,
        parent: &str,
        field: &str,
        inline: Option<String>,
        file: Option<String>,
    ) -> Result<Option<(String, Vec<u8>)>, WebConfigError> {
        match (inline, file) {
            (Some(_), Some(_)) => Err(self.error(
                &format!("{parent}.{field}_file"),
                format!("give {field} or {field}_file, not both"),
            )),
            (Some(text), None) => Ok(Some((format!("{parent}.{field}"), text.into_bytes()))),
            (None, Some(name)) => {
                let path = format!("{parent}.{field}_file");
                if name.is_empty() {
                    return Err(self.error(&path, "is empty; give a file name"));
                }
                let full = self.base.join(&name);
                let bytes = std::fs::read(&full).map_err(|e| {
                    self.error(&path, format!("cannot read {}: {e}", full.display()))
                })?;
                self.files.push(full);
                Ok(Some((path, bytes)))
            }
            (None, None) => Ok(None),
        }
    }

    fn versions(
        &self,
        min: Option<&str>,
        max: Option<&str>,
    ) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, WebConfigError> {
        let parse = |field: &str, value: Option<&str>, default: u8| {
            match value {
            None | Some("") => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(v @ ("TLS10" | "TLS11")) => Err(self.error(
                &format!("tls_server_config.{field}"),
                format!("{v} is not supported (rustls speaks TLS 1.2 and 1.3 only); accepted: TLS12, TLS13"),
            )),
            Some(v) => Err(self.error(
                &format!("tls_server_config.{field}"),
                format!("unknown {v:?}; accepted: TLS12, TLS13"),
            )),
        }
        };
        let min = parse("min_version", min, 12)?;
        let max = parse("max_version", max, 13)?;
        if min > max {
            return Err(self.error("tls_server_config.max_version", "is below min_version"));
        }
        Ok(
            [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(v, _)| (min..=max).contains(v))
                .map(|(_, p)| p)
                .collect(),
        )
    }
}

fn at(file: &str, pos: Option<crate::spec::yaml::Pos>) -> String {
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file.to_string(),
    }
}

/// What a file looked like when last read: its modification time and size (`None`: missing).
type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
        })
        .collect()
}

/// The web config file, re-read when it or a file it names changes (checked on each new
/// connection: a few `stat` calls), so rotated certificates and changed users apply without a
/// restart. A change that does not load keeps the last good config; it is logged once per
/// distinct error and tried again at most every [`RETRY_FAILED`] (a fix may be in a file the
/// last good config does not name, such as a new key file).
#[derive(Debug)]
pub struct WebConfigSource {
    path: PathBuf,
    retry: Duration,
    state: Mutex<Loaded>,
}

/// How often a web config that failed to load is tried again while its files look unchanged.
pub const RETRY_FAILED: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Loaded {
    current: Arc<WebSecurity>,
    /// Stamp of the files when `current` was read, or when a reload last failed.
    seen: Stamp,
    /// The last failed reload: when, and its message (logged once).
    failed: Option<(Instant, String)>,
}

impl WebConfigSource {
    /// Loads the file; an error here keeps sloburn from starting.
    pub fn open(path: &Path) -> Result<Self, WebConfigError> {
        Self::open_retrying(path, RETRY_FAILED)
    }

    fn open_retrying(path: &Path, retry: Duration) -> Result<Self, WebConfigError> {
        let current = WebSecurity::load(path)?;
        let seen = stamp(&current.files);
        Ok(Self {
            path: path.to_path_buf(),
            retry,
            state: Mutex::new(Loaded {
                current: Arc::new(current),
                seen,
                failed: None,
            }),
        })
    }

    /// The config in force, re-read first if a file changed since (or a failed reload is due
    /// to be tried again).
    pub fn current(&self) -> Arc<WebSecurity> {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = stamp(&state.current.files);
        let retry_due = state
            .failed
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() >= self.retry);
        if now == state.seen && !retry_due {
            return Arc::clone(&state.current);
        }
        match WebSecurity::load(&self.path) {
            Ok(web) => {
                for w in &web.warnings {
                    tracing::warn!("{w}");
                }
                tracing::info!(file = %self.path.display(), "web config reloaded");
                state.seen = stamp(&web.files);
                state.current = Arc::new(web);
                state.failed = None;
            }
            Err(error) => {
                let message = error.to_string();
                if state.failed.as_ref().is_none_or(|(_, m)| *m != message) {
                    tracing::error!(%error, "the changed web config does not load; keeping the previous one");
                }
                state.seen = now;
                state.failed = Some((Instant::now(), message));
            }
        }
        Arc::clone(&state.current)
    }

    /// The warnings of the config in force.
    pub fn warnings(&self) -> Vec<String> {
        self.current().warnings.clone()
    }
}

#[cfg(test)]
mod tests;
