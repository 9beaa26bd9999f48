//! The decision process (RFC 4271 §9.1.2, tie-breaks §9.1.2.2, route reflection RFC 4456 §9)
//! over plain per-path facts, and the multipath (ECMP) set.
//!
//! The RFC describes the tie-breaking as successive elimination over the set of candidate
//! routes, not as a pairwise comparison; that matters for MED, which is only comparable between
//! routes from the same neighbouring AS and is therefore not a total order. [`select`] follows
//! the elimination literally, so the outcome does not depend on the order paths arrived in
//! (RFC 4271 §9.1.2.2 note: the result must be deterministic). This is the behaviour other
//! implementations call "deterministic MED".
//!
//! Multipath rule (brindle's choice, FRR-like): the ECMP set is the routes that survive the
//! elimination up to and including step (d) (equal degree of preference, equal "locally
//! originated", equal AS_PATH length, equal ORIGIN, not beaten on MED within their neighbouring
//! AS, same eBGP/iBGP class) *and* whose neighbouring AS equals the best route's, ordered by
//! the remaining tie-breaks and cut at `max_paths`.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use super::peer::PeerId;
use crate::model::Origin;

/// What the decision process needs to know about one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// RFC 4271 §9.1.1 degree of preference (LOCAL_PREF for iBGP-learned routes, 100 for
    /// eBGP-learned ones).
    pub(crate) pref: u32,
    /// Locally originated.
    pub(crate) local: bool,
    /// AS_PATH length as counted by §9.1.2.2 (a).
    pub(crate) as_len: usize,
    /// ORIGIN.
    pub(crate) origin: Origin,
    /// MULTI_EXIT_DISC, 0 when absent (§9.1.2.2 (c)).
    pub(crate) med: u32,
    /// neighborAS() of §9.1.2.2 (c).
    pub(crate) neighbor_as: u32,
    /// Learned from an external peer.
    pub(crate) ebgp: bool,
    /// The BGP identifier of the advertiser, or the ORIGINATOR_ID (RFC 4456 §9).
    pub(crate) bgp_id: Ipv4Addr,
    /// CLUSTER_LIST length (RFC 4456 §9).
    pub(crate) cluster_len: usize,
    /// The peer's address (§9.1.2.2 (g)).
    pub(crate) peer_addr: IpAddr,
    /// Final tie-breaks, so that the order is total: peer handle, received path id.
    pub(crate) peer: PeerId,
    /// Received ADD-PATH identifier.
    pub(crate) path_id: u32,
}

/// The outcome for one prefix: indices into the candidate list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// The best route.
    pub(crate) best: Option<usize>,
    /// The ECMP set, best first (just the best when multipath is off).
    pub(crate) multipath: Vec<usize>,
}

/// Steps (f), the RFC 4456 §9 CLUSTER_LIST step, (g), then brindle's final total-order steps.
fn tie_break(a: &Candidate, b: &Candidate) -> Ordering {
    // RFC 4271 §9.1.2.2 (f): "Remove from consideration all routes other than the route that
    // was advertised by the BGP speaker with the lowest BGP Identifier value."
    // RFC 4456 §9: "If a route carries the ORIGINATOR_ID attribute, then in Step f) ... the
    // ORIGINATOR_ID SHOULD be treated as the BGP Identifier of the BGP speaker that has
    // advertised the route."
    a.bgp_id
        .cmp(&b.bgp_id)
        // RFC 4456 §9: "the following rule SHOULD be inserted between Steps f) and g): a BGP
        // Speaker SHOULD prefer a route with the shorter CLUSTER_LIST length."
        .then(a.cluster_len.cmp(&b.cluster_len))
        // (g): "Prefer the route received from the lowest peer address."
        .then(a.peer_addr.cmp(&b.peer_addr))
        .then(a.peer.cmp(&b.peer))
        .then(a.path_id.cmp(&b.path_id))
}

/// Keeps the members of `set` for which `key` is minimal.
fn keep_min<K: Ord>(set: &mut Vec<usize>, c: &[Candidate], key: impl Fn(&Candidate) -> K) {
    if let Some(min) = set.iter().map(|i| key(&c[*i])).min() {
        set.retain(|i| key(&c[*i]) == min);
    }
}

