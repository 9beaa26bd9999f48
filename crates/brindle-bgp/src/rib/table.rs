//! Route storage: one sorted table per family, one entry per prefix holding every path to it.
//!
//! The Adj-RIBs-In (RFC 4271 §3.2) and the Loc-RIB share this storage: an entry lists the
//! paths received from each peer (post import policy) plus a locally originated one, and the
//! best path(s) are recomputed from that list on every change. Memory matters (a million routes
//! must fit in about 150 bytes each for the whole speaker), so:
//!
//! - IPv4 prefixes are indexed by their /16, then kept sorted inside it (`table_v4`): a lookup
//!   is an array access and a short search, not a descent through a million-entry tree;
//! - a path is 16 bytes: the shared attribute set, the received path id, the peer handle and
//!   our own path id with the stale flag folded into its top bit;
//! - an entry with one path keeps it inline (16 bytes), several go to the heap.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Bound;
use std::sync::Arc;

use super::peer::PeerId;
use super::table_v4::V4Table;
use crate::model::{Family, PathAttributes, Prefix};

/// Our path identifiers are 1..=MAX_LOCAL_ID. RFC 7911 §3: "A BGP speaker that re-advertises a
/// route MUST generate its own Path Identifier to be associated with the re-advertised route."
/// A path keeps its identifier for as long as it exists (the smallest free one per prefix is
/// given to a new path), so an ADD-PATH peer sees replacements as implicit withdrawals.
pub(crate) const MAX_LOCAL_ID: u16 = 0x7fff;
const STALE: u16 = 0x8000;

/// One path to a prefix: from a peer (or [`PeerId::LOCAL`]), with its attributes.
#[derive(Clone, Debug)]
pub(crate) struct Path {
    /// The attribute set, interned.
    pub(crate) attrs: Arc<PathAttributes>,
    /// The ADD-PATH path identifier the peer gave (0 without ADD-PATH).
    pub(crate) remote_id: u32,
    /// Where the path came from.
    pub(crate) peer: PeerId,
    /// Our path identifier (low 15 bits) and the stale flag (top bit).
    lid: u16,
}

impl Path {
    pub(crate) fn new(attrs: Arc<PathAttributes>, peer: PeerId, remote_id: u32, lid: u16) -> Path {
        Path {
            attrs,
            remote_id,
            peer,
            lid: lid & MAX_LOCAL_ID,
        }
    }

    /// Our stable path identifier for ADD-PATH peers.
    pub(crate) fn local_id(&self) -> u32 {
        u32::from(self.lid & MAX_LOCAL_ID)
    }

    /// RFC 4724 §4.2: kept from a previous session (or before an enhanced refresh), not yet
    /// refreshed.
    pub(crate) fn is_stale(&self) -> bool {
        self.lid & STALE != 0
    }

    pub(crate) fn set_stale(&mut self, stale: bool) {
        if stale {
            self.lid |= STALE;
        } else {
            self.lid &= MAX_LOCAL_ID;
        }
    }

    /// This path with new attributes (same identifiers), no longer stale.
    pub(crate) fn replaced(&self, attrs: Arc<PathAttributes>) -> Path {
        Path {
            attrs,
            remote_id: self.remote_id,
            peer: self.peer,
            lid: self.lid & MAX_LOCAL_ID,
        }
    }

    /// True when `self` and `other` are the same path with the same attributes (the stale flag
    /// aside): nothing a peer or the kernel sees differs.
    pub(crate) fn same(&self, other: &Path) -> bool {
        self.peer == other.peer
            && self.remote_id == other.remote_id
            && self.local_id() == other.local_id()
            && Arc::ptr_eq(&self.attrs, &other.attrs)
    }
}

/// The smallest path identifier no path in `paths` uses.
pub(crate) fn free_local_id(paths: &[Path]) -> Option<u16> {
    (1..=MAX_LOCAL_ID).find(|id| paths.iter().all(|p| p.local_id() != u32::from(*id)))
}

/// The paths of one prefix; never empty. A single path (the common case) needs no allocation
/// of its own.
#[derive(Debug)]
// A thin `Box<Vec>` keeps the enum at 16 bytes (a `Vec` or `Box<[_]>` would make it 24/32).
#[allow(clippy::box_collection)]
pub(crate) enum Slot {
    /// Exactly one path.
    One(Path),
    /// Two or more.
    Many(Box<Vec<Path>>),
}

impl Slot {
    /// The paths of `v`; `None` when it is empty.
    pub(crate) fn from_vec(mut v: Vec<Path>) -> Option<Slot> {
        match v.len() {
            0 => None,
            1 => v.pop().map(Slot::One),
            _ => Some(Slot::Many(Box::new(v))),
        }
    }

    /// The paths.
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            Slot::One(p) => std::slice::from_ref(p),
            Slot::Many(v) => v,
        }
    }

    /// The paths, to change in place.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Slot::One(p) => std::slice::from_mut(p),
            Slot::Many(v) => v,
        }
    }
}

