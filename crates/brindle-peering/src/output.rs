//! What the calculation produces for one node.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use brindle_bgp::speaker::PeerConfig;

/// The speaker settings and sessions one node should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// This node's AS: the node's own `spec.bgp.asNumber`, else its BGPConfiguration's, else the
    /// global one's, else 64512.
    pub asn: u32,
    /// The node's route-reflector cluster ID, when it is a route reflector.
    pub cluster_id: Option<Ipv4Addr>,
    /// Port the speaker listens on: `listenPort` of `node.<name>`, else of `default`, else 179.
    pub listen_port: u16,
    /// The sessions, sorted by address, one per address.
    pub peers: Vec<PeerConfig>,
    /// BGPFilter names to apply to the session with each address, in order (only addresses whose
    /// BGPPeer names filters appear). The peers' import/export policies are left empty.
    pub filters: BTreeMap<IpAddr, Vec<String>>,
    /// What could not be honoured (a bad selector, an unresolvable password...): one line each,
    /// naming the resource and the field; sorted, without duplicates. None is fatal.
    pub problems: Vec<String>,
}
