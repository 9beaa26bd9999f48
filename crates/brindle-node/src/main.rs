//! brindle-node: the per-host agent (`brindle-node run`); `brindle-node bgp --config FILE` runs
//! only the BGP speaker.

mod agent;
mod bgp;
mod bgp_config;
mod control;
mod filter_rule;
// Wired into the agent loop by the agent's author; until then only its tests use it.
#[allow(dead_code)]
mod health;
mod kernel;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// brindle's per-host agent.
#[derive(Parser)]
#[command(name = "brindle-node", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the node agent: register this node, peer per the datastore, route pods.
    Run(Box<agent::settings::RunArgs>),
    /// Run only the BGP speaker, configured from a file (see README).
    Bgp {
        /// The speaker's configuration (YAML).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// This start is a restart (like BIRD's -R): set the Restart State bit and hold our
        /// routes back until every graceful-restart peer has sent End-of-RIB (RFC 4724 §4.1),
        /// so peers keeping our old routes never see a partial table.
        #[arg(short = 'R', long)]
        restarting: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("brindle-node: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Cmd::Bgp { config, restarting } => rt.block_on(bgp::run(&config, restarting)),
        Cmd::Run(args) => rt.block_on(agent::run(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brindle-node: {e}");
            ExitCode::FAILURE
        }
    }
}
