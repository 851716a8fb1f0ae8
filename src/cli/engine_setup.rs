//! What `run` and `eval` share: building the engine from specs and a source.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::Semaphore;

use sloburn::config::PrometheusConfig;
use sloburn::engine::runner::{Engine, PrometheusSource, Querier, Source};
use sloburn::source::prometheus::Client;
use sloburn::spec::Slo;
use sloburn::store::Store;

/// An engine over `slos`, reading from `prometheus`, with history from `store` when given.
pub fn build_engine(
    slos: Vec<Slo>,
    prometheus: &PrometheusConfig,
    store: Option<Arc<Store>>,
) -> anyhow::Result<Engine> {
    let source = prometheus_source(prometheus)?;
    build_engine_from(slos, source, prometheus, store)
}

/// The Prometheus source of `prometheus`: its lag as set, or learned when unset.
pub fn prometheus_source(prometheus: &PrometheusConfig) -> anyhow::Result<PrometheusSource> {
    let client_config = prometheus.client_config()?;
    let client = Client::new(&client_config).context("Prometheus source")?;
    let querier = Querier {
        client,
        stats: Arc::new(Mutex::new(Default::default())),
        limit: Arc::new(Semaphore::new(prometheus.concurrency.max(1))),
    };
    Ok(match prometheus.query_lag {
        Some(lag) => PrometheusSource::new(querier, lag),
        None => PrometheusSource::learning(querier),
    })
}

/// An engine over `slos` reading from `source` (built from `prometheus`).
pub fn build_engine_from(
    slos: Vec<Slo>,
    source: PrometheusSource,
    prometheus: &PrometheusConfig,
    store: Option<Arc<Store>>,
) -> anyhow::Result<Engine> {
    let source: Box<dyn Source> = Box::new(source);
    let mut engine = build_engine_with(slos, Some(source), store)?;
    engine.tasks = prometheus.concurrency.max(1) * 2;
    Ok(engine)
}

fn build_engine_with(
    slos: Vec<Slo>,
    source: Option<Box<dyn Source>>,
    store: Option<Arc<Store>>,
) -> anyhow::Result<Engine> {
    let states = sloburn::engine::runner::load_states(slos, store.as_deref())
        .context("loading the stored histories")?;
    Ok(Engine {
        source,
        store,
        reload_timestamp: now_secs(),
        ..Engine::new(states)
    })
}

/// An engine fed by the scrape source. SLOs the scraper cannot follow (templated PromQL) are
/// returned with why, and left out.
pub fn build_scrape_engine(
    slos: Vec<Slo>,
    scrape: &sloburn::scrape::ScrapeConfig,
    store: Option<Arc<Store>>,
) -> anyhow::Result<(
    Engine,
    Arc<sloburn::scrape::Scraper>,
    Vec<sloburn::scrape::Unscrapeable>,
)> {
    let (scraper, refused) =
        sloburn::scrape::Scraper::new(scrape.clone(), &slos).map_err(anyhow::Error::msg)?;
    let refused_ids: std::collections::BTreeSet<String> =
        refused.iter().map(|r| r.slo.clone()).collect();
    let slos: Vec<Slo> = slos
        .into_iter()
        .filter(|s| !refused_ids.contains(&s.id()))
        .collect();
    let scraper = Arc::new(scraper);
    let feed: Box<dyn Source> = Box::new(sloburn::scrape::ScrapeFeed(scraper.clone()));
    let engine = build_engine_with(slos, Some(feed), store)?;
    Ok((engine, scraper, refused))
}

pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Logs to stderr; `RUST_LOG` or the given level decides what.
pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
