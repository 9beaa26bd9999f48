//! [`compute`]: the whole calculation for one node.

use std::collections::BTreeMap;

use crate::build::build;
use crate::candidate::Found;
use crate::context::Ctx;
use crate::inputs::Inputs;
use crate::output::Desired;
use crate::parsed::parse_all;
use crate::{explicit, mesh, reverse};

/// The speaker settings and sessions of node `local`.
///
/// Sessions are considered in this order, the first one to an address winning: mesh, global
/// BGPPeers, BGPPeers scoped to this node, reverse peerings (see the crate documentation).
/// The local node never peers with its own addresses, and has no sessions in a family it has no
/// address of. Problems (bad selectors, unresolvable passwords...) are reported in
/// [`Desired::problems`] and never stop the calculation.
pub fn compute(local: &str, inputs: &Inputs) -> Desired {
    let mut ctx = Ctx::new(local, inputs);
    let peers = parse_all(&inputs.peers, &mut ctx.problems);
    let mut found = Found::default();
    mesh::offer(&ctx, &mut found);
    explicit::offer(&ctx, &peers, &mut found);
    reverse::offer(&ctx, &peers, &mut found);
    let mut out = Vec::new();
    let mut filters = BTreeMap::new();
    for c in found.into_sorted() {
        let (peer, names) = build(&mut ctx, &c);
        if !names.is_empty() {
            filters.insert(peer.address, names);
        }
        out.push(peer);
    }
    Desired {
        asn: ctx.asn,
        cluster_id: ctx.cluster_id(),
        listen_port: ctx.listen_port,
        peers: out,
        filters,
        problems: ctx.problems.into_iter().collect(),
    }
}
