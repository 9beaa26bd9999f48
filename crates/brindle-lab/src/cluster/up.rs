//! `up`: builds the cluster — switch, node namespaces, datastore, external router, one agent
//! per node — waits until every BGP session is Established, adds the pods, and keeps it all
//! running after this process exits. A failure on the way removes everything again.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use super::agent::{self, AGENT_BIN, MeshWatch};
use super::cni::CNI_BIN;
use super::converge;
use super::datastore::start_etcd;
use super::detached::ProcessRecord;
use super::down;
use super::naming::{ETCD_HOST, ROUTER_HOST, node_name, role_of};
use super::options::{DatastoreKind, UpOptions};
use super::pods;
use super::router::{self, RouterDaemon};
use super::state::{DatastoreState, LabState, MARKER_FILE, NodeState};
use super::tools::{CTL_BIN, brindlectl};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::lab::{BRIDGE, Lab};
use crate::process::{LabProcess, run_ok};
use crate::stale::list_namespaces;

/// How long the agents get to bring every session up.
pub const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the agents get to install the routes to the new pods (a warning after that).
pub const ROUTES_TIMEOUT: Duration = Duration::from_secs(10);

/// Removes whatever a failed `up` left outside the [`Lab`]'s own care (pod namespaces), unless
/// disarmed.
struct UpGuard<'a> {
    name: &'a str,
    dir: &'a Path,
    armed: bool,
}

impl Drop for UpGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = down::down(self.name, self.dir);
        }
    }
}

/// What `up` built, and how long it took.
#[derive(Debug)]
pub struct UpReport {
    /// The lab, as recorded in its state file.
    pub state: LabState,
    /// From start to pods wired.
    pub took: Duration,
    /// Of which waiting for the BGP sessions.
    pub establish: Duration,
    /// Routes to pods on other nodes that no node had yet when `up` stopped waiting (`node ->
    /// ip (node/pod)`); empty when every route was in place.
    pub missing_routes: Vec<String>,
}

