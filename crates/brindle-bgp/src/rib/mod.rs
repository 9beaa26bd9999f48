//! The routing tables: Adj-RIBs-In, the decision process, the Loc-RIB and per-peer outbound
//! queues (RFC 4271 §3.2, §9), with route reflection (RFC 4456), ADD-PATH (RFC 7911), graceful
//! restart helper (RFC 4724) and route refresh (RFC 2918, RFC 7313). No I/O, no clock: the
//! driver owns one [`Rib`] in one task and calls it on events.
//!
//! # Driver call sequence
//!
//! 1. `Rib::new(LocalConfig)`; [`Rib::add_peer`] per configured peer (→ [`PeerId`]).
//! 2. Session Established → [`Rib::peer_up`] with what the OPEN exchange decided
//!    ([`SessionInfo`]: the peer's identifier, families, ADD-PATH send families, our local
//!    addresses for "next hop self").
//! 3. Each received UPDATE → [`Rib::apply_update`] (End-of-RIB markers included). Each
//!    ROUTE-REFRESH: Request → [`Rib::refresh_out`]; BoRR → [`Rib::begin_route_refresh`];
//!    EoRR → [`Rib::end_route_refresh`].
//! 4. Local routes → [`Rib::originate`] / [`Rib::withdraw_local`].
//! 5. Every mutating call returns [`Changes`]: program `kernel` (ECMP next hops per prefix,
//!    empty = remove); for every peer in `outbound`, call [`Rib::take_outbound`] while its
//!    socket is writable until it returns an empty batch, sending the routes, then the
//!    End-of-RIB markers (and, with enhanced route refresh, EoRR) it lists. When `max_prefix`
//!    is set, close that peer's session with its NOTIFICATION.
//! 6. Session lost → [`Rib::peer_down`] (`retain` for graceful restart, then
//!    [`Rib::flush_stale_family`] for families the peer does not preserve); when the restart
//!    timer fires → [`Rib::flush_stale`].
//! 7. Policy changes → [`Rib::set_export_policy`] (re-sends exactly what changed),
//!    [`Rib::set_import_policy`] (then ask the peer for a ROUTE-REFRESH).
//!
//! Routes are stored once per prefix with every path to it (see `table`), so the Adj-RIBs-In
//! and the Loc-RIB are views of one structure; what each peer has been told is not stored at
//! all: a peer's queue holds the prefixes whose exported state changed since it was last sent,
//! and the current state is computed when the queue is drained (so several changes before a
//! write coalesce into one message carrying the latest state).

mod adj_in;
mod adj_out;
mod decision;
mod dirty;
mod export;
mod fasthash;
mod graceful;
mod intern;
mod loc;
mod peer;
mod reconfig;
mod table;
mod table_v4;
mod view;

pub use adj_out::{OutGroup, Outbound};
pub use peer::{DEFAULT_LOCAL_PREF, LocalConfig, NextHopMode, PeerId, PeerInfo, SessionInfo};
pub use view::{PathInfo, RouteInfo};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Family, Notification, Prefix};
use adj_out::AdjOut;
use intern::Interner;
use peer::Fams;
use table::Tables;

/// One change for the kernel: the prefix's new next hops (several with ECMP), or none when the
/// prefix has no learned best path any more (withdrawn, or a locally originated route won —
/// the agent programs those itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelChange {
    /// The destination.
    pub prefix: Prefix,
    /// Next hops, sorted; empty: remove the route.
    pub next_hops: Vec<IpAddr>,
}

/// A peer sent more routes than its limit (RFC 4486 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPrefixExceeded {
    /// The peer to close.
    pub peer: PeerId,
    /// The family of the route that went over the limit.
    pub family: Family,
    /// The configured limit.
    pub limit: u32,
}

impl MaxPrefixExceeded {
    /// RFC 4486 §4: Cease (6) / Maximum Number of Prefixes Reached (1). "The message MAY
    /// optionally include the Address Family information [BGP-MP] and the upper bound in the
    /// "Data" field": AFI (2 octets), SAFI (1), the limit (4).
    pub fn notification(&self) -> Notification {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&self.family.afi().to_be_bytes());
        data.push(self.family.safi());
        data.extend_from_slice(&self.limit.to_be_bytes());
        Notification {
            code: 6,
            subcode: 1,
            data,
        }
    }
}

/// What a mutating call changed, for the driver to act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Kernel route changes, in the order they happened (at most one per prefix per call is
    /// not guaranteed; apply them in order).
    pub kernel: Vec<KernelChange>,
    /// Peers that got something new to send: call [`Rib::take_outbound`] for them.
    pub outbound: Vec<PeerId>,
    /// Set when a peer exceeded its prefix limit: close its session with
    /// [`MaxPrefixExceeded::notification`], then call [`Rib::peer_down`] without retaining.
    pub max_prefix: Option<MaxPrefixExceeded>,
}

impl Changes {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.kernel.is_empty() && self.outbound.is_empty() && self.max_prefix.is_none()
    }
}

