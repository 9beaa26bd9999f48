//! Who is sent what, and how the attributes change on the way out: iBGP split horizon, route
//! reflection, eBGP transformations, communities, loop checks, next-hop modes, export policy.

mod rib_common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use brindle_bgp::model::{AsPath, Community, LargeCommunity, PathAttributes, RawAttribute};
use brindle_bgp::policy::{Action, Filter, MatchOperator, Policy, Rule};
use brindle_bgp::rib::{LocalConfig, NextHopMode, PeerId, PeerInfo, Rib, SessionInfo};
use rib_common::*;

const PFX: &str = "10.1.0.0/16";

#[test]
fn ibgp_split_horizon() {
    let mut r = rib();
    let i1 = peer(&mut r, 2, Kind::Ibgp);
    let i2 = peer(&mut r, 3, Kind::Ibgp);
    let e = peer(&mut r, 4, Kind::Ebgp(65001));
    announce(&mut r, i1, &[PFX], attrs(&[], "192.0.2.2"));
    announce(&mut r, e, &["10.2.0.0/16"], attrs(&[65001], "192.0.2.4"));
    let t_i1 = told(&mut r, i1);
    let t_i2 = told(&mut r, i2);
    let t_e = told(&mut r, e);
    assert!(!t_i1.has(PFX), "never back to the sender");
    assert!(!t_i2.has(PFX), "iBGP-learned not to iBGP");
    assert!(t_e.has(PFX));
    assert!(t_i1.has("10.2.0.0/16") && t_i2.has("10.2.0.0/16"));
    assert!(!t_e.has("10.2.0.0/16"));
}

/// Sends one route from each of `senders` and returns, per sender, which receivers got it.
fn matrix(cluster: Option<Ipv4Addr>) -> BTreeMap<(&'static str, &'static str), bool> {
    let mut cfg = LocalConfig::new(LOCAL_AS, ROUTER_ID);
    cfg.cluster_id = cluster;
    let mut r = Rib::new(cfg);
    let peers: Vec<(&str, PeerId)> = vec![
        ("c1", peer(&mut r, 2, Kind::Client)),
        ("c2", peer(&mut r, 3, Kind::Client)),
        ("n1", peer(&mut r, 4, Kind::Ibgp)),
        ("n2", peer(&mut r, 5, Kind::Ibgp)),
        ("e", peer(&mut r, 6, Kind::Ebgp(65001))),
    ];
    let prefixes = [
        ("c1", "10.0.2.0/24"),
        ("n1", "10.0.4.0/24"),
        ("e", "10.0.6.0/24"),
        ("local", "10.0.9.0/24"),
    ];
    for (who, pfx) in prefixes {
        match peers.iter().find(|(n, _)| *n == who) {
            Some((_, id)) => {
                let path: &[u32] = if who == "e" { &[65001] } else { &[] };
                announce(&mut r, *id, &[pfx], attrs(path, "192.0.2.99"));
            }
            None => {
                r.originate(p(pfx), PathAttributes::default());
            }
        }
    }
    let mut m = BTreeMap::new();
    for (name, id) in &peers {
        let t = told(&mut r, *id);
        for (who, pfx) in prefixes {
            m.insert((who, *name), t.has(pfx));
        }
    }
    m
}

#[test]
fn route_reflection_matrix() {
    let m = matrix(Some(v4("10.255.0.1")));
    let expect = [
        // RFC 4456 §6: from a client → other clients and non-clients (and eBGP).
        (("c1", "c1"), false),
        (("c1", "c2"), true),
        (("c1", "n1"), true),
        (("c1", "n2"), true),
        (("c1", "e"), true),
        // From a non-client → clients only (and eBGP).
        (("n1", "c1"), true),
        (("n1", "c2"), true),
        (("n1", "n1"), false),
        (("n1", "n2"), false),
        (("n1", "e"), true),
        // From eBGP and local → everyone but the source.
        (("e", "c1"), true),
        (("e", "c2"), true),
        (("e", "n1"), true),
        (("e", "n2"), true),
        (("e", "e"), false),
        (("local", "c1"), true),
        (("local", "n1"), true),
        (("local", "e"), true),
    ];
    for (k, v) in expect {
        assert_eq!(m.get(&k), Some(&v), "{k:?}");
    }
    // Without a configured cluster id the router id serves; the matrix is the same.
    assert_eq!(matrix(None), m);
}

