//! Subcommands. Each returns the process exit code; anyhow carries unexpected failures to main.

mod check;
mod convert;
mod demo;
mod docs;
mod engine_setup;
mod eval;
mod gate;
mod generate;
mod probe;
mod report;
mod run;
mod state;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// SLO error budgets from specs declared as YAML.
#[derive(Debug, Parser)]
#[command(name = "sloburn", version = docs::version(), long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate SLO specs (files or folders, *.yml and *.yaml recursively), and with
    /// --prometheus-url check them against live data; exit 0 when all are valid, 1 otherwise.
    Check(check::CheckArgs),
    /// Run the engine: evaluate every SLO continuously against Prometheus and serve /metrics,
    /// the API and the status page.
    Run(run::RunArgs),
    /// Evaluate SLOs once against Prometheus, without state, and print the numbers.
    Eval(eval::EvalArgs),
    /// May a deploy go on? Exit 0 when it may, 1 when the service is frozen, 2 when sloburn
    /// cannot tell (unreachable, stale data, an SLO without data); `--fail-open` turns 2 into 0.
    Gate(gate::GateArgs),
    /// Everything running locally with no Prometheus: a synthetic shop, the engine scraping it,
    /// the status page and /metrics.
    Demo(demo::DemoArgs),
    /// Write Prometheus recording and alerting rules: for a ruler (no sloburn needed) or on
    /// the metrics of `sloburn run`.
    Generate(generate::GenerateArgs),
    /// Write Sloth CRD, OpenSLO and Pyrra specs (and Sloth AlertWindows) as the equivalent
    /// sloburn/v1 YAML, with comments where the mapping is approximate.
    Convert(convert::ConvertArgs),
    /// List the SLO histories in the state directory, or delete them (e.g. of SLOs whose spec
    /// is gone, kept for a grace after it went missing).
    State(state::StateArgs),
    /// Budgets over a month or a range from the state directory alone (no Prometheus): per SLO
    /// and group, events, SLI, budget consumed, the worst day, data gaps, the resolution, and
    /// the time alerts fired and the series froze, as `sloburn run` recorded it.
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a folder with --dir.
    Man(docs::ManArgs),
    /// Health check for containers without curl: GET a URL (default: this host's /readyz),
    /// exit 0 on a 2xx answer, 1 otherwise.
    Probe(probe::ProbeArgs),
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// For people.
    #[default]
    Table,
    /// For tools.
    Json,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Convert(args) => convert::run(args),
        Command::State(args) => state::run(args),
        Command::Report(args) => report::run(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
        Command::Probe(args) => probe::run(args),
    }
}
