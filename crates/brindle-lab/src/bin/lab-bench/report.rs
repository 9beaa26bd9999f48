//! The printed result: figures side by side, ratios, and the target table.

use brindle_lab::stats::quantile_ms;
use std::time::Duration;

use crate::cluster::{NODES, Routing};
use crate::converge::Sample;
use crate::labup::LabUp;
use crate::opts::Opts;

/// Target: a new block's route in the other kernels, p99.
const CONVERGENCE_P99_MS: f64 = 50.0;
/// Target: `up` of 3 nodes × 2 pods to a passing check.
const LAB_UP_S: f64 = 5.0;
/// Target: one agent's peak RSS.
const RSS_MB: f64 = 30.0;

/// (a) and (c) of one cluster.
pub struct Convergence {
    /// Who routed.
    pub routing: Routing,
    /// The measured ADDs.
    pub samples: Vec<Sample>,
    /// Peak RSS rows: (process, KiB per node).
    pub rss: Vec<(String, Vec<Option<u64>>)>,
    /// Why the measurement stopped early.
    pub error: Option<String>,
}

impl Convergence {
    /// Nothing measured yet.
    pub fn new(routing: Routing) -> Convergence {
        Convergence {
            routing,
            samples: Vec::new(),
            rss: Vec::new(),
            error: None,
        }
    }

    fn quantile(&self, pick: fn(&Sample) -> Duration, q: f64) -> Option<f64> {
        if self.error.is_some() {
            return None;
        }
        quantile_ms(&self.samples.iter().map(pick).collect::<Vec<_>>(), q)
    }

    fn converged(&self, q: f64) -> Option<f64> {
        self.quantile(|s| s.converged, q)
    }
}

/// Everything the run found.
pub struct Report {
    pods: usize,
    warmup: usize,
    scan_time: u32,
    /// (a) and (c), brindle first.
    pub convergence: Vec<Convergence>,
    /// (b), when it ran.
    pub lab_up: Option<LabUp>,
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "n/a",
    }
}

impl Report {
    /// An empty report for these options.
    pub fn new(o: &Opts) -> Report {
        Report {
            pods: o.pods,
            warmup: o.warmup,
            scan_time: o.scan_time,
            convergence: Vec::new(),
            lab_up: None,
        }
    }

    /// Whether any part failed (a missing `brindle-lab` program is not a failure).
    pub fn failed(&self) -> bool {
        self.convergence.iter().any(|c| c.error.is_some())
            || matches!(self.lab_up, Some(LabUp::Failed(_)))
    }

    fn of(&self, routing: Routing) -> Option<&Convergence> {
        self.convergence.iter().find(|c| c.routing == routing)
    }

    /// Prints everything to stdout.
    pub fn print(&self) {
        println!();
        self.print_convergence();
        self.print_rss();
        self.print_lab_up();
        self.print_targets();
    }

    fn print_convergence(&self) {
        if self.convergence.is_empty() {
            return;
        }
        println!(
            "(a) {} new blocks (pool blockSize 32), one CNI ADD on node1 after the other ({} warm-up ADDs not counted);",
            self.pods, self.warmup
        );
        println!(
            "    time from spawning the plugin to the block's route via node1 in node2's and node3's kernels"
        );
        print!("{:<32}", "latency (ms)");
        for c in &self.convergence {
            print!(" {:>20}", c.routing.label());
        }
        println!();
        type Pick = fn(&Convergence) -> Option<f64>;
        let rows: [(&str, Pick); 5] = [
            ("CNI ADD p50", |c| c.quantile(|s| s.add, 0.5)),
            ("converged p50", |c| c.converged(0.5)),
            ("converged p90", |c| c.converged(0.9)),
            ("converged p99", |c| c.converged(0.99)),
            ("converged max", |c| c.converged(1.0)),
        ];
        for (label, pick) in rows {
            print!("{label:<32}");
            for c in &self.convergence {
                let v = if c.error.is_some() {
                    "failed".into()
                } else {
                    cell(pick(c), 2)
                };
                print!(" {v:>20}");
            }
            println!();
        }
        for c in &self.convergence {
            if let Some(e) = &c.error {
                println!("{} failed: {e}", c.routing.label());
            }
        }
        if let (Some(b), Some(r)) = (self.of(Routing::Brindle), self.of(Routing::Bird)) {
            let ratio = |q: f64| match (b.converged(q), r.converged(q)) {
                (Some(a), Some(z)) if z > 0.0 => format!("{:.3}x", a / z),
                _ => "n/a".into(),
            };
            println!(
                "ratios, same run: brindle / {}: converged p50 {}, p99 {}",
                r.routing.label(),
                ratio(0.5),
                ratio(0.99)
            );
        }
        if let Some(r) = self.of(Routing::Bird) {
            println!(
                "    (baseline: brindle-node --bgp false installs each block's blackhole; BIRD 2 per node, \
                 node-to-node mesh, kernel protocol learn, scan time {} s, import all, export all)",
                self.scan_time
            );
            let scan_ms = f64::from(self.scan_time) * 1000.0;
            if r.converged(0.99).is_some_and(|v| v < scan_ms / 2.0) {
                println!(
                    "    note: BIRD converged well within its {} s scan: its kernel protocol learns alien routes \
                     from netlink notifications as they are added (the scan only catches missed ones)",
                    self.scan_time
                );
            }
        }
        println!();
    }

