//! Configuration changes that affect routes already in the RIB: a peer's policies and limits.

use std::collections::BTreeMap;

use super::peer::PeerId;
use super::{Changes, Rib};
use crate::model::{Family, Prefix};
use crate::policy::{Policy, RuleRef};

impl Rib {
    /// Sets the most routes accepted from `peer` (checked as new routes arrive).
    pub fn set_max_prefix(&mut self, peer: PeerId, limit: Option<u32>) {
        if let Some(s) = self.slot_mut(peer) {
            s.info.max_prefix = limit;
        }
    }

    /// Replaces `peer`'s export policy and queues exactly the routes whose export changed
    /// (announcements of newly accepted ones, withdrawals of newly rejected ones).
    pub fn set_export_policy(&mut self, peer: PeerId, policy: Policy) -> Changes {
        let mut out = self.begin();
        let before = self.export_snapshot(peer);
        let Some(s) = self.slot_mut(peer) else {
            return out;
        };
        s.info.export = policy;
        s.out.cache.clear();
        let after = self.export_snapshot(peer);
        let mut changed: Vec<(Prefix, u32)> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .map(|(k, _)| *k)
            .collect();
        changed.extend(after.keys().filter(|k| !before.contains_key(*k)));
        if !changed.is_empty() {
            if let Some(s) = self.slot_mut(peer) {
                s.out.dirty.extend(changed);
            }
            self.note_outbound(peer, &mut out);
        }
        self.finish(out)
    }

    /// Replaces `peer`'s import policy. Only routes received from now on are affected: the
    /// RIB keeps accepted routes only, so send the peer a ROUTE-REFRESH (RFC 2918) to have its
    /// routes evaluated again.
    pub fn set_import_policy(&mut self, peer: PeerId, policy: Policy) {
        if let Some(s) = self.slot_mut(peer) {
            s.info.import = policy;
        }
    }

    /// The export verdicts of every key `peer` knows (exportable ones only).
    fn export_snapshot(&self, peer: PeerId) -> BTreeMap<(Prefix, u32), Option<RuleRef>> {
        let mut snap = BTreeMap::new();
        let Some(s) = self.slot(peer) else {
            return snap;
        };
        let Some(sess) = &s.session else {
            return snap;
        };
        for family in Family::ALL {
            if !sess.families.has(family) {
                continue;
            }
            for (prefix, paths) in self.tables.after(family, None) {
                if !s.out.knows(&prefix) {
                    break;
                }
                for (id, path) in self.exported_paths(paths, sess.add_path.has(family)) {
                    if let Some(rule) = self.verdict(peer, &prefix, path) {
                        snap.insert((prefix, id), rule);
                    }
                }
            }
        }
        snap
    }
}
