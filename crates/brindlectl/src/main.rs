//! brindlectl: manage brindle resources the way calicoctl manages Calico's.

mod cli;
mod columns;
mod commands;
mod config;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("brindlectl: {e}");
            ExitCode::FAILURE
        }
    }
}
