//! BGPPeers in their own direction: global ones first, then those scoped to this node.

use crate::candidate::{Candidate, Found, Origin, Target};
use crate::context::{Ctx, Fam, addr_of};
use crate::parsed::{ParsedPeer, Remote};
use crate::{DEFAULT_PORT, GLOBAL, NODE_SPECIFIC};

/// Offers the sessions of the BGPPeers that apply to the local node: in a first pass the global
/// ones ([`GLOBAL`]), in a second those with `node` or `nodeSelector` ([`NODE_SPECIFIC`]), so
/// that "a global peering to that IP" makes confd "skip emitting the node-specific one".
pub(crate) fn offer<'a>(ctx: &Ctx<'a>, peers: &'a [ParsedPeer<'a>], found: &mut Found<'a>) {
    for global_pass in [true, false] {
        for peer in peers {
            if peer.is_global() != global_pass || !peer.applies_to(&ctx.local) {
                continue;
            }
            let kind = if global_pass { GLOBAL } else { NODE_SPECIFIC };
            for c in expand(ctx, peer, kind) {
                found.offer(ctx, c);
            }
        }
    }
}

/// The sessions one BGPPeer asks of the local node.
///
/// - `peerIP`: one session. Without a port in `peerIP`, "if peer is Calico node with listenPort
///   set, then listenPort is used" (a node with that address and that AS). A global peer at a
///   node's address gets Calico's passive rule for sessions between nodes.
/// - `peerSelector`: one session per selected node and family, with "the selected nodes'
///   addresses and AS numbers", the local node excluded.
fn expand<'a>(ctx: &Ctx<'a>, peer: &'a ParsedPeer<'a>, kind: &'static str) -> Vec<Candidate<'a>> {
    match &peer.remote {
        Remote::Ip { addr, port, asn } => {
            let node = ctx.node_at(*addr);
            let port = port.unwrap_or_else(|| {
                node.filter(|n| ctx.node_asn(n) == *asn)
                    .map_or(DEFAULT_PORT, |n| ctx.node_port(n))
            });
            let target = match node {
                Some(n) => Target::Node {
                    cluster_id: n.rr_cluster_id,
                },
                None => Target::External,
            };
            vec![Candidate {
                address: *addr,
                port,
                remote_as: *asn,
                kind,
                target,
                origin: Origin::Forward(peer),
                passive_if_greater: kind == GLOBAL && node.is_some(),
            }]
        }
        Remote::Selector(selector) => ctx
            .nodes
            .iter()
            .copied()
            .filter(|n| !ctx.is_local(n) && selector.matches(&n.labels))
            .flat_map(|n| {
                Fam::BOTH.into_iter().filter_map(move |fam| {
                    Some(Candidate {
                        address: addr_of(n, fam)?,
                        port: ctx.node_port(n),
                        remote_as: ctx.node_asn(n),
                        kind,
                        target: Target::Node {
                            cluster_id: n.rr_cluster_id,
                        },
                        origin: Origin::Forward(peer),
                        passive_if_greater: false,
                    })
                })
            })
            .collect(),
    }
}
