//! `sloburn report`: budgets over a month or a range, from the state directory alone (no
//! Prometheus). redb locks the file, so it runs while `sloburn run` is stopped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, ValueEnum};
use sloburn::core::Objective;
use sloburn::report::{self, Range, rows};
use sloburn::spec::load_paths;
use sloburn::store::{Store, StoreError};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("range").required(true).args(["month", "from"])))]
pub struct ReportArgs {
    /// Where the durable history lives (as `sloburn run --state-dir`).
    #[arg(long, env = "SLOBURN_STATE_DIR", default_value = sloburn::config::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// A calendar month in UTC, e.g. 2026-11.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// Start of the range (RFC 3339, e.g. 2026-11-01T00:00:00Z), with --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End of the range (RFC 3339), not included.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Spec files or folders, for the objectives of histories written before sloburn kept
    /// them (without, their objective and budget columns say "unknown").
    #[arg(long, num_args = 1..)]
    pub spec: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A Markdown table.
    #[default]
    Markdown,
    /// One self-contained HTML file with the table and charts per SLO (no script, nothing
    /// from the network).
    Html,
    /// One line per SLO (and group), with a header.
    Csv,
    /// For tools.
    Json,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let range = Range::from_request(
        args.month.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
    )?;
    let mut objectives: BTreeMap<String, Objective> = BTreeMap::new();
    if !args.spec.is_empty() {
        let report = load_paths(&args.spec);
        if !report.is_ok() {
            for e in report.errors() {
                eprintln!("error  {e}");
            }
            anyhow::bail!("the specs have errors: fix them first (sloburn check)");
        }
        objectives.extend(report.slos().map(|s| (s.id(), s.objective)));
    }
    let store = match Store::open_existing(&args.state_dir) {
        Ok(store) => store,
        Err(StoreError::Locked { file }) => anyhow::bail!(
            "{file} is locked: `sloburn run` is using this state directory; stop it to report \
             from the file, or ask the running engine: GET /api/v1/report?month=YYYY-MM"
        ),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for (id, _) in store.metas()? {
        let Some(stored) = store.load(&id)? else {
            eprintln!("skipped {id}: its record cannot be read (`sloburn state prune {id}`)");
            continue;
        };
        let objective = stored
            .meta
            .objective
            .and_then(Objective::from_ratio)
            .or_else(|| objectives.get(&id).copied());
        out.extend(rows(&id, &stored, objective, range));
    }
    let format = match args.format {
        Format::Markdown => report::Format::Markdown,
        Format::Html => report::Format::Html,
        Format::Csv => report::Format::Csv,
        Format::Json => report::Format::Json,
    };
    let text = format.write(range, &out);
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
