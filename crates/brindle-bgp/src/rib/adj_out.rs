//! Per-peer outbound state (the Adj-RIB-Out of RFC 4271 §3.2, kept implicitly) and the batches
//! handed to the codec.
//!
//! A peer's state is a set of queued `(prefix, path id)` keys plus, per family, a cursor over
//! the table for the initial dump (or a refresh). The routes a peer holds are never stored:
//! when a key is taken, the export of the *current* best path (or of the path with that id,
//! with ADD-PATH) is sent, or a withdrawal when there is none. Several changes before a write
//! therefore produce one message with the latest state, never an intermediate one.

use std::sync::Arc;

use super::dirty::DirtySet;
use super::export::ExportCache;
use super::fasthash::FastMap;
use super::peer::{Fams, PeerId};
use super::table::Path;
use super::{Changes, Rib};
use crate::model::{Family, Nlri, PathAttributes, Prefix, Update};

/// Progress of a full-table walk for one family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Dump {
    /// Nothing to walk.
    #[default]
    Idle,
    /// The initial dump after the session came up; the peer knows nothing past the cursor
    /// (the last prefix sent). Ends with End-of-RIB.
    Initial(Option<Prefix>),
    /// A re-advertisement (route refresh); the peer already holds everything.
    Refresh(Option<Prefix>),
}

/// A peer's outbound state.
#[derive(Debug, Default)]
pub(crate) struct AdjOut {
    /// Keys whose exported state changed since last sent; path id 0 without ADD-PATH.
    pub(crate) dirty: DirtySet,
    dump: [Dump; 2],
    initial_done: [bool; 2],
    /// Export attribute sets already built for this peer.
    pub(crate) cache: ExportCache,
}

fn fi(f: Family) -> usize {
    match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
    }
}

impl AdjOut {
    /// A new session: the whole table is to be sent for `families`.
    pub(crate) fn start(&mut self, families: Fams) {
        self.stop();
        for f in Family::ALL {
            if families.has(f) {
                self.dump[fi(f)] = Dump::Initial(None);
            }
        }
    }

    /// The session is gone: nothing is owed to the peer any more.
    pub(crate) fn stop(&mut self) {
        self.dirty.clear();
        self.dump = [Dump::Idle; 2];
        self.initial_done = [false; 2];
        self.cache.clear();
    }

    /// True when the peer has been sent (or is owed, through the queue) the state of `prefix`;
    /// false when the initial dump has not reached it yet (the dump will send it).
    pub(crate) fn knows(&self, prefix: &Prefix) -> bool {
        match self.dump[fi(prefix.family())] {
            Dump::Initial(cursor) => cursor.is_some_and(|c| *prefix <= c),
            Dump::Idle | Dump::Refresh(_) => true,
        }
    }

    fn pending(&self) -> bool {
        !self.dirty.is_empty() || self.dump.iter().any(|d| *d != Dump::Idle)
    }
}

/// Routes sharing one attribute set, to be packed into UPDATEs by the codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutGroup {
    /// The attributes as the peer must receive them.
    pub attrs: Arc<PathAttributes>,
    /// The routes (path id set when ADD-PATH is used toward the peer).
    pub nlri: Vec<(Family, Nlri)>,
}

/// One batch of outbound work for a peer, in deterministic order (queued changes in prefix
/// order first, then the table walk in prefix order; groups in order of first appearance).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbound {
    /// Routes to withdraw.
    pub withdrawn: Vec<(Family, Nlri)>,
    /// Routes to announce, grouped by attribute set.
    pub announced: Vec<OutGroup>,
    /// RFC 4724 §2: the initial table dump of these families is complete: send End-of-RIB
    /// after the routes above.
    pub end_of_rib: Vec<Family>,
    /// A refresh dump ([`Rib::refresh_out`]) of these families is complete: with enhanced route
    /// refresh (RFC 7313), send EoRR after the routes above.
    pub end_of_refresh: Vec<Family>,
}