#[test]
fn reflection_sets_originator_and_cluster_list() {
    let mut cfg = LocalConfig::new(LOCAL_AS, ROUTER_ID);
    cfg.cluster_id = Some(v4("10.255.0.1"));
    let mut r = Rib::new(cfg);
    let c1 = peer(&mut r, 2, Kind::Client);
    let n1 = peer(&mut r, 4, Kind::Ibgp);
    let e = peer(&mut r, 6, Kind::Ebgp(65001));
    announce(&mut r, c1, &[PFX], attrs(&[], "192.0.2.2"));
    let mut already = attrs(&[], "192.0.2.2");
    already.originator_id = Some(v4("10.0.0.77"));
    already.cluster_list = vec![v4("10.255.0.9")];
    announce(&mut r, c1, &["10.3.0.0/16"], already);

    let t = told(&mut r, n1);
    let a = t.get(PFX).expect("reflected to the non-client");
    assert_eq!(
        a.originator_id,
        Some(v4("10.0.0.2")),
        "the client's router id"
    );
    assert_eq!(a.cluster_list, vec![v4("10.255.0.1")]);
    assert_eq!(
        a.next_hop,
        Some(v4("192.0.2.2")),
        "iBGP: next hop unchanged"
    );
    let a = t.get("10.3.0.0/16").expect("reflected");
    assert_eq!(a.originator_id, Some(v4("10.0.0.77")), "kept when present");
    assert_eq!(a.cluster_list, vec![v4("10.255.0.1"), v4("10.255.0.9")]);

    let a = told(&mut r, e);
    let a = a.get(PFX).expect("to eBGP");
    assert_eq!(a.originator_id, None);
    assert!(a.cluster_list.is_empty());
}

#[test]
fn not_reflected_to_the_originator() {
    let mut r = rib();
    let c1 = peer(&mut r, 2, Kind::Client);
    let c2 = peer(&mut r, 3, Kind::Client);
    let mut a = attrs(&[], "192.0.2.3");
    a.originator_id = Some(v4("10.0.0.3")); // c2's router id
    announce(&mut r, c1, &[PFX], a);
    assert!(!told(&mut r, c2).has(PFX));
}

#[test]
fn reflection_loops_are_ignored() {
    let mut cfg = LocalConfig::new(LOCAL_AS, ROUTER_ID);
    cfg.cluster_id = Some(v4("10.255.0.1"));
    let mut r = Rib::new(cfg);
    let n1 = peer(&mut r, 4, Kind::Ibgp);
    let mut mine = attrs(&[], "192.0.2.4");
    mine.originator_id = Some(ROUTER_ID);
    announce(&mut r, n1, &["10.5.0.0/16"], mine);
    let mut looped = attrs(&[], "192.0.2.4");
    looped.cluster_list = vec![v4("10.9.9.9"), v4("10.255.0.1")];
    announce(&mut r, n1, &["10.6.0.0/16"], looped);
    assert!(r.route(&p("10.5.0.0/16")).is_none(), "our ORIGINATOR_ID");
    assert!(r.route(&p("10.6.0.0/16")).is_none(), "our CLUSTER_ID");
    assert_eq!(r.received_count(n1), 0);
}

