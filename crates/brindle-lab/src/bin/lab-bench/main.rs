//! `lab-bench` (run by `make bench-lab` through scripts/bench-lab.sh): brindle's node agent in
//! virtual 3-node clusters (network namespaces), side by side with a baseline in the same run.
//!
//! (a) route convergence: N (default 50) CNI ADDs on node1, one after the other, each claiming a
//!     new block (the pool's blockSize is 32); for each, the time from just before the plugin is
//!     spawned to the block's route (`<ip> via <node1>`) in node2's and node3's kernels (the
//!     later of the two), seen by `ip monitor route` in each namespace. brindle: agents with
//!     their BGP speaker. Baseline: agents with `--bgp false` (registration and blackholes only)
//!     and BIRD 2 on every host with the configuration Calico's confd renders (node-to-node mesh,
//!     kernel protocol `learn; scan time 2; import all`).
//! (b) `brindle-lab up --nodes 3 --pods-per-node 2` until `brindle-lab check` passes.
//! (c) every agent's peak RSS (VmHWM) after (a), and BIRD's.
//!
//! Not a test: it prints figures, ratios and a target table, because this machine is shared and
//! noisy.

mod bins;
mod cluster;
mod converge;
mod labup;
mod monitor;
mod opts;
mod pods;
mod report;
mod rss;

use cluster::{Cluster, Routing};
use report::{Convergence, Report};

/// Errors are one line of text.
pub type Res<T> = Result<T, String>;

/// The first line of an error's text (daemon errors append log tails on further lines).
pub fn one_line(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("").trim().to_string()
}

fn main() {
    let o = match opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lab-bench: {e}");
            std::process::exit(2);
        }
    };
    if o.cleanup {
        match brindle_lab::cleanup_stale(cluster::PREFIX) {
            Ok(r) if !r.is_empty() => eprintln!(
                "lab-bench: removed {} ({} namespaces, {} processes)",
                r.labs.join(" "),
                r.namespaces.len(),
                r.processes.len()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("lab-bench: cleanup: {}", one_line(e)),
        }
        return;
    }
    let bins = match bins::Bins::in_dir(&o.bin_dir) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("lab-bench: {e}");
            std::process::exit(1);
        }
    };
    let mut report = Report::new(&o);
    for routing in [Routing::Brindle, Routing::Bird] {
        if o.only.contains(&routing) {
            report.convergence.push(measure(&o, &bins, routing));
        }
    }
    if o.lab_up {
        eprintln!("lab-bench: lab up…");
        report.lab_up = Some(labup::run(&o.lab_bin, &o.lab_name, o.timeout_up));
    }
    report.print();
    if report.failed() {
        std::process::exit(1);
    }
}

/// (a) and (c) for one kind of routing, in a cluster of its own that is removed afterwards.
fn measure(o: &opts::Opts, bins: &bins::Bins, routing: Routing) -> Convergence {
    eprintln!("lab-bench: {}: starting 3 nodes…", routing.label());
    let mut result = Convergence::new(routing);
    let cluster = match Cluster::start(routing, bins, o.scan_time) {
        Ok(c) => c,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    eprintln!(
        "lab-bench: {}: {} + {} CNI ADDs on node1…",
        routing.label(),
        o.warmup,
        o.pods
    );
    match converge::run(&cluster, bins, o) {
        Ok(samples) => result.samples = samples,
        Err(e) => result.error = Some(e),
    }
    result.rss = cluster.peak_rss();
    result
}