impl Outbound {
    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.withdrawn.is_empty()
            && self.announced.is_empty()
            && self.end_of_rib.is_empty()
            && self.end_of_refresh.is_empty()
    }

    /// Number of routes announced or withdrawn.
    pub fn route_count(&self) -> usize {
        self.withdrawn.len() + self.announced.iter().map(|g| g.nlri.len()).sum::<usize>()
    }

    /// The batch as UPDATE values: withdrawals, one per attribute group, then End-of-RIB
    /// markers (EoRR is a ROUTE-REFRESH message and is left to the caller).
    pub fn into_updates(self) -> Vec<Update> {
        let mut v = Vec::new();
        if !self.withdrawn.is_empty() {
            v.push(Update {
                withdrawn: self.withdrawn,
                ..Update::default()
            });
        }
        for g in self.announced {
            v.push(Update {
                attrs: Some(g.attrs),
                announced: g.nlri,
                ..Update::default()
            });
        }
        v.extend(self.end_of_rib.into_iter().map(Update::end_of_rib));
        v
    }
}

/// Builds an [`Outbound`], grouping by attribute set.
#[derive(Default)]
struct Batch {
    out: Outbound,
    groups: FastMap<usize, usize>,
    /// The group used last (attribute set address, index): consecutive routes mostly share one.
    last: Option<(usize, usize)>,
    routes: usize,
}

impl Batch {
    fn withdraw(&mut self, family: Family, nlri: Nlri) {
        self.routes += 1;
        self.out.withdrawn.push((family, nlri));
    }

    fn announce(&mut self, family: Family, attrs: Arc<PathAttributes>, nlri: Nlri) {
        self.routes += 1;
        let key = Arc::as_ptr(&attrs) as usize;
        let out = &mut self.out;
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => *self.groups.entry(key).or_insert_with(|| {
                out.announced.push(OutGroup {
                    attrs,
                    nlri: Vec::new(),
                });
                out.announced.len() - 1
            }),
        };
        self.last = Some((key, i));
        out.announced[i].nlri.push((family, nlri));
    }
}

impl Rib {
    /// About `max` routes of outbound work for `peer` (a prefix's ADD-PATH paths are not
    /// split); call it when the peer's socket is writable. Queued changes come first, then the
    /// initial dump or a refresh, each in prefix order. A table walk looks at about `64 * max`
    /// prefixes per call at most, unless it has found nothing to send yet: an empty batch means
    /// nothing is pending ([`Rib::has_outbound`] is false).
    pub fn take_outbound(&mut self, peer: PeerId, max: usize) -> Outbound {
        let mut b = Batch::default();
        let Some(add_path) = self
            .slot(peer)
            .and_then(|s| s.session.as_ref())
            .map(|s| s.add_path)
        else {
            return b.out;
        };
        let mut scan = max.saturating_mul(64);
        while b.routes < max {
            let Some((prefix, id)) = self.slot_mut(peer).and_then(|s| s.out.dirty.pop_first())
            else {
                break;
            };
            self.emit_key(peer, prefix, id, add_path.has(prefix.family()), &mut b);
        }
        for family in Family::ALL {
            // The scan limit bounds the work per call, but a call never returns empty-handed
            // while work remains: an empty batch means nothing is pending.
            while b.routes < max && (scan > 0 || b.out.is_empty()) {
                let Some(dump) = self.slot(peer).map(|s| s.out.dump[fi(family)]) else {
                    break;
                };
                let cursor = match dump {
                    Dump::Idle => break,
                    Dump::Initial(c) | Dump::Refresh(c) => c,
                };
                // One range walk per chunk rather than one tree search per prefix.
                let want = (max - b.routes).min(scan).max(1);
                let chunk: Vec<(Prefix, Vec<Path>)> = self
                    .tables
                    .after(family, cursor)
                    .take(want)
                    .map(|(p, paths)| (p, paths.to_vec()))
                    .collect();
                let Some(s) = self.slot_mut(peer) else { break };
                let Some(last) = chunk.last().map(|(p, _)| *p) else {
                    s.out.dump[fi(family)] = Dump::Idle;
                    if matches!(dump, Dump::Initial(_)) {
                        s.out.initial_done[fi(family)] = true;
                        b.out.end_of_rib.push(family);
                    } else {
                        b.out.end_of_refresh.push(family);
                    }
                    continue;
                };
                s.out.dump[fi(family)] = match dump {
                    Dump::Initial(_) => Dump::Initial(Some(last)),
                    _ => Dump::Refresh(Some(last)),
                };
                scan = scan.saturating_sub(chunk.len());
                for (prefix, paths) in chunk {
                    self.emit_all(peer, prefix, &paths, add_path.has(family), &mut b);
                }
            }
        }
        self.finish(Changes::default());
        b.out
    }

