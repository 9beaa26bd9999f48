//! Read-only views for status output, kernel resynchronisation and tests.

use std::net::IpAddr;
use std::sync::Arc;

use super::peer::PeerId;
use super::table::Path;
use super::{KernelChange, Rib};
use crate::model::{Family, Nlri, PathAttributes, Prefix};

/// One path to a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathInfo {
    /// Where it came from ([`PeerId::LOCAL`] for a locally originated route).
    pub from: PeerId,
    /// The ADD-PATH path id it was received with (0 without ADD-PATH).
    pub path_id: u32,
    /// The path id brindle uses for it toward ADD-PATH peers.
    pub local_id: u32,
    /// Its attributes as received (after import policy).
    pub attrs: Arc<PathAttributes>,
    /// Chosen as best.
    pub best: bool,
    /// Part of the ECMP set given to the kernel.
    pub multipath: bool,
    /// Retained from a previous session / before a refresh, not yet refreshed.
    pub stale: bool,
}

/// A prefix and every path to it, best first, then the rest of the ECMP set, then the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// The prefix.
    pub prefix: Prefix,
    /// Its paths.
    pub paths: Vec<PathInfo>,
}

impl Rib {
    fn route_info(&self, prefix: Prefix, paths: &[Path]) -> RouteInfo {
        let sel = self.selection(paths);
        let mut order: Vec<usize> = sel.multipath.clone();
        if let Some(b) = sel.best
            && !order.contains(&b)
        {
            order.insert(0, b);
        }
        let rest: Vec<usize> = (0..paths.len()).filter(|i| !order.contains(i)).collect();
        order.extend(rest);
        let paths = order
            .into_iter()
            .filter_map(|i| {
                let p = paths.get(i)?;
                Some(PathInfo {
                    from: p.peer,
                    path_id: p.remote_id,
                    local_id: p.local_id(),
                    attrs: p.attrs.clone(),
                    best: sel.best == Some(i),
                    multipath: sel.multipath.contains(&i),
                    stale: p.is_stale(),
                })
            })
            .collect();
        RouteInfo { prefix, paths }
    }

    /// The paths of `prefix`, if any.
    pub fn route(&self, prefix: &Prefix) -> Option<RouteInfo> {
        let paths = self.tables.paths(prefix);
        (!paths.is_empty()).then(|| self.route_info(*prefix, paths))
    }

    /// Every prefix of `family` in order, with its paths.
    pub fn routes(&self, family: Family) -> impl Iterator<Item = RouteInfo> + '_ {
        self.tables
            .after(family, None)
            .map(|(p, paths)| self.route_info(p, paths))
    }

    /// The best path of `prefix`.
    pub fn best(&self, prefix: &Prefix) -> Option<PathInfo> {
        self.route(prefix)?.paths.into_iter().find(|p| p.best)
    }

    /// Every learned route the kernel should hold for `family` (for a full resynchronisation,
    /// e.g. after the agent restarted), in prefix order.
    pub fn kernel_routes(&self, family: Family) -> Vec<KernelChange> {
        self.tables
            .after(family, None)
            .filter_map(|(prefix, paths)| {
                let sel = self.selection(paths);
                let best = sel.best.and_then(|i| paths.get(i))?;
                if best.peer.is_local() {
                    return None;
                }
                let mut next_hops: Vec<IpAddr> = sel
                    .multipath
                    .iter()
                    .filter_map(|i| paths.get(*i)?.attrs.next_hop_for(family))
                    .collect();
                next_hops.sort();
                next_hops.dedup();
                Some(KernelChange { prefix, next_hops })
            })
            .collect()
    }

    /// RFC 4271 §3.2 Adj-RIB-In of `peer` for `family`: the routes accepted from it (after
    /// import policy), with their stale flag.
    pub fn adj_rib_in(
        &self,
        peer: PeerId,
        family: Family,
    ) -> Vec<(Nlri, Arc<PathAttributes>, bool)> {
        let mut v = Vec::new();
        for (prefix, paths) in self.tables.after(family, None) {
            for p in paths.iter().filter(|p| p.peer == peer) {
                let nlri = Nlri {
                    prefix,
                    path_id: p.remote_id,
                };
                v.push((nlri, p.attrs.clone(), p.is_stale()));
            }
        }
        v.sort_by_key(|(n, _, _)| *n);
        v
    }

    /// RFC 4271 §3.2 Adj-RIB-Out of `peer` for `family`: what the peer holds once its queue is
    /// drained (empty while it is not Established).
    pub fn adj_rib_out(
        &mut self,
        peer: PeerId,
        family: Family,
    ) -> Vec<(Nlri, Arc<PathAttributes>)> {
        let Some(add_path) = self
            .slot(peer)
            .and_then(|s| s.session.as_ref())
            .map(|s| s.add_path.has(family))
        else {
            return Vec::new();
        };
        let entries: Vec<(Prefix, Vec<Path>)> = self
            .tables
            .after(family, None)
            .map(|(p, paths)| (p, paths.to_vec()))
            .collect();
        let mut v = Vec::new();
        for (prefix, paths) in entries {
            let chosen: Vec<(u32, Path)> = self
                .exported_paths(&paths, add_path)
                .into_iter()
                .map(|(id, p)| (id, p.clone()))
                .collect();
            for (id, path) in chosen {
                let Some(rule) = self.verdict(peer, &prefix, &path) else {
                    continue;
                };
                if let Some(a) = self.exported_attrs(peer, family, &path, rule) {
                    v.push((
                        Nlri {
                            prefix,
                            path_id: id,
                        },
                        a,
                    ));
                }
            }
        }
        v
    }

    /// Routes held from `peer` (stale ones included): what its prefix limit counts.
    pub fn received_count(&self, peer: PeerId) -> u32 {
        self.slot(peer).map_or(0, |s| s.received)
    }

    /// Number of prefixes of `family` in the table.
    pub fn prefix_count(&self, family: Family) -> usize {
        self.tables.len(family)
    }

    /// Number of distinct attribute sets held (received and exported).
    pub fn attribute_sets(&self) -> usize {
        self.interner.len()
    }
}
