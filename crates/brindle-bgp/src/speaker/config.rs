//! What the speaker is told: its own identity and, per peer, how to reach and treat it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::fsm::{GracefulRestartConfig, SessionConfig};
use crate::model::{AddPathMode, Family};
use crate::policy::Policy;
use crate::rib::{NextHopMode, PeerInfo};

/// The speaker's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeakerConfig {
    /// Our AS number.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Addresses to accept connections on (empty: do not listen). Port 179 normally.
    pub listen: Vec<SocketAddr>,
    /// Route-reflector cluster ID; when set we reflect routes between clients and others.
    pub cluster_id: Option<Ipv4Addr>,
    /// Install several equal best paths (ECMP) toward the kernel.
    pub multipath: bool,
    /// Restart time we advertise for graceful restart (Calico: 120 s).
    pub restart_time: u16,
    /// We restarted with forwarding state kept (RFC 4724 §4.1, Restarting Speaker): the OPENs
    /// carry the Restart State bit, and nothing is advertised to any peer until every peer
    /// offered graceful restart has sent End-of-RIB for each of its families (peers that are
    /// restarting themselves or do not support it excluded), or `selection_deferral` has passed.
    /// Then every peer gets the whole table and End-of-RIB.
    pub restarting: bool,
    /// RFC 4724 §4.1 Selection_Deferral_Timer: the longest a restarting speaker waits for its
    /// peers' End-of-RIB (Calico's BIRD: "graceful restart wait", 240 s).
    pub selection_deferral: Duration,
}

impl SpeakerConfig {
    /// Settings with Calico's defaults for `asn` and `router_id`, listening on port 179 of every
    /// address.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> SpeakerConfig {
        SpeakerConfig {
            asn,
            router_id,
            listen: vec![SocketAddr::from(([0u8; 16], 179))],
            cluster_id: None,
            multipath: true,
            restart_time: 120,
            restarting: false,
            selection_deferral: Duration::from_secs(240),
        }
    }
}

/// One peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// The peer's address (its identity: one peer per address).
    pub address: IpAddr,
    /// TCP port to connect to (179 normally).
    pub port: u16,
    /// The peer's AS.
    pub remote_as: u32,
    /// Our AS on this session, when different from the speaker's.
    pub local_as: Option<u32>,
    /// Source address for our connection and "self" next hop; the kernel picks when unset.
    pub source: Option<IpAddr>,
    /// Wait for the peer to connect.
    pub passive: bool,
    /// TCP MD5 password (RFC 2385).
    pub password: Option<String>,
    /// GTSM (RFC 5082): the peer is at most this many hops away.
    pub ttl_security: Option<u8>,
    /// The peer is a route-reflector client of ours.
    pub rr_client: bool,
    /// ADD-PATH mode offered, for every family.
    pub add_path: Option<AddPathMode>,
    /// Offer graceful restart and keep the peer's routes while it restarts.
    pub graceful_restart: bool,
    /// Hold time proposed (s).
    pub hold_time: u16,
    /// Connect retry interval.
    pub connect_retry: Duration,
    /// Idle time after an error, doubling from the first to the second value.
    pub error_wait: (Duration, Duration),
    /// Families to exchange.
    pub families: Vec<Family>,
    /// Next-hop handling toward this peer.
    pub next_hop: NextHopMode,
    /// How many times our AS may appear in a received AS_PATH.
    pub allow_local_as: u8,
    /// Close the session when the peer sends more prefixes than this.
    pub max_prefixes: Option<u32>,
    /// A label the status shows as PEER TYPE (e.g. `node-to-node mesh`, `global`).
    pub kind: String,
    /// Filters applied to routes received from the peer.
    pub import: Policy,
    /// Filters applied to routes sent to the peer.
    pub export: Policy,
    /// Send this peer only the routes this speaker originates, never ones it learned (the node
    /// agent's rule for peers outside the cluster: each node advertises its own blocks, so a
    /// router outside never sends a pod's traffic through another node).
    pub export_originated_only: bool,
}

impl PeerConfig {
    /// A peer at `address` in `remote_as` with Calico's BIRD defaults.
    pub fn new(address: IpAddr, remote_as: u32) -> PeerConfig {
        PeerConfig {
            address,
            port: 179,
            remote_as,
            local_as: None,
            source: None,
            passive: false,
            password: None,
            ttl_security: None,
            rr_client: false,
            add_path: None,
            graceful_restart: true,
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            error_wait: (Duration::from_secs(5), Duration::from_secs(30)),
            families: Family::ALL.to_vec(),
            next_hop: NextHopMode::Auto,
            allow_local_as: 0,
            max_prefixes: None,
            kind: String::new(),
            import: Policy::default(),
            export: Policy::default(),
            export_originated_only: false,
        }
    }

    /// The FSM's view of this peer.
    pub fn session(&self, speaker: &SpeakerConfig) -> SessionConfig {
        let mut s = SessionConfig::new(
            self.local_as.unwrap_or(speaker.asn),
            speaker.router_id,
            self.remote_as,
        );
        s.passive = self.passive;
        s.hold_time = self.hold_time;
        s.connect_retry = self.connect_retry;
        s.error_wait = self.error_wait;
        s.families = self.families.clone();
        s.add_path = self
            .add_path
            .map(|m| self.families.iter().map(|f| (*f, m)).collect())
            .unwrap_or_default();
        s.graceful_restart = self.graceful_restart.then_some(GracefulRestartConfig {
            restart_time: speaker.restart_time,
            restarting: speaker.restarting,
        });
        s
    }

    /// The RIB's view of this peer.
    pub fn rib_info(&self, speaker: &SpeakerConfig) -> PeerInfo {
        let local_as = self.local_as.unwrap_or(speaker.asn);
        let mut info = PeerInfo::new(self.address, local_as, self.remote_as);
        info.rr_client = self.rr_client;
        info.next_hop = self.next_hop;
        info.allow_local_as = self.allow_local_as;
        info.max_prefix = self.max_prefixes;
        info.graceful_restart = self.graceful_restart;
        info.import = self.import.clone();
        info.export = self.export.clone();
        info.originated_only = self.export_originated_only;
        info
    }

    /// True when a change from `self` to `new` needs the session to be re-established (anything
    /// negotiated in OPEN or fixed on the TCP connection).
    pub fn needs_reset(&self, new: &PeerConfig) -> bool {
        // Labels, limits and filters change without a new session.
        let strip = |p: &PeerConfig| PeerConfig {
            kind: String::new(),
            max_prefixes: None,
            import: Policy::default(),
            export: Policy::default(),
            export_originated_only: false,
            ..p.clone()
        };
        strip(self) != strip(new)
    }
}
