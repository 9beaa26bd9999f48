//! What the speaker reports about itself: peers and routes, as plain serializable values (the
//! control socket sends them as JSON; `brindlectl bgp` prints them).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One peer, as `brindlectl bgp peers` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    /// The peer's address.
    pub address: IpAddr,
    /// The port we connect to.
    pub port: u16,
    /// The label given in the configuration (PEER TYPE), e.g. `node-to-node mesh`.
    pub kind: String,
    /// The peer's AS.
    pub remote_as: u32,
    /// Our AS on the session.
    pub local_as: u32,
    /// FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: String,
    /// When the state last changed, seconds since the Unix epoch.
    pub since: u64,
    /// `Established`, or why not, in words (last error, NOTIFICATION decoded).
    pub info: String,
    /// Prefixes received from the peer (accepted).
    pub prefixes_received: u64,
    /// Prefixes advertised to the peer.
    pub prefixes_sent: u64,
    /// Messages received / sent.
    pub messages: (u64, u64),
    /// What was negotiated, while Established.
    pub negotiated: Option<NegotiatedStatus>,
}

/// The negotiated parameters of an Established session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiatedStatus {
    /// Hold time (s).
    pub hold_time: u16,
    /// Families exchanged.
    pub families: Vec<String>,
    /// Families with ADD-PATH send / receive.
    pub add_path: Vec<String>,
    /// The peer offered graceful restart, with this restart time.
    pub peer_restart_time: Option<u16>,
    /// Four-octet AS numbers in use.
    pub four_octet_as: bool,
}

/// One path of a prefix in the speaker's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathStatus {
    /// The peer it came from; `None` for a locally originated route.
    pub from: Option<IpAddr>,
    /// ADD-PATH path identifier as received (0 without ADD-PATH).
    pub path_id: u32,
    /// Next hop.
    pub next_hop: Option<IpAddr>,
    /// AS_PATH as text (`64513 64514`, sets in braces).
    pub as_path: String,
    /// ORIGIN: `IGP`, `EGP` or `incomplete`.
    pub origin: String,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// MED.
    pub med: Option<u32>,
    /// Communities as `a:b` (and large ones as `a:b:c`).
    pub communities: Vec<String>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<String>,
    /// Chosen as best.
    pub best: bool,
    /// Kept from a restarting peer (graceful restart), not yet refreshed.
    pub stale: bool,
}

/// A prefix and its paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// The prefix.
    pub prefix: String,
    /// Its paths, best first.
    pub paths: Vec<PathStatus>,
}

/// A change of the best path(s) of a prefix, for kernel programming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteUpdate {
    /// The prefix.
    pub prefix: crate::model::Prefix,
    /// Next hops of the best path(s) (several with ECMP); empty when the prefix is gone.
    pub next_hops: Vec<IpAddr>,
}