/// Builds the lab described by `opts` (see the module docs).
pub fn up(opts: &UpOptions) -> Result<UpReport> {
    let started = Instant::now();
    opts.validate()?;
    preflight(opts)?;
    let mut guard = UpGuard {
        name: &opts.name,
        dir: &opts.dir,
        armed: true,
    };
    let lab = Lab::persistent(&opts.name, &opts.dir)?;
    let marker = opts.dir.join(MARKER_FILE);
    std::fs::write(&marker, "brindle-lab cluster\n")
        .map_err(|e| Error::io(format!("cannot write {}", marker.display()), e))?;

    let gateway = add_gateway(&lab)?;
    let mut hosts: Vec<Host> = Vec::with_capacity(opts.nodes);
    for i in 1..=opts.nodes {
        let host = lab.add_host(&node_name(i))?;
        // As on any Kubernetes node: the host forwards its pods' traffic, and has a default
        // route (which is also what makes proxy ARP answer the pods for 169.254.1.1).
        host.sysctl("net.ipv4.ip_forward", "1")?;
        host.run(
            "ip",
            &["route", "add", "default", "via", &gateway.to_string()],
        )?;
        for sub in ["state", "run"] {
            let d = host.dir().join(sub);
            std::fs::create_dir(&d)
                .map_err(|e| Error::io(format!("cannot create {}", d.display()), e))?;
        }
        hosts.push(host);
    }
    let router_host = match opts.router {
        Some(_) => Some(lab.add_host(ROUTER_HOST)?),
        None => None,
    };

    // Handles that stop their processes when dropped, until the lab is kept.
    let mut keepers: Vec<LabProcess> = Vec::new();
    let datastore = match opts.datastore {
        DatastoreKind::Sqlite => DatastoreState::Sqlite {
            path: opts.dir.join("datastore.db"),
        },
        DatastoreKind::Etcd => {
            let host = lab.add_host(ETCD_HOST)?;
            let (process, state) = start_etcd(&host)?;
            keepers.push(process);
            state
        }
    };
    let node_ips: Vec<Ipv4Addr> = hosts.iter().map(Host::ipv4).collect();

    // The router first: the agents find it listening when they start.
    let mut router_daemon: Option<RouterDaemon> = None;
    let mut router_state = None;
    if let (Some(kind), Some(host)) = (opts.router, &router_host) {
        let (daemon, state) = router::start(kind, host, &node_ips)?;
        let first = &hosts[0];
        brindlectl(
            &datastore,
            &opts.bin_dir,
            first.ns(),
            &first.dir().join("run"),
            &["apply", "-f", "-"],
            Some(&router::bgp_peer_manifest(state.ipv4)),
        )?;
        router_daemon = Some(daemon);
        router_state = Some(state);
    }

    let agent_bin = opts.bin_dir.join(AGENT_BIN).display().to_string();
    let mut nodes = Vec::with_capacity(hosts.len());
    for host in &hosts {
        let (state_dir, run_dir) = (host.dir().join("state"), host.dir().join("run"));
        let args = agent::args(
            host.name(),
            IpAddr::V4(host.ipv4()),
            &state_dir,
            &run_dir,
            &datastore,
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = host.spawn(&agent_bin, &args, "agent.log")?;
        let log = process.log_path().to_path_buf();
        let agent = ProcessRecord::of(process.pid(), log.clone()).ok_or_else(|| Error::Daemon {
            daemon: format!("the agent of {}", host.name()),
            message: "exited right after start".into(),
            log_tail: crate::tail_file(&log, 20),
        })?;
        keepers.push(process);
        nodes.push(NodeState {
            name: host.name().to_string(),
            ns: host.ns().to_string(),
            ipv4: host.ipv4(),
            state_dir,
            run_dir,
            agent,
            pods: Vec::new(),
        });
    }
    let mut state = LabState {
        name: opts.name.clone(),
        dir: opts.dir.clone(),
        bin_dir: opts.bin_dir.clone(),
        switch_ns: lab.switch_ns().to_string(),
        subnet: {
            let (net, len) = lab.ipv4_subnet();
            format!("{net}/{len}")
        },
        datastore,
        nodes,
        router: router_state,
    };
    state.save()?;

    let waited = Instant::now();
    let watches: Vec<MeshWatch> = state
        .nodes
        .iter()
        .map(|n| MeshWatch {
            node: n.name.clone(),
            run_dir: n.run_dir.clone(),
            log: n.agent.log.clone(),
            expected: state
                .nodes
                .iter()
                .filter(|o| o.name != n.name)
                .map(|o| IpAddr::V4(o.ipv4))
                .chain(state.router.iter().map(|r| IpAddr::V4(r.ipv4)))
                .collect(),
        })
        .collect();
    let running = |node: &str| {
        state
            .nodes
            .iter()
            .find(|n| n.name == node)
            .is_some_and(|n| n.agent.is_running())
    };
    agent::wait_established(&watches, ESTABLISH_TIMEOUT, &running)?;
    let establish = waited.elapsed();

    for i in 0..state.nodes.len() {
        for k in 1..=opts.pods_per_node {
            let node = state.nodes[i].name.clone();
            let pod = pods::create(&state, &node, &format!("pod{k}"))?;
            state.nodes[i].pods.push(pod);
        }
    }
    state.save()?;
    let missing_routes = converge::wait_pod_routes(&state, ROUTES_TIMEOUT);

    lab.keep();
    drop(keepers);
    drop(router_daemon);
    guard.armed = false;
    Ok(UpReport {
        state,
        took: started.elapsed(),
        establish,
        missing_routes,
    })
}

/// Gives the bridge the segment's first address, the nodes' default gateway (it leads nowhere:
/// the switch namespace has no other link).
fn add_gateway(lab: &Lab) -> Result<Ipv4Addr> {
    let (net, len) = lab.ipv4_subnet();
    let gw = Ipv4Addr::from(u32::from(net) | 1);
    let sw = lab.switch_ns();
    run_ok(
        "ip",
        &[
            "-n",
            sw,
            "addr",
            "add",
            &format!("{gw}/{len}"),
            "dev",
            BRIDGE,
        ],
    )?;
    Ok(gw)
}

/// Refuses to start over a lab that is up, or over its leftovers, or without the binaries.
fn preflight(opts: &UpOptions) -> Result<()> {
    for bin in [AGENT_BIN, CNI_BIN, CTL_BIN] {
        let path = opts.bin_dir.join(bin);
        if !path.is_file() {
            return Err(Error::invalid(
                "bin dir",
                format!(
                    "{} not found (build it: cargo build -p brindle-node -p brindle-cni -p \
                     brindlectl --bins; or point --bin-dir / BRINDLE_BIN_DIR at it)",
                    path.display()
                ),
            ));
        }
    }
    let name = &opts.name;
    if LabState::path(&opts.dir).exists() {
        return Err(Error::invalid(
            "lab",
            format!(
                "{name} is already up (state in {}); `brindle-lab down --name {name}` first",
                opts.dir.display()
            ),
        ));
    }
    let leftovers: Vec<String> = list_namespaces()?
        .into_iter()
        .filter(|ns| role_of(name, ns).is_some())
        .collect();
    if !leftovers.is_empty() {
        return Err(Error::invalid(
            "lab",
            format!(
                "namespaces of lab {name} exist ({}); `brindle-lab down --name {name}` removes them",
                leftovers.join(" ")
            ),
        ));
    }
    Ok(())
}