#[test]
fn ebgp_export_transformations() {
    let mut r = rib();
    let i1 = peer(&mut r, 2, Kind::Ibgp);
    let e1 = peer(&mut r, 3, Kind::Ebgp(65001));
    let e2 = peer(&mut r, 4, Kind::Ebgp(65002));
    let mut from_ibgp = attrs(&[65010], "192.0.2.2");
    from_ibgp.local_pref = Some(200);
    from_ibgp.med = Some(7);
    announce(&mut r, i1, &["10.1.0.0/16"], from_ibgp);
    let mut from_e1 = attrs(&[65001], "192.0.2.3");
    from_e1.med = Some(9);
    from_e1.local_pref = Some(10);
    announce(&mut r, e1, &["10.2.0.0/16"], from_e1);
    let own = PathAttributes {
        med: Some(3),
        ..PathAttributes::default()
    };
    r.originate(p("10.3.0.0/16"), own);

    let t = told(&mut r, e2);
    let a = t.get("10.1.0.0/16").expect("iBGP route to eBGP");
    assert_eq!(
        a.as_path,
        AsPath::sequence(vec![LOCAL_AS, 65010]),
        "prepended"
    );
    assert_eq!(a.next_hop, Some(SELF_V4), "next hop self");
    assert_eq!(a.local_pref, None, "LOCAL_PREF stripped");
    assert_eq!(a.med, None, "MED not passed on");
    let a = t.get("10.2.0.0/16").expect("eBGP route to another AS");
    assert_eq!(a.as_path, AsPath::sequence(vec![LOCAL_AS, 65001]));
    assert_eq!(a.med, None, "MED from AS 65001 not sent to AS 65002");
    assert_eq!(a.local_pref, None);
    let a = t.get("10.3.0.0/16").expect("local route");
    assert_eq!(a.med, Some(3), "our own MED goes out");
    assert_eq!(a.as_path, AsPath::sequence(vec![LOCAL_AS]));
    assert_eq!(a.next_hop, Some(SELF_V4));

    let t = told(&mut r, i1);
    let a = t.get("10.2.0.0/16").expect("eBGP route to iBGP");
    assert_eq!(
        a.local_pref,
        Some(100),
        "received eBGP LOCAL_PREF replaced by ours"
    );
    assert_eq!(a.med, Some(9), "MED kept inside the AS");
    assert_eq!(
        a.next_hop,
        Some(v4("192.0.2.3")),
        "iBGP: next hop unchanged"
    );
    assert_eq!(a.as_path, AsPath::sequence(vec![65001]));
    let a = t.get("10.3.0.0/16").expect("local route to iBGP");
    assert_eq!(a.next_hop, Some(SELF_V4), "locally originated: self");
    assert_eq!(a.local_pref, Some(100));
}

fn custom_peer(r: &mut Rib, n: u8, remote_as: u32, f: impl FnOnce(&mut PeerInfo)) -> PeerId {
    let mut info = PeerInfo::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), LOCAL_AS, remote_as);
    f(&mut info);
    let id = r.add_peer(info);
    up(r, id, n, false);
    id
}

#[test]
fn next_hop_modes() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let keep_e = custom_peer(&mut r, 3, 65003, |i| i.next_hop = NextHopMode::Keep);
    let self_i = custom_peer(&mut r, 4, LOCAL_AS, |i| i.next_hop = NextHopMode::SelfHop);
    announce(&mut r, src, &[PFX], attrs(&[65001], "192.0.2.2"));
    let with_nh = PathAttributes {
        next_hop: Some(v4("192.0.2.50")),
        ..PathAttributes::default()
    };
    r.originate(p("10.9.0.0/16"), with_nh);
    let t = told(&mut r, keep_e);
    assert_eq!(t.get(PFX).and_then(|a| a.next_hop), Some(v4("192.0.2.2")));
    assert_eq!(
        t.get("10.9.0.0/16").and_then(|a| a.next_hop),
        Some(v4("192.0.2.50"))
    );
    let t = told(&mut r, self_i);
    assert_eq!(t.get(PFX).and_then(|a| a.next_hop), Some(SELF_V4));
}

