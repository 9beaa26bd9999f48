//! brindlectl: manage brindle resources the way calicoctl manages Calico's.

mod bgp;
mod cli;
mod columns;
mod commands;
mod config;
mod diagnose;
mod ipam;
mod localtime;
mod node_status;
mod table;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Usage mistakes are one line too, like every other error.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("brindlectl: {first} (see brindlectl --help)");
            return ExitCode::FAILURE;
        }
    };
    match commands::run(cli) {
        Ok(out) => {
            // A closed pipe (`brindlectl get … | head`) is not an error worth a message.
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(f) => {
            let _ = std::io::stdout().lock().write_all(f.stdout.as_bytes());
            if !f.message.is_empty() {
                eprintln!("brindlectl: {}", f.message);
            }
            ExitCode::FAILURE
        }
    }
}
