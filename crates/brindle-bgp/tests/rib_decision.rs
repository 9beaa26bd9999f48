//! The decision process seen through the RIB: each tie-break step decides a pair of routes
//! received from real peers, and the ECMP set reaches the kernel.

mod rib_common;

use brindle_bgp::model::{Origin, PathAttributes};
use brindle_bgp::rib::{KernelChange, LocalConfig, PeerId, Rib};
use rib_common::*;

/// Sends `a` from `pa` and `b` from `pb` for 10.1.0.0/16 (in both orders, on fresh RIBs) and
/// returns the winner's peer.
fn winner(
    ka: (u8, Kind),
    a: PathAttributes,
    kb: (u8, Kind),
    b: PathAttributes,
) -> (PeerId, PeerId, PeerId) {
    let mut results = Vec::new();
    for swap in [false, true] {
        let mut r = rib();
        let pa = peer(&mut r, ka.0, ka.1);
        let pb = peer(&mut r, kb.0, kb.1);
        if swap {
            announce(&mut r, pb, &["10.1.0.0/16"], b.clone());
            announce(&mut r, pa, &["10.1.0.0/16"], a.clone());
        } else {
            announce(&mut r, pa, &["10.1.0.0/16"], a.clone());
            announce(&mut r, pb, &["10.1.0.0/16"], b.clone());
        }
        let best = r.best(&p("10.1.0.0/16")).expect("a best path").from;
        results.push((best, pa, pb));
    }
    assert_eq!(results[0], results[1], "arrival order must not matter");
    results[0]
}

#[test]
fn local_pref_decides_among_ibgp() {
    let mut hi = attrs(&[65001, 65002, 65003], "192.0.2.2");
    hi.local_pref = Some(200);
    let lo = attrs(&[65001], "192.0.2.3");
    let (best, a, _) = winner((2, Kind::Ibgp), hi, (3, Kind::Ibgp), lo);
    assert_eq!(best, a);
}

#[test]
fn ebgp_routes_get_default_local_pref() {
    // An iBGP route with LOCAL_PREF 90 loses to an eBGP route (100) despite a shorter path; a
    // LOCAL_PREF received over eBGP is ignored.
    let mut ibgp = attrs(&[], "192.0.2.2");
    ibgp.local_pref = Some(90);
    let mut ebgp = attrs(&[65001, 65002], "192.0.2.3");
    ebgp.local_pref = Some(10);
    let (best, _, b) = winner((2, Kind::Ibgp), ibgp, (3, Kind::Ebgp(65001)), ebgp);
    assert_eq!(best, b);
}