/// An IPv4 prefix packed into the low 40 bits of a `u64` (address, then length), which sorts
/// the way the prefixes do. Other families give 0.
pub(crate) fn pack_v4(p: &Prefix) -> u64 {
    let addr = match p.addr() {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(_) => 0,
    };
    u64::from(addr) << 8 | u64::from(p.len())
}

/// The prefix packed by [`pack_v4`].
pub(crate) fn unpack_v4(k: u64) -> Prefix {
    let addr = Ipv4Addr::from(((k >> 8) & 0xffff_ffff) as u32);
    Prefix::new(IpAddr::V4(addr), (k & 0xff) as u8)
        .expect("a packed key comes from a valid IPv4 prefix")
}

/// The IPv6 table: prefixes in order (IPv4 has its own, [`V4Table`]).
#[derive(Debug, Default)]
struct V6Table {
    map: BTreeMap<Prefix, Slot>,
}

impl V6Table {
    fn get(&self, p: &Prefix) -> &[Path] {
        self.map.get(p).map(Slot::as_slice).unwrap_or(&[])
    }

    fn set(&mut self, p: &Prefix, slot: Option<Slot>) {
        match slot {
            // One search whether the key exists or not.
            Some(slot) => {
                self.map.insert(*p, slot);
            }
            None => {
                self.map.remove(p);
            }
        }
    }

    fn after(&self, after: Option<Prefix>) -> impl Iterator<Item = (Prefix, &[Path])> {
        let start = match after {
            Some(p) => Bound::Excluded(p),
            None => Bound::Unbounded,
        };
        self.map
            .range((start, Bound::Unbounded))
            .map(|(k, s)| (*k, s.as_slice()))
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(Prefix, &mut [Path])) {
        for (k, s) in self.map.iter_mut() {
            f(*k, s.as_mut_slice());
        }
    }
}

/// Both families' tables.
#[derive(Debug)]
pub(crate) struct Tables {
    v4: V4Table,
    v6: V6Table,
}

impl Tables {
    pub(crate) fn new() -> Tables {
        Tables {
            v4: V4Table::default(),
            v6: V6Table::default(),
        }
    }

    /// The paths of `p` (empty when the prefix is unknown).
    pub(crate) fn paths(&self, p: &Prefix) -> &[Path] {
        match p.family() {
            Family::Ipv4Unicast => self.v4.get(p),
            Family::Ipv6Unicast => self.v6.get(p),
        }
    }

    /// Replaces the paths of `p`; `None` removes the prefix.
    pub(crate) fn set(&mut self, p: &Prefix, slot: Option<Slot>) {
        match p.family() {
            Family::Ipv4Unicast => self.v4.set(p, slot),
            Family::Ipv6Unicast => self.v6.set(p, slot),
        }
    }

    /// The prefixes of `family` after `after` (all when `None`), in order, with their paths.
    pub(crate) fn after(
        &self,
        family: Family,
        after: Option<Prefix>,
    ) -> Box<dyn Iterator<Item = (Prefix, &[Path])> + '_> {
        match family {
            Family::Ipv4Unicast => Box::new(self.v4.after(after)),
            Family::Ipv6Unicast => Box::new(self.v6.after(after)),
        }
    }

    /// Visits every prefix of `family` with mutable access to its paths (the caller must not
    /// change what the decision process sees).
    pub(crate) fn for_each_mut(&mut self, family: Family, f: impl FnMut(Prefix, &mut [Path])) {
        match family {
            Family::Ipv4Unicast => self.v4.for_each_mut(f),
            Family::Ipv6Unicast => self.v6.for_each_mut(f),
        }
    }

    /// Number of prefixes of `family`.
    pub(crate) fn len(&self, family: Family) -> usize {
        match family {
            Family::Ipv4Unicast => self.v4.len(),
            Family::Ipv6Unicast => self.v6.map.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_layout() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }

    #[test]
    fn packed_keys_sort_like_prefixes() {
        let ps: Vec<Prefix> = ["10.0.0.0/8", "10.0.0.0/16", "9.255.0.0/16", "10.0.1.0/24"]
            .iter()
            .map(|s| s.parse().expect("prefix"))
            .collect();
        let mut by_key = ps.clone();
        by_key.sort_by_key(pack_v4);
        let mut by_prefix = ps.clone();
        by_prefix.sort();
        assert_eq!(by_key, by_prefix);
        for p in ps {
            assert_eq!(unpack_v4(pack_v4(&p)), p);
        }
    }

    #[test]
    fn stale_flag_keeps_the_id() {
        let mut p = Path::new(Arc::default(), PeerId(1), 7, 5);
        p.set_stale(true);
        assert!(p.is_stale());
        assert_eq!(p.local_id(), 5);
        p.set_stale(false);
        assert!(!p.is_stale());
        assert_eq!(free_local_id(&[p]), Some(1));
    }
}
