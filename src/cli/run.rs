//! `sloburn run`: the long-running engine next to Prometheus.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::sync::mpsc;

use sloburn::config::{Config, PrometheusConfig};
use sloburn::engine::runner::{Engine, Reach};
use sloburn::exporter::{Exporter, SnapshotCell};
use sloburn::http::{
    AppState, HistoryRequest, ReloadRequest, ReportError, ReportService, Reports, ServeConfig,
    WebConfigSource, serve_with,
};
use sloburn::report::live::{LiveReports, Roster};
use sloburn::scrape::{ScrapeFeed, Scraper};
use sloburn::spec::corrections;
use sloburn::store::Store;

use super::engine_setup::{build_engine, build_scrape_engine, init_logging, now_secs};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (see sloburn.yaml in the repository).
    #[arg(long, short, env = "SLOBURN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Spec files or folders; replaces `specs` of the file. Repeat, or separate with commas.
    #[arg(long = "spec", env = "SLOBURN_SPECS", value_delimiter = ',')]
    pub specs: Vec<PathBuf>,
    /// A corrections file (budget corrections naming service and slo), reloaded with the specs;
    /// replaces `corrections` of the file.
    #[arg(long, env = "SLOBURN_CORRECTIONS")]
    pub corrections: Option<PathBuf>,
    /// Address to serve /metrics, the API and the status page on.
    #[arg(long, env = "SLOBURN_LISTEN")]
    pub listen: Option<String>,
    /// Where the durable history lives.
    #[arg(long, env = "SLOBURN_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The Prometheus-compatible API to read.
    #[arg(long, env = "SLOBURN_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// How often to evaluate (e.g. 5s, 1m) [default: 5s].
    #[arg(long, env = "SLOBURN_EVALUATION_INTERVAL", value_parser = humantime::parse_duration)]
    pub evaluation_interval: Option<Duration>,
    /// How late a sample may show in the source after its timestamp (e.g. 5s) [default: learned
    /// from the scrape durations, 5s until known].
    #[arg(long, env = "SLOBURN_QUERY_LAG", value_parser = humantime::parse_duration)]
    pub query_lag: Option<Duration>,
    /// Allow POST /-/reload to re-read the specs (SIGHUP always does).
    #[arg(long, env = "SLOBURN_ENABLE_RELOAD")]
    pub enable_reload: bool,
    /// TLS, basic auth and response headers of the server: a Prometheus exporter-toolkit web
    /// config file (re-read when it or a file it names changes).
    #[arg(
        long = "web.config.file",
        env = "SLOBURN_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    pub web_config_file: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace); RUST_LOG wins when set.
    #[arg(long, env = "SLOBURN_LOG", default_value = "info")]
    pub log: String,
}

/// The file, then flags and environment on top.
fn effective_config(args: &RunArgs) -> anyhow::Result<Config> {
    let mut cfg = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if !args.specs.is_empty() {
        cfg.specs = args.specs.clone();
    }
    if let Some(c) = &args.corrections {
        cfg.corrections = Some(c.clone());
    }
    if let Some(l) = &args.listen {
        cfg.listen = l.clone();
    }
    if let Some(d) = &args.state_dir {
        cfg.state_dir = d.clone();
    }
    if let Some(i) = args.evaluation_interval {
        cfg.evaluation_interval = i;
    }
    if args.enable_reload {
        cfg.enable_reload = true;
    }
    if let Some(web) = &args.web_config_file {
        cfg.web_config_file = Some(web.clone());
    }
    if let Some(url) = &args.prometheus_url {
        match &mut cfg.source.prometheus {
            Some(p) => p.url = url.clone(),
            None => cfg.source.prometheus = Some(PrometheusConfig::with_url(url)),
        }
    }
    if let (Some(lag), Some(p)) = (args.query_lag, cfg.source.prometheus.as_mut()) {
        p.query_lag = Some(lag);
    }
    if cfg.specs.is_empty() {
        bail!("no specs: give `specs` in the config file or --spec PATH");
    }
    if cfg.source.prometheus.is_none() && cfg.source.scrape.is_none() {
        bail!(
            "no source: give `source.prometheus.url` (or `source.scrape.targets`) in the config file, or --prometheus-url URL"
        );
    }
    Ok(cfg)
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    init_logging(&args.log);
    let cfg = effective_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_engine(cfg, Hooks::default()))
}

/// Runs once before the first evaluation (the demo fills past history here).
pub type Prefill = Box<dyn FnOnce(&mut Engine) + Send>;

