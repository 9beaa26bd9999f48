//! A 3-node cluster for the convergence measurement: lab hosts, one SQLite datastore holding
//! the benchmark's pool, a `brindle-node run` per host and, for the baseline, BIRD 2 per host.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use brindle_lab::cluster::agent::{self, MeshWatch};
use brindle_lab::cluster::state::DatastoreState;
use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Host, IpPrefix, Lab, LabProcess, Neighbor, wait_for,
};

use crate::bins::Bins;
use crate::{Res, one_line};

/// The lab name prefix of this benchmark (`lb<4 hex>`); `--cleanup` removes stale ones.
pub const PREFIX: &str = "lb";
/// Nodes per cluster.
pub const NODES: usize = 3;
/// The cluster's AS number (Calico's default).
const ASN: u32 = 64512;
/// How long agents and sessions may take to come up.
const UP: Duration = Duration::from_secs(30);

/// Who routes the pods' blocks between the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// brindle-node's own BGP speaker.
    Brindle,
    /// BIRD 2 configured as Calico's confd configures it; agents run with `--bgp false`.
    Bird,
}

impl Routing {
    /// Column label.
    pub fn label(self) -> &'static str {
        match self {
            Routing::Brindle => "brindle",
            Routing::Bird => "BIRD 2 (Calico cfg)",
        }
    }

    /// The benchmark's pool (blockSize 32: every ADD claims a new block).
    pub fn pool(self) -> &'static str {
        match self {
            Routing::Brindle => "172.20.0.0/16",
            Routing::Bird => "172.21.0.0/16",
        }
    }
}

/// One node: its host namespace, its directories and its agent.
pub struct Node {
    /// The Node resource's name (`node1`…).
    pub name: String,
    /// Its namespace.
    pub host: Host,
    /// `--state-dir` (the CNI plugin reads the MTU there).
    pub state_dir: PathBuf,
    /// `--run-dir` (the control socket).
    pub run_dir: PathBuf,
    /// The agent process.
    pub agent: LabProcess,
}

/// The running cluster; dropping it stops everything and removes the lab.
pub struct Cluster {
    /// Who routes.
    pub routing: Routing,
    /// node1..node3.
    pub nodes: Vec<Node>,
    /// The baseline's BIRDs, one per node (empty for brindle).
    pub birds: Vec<Bird>,
    /// The SQLite datastore every node and the CNI plugin open.
    pub datastore: PathBuf,
    /// Kept last: dropped after the processes above.
    _lab: Lab,
}

impl Cluster {
    /// Builds the cluster and waits until every BGP session is Established.
    pub fn start(routing: Routing, bins: &Bins, scan_time: u32) -> Res<Cluster> {
        let lab = Lab::with_prefix(PREFIX).map_err(one_line)?;
        let hosts = (1..=NODES)
            .map(|i| lab.add_host(&format!("n{i}")).map_err(one_line))
            .collect::<Res<Vec<Host>>>()?;
        let datastore = lab.dir().join("datastore.db");
        apply_pool(&hosts[0], bins, &datastore, routing.pool())?;
        let mut nodes = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            nodes.push(start_agent(
                h,
                &format!("node{}", i + 1),
                bins,
                &datastore,
                routing,
            )?);
        }
        let mut birds = Vec::new();
        if routing == Routing::Bird {
            let pool: IpPrefix = routing
                .pool()
                .parse()
                .map_err(|e| format!("pool: {}", one_line(e)))?;
            for h in &hosts {
                let mut config = BgpConfig::for_host(h, ASN).kernel_learn(scan_time, &[pool]);
                for other in hosts.iter().filter(|o| o.ns() != h.ns()) {
                    // Calico's mesh template: add paths on, graceful restart.
                    config = config.neighbor(
                        Neighbor::new(other.ipv4().into(), ASN)
                            .add_path()
                            .graceful_restart(),
                    );
                }
                birds.push(Bird::start(h, &config).map_err(one_line)?);
            }
        }
        let cluster = Cluster {
            routing,
            nodes,
            birds,
            datastore,
            _lab: lab,
        };
        cluster.wait_mesh()?;
        Ok(cluster)
    }

    /// Waits until every node has an Established session with each other node.
    fn wait_mesh(&self) -> Res<()> {
        let addrs: Vec<IpAddr> = self.nodes.iter().map(|n| n.host.ipv4().into()).collect();
        if self.routing == Routing::Bird {
            for bird in &self.birds {
                let own: IpAddr = bird.host().ipv4().into();
                for a in addrs.iter().filter(|a| **a != own) {
                    bird.wait_established(*a, UP).map_err(one_line)?;
                }
            }
            return Ok(());
        }
        let watches: Vec<MeshWatch> = self
            .nodes
            .iter()
            .map(|n| MeshWatch {
                node: n.name.clone(),
                run_dir: n.run_dir.clone(),
                log: n.agent.log_path().to_path_buf(),
                expected: addrs
                    .iter()
                    .copied()
                    .filter(|a| *a != IpAddr::from(n.host.ipv4()))
                    .collect(),
            })
            .collect();
        let running = |name: &str| {
            self.nodes
                .iter()
                .any(|n| n.name == name && n.agent.is_running())
        };
        agent::wait_established(&watches, UP, &running).map_err(one_line)?;
        Ok(())
    }

    /// Peak RSS (VmHWM, KiB) per node of the agents, and of the BIRDs when there are any.
    pub fn peak_rss(&self) -> Vec<(String, Vec<Option<u64>>)> {
        let agent = match self.routing {
            Routing::Brindle => "brindle-node",
            Routing::Bird => "brindle-node --bgp false",
        };
        let mut rows = vec![(
            agent.to_string(),
            self.nodes
                .iter()
                .map(|n| crate::rss::peak_kib(n.agent.pid()))
                .collect(),
        )];
        if !self.birds.is_empty() {
            rows.push((
                "bird".to_string(),
                self.birds
                    .iter()
                    .map(|b| crate::rss::peak_kib(b.process().pid()))
                    .collect(),
            ));
        }
        rows
    }
}

