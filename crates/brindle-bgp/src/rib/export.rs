//! Which paths go to which peer, and with which attributes (RFC 4271 §5.1, §9.1.3; RFC 4456
//! §6 and §8; RFC 1997), followed by the peer's export policy.
//!
//! Building a peer's attribute set is memoised per (source set, source peer, family, policy
//! rule): a million routes sharing one received set cost one transformation per peer.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};

use super::fasthash::FastMap;
use super::peer::{NextHopMode, PeerId};
use super::table::Path;
use super::{Rib, Session};
use crate::model::{Community, Family, MpNextHop, PathAttributes, Prefix};
use crate::policy::{RuleRef, Verdict};

/// RFC 4271 §4.3 attribute flag bits.
const FLAG_TRANSITIVE: u8 = 0x40;
const FLAG_PARTIAL: u8 = 0x20;

/// Where a path came from, as far as export rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Local,
    External,
    /// An internal peer that is our route-reflector client.
    Client,
    /// An internal peer that is not a client.
    NonClient,
}

impl Source {
    fn internal(self) -> bool {
        matches!(self, Source::Client | Source::NonClient)
    }
}

/// Memoised export attribute sets of one peer.
#[derive(Debug, Default)]
pub(crate) struct ExportCache {
    map: FastMap<CacheKey, (Weak<PathAttributes>, Arc<PathAttributes>)>,
    /// The last hit: consecutive routes mostly share one source set.
    last: Option<(CacheKey, Arc<PathAttributes>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    /// Address of the source set. The `Weak` stored beside the entry keeps the allocation (not
    /// the value) alive, so the address cannot be reused while the entry exists.
    src: usize,
    from: PeerId,
    family: Family,
    rule: Option<RuleRef>,
}

impl ExportCache {
    /// Drops entries whose source set is gone.
    pub(crate) fn sweep(&mut self) {
        self.map.retain(|_, (w, _)| w.strong_count() > 0);
        self.last = None;
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.last = None;
    }
}

impl Rib {
    fn source(&self, path: &Path) -> Option<(Source, Ipv4Addr)> {
        if path.peer.is_local() {
            return Some((Source::Local, self.cfg.router_id));
        }
        let s = self.slot(path.peer)?;
        let kind = match (s.info.ibgp, s.info.rr_client) {
            (false, _) => Source::External,
            (true, true) => Source::Client,
            (true, false) => Source::NonClient,
        };
        Some((kind, s.router_id))
    }

    /// Whether `path` to `prefix` goes to `target`: `None` if not, else the export-policy rule
    /// whose additions apply. `target` must be Established.
    pub(super) fn verdict(
        &self,
        target: PeerId,
        prefix: &Prefix,
        path: &Path,
    ) -> Option<Option<RuleRef>> {
        let t = self.slot(target)?;
        let sess = t.session.as_ref()?;
        // Never back to the peer the path came from (RFC 4456 §6 reflects "to the Client peers
        // other than the originator"; for other peers it would be a loop or split-horizon
        // violation anyway).
        if path.peer == target {
            return None;
        }
        let a = &path.attrs;
        let (source, source_id) = self.source(path)?;
        if t.info.originated_only && source != Source::Local {
            return None;
        }
        // RFC 1997: NO_ADVERTISE: "All routes received carrying a communities attribute
        // containing this value MUST NOT be advertised to other BGP peers."
        if a.has_community(Community::NO_ADVERTISE) {
            return None;
        }
        // RFC 1997: NO_EXPORT: "MUST NOT be advertised outside a BGP confederation boundary";
        // NO_EXPORT_SUBCONFED: "MUST NOT be advertised to external BGP peers". brindle has no
        // confederations, so both stop at every external peer.
        if !t.info.ibgp
            && (a.has_community(Community::NO_EXPORT)
                || a.has_community(Community::NO_EXPORT_SUBCONFED))
        {
            return None;
        }
        if t.info.ibgp && source.internal() {
            // RFC 4271 §9.2: "When a BGP speaker receives an UPDATE message from an internal
            // peer, the receiving BGP speaker SHALL NOT re-distribute the routing information
            // contained in that UPDATE message to other internal peers (unless the speaker acts
            // as a BGP Route Reflector [RFC2796])." RFC 4456 §6:
            // "A route from a Non-Client IBGP peer: Reflect to all the Clients."
            // "A route from a Client peer: Reflect to all the Non-Client peers and also to the
            // Client peers other than the originator."
            if source == Source::NonClient && !t.info.rr_client {
                return None;
            }
            // The target would drop the route (RFC 4456 §8: "ignore a route received with its
            // BGP Identifier as the ORIGINATOR_ID"), so do not send it.
            if a.originator_id.unwrap_or(source_id) == t.router_id {
                return None;
            }
        }
        let family = prefix.family();
        if needs_self(t.info.next_hop, t.info.ibgp, source, a, family)
            && self_next_hop(sess, family).is_none()
        {
            return None;
        }
        match t.info.export.evaluate(prefix) {
            Verdict::Reject => None,
            Verdict::Accept(rule) => Some(rule),
        }
    }

