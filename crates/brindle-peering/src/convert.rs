//! Building the calculation's inputs from the API objects.

use std::net::{IpAddr, Ipv4Addr};

use brindle_api::net::parse_ip_maybe_prefix;
use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::bgp_peer::BgpPeerSpec;
use brindle_api::resources::node::NodeSpec;
use brindle_api::{Object, Resource};

use crate::inputs::{Inputs, NodeView, PeerView};

impl NodeView {
    /// The view of a Node resource, and the problems with its BGP fields (an unusable address
    /// or cluster ID is left out). `ipv4Address` / `ipv6Address` may carry a prefix length, as
    /// Calico stores them (`172.31.209.241/20`); empty strings count as unset. `listen_port` is
    /// left unset: it comes from the node's BGPConfiguration (see [`Inputs::from_resources`]).
    pub fn from_node(node: &Object<NodeSpec>) -> (NodeView, Vec<String>) {
        let name = node.metadata.name.clone();
        let mut problems = Vec::new();
        let mut view = NodeView {
            name: name.clone(),
            labels: node.metadata.labels.clone(),
            ..NodeView::default()
        };
        let Some(bgp) = &node.spec.bgp else {
            return (view, problems);
        };
        let mut bad = |field: &str, msg: String| {
            problems.push(format!("Node {name:?}: spec.bgp.{field}: {msg}; left out"));
        };
        if let Some(text) = nonempty(&bgp.ipv4_address) {
            match parse_ip_maybe_prefix(text) {
                Ok((IpAddr::V4(a), _)) => view.ipv4 = Some(a),
                Ok(_) => bad("ipv4Address", format!("{text:?} is not an IPv4 address")),
                Err(e) => bad("ipv4Address", e),
            }
        }
        if let Some(text) = nonempty(&bgp.ipv6_address) {
            match parse_ip_maybe_prefix(text) {
                Ok((IpAddr::V6(a), _)) => view.ipv6 = Some(a),
                Ok(_) => bad("ipv6Address", format!("{text:?} is not an IPv6 address")),
                Err(e) => bad("ipv6Address", e),
            }
        }
        if let Some(text) = nonempty(&bgp.route_reflector_cluster_id) {
            match text.parse::<Ipv4Addr>() {
                Ok(id) => view.rr_cluster_id = Some(id),
                Err(_) => bad(
                    "routeReflectorClusterID",
                    format!("{text:?} is not a dotted-quad cluster ID"),
                ),
            }
        }
        view.asn = bgp.as_number.map(|a| a.0).filter(|a| *a != 0);
        (view, problems)
    }
}

impl PeerView {
    /// The view of a BGPPeer resource.
    pub fn from_bgp_peer(peer: &Object<BgpPeerSpec>) -> PeerView {
        PeerView {
            name: peer.metadata.name.clone(),
            spec: peer.spec.clone(),
        }
    }
}

impl Inputs {
    /// The inputs for node `local` from every resource of the cluster (kinds other than Node,
    /// BGPPeer and BGPConfiguration are ignored): BGPConfiguration `default` is the global one,
    /// `node.<local>` the local node's, and every `node.<name>`'s `listenPort` becomes that
    /// node's [`NodeView::listen_port`]. Also returns the problems found in the Nodes.
    pub fn from_resources(local: &str, resources: &[Resource]) -> (Inputs, Vec<String>) {
        let mut inputs = Inputs::default();
        let mut problems = Vec::new();
        let mut configs: Vec<&Object<BgpConfigurationSpec>> = Vec::new();
        for r in resources {
            match r {
                Resource::Node(n) => {
                    let (view, p) = NodeView::from_node(n);
                    inputs.nodes.push(view);
                    problems.extend(p);
                }
                Resource::BgpPeer(p) => inputs.peers.push(PeerView::from_bgp_peer(p)),
                Resource::BgpConfiguration(c) => configs.push(c),
                _ => {}
            }
        }
        for c in configs {
            let name = c.metadata.name.as_str();
            if name == "default" {
                inputs.global = Some(c.spec.clone());
            } else if let Some(node) = name.strip_prefix("node.") {
                if node == local {
                    inputs.node_config = Some(c.spec.clone());
                }
                for v in inputs.nodes.iter_mut().filter(|v| v.name == node) {
                    v.listen_port = c.spec.listen_port;
                }
            }
        }
        (inputs, problems)
    }
}

/// The text of an optional field, `None` when empty.
fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}
