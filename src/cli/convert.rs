//! `sloburn convert`: Sloth CRD, OpenSLO, Pyrra and Sloth AlertWindows files as the equivalent
//! sloburn/v1 YAML. Loading the output gives the same SLOs as loading the input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use sloburn::spec::load::convert_paths;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write one `<name>.sloburn.yaml` per input file into this folder instead of standard
    /// output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let (report, converted) = convert_paths(&args.paths);
    let mut stderr = std::io::stderr().lock();
    for e in report.errors() {
        writeln!(stderr, "error: {e}")?;
    }
    for f in &report.files {
        for w in &f.warnings {
            writeln!(stderr, "warning: {w}")?;
        }
        for n in &f.notes {
            writeln!(stderr, "note: {}: {n}", f.file)?;
        }
    }
    match &args.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            let mut first = true;
            for c in converted.iter().filter(|c| !c.yaml.is_empty()) {
                if !first {
                    writeln!(stdout, "---")?;
                }
                first = false;
                stdout.write_all(c.yaml.as_bytes())?;
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for c in converted.iter().filter(|c| !c.yaml.is_empty()) {
                let stem = Path::new(&c.file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("spec");
                let target = dir.join(format!("{stem}.sloburn.yaml"));
                std::fs::write(&target, &c.yaml)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                writeln!(stderr, "wrote {}", target.display())?;
            }
        }
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