    /// The attribute set sent to `target` for `path` (of `family`), from the cache or built
    /// and interned.
    pub(super) fn exported_attrs(
        &mut self,
        target: PeerId,
        family: Family,
        path: &Path,
        rule: Option<RuleRef>,
    ) -> Option<Arc<PathAttributes>> {
        let key = CacheKey {
            src: Arc::as_ptr(&path.attrs) as usize,
            from: path.peer,
            family,
            rule,
        };
        let cache = &mut self.slot_mut(target)?.out.cache;
        if let Some((k, a)) = &cache.last
            && *k == key
        {
            return Some(a.clone());
        }
        if let Some((_, a)) = cache.map.get(&key) {
            let a = a.clone();
            cache.last = Some((key, a.clone()));
            return Some(a);
        }
        let built = self.transform(target, family, path, rule)?;
        let built = self.interner.intern_value(built);
        let weak = Arc::downgrade(&path.attrs);
        self.slot_mut(target)?
            .out
            .cache
            .map
            .insert(key, (weak, built.clone()));
        Some(built)
    }

    /// RFC 4271 §5.1 and RFC 4456 §8: the attributes as sent to `target`.
    fn transform(
        &self,
        target: PeerId,
        family: Family,
        path: &Path,
        rule: Option<RuleRef>,
    ) -> Option<PathAttributes> {
        let t = self.slot(target)?;
        let sess = t.session.as_ref()?;
        let (source, source_id) = self.source(path)?;
        let mut a = (*path.attrs).clone();
        if t.info.ibgp {
            // RFC 4271 §5.1.5: LOCAL_PREF "SHALL be included in all UPDATE messages that a
            // given BGP speaker sends to other internal peers": the route's degree of
            // preference.
            a.local_pref = Some(self.preference(path));
            if source.internal() {
                // RFC 4456 §8: "ORIGINATOR_ID ... created by an RR in reflecting a route. This
                // attribute will carry the BGP Identifier of the originator of the route in
                // the local AS. A BGP speaker SHOULD NOT create an ORIGINATOR_ID attribute if
                // one already exists." and "When an RR reflects a route, it MUST prepend the
                // local CLUSTER_ID to the CLUSTER_LIST."
                a.originator_id.get_or_insert(source_id);
                a.cluster_list.insert(0, self.cfg.effective_cluster_id());
            }
        } else {
            // RFC 4271 §5.1.2 (b): to an external peer, "if the first path segment of the
            // AS_PATH is of type AS_SEQUENCE, the local system prepends its own AS number as the
            // last element of the sequence" (otherwise it starts a new AS_SEQUENCE).
            a.as_path = a.as_path.prepend(t.info.local_as);
            // §5.1.5: "A BGP speaker MUST NOT include this attribute in UPDATE messages it
            // sends to external peers".
            a.local_pref = None;
            // RFC 4456 §8: ORIGINATOR_ID and CLUSTER_LIST are optional non-transitive and only
            // meaningful inside the AS.
            a.originator_id = None;
            a.cluster_list.clear();
            // §5.1.4: "The MULTI_EXIT_DISC attribute received from a neighboring AS MUST NOT
            // be propagated to other neighboring ASes." Only a MED we set ourselves goes out.
            if source != Source::Local {
                a.med = None;
            }
        }
        if needs_self(t.info.next_hop, t.info.ibgp, source, &path.attrs, family) {
            set_next_hop(&mut a, family, sess)?;
        } else {
            keep_family_next_hop(&mut a, family);
        }
        if source != Source::Local {
            // RFC 4271 §5: "If an optional non-transitive attribute is unrecognized, it is
            // quietly ignored." and an unrecognized transitive one "MUST be passed, along with
            // the path, to other BGP peers with the Partial bit ... set to 1".
            a.unknown.retain(|u| u.flags & FLAG_TRANSITIVE != 0);
            for u in &mut a.unknown {
                u.flags |= FLAG_PARTIAL;
            }
        }
        if let Some(r) = rule {
            t.info.export.apply(r, family, &mut a);
        }
        Some(a)
    }
}

/// RFC 4271 §5.1.3: whether the route goes out with our own address as next hop. Auto: to
/// external peers always; to internal peers only for locally originated routes that do not
/// carry a next hop ("When sending a message to an internal peer, if the route is not locally
/// originated, the BGP speaker SHOULD NOT modify the NEXT_HOP attribute").
fn needs_self(
    mode: NextHopMode,
    ibgp: bool,
    source: Source,
    attrs: &PathAttributes,
    family: Family,
) -> bool {
    let has = attrs.next_hop_for(family).is_some();
    match mode {
        NextHopMode::SelfHop => true,
        NextHopMode::Keep => !has,
        NextHopMode::Auto if !ibgp => true,
        NextHopMode::Auto => source == Source::Local && !has,
    }
}

fn self_next_hop(sess: &Session, family: Family) -> Option<IpAddr> {
    match family {
        Family::Ipv4Unicast => sess.local_v4.map(IpAddr::V4),
        Family::Ipv6Unicast => sess.local_v6.map(IpAddr::V6),
    }
}

fn set_next_hop(a: &mut PathAttributes, family: Family, sess: &Session) -> Option<()> {
    match family {
        Family::Ipv4Unicast => {
            a.next_hop = Some(sess.local_v4?);
            a.mp_next_hop = None;
        }
        Family::Ipv6Unicast => {
            a.mp_next_hop = Some(MpNextHop {
                global: IpAddr::V6(sess.local_v6?),
                link_local: sess.local_v6_link_local,
            });
            a.next_hop = None;
        }
    }
    Some(())
}

/// Drops the other family's next hop, so that sets differing only there are shared.
fn keep_family_next_hop(a: &mut PathAttributes, family: Family) {
    match family {
        Family::Ipv4Unicast if a.next_hop.is_some() => a.mp_next_hop = None,
        Family::Ipv4Unicast => {}
        Family::Ipv6Unicast => a.next_hop = None,
    }
}
