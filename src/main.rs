//! The `sloburn` command line: the binary's edge, where errors become exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    sloburn::allocator::share_one_heap();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sloburn: {e:#}");
            ExitCode::from(2)
        }
    }
}
