//! `demo`: up 3 nodes with 2 pods each and a BIRD router; show every agent's sessions, node1's
//! routes, the router's learned routes and the ping matrix; then down, also when something
//! failed (or panicked) on the way.

use brindle_lab::cluster::{self, DatastoreKind, LabState, RouterKind, status};

use crate::cli::UpArgs;
use crate::commands::{Target, summary, up_options};

/// Takes the demo's lab down when dropped.
struct DownGuard<'a>(&'a Target);

impl Drop for DownGuard<'_> {
    fn drop(&mut self) {
        section("down");
        match cluster::down(&self.0.name, &self.0.dir) {
            Ok(r) => println!("lab {}: {r}", self.0.name),
            Err(e) => eprintln!("brindle-lab: down: {e}"),
        }
    }
}

fn section(title: &str) {
    println!("\n=== {title} ===");
}

/// Runs the demo; returns the exit code (non-zero when up or the check failed).
pub fn run(target: &Target) -> u8 {
    let args = UpArgs {
        nodes: 3,
        pods_per_node: 2,
        datastore: DatastoreKind::Sqlite,
        external_router: Some(RouterKind::Bird),
    };
    section("up: 3 nodes, 2 pods each, external BIRD router (AS 64513, VIP 10.99.0.1)");
    let report = match cluster::up(&up_options(target, &args)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("brindle-lab: up: {e}");
            return 1;
        }
    };
    let _down = DownGuard(target);
    print!("{}", summary(target, &report));
    show(&report.state)
}

fn show(state: &LabState) -> u8 {
    for n in &state.nodes {
        section(&format!("{}: brindlectl node status", n.name));
        print!("{}", status::node_status(state, n));
    }
    if let Some(n) = state.nodes.first() {
        section(&format!("{}: ip route", n.name));
        let argv = ["ip".to_string(), "route".to_string()];
        if let Err(e) = cluster::exec(state, &n.name, &argv) {
            eprintln!("brindle-lab: {e}");
        }
    }
    if let Some(routes) = status::router_routes(state) {
        section("router: birdc show route");
        print!("{routes}");
    }
    section("check: ping from each pod (rows) to each pod and the VIP (columns)");
    let report = cluster::check(state);
    println!("{report}");
    if report.passed() { 0 } else { 1 }
}
