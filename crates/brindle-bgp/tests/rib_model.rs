//! Property test: random sequences of updates, originations, session flaps, graceful-restart
//! and refresh events from several kinds of peers, with outbound queues drained at random
//! moments. After every step the RIB must agree with a brute-force model that keeps plain
//! Adj-RIBs-In and recomputes everything from scratch:
//!
//! - the best path and the kernel next hops (ECMP) of every prefix;
//! - the routes held per peer (the max-prefix count);
//! - after draining every queue, what each peer has been told (replaying `take_outbound`)
//!   equals what the export rules say it should hold, attributes included.

mod rib_common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use brindle_bgp::model::{AsPath, Community, Family, Nlri, Origin, PathAttributes, Prefix, Update};
use brindle_bgp::policy::{Action, Filter, MatchOperator, Policy, Rule};
use brindle_bgp::rib::{KernelChange, LocalConfig, PeerId, PeerInfo, Rib, SessionInfo};
use proptest::prelude::*;
use rib_common::{LOCAL_AS, ROUTER_ID, SELF_V4, Told};

const CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
const PREFIXES: [&str; 6] = [
    "10.0.0.0/24",
    "10.0.1.0/24",
    "10.0.2.0/24",
    "10.0.3.0/24",
    "10.0.4.0/24",
    "10.1.0.0/16",
];

/// The peers: (kind, ADD-PATH send toward it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ebgp(u32),
    Client,
    NonClient,
}

const PEERS: [(Kind, bool); 6] = [
    (Kind::Ebgp(65001), false),
    (Kind::Ebgp(65002), false),
    (Kind::Client, false),
    (Kind::Client, true),
    (Kind::NonClient, false),
    (Kind::NonClient, true),
];

fn rid(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 2 + i as u8)
}

fn addr(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2 + i as u8))
}

fn prefix(i: usize) -> Prefix {
    PREFIXES[i].parse().expect("prefix")
}

/// A policy rejecting exactly one prefix (peer 1 rejects prefix 4 on import; peer 0 rejects
/// prefix 3 on export).
fn filter(action_prefix: usize) -> Policy {
    Policy::new(vec![Arc::new(Filter {
        name: "f".into(),
        v4: vec![Rule::new(
            prefix(action_prefix),
            MatchOperator::Equal,
            Action::Reject,
        )],
        v6: vec![],
    })])
}

#[derive(Clone, Debug)]
struct AttrSpec {
    path: u8,
    local_pref: Option<u32>,
    med: Option<u32>,
    origin: u8,
    next_hop: u8,
    originator: u8,
    cluster: u8,
    community: u8,
}

impl AttrSpec {
    fn build(&self) -> PathAttributes {
        let paths: [&[u32]; 5] = [&[], &[65001], &[65001, 65005], &[65002], &[65003, LOCAL_AS]];
        PathAttributes {
            origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(self.origin % 3)],
            as_path: AsPath::sequence(paths[usize::from(self.path % 5)].to_vec()),
            next_hop: match self.next_hop % 4 {
                0 => None,
                n => Some(Ipv4Addr::new(192, 0, 2, 100 + n)),
            },
            med: self.med,
            local_pref: self.local_pref,
            originator_id: match self.originator % 6 {
                0 => Some(ROUTER_ID),
                1 => Some(Ipv4Addr::new(10, 0, 0, 77)),
                2 => Some(rid(3)),
                _ => None,
            },
            cluster_list: match self.cluster % 6 {
                0 => vec![CLUSTER],
                1 => vec![Ipv4Addr::new(10, 9, 9, 9)],
                _ => vec![],
            },
            communities: match self.community % 8 {
                0 => vec![Community::NO_EXPORT],
                1 => vec![Community::NO_ADVERTISE],
                2 => vec![Community(0xfde8_0002)],
                _ => vec![],
            },
            ..PathAttributes::default()
        }
    }
}

