//! Feeds the datastore's view into the peer calculation (crate brindle-peering).

use std::collections::BTreeSet;
use std::net::IpAddr;

use brindle_peering::{Desired, Inputs, NodeView, PeerView};

use super::world::World;

/// The peers and speaker settings `node` should have now (with every problem found on the
/// way: a node without a usable address, a BGPPeer with a bad selector…).
pub fn desired(world: &World, node: &str) -> Desired {
    let mut problems = Vec::new();
    let nodes = world
        .nodes()
        .into_iter()
        .map(|n| {
            let (view, p) = NodeView::from_node(n);
            problems.extend(p);
            view
        })
        .collect();
    let inputs = Inputs {
        nodes,
        peers: world
            .bgp_peers()
            .into_iter()
            .map(PeerView::from_bgp_peer)
            .collect(),
        global: world.bgp_configuration("default").cloned(),
        node_config: world.bgp_configuration(&format!("node.{node}")).cloned(),
    };
    let mut d = brindle_peering::compute(node, &inputs);
    // Peers outside the cluster (routers) hear only this node's own blocks: each block reaches
    // them from its node, never through another one.
    let members: BTreeSet<IpAddr> = inputs
        .nodes
        .iter()
        .flat_map(|n| [n.ipv4.map(IpAddr::V4), n.ipv6.map(IpAddr::V6)])
        .flatten()
        .collect();
    for p in &mut d.peers {
        p.export_originated_only = !members.contains(&p.address);
    }
    problems.append(&mut d.problems);
    problems.extend(super::filters::apply(
        &mut d.peers,
        &d.filters,
        &world.bgp_filters(),
    ));
    d.problems = problems;
    d
}
