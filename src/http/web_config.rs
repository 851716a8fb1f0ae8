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
    /// How client certificates are checked (none without TLS).
    client_auth: ClientAuth,
    /// The document was empty or null: on a reload, more likely a file caught half-written
    /// than a wish to serve open.
    blank: bool,
    /// The files read, each with its stamp taken just before reading it, to notice a change.
    files: Vec<(PathBuf, FileStamp)>,
}

/// Client certificate checking, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ClientAuth {
    NoClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
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
        let before = file_stamp(path);
        let bytes = std::fs::read(path).map_err(|e| WebConfigError {
            location: file.clone(),
            message: format!("cannot read the web config: {e}"),
        })?;
        after_read(path);
        let base = path.parent().unwrap_or(Path::new("."));
        let mut web = Self::parse(&file, &bytes, base)?;
        web.files.insert(0, (path.to_path_buf(), before));
        Ok(web)
    }

    /// Parses web config text; paths in it are relative to `base`.
    pub fn parse(file: &str, bytes: &[u8], base: &Path) -> Result<Self, WebConfigError> {
        let docs = parse_documents(bytes).map_err(|e| WebConfigError {
            location: at(file, e.pos),
            message: e.message,
        })?;
        let Some(doc) = docs.into_iter().next() else {
            return Ok(Self::blank());
        };
        if doc.value.is_null() {
            return Ok(Self::blank());
        }
        let parsed: File = {
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

    /// An empty or null document: no TLS, no auth, no headers.
    fn blank() -> Self {
        Self {
            tls: None,
            users: None,
            headers: Vec::new(),
            warnings: Vec::new(),
            client_auth: ClientAuth::NoClientCert,
            blank: true,
            files: Vec::new(),
        }
    }

    /// Why `self` may not replace `old` on a reload (`None`: it may): it is blank, or drops
    /// TLS or basic auth, or checks client certificates less. Weakening takes a restart, so a
    /// truncated or mistaken file never opens a running server.
    fn weakens(&self, old: &WebSecurity) -> Option<&'static str> {
        if self.blank {
            Some("the file is empty (half-written?)")
        } else if old.tls.is_some() && self.tls.is_none() {
            Some("it drops TLS (tls_server_config)")
        } else if old.users.is_some() && self.users.is_none() {
            Some("it drops basic auth (basic_auth_users)")
        } else if self.client_auth < old.client_auth {
            Some("it checks client certificates less (tls_server_config.client_auth_type)")
        } else {
            None
        }
    }

    /// TLS and auth in a line, to log when they change.
    fn security(&self) -> String {
        let users = match &self.users {
            Some(users) => users.names().join(", "),
            None => "none".into(),
        };
        format!(
            "tls: {}, client certificates: {:?}, basic auth users: {users}",
            if self.tls.is_some() { "on" } else { "off" },
            self.client_auth,
        )
    }

    /// The stamps taken before each file was read.
    fn stamps(&self) -> Stamp {
        self.files.iter().map(|(_, s)| *s).collect()
    }

    fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }
}