fn attr_spec() -> impl Strategy<Value = AttrSpec> {
    (
        any::<u8>(),
        prop::option::of(prop::sample::select(vec![50u32, 100, 200])),
        prop::option::of(prop::sample::select(vec![0u32, 10])),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(
            |(path, local_pref, med, origin, next_hop, originator, cluster, community)| AttrSpec {
                path,
                local_pref,
                med,
                origin,
                next_hop,
                originator,
                cluster,
                community,
            },
        )
}

#[derive(Clone, Debug)]
enum Op {
    Announce(usize, Vec<(usize, u32)>, AttrSpec),
    Withdraw(usize, Vec<(usize, u32)>),
    Originate(usize, AttrSpec),
    WithdrawLocal(usize),
    Down(usize, bool),
    Up(usize),
    EndOfRib(usize),
    Flush(usize),
    BeginRefresh(usize),
    EndRefresh(usize),
    RefreshOut(usize),
    Take(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0..PEERS.len();
    let nlri = prop::collection::vec((0..PREFIXES.len(), 0u32..2), 1..4);
    prop_oneof![
        6 => (peer.clone(), nlri.clone(), attr_spec()).prop_map(|(p, n, a)| Op::Announce(p, n, a)),
        3 => (peer.clone(), nlri).prop_map(|(p, n)| Op::Withdraw(p, n)),
        2 => (0..PREFIXES.len(), attr_spec()).prop_map(|(i, a)| Op::Originate(i, a)),
        1 => (0..PREFIXES.len()).prop_map(Op::WithdrawLocal),
        1 => (peer.clone(), any::<bool>()).prop_map(|(p, r)| Op::Down(p, r)),
        2 => peer.clone().prop_map(Op::Up),
        1 => peer.clone().prop_map(Op::EndOfRib),
        1 => peer.clone().prop_map(Op::Flush),
        1 => peer.clone().prop_map(Op::BeginRefresh),
        1 => peer.clone().prop_map(Op::EndRefresh),
        1 => peer.clone().prop_map(Op::RefreshOut),
        4 => (peer, 1usize..4).prop_map(|(p, m)| Op::Take(p, m)),
    ]
}

/// A path in the model.
#[derive(Clone, Debug)]
struct MPath {
    /// Source peer index; `None` for local.
    from: Option<usize>,
    path_id: u32,
    attrs: PathAttributes,
    stale: bool,
}

#[derive(Default)]
struct Model {
    up: [bool; PEERS.len()],
    /// (prefix index, source, path id) → path.
    paths: BTreeMap<(usize, Option<usize>, u32), MPath>,
    told: Vec<Told>,
    kernel: BTreeMap<Prefix, Vec<IpAddr>>,
}

fn ibgp(i: usize) -> bool {
    !matches!(PEERS[i].0, Kind::Ebgp(_))
}

fn pref(m: &MPath) -> u32 {
    match m.from {
        Some(i) if !ibgp(i) => 100,
        _ => m.attrs.local_pref.unwrap_or(100),
    }
}

/// Brute-force decision: returns (best, ECMP set) as indices into `c`.
fn decide(c: &[&MPath]) -> Option<(usize, Vec<usize>)> {
    let neighbor = |m: &MPath| {
        m.attrs.as_path.first_as().unwrap_or(match m.from {
            Some(i) => match PEERS[i].0 {
                Kind::Ebgp(a) => a,
                _ => LOCAL_AS,
            },
            None => LOCAL_AS,
        })
    };
    let mut s: Vec<usize> = (0..c.len()).collect();
    let max_pref = s.iter().map(|i| pref(c[*i])).max()?;
    s.retain(|i| pref(c[*i]) == max_pref);
    if s.iter().any(|i| c[*i].from.is_none()) {
        s.retain(|i| c[*i].from.is_none());
    }
    let min_len = s.iter().map(|i| c[*i].attrs.as_path.decision_len()).min()?;
    s.retain(|i| c[*i].attrs.as_path.decision_len() == min_len);
    let min_origin = s.iter().map(|i| c[*i].attrs.origin).min()?;
    s.retain(|i| c[*i].attrs.origin == min_origin);
    let snapshot = s.clone();
    s.retain(|i| {
        let med = c[*i].attrs.med.unwrap_or(0);
        !snapshot
            .iter()
            .any(|j| neighbor(c[*j]) == neighbor(c[*i]) && c[*j].attrs.med.unwrap_or(0) < med)
    });
    if s.iter().any(|i| c[*i].from.is_some_and(|f| !ibgp(f))) {
        s.retain(|i| c[*i].from.is_some_and(|f| !ibgp(f)));
    }
    let key = |i: &usize| {
        let m = c[*i];
        let (id, a) = match m.from {
            Some(f) => (rid(f), addr(f)),
            None => (ROUTER_ID, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        };
        (
            m.attrs.originator_id.unwrap_or(id),
            m.attrs.cluster_list.len(),
            a,
            m.from.map_or(u16::MAX, |f| f as u16),
            m.path_id,
        )
    };
    s.sort_by_key(key);
    let best = *s.first()?;
    let ecmp = if c[best].from.is_none() {
        vec![best]
    } else {
        s.iter()
            .copied()
            .filter(|i| c[*i].from.is_some() && neighbor(c[*i]) == neighbor(c[best]))
            .take(16)
            .collect()
    };
    Some((best, ecmp))
}

impl Model {
    fn candidates(&self, p: usize) -> Vec<&MPath> {
        self.paths
            .range((p, None, 0)..=(p, Some(usize::MAX), u32::MAX))
            .map(|(_, m)| m)
            .collect()
    }

    fn accepts(&self, peer: usize, p: usize, a: &PathAttributes) -> bool {
        a.as_path.count(LOCAL_AS) == 0
            && a.originator_id != Some(ROUTER_ID)
            && !a.cluster_list.contains(&CLUSTER)
            && a.next_hop.is_some()
            && !(peer == 1 && p == 4)
    }

    /// The attributes `target` should hold for `m` (to prefix `p`), if any.
    fn export(&self, m: &MPath, target: usize, p: usize) -> Option<PathAttributes> {
        if m.from == Some(target) {
            return None;
        }
        let a = &m.attrs;
        if a.communities.contains(&Community::NO_ADVERTISE) {
            return None;
        }
        let t_ibgp = ibgp(target);
        if !t_ibgp && a.communities.contains(&Community::NO_EXPORT) {
            return None;
        }
        let src_ibgp = m.from.is_some_and(ibgp);
        if t_ibgp && src_ibgp {
            let from = m.from?;
            if PEERS[from].0 == Kind::NonClient && PEERS[target].0 != Kind::Client {
                return None;
            }
            if a.originator_id.unwrap_or(rid(from)) == rid(target) {
                return None;
            }
        }
        if target == 0 && p == 3 {
            return None;
        }
        let mut x = a.clone();
        if t_ibgp {
            x.local_pref = Some(pref(m));
            if let Some(from) = m.from.filter(|f| ibgp(*f)) {
                x.originator_id.get_or_insert(rid(from));
                x.cluster_list.insert(0, CLUSTER);
            }
            if m.from.is_none() && x.next_hop.is_none() {
                x.next_hop = Some(SELF_V4);
            }
        } else {
            x.as_path = x.as_path.prepend(LOCAL_AS);
            x.local_pref = None;
            x.originator_id = None;
            x.cluster_list.clear();
            if m.from.is_some() {
                x.med = None;
            }
            x.next_hop = Some(SELF_V4);
        }
        Some(x)
    }

    /// What `target` should hold: per prefix, the sorted list of attribute sets.
    fn expected(&self, target: usize) -> BTreeMap<Prefix, Vec<PathAttributes>> {
        let mut out = BTreeMap::new();
        for p in 0..PREFIXES.len() {
            let c = self.candidates(p);
            let chosen: Vec<&MPath> = if PEERS[target].1 {
                c.clone()
            } else {
                decide(&c).map(|(b, _)| c[b]).into_iter().collect()
            };
            let mut v: Vec<PathAttributes> = chosen
                .iter()
                .filter_map(|m| self.export(m, target, p))
                .collect();
            if !v.is_empty() {
                v.sort();
                out.insert(prefix(p), v);
            }
        }
        out
    }

    fn expected_kernel(&self) -> BTreeMap<Prefix, Vec<IpAddr>> {
        let mut out = BTreeMap::new();
        for p in 0..PREFIXES.len() {
            let c = self.candidates(p);
            let Some((best, ecmp)) = decide(&c) else {
                continue;
            };
            if c[best].from.is_none() {
                continue;
            }
            let mut hops: Vec<IpAddr> = ecmp
                .iter()
                .filter_map(|i| c[*i].attrs.next_hop.map(IpAddr::V4))
                .collect();
            hops.sort();
            hops.dedup();
            out.insert(prefix(p), hops);
        }
        out
    }

    fn apply_kernel(&mut self, changes: &[KernelChange]) {
        for k in changes {
            if k.next_hops.is_empty() {
                self.kernel.remove(&k.prefix);
            } else {
                self.kernel.insert(k.prefix, k.next_hops.clone());
            }
        }
    }

    fn remove_where(&mut self, f: impl Fn(&MPath) -> bool) {
        self.paths.retain(|_, m| !f(m));
    }
}

fn told_view(t: &Told) -> BTreeMap<Prefix, Vec<PathAttributes>> {
    let mut out: BTreeMap<Prefix, Vec<PathAttributes>> = BTreeMap::new();
    for ((p, _), a) in &t.routes {
        out.entry(*p).or_default().push((**a).clone());
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn session(i: usize) -> SessionInfo {
    let mut s = SessionInfo::new(rid(i), IpAddr::V4(SELF_V4));
    s.families = vec![Family::Ipv4Unicast];
    if PEERS[i].1 {
        s.add_path_send = vec![Family::Ipv4Unicast];
    }
    s
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut cfg = LocalConfig::new(LOCAL_AS, ROUTER_ID);
    cfg.cluster_id = Some(CLUSTER);
    let mut rib = Rib::new(cfg);
    let mut ids: Vec<PeerId> = Vec::new();
    for (i, (kind, _)) in PEERS.iter().enumerate() {
        let remote = match kind {
            Kind::Ebgp(a) => *a,
            _ => LOCAL_AS,
        };
        let mut info = PeerInfo::new(addr(i), LOCAL_AS, remote);
        info.rr_client = *kind == Kind::Client;
        if i == 1 {
            info.import = filter(4);
        }
        if i == 0 {
            info.export = filter(3);
        }
        ids.push(rib.add_peer(info));
    }
    let mut m = Model {
        told: vec![Told::default(); PEERS.len()],
        ..Model::default()
    };
    for op in ops {
        let changes = match &op {
            Op::Announce(i, nlri, spec) => {
                let a = spec.build();
                if m.up[*i] {
                    for (p, id) in nlri {
                        let key = (*p, Some(*i), *id);
                        if m.accepts(*i, *p, &a) {
                            m.paths.insert(
                                key,
                                MPath {
                                    from: Some(*i),
                                    path_id: *id,
                                    attrs: a.clone(),
                                    stale: false,
                                },
                            );
                        } else {
                            m.paths.remove(&key);
                        }
                    }
                }
                let announced = nlri
                    .iter()
                    .map(|(p, id)| {
                        (
                            Family::Ipv4Unicast,
                            Nlri {
                                prefix: prefix(*p),
                                path_id: *id,
                            },
                        )
                    })
                    .collect();
                rib.apply_update(
                    ids[*i],
                    &Update {
                        attrs: Some(Arc::new(a)),
                        announced,
                        ..Update::default()
                    },
                )
            }
            Op::Withdraw(i, nlri) => {
                if m.up[*i] {
                    for (p, id) in nlri {
                        m.paths.remove(&(*p, Some(*i), *id));
                    }
                }
                let withdrawn = nlri
                    .iter()
                    .map(|(p, id)| {
                        (
                            Family::Ipv4Unicast,
                            Nlri {
                                prefix: prefix(*p),
                                path_id: *id,
                            },
                        )
                    })
                    .collect();
                rib.apply_update(
                    ids[*i],
                    &Update {
                        withdrawn,
                        ..Update::default()
                    },
                )
            }
            Op::Originate(p, spec) => {
                let a = spec.build();
                m.paths.insert(
                    (*p, None, 0),
                    MPath {
                        from: None,
                        path_id: 0,
                        attrs: a.clone(),
                        stale: false,
                    },
                );
                rib.originate(prefix(*p), a)
            }
            Op::WithdrawLocal(p) => {
                m.paths.remove(&(*p, None, 0));
                rib.withdraw_local(prefix(*p))
            }
            Op::Down(i, retain) => {
                let i = *i;
                if *retain {
                    // RFC 4724 §4.2: routes still stale from an earlier restart go.
                    m.remove_where(|x| x.from == Some(i) && x.stale);
                    for x in m.paths.values_mut().filter(|x| x.from == Some(i)) {
                        x.stale = true;
                    }
                } else {
                    m.remove_where(|x| x.from == Some(i));
                }
                m.up[i] = false;
                m.told[i] = Told::default();
                rib.peer_down(ids[i], *retain)
            }
            Op::Up(i) => {
                if m.up[*i] {
                    // Documented: a second peer_up first drops the old session, not retaining.
                    m.remove_where(|x| x.from == Some(*i));
                }
                m.up[*i] = true;
                m.told[*i] = Told::default();
                rib.peer_up(ids[*i], session(*i))
            }
            Op::EndOfRib(i) => {
                let i = *i;
                if m.up[i] {
                    m.remove_where(|x| x.from == Some(i) && x.stale);
                }
                rib.apply_update(ids[i], &Update::end_of_rib(Family::Ipv4Unicast))
            }
            Op::Flush(i) | Op::EndRefresh(i) => {
                let i = *i;
                m.remove_where(|x| x.from == Some(i) && x.stale);
                if matches!(op, Op::Flush(_)) {
                    rib.flush_stale(ids[i])
                } else {
                    rib.end_route_refresh(ids[i], Family::Ipv4Unicast)
                }
            }
            Op::BeginRefresh(i) => {
                if m.up[*i] {
                    for x in m.paths.values_mut().filter(|x| x.from == Some(*i)) {
                        x.stale = true;
                    }
                }
                rib.begin_route_refresh(ids[*i], Family::Ipv4Unicast)
            }
            Op::RefreshOut(i) => rib.refresh_out(ids[*i], Family::Ipv4Unicast),
            Op::Take(i, max) => {
                let o = rib.take_outbound(ids[*i], *max);
                if o.is_empty() {
                    prop_assert!(!rib.has_outbound(ids[*i]), "an empty batch means done");
                }
                m.told[*i].apply(&o);
                Default::default()
            }
        };
        m.apply_kernel(&changes.kernel);

        // Best path and kernel state, after every step.
        for p in 0..PREFIXES.len() {
            let c = m.candidates(p);
            let want = decide(&c).map(|(b, _)| (c[b].from.map(|f| ids[f]), c[b].path_id));
            let got = rib
                .best(&prefix(p))
                .map(|b| ((!b.from.is_local()).then_some(b.from), b.path_id));
            prop_assert_eq!(got, want, "best of {} after {:?}", prefix(p), op);
            let n = rib.route(&prefix(p)).map_or(0, |r| r.paths.len());
            prop_assert_eq!(n, c.len(), "paths of {}", prefix(p));
        }
        prop_assert_eq!(&m.kernel, &m.expected_kernel(), "kernel after {:?}", op);
        for (i, id) in ids.iter().enumerate() {
            let held = m.paths.values().filter(|x| x.from == Some(i)).count();
            prop_assert_eq!(rib.received_count(*id) as usize, held);
        }
    }

    // Drain every queue: each peer holds exactly what the export rules say.
    for (i, id) in ids.iter().enumerate() {
        for _ in 0..1000 {
            if !rib.has_outbound(*id) {
                break;
            }
            let o = rib.take_outbound(*id, 2);
            m.told[i].apply(&o);
        }
        prop_assert!(!rib.has_outbound(*id));
        if m.up[i] {
            prop_assert_eq!(told_view(&m.told[i]), m.expected(i), "peer {}", i);
            prop_assert_eq!(&m.told[i].eor, &vec![Family::Ipv4Unicast]);
            let out: BTreeMap<Prefix, Vec<PathAttributes>> = {
                let mut t = Told::default();
                for (n, a) in rib.adj_rib_out(*id, Family::Ipv4Unicast) {
                    t.routes.insert((n.prefix, n.path_id), a);
                }
                told_view(&t)
            };
            prop_assert_eq!(out, m.expected(i), "adj_rib_out of peer {}", i);
        }
    }
    Ok(())
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=20000 for a longer search.
    #[test]
    fn rib_matches_a_brute_force_model(ops in prop::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}
