//! `brindle-lab`: builds a virtual BGP-routed brindle cluster (nodes and pods in network
//! namespaces, agents, datastore, external router) that outlives the command, and drives it:
//! `up`, `status`, `exec`, `pod add|del`, `check`, `down`, `demo`. See
//! [`brindle_lab::cluster`].

mod cli;
mod commands;
mod demo;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if !brindle_lab::is_root() {
        eprintln!("brindle-lab: needs root (it creates network namespaces)");
        return ExitCode::FAILURE;
    }
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("brindle-lab: {e}");
            ExitCode::FAILURE
        }
    }
}
