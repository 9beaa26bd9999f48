//! The lab's state file, `<dir>/state.json`: what `up` built, so later invocations (status,
//! exec, pod add/del, check, down) find the nodes, their addresses, namespaces, processes and
//! pods.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::detached::ProcessRecord;
use super::options::RouterKind;
use crate::error::{Error, Result};

/// The state file's name inside the lab dir.
pub const STATE_FILE: &str = "state.json";

/// Written first into a lab dir: `down` removes only directories that hold it.
pub const MARKER_FILE: &str = ".brindle-lab";

/// The lock file serialising changes to the state (`pod add` and `pod del` running at once).
const LOCK_FILE: &str = ".lock";

/// Everything a lab is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabState {
    /// The lab's name (every namespace starts with `<name>-`).
    pub name: String,
    /// The lab dir.
    pub dir: PathBuf,
    /// Where `brindle-node`, `brindle` and `brindlectl` are.
    pub bin_dir: PathBuf,
    /// The namespace holding the bridge.
    pub switch_ns: String,
    /// The segment's IPv4 subnet, e.g. `10.12.34.0/24`.
    pub subnet: String,
    /// The datastore the nodes share.
    pub datastore: DatastoreState,
    /// The nodes, in order.
    pub nodes: Vec<NodeState>,
    /// The external router, if any.
    pub router: Option<RouterState>,
}

/// The shared datastore.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DatastoreState {
    /// A SQLite file.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// etcd in a namespace of its own.
    Etcd {
        /// Its client URL, `http://<ip>:2379`.
        endpoint: String,
        /// Its namespace.
        ns: String,
        /// The etcd process.
        process: ProcessRecord,
    },
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeState {
    /// `node1`…
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    /// Its address on the segment.
    pub ipv4: Ipv4Addr,
    /// The agent's state dir (`<dir>/<node>/state`).
    pub state_dir: PathBuf,
    /// The agent's run dir (`<dir>/<node>/run`, holding `node.sock`).
    pub run_dir: PathBuf,
    /// The agent process.
    pub agent: ProcessRecord,
    /// Its pods, in the order they were added.
    pub pods: Vec<PodState>,
}

/// One pod.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodState {
    /// The pod's name.
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    /// The container ID the CNI plugin was called with (DEL needs the same).
    pub container_id: String,
    /// Its address, from the CNI result.
    pub ipv4: Option<Ipv4Addr>,
}

/// The external router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterState {
    /// Which daemon.
    pub kind: RouterKind,
    /// Its namespace.
    pub ns: String,
    /// Its address on the segment (the nodes' BGPPeer).
    pub ipv4: Ipv4Addr,
    /// Its AS number.
    pub as_number: u32,
    /// The VIP on its loopback, advertised to the nodes.
    pub vip: Ipv4Addr,
    /// The daemon's processes.
    pub processes: Vec<ProcessRecord>,
    /// The command line showing its BGP sessions.
    pub peers_command: Vec<String>,
    /// The command line showing the routes it learned.
    pub routes_command: Vec<String>,
}

impl LabState {
    /// The state file of the lab in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Reads the state of the lab in `dir`; a missing file says the lab is not up.
    pub fn load(dir: &Path) -> Result<LabState> {
        let path = LabState::path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::invalid(
                    "lab",
                    format!(
                        "none is up in {} (no {STATE_FILE}; `brindle-lab up` builds one)",
                        dir.display()
                    ),
                )
            } else {
                Error::io(format!("cannot read {}", path.display()), e)
            }
        })?;
        serde_json::from_str(&text)
            .map_err(|e| Error::parse(path.display().to_string(), e.to_string()))
    }

    /// Writes the state file atomically (a temp file renamed over it).
    pub fn save(&self) -> Result<()> {
        let path = LabState::path(&self.dir);
        let tmp = self.dir.join(format!(".{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::parse("the lab state", e.to_string()))?;
        std::fs::write(&tmp, text + "\n")
            .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&NodeState> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            Error::invalid(
                "node",
                format!("{name:?}: the lab has {}", self.node_list()),
            )
        })
    }

    /// The node called `name`, to change.
    pub fn node_mut(&mut self, name: &str) -> Result<&mut NodeState> {
        let list = self.node_list();
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .ok_or_else(|| Error::invalid("node", format!("{name:?}: the lab has {list}")))
    }

    fn node_list(&self) -> String {
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        names.join(", ")
    }

    /// Every long-running process of the lab: agents, router daemon, etcd.
    pub fn processes(&self) -> Vec<&ProcessRecord> {
        let mut all: Vec<&ProcessRecord> = self.nodes.iter().map(|n| &n.agent).collect();
        if let Some(r) = &self.router {
            all.extend(&r.processes);
        }
        if let DatastoreState::Etcd { process, .. } = &self.datastore {
            all.push(process);
        }
        all
    }

    /// Every namespace of the lab: pods, hosts, then the switch.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|n| n.pods.iter().map(|p| p.ns.clone()))
            .collect();
        all.extend(self.nodes.iter().map(|n| n.ns.clone()));
        if let Some(r) = &self.router {
            all.push(r.ns.clone());
        }
        if let DatastoreState::Etcd { ns, .. } = &self.datastore {
            all.push(ns.clone());
        }
        all.push(self.switch_ns.clone());
        all
    }
}

/// An exclusive lock on a lab dir's state, released on drop.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Waits for the exclusive lock on the state of the lab in `dir`.
    pub fn acquire(dir: &Path) -> Result<StateLock> {
        let path = dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e.into()))?;
        Ok(StateLock { _file: file })
    }
}
