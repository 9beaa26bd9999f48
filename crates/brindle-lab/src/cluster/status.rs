//! `status`: the lab's nodes (namespace, address, agent, pods), its router and datastore, and
//! what each agent says about its BGP sessions.

use std::fmt::Write as _;

use super::detached::ProcessRecord;
use super::state::{DatastoreState, LabState, NodeState};
use super::tools::node_brindlectl;
use crate::error::Error;
use crate::process::run;

/// The overview table (no agent queries): one line per node, then router and datastore.
pub fn overview(state: &LabState) -> String {
    let mut rows = vec![[
        "NODE".to_string(),
        "NAMESPACE".into(),
        "IP".into(),
        "AGENT PID".into(),
        "RUNNING".into(),
        "PODS".into(),
    ]];
    for n in &state.nodes {
        let pods: Vec<String> = n
            .pods
            .iter()
            .map(|p| match p.ipv4 {
                Some(ip) => format!("{}={ip}", p.name),
                None => format!("{}=(no address)", p.name),
            })
            .collect();
        rows.push([
            n.name.clone(),
            n.ns.clone(),
            n.ipv4.to_string(),
            n.agent.pid.to_string(),
            yes_no(&n.agent).into(),
            if pods.is_empty() {
                "-".into()
            } else {
                pods.join(" ")
            },
        ]);
    }
    let mut out = format!(
        "lab {} ({}), segment {}, datastore {}\n",
        state.name,
        state.dir.display(),
        state.subnet,
        state.datastore.describe()
    );
    out.push_str(&render(&rows));
    if let Some(r) = &state.router {
        let running = r.processes.iter().all(ProcessRecord::is_running);
        let _ = writeln!(
            out,
            "router: {} in {}, {} AS {}, VIP {}, {}",
            r.kind,
            r.ns,
            r.ipv4,
            r.as_number,
            r.vip,
            if running { "running" } else { "NOT running" }
        );
    }
    if let DatastoreState::Etcd { ns, process, .. } = &state.datastore {
        let _ = writeln!(
            out,
            "etcd: in {ns}, pid {} {}",
            process.pid,
            if process.is_running() {
                "running"
            } else {
                "NOT running"
            }
        );
    }
    out
}

/// What `node`'s agent says about its sessions (`brindlectl node status`), or why it cannot.
pub fn node_status(state: &LabState, node: &NodeState) -> String {
    let run_dir = node.run_dir.display().to_string();
    match node_brindlectl(state, node, &["node", "status", "--run-dir", &run_dir]) {
        Ok(out) => out,
        Err(Error::Command { stderr, .. }) => format!("{stderr}\n"),
        Err(e) => format!("{e}\n"),
    }
}

/// The router's learned routes, from its own CLI.
pub fn router_routes(state: &LabState) -> Option<String> {
    let r = state.router.as_ref()?;
    Some(run_text(&r.routes_command))
}

/// The router's BGP sessions, from its own CLI.
pub fn router_peers(state: &LabState) -> Option<String> {
    let r = state.router.as_ref()?;
    Some(run_text(&r.peers_command))
}

/// A command's stdout, or what went wrong.
fn run_text(argv: &[String]) -> String {
    let Some((program, args)) = argv.split_first() else {
        return String::new();
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(program, &args, crate::process::COMMAND_TIMEOUT) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => format!(
            "({} failed: {})\n",
            argv.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("({e})\n"),
    }
}

/// The full status: overview, then each node's sessions.
pub fn full(state: &LabState) -> String {
    let mut out = overview(state);
    for n in &state.nodes {
        let _ = write!(out, "\n{} ({}):\n{}", n.name, n.ipv4, node_status(state, n));
    }
    out
}

fn yes_no(p: &ProcessRecord) -> &'static str {
    if p.is_running() { "yes" } else { "NO" }
}

/// Left-aligned columns separated by two spaces.
pub(crate) fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
