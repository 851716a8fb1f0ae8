//! `sloburn check PATH...`: validate specs and say what was found; with `--prometheus-url`,
//! also check them against a live source (`live`).

mod live;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use sloburn::spec::{LoadReport, Slo};

use super::Output;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A corrections file (budget corrections naming service and slo), as `run --corrections`.
    #[arg(long)]
    pub corrections: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: Output,
    /// Also check the valid SLOs against this Prometheus-compatible API: selectors that match
    /// no series, a latency threshold that is no bucket boundary, scrape intervals too long for
    /// the buckets and alert windows, and counters that are not counters. An unreachable or
    /// failing source exits 2.
    #[arg(long, value_name = "URL")]
    pub prometheus_url: Option<String>,
    /// With --prometheus-url: exit 1 when the live checks warn (for CI). Notes never fail.
    #[arg(long, requires = "prometheus_url")]
    pub strict: bool,
    /// With --prometheus-url: per request to the source [default: 30s].
    #[arg(long, requires = "prometheus_url", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let report = sloburn::spec::corrections::load_with(&args.paths, args.corrections.as_deref());
    let live = match &args.prometheus_url {
        Some(url) => {
            let slos: Vec<&Slo> = report.slos().collect();
            Some(live::check(&slos, url, args.timeout)?)
        }
        None => None,
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Table => write_table(&mut out, &report, live.as_ref())?,
        Output::Json => {
            let mut json = JsonReport::from(&report);
            json.live = live.as_ref();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
    }
    let live_failed = args.strict && live.as_ref().is_some_and(|l| l.warnings > 0);
    Ok(if report.is_ok() && !live_failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_table(
    out: &mut impl Write,
    report: &LoadReport,
    live: Option<&live::LiveReport>,
) -> std::io::Result<()> {
    for file in &report.files {
        writeln!(out, "{}", file.file)?;
        for slo in &file.slos {
            writeln!(
                out,
                "  ok     {:<40} {:<9} {:>8}  {}",
                slo.id(),
                slo.sli.kind(),
                format!("{}%", slo.objective.percent()),
                slo.period.describe()
            )?;
        }
        for note in &file.notes {
            writeln!(out, "  note   {note}")?;
        }
        for w in &file.warnings {
            writeln!(out, "  warn   {w}")?;
        }
        for e in &file.errors {
            writeln!(out, "  error  {e}")?;
        }
        for f in live
            .iter()
            .flat_map(|l| &l.findings)
            .filter(|f| f.file == file.file)
        {
            let word = match f.severity {
                live::Severity::Warning => "warn ",
                live::Severity::Note => "note ",
            };
            writeln!(out, "  {word}  {}", f.line())?;
        }
    }
    let slos = report.slos().count();
    let errors = report.errors().count();
    writeln!(
        out,
        "{} file(s), {slos} valid SLO(s), {errors} error(s)",
        report.files.len()
    )?;
    if let Some(l) = live {
        writeln!(
            out,
            "live: {} SLO(s) checked against {}, {} warning(s), {} note(s)",
            l.slos_checked, l.url, l.warnings, l.notes
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    files: Vec<JsonFile<'a>>,
    /// With --prometheus-url: what the live checks found.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a live::LiveReport>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    slos: Vec<JsonSlo<'a>>,
    errors: &'a [sloburn::spec::Diagnostic],
    /// Approximate mappings from other formats.
    warnings: &'a [sloburn::spec::Diagnostic],
    /// Documents that define no SLOs (e.g. Sloth AlertWindows).
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonSlo<'a> {
    service: &'a str,
    slo: &'a str,
    sli_kind: &'static str,
    objective_percent: f64,
    period: String,
    version: &'static str,
    line: u64,
    column: u64,
    labels: &'a sloburn::spec::Labels,
    group_by: &'a [String],
    alert_windows: Vec<JsonWindow>,
    /// `alerting.exhaustion`; null when not written.
    exhaustion_alert: Option<JsonExhaustion>,
}

#[derive(Serialize)]
struct JsonExhaustion {
    severity: String,
    within: String,
    disabled: bool,
}

#[derive(Serialize)]
struct JsonWindow {
    severity: String,
    long: String,
    short: String,
    burn_rate_threshold: f64,
    /// The low-traffic guard: events each window must hold for the row to fire (0 = none).
    min_events: u64,
}

impl<'a> From<&'a LoadReport> for JsonReport<'a> {
    fn from(report: &'a LoadReport) -> Self {
        JsonReport {
            ok: report.is_ok(),
            files: report
                .files
                .iter()
                .map(|f| JsonFile {
                    file: &f.file,
                    slos: f.slos.iter().map(json_slo).collect(),
                    errors: &f.errors,
                    warnings: &f.warnings,
                    notes: &f.notes,
                })
                .collect(),
            live: None,
        }
    }
}

fn json_slo(slo: &Slo) -> JsonSlo<'_> {
    JsonSlo {
        service: &slo.service,
        slo: &slo.name,
        sli_kind: slo.sli.kind(),
        objective_percent: slo.objective.percent(),
        period: slo.period.describe(),
        version: slo.version.as_str(),
        line: slo.origin.pos.line,
        column: slo.origin.pos.column,
        labels: &slo.labels,
        group_by: &slo.group_by,
        alert_windows: slo
            .alerting
            .windows
            .rows
            .iter()
            .map(|w| JsonWindow {
                severity: w.severity.to_string(),
                long: w.long.to_string(),
                short: w.short.to_string(),
                burn_rate_threshold: w.threshold,
                min_events: w.min_events,
            })
            .collect(),
        exhaustion_alert: slo.alerting.exhaustion.as_ref().map(|e| JsonExhaustion {
            severity: e.severity.to_string(),
            within: e.within.to_string(),
            disabled: e.alert.disable,
        }),
    }
}
