//! `sloburn state`: what the durable history holds, and deleting what is no longer wanted.
//! redb locks the file, so these run while `sloburn run` is stopped.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sloburn::core::rfc3339 as time;
use sloburn::store::Store;

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
    /// Where the durable history lives (as `sloburn run --state-dir`).
    #[arg(
        long,
        env = "SLOBURN_STATE_DIR",
        default_value = sloburn::config::DEFAULT_STATE_DIR,
        global = true
    )]
    pub state_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the stored SLOs: newest minute held, groups, and since when a spec is missing.
    List,
    /// Delete the stored history of the named SLOs (`service/slo`), or of every SLO missing
    /// from the specs (`--absent`).
    Prune {
        /// SLO ids, e.g. checkout/availability.
        ids: Vec<String>,
        /// Every SLO whose spec has been missing since a start or reload of `sloburn run`.
        #[arg(long)]
        absent: bool,
    },
}

pub fn run(args: StateArgs) -> anyhow::Result<ExitCode> {
    let open = || {
        Store::open(&args.state_dir).with_context(|| {
            format!(
                "opening the history in {} (is `sloburn run` still using it?)",
                args.state_dir.display()
            )
        })
    };
    match args.command {
        StateCommand::List => {
            let store = open()?;
            let metas = store.metas()?;
            println!(
                "{:<48} {:<26} {:>6}  missing since",
                "slo", "newest minute", "groups"
            );
            for (id, meta) in &metas {
                match meta {
                    Some(meta) => println!(
                        "{:<48} {:<26} {:>6}  {}",
                        id,
                        meta.fine_fed_until.map_or("-".into(), time),
                        meta.groups.len(),
                        meta.absent_since.map_or("-".into(), time),
                    ),
                    None => println!("{id:<48} (its record cannot be read; prune it by name)"),
                }
            }
            println!("{} stored SLO(s)", metas.len());
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Prune { ids, absent } => {
            if ids.is_empty() && !absent {
                anyhow::bail!("name the SLOs to prune (service/slo), or give --absent");
            }
            let store = open()?;
            let metas = store.metas()?;
            let mut unknown = Vec::new();
            for id in &ids {
                if !metas.iter().any(|(m, _)| m == id) {
                    unknown.push(id.as_str());
                }
            }
            if !unknown.is_empty() {
                anyhow::bail!(
                    "not in the stored history: {}; `sloburn state list` shows what is",
                    unknown.join(", ")
                );
            }
            let mut pruned = 0;
            for (id, meta) in &metas {
                let missing = meta.as_ref().is_some_and(|m| m.absent_since.is_some());
                if ids.contains(id) || (absent && missing) {
                    store.remove(id)?;
                    println!("pruned {id}");
                    pruned += 1;
                }
            }
            println!("{pruned} SLO(s) pruned");
            Ok(ExitCode::SUCCESS)
        }
    }
}
