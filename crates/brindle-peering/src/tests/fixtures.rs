//! Builders shared by the tests.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use brindle_api::parse_resources;
use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::bgp_peer::BgpPeerSpec;
use brindle_bgp::speaker::PeerConfig;

use crate::{Desired, Inputs, NodeView, PeerView, compute};

/// A node with an IPv4 address and no labels.
pub fn node(name: &str, v4: &str) -> NodeView {
    NodeView {
        name: name.to_string(),
        ipv4: Some(ip4(v4)),
        ..NodeView::default()
    }
}

/// An IPv4 address from test text.
pub fn ip4(s: &str) -> Ipv4Addr {
    s.parse().expect("test IPv4 address")
}

/// An address from test text.
pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// node1..node3 at 10.0.0.1..3.
pub fn three_nodes() -> Vec<NodeView> {
    vec![
        node("node1", "10.0.0.1"),
        node("node2", "10.0.0.2"),
        node("node3", "10.0.0.3"),
    ]
}

/// A BGPPeer.
pub fn peer(name: &str, spec: BgpPeerSpec) -> PeerView {
    PeerView {
        name: name.to_string(),
        spec,
    }
}

/// The global BGPConfiguration with the mesh off.
pub fn mesh_off() -> Option<BgpConfigurationSpec> {
    Some(BgpConfigurationSpec {
        node_to_node_mesh_enabled: Some(false),
        ..BgpConfigurationSpec::default()
    })
}

/// Inputs from manifests (validated as `brindlectl apply` would).
pub fn from_yaml(local: &str, yaml: &str) -> Inputs {
    let resources = parse_resources(yaml).unwrap_or_else(|e| panic!("test manifest: {e}"));
    let (inputs, problems) = Inputs::from_resources(local, &resources);
    assert!(problems.is_empty(), "{problems:?}");
    inputs
}

/// The calculation for `local` from manifests.
pub fn desired_yaml(local: &str, yaml: &str) -> Desired {
    compute(local, &from_yaml(local, yaml))
}

/// `(address, kind)` of each session, in output order.
pub fn summary(d: &Desired) -> Vec<(String, String)> {
    d.peers
        .iter()
        .map(|p| (p.address.to_string(), p.kind.clone()))
        .collect()
}

/// The session with `addr`.
pub fn session<'a>(d: &'a Desired, addr: &str) -> &'a PeerConfig {
    let a = ip(addr);
    d.peers
        .iter()
        .find(|p| p.address == a)
        .unwrap_or_else(|| panic!("no session with {addr} in {:?}", summary(d)))
}

/// Owned `(address, kind)` pairs for comparisons.
pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, k)| ((*a).to_string(), (*k).to_string()))
        .collect()
}
