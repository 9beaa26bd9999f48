//! A session found by one of the steps, before it becomes a [`PeerConfig`]
//! (`brindle_bgp::speaker::PeerConfig`), and the first-wins set that collects them.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::{IpAddr, Ipv4Addr};

use crate::context::{Ctx, Fam};
use crate::parsed::ParsedPeer;

/// What is at the peer's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A node of the cluster, with its route-reflector cluster ID.
    Node {
        /// `routeReflectorClusterID` of that node.
        cluster_id: Option<Ipv4Addr>,
    },
    /// A router outside the cluster.
    External,
}

/// Where a session comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin<'a> {
    /// The node-to-node mesh.
    Mesh,
    /// A BGPPeer, in its own direction.
    Forward(&'a ParsedPeer<'a>),
    /// The reverse of a BGPPeer that points at the local node.
    Reverse(&'a ParsedPeer<'a>),
}

/// One session to be.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'a> {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's port.
    pub port: u16,
    /// The peer's AS.
    pub remote_as: u32,
    /// PEER TYPE.
    pub kind: &'static str,
    /// What is at the address.
    pub target: Target,
    /// Where it comes from.
    pub origin: Origin<'a>,
    /// Calico's rule for sessions between two Calico nodes that both would open: the one whose
    /// address is the greater (compared as text, as confd's template does) waits ("passive on;
    /// # Mesh is unidirectional, peer will connect to us").
    pub passive_if_greater: bool,
}

/// The sessions found so far, keyed by address: the first one to an address wins.
#[derive(Default)]
pub(crate) struct Found<'a> {
    by_addr: BTreeMap<IpAddr, Candidate<'a>>,
}

impl<'a> Found<'a> {
    /// Adds `c` unless it is the local node itself ("Skipping ourselves"), the local node has
    /// no address of that family, or an earlier session has the address.
    pub(crate) fn offer(&mut self, ctx: &Ctx<'_>, c: Candidate<'a>) {
        if ctx.local_addr(Fam::of(c.address)).is_none() || ctx.is_self(c.address) {
            return;
        }
        if let Entry::Vacant(e) = self.by_addr.entry(c.address) {
            e.insert(c);
        }
    }

    /// The winners, sorted by address.
    pub(crate) fn into_sorted(self) -> impl Iterator<Item = Candidate<'a>> {
        self.by_addr.into_values()
    }
}
