//! `sloburn demo`: everything running locally with no Prometheus.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use sloburn::config::{Config, SourceConfig};
use sloburn::core::PromDuration;
use sloburn::demo::{SPECS, prefill, shop::Shop};
use sloburn::scrape::{ScrapeConfig, TargetConfig};

use super::engine_setup::{init_logging, now_secs};
use super::run::{Hooks, serve_engine};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to serve the status page, /metrics and the API.
    #[arg(long, default_value = "127.0.0.1:9099")]
    pub listen: String,
    /// Where the demo keeps its history (kept across runs).
    #[arg(long, default_value = "sloburn-demo")]
    pub state_dir: PathBuf,
    /// Past history to make up on the first run, so budgets and charts look real at once
    /// (0s for none).
    #[arg(long, default_value = "30d")]
    pub history: PromDuration,
    /// TLS, basic auth and response headers of the server: a Prometheus exporter-toolkit web
    /// config file.
    #[arg(
        long = "web.config.file",
        env = "SLOBURN_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    pub web_config_file: Option<PathBuf>,
    /// A corrections file naming service `shop` (reloaded with SIGHUP like the specs).
    #[arg(long)]
    pub corrections: Option<PathBuf>,
    #[arg(long, env = "SLOBURN_LOG", default_value = "warn")]
    pub log: String,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    init_logging(&args.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let start = now_secs();
    let shop = Shop::start(start, now_secs)
        .await
        .context("starting the demo shop")?;
    // The specs go next to the history, so a reload (SIGHUP) re-reads them like any spec folder.
    let specs = args.state_dir.join("specs");
    std::fs::create_dir_all(&specs).with_context(|| format!("creating {}", specs.display()))?;
    std::fs::write(specs.join("shop.yaml"), SPECS)?;
    let cfg = Config {
        specs: vec![specs],
        corrections: args.corrections.clone(),
        listen: args.listen.clone(),
        state_dir: args.state_dir.clone(),
        absent_history_grace: None,
        evaluation_interval: Duration::from_secs(10),
        enable_reload: true,
        web_config_file: args.web_config_file.clone(),
        source: SourceConfig {
            prometheus: None,
            scrape: Some(ScrapeConfig {
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
                targets: vec![TargetConfig {
                    url: shop.url.clone(),
                    labels: [("job".to_string(), "demo-shop".to_string())].into(),
                }],
                max_series: 10_000,
                max_bytes: 1 << 20,
            }),
        },
    };
    let history = args.history;
    let shop_url = shop.url.clone();
    let hooks = Hooks {
        prefill: (history.as_millis() > 0).then(|| {
            Box::new(move |engine: &mut sloburn::engine::runner::Engine| {
                prefill(engine, history, start)
            }) as Box<dyn FnOnce(&mut sloburn::engine::runner::Engine) + Send>
        }),
        on_listening: Some(Box::new(move |address, tls| {
            print_tour(address, tls, &shop_url)
        })),
        ..Hooks::default()
    };
    let code = serve_engine(cfg, hooks).await?;
    drop(shop);
    Ok(code)
}

fn print_tour(address: std::net::SocketAddr, tls: bool, shop: &str) {
    let scheme = if tls { "https" } else { "http" };
    let base = format!("{scheme}://{address}");
    println!(
        r#"sloburn demo is running (Ctrl-C stops it).

A synthetic shop serves {shop}; sloburn scrapes it every 5s and evaluates four SLOs:
availability, availability per route, latency (250ms) and connection-pool saturation.
The script: checkout fails for 4 minutes every 15 (the first burst began 2 minutes ago, so a
page is due now, and its budget-exhaustion ticket too), then latency regresses for 3 minutes,
then the pool saturates for 2. The pool's weekly maintenance (Sundays 02:00-04:00 UTC) is a
budget correction: its minutes do not count.

Open:
  {base}/                      the status page
  {base}/metrics               what Prometheus would scrape
  {base}/api/v1/slos           the numbers as JSON

Try:
  curl -s {base}/metrics | grep 'slo_burn_alert_active.*severity="page"'
  curl -s {base}/metrics | grep slo_error_budget_remaining_ratio
  curl -s {base}/metrics | grep -E 'slo_(correction_active|period_excluded)'
  curl -s '{base}/api/v1/gate?service=demo-shop'
  sloburn generate slo-specs/demo/ --mode engine     # the alert rules for these metrics

A page alert looks like this while checkout fails:
  slo_burn_alert_active{{service="demo-shop",slo="route-availability",route="/checkout",severity="page",long_window="1h",short_window="5m"}} 1
"#
    );
}
