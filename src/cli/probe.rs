//! `sloburn probe`: a health check for images without curl (distroless): GET a URL, exit 0 on a
//! 2xx answer, 1 otherwise. The Dockerfile's HEALTHCHECK runs it without a URL: it then asks
//! /readyz where `run` listens with the same settings, so a changed port stays healthy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use sloburn::config::Config;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// What to ask, e.g. http://127.0.0.1:9099/healthz. Default: /readyz (ready after the first
    /// evaluation) where `sloburn run` listens with the same settings: --listen, else the
    /// settings file's `listen`, else 127.0.0.1:9099; 0.0.0.0 and [::] are asked on loopback.
    pub url: Option<String>,
    /// The settings file `sloburn run` uses (only its `listen` is read).
    #[arg(long, short, env = "SLOBURN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The address `sloburn run` listens on (overrides the settings file's).
    #[arg(long, env = "SLOBURN_LISTEN")]
    pub listen: Option<String>,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let url = match target(&args) {
        Ok(url) => url,
        Err(e) => {
            // Unhealthy, not a crash: a health check must answer 0 or 1.
            eprintln!("sloburn probe: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (ok, line) = runtime.block_on(ask(&url, args.timeout));
    if ok {
        println!("{line}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("sloburn probe: {line}");
        Ok(ExitCode::from(1))
    }
}

/// The URL to ask: the one given, else /readyz where `run` listens with the same settings.
fn target(args: &ProbeArgs) -> anyhow::Result<String> {
    if let Some(url) = &args.url {
        return Ok(url.clone());
    }
    let listen = match (&args.listen, &args.config) {
        (Some(l), _) => l.clone(),
        (None, Some(path)) => Config::load(path)?.listen,
        (None, None) => Config::default().listen,
    };
    Ok(format!("http://{}/readyz", loopback(&listen)))
}

/// A listen address as a place to connect to: an unspecified IP becomes loopback.
fn loopback(listen: &str) -> String {
    match listen.parse::<SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() => {
            let ip = match a {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(ip, a.port()).to_string()
        }
        _ => listen.to_string(),
    }
}

async fn ask(url: &str, timeout: Duration) -> (bool, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot build an HTTP client: {e}")),
    };
    match client.get(url).send().await {
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let line = format!("{url} {status}: {}", body.trim());
            (status.is_success(), line)
        }
        Err(e) => (false, format!("{url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        assert_eq!(loopback("0.0.0.0:9099"), "127.0.0.1:9099");
        assert_eq!(loopback("[::]:8080"), "[::1]:8080");
        assert_eq!(loopback("10.1.2.3:9099"), "10.1.2.3:9099");
        assert_eq!(loopback("sloburn.local:9099"), "sloburn.local:9099");
    }
}