#[test]
fn no_export_and_no_advertise() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Client);
    let c2 = peer(&mut r, 3, Kind::Client);
    let e = peer(&mut r, 4, Kind::Ebgp(65001));
    let mut ne = attrs(&[], "192.0.2.2");
    ne.communities = vec![Community::NO_EXPORT];
    announce(&mut r, src, &["10.1.0.0/16"], ne);
    let mut na = attrs(&[], "192.0.2.2");
    na.communities = vec![Community(0xfde8_0001), Community::NO_ADVERTISE];
    announce(&mut r, src, &["10.2.0.0/16"], na);
    let mut sub = attrs(&[], "192.0.2.2");
    sub.communities = vec![Community::NO_EXPORT_SUBCONFED];
    announce(&mut r, src, &["10.3.0.0/16"], sub);
    let t = told(&mut r, c2);
    assert!(
        t.has("10.1.0.0/16") && t.has("10.3.0.0/16"),
        "inside the AS"
    );
    assert!(!t.has("10.2.0.0/16"), "NO_ADVERTISE: nobody");
    let t = told(&mut r, e);
    assert!(t.routes.is_empty(), "none of them leave the AS: {t:?}");
    assert_eq!(r.prefix_count(brindle_bgp::model::Family::Ipv4Unicast), 3);
}

#[test]
fn as_loop_with_allowed_occurrences() {
    let mut r = rib();
    let strict = peer(&mut r, 2, Kind::Ebgp(65001));
    let lenient = custom_peer(&mut r, 3, 65002, |i| i.allow_local_as = 1);
    announce(
        &mut r,
        strict,
        &["10.1.0.0/16"],
        attrs(&[65001, LOCAL_AS], "192.0.2.2"),
    );
    announce(
        &mut r,
        lenient,
        &["10.2.0.0/16"],
        attrs(&[65002, LOCAL_AS], "192.0.2.3"),
    );
    announce(
        &mut r,
        lenient,
        &["10.3.0.0/16"],
        attrs(&[65002, LOCAL_AS, 65005, LOCAL_AS], "192.0.2.3"),
    );
    assert!(r.route(&p("10.1.0.0/16")).is_none());
    assert!(
        r.route(&p("10.2.0.0/16")).is_some(),
        "one occurrence allowed"
    );
    assert!(r.route(&p("10.3.0.0/16")).is_none(), "two are too many");
    // A looped re-announcement replaces (withdraws) the earlier good route.
    announce(
        &mut r,
        lenient,
        &["10.2.0.0/16"],
        attrs(&[LOCAL_AS, LOCAL_AS], "192.0.2.3"),
    );
    assert!(r.route(&p("10.2.0.0/16")).is_none());
}

#[test]
fn next_hop_required() {
    let mut r = rib();
    let e = peer(&mut r, 2, Kind::Ebgp(65001));
    let mut a = attrs(&[65001], "192.0.2.2");
    a.next_hop = None;
    announce(&mut r, e, &[PFX], a);
    assert!(r.route(&p(PFX)).is_none());
}

#[test]
fn unknown_attributes_on_the_way_out() {
    let mut r = rib();
    let e1 = peer(&mut r, 2, Kind::Ebgp(65001));
    let e2 = peer(&mut r, 3, Kind::Ebgp(65002));
    let mut a = attrs(&[65001], "192.0.2.2");
    a.unknown = vec![
        RawAttribute {
            flags: 0xc0,
            code: 99,
            value: vec![1],
        },
        RawAttribute {
            flags: 0x80,
            code: 98,
            value: vec![2],
        },
    ];
    announce(&mut r, e1, &[PFX], a);
    let t = told(&mut r, e2);
    let got = &t.get(PFX).expect("sent").unknown;
    assert_eq!(
        got,
        &vec![RawAttribute {
            flags: 0xe0,
            code: 99,
            value: vec![1]
        }],
        "transitive kept with Partial, non-transitive dropped"
    );
}

