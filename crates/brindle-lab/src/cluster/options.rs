//! What `up` is asked to build: [`UpOptions`], with the datastore and router choices.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The AS number of the external router (the nodes keep Calico's default, 64512).
pub const ROUTER_AS: u32 = 64513;

/// The AS number the nodes use (BGPConfiguration's default).
pub const NODE_AS: u32 = 64512;

/// The service VIP the external router puts on its loopback and advertises.
pub const ROUTER_VIP: &str = "10.99.0.1";

/// Most nodes a cluster may have (`<lab>-node<N>` must fit in a namespace name).
pub const MAX_NODES: usize = 99;

/// Most pods `up` adds per node.
pub const MAX_PODS_PER_NODE: usize = 50;

/// Which datastore the nodes share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreKind {
    /// One SQLite file, `<dir>/datastore.db`.
    Sqlite,
    /// Debian's etcd, in a namespace of its own on the lab's segment.
    Etcd,
}

/// Which daemon plays the external router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouterKind {
    /// BIRD 2.
    Bird,
    /// FRR's bgpd with zebra.
    Frr,
    /// gobgpd.
    Gobgp,
}

impl FromStr for DatastoreKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sqlite" => Ok(DatastoreKind::Sqlite),
            "etcd" | "etcdv3" => Ok(DatastoreKind::Etcd),
            other => Err(Error::invalid(
                "datastore",
                format!("{other:?}: sqlite or etcd"),
            )),
        }
    }
}

impl fmt::Display for DatastoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatastoreKind::Sqlite => "sqlite",
            DatastoreKind::Etcd => "etcd",
        })
    }
}

impl FromStr for RouterKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bird" => Ok(RouterKind::Bird),
            "frr" => Ok(RouterKind::Frr),
            "gobgp" => Ok(RouterKind::Gobgp),
            other => Err(Error::invalid(
                "external router",
                format!("{other:?}: bird, frr or gobgp"),
            )),
        }
    }
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouterKind::Bird => "bird",
            RouterKind::Frr => "frr",
            RouterKind::Gobgp => "gobgp",
        })
    }
}

/// Everything `up` needs to know.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The lab's name: every namespace is `<name>-…`.
    pub name: String,
    /// Where the lab keeps its state file, datastore, node dirs and logs.
    pub dir: PathBuf,
    /// Where `brindle-node`, `brindle` (the CNI plugin) and `brindlectl` are.
    pub bin_dir: PathBuf,
    /// How many nodes (`node1`..`nodeN`).
    pub nodes: usize,
    /// How many pods `up` adds to every node (`pod1`..`podM`).
    pub pods_per_node: usize,
    /// The shared datastore.
    pub datastore: DatastoreKind,
    /// The external router, if any.
    pub router: Option<RouterKind>,
}

impl UpOptions {
    /// Checks the numbers and the name.
    pub fn validate(&self) -> Result<()> {
        super::naming::check_lab_name(&self.name)?;
        if !(1..=MAX_NODES).contains(&self.nodes) {
            return Err(Error::invalid(
                "--nodes",
                format!("{}: 1 to {MAX_NODES}", self.nodes),
            ));
        }
        if self.pods_per_node > MAX_PODS_PER_NODE {
            return Err(Error::invalid(
                "--pods-per-node",
                format!("{}: 0 to {MAX_PODS_PER_NODE}", self.pods_per_node),
            ));
        }
        Ok(())
    }
}