/// Creates the benchmark's IP pool with brindlectl before any agent starts.
fn apply_pool(host: &Host, bins: &Bins, datastore: &Path, cidr: &str) -> Res<()> {
    let manifest = format!(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: bench-pool\nspec:\n  \
         cidr: {cidr}\n  blockSize: 32\n  ipipMode: Never\n  vxlanMode: Never\n  natOutgoing: false\n"
    );
    let file = host.dir().join("pool.yaml");
    std::fs::write(&file, manifest).map_err(|e| format!("{}: {e}", file.display()))?;
    host.run(
        &Bins::arg(&bins.ctl),
        &[
            "apply",
            "-f",
            &Bins::arg(&file),
            "--datastore-type",
            "sqlite",
            "--datastore-path",
            &Bins::arg(datastore),
        ],
    )
    .map(drop)
    .map_err(one_line)
}

/// Starts `brindle-node run` in `host` (as the agent tests do) and waits for its socket.
fn start_agent(
    host: &Host,
    name: &str,
    bins: &Bins,
    datastore: &Path,
    routing: Routing,
) -> Res<Node> {
    // Like a real host, a default route: pods' gateway 169.254.1.1 is answered by proxy ARP
    // only when the host has a route to it.
    host.run("ip", &["route", "replace", "default", "dev", "eth0"])
        .map_err(one_line)?;
    let dir = host.dir().join("node");
    let (state_dir, run_dir) = (dir.join("state"), dir.join("run"));
    let store = DatastoreState::Sqlite {
        path: datastore.to_path_buf(),
    };
    let mut args = agent::args(name, host.ipv4().into(), &state_dir, &run_dir, &store);
    args.push("--no-default-pools".into());
    if routing == Routing::Bird {
        args.extend(["--bgp".into(), "false".into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agent = host
        .spawn(&Bins::arg(&bins.node), &args, "agent.log")
        .map_err(one_line)?;
    // With BGP, ready when its control socket exists; without (no socket), when it logs that
    // it registered the node (after opening its blackhole routes).
    let socket = run_dir.join("node.sock");
    let ready = || match routing {
        Routing::Brindle => socket.exists(),
        Routing::Bird => agent.log_tail(20).contains(" registered"),
    };
    let started = wait_for(UP, || {
        if !agent.is_running() {
            Some(false)
        } else {
            ready().then_some(true)
        }
    });
    match started {
        Some(true) => Ok(Node {
            name: name.to_string(),
            host: host.clone(),
            state_dir,
            run_dir,
            agent,
        }),
        Some(false) => Err(format!(
            "{name}: brindle-node exited during start-up: {}",
            agent.log_tail(1).trim()
        )),
        None => Err(format!(
            "{name}: brindle-node not ready after {} s: {}",
            UP.as_secs(),
            agent.log_tail(1).trim()
        )),
    }
}