    fn print_rss(&self) {
        if self.convergence.is_empty() {
            return;
        }
        print!("{:<32}", "(c) peak RSS after (a), MB");
        for i in 1..=NODES {
            print!(" {:>8}", format!("node{i}"));
        }
        println!();
        for c in &self.convergence {
            for (label, per_node) in &c.rss {
                print!("{label:<32}");
                for kib in per_node {
                    print!(" {:>8}", cell(kib.map(mb), 1));
                }
                println!();
            }
        }
        let node1 = |c: Option<&Convergence>, row: usize| {
            c.and_then(|c| c.rss.get(row))
                .and_then(|(_, v)| v.first().copied().flatten())
        };
        let brindle = node1(self.of(Routing::Brindle), 0);
        let baseline = node1(self.of(Routing::Bird), 0)
            .zip(node1(self.of(Routing::Bird), 1))
            .map(|(a, b)| a + b);
        if let (Some(b), Some(z)) = (brindle, baseline) {
            println!(
                "ratio, node1: brindle-node / (brindle-node --bgp false + bird): {:.2}x",
                b as f64 / z as f64
            );
        }
        println!();
    }

    fn print_lab_up(&self) {
        match &self.lab_up {
            None => {}
            Some(LabUp::Missing(path)) => {
                println!("(b) lab up: n/a (brindle-lab binary missing)");
                println!("    (no {})", path.display());
            }
            Some(LabUp::Failed(e)) => println!("(b) lab up: failed: {e}"),
            Some(LabUp::Done {
                up,
                ready,
                checks,
                down,
            }) => println!(
                "(b) brindle-lab up --nodes 3 --pods-per-node 2: up {:.2} s, check passing after {:.2} s \
                 ({checks} check runs), down {:.2} s",
                up.as_secs_f64(),
                ready.as_secs_f64(),
                down.as_secs_f64()
            ),
        }
        if self.lab_up.is_some() {
            println!();
        }
    }

    fn print_targets(&self) {
        println!("{:<52} {:>10}  result", "target", "measured");
        let row = |target: &str, measured: String, ok: Option<bool>| {
            println!("{target:<52} {measured:>10}  {}", verdict(ok));
        };
        if let Some(b) = self.of(Routing::Brindle) {
            let p99 = b.converged(0.99);
            row(
                "route convergence p99 < 50 ms (brindle)",
                p99.map_or("failed".into(), |v| format!("{v:.1} ms")),
                Some(p99.is_some_and(|v| v < CONVERGENCE_P99_MS)),
            );
            if let Some(r) = self.of(Routing::Bird) {
                let p99 = r.converged(0.99);
                println!(
                    "{:<52} {:>10}  (reference)",
                    format!("  {} p99", r.routing.label()),
                    p99.map_or("failed".into(), |v| format!("{v:.1} ms"))
                );
            }
        }
        match &self.lab_up {
            None => {}
            Some(LabUp::Missing(_)) => row(
                "lab up < 5 s (3 nodes x 2 pods, check passing)",
                "n/a".into(),
                None,
            ),
            Some(LabUp::Failed(_)) => row(
                "lab up < 5 s (3 nodes x 2 pods, check passing)",
                "failed".into(),
                Some(false),
            ),
            Some(LabUp::Done { ready, .. }) => row(
                "lab up < 5 s (3 nodes x 2 pods, check passing)",
                format!("{:.2} s", ready.as_secs_f64()),
                Some(ready.as_secs_f64() < LAB_UP_S),
            ),
        }
        if let Some(b) = self.of(Routing::Brindle) {
            let worst = b
                .rss
                .first()
                .and_then(|(_, v)| v.iter().copied().collect::<Option<Vec<u64>>>())
                .and_then(|v| v.into_iter().max());
            row(
                "agent peak RSS < 30 MB (largest brindle-node)",
                worst.map_or("n/a".into(), |k| format!("{:.1} MB", mb(k))),
                Some(worst.is_some_and(|k| mb(k) < RSS_MB)),
            );
        }
    }
}
