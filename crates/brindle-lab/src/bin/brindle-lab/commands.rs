//! The subcommands, on top of [`brindle_lab::cluster`].

use std::path::{Path, PathBuf};

use brindle_lab::cluster::{self, LabState, UpOptions, UpReport, pods, status};
use brindle_lab::{Error, RUN_DIR, Result};

use crate::cli::{Cli, Command, PodCommand, UpArgs};

/// Which lab, where its state is, where the binaries are.
#[derive(Debug, Clone)]
pub struct Target {
    /// The lab's name.
    pub name: String,
    /// The lab dir.
    pub dir: PathBuf,
    /// The binaries' dir.
    pub bin_dir: PathBuf,
}

impl Target {
    fn from_cli(cli: &Cli) -> Result<Target> {
        cluster::naming::check_lab_name(&cli.name)?;
        let dir = cli
            .dir
            .clone()
            .unwrap_or_else(|| Path::new(RUN_DIR).join(&cli.name));
        let bin_dir = match &cli.bin_dir {
            Some(d) => d.clone(),
            None => std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .ok_or_else(|| {
                    invalid("bin dir", "cannot locate this executable; use --bin-dir")
                })?,
        };
        Ok(Target {
            name: cli.name.clone(),
            dir: absolute(&dir)?,
            bin_dir: absolute(&bin_dir)?,
        })
    }

    /// `--name X --dir D ` as far as they differ from the defaults, for the hints printed to
    /// the user.
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if self.name != "brindle" {
            out.push_str(&format!("--name {} ", self.name));
        }
        if self.dir != Path::new(RUN_DIR).join(&self.name) {
            out.push_str(&format!("--dir {} ", self.dir.display()));
        }
        out
    }

    fn load(&self) -> Result<LabState> {
        LabState::load(&self.dir)
    }
}

fn invalid(what: &str, detail: impl Into<String>) -> Error {
    Error::Invalid {
        what: what.into(),
        detail: detail.into(),
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| invalid("path", format!("{}: {e}", p.display())))
}

/// Runs one subcommand; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let target = Target::from_cli(&cli)?;
    match cli.command {
        Command::Up(args) => {
            let report = cluster::up(&up_options(&target, &args))?;
            print!("{}", summary(&target, &report));
            Ok(0)
        }
        Command::Status => {
            print!("{}", status::full(&target.load()?));
            Ok(0)
        }
        Command::Exec { node, command } => {
            let code = cluster::exec(&target.load()?, &node, &command)?;
            Ok(u8::try_from(code).unwrap_or(1))
        }
        Command::Pod { what } => {
            match what {
                PodCommand::Add { node, pod } => {
                    let p = pods::add(&target.dir, &node, &pod)?;
                    let ip = p.ipv4.map_or("no IPv4 address".into(), |ip| ip.to_string());
                    println!("pod {pod} on {node}: {ip} (namespace {})", p.ns);
                }
                PodCommand::Del { node, pod } => {
                    pods::del(&target.dir, &node, &pod)?;
                    println!("pod {pod} on {node} deleted");
                }
            }
            Ok(0)
        }
        Command::Check => {
            let report = cluster::check(&target.load()?);
            println!("{report}");
            Ok(if report.passed() { 0 } else { 1 })
        }
        Command::Down => {
            let report = cluster::down(&target.name, &target.dir)?;
            if let Some(p) = &report.state_problem {
                eprintln!("brindle-lab: ignored an unreadable state file: {p}");
            }
            println!("lab {}: {report}", target.name);
            Ok(0)
        }
        Command::Demo => Ok(crate::demo::run(&target)),
    }
}

/// The options of `up` for `target`.
pub fn up_options(target: &Target, args: &UpArgs) -> UpOptions {
    UpOptions {
        name: target.name.clone(),
        dir: target.dir.clone(),
        bin_dir: target.bin_dir.clone(),
        nodes: args.nodes,
        pods_per_node: args.pods_per_node,
        datastore: args.datastore,
        router: args.external_router,
    }
}

/// What `up` prints: the nodes, pods, router, and what to run next.
pub fn summary(target: &Target, report: &UpReport) -> String {
    let s = &report.state;
    let mut out = format!(
        "lab {} is up in {:.1} s (BGP sessions Established after {:.1} s)\n",
        s.name,
        report.took.as_secs_f64(),
        report.establish.as_secs_f64()
    );
    out.push_str(&status::overview(s));
    if !report.missing_routes.is_empty() {
        out.push_str(&format!(
            "warning: routes to pods not installed after {:?}: {}\n",
            cluster::up::ROUTES_TIMEOUT,
            report.missing_routes.join(", ")
        ));
    }
    let n = target.flags();
    out.push_str("next:\n");
    for (cmd, what) in [
        ("status", "nodes, agents, BGP sessions"),
        ("exec node1 -- ip route", "any command on a node"),
        ("pod add node1 web", "one more pod (pod del removes it)"),
        ("check", "pod-to-pod ping matrix"),
        ("down", "remove everything"),
    ] {
        out.push_str(&format!("  brindle-lab {n}{cmd:<24} {what}\n"));
    }
    out
}
