//! Received and locally originated routes into the Adj-RIBs-In (RFC 4271 §9.1, §9.1.1), with
//! the checks that come before import policy.

use std::sync::Arc;

use super::peer::{PeerId, SessionInfo};
use super::table::{Path, Slot, free_local_id};
use super::{Changes, MaxPrefixExceeded, Rib};
use crate::model::{PathAttributes, Prefix, Update};
use crate::policy::{RuleRef, Verdict};

impl Rib {
    /// Applies an UPDATE received from `peer` (ignored unless the peer is Established).
    ///
    /// RFC 4271 §9: withdrawn routes are removed; each announced route replaces the peer's
    /// previous route for the same NLRI (prefix and, with ADD-PATH, path id: RFC 7911 §3). A
    /// route that fails the loop checks, has no next hop for its family, or is rejected by
    /// import policy removes the previous route instead ("treat as withdraw"): the RIB keeps
    /// accepted routes only. An End-of-RIB marker ends graceful-restart retention for its
    /// family (RFC 4724 §4.2).
    pub fn apply_update(&mut self, peer: PeerId, update: &Update) -> Changes {
        let mut out = self.begin();
        let Some(s) = self.slot(peer) else {
            return out;
        };
        let Some(families) = s.session.as_ref().map(|x| x.families) else {
            return out;
        };
        if let Some(family) = update.end_of_rib {
            // RFC 4724 §4.2: "Once the End-of-RIB marker for an address family is received
            // from the peer, it MUST immediately remove any routes from the peer that are still
            // marked as stale for that address family."
            self.remove_paths_of(peer, Some(family), true, &mut out);
            return self.finish(out);
        }
        for (family, nlri) in &update.withdrawn {
            if nlri.prefix.family() == *family {
                self.remove_path(nlri.prefix, peer, nlri.path_id, &mut out);
            }
        }
        if let Some(attrs) = &update.attrs
            && !update.announced.is_empty()
        {
            let attrs = self.interner.intern(attrs);
            let eligible = self.import_checks(peer, &attrs);
            let import = self
                .slot(peer)
                .map(|s| s.info.import.clone())
                .unwrap_or_default();
            let mut modified: Vec<(RuleRef, Arc<PathAttributes>)> = Vec::new();
            for (family, nlri) in &update.announced {
                let prefix = nlri.prefix;
                if prefix.family() != *family || !families.has(*family) {
                    continue;
                }
                // The next hop is mandatory (RFC 4271 §5.1.3, RFC 4760 §3); brindle assumes it
                // is directly reachable and does not resolve it (§9.1.2.1).
                let usable = eligible && attrs.next_hop_for(*family).is_some();
                let verdict = if usable {
                    import.evaluate(&prefix)
                } else {
                    Verdict::Reject
                };
                match verdict {
                    Verdict::Reject => self.remove_path(prefix, peer, nlri.path_id, &mut out),
                    Verdict::Accept(None) => {
                        self.upsert_path(prefix, peer, nlri.path_id, attrs.clone(), &mut out)
                    }
                    Verdict::Accept(Some(rule)) => {
                        let a = match modified.iter().find(|(r, _)| *r == rule) {
                            Some((_, a)) => a.clone(),
                            None => {
                                let mut v = (*attrs).clone();
                                import.apply(rule, *family, &mut v);
                                let a = self.interner.intern_value(v);
                                modified.push((rule, a.clone()));
                                a
                            }
                        };
                        self.upsert_path(prefix, peer, nlri.path_id, a, &mut out)
                    }
                }
            }
        }
        self.finish(out)
    }

    /// The checks before import policy; false: the route is ignored.
    fn import_checks(&self, peer: PeerId, attrs: &PathAttributes) -> bool {
        let Some(s) = self.slot(peer) else {
            return false;
        };
        // RFC 4271 §9.1.2: "If the AS_PATH attribute of a BGP route contains an AS loop, the
        // BGP route should be excluded from the Phase 2 decision function. AS loop detection is
        // done by scanning the full AS path ... and checking that the autonomous system number
        // of the local system does not appear in the AS path." Calico (BIRD's `allow local
        // as`) tolerates up to `allow_local_as` occurrences.
        let allowed = usize::from(s.info.allow_local_as);
        if attrs.as_path.count(self.cfg.asn) > allowed
            || (s.info.local_as != self.cfg.asn && attrs.as_path.count(s.info.local_as) > allowed)
        {
            return false;
        }
        // RFC 4456 §8: "A router that recognizes the ORIGINATOR_ID attribute SHOULD ignore a
        // route received with its BGP Identifier as the ORIGINATOR_ID."
        if attrs.originator_id == Some(self.cfg.router_id) {
            return false;
        }
        // RFC 4456 §8: "If the local CLUSTER_ID is found in the CLUSTER_LIST, the
        // advertisement received SHOULD be ignored."
        !attrs
            .cluster_list
            .contains(&self.cfg.effective_cluster_id())
    }

