//! Who the RIB talks to: the local speaker's settings, each peer's configuration, and what an
//! Established session negotiated.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::Family;
use crate::policy::Policy;

/// RFC 4271 §9.1.1: the degree of preference given to a route that has no LOCAL_PREF (routes
/// learned from external peers, locally originated routes without one), and the LOCAL_PREF
/// written on routes sent to internal peers when none is set.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// A peer's handle: small and copyable, handed out by [`crate::rib::Rib::add_peer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub(crate) u16);

impl PeerId {
    /// The speaker itself, as the source of locally originated routes.
    pub const LOCAL: PeerId = PeerId(u16::MAX);

    /// True for [`PeerId::LOCAL`].
    pub fn is_local(self) -> bool {
        self == PeerId::LOCAL
    }

    /// The slot index.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_local() {
            f.write_str("local")
        } else {
            write!(f, "peer#{}", self.0)
        }
    }
}

/// How next hops are set on routes sent to a peer (RFC 4271 §5.1.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NextHopMode {
    /// eBGP: our own address; iBGP: the received next hop unchanged (our own address for
    /// locally originated routes).
    #[default]
    Auto,
    /// Always our own address.
    SelfHop,
    /// Always the received next hop (locally originated routes without one: our address).
    Keep,
}

/// The local speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalConfig {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Route-reflector CLUSTER_ID. When `None` the router id is used (RFC 4456 §7: "the cluster
    /// will be identified by the BGP Identifier of the RR"). Reflection itself happens whenever
    /// a peer is marked [`PeerInfo::rr_client`]; with no client, iBGP split horizon is plain
    /// RFC 4271.
    pub cluster_id: Option<Ipv4Addr>,
    /// Give the kernel several equal best paths (ECMP).
    pub multipath: bool,
    /// The most next hops one kernel route gets (at least 1).
    pub max_paths: usize,
}

impl LocalConfig {
    /// A speaker in `asn` with `router_id`, ECMP on with up to 16 paths.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> LocalConfig {
        LocalConfig {
            asn,
            router_id,
            cluster_id: None,
            multipath: true,
            max_paths: 16,
        }
    }

    /// The CLUSTER_ID in effect: the configured one, else the router id.
    pub fn effective_cluster_id(&self) -> Ipv4Addr {
        self.cluster_id.unwrap_or(self.router_id)
    }
}

/// A peer's configuration: what is known before any session exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address (also the last tie-break of the decision process).
    pub address: IpAddr,
    /// The peer's AS.
    pub remote_as: u32,
    /// Our AS on this session (prepended toward eBGP peers).
    pub local_as: u32,
    /// Internal peer (same AS).
    pub ibgp: bool,
    /// The peer is a route-reflector client of ours (RFC 4456).
    pub rr_client: bool,
    /// Next-hop handling toward the peer.
    pub next_hop: NextHopMode,
    /// How often our AS may occur in a received AS_PATH before the route is dropped as a loop
    /// (Calico's `numAllowedLocalASNumbers`, BIRD's `allow local as`); 0: not at all.
    pub allow_local_as: u8,
    /// The most routes (prefix and path id pairs) accepted from the peer; beyond it the session
    /// is to be closed with Cease / Maximum Number of Prefixes Reached.
    pub max_prefix: Option<u32>,
    /// Applied to received routes.
    pub import: Policy,
    /// Applied to routes sent.
    pub export: Policy,
    /// Keep the peer's routes (stale) when the session goes down (RFC 4724 helper).
    pub graceful_restart: bool,
    /// Only locally originated routes are exported to this peer.
    pub originated_only: bool,
}

impl PeerInfo {
    /// A peer at `address` in `remote_as`, our side using `local_as`; internal when the two
    /// are equal. Everything else at its default (Auto next hop, no limits, empty policies,
    /// graceful restart on).
    pub fn new(address: IpAddr, local_as: u32, remote_as: u32) -> PeerInfo {
        PeerInfo {
            address,
            remote_as,
            local_as,
            ibgp: local_as == remote_as,
            rr_client: false,
            next_hop: NextHopMode::Auto,
            allow_local_as: 0,
            max_prefix: None,
            import: Policy::default(),
            export: Policy::default(),
            graceful_restart: true,
            originated_only: false,
        }
    }
}

/// What an Established session brings: the peer's identifier, the negotiated families and our
/// addresses on the connection (for "next hop self").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The peer's BGP identifier from its OPEN.
    pub router_id: Ipv4Addr,
    /// Families both sides announced (RFC 4760 §8).
    pub families: Vec<Family>,
    /// Families for which we may send several paths (RFC 7911: we Send, the peer Receives).
    pub add_path_send: Vec<Family>,
    /// Our IPv4 address for next hop self.
    pub local_v4: Option<Ipv4Addr>,
    /// Our global IPv6 address for next hop self.
    pub local_v6: Option<Ipv6Addr>,
    /// Our link-local IPv6 address, sent beside the global one (RFC 2545 §3) when set.
    pub local_v6_link_local: Option<Ipv6Addr>,
}

impl SessionInfo {
    /// A session with `router_id` for both families, no ADD-PATH, and `local` as our address.
    pub fn new(router_id: Ipv4Addr, local: IpAddr) -> SessionInfo {
        let (local_v4, local_v6) = match local {
            IpAddr::V4(a) => (Some(a), None),
            IpAddr::V6(a) => (None, Some(a)),
        };
        SessionInfo {
            router_id,
            families: Family::ALL.to_vec(),
            add_path_send: Vec::new(),
            local_v4,
            local_v6,
            local_v6_link_local: None,
        }
    }
}

/// A two-bit family set, for the per-route checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fams(u8);

impl Fams {
    fn bit(f: Family) -> u8 {
        match f {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        }
    }

    pub(crate) fn of(list: &[Family]) -> Fams {
        Fams(list.iter().fold(0, |a, f| a | Fams::bit(*f)))
    }

    pub(crate) fn has(self, f: Family) -> bool {
        self.0 & Fams::bit(f) != 0
    }
}