#[test]
fn ipv6_next_hop_self() {
    let mut r = rib();
    let e1 = peer(&mut r, 2, Kind::Ebgp(65001));
    let e2 = peer(&mut r, 3, Kind::Ebgp(65002));
    let a = PathAttributes {
        as_path: AsPath::sequence(vec![65001]),
        mp_next_hop: Some(brindle_bgp::model::MpNextHop {
            global: ip("2001:db8::2"),
            link_local: None,
        }),
        ..PathAttributes::default()
    };
    announce(&mut r, e1, &["2001:db8:1::/48"], a);
    let t = told(&mut r, e2);
    let a = t.routes.get(&(p("2001:db8:1::/48"), 0)).expect("v6 route");
    assert_eq!(a.mp_next_hop.map(|n| n.global), Some(ip("2001:db8::1")));
    assert_eq!(a.next_hop, None);
}

fn reject_10_1() -> Policy {
    Policy::new(vec![Arc::new(Filter {
        name: "no-10-1".into(),
        v4: vec![Rule::new(
            p("10.1.0.0/16"),
            MatchOperator::In,
            Action::Reject,
        )],
        v6: vec![],
    })])
}

#[test]
fn export_policy_and_its_change() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = custom_peer(&mut r, 3, 65002, |i| i.export = reject_10_1());
    announce(
        &mut r,
        src,
        &["10.1.1.0/24", "10.2.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    let mut t = Told::default();
    drain(&mut r, dst, &mut t);
    assert!(!t.has("10.1.1.0/24") && t.has("10.2.0.0/16"));

    // New policy: 10.1/16 allowed, 10.2/16 rejected and tagged communities on the rest.
    let mut tag = Rule::any(Action::Accept);
    tag.add_communities = vec![Community(0xfc00_0001)];
    tag.add_large_communities = vec![LargeCommunity(LOCAL_AS, 1, 1)];
    let pol = Policy::new(vec![Arc::new(Filter {
        name: "new".into(),
        v4: vec![
            Rule::new(p("10.2.0.0/16"), MatchOperator::Equal, Action::Reject),
            tag,
        ],
        v6: vec![],
    })]);
    let c = r.set_export_policy(dst, pol);
    assert_eq!(c.outbound, vec![dst]);
    let batches = drain(&mut r, dst, &mut t);
    assert_eq!(batches.iter().map(|b| b.route_count()).sum::<usize>(), 2);
    assert!(!t.has("10.2.0.0/16"), "withdrawn");
    let a = t.get("10.1.1.0/24").expect("announced");
    assert_eq!(a.communities, vec![Community(0xfc00_0001)]);
    assert_eq!(a.large_communities, vec![LargeCommunity(LOCAL_AS, 1, 1)]);
}

#[test]
fn import_policy() {
    let mut r = rib();
    let src = custom_peer(&mut r, 2, 65001, |i| i.import = reject_10_1());
    announce(
        &mut r,
        src,
        &["10.1.1.0/24", "10.2.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    assert!(r.route(&p("10.1.1.0/24")).is_none());
    assert!(r.route(&p("10.2.0.0/16")).is_some());
    assert_eq!(r.received_count(src), 1);
    // Changing the import policy applies to what the peer sends next (after a refresh).
    r.set_import_policy(src, Policy::default());
    announce(&mut r, src, &["10.1.1.0/24"], attrs(&[65001], "192.0.2.2"));
    assert!(r.route(&p("10.1.1.0/24")).is_some());
    // A peer without a session is ignored.
    let down = add(&mut r, 9, Kind::Ibgp);
    assert!(announce(&mut r, down, &["10.9.0.0/16"], attrs(&[], "192.0.2.9")).is_empty());
    let _ = SessionInfo::new(ROUTER_ID, IpAddr::V4(SELF_V4));
}