/// What an Established session negotiated, as the RIB keeps it.
#[derive(Clone, Debug)]
struct Session {
    families: Fams,
    add_path: Fams,
    local_v4: Option<Ipv4Addr>,
    local_v6: Option<Ipv6Addr>,
    local_v6_link_local: Option<Ipv6Addr>,
}

/// Everything the RIB keeps per peer.
#[derive(Debug)]
struct PeerSlot {
    info: PeerInfo,
    /// Present while Established.
    session: Option<Session>,
    /// The peer's BGP identifier (from the last session; used for its retained routes too).
    router_id: Ipv4Addr,
    /// Paths held from the peer (stale ones included): the max-prefix count.
    received: u32,
    /// Outbound queue and export cache.
    out: AdjOut,
    /// The call generation in which the peer was last reported in `Changes::outbound`.
    noted: u64,
}

/// The RIB of one speaker.
#[derive(Debug)]
pub struct Rib {
    cfg: LocalConfig,
    peers: Vec<Option<PeerSlot>>,
    tables: Tables,
    interner: Interner,
    generation: u64,
    /// Scratch space for the queue marks of one change (kept to avoid an allocation per
    /// route).
    marks: Vec<(PeerId, u32)>,
    /// Whether [`Changes::kernel`] is filled in.
    kernel_changes: bool,
}

impl Rib {
    /// An empty RIB for the speaker `cfg`.
    pub fn new(cfg: LocalConfig) -> Rib {
        Rib {
            cfg,
            peers: Vec::new(),
            tables: Tables::new(),
            interner: Interner::default(),
            generation: 0,
            marks: Vec::new(),
            kernel_changes: true,
        }
    }

    /// Whether mutating calls report [`Changes::kernel`] (on by default). A driver with nobody
    /// to program turns it off and saves the work; when it turns it back on,
    /// [`Rib::kernel_routes`] gives the whole current state.
    pub fn set_kernel_changes(&mut self, on: bool) {
        self.kernel_changes = on;
    }

    /// The speaker's settings.
    pub fn config(&self) -> &LocalConfig {
        &self.cfg
    }

    /// Registers a peer (no session yet) and returns its handle. Handles of removed peers are
    /// reused.
    ///
    /// # Panics
    ///
    /// When 65,535 peers exist at once.
    pub fn add_peer(&mut self, info: PeerInfo) -> PeerId {
        let slot = PeerSlot {
            info,
            session: None,
            router_id: Ipv4Addr::UNSPECIFIED,
            received: 0,
            out: AdjOut::default(),
            noted: 0,
        };
        let index = match self.peers.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.peers.push(None);
                self.peers.len() - 1
            }
        };
        let id = u16::try_from(index)
            .ok()
            .filter(|i| *i != PeerId::LOCAL.0)
            .expect("at most 65,535 peers");
        self.peers[index] = Some(slot);
        PeerId(id)
    }

    /// Removes a peer: its routes are withdrawn, its handle freed.
    pub fn remove_peer(&mut self, peer: PeerId) -> Changes {
        let mut out = self.begin();
        if self.slot(peer).is_none() {
            return out;
        }
        self.remove_paths_of(peer, None, false, &mut out);
        if let Some(s) = self.peers.get_mut(peer.index()) {
            *s = None;
        }
        self.clear_export_caches();
        self.finish(out)
    }

    /// The configuration of `peer`.
    pub fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.slot(peer).map(|s| &s.info)
    }

    /// Every registered peer, in handle order.
    pub fn peers(&self) -> impl Iterator<Item = (PeerId, &PeerInfo)> {
        self.peers.iter().enumerate().filter_map(|(i, s)| {
            let s = s.as_ref()?;
            Some((PeerId(u16::try_from(i).ok()?), &s.info))
        })
    }

    /// True while `peer` has an Established session (between [`Rib::peer_up`] and
    /// [`Rib::peer_down`]).
    pub fn is_up(&self, peer: PeerId) -> bool {
        self.slot(peer).is_some_and(|s| s.session.is_some())
    }

    fn slot(&self, peer: PeerId) -> Option<&PeerSlot> {
        self.peers.get(peer.index()).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, peer: PeerId) -> Option<&mut PeerSlot> {
        self.peers.get_mut(peer.index()).and_then(Option::as_mut)
    }

    /// Starts a mutating call.
    fn begin(&mut self) -> Changes {
        self.generation += 1;
        Changes::default()
    }

    /// Ends a mutating call: amortised housekeeping of the attribute tables.
    fn finish(&mut self, out: Changes) -> Changes {
        if self.interner.maybe_sweep() {
            for s in self.peers.iter_mut().flatten() {
                s.out.cache.sweep();
            }
        }
        out
    }

    /// Reports `peer` in `out.outbound` (once per call).
    fn note_outbound(&mut self, peer: PeerId, out: &mut Changes) {
        let generation = self.generation;
        if let Some(s) = self.slot_mut(peer)
            && s.noted != generation
        {
            s.noted = generation;
            out.outbound.push(peer);
        }
    }

    fn clear_export_caches(&mut self) {
        for s in self.peers.iter_mut().flatten() {
            s.out.cache.clear();
        }
    }
}
