//! `sloburn completions SHELL` and `sloburn man`: shell completions and roff man pages, made
//! from the same clap definitions as `--help`, so they cannot drift from the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write sloburn.1 and one page per subcommand (sloburn-run.1, ...) into this folder
    /// instead of printing sloburn.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    let mut text = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sloburn", &mut text);
    print(&text).context("writing the completions")?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a reader that stopped early (`sloburn man | head`) is no failure.
fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("rendering the man page")?;
            print(&page).context("writing the man page")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `0.2.0`, or `0.2.0 (1a2b3c4)` when the build was given `SLOBURN_GIT_COMMIT`.
pub fn version() -> &'static str {
    match option_env!("SLOBURN_GIT_COMMIT") {
        Some(commit) if !commit.is_empty() => {
            // Made once per process, for clap's `--version`.
            Box::leak(format!("{} ({commit})", env!("CARGO_PKG_VERSION")).into_boxed_str())
        }
        _ => env!("CARGO_PKG_VERSION"),
    }
}