    /// True when `peer` has queued changes or a dump in progress.
    pub fn has_outbound(&self, peer: PeerId) -> bool {
        self.slot(peer)
            .is_some_and(|s| s.session.is_some() && s.out.pending())
    }

    /// True once the initial dump of `family` to `peer` has been handed out (with its
    /// End-of-RIB) in this session.
    pub fn initial_dump_complete(&self, peer: PeerId, family: Family) -> bool {
        self.slot(peer)
            .is_some_and(|s| s.session.is_some() && s.out.initial_done[fi(family)])
    }

    /// RFC 2918 §4: on a ROUTE-REFRESH request, "the BGP speaker shall re-advertise to that
    /// peer the Adj-RIB-Out of the <AFI, SAFI> carried in the message". Re-queues the whole table of
    /// `family` for `peer` (an initial dump in progress simply continues).
    pub fn refresh_out(&mut self, peer: PeerId, family: Family) -> Changes {
        let mut out = self.begin();
        let Some(s) = self.slot_mut(peer) else {
            return out;
        };
        let negotiated = s.session.as_ref().is_some_and(|x| x.families.has(family));
        if !negotiated {
            return out;
        }
        if !matches!(s.out.dump[fi(family)], Dump::Initial(_)) {
            s.out.dump[fi(family)] = Dump::Refresh(None);
        }
        self.note_outbound(peer, &mut out);
        out
    }

    /// The paths a peer may be sent: every path with its id (ADD-PATH), or the best with id 0.
    pub(super) fn exported_paths<'p>(
        &self,
        paths: &'p [Path],
        add_path: bool,
    ) -> Vec<(u32, &'p Path)> {
        if add_path {
            let mut v: Vec<(u32, &Path)> = paths.iter().map(|p| (p.local_id(), p)).collect();
            v.sort_by_key(|(id, _)| *id);
            v
        } else {
            self.best_of(paths).map(|p| (0, p)).into_iter().collect()
        }
    }

    /// Sends the current state of one queued key.
    fn emit_key(&mut self, peer: PeerId, prefix: Prefix, id: u32, add_path: bool, b: &mut Batch) {
        let paths = self.tables.paths(&prefix);
        let path = if add_path {
            paths.iter().find(|p| p.local_id() == id)
        } else if id == 0 {
            self.best_of(paths)
        } else {
            None
        };
        let chosen = path.and_then(|p| Some((p.clone(), self.verdict(peer, &prefix, p)?)));
        let family = prefix.family();
        let nlri = Nlri {
            prefix,
            path_id: id,
        };
        let attrs = chosen.and_then(|(p, rule)| self.exported_attrs(peer, family, &p, rule));
        match attrs {
            Some(a) => b.announce(family, a, nlri),
            None => b.withdraw(family, nlri),
        }
    }

    /// Sends every exportable path of `prefix` (table walk).
    fn emit_all(
        &mut self,
        peer: PeerId,
        prefix: Prefix,
        paths: &[Path],
        add_path: bool,
        b: &mut Batch,
    ) {
        let family = prefix.family();
        let owned: Vec<(u32, Path)> = self
            .exported_paths(paths, add_path)
            .into_iter()
            .map(|(id, p)| (id, p.clone()))
            .collect();
        for (id, path) in owned {
            let Some(rule) = self.verdict(peer, &prefix, &path) else {
                continue;
            };
            if let Some(a) = self.exported_attrs(peer, family, &path, rule) {
                b.announce(
                    family,
                    a,
                    Nlri {
                        prefix,
                        path_id: id,
                    },
                );
            }
        }
    }
}
