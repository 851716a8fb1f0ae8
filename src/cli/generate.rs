//! `sloburn generate`: Prometheus rules from the specs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use sloburn::rules::{engine_rules, render, ruler_rules};
use sloburn::spec::load_paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Mode {
    /// Recording and alerting rules that compute the SLIs in the ruler (Prometheus, Thanos,
    /// Mimir): no sloburn needed.
    #[default]
    Ruler,
    /// Alerting rules on the metrics `sloburn run` exports.
    Engine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A Prometheus rule file (`groups:`).
    #[default]
    Prometheus,
    /// The groups inside a prometheus-operator `PrometheusRule` object.
    PrometheusOperator,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub mode: Mode,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Engine mode: the scrape job of sloburn itself, for the "sloburn is down" alert.
    #[arg(long, default_value = "sloburn")]
    pub job: String,
    /// prometheus-operator format: the PrometheusRule's name.
    #[arg(long, default_value = "sloburn-slos")]
    pub name: String,
    /// Ruler mode: write the rules of the SLOs that can have them and exit 0, even when some
    /// (calendar periods) are refused.
    #[arg(long)]
    pub skip_unsupported: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let report = load_paths(&args.paths);
    if !report.is_ok() {
        for e in report.errors() {
            eprintln!("error  {e}");
        }
        eprintln!("no rules written: fix the specs first (sloburn check)");
        return Ok(ExitCode::from(1));
    }
    let slos: Vec<_> = report.slos().cloned().collect();
    let mode = match args.mode {
        Mode::Ruler => "ruler",
        Mode::Engine => "engine",
    };
    let (file, refusals) = match args.mode {
        Mode::Ruler => ruler_rules(&slos),
        Mode::Engine => (engine_rules(&slos, &args.job), Vec::new()),
    };
    for r in &refusals {
        eprintln!("refused  {r}");
    }
    if matches!(args.mode, Mode::Ruler) {
        for w in sloburn::rules::ruler_correction_warnings(&slos) {
            eprintln!("warn   {w}");
        }
    }
    let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let command = format!("sloburn generate --mode {mode} {}", paths.join(" "));
    let operator = matches!(args.format, Format::PrometheusOperator).then_some(args.name.as_str());
    let text = render(&file, &command, operator).map_err(anyhow::Error::msg)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(if refusals.is_empty() || args.skip_unsupported {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
