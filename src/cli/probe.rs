//! `sloburn probe`: a health check for images without curl (distroless): GET a URL, exit 0 on a
//! 2xx answer, 1 otherwise. The Dockerfile's HEALTHCHECK runs it on /readyz.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// What to ask: sloburn's /readyz (ready after the first evaluation) or /healthz.
    #[arg(default_value = "http://127.0.0.1:9099/readyz")]
    pub url: String,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (ok, line) = runtime.block_on(ask(&args));
    if ok {
        println!("{line}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("sloburn probe: {line}");
        Ok(ExitCode::from(1))
    }
}

async fn ask(args: &ProbeArgs) -> (bool, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder().timeout(args.timeout).build() {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot build an HTTP client: {e}")),
    };
    match client.get(&args.url).send().await {
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let line = format!("{} {}: {}", args.url, status, body.trim());
            (status.is_success(), line)
        }
        Err(e) => (false, format!("{}: {e}", args.url)),
    }
}
