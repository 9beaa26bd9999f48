//! BGPPeer: a BGP session of some nodes with a router or with other nodes.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::{BgpPassword, NoStatus};
use crate::asn::AsNumber;
use crate::check::{Checker, resource_name};
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::net::PeerAddress;

/// `spec` of a BGPPeer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpPeerSpec {
    /// The one node this peering applies to. With neither this nor `nodeSelector`, the peer is
    /// global: every node peers with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Selects the nodes this peering applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    /// The peer's address, `ip`, `ipv4:port` or `[ipv6]:port`.
    #[serde(default, rename = "peerIP", skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<String>,
    /// The peer's AS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// Selects other nodes to peer with (their addresses and AS numbers are used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_selector: Option<String>,
    /// Keep the next hop instead of setting it to self (deprecated by `nextHopMode: Keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_next_hop: Option<bool>,
    /// `Auto` (iBGP keep, eBGP self), `Self`, or `Keep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mode: Option<NextHopMode>,
    /// TCP MD5 password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<BgpPassword>,
    /// `UseNodeIP` (default) sources the session from the node IP; `None` lets the kernel pick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<SourceAddress>,
    /// `None` or `BFDIfDirectlyConnected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_detection_mode: Option<FailureDetectionMode>,
    /// `GracefulRestart` (default) or `LongLivedGracefulRestart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_mode: Option<RestartMode>,
    /// Graceful restart time, e.g. `120s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restart_time: Option<String>,
    /// `Recursive` (default) or `DirectIfDirectlyReachable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bird_gateway_mode: Option<GatewayMode>,
    /// How many times the local AS may appear in a received AS_PATH.
    #[serde(
        default,
        rename = "numAllowedLocalASNumbers",
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<u32>,
    /// GTSM (RFC 5082): the peer is at most this many hops away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<u8>,
    /// Names of BGPFilters applied to this peering, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Local AS number for this peering, overriding the node's.
    #[serde(
        default,
        rename = "localASNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_as_number: Option<AsNumber>,
    /// Reach the peer through this gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable_by: Option<String>,
    /// Peer with local workloads matching this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_workload_selector: Option<String>,
    /// `Auto` (default) or `Manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_peering: Option<ReversePeering>,
}

/// Next-hop handling toward the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NextHopMode {
    /// iBGP keeps, eBGP sets self.
    Auto,
    /// Always next-hop self.
    #[serde(rename = "Self")]
    SelfHop,
    /// Always keep the received next hop.
    Keep,
}

/// Session source address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceAddress {
    /// The node's IP.
    #[serde(rename = "UseNodeIP")]
    UseNodeIp,
    /// Let the kernel choose.
    None,
}

/// Failure detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureDetectionMode {
    /// Hold timer only.
    None,
    /// BFD when the peer is on a connected subnet.
    #[serde(rename = "BFDIfDirectlyConnected")]
    BfdIfDirectlyConnected,
}

/// Graceful restart flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartMode {
    /// RFC 4724.
    GracefulRestart,
    /// RFC 9494 long-lived graceful restart.
    LongLivedGracefulRestart,
}

/// Gateway resolution of learned routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayMode {
    /// Resolve recursively.
    Recursive,
    /// Direct when the next hop is on a connected subnet.
    DirectIfDirectlyReachable,
}

/// Whether the reverse peering is created automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReversePeering {
    /// Created automatically.
    Auto,
    /// Configured by the user.
    Manual,
}

impl BgpPeerSpec {
    /// True for a global peer: it names neither `node` nor `nodeSelector`.
    pub fn is_global(&self) -> bool {
        self.node.as_deref().unwrap_or("").is_empty()
            && self.node_selector.as_deref().unwrap_or("").is_empty()
    }
}

impl Spec for BgpPeerSpec {
    const KIND: Kind = Kind::BgpPeer;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
        if let Some(n) = self.node.as_deref().filter(|n| !n.is_empty()) {
            c.check("spec.node", resource_name(n));
        }
        if set(&self.node) && set(&self.node_selector) {
            c.err("spec.nodeSelector", "cannot be set together with spec.node");
        }
        for (field, v) in [
            ("nodeSelector", &self.node_selector),
            ("peerSelector", &self.peer_selector),
            ("localWorkloadSelector", &self.local_workload_selector),
        ] {
            if let Some(s) = v {
                c.selector(&format!("spec.{field}"), s);
            }
        }
        match (set(&self.peer_ip), set(&self.peer_selector)) {
            (true, true) => c.err(
                "spec.peerSelector",
                "cannot be set together with spec.peerIP",
            ),
            (false, false) => c.err(
                "spec.peerIP",
                "one of spec.peerIP or spec.peerSelector is required",
            ),
            (true, false) => {
                if self.as_number.is_none() {
                    c.err("spec.asNumber", "is required when spec.peerIP is set");
                }
            }
            (false, true) => {
                if self.as_number.is_some() {
                    c.err("spec.asNumber", "cannot be set with spec.peerSelector (the selected nodes' AS numbers are used)");
                }
            }
        }
        if let Some(ip) = self.peer_ip.as_deref().filter(|s| !s.is_empty()) {
            c.check("spec.peerIP", ip.parse::<PeerAddress>());
        }
        if self.as_number == Some(AsNumber(0)) {
            c.err("spec.asNumber", "0 is not a valid AS number");
        }
        if self.keep_original_next_hop == Some(true) && self.next_hop_mode.is_some() {
            c.err(
                "spec.nextHopMode",
                "cannot be set together with spec.keepOriginalNextHop",
            );
        }
        if let Some(p) = &self.password {
            p.validate("spec.password", c);
        }
        if let Some(d) = &self.max_restart_time {
            c.duration("spec.maxRestartTime", d);
        }
        if self.ttl_security == Some(0) {
            c.err("spec.ttlSecurity", "0 is outside 1..=255");
        }
        if let Some(n) = self.num_allowed_local_as_numbers {
            c.range("spec.numAllowedLocalASNumbers", n, 0, 10);
        }
        for (i, f) in self.filters.iter().enumerate() {
            c.check(&format!("spec.filters[{i}]"), resource_name(f));
        }
        if let Some(r) = &self.reachable_by {
            super::common::check_ip("spec.reachableBy", r, None, c);
        }
    }
}