    /// Originates `prefix` locally with `attrs` (replacing an earlier origination). The route
    /// takes part in the decision process (it wins over learned routes of equal LOCAL_PREF)
    /// and is exported with our address as next hop unless `attrs` carries one.
    pub fn originate(&mut self, prefix: Prefix, attrs: PathAttributes) -> Changes {
        let mut out = self.begin();
        let attrs = self.interner.intern_value(attrs);
        self.upsert_path(prefix, PeerId::LOCAL, 0, attrs, &mut out);
        self.finish(out)
    }

    /// Withdraws a locally originated prefix.
    pub fn withdraw_local(&mut self, prefix: Prefix) -> Changes {
        let mut out = self.begin();
        self.remove_path(prefix, PeerId::LOCAL, 0, &mut out);
        self.finish(out)
    }

    /// Inserts or replaces the path `(peer, remote_id)` of `prefix`; clears its stale flag.
    fn upsert_path(
        &mut self,
        prefix: Prefix,
        peer: PeerId,
        remote_id: u32,
        attrs: Arc<PathAttributes>,
        out: &mut Changes,
    ) {
        let old = self.tables.paths(&prefix);
        let slot = match old
            .iter()
            .position(|p| p.peer == peer && p.remote_id == remote_id)
        {
            Some(i) => {
                let p = &old[i];
                if Arc::ptr_eq(&p.attrs, &attrs) && !p.is_stale() {
                    return;
                }
                let replaced = p.replaced(attrs);
                if old.len() == 1 {
                    Slot::One(replaced)
                } else {
                    let mut v = old.to_vec();
                    v[i] = replaced;
                    Slot::Many(Box::new(v))
                }
            }
            None => {
                if let Some(s) = self.slot(peer)
                    && let Some(limit) = s.info.max_prefix
                    && s.received >= limit
                {
                    out.max_prefix = Some(MaxPrefixExceeded {
                        peer,
                        family: prefix.family(),
                        limit,
                    });
                    return;
                }
                let Some(lid) = free_local_id(old) else {
                    return;
                };
                let path = Path::new(attrs, peer, remote_id, lid);
                let slot = if old.is_empty() {
                    Slot::One(path)
                } else {
                    let mut v = Vec::with_capacity(old.len() + 1);
                    v.extend_from_slice(old);
                    v.push(path);
                    Slot::Many(Box::new(v))
                };
                if let Some(s) = self.slot_mut(peer) {
                    s.received += 1;
                }
                slot
            }
        };
        self.commit(prefix, Some(slot), out);
    }

    /// Removes the path `(peer, remote_id)` of `prefix`, if present.
    fn remove_path(&mut self, prefix: Prefix, peer: PeerId, remote_id: u32, out: &mut Changes) {
        let old = self.tables.paths(&prefix);
        let Some(i) = old
            .iter()
            .position(|p| p.peer == peer && p.remote_id == remote_id)
        else {
            return;
        };
        let slot = if old.len() == 1 {
            None
        } else {
            let mut v = old.to_vec();
            v.remove(i);
            Slot::from_vec(v)
        };
        if let Some(s) = self.slot_mut(peer) {
            s.received = s.received.saturating_sub(1);
        }
        self.commit(prefix, slot, out);
    }

    /// Session Established with `peer`: the whole table is queued for it (initial dump, then
    /// End-of-RIB). Stale routes kept from the previous session stay until End-of-RIB or
    /// [`Rib::flush_stale`], except those of families the new session did not negotiate, and
    /// all of them if the peer's BGP identifier changed. Calling it for a peer that is already
    /// up first takes the old session down without retaining routes.
    pub fn peer_up(&mut self, peer: PeerId, session: SessionInfo) -> Changes {
        let mut out = self.begin();
        let Some(s) = self.slot(peer) else {
            return out;
        };
        if s.session.is_some() {
            self.take_down(peer, false, &mut out);
        }
        let families = super::peer::Fams::of(&session.families);
        let id_changed = self
            .slot(peer)
            .is_some_and(|s| s.router_id != session.router_id);
        for family in crate::model::Family::ALL {
            if id_changed || !families.has(family) {
                self.remove_paths_of(peer, Some(family), true, &mut out);
            }
        }
        if id_changed {
            // The identifier is a decision input and part of ORIGINATOR_ID on reflection.
            self.clear_export_caches();
        }
        let Some(s) = self.slot_mut(peer) else {
            return out;
        };
        s.router_id = session.router_id;
        s.session = Some(super::Session {
            families,
            add_path: super::peer::Fams::of(&session.add_path_send),
            local_v4: session.local_v4,
            local_v6: session.local_v6,
            local_v6_link_local: session.local_v6_link_local,
        });
        s.out.start(families);
        self.note_outbound(peer, &mut out);
        self.finish(out)
    }
}
