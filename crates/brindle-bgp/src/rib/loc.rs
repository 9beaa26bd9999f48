//! The Loc-RIB side of a change: rerun the decision process for one prefix, tell the kernel if
//! its next hops changed, and queue the prefix for every peer whose view of it changed
//! (RFC 4271 §9.1.2 Phase 2, §9.1.3 Phase 3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::decision::{Candidate, Selection, select};
use super::peer::{DEFAULT_LOCAL_PREF, PeerId};
use super::table::{Path, Slot};
use super::{Changes, KernelChange, Rib};
use crate::model::{Family, Prefix};

impl Rib {
    /// RFC 4271 §9.1.1: the degree of preference of a path. "If the route is learned from an
    /// internal peer, either the value of the LOCAL_PREF attribute is taken as the degree of
    /// preference, or the calculation uses the LOCAL_PREF value as input"; for routes from
    /// external peers brindle's policy assigns [`DEFAULT_LOCAL_PREF`] (§5.1.5: a LOCAL_PREF
    /// received from an external peer "MUST be ignored by the receiving speaker"); locally
    /// originated routes use their own LOCAL_PREF or the default.
    pub(super) fn preference(&self, path: &Path) -> u32 {
        let external = self.slot(path.peer).is_some_and(|s| !s.info.ibgp);
        if external {
            DEFAULT_LOCAL_PREF
        } else {
            path.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF)
        }
    }

    /// The decision-process facts of `path`.
    fn candidate(&self, path: &Path) -> Candidate {
        let a = &path.attrs;
        let slot = self.slot(path.peer);
        let local = path.peer.is_local();
        let ebgp = slot.is_some_and(|s| !s.info.ibgp);
        let neighbor_as = a.as_path.first_as().unwrap_or(match slot {
            // RFC 4271 §9.1.2.2 (c): for a route learned via IBGP that the other speaker
            // originated, and for our own routes, neighborAS is the local AS.
            Some(s) if ebgp => s.info.remote_as,
            _ => self.cfg.asn,
        });
        let (router_id, peer_addr) = match slot {
            Some(s) => (s.router_id, s.info.address),
            None => (self.cfg.router_id, unspecified(path)),
        };
        Candidate {
            pref: self.preference(path),
            local,
            as_len: a.as_path.decision_len(),
            origin: a.origin,
            // RFC 4271 §9.1.2.2 (c): "If route n has no MULTI_EXIT_DISC attribute, the
            // function returns the lowest possible MULTI_EXIT_DISC value (i.e., 0)."
            med: a.med.unwrap_or(0),
            neighbor_as,
            ebgp,
            bgp_id: a.originator_id.unwrap_or(router_id),
            cluster_len: a.cluster_list.len(),
            peer_addr,
            peer: path.peer,
            path_id: path.remote_id,
        }
    }

    /// The decision process over `paths`.
    pub(super) fn selection(&self, paths: &[Path]) -> Selection {
        match paths.len() {
            0 => Selection::default(),
            1 => Selection {
                best: Some(0),
                multipath: vec![0],
            },
            _ => {
                let c: Vec<Candidate> = paths.iter().map(|p| self.candidate(p)).collect();
                select(&c, self.cfg.multipath, self.cfg.max_paths)
            }
        }
    }

    /// The index of the best path in `paths` (no allocation for zero or one path).
    pub(super) fn best_index(&self, paths: &[Path]) -> Option<usize> {
        match paths.len() {
            0 => None,
            1 => Some(0),
            _ => self.selection(paths).best,
        }
    }

    /// The best path in `paths`.
    pub(super) fn best_of<'p>(&self, paths: &'p [Path]) -> Option<&'p Path> {
        self.best_index(paths).and_then(|i| paths.get(i))
    }

    /// What the kernel gets for `paths`: the ECMP next hops, none for a local best.
    fn kernel_next_hops(&self, family: Family, paths: &[Path]) -> Vec<IpAddr> {
        let sel = self.selection(paths);
        let Some(best) = sel.best.and_then(|i| paths.get(i)) else {
            return Vec::new();
        };
        if best.peer.is_local() {
            return Vec::new();
        }
        let mut hops: Vec<IpAddr> = sel
            .multipath
            .iter()
            .filter_map(|i| paths.get(*i)?.attrs.next_hop_for(family))
            .collect();
        hops.sort();
        hops.dedup();
        hops
    }

    /// The kernel change from `old` to `new` paths of `prefix`, if any.
    fn kernel_change(&self, prefix: Prefix, old: &[Path], new: &[Path]) -> Option<KernelChange> {
        let family = prefix.family();
        if old.len() <= 1 && new.len() <= 1 {
            // One path at most on either side: its next hop, unless it is our own.
            let hop = |paths: &[Path]| {
                paths
                    .first()
                    .filter(|p| !p.peer.is_local())
                    .and_then(|p| p.attrs.next_hop_for(family))
            };
            let (o, n) = (hop(old), hop(new));
            return (o != n).then(|| KernelChange {
                prefix,
                next_hops: n.into_iter().collect(),
            });
        }
        let old_hops = self.kernel_next_hops(family, old);
        let new_hops = self.kernel_next_hops(family, new);
        (old_hops != new_hops).then_some(KernelChange {
            prefix,
            next_hops: new_hops,
        })
    }

    /// Replaces the paths of `prefix` with `new` (`None`: no paths left) and propagates the
    /// change: to the kernel, and to the queue of every peer whose view of it may change.
    pub(super) fn commit(&mut self, prefix: Prefix, new: Option<Slot>, out: &mut Changes) {
        let mut marks = std::mem::take(&mut self.marks);
        let new_paths = new.as_ref().map_or(&[][..], Slot::as_slice);
        let old = self.tables.paths(&prefix);
        if self.kernel_changes
            && let Some(k) = self.kernel_change(prefix, old, new_paths)
        {
            out.kernel.push(k);
        }
        self.dirty_marks(&prefix, old, new_paths, &mut marks);
        self.tables.set(&prefix, new);
        for (peer, id) in marks.drain(..) {
            if let Some(s) = self.slot_mut(peer) {
                s.out.dirty.insert(prefix, id);
            }
            self.note_outbound(peer, out);
        }
        self.marks = marks;
    }

    /// Adds to `marks` the (peer, path id) pairs whose exported state may have changed. A pair
    /// is queued when the path before or after the change is exportable to the peer: by
    /// induction, a peer without a queued entry always holds exactly the export of the current
    /// state.
    fn dirty_marks(
        &self,
        prefix: &Prefix,
        old: &[Path],
        new: &[Path],
        marks: &mut Vec<(PeerId, u32)>,
    ) {
        let family = prefix.family();
        // The best paths are computed once, and only if some peer without ADD-PATH needs them.
        let mut bests: Option<(Option<&Path>, Option<&Path>)> = None;
        for (i, slot) in self.peers.iter().enumerate() {
            let Some(s) = slot else { continue };
            let Some(sess) = &s.session else { continue };
            let Ok(index) = u16::try_from(i) else {
                continue;
            };
            let peer = PeerId(index);
            if !sess.families.has(family) || !s.out.knows(prefix) {
                continue;
            }
            let exportable =
                |p: Option<&Path>| p.is_some_and(|p| self.verdict(peer, prefix, p).is_some());
            if sess.add_path.has(family) {
                let mut ids: Vec<u32> = old.iter().chain(new).map(Path::local_id).collect();
                ids.sort_unstable();
                ids.dedup();
                for id in ids {
                    let o = old.iter().find(|p| p.local_id() == id);
                    let n = new.iter().find(|p| p.local_id() == id);
                    if let (Some(o), Some(n)) = (o, n)
                        && o.same(n)
                    {
                        continue;
                    }
                    if exportable(o) || exportable(n) {
                        marks.push((peer, id));
                    }
                }
            } else {
                let (old_best, new_best) =
                    *bests.get_or_insert_with(|| (self.best_of(old), self.best_of(new)));
                if let (Some(o), Some(n)) = (old_best, new_best)
                    && o.same(n)
                {
                    continue;
                }
                if exportable(old_best) || exportable(new_best) {
                    marks.push((peer, 0));
                }
            }
        }
    }
}

fn unspecified(path: &Path) -> IpAddr {
    match path.attrs.mp_next_hop {
        Some(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}
