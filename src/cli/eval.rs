//! `sloburn eval`: one evaluation without state, for people and CI.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use sloburn::config::PrometheusConfig;
use sloburn::engine::plan::QueryPlan;
use sloburn::engine::runner::{Reach, Source};
use sloburn::engine::snapshot::Snapshot;

use super::Output;
use super::engine_setup::{build_engine_from, init_logging, now_secs, prometheus_source};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A corrections file (budget corrections naming service and slo), as `run --corrections`.
    #[arg(long)]
    pub corrections: Option<PathBuf>,
    /// The Prometheus-compatible API to read.
    #[arg(long, env = "SLOBURN_PROMETHEUS_URL")]
    pub prometheus_url: String,
    /// The instant to evaluate at: RFC 3339 or Unix seconds, as Prometheus's API takes. Default:
    /// now minus the query lag.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<f64>,
    /// How late a sample may show in the source, when --at is not given (as `sloburn run`'s)
    /// [default: learned from the scrape durations once before the read, else 5s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub query_lag: Option<Duration>,
    /// Per request.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[arg(long, short, value_enum, default_value_t)]
    pub output: Output,
    #[arg(long, env = "SLOBURN_LOG", default_value = "warn")]
    pub log: String,
}

/// RFC 3339 or Unix seconds.
fn parse_time(s: &str) -> Result<f64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        return Ok(secs);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0)
        .map_err(|_| {
            format!("{s:?}: accepted: RFC 3339 (2026-11-26T12:00:00Z) or Unix seconds (1795000000)")
        })
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    init_logging(&args.log);
    let report = sloburn::spec::corrections::load_with(&args.paths, args.corrections.as_deref());
    for e in report.errors() {
        eprintln!("error  {e}");
    }
    // The corrections file's warnings: entries that name no loaded SLO.
    let corrections = args.corrections.as_ref().map(|p| p.display().to_string());
    for f in report
        .files
        .iter()
        .filter(|f| Some(&f.file) == corrections.as_ref())
    {
        for w in &f.warnings {
            eprintln!("warn   {w}");
        }
    }
    let slos: Vec<_> = report.slos().cloned().collect();
    if slos.is_empty() {
        bail!("no valid SLO to evaluate");
    }
    let mut prometheus = PrometheusConfig::with_url(&args.prometheus_url);
    prometheus.timeout = args.timeout;
    prometheus.query_lag = args.query_lag;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let terminal = std::io::stderr().is_terminal();
    let count = slos.len();
    let at = args.at;
    let snapshot = runtime.block_on(async move {
        let mut source = prometheus_source(&prometheus)?;
        let (reach, now) = match at {
            // A past instant: everything the source will show is in.
            Some(at) => (Reach::at(at, Duration::ZERO), at),
            None => {
                // As `run` would read now: the lag learned once (when not set) before the read.
                let plans: Vec<QueryPlan> = slos.iter().map(QueryPlan::new).collect();
                source.learn_lag(&plans, now_secs()).await;
                let now = now_secs();
                (Reach::at(now, source.lag()), now)
            }
        };
        let mut engine = build_engine_from(slos, source, &prometheus, None)?;
        // A progress bar on a terminal: the whole period of every SLO is read, which takes a
        // while for many SLOs.
        let bar = terminal.then(|| {
            let progress = engine.progress.clone();
            tokio::spawn(async move {
                loop {
                    let done = progress.load(std::sync::atomic::Ordering::Relaxed);
                    let filled = done * 30 / count.max(1);
                    eprint!(
                        "\r[{}{}] {done}/{count} SLOs",
                        "#".repeat(filled),
                        " ".repeat(30 - filled)
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        let snapshot = engine.tick(reach, now).await;
        if let Some(bar) = bar {
            bar.abort();
            eprintln!("\r[{}] {count}/{count} SLOs", "#".repeat(30));
        }
        for s in &engine.slos {
            if let Some(e) = &s.last_error {
                eprintln!("error  {}: {e}", s.slo.id());
            }
        }
        anyhow::Ok(snapshot)
    })?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &snapshot)?;
            writeln!(out)?;
        }
        Output::Table => write_table(&mut out, &snapshot)?,
    }
    Ok(if all_known(&snapshot) && report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether every series was read fresh and has data. No data fails the run as stale data does:
/// a CI check must not pass on a mistyped selector.
fn all_known(snapshot: &Snapshot) -> bool {
    snapshot.slos.iter().all(|s| s.fresh && s.data_present)
}

fn write_table(out: &mut impl Write, snapshot: &Snapshot) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<44} {:>8} {:>10} {:>10}  {:<40} alerts",
        "SLO", "target", "remaining", "period SLI", "burn rates"
    )?;
    for s in &snapshot.slos {
        let mut name = format!("{}/{}", s.service, s.slo);
        if !s.group.is_empty() {
            let g: Vec<String> = s.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            name.push_str(&format!("{{{}}}", g.join(",")));
        }
        let (Some(remaining), Some(period_ratio)) =
            (s.error_budget_remaining, s.period_error_ratio)
        else {
            let reason = s.no_data_reason.as_deref().unwrap_or("unknown reason");
            writeln!(
                out,
                "{:<44} {:>7}% no data ({reason}){}",
                name,
                s.objective * 100.0,
                if s.fresh { "" } else { "  (stale)" }
            )?;
            continue;
        };
        let burns: Vec<String> = s
            .windows
            .iter()
            .map(|w| match w.burn_rate {
                Some(b) => format!("{}:{b:.2}", w.window),
                None => format!("{}:-", w.window),
            })
            .collect();
        let mut alerts: Vec<String> = s
            .alerts
            .iter()
            .filter(|a| a.active || a.low_traffic || a.held_by_correction)
            .map(|a| {
                // A burn the low-traffic guard or a correction holds back is shown, marked (in
                // the status page's words), not hidden.
                let held = if a.active {
                    ""
                } else if a.held_by_correction {
                    " held (correction)"
                } else {
                    " held back (low traffic)"
                };
                format!("{} {}/{}{held}", a.severity, a.long_window, a.short_window)
            })
            .collect();
        if let Some(e) = s.exhaustion_alert.as_ref().filter(|e| e.active) {
            alerts.push(format!("{} running out within {}", e.severity, e.within));
        }
        if let Some(e) = s.exhaustion_alert.as_ref().filter(|e| e.held_by_correction) {
            alerts.push(format!(
                "{} running out within {} held (correction)",
                e.severity, e.within
            ));
        }
        writeln!(
            out,
            "{:<44} {:>7}% {:>9.1}% {:>9.4}%  {:<40} {}{}",
            name,
            s.objective * 100.0,
            remaining * 100.0,
            (1.0 - period_ratio) * 100.0,
            burns.join(" "),
            if alerts.is_empty() {
                "-".to_string()
            } else {
                alerts.join(", ")
            },
            if s.fresh { "" } else { "  (stale)" }
        )?;
    }
    for svc in &snapshot.services {
        if svc.frozen {
            writeln!(
                out,
                "service {} is FROZEN (budget below its freeze policy)",
                svc.service
            )?;
        }
        if !svc.no_data.is_empty() {
            let which: Vec<&str> = svc.no_data.iter().map(|n| n.slo.as_str()).collect();
            writeln!(
                out,
                "service {}: cannot tell whether to freeze, no data for {}",
                svc.service,
                which.join(", ")
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sloburn::engine::snapshot::{NoDataReason, ServiceSnapshot, SloSnapshot, WindowSnapshot};

    use super::*;

    fn series(name: &str, remaining: Option<f64>) -> SloSnapshot {
        SloSnapshot {
            service: "shop".into(),
            slo: name.into(),
            objective: 0.999,
            windows: vec![WindowSnapshot {
                window: "1h".into(),
                seconds: 3600.0,
                error_ratio: remaining.map(|_| 0.0005),
                burn_rate: remaining.map(|_| 0.5),
                bad: 0.0,
                total: 0.0,
            }],
            data_present: remaining.is_some(),
            no_data_reason: remaining
                .is_none()
                .then(|| "no series matches pay_total".into()),
            period_error_ratio: remaining.map(|r| 0.001 * (1.0 - r)),
            error_budget_remaining: remaining,
            fresh: true,
            ..SloSnapshot::default()
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            evaluated_at: Some(1_700_000_000.0),
            slos: vec![series("checkout", Some(0.8)), series("charge", None)],
            services: vec![ServiceSnapshot {
                service: "shop".into(),
                fresh: true,
                no_data: vec![NoDataReason {
                    slo: "charge".into(),
                    reason: "no series matches pay_total".into(),
                }],
                ..ServiceSnapshot::default()
            }],
            ..Snapshot::default()
        }
    }

    fn table(snapshot: &Snapshot) -> String {
        let mut out = Vec::new();
        write_table(&mut out, snapshot).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_series_without_data_prints_no_data_and_why() {
        let text = table(&snapshot());
        let line = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no line for {name}:\n{text}"))
                .to_string()
        };
        let charge = line("shop/charge");
        assert!(
            charge.ends_with("99.9% no data (no series matches pay_total)"),
            "{charge}"
        );
        let checkout = line("shop/checkout");
        assert!(
            checkout.contains("80.0%") && checkout.contains("1h:0.50"),
            "{checkout}"
        );
        assert!(
            text.contains("service shop: cannot tell whether to freeze, no data for charge"),
            "{text}"
        );
    }

    /// A firing row is listed; a burn the low-traffic guard holds back is listed with the
    /// status page's words; a quiet row is not listed.
    #[test]
    fn a_burn_held_back_by_low_traffic_is_marked_as_on_the_status_page() {
        use sloburn::engine::snapshot::AlertSnapshot;
        let row = |severity, long: &str, short: &str, active, low_traffic| AlertSnapshot {
            severity,
            long_window: long.into(),
            short_window: short.into(),
            active,
            low_traffic,
            min_events: 10,
            ..AlertSnapshot::default()
        };
        let mut snap = snapshot();
        snap.slos.truncate(1);
        snap.slos[0].alerts = vec![
            row("page", "1h", "5m", false, true),
            row("page", "6h", "30m", false, false),
            row("ticket", "1d", "2h", true, false),
        ];
        let text = table(&snap);
        assert!(
            text.contains("page 1h/5m held back (low traffic), ticket 1d/2h"),
            "{text}"
        );
        assert!(!text.contains("6h/30m"), "{text}");
    }

    /// An active exhaustion alert is listed after the rows, with its tier and bound; an
    /// inactive one is not.
    #[test]
    fn an_active_exhaustion_alert_is_listed() {
        use sloburn::engine::snapshot::ExhaustionAlertSnapshot;
        let mut snap = snapshot();
        snap.slos.truncate(1);
        let alert = |active| ExhaustionAlertSnapshot {
            severity: "ticket",
            within: "2h".into(),
            within_seconds: 7200.0,
            active,
            disabled: false,
            held_by_correction: false,
        };
        snap.slos[0].exhaustion_alert = Some(alert(false));
        assert!(!table(&snap).contains("running out"));
        snap.slos[0].exhaustion_alert = Some(alert(true));
        let text = table(&snap);
        assert!(text.contains("ticket running out within 2h"), "{text}");
    }

    #[test]
    fn no_data_fails_the_run_as_stale_data_does() {
        let mut snap = snapshot();
        assert!(!all_known(&snap));
        snap.slos.truncate(1);
        assert!(all_known(&snap));
        snap.slos[0].fresh = false;
        assert!(!all_known(&snap));
    }
}
