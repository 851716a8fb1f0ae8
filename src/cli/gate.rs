//! `sloburn gate`: may a deploy of this service go on? For CI pipelines.
//!
//! Exit 0: deploys may go on. Exit 1: the service is frozen (an SLO's budget is below its
//! `policy.freeze_below`, or spent). Exit 2: cannot tell (sloburn unreachable, an error, the
//! service unknown, its data stale, or an SLO of it without data): closed by default,
//! `--fail-open` turns it into 0. A freeze decided by SLOs with data stays a freeze even while
//! another SLO has none: "cannot tell" could be failed open, a known freeze must not be.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Where sloburn serves its API, e.g. http://sloburn:9099.
    #[arg(long, env = "SLOBURN_URL")]
    pub url: String,
    /// The service about to be deployed.
    #[arg(long)]
    pub service: String,
    /// When the answer cannot be known, let the deploy go on (exit 0 instead of 2).
    #[arg(long)]
    pub fail_open: bool,
    /// Give up on sloburn after this long.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// An evaluation older than this counts as stale.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub max_age: Duration,
}

#[derive(Deserialize)]
struct Answer {
    service: String,
    frozen: bool,
    #[serde(default)]
    reasons: Vec<Reason>,
    evaluated_at: Option<f64>,
    fresh: bool,
    /// Absent from sloburn versions before it knew "no data": then nothing is listed.
    #[serde(default)]
    no_data: Vec<NoData>,
}

#[derive(Deserialize)]
struct Reason {
    slo: String,
    remaining: f64,
    freeze_below: f64,
}

#[derive(Deserialize)]
struct NoData {
    slo: String,
    reason: String,
}

enum Verdict {
    Go(String),
    Frozen(String),
    Unknown(String),
}

pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let verdict = runtime.block_on(ask(&args));
    let (code, line) = match verdict {
        Verdict::Go(msg) => (0, msg),
        Verdict::Frozen(msg) => (1, msg),
        Verdict::Unknown(msg) if args.fail_open => {
            (0, format!("{msg}; --fail-open: deploys may go on"))
        }
        Verdict::Unknown(msg) => (
            2,
            format!("{msg}; failing closed (use --fail-open to let deploys go on)"),
        ),
    };
    println!("{line}");
    Ok(ExitCode::from(code))
}

async fn ask(args: &GateArgs) -> Verdict {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let service = &args.service;
    let client = match reqwest::Client::builder().timeout(args.timeout).build() {
        Ok(c) => c,
        Err(e) => return Verdict::Unknown(format!("{service}: cannot tell: {e}")),
    };
    let url = format!("{}/api/v1/gate", args.url.trim_end_matches('/'));
    let response = match client.get(&url).query(&[("service", service)]).send().await {
        Ok(r) => r,
        Err(e) => {
            return Verdict::Unknown(format!(
                "{service}: cannot tell: sloburn at {} does not answer ({e})",
                args.url
            ));
        }
    };
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Verdict::Unknown(format!(
            "{service}: cannot tell: sloburn knows no service {service:?}"
        ));
    }
    if !status.is_success() {
        return Verdict::Unknown(format!(
            "{service}: cannot tell: sloburn answered HTTP {status}"
        ));
    }
    let answer: Answer = match response.json().await {
        Ok(a) => a,
        Err(e) => {
            return Verdict::Unknown(format!("{service}: cannot tell: unreadable answer ({e})"));
        }
    };
    let no_data: Vec<String> = answer
        .no_data
        .iter()
        .map(|n| format!("{} has no data ({})", n.slo, n.reason))
        .collect();
    let age = answer
        .evaluated_at
        .map(|t| super::engine_setup::now_secs() - t);
    if !answer.fresh || age.is_none_or(|a| a > args.max_age.as_secs_f64()) {
        let mut why = vec![match age {
            None => "no evaluation yet".to_string(),
            Some(a) if a > args.max_age.as_secs_f64() => {
                format!("the last evaluation is {a:.0}s old")
            }
            Some(_) => "its SLO data is stale (the source fails)".to_string(),
        }];
        why.extend(no_data);
        return Verdict::Unknown(format!(
            "{}: cannot tell: {}",
            answer.service,
            why.join("; ")
        ));
    }
    if answer.frozen {
        let mut reasons: Vec<String> = answer
            .reasons
            .iter()
            .map(|r| {
                format!(
                    "{} has {:.1}% of its budget left (freeze below {:.1}%)",
                    r.slo,
                    r.remaining * 100.0,
                    r.freeze_below * 100.0
                )
            })
            .collect();
        reasons.extend(no_data);
        return Verdict::Frozen(format!(
            "{}: FROZEN: {}",
            answer.service,
            reasons.join("; ")
        ));
    }
    if !no_data.is_empty() {
        return Verdict::Unknown(format!(
            "{}: cannot tell: {}",
            answer.service,
            no_data.join("; ")
        ));
    }
    Verdict::Go(format!("{}: deploys may go on", answer.service))
}