/// Runs the decision process over `c`.
pub(crate) fn select(c: &[Candidate], multipath: bool, max_paths: usize) -> Selection {
    let mut set: Vec<usize> = (0..c.len()).collect();
    // RFC 4271 §9.1.2.1/§9.1.2.2: "the route with the highest degree of preference".
    keep_min(&mut set, c, |x| std::cmp::Reverse(x.pref));
    // brindle: a locally originated route beats learned ones of the same preference.
    keep_min(&mut set, c, |x| !x.local);
    // (a) "Remove from consideration all routes that are not tied for having the smallest
    // number of AS numbers present in their AS_PATH attributes."
    keep_min(&mut set, c, |x| x.as_len);
    // (b) "Remove from consideration all routes that are not tied for having the lowest Origin
    // number in their Origin attribute."
    keep_min(&mut set, c, |x| x.origin);
    // (c) "Remove from consideration routes with less-preferred MULTI_EXIT_DISC attributes.
    // MULTI_EXIT_DISC is only comparable between routes learned from the same neighboring AS"
    let before = set.clone();
    set.retain(|i| {
        !before
            .iter()
            .any(|j| c[*j].neighbor_as == c[*i].neighbor_as && c[*j].med < c[*i].med)
    });
    // (d) "If at least one of the candidate routes was received via EBGP, remove from
    // consideration all routes that were received via IBGP."
    keep_min(&mut set, c, |x| !x.ebgp);
    // (e) IGP cost to the next hop: brindle assumes directly connected next hops; skipped.
    set.sort_by(|a, b| tie_break(&c[*a], &c[*b]));
    let Some(&best) = set.first() else {
        return Selection::default();
    };
    let multipath = if multipath && !c[best].local {
        set.iter()
            .copied()
            .filter(|i| c[*i].neighbor_as == c[best].neighbor_as && !c[*i].local)
            .take(max_paths.max(1))
            .collect()
    } else {
        vec![best]
    };
    Selection {
        best: Some(best),
        multipath,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(peer: u16) -> Candidate {
        Candidate {
            pref: 100,
            local: false,
            as_len: 2,
            origin: Origin::Igp,
            med: 0,
            neighbor_as: 65001,
            ebgp: true,
            bgp_id: Ipv4Addr::new(10, 0, 0, 9),
            cluster_len: 0,
            peer_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
            peer: PeerId(peer),
            path_id: 0,
        }
    }

    fn best_of(c: &[Candidate]) -> Option<usize> {
        select(c, false, 1).best
    }

    /// One row per step: `better` must win over `worse` although `worse` looks better on every
    /// later step (it has the lower router id, address, peer handle...).
    #[test]
    fn each_step_decides_a_pair() {
        type Tweak = fn(&mut Candidate);
        let rows: Vec<(&str, Tweak, Tweak)> = vec![
            ("local pref", |b| b.pref = 200, |_| {}),
            ("locally originated", |b| b.local = true, |_| {}),
            ("as path length", |_| {}, |w| w.as_len = 3),
            ("origin", |_| {}, |w| w.origin = Origin::Egp),
            (
                "origin incomplete",
                |b| b.origin = Origin::Egp,
                |w| w.origin = Origin::Incomplete,
            ),
            ("med same neighbour", |b| b.med = 5, |w| w.med = 10),
            ("ebgp over ibgp", |_| {}, |w| w.ebgp = false),
            (
                "router id",
                |_| {},
                |w| w.bgp_id = Ipv4Addr::new(10, 0, 0, 10),
            ),
            ("cluster list", |_| {}, |w| w.cluster_len = 1),
            (
                "peer address",
                |_| {},
                |w| w.peer_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            ),
        ];
        for (name, tweak_better, tweak_worse) in rows {
            let mut better = base(2);
            let mut worse = base(2);
            worse.peer = PeerId(1);
            worse.path_id = 0;
            better.path_id = 1;
            tweak_better(&mut better);
            tweak_worse(&mut worse);
            // Give `worse` every advantage on later steps where the row does not touch them.
            assert_eq!(best_of(&[worse.clone(), better.clone()]), Some(1), "{name}");
            assert_eq!(best_of(&[better, worse]), Some(0), "{name} (reversed)");
        }
    }

    #[test]
    fn med_ignored_across_neighbour_ases() {
        let mut a = base(1);
        a.med = 50;
        a.neighbor_as = 65001;
        let mut b = base(2);
        b.med = 10;
        b.neighbor_as = 65002;
        b.bgp_id = Ipv4Addr::new(10, 0, 0, 10);
        // Different neighbours: MED not compared, router id decides for `a`.
        assert_eq!(best_of(&[a.clone(), b.clone()]), Some(0));
        // Same neighbour: the lower MED wins.
        b.neighbor_as = 65001;
        assert_eq!(best_of(&[a, b]), Some(1));
    }

    #[test]
    fn med_elimination_is_order_independent() {
        // a(AS1, med 10) beats c(AS1, med 20); b(AS2) is not comparable with either.
        let mut a = base(1);
        a.med = 10;
        a.bgp_id = Ipv4Addr::new(10, 0, 0, 3);
        let mut b = base(2);
        b.neighbor_as = 65002;
        b.bgp_id = Ipv4Addr::new(10, 0, 0, 2);
        let mut c = base(3);
        c.med = 20;
        c.bgp_id = Ipv4Addr::new(10, 0, 0, 1);
        let all = [a, b, c];
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for perm in perms {
            let v: Vec<Candidate> = perm.iter().map(|i| all[*i].clone()).collect();
            let best = best_of(&v).map(|i| perm[i]);
            assert_eq!(
                best,
                Some(1),
                "b wins once c is eliminated by a; order {perm:?}"
            );
        }
    }

    #[test]
    fn ecmp_set() {
        let a = base(1);
        let mut b = base(2);
        b.bgp_id = Ipv4Addr::new(10, 0, 0, 1);
        let mut c = base(3);
        c.as_len = 3;
        let mut d = base(4);
        d.neighbor_as = 65009;
        let mut e = base(5);
        e.bgp_id = Ipv4Addr::new(10, 0, 0, 20);
        let s = select(&[a, b, c, d, e], true, 8);
        assert_eq!(s.best, Some(1));
        assert_eq!(
            s.multipath,
            vec![1, 0, 4],
            "longer path and other AS excluded"
        );
        let s = select(&[base(1), base(2), base(3)], true, 2);
        assert_eq!(s.multipath.len(), 2);
        let s = select(&[base(1), base(2)], false, 8);
        assert_eq!(s.multipath, vec![0]);
        assert_eq!(select(&[], true, 8), Selection::default());
    }
}
