//! Reverse peerings: on a node a BGPPeer points at, the sessions back to the nodes it applies to.

use crate::NODE_SPECIFIC;
use crate::candidate::{Candidate, Found, Origin, Target};
use crate::context::{Ctx, Fam, addr_of};
use crate::parsed::{ParsedPeer, Remote};

/// Offers, for every BGPPeer whose remote side is the local node, a session to each node the
/// BGPPeer applies to ([`NODE_SPECIFIC`]).
///
/// confd's second pass: "the 'local' nodes are actually those matching the remote fields in
/// BGPPeer, i.e. PeerIP, ASNumber and PeerSelector", "and the 'peer' nodes are those matching the
/// local fields in BGPPeer, i.e Node and NodeSelector" (every node for a global BGPPeer).
/// - through `peerSelector`, the reverse runs over both families;
/// - through `peerIP`, only when the address is the local node's, `asNumber` is the local
///   node's AS, and a port in `peerIP` is the local listen port; and only over that family.
///
/// `reversePeering: Manual` turns this off for the BGPPeer. The reverse session takes the other
/// node's address, AS and listen port, and the BGPPeer's settings except `localASNumber` (which
/// is the other side's AS).
pub(crate) fn offer<'a>(ctx: &Ctx<'a>, peers: &'a [ParsedPeer<'a>], found: &mut Found<'a>) {
    for peer in peers.iter().filter(|p| p.reverses()) {
        let families: &[Fam] = match &peer.remote {
            Remote::Selector(s) if s.matches(&ctx.local.labels) => &Fam::BOTH,
            Remote::Ip { addr, port, asn }
                if ctx.is_self(*addr)
                    && *asn == ctx.asn
                    && port.is_none_or(|p| p == ctx.listen_port) =>
            {
                if addr.is_ipv4() {
                    &[Fam::V4]
                } else {
                    &[Fam::V6]
                }
            }
            _ => continue,
        };
        for node in ctx.nodes.iter().copied() {
            if ctx.is_local(node) || !peer.applies_to(node) {
                continue;
            }
            for &fam in families {
                let Some(address) = addr_of(node, fam) else {
                    continue;
                };
                found.offer(
                    ctx,
                    Candidate {
                        address,
                        port: ctx.node_port(node),
                        remote_as: ctx.node_asn(node),
                        kind: NODE_SPECIFIC,
                        target: Target::Node {
                            cluster_id: node.rr_cluster_id,
                        },
                        origin: Origin::Reverse(peer),
                        passive_if_greater: false,
                    },
                );
            }
        }
    }
}