/// What the demo adds to a plain `run`.
#[derive(Default)]
pub struct Hooks {
    pub prefill: Option<Prefill>,
    /// Told the address the server listens on, and whether it speaks TLS.
    pub on_listening: Option<Box<dyn FnOnce(std::net::SocketAddr, bool) + Send>>,
    /// Called as the computation of each `GET /api/v1/report` begins (a test holds one there).
    pub report_started: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// The running engine's source: Prometheus queried per tick, or a scraper filling in the
/// background (replaced on reload, since it follows the SLO set).
enum Feed {
    Prometheus,
    Scrape(tokio::sync::watch::Sender<Arc<Scraper>>),
}

pub async fn serve_engine(cfg: Config, hooks: Hooks) -> anyhow::Result<ExitCode> {
    // A web config that does not load stops the start: serving open instead would not be safe.
    let web = match &cfg.web_config_file {
        Some(path) => {
            let source = WebConfigSource::open(path)?;
            for warning in source.warnings() {
                tracing::warn!("{warning}");
            }
            Some(Arc::new(source))
        }
        None => None,
    };
    let tls = web.as_ref().is_some_and(|w| w.current().tls.is_some());
    let loaded = corrections::load_with(&cfg.specs, cfg.corrections.as_deref());
    for e in loaded.errors() {
        tracing::error!("{e}");
    }
    warn_corrections(&loaded, &cfg);
    let slos: Vec<_> = loaded.slos().cloned().collect();
    for line in corrections::audit([], &slos) {
        tracing::info!(target: "sloburn::audit", "{line}");
    }
    if slos.is_empty() {
        bail!("no valid SLO in {:?}", cfg.specs);
    }
    let store = Arc::new(Store::open(&cfg.state_dir)?);
    // Reports read the store beside the engine loop (see `LiveReports`); none before the
    // first saved tick sends its roster.
    let (roster_tx, roster_rx) = tokio::sync::watch::channel(None);
    let reports: Arc<dyn Reports> = Arc::new(LiveReports::new(store.clone(), roster_rx));
    let (mut engine, feed, source) = match (&cfg.source.prometheus, &cfg.source.scrape) {
        (Some(prometheus), _) => (
            build_engine(slos, prometheus, Some(store))?,
            Feed::Prometheus,
            prometheus.url.clone(),
        ),
        (None, Some(scrape)) => {
            let (engine, scraper, refused) = build_scrape_engine(slos, scrape, Some(store))?;
            for r in &refused {
                tracing::error!("{r}");
            }
            let (tx, rx) = tokio::sync::watch::channel(scraper);
            tokio::spawn(scrape_loop(rx));
            let targets: Vec<&str> = scrape.targets.iter().map(|t| t.url.as_str()).collect();
            (
                engine,
                Feed::Scrape(tx),
                format!("scrape {}", targets.join(", ")),
            )
        }
        (None, None) => bail!("no source configured"),
    };
    engine.reload_success = loaded.is_ok();
    if let Some(prefill) = hooks.prefill {
        prefill(&mut engine);
    }
    engine.absent_grace = cfg.absent_history_grace.unwrap_or_else(|| {
        engine
            .slos
            .iter()
            .map(|s| s.slo.period.nominal().to_std())
            .max()
            .unwrap_or(Duration::from_secs(30 * 86_400))
    });
    engine.record_gap = sloburn::engine::runner::record_gap(cfg.evaluation_interval);
    engine.retire_absent(now_secs() as i64);
    tracing::info!(slos = engine.slos.len(), source = %source, state_dir = %cfg.state_dir.display(), "sloburn starting");

    let cell = Arc::new(SnapshotCell::new());
    let exporter = Arc::new(Exporter::new(cell.clone()));
    let ready = Arc::new(AtomicBool::new(false));
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (history_tx, mut history_rx) = mpsc::channel::<HistoryRequest>(16);
    let reports = match hooks.report_started {
        Some(started) => Arc::new(Hooked { reports, started }),
        None => reports,
    };
    let state = AppState {
        snapshot: cell.clone(),
        exporter,
        ready: ready.clone(),
        reload: cfg.enable_reload.then_some(reload_tx),
        history: Some(history_tx),
        report: Some(ReportService::new(reports, REPORTS_AT_ONCE)),
    };
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let address = listener.local_addr().context("the listening address")?;
    tracing::info!(%address, tls, "serving /metrics, /api/v1/slos and /");
    if let Some(told) = hooks.on_listening {
        told(address, tls);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let serve_config = ServeConfig {
        web,
        ..ServeConfig::default()
    };
    let server = tokio::spawn(serve_with(listener, state, serve_config, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));

    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing the SIGHUP handler")?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut next = tokio::time::Instant::now();
    // Histories of SLOs missing from the specs are looked at hourly, not only at start and
    // reload, so a long-running process drops them when their grace ends.
    let mut retired = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                evaluate(&mut engine, &cell, &roster_tx).await;
                ready.store(true, Ordering::Release);
                if retired.elapsed() >= Duration::from_secs(3600) {
                    engine.retire_absent(now_secs() as i64);
                    retired = tokio::time::Instant::now();
                }
                next = tokio::time::Instant::now() + until_next_tick(cfg.evaluation_interval, engine.lag());
            }
            _ = hangup.recv() => {
                let _ = reload(&mut engine, &cfg, &feed);
                evaluate(&mut engine, &cell, &roster_tx).await;
            }
            Some(answer) = reload_rx.recv() => {
                let result = reload(&mut engine, &cfg, &feed);
                evaluate(&mut engine, &cell, &roster_tx).await;
                let _ = answer.send(result);
            }
            Some((service, slo, reply)) = history_rx.recv() => {
                let _ = reply.send(engine.chart(&service, &slo));
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        }
    }
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    let _ = server.await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;

/// Ticks fall just after each interval boundary plus the lag, so a minute is read as soon as
/// it is complete and late scrapes are in: a change shows within one interval plus the lag.
fn until_next_tick(interval: Duration, lag: Duration) -> Duration {
    let interval = interval.as_secs_f64().max(1.0);
    let now = now_secs() - lag.as_secs_f64();
    let next = ((now / interval).floor() + 1.0) * interval + 0.25;
    Duration::from_secs_f64((next - now).max(0.25))
}

/// One tick (which saves before it returns); then the list of SLOs run and the snapshot are
/// published, in that order: a report (read from the store) lists the SLOs of the saved tick,
/// and whoever saw a new evaluation sees its roster.
async fn evaluate(
    engine: &mut Engine,
    cell: &SnapshotCell,
    roster: &tokio::sync::watch::Sender<Option<Roster>>,
) {
    // The source says how far behind now to read (a reload may change it).
    let lag = engine.lag();
    let now = now_secs();
    let snapshot = engine.tick(Reach::at(now, lag), now).await;
    let run: Vec<(String, sloburn::core::Objective)> = engine
        .slos
        .iter()
        .map(|s| (s.slo.id(), s.slo.objective))
        .collect();
    roster.send_if_modified(|old| {
        let changed = old.as_deref() != Some(&run[..]);
        if changed {
            *old = Some(run.into());
        }
        changed
    });
    cell.publish(snapshot);
}

/// Reports computed at once; more are answered 503 busy (each holds a blocking thread and one
/// read of the store while it runs).
const REPORTS_AT_ONCE: usize = 2;

/// Reports that call the test hook as each begins.
struct Hooked {
    reports: Arc<dyn Reports>,
    started: Arc<dyn Fn() + Send + Sync>,
}

impl Reports for Hooked {
    fn rows(
        &self,
        range: sloburn::report::Range,
        stop: &AtomicBool,
    ) -> Result<Vec<sloburn::report::Row>, ReportError> {
        (self.started)();
        self.reports.rows(range, stop)
    }
}

/// Scrapes every interval, with the newest scraper (a reload replaces it).
async fn scrape_loop(rx: tokio::sync::watch::Receiver<Arc<Scraper>>) {
    loop {
        let scraper = rx.borrow().clone();
        let started = tokio::time::Instant::now();
        scraper.scrape_once(now_secs()).await;
        tokio::time::sleep_until(started + scraper.interval()).await;
        if rx.has_changed().is_err() {
            return; // the engine is gone
        }
    }
}

/// Logs the corrections file's warnings (entries that name no loaded SLO).
fn warn_corrections(loaded: &sloburn::spec::LoadReport, cfg: &Config) {
    let Some(path) = &cfg.corrections else {
        return;
    };
    let name = path.display().to_string();
    for f in loaded.files.iter().filter(|f| f.file == name) {
        for w in &f.warnings {
            tracing::warn!("{w}");
        }
    }
}

/// Re-reads the specs; an invalid set is refused and the running one kept.
fn reload(engine: &mut Engine, cfg: &Config, feed: &Feed) -> Result<(), String> {
    let loaded = corrections::load_with(&cfg.specs, cfg.corrections.as_deref());
    engine.reload_timestamp = now_secs();
    if !loaded.is_ok() {
        let errors: Vec<String> = loaded.errors().map(|e| e.to_string()).collect();
        for e in &errors {
            tracing::error!("reload refused: {e}");
        }
        engine.reload_success = false;
        return Err(format!(
            "reload refused, the running SLOs are kept: {}",
            errors.join("; ")
        ));
    }
    warn_corrections(&loaded, cfg);
    let mut slos: Vec<_> = loaded.slos().cloned().collect();
    if let (Feed::Scrape(tx), Some(scrape)) = (feed, &cfg.source.scrape) {
        let (scraper, refused) = Scraper::new(scrape.clone(), &slos)?;
        for r in &refused {
            tracing::error!("{r}");
        }
        slos.retain(|s| !refused.iter().any(|r| r.slo == s.id()));
        // The running scraper is the one the scrape loop holds.
        scraper.carry_over(&tx.borrow().clone());
        let scraper = Arc::new(scraper);
        engine.source = Some(Box::new(ScrapeFeed(scraper.clone())));
        let _ = tx.send(scraper);
    }
    for line in corrections::audit(engine.slos.iter().map(|s| &s.slo), &slos) {
        tracing::info!(target: "sloburn::audit", "{line}");
    }
    tracing::info!(slos = slos.len(), "specs reloaded");
    engine.replace_slos(slos);
    // SLOs the reload removed keep their stored history for the grace.
    engine.retire_absent(now_secs() as i64);
    engine.reload_success = true;
    Ok(())
}