struct Context<'a> {
    file: &'a str,
    index: &'a LocIndex,
    base: &'a Path,
    warnings: Vec<String>,
    files: Vec<(PathBuf, FileStamp)>,
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
        let (tls, client_auth) = match file.tls_server_config {
            Some(t) => self.tls(t)?,
            None => None,
        }
        .unzip();
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
            client_auth: client_auth.unwrap_or(ClientAuth::NoClientCert),
            blank: false,
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

    fn users(&mut self, users: BTreeMap<String, String>) -> Result<Users, WebConfigError> {
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
            // The crate parses any two digits; bcrypt runs 4 to 31 only, and a hash outside
            // would load and then refuse everyone.
            if !(4..=31).contains(&cost) {
                return Err(self.error(
                    &path,
                    format!("bcrypt cost {cost} cannot be verified; accepted: a cost from 4 to 31 (10 is usual)"),
                ));
            }
            checked.push((user, hash, cost));
        }
        let costs: std::collections::BTreeSet<u32> = checked.iter().map(|u| u.2).collect();
        if costs.len() > 1 {
            let costs: Vec<String> = costs.iter().map(u32::to_string).collect();
            self.warn(
                "basic_auth_users",
                format!(
                    "the hashes have different bcrypt costs ({}): an unknown user is refused as slowly as the dearest, so the time of a refusal can tell users of cheaper hashes apart; give all the same cost",
                    costs.join(", ")
                ),
            );
        }
        Ok(Users::new(checked))
    }

    fn tls(
        &mut self,
        t: TlsFile,
    ) -> Result<Option<(Arc<rustls::ServerConfig>, ClientAuth)>, WebConfigError> {
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
        let (verify, client_auth) = match auth {
            "" | "NoClientCert" => (None, ClientAuth::NoClientCert),
            "VerifyClientCertIfGiven" => (Some(true), ClientAuth::VerifyClientCertIfGiven),
            "RequireAndVerifyClientCert" => (Some(false), ClientAuth::RequireAndVerifyClientCert),
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
        Ok(Some((Arc::new(config), client_auth)))
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
                let before = file_stamp(&full);
                let bytes = std::fs::read(&full).map_err(|e| {
                    self.error(&path, format!("cannot read {}: {e}", full.display()))
                })?;
                after_read(&full);
                self.files.push((full, before));
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

#[cfg(test)]
type ReadHook = Box<dyn FnMut(&Path)>;

#[cfg(test)]
thread_local! {
    /// Run after each file is read, so a test can change a file between its reading and
    /// anything that follows (the race a stamp taken after reading would lose).
    static AFTER_READ: std::cell::RefCell<Option<ReadHook>> =
        std::cell::RefCell::new(None);
}

#[cfg(test)]
fn after_read(path: &Path) {
    AFTER_READ.with(|hook| {
        if let Some(hook) = hook.borrow_mut().as_mut() {
            hook(path);
        }
    });
}

#[cfg(not(test))]
fn after_read(_: &Path) {}

fn at(file: &str, pos: Option<crate::spec::yaml::Pos>) -> String {
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file.to_string(),
    }
}

/// What a file looked like: its modification time and size (`None`: missing).
type FileStamp = Option<(SystemTime, u64)>;

/// The stamps of a config's files, in order.
type Stamp = Vec<FileStamp>;

/// Taken just before a file is read, never after: a change landing between the read and the
/// stamp would otherwise look already read, and never be loaded.
fn file_stamp(path: &Path) -> FileStamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

fn stamp<'a>(files: impl Iterator<Item = &'a Path>) -> Stamp {
    files.map(file_stamp).collect()
}

/// The web config file, re-read when it or a file it names changes (looked at on each new
/// connection and every [`super::ServeConfig::web_recheck`]: a few `stat` calls), so rotated
/// certificates and changed users apply without a restart. A change that does not load, or
/// that would weaken the config in force (see [`WebSecurity::weakens`]), keeps the last good
/// config; it is logged once per distinct error and tried again at most every
/// [`RETRY_FAILED`] (a fix may be in a file the last good config does not name, such as a new
/// key file).
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
    /// Stamp of the files taken before they were read for `current`, or before a reload that
    /// failed.
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
        let seen = current.stamps();
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The config in force, without looking at the files (no I/O): for each request.
    pub fn in_force(&self) -> Arc<WebSecurity> {
        Arc::clone(&self.lock().current)
    }

    /// The config in force, re-read first if a file changed since (or a failed reload is due
    /// to be tried again). Blocks on file I/O: call it off the async threads.
    pub fn current(&self) -> Arc<WebSecurity> {
        let mut state = self.lock();
        // Before any reading: a change landing during the load shows on the next look.
        let now = stamp(state.current.paths());
        let retry_due = state
            .failed
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() >= self.retry);
        if now == state.seen && !retry_due {
            return Arc::clone(&state.current);
        }
        let refusal = match WebSecurity::load(&self.path) {
            Ok(web) => match web.weakens(&state.current) {
                None => {
                    for w in &web.warnings {
                        tracing::warn!("{w}");
                    }
                    let (before, after) = (state.current.security(), web.security());
                    if before == after && web.users == state.current.users {
                        tracing::info!(file = %self.path.display(), "web config reloaded");
                    } else {
                        tracing::warn!(file = %self.path.display(), %before, %after, "web config reloaded: TLS or basic auth changed");
                    }
                    state.seen = web.stamps();
                    state.current = Arc::new(web);
                    state.failed = None;
                    return Arc::clone(&state.current);
                }
                Some(why) => format!(
                    "{}: refused on reload: {why}; weakening the web config needs a restart",
                    self.path.display()
                ),
            },
            Err(error) => error.to_string(),
        };
        if state.failed.as_ref().is_none_or(|(_, m)| *m != refusal) {
            tracing::error!(error = %refusal, "the changed web config is not used; keeping the previous one");
        }
        state.seen = now;
        state.failed = Some((Instant::now(), refusal));
        Arc::clone(&state.current)
    }

    /// The warnings of the config in force.
    pub fn warnings(&self) -> Vec<String> {
        self.current().warnings.clone()
    }
}

#[cfg(test)]
mod tests;