#[test]
fn locally_originated_wins_at_equal_preference() {
    let mut r = rib();
    let e = peer(&mut r, 2, Kind::Ebgp(65001));
    announce(&mut r, e, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    let c = r.originate(p("10.1.0.0/16"), PathAttributes::default());
    assert_eq!(
        r.best(&p("10.1.0.0/16")).map(|b| b.from),
        Some(PeerId::LOCAL)
    );
    assert_eq!(
        c.kernel,
        vec![KernelChange {
            prefix: p("10.1.0.0/16"),
            next_hops: vec![]
        }],
        "a local best removes the learned kernel route"
    );
}

#[test]
fn shorter_as_path_then_origin() {
    let (best, a, _) = winner(
        (2, Kind::Ebgp(65001)),
        attrs(&[65001], "192.0.2.2"),
        (3, Kind::Ebgp(65002)),
        attrs(&[65002, 65009], "192.0.2.3"),
    );
    assert_eq!(best, a);
    let mut egp = attrs(&[65001], "192.0.2.2");
    egp.origin = Origin::Egp;
    let (best, _, b) = winner(
        (2, Kind::Ebgp(65001)),
        egp,
        (3, Kind::Ebgp(65002)),
        attrs(&[65002], "192.0.2.3"),
    );
    assert_eq!(best, b);
}

#[test]
fn med_only_within_one_neighbouring_as() {
    let mut low = attrs(&[65001], "192.0.2.3");
    low.med = Some(5);
    let mut high = attrs(&[65001], "192.0.2.2");
    high.med = Some(50);
    // Same neighbour AS: lower MED wins although peer 2 has the lower router id.
    let (best, _, b) = winner(
        (2, Kind::Ebgp(65001)),
        high.clone(),
        (3, Kind::Ebgp(65001)),
        low,
    );
    assert_eq!(best, b);
    // Different neighbour AS: MED ignored; the router id decides.
    let mut other = attrs(&[65002], "192.0.2.3");
    other.med = Some(5);
    let (best, a, _) = winner((2, Kind::Ebgp(65001)), high, (3, Kind::Ebgp(65002)), other);
    assert_eq!(best, a);
}

#[test]
fn ebgp_over_ibgp() {
    let (best, _, b) = winner(
        (2, Kind::Ibgp),
        attrs(&[65001], "192.0.2.2"),
        (3, Kind::Ebgp(65001)),
        attrs(&[65001], "192.0.2.3"),
    );
    assert_eq!(best, b);
}

#[test]
fn originator_id_replaces_router_id_and_shorter_cluster_list_wins() {
    // Peer 2 (router id 10.0.0.2) reflects a route originated by 10.0.0.99; peer 3 (10.0.0.3)
    // sends its own. Compared as 10.0.0.99 vs 10.0.0.3: peer 3 wins.
    let mut reflected = attrs(&[], "192.0.2.2");
    reflected.originator_id = Some(v4("10.0.0.99"));
    reflected.cluster_list = vec![v4("10.9.9.9")];
    let (best, _, b) = winner(
        (2, Kind::Ibgp),
        reflected.clone(),
        (3, Kind::Ibgp),
        attrs(&[], "192.0.2.3"),
    );
    assert_eq!(best, b);
    // Same originator through two reflectors: the shorter CLUSTER_LIST wins.
    let mut longer = reflected.clone();
    longer.cluster_list = vec![v4("10.9.9.8"), v4("10.9.9.9")];
    let (best, _, b) = winner((2, Kind::Ibgp), longer, (3, Kind::Ibgp), reflected);
    assert_eq!(best, b);
}

#[test]
fn lowest_router_id_then_lowest_address() {
    let (best, a, _) = winner(
        (2, Kind::Ebgp(65001)),
        attrs(&[65001], "192.0.2.2"),
        (3, Kind::Ebgp(65002)),
        attrs(&[65002], "192.0.2.3"),
    );
    assert_eq!(best, a);
    // Same router id (both ORIGINATOR_ID 10.0.0.50, same cluster list): the address decides.
    let mut x = attrs(&[], "192.0.2.4");
    x.originator_id = Some(v4("10.0.0.50"));
    let (best, a, _) = winner((4, Kind::Ibgp), x.clone(), (5, Kind::Ibgp), x);
    assert_eq!(best, a);
}

#[test]
fn ecmp_next_hops_for_the_kernel() {
    let mut r = rib();
    let a = peer(&mut r, 2, Kind::Ibgp);
    let b = peer(&mut r, 3, Kind::Ibgp);
    let c = peer(&mut r, 4, Kind::Ibgp);
    let pfx = p("10.244.1.0/26");
    let k1 = announce(&mut r, a, &["10.244.1.0/26"], attrs(&[], "192.0.2.2"));
    assert_eq!(k1.kernel[0].next_hops, vec![ip("192.0.2.2")]);
    let k2 = announce(&mut r, b, &["10.244.1.0/26"], attrs(&[], "192.0.2.3"));
    assert_eq!(
        k2.kernel,
        vec![KernelChange {
            prefix: pfx,
            next_hops: vec![ip("192.0.2.2"), ip("192.0.2.3")]
        }]
    );
    // A longer path is not equal: no kernel change.
    let k3 = announce(&mut r, c, &["10.244.1.0/26"], attrs(&[65001], "192.0.2.4"));
    assert!(k3.kernel.is_empty());
    let k4 = withdraw(&mut r, a, &["10.244.1.0/26"]);
    assert_eq!(k4.kernel[0].next_hops, vec![ip("192.0.2.3")]);
    let k5 = withdraw(&mut r, b, &["10.244.1.0/26"]);
    assert_eq!(k5.kernel[0].next_hops, vec![ip("192.0.2.4")]);
    let k6 = withdraw(&mut r, c, &["10.244.1.0/26"]);
    assert_eq!(k6.kernel[0].next_hops, Vec::<std::net::IpAddr>::new());
    assert!(r.route(&pfx).is_none());
}

#[test]
fn ecmp_off_and_max_paths() {
    let mut cfg = LocalConfig::new(LOCAL_AS, ROUTER_ID);
    cfg.multipath = false;
    let mut r = Rib::new(cfg.clone());
    let a = peer(&mut r, 2, Kind::Ibgp);
    let b = peer(&mut r, 3, Kind::Ibgp);
    announce(&mut r, a, &["10.0.0.0/8"], attrs(&[], "192.0.2.2"));
    let k = announce(&mut r, b, &["10.0.0.0/8"], attrs(&[], "192.0.2.3"));
    assert!(k.kernel.is_empty(), "only the best: unchanged");
    cfg.multipath = true;
    cfg.max_paths = 2;
    let mut r = Rib::new(cfg);
    for n in 2..6 {
        let x = peer(&mut r, n, Kind::Ibgp);
        announce(
            &mut r,
            x,
            &["10.0.0.0/8"],
            attrs(&[], &format!("192.0.2.{n}")),
        );
    }
    let routes = r.kernel_routes(brindle_bgp::model::Family::Ipv4Unicast);
    assert_eq!(routes[0].next_hops, vec![ip("192.0.2.2"), ip("192.0.2.3")]);
}
