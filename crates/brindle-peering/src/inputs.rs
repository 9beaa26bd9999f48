//! What the calculation reads: nodes, BGPPeers and the BGP configuration, already parsed.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::bgp_peer::BgpPeerSpec;

/// One Node as the calculation needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeView {
    /// The node's name.
    pub name: String,
    /// The node's labels, matched by `nodeSelector` and `peerSelector`.
    pub labels: BTreeMap<String, String>,
    /// `spec.bgp.ipv4Address` without its prefix length; no IPv4 sessions without it.
    pub ipv4: Option<Ipv4Addr>,
    /// `spec.bgp.ipv6Address` without its prefix length; no IPv6 sessions without it.
    pub ipv6: Option<Ipv6Addr>,
    /// `spec.bgp.asNumber`; the global AS number when absent.
    pub asn: Option<u32>,
    /// `spec.bgp.routeReflectorClusterID`: set on route reflectors.
    pub rr_cluster_id: Option<Ipv4Addr>,
    /// `listenPort` of the node's own BGPConfiguration `node.<name>`, which is the port other
    /// nodes connect to ("If peer node has listenPort set in BGPConfiguration, use that").
    pub listen_port: Option<u16>,
}

/// One BGPPeer resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerView {
    /// `metadata.name`: orders BGPPeers and names them in problems.
    pub name: String,
    /// The resource's spec.
    pub spec: BgpPeerSpec,
}

/// Everything the calculation reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// Every node of the cluster, the local one included.
    pub nodes: Vec<NodeView>,
    /// Every BGPPeer.
    pub peers: Vec<PeerView>,
    /// The global BGPConfiguration `default`, when it exists.
    pub global: Option<BgpConfigurationSpec>,
    /// The local node's BGPConfiguration `node.<name>`, when it exists.
    pub node_config: Option<BgpConfigurationSpec>,
}
