//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

use crate::Res;
use crate::cluster::Routing;

/// What to run, and how much.
pub struct Opts {
    /// Where brindle-node, brindle and brindlectl are (default: next to this program).
    pub bin_dir: PathBuf,
    /// The `brindle-lab` program for (b) (default: `<bin-dir>/brindle-lab`).
    pub lab_bin: PathBuf,
    /// The name of the lab (b) builds.
    pub lab_name: String,
    /// Measured CNI ADDs (blocks) per cluster.
    pub pods: usize,
    /// ADDs before those, not counted.
    pub warmup: usize,
    /// How long one block's route may take before the run fails.
    pub timeout_route: Duration,
    /// How long (b) may take, up and checks together.
    pub timeout_up: Duration,
    /// The baseline BIRD's kernel scan time in seconds (Calico: 2).
    pub scan_time: u32,
    /// Which clusters (a) measures.
    pub only: Vec<Routing>,
    /// Whether (b) runs.
    pub lab_up: bool,
    /// Only remove what killed runs left behind, then exit.
    pub cleanup: bool,
}

fn usage() -> String {
    "usage: lab-bench [--bin-dir DIR] [--lab-bin PATH] [--lab-name NAME] [--pods N] \
     [--warmup N] [--timeout SECS] [--scan-time SECS] [--only brindle,bird,up] | --cleanup"
        .into()
}

/// Parses the process's arguments.
pub fn parse() -> Res<Opts> {
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let mut o = Opts {
        lab_bin: PathBuf::new(),
        bin_dir,
        // Not `<letters><4 hex>`: brindle-lab keeps that shape for throw-away test labs.
        lab_name: format!("bup{:05}", std::process::id() % 100_000),
        pods: 50,
        warmup: 2,
        timeout_route: Duration::from_secs(15),
        timeout_up: Duration::from_secs(120),
        scan_time: 2,
        only: vec![Routing::Brindle, Routing::Bird],
        lab_up: true,
        cleanup: false,
    };
    let mut lab_bin = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let num = |v: String| -> Res<usize> {
            v.parse::<usize>()
                .map_err(|_| format!("{a}: {v:?} is not a number"))
        };
        match a.as_str() {
            "--bin-dir" => o.bin_dir = PathBuf::from(val()?),
            "--lab-bin" => lab_bin = Some(PathBuf::from(val()?)),
            "--lab-name" => o.lab_name = val()?,
            "--pods" => o.pods = num(val()?)?.max(1),
            "--warmup" => o.warmup = num(val()?)?,
            "--timeout" => o.timeout_route = Duration::from_secs(num(val()?)?.max(1) as u64),
            "--scan-time" => {
                o.scan_time =
                    u32::try_from(num(val()?)?.max(1)).map_err(|_| format!("{a}: too large"))?
            }
            "--only" => {
                let list = val()?;
                o.only.clear();
                o.lab_up = false;
                for part in list.split(',') {
                    match part {
                        "brindle" => o.only.push(Routing::Brindle),
                        "bird" => o.only.push(Routing::Bird),
                        "up" => o.lab_up = true,
                        x => return Err(format!("--only: unknown {x:?} (brindle, bird, up)")),
                    }
                }
            }
            "--cleanup" => o.cleanup = true,
            "-h" | "--help" => return Err(usage()),
            x => return Err(format!("unknown argument {x:?}; {}", usage())),
        }
    }
    o.lab_bin = lab_bin.unwrap_or_else(|| o.bin_dir.join("brindle-lab"));
    Ok(o)
}
