//! The local node's effective settings and lookups over the cluster's nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::inputs::{Inputs, NodeView};
use crate::{DEFAULT_ASN, DEFAULT_PORT};

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fam {
    V4,
    V6,
}

impl Fam {
    /// Both families, IPv4 first.
    pub(crate) const BOTH: [Fam; 2] = [Fam::V4, Fam::V6];

    /// The family of `addr`.
    pub(crate) fn of(addr: IpAddr) -> Fam {
        if addr.is_ipv4() { Fam::V4 } else { Fam::V6 }
    }
}

/// The node's address in `fam`, if it has one.
pub(crate) fn addr_of(node: &NodeView, fam: Fam) -> Option<IpAddr> {
    match fam {
        Fam::V4 => node.ipv4.map(IpAddr::V4),
        Fam::V6 => node.ipv6.map(IpAddr::V6),
    }
}

/// What every step of the calculation needs to know about the cluster and the local node.
pub(crate) struct Ctx<'a> {
    /// The local node's name.
    pub local_name: &'a str,
    /// The local node (an empty view when it is not among the inputs).
    pub local: NodeView,
    /// Every node, sorted by name, one per name.
    pub nodes: Vec<&'a NodeView>,
    /// The local node's AS.
    pub asn: u32,
    /// AS of nodes without their own: the global BGPConfiguration's, else 64512.
    pub global_asn: u32,
    /// `listenPort` of the global BGPConfiguration.
    pub global_port: Option<u16>,
    /// The local node's listen port.
    pub listen_port: u16,
    /// Whether the node-to-node mesh is on (global setting only).
    pub mesh_enabled: bool,
    /// Whether `default` names a `nodeMeshPassword` (which cannot be resolved here).
    pub mesh_password_set: bool,
    /// Problems found so far (a set: sorted, no duplicates).
    pub problems: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    /// Effective settings of `local_name` from `inputs`.
    pub(crate) fn new(local_name: &'a str, inputs: &'a Inputs) -> Ctx<'a> {
        let mut problems = BTreeSet::new();
        let nodes = unique_nodes(&inputs.nodes, &mut problems);
        let local = match nodes.iter().find(|n| n.name == local_name) {
            Some(n) => (*n).clone(),
            None => {
                problems.insert(format!(
                    "Node {local_name:?} is not among the nodes: it has no address to peer from"
                ));
                NodeView {
                    name: local_name.to_string(),
                    ..NodeView::default()
                }
            }
        };
        let global = inputs.global.as_ref();
        let node_config = inputs.node_config.as_ref();
        let global_asn = global
            .and_then(|g| g.as_number)
            .map_or(DEFAULT_ASN, |a| a.0);
        // confd: the AS number is "node-specific first, then global".
        let asn = local
            .asn
            .or_else(|| node_config.and_then(|c| c.as_number).map(|a| a.0))
            .unwrap_or(global_asn);
        let global_port = global.and_then(|g| g.listen_port);
        let listen_port = node_config
            .and_then(|c| c.listen_port)
            .or(local.listen_port)
            .or(global_port)
            .unwrap_or(DEFAULT_PORT);
        // `nodeToNodeMeshEnabled` may only be set on `default`; Calico reads it there alone.
        let mesh_enabled = global
            .and_then(|g| g.node_to_node_mesh_enabled)
            .unwrap_or(true);
        Ctx {
            local_name,
            local,
            nodes,
            asn,
            global_asn,
            global_port,
            listen_port,
            mesh_enabled,
            mesh_password_set: global.is_some_and(|g| g.node_mesh_password.is_some()),
            problems,
        }
    }

    /// The local node's route-reflector cluster ID.
    pub(crate) fn cluster_id(&self) -> Option<Ipv4Addr> {
        self.local.rr_cluster_id
    }

    /// The local node's address in `fam`: without one, the node has no sessions of that family
    /// (confd: "IPv4 disabled on this node").
    pub(crate) fn local_addr(&self, fam: Fam) -> Option<IpAddr> {
        addr_of(&self.local, fam)
    }

    /// True when `addr` is one of the local node's own addresses ("Skipping ourselves").
    pub(crate) fn is_self(&self, addr: IpAddr) -> bool {
        self.local_addr(Fam::of(addr)) == Some(addr)
    }

    /// True when `node` is the local node.
    pub(crate) fn is_local(&self, node: &NodeView) -> bool {
        node.name == self.local_name
    }

    /// A node's effective AS: its own, else the global one (the local node's also considers its
    /// BGPConfiguration).
    pub(crate) fn node_asn(&self, node: &NodeView) -> u32 {
        if self.is_local(node) {
            self.asn
        } else {
            node.asn.unwrap_or(self.global_asn)
        }
    }

    /// The port a node listens on: its own `listenPort`, else the global one, else 179.
    pub(crate) fn node_port(&self, node: &NodeView) -> u16 {
        if self.is_local(node) {
            self.listen_port
        } else {
            node.listen_port
                .or(self.global_port)
                .unwrap_or(DEFAULT_PORT)
        }
    }

    /// The first node (by name) holding `addr`.
    pub(crate) fn node_at(&self, addr: IpAddr) -> Option<&'a NodeView> {
        self.nodes
            .iter()
            .copied()
            .find(|n| addr_of(n, Fam::of(addr)) == Some(addr))
    }

    /// Records a problem.
    pub(crate) fn problem(&mut self, text: String) {
        self.problems.insert(text);
    }
}

/// Nodes sorted by name, keeping one per name (the smallest view, so that input order does not
/// matter) and reporting duplicates.
fn unique_nodes<'a>(nodes: &'a [NodeView], problems: &mut BTreeSet<String>) -> Vec<&'a NodeView> {
    let mut by_name: BTreeMap<&str, &'a NodeView> = BTreeMap::new();
    for n in nodes {
        match by_name.get(n.name.as_str()) {
            Some(old) => {
                problems.insert(format!(
                    "Node {:?} is listed more than once; one of them is used",
                    n.name
                ));
                if n < *old {
                    by_name.insert(&n.name, n);
                }
            }
            None => {
                by_name.insert(&n.name, n);
            }
        }
    }
    by_name.into_values().collect()
}
