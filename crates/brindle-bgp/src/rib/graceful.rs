//! Session loss and stale routes: graceful restart, receiving side (RFC 4724 §4.2), and
//! enhanced route refresh, receiving side (RFC 7313 §4).

use super::peer::PeerId;
use super::table::{Path, Slot};
use super::{Changes, Rib};
use crate::model::{Family, Prefix};

impl Rib {
    /// The session with `peer` went down. With `retain` (and graceful restart enabled for the
    /// peer), RFC 4724 §4.2: the Receiving Speaker "MUST retain the routes received from the
    /// peer for all the address families that were previously received in the Graceful Restart
    /// Capability and MUST mark them as stale routing information. To deal with possible
    /// consecutive restarts, a route (from the peer) previously marked as stale MUST be
    /// deleted. The router MUST NOT differentiate between stale and other routing information
    /// during forwarding." So: routes already stale go, the others become stale and stay in
    /// use (same preference). Without `retain` all the peer's routes are withdrawn at once.
    ///
    /// The driver passes `retain` when the peer advertised graceful restart and the session did
    /// not end with a NOTIFICATION that requires a hard reset (RFC 8538); for families absent
    /// from the peer's capability it then calls [`Rib::flush_stale_family`].
    pub fn peer_down(&mut self, peer: PeerId, retain: bool) -> Changes {
        let mut out = self.begin();
        self.take_down(peer, retain, &mut out);
        self.finish(out)
    }

    pub(super) fn take_down(&mut self, peer: PeerId, retain: bool, out: &mut Changes) {
        let Some(s) = self.slot_mut(peer) else {
            return;
        };
        s.session = None;
        s.out.stop();
        if retain && s.info.graceful_restart {
            self.remove_paths_of(peer, None, true, out);
            for family in Family::ALL {
                self.mark_stale(peer, family);
            }
        } else {
            self.remove_paths_of(peer, None, false, out);
        }
    }

    /// RFC 4724 §4.2: "If the session does not get re-established within the "Restart Time"
    /// that the peer advertised previously, the Receiving Speaker MUST delete all the stale
    /// routes from the peer that it is retaining." Also for a stale-routes timer running after
    /// the session came back. Removes every stale route of `peer`.
    pub fn flush_stale(&mut self, peer: PeerId) -> Changes {
        let mut out = self.begin();
        self.remove_paths_of(peer, None, true, &mut out);
        self.finish(out)
    }

    /// Removes the stale routes of `peer` for one family (e.g. the peer came back without the
    /// Forwarding State bit for it: RFC 4724 §4.2).
    pub fn flush_stale_family(&mut self, peer: PeerId, family: Family) -> Changes {
        let mut out = self.begin();
        self.remove_paths_of(peer, Some(family), true, &mut out);
        self.finish(out)
    }

    /// BoRR received. RFC 7313 §4: "When a BGP speaker receives a BoRR message from a peer, it
    /// MUST mark all the routes with the given Address Family Identifier and Subsequent Address
    /// Family Identifier, <AFI, SAFI> \[RFC2918\], from that peer as stale." The refresh that
    /// follows replaces the routes the peer still has.
    pub fn begin_route_refresh(&mut self, peer: PeerId, family: Family) -> Changes {
        let out = self.begin();
        if self.is_up(peer) {
            self.mark_stale(peer, family);
        }
        self.finish(out)
    }

    /// EoRR received. RFC 7313 §4: "When a BGP speaker receives an EoRR message from a peer, it
    /// MUST immediately remove any routes from the peer that are still marked as stale for that
    /// <AFI, SAFI>."
    pub fn end_route_refresh(&mut self, peer: PeerId, family: Family) -> Changes {
        let mut out = self.begin();
        self.remove_paths_of(peer, Some(family), true, &mut out);
        self.finish(out)
    }

    /// Marks `peer`'s routes of `family` stale. Nothing a peer or the kernel sees changes.
    fn mark_stale(&mut self, peer: PeerId, family: Family) {
        if self.slot(peer).is_none_or(|s| s.received == 0) {
            return;
        }
        self.tables.for_each_mut(family, |_, paths| {
            for p in paths.iter_mut().filter(|p| p.peer == peer) {
                p.set_stale(true);
            }
        });
    }

    /// Removes `peer`'s routes of `family` (all families when `None`), only the stale ones
    /// when `only_stale`.
    pub(super) fn remove_paths_of(
        &mut self,
        peer: PeerId,
        family: Option<Family>,
        only_stale: bool,
        out: &mut Changes,
    ) {
        if self.slot(peer).is_none_or(|s| s.received == 0) {
            return;
        }
        let doomed = |p: &Path| p.peer == peer && (!only_stale || p.is_stale());
        for f in Family::ALL {
            if family.is_some_and(|x| x != f) {
                continue;
            }
            let prefixes: Vec<Prefix> = self
                .tables
                .after(f, None)
                .filter(|(_, paths)| paths.iter().any(doomed))
                .map(|(p, _)| p)
                .collect();
            for prefix in prefixes {
                let old = self.tables.paths(&prefix);
                let new: Vec<Path> = old.iter().filter(|p| !doomed(p)).cloned().collect();
                let removed = old.len() - new.len();
                if let Some(s) = self.slot_mut(peer) {
                    s.received = s
                        .received
                        .saturating_sub(u32::try_from(removed).unwrap_or(u32::MAX));
                }
                self.commit(prefix, Slot::from_vec(new), out);
            }
        }
    }
}
