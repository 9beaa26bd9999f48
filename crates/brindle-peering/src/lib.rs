//! brindle's BGP peer calculation: given the cluster's Nodes, BGPPeers and BGPConfigurations,
//! the sessions one node's speaker should have. This is what Calico's confd computes for BIRD
//! (the `/calico/bgp/v1/.../peer_v4` keys it derives from BGPPeer resources, then the mesh,
//! global and node-specific sections of `bird.cfg`). No I/O: [`compute`] is a pure function of
//! its [`Inputs`], and its output is sorted so that any input order gives the same [`Desired`].
//!
//! The order in which peerings are considered, the first one to an address winning:
//!
//! 1. the node-to-node mesh ([`MESH`]);
//! 2. global BGPPeers ([`GLOBAL`]): confd emits "all of the possible global peerings _first_,
//!    so that we can then skip emitting any node-specific peerings that would duplicate those";
//! 3. BGPPeers scoped by `node` / `nodeSelector` that select this node ([`NODE_SPECIFIC`]);
//! 4. reverse peerings ([`NODE_SPECIFIC`]): on a node a BGPPeer points at (through
//!    `peerSelector`, or `peerIP` + `asNumber` naming the node), the sessions back to the nodes
//!    the BGPPeer applies to, "to ensure symmetry"; "an explicit forwards peering is not
//!    overwritten by an implicit reverse peering".
//!
//! Within each step, BGPPeers are taken in name order and nodes in name order.

mod build;
mod candidate;
mod compute;
mod context;
mod convert;
mod explicit;
mod inputs;
mod mesh;
mod output;
mod parsed;
mod reverse;

#[cfg(test)]
mod tests;

pub use compute::compute;
pub use inputs::{Inputs, NodeView, PeerView};
pub use output::Desired;

/// PEER TYPE of a node-to-node mesh session.
pub const MESH: &str = "node-to-node mesh";
/// PEER TYPE of a session from a global BGPPeer (neither `node` nor `nodeSelector`).
pub const GLOBAL: &str = "global";
/// PEER TYPE of a session from a BGPPeer scoped to some nodes, or of a reverse peering.
pub const NODE_SPECIFIC: &str = "node specific";

/// Calico's default AS number (`asNumber` of the global BGPConfiguration).
pub const DEFAULT_ASN: u32 = 64512;
/// Calico's default BGP port (`listenPort`).
pub const DEFAULT_PORT: u16 = 179;
