//! Outbound queues: initial dump and End-of-RIB, coalescing, grouping, batch limits, changes
//! during a dump, ADD-PATH with stable identifiers, route refresh.

mod rib_common;

use brindle_bgp::model::{Family, Nlri};
use brindle_bgp::rib::Rib;
use rib_common::*;

#[test]
fn empty_table_gets_end_of_rib_at_once() {
    let mut r = rib();
    let a = add(&mut r, 2, Kind::Ibgp);
    assert!(!r.has_outbound(a));
    let c = up(&mut r, a, 2, false);
    assert_eq!(c.outbound, vec![a]);
    assert!(r.has_outbound(a));
    assert!(!r.initial_dump_complete(a, Family::Ipv4Unicast));
    let o = r.take_outbound(a, 100);
    assert_eq!(o.end_of_rib, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(r.initial_dump_complete(a, Family::Ipv4Unicast));
    assert!(!r.has_outbound(a));
    assert!(r.take_outbound(a, 100).is_empty());
    assert_eq!(o.into_updates().len(), 2, "two End-of-RIB markers");
}

#[test]
fn dump_is_grouped_ordered_and_limited() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    announce(
        &mut r,
        src,
        &["10.0.3.0/24", "10.0.1.0/24"],
        attrs(&[65001], "192.0.2.2"),
    );
    announce(
        &mut r,
        src,
        &["10.0.2.0/24"],
        attrs(&[65001, 65009], "192.0.2.2"),
    );
    let dst = add(&mut r, 3, Kind::Ibgp);
    up(&mut r, dst, 3, false);
    let o = r.take_outbound(dst, 2);
    assert_eq!(o.route_count(), 2);
    assert!(o.end_of_rib.is_empty());
    assert_eq!(o.announced.len(), 2, "two attribute sets");
    assert_eq!(
        o.announced[0].nlri,
        vec![(Family::Ipv4Unicast, Nlri::new(p("10.0.1.0/24")))]
    );
    assert_eq!(
        o.announced[1].nlri,
        vec![(Family::Ipv4Unicast, Nlri::new(p("10.0.2.0/24")))]
    );
    let o = r.take_outbound(dst, 1);
    assert_eq!(o.route_count(), 1);
    assert!(o.end_of_rib.is_empty(), "the budget went to the route");
    let o = r.take_outbound(dst, 1);
    assert_eq!(o.route_count(), 0);
    assert_eq!(o.end_of_rib, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
}

#[test]
fn changes_coalesce_into_the_latest_state() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = peer(&mut r, 3, Kind::Ibgp);
    let mut t = Told::default();
    drain(&mut r, dst, &mut t);
    assert_eq!(t.eor.len(), 2);

    // announce, withdraw, announce (other attributes) → one announcement of the last.
    announce(&mut r, src, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    withdraw(&mut r, src, &["10.1.0.0/16"]);
    let mut last = attrs(&[65001, 65005], "192.0.2.2");
    last.med = Some(42);
    let c = announce(&mut r, src, &["10.1.0.0/16"], last);
    assert_eq!(c.outbound, vec![dst]);
    let o = r.take_outbound(dst, 100);
    assert!(o.withdrawn.is_empty());
    assert_eq!(o.route_count(), 1);
    assert_eq!(o.announced[0].attrs.med, Some(42));
    t.apply(&o);
    assert!(r.take_outbound(dst, 100).is_empty());

    // withdraw, announce the same again → one announcement; announce then withdraw → one
    // withdrawal.
    withdraw(&mut r, src, &["10.1.0.0/16"]);
    announce(&mut r, src, &["10.2.0.0/16"], attrs(&[65001], "192.0.2.2"));
    withdraw(&mut r, src, &["10.2.0.0/16"]);
    let o = r.take_outbound(dst, 100);
    assert_eq!(o.announced, vec![]);
    assert_eq!(
        o.withdrawn,
        vec![
            (Family::Ipv4Unicast, Nlri::new(p("10.1.0.0/16"))),
            (Family::Ipv4Unicast, Nlri::new(p("10.2.0.0/16")))
        ]
    );
}

#[test]
fn unrelated_changes_queue_nothing() {
    let mut r = rib();
    let i1 = peer(&mut r, 2, Kind::Ibgp);
    let i2 = peer(&mut r, 3, Kind::Ibgp);
    told(&mut r, i2);
    // iBGP → iBGP is never exported: i2's queue stays empty.
    let c = announce(&mut r, i1, &["10.1.0.0/16"], attrs(&[], "192.0.2.2"));
    assert!(c.outbound.is_empty());
    assert!(!r.has_outbound(i2));
}

#[test]
fn changes_during_the_initial_dump() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let names: Vec<String> = (0..200)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    announce(&mut r, src, &all, attrs(&[65001], "192.0.2.2"));
    let dst = add(&mut r, 3, Kind::Ibgp);
    up(&mut r, dst, 3, false);
    let mut t = Told::default();
    t.apply(&r.take_outbound(dst, 50));
    // Behind the cursor and ahead of it: a change and a withdrawal each.
    announce(
        &mut r,
        src,
        &[all[10], all[150]],
        attrs(&[65001, 1], "192.0.2.2"),
    );
    withdraw(&mut r, src, &[all[20], all[160]]);
    drain(&mut r, dst, &mut t);
    let expected: Vec<&str> = all
        .iter()
        .copied()
        .filter(|s| *s != all[20] && *s != all[160])
        .collect();
    assert_eq!(t.routes.len(), expected.len());
    for s in expected {
        assert!(t.has(s), "{s}");
    }
    assert_eq!(t.get(all[10]).map(|a| a.as_path.decision_len()), Some(2));
    assert_eq!(t.get(all[150]).map(|a| a.as_path.decision_len()), Some(2));
    assert_eq!(t.eor, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
}

fn ids(t: &Told, prefix: &str) -> Vec<u32> {
    t.routes
        .keys()
        .filter(|(q, _)| *q == p(prefix))
        .map(|(_, id)| *id)
        .collect()
}

#[test]
fn add_path_sends_every_path_with_stable_ids() {
    let mut r = rib();
    let s1 = peer(&mut r, 2, Kind::Ebgp(65001));
    let s2 = peer(&mut r, 3, Kind::Ebgp(65002));
    let s3 = peer(&mut r, 4, Kind::Ebgp(65003));
    let ap = add(&mut r, 5, Kind::Ibgp);
    up(&mut r, ap, 5, true);
    let plain = peer(&mut r, 6, Kind::Ibgp);
    let pfx = "10.1.0.0/16";
    announce(&mut r, s1, &[pfx], attrs(&[65001], "192.0.2.2"));
    announce(&mut r, s2, &[pfx], attrs(&[65002], "192.0.2.3"));
    announce(&mut r, s3, &[pfx], attrs(&[65003], "192.0.2.4"));
    let mut t = Told::default();
    drain(&mut r, ap, &mut t);
    assert_eq!(ids(&t, pfx), vec![1, 2, 3]);
    let nh = |t: &Told, id: u32| t.routes.get(&(p(pfx), id)).and_then(|a| a.next_hop);
    assert_eq!(nh(&t, 2), Some(v4("192.0.2.3")));
    let tp = told(&mut r, plain);
    assert_eq!(ids(&tp, pfx), vec![0], "without ADD-PATH: the best only");

    // s2 changes its route: same id, implicit replacement. s1 withdraws: id 1 withdrawn.
    announce(&mut r, s2, &[pfx], attrs(&[65002, 65009], "192.0.2.3"));
    withdraw(&mut r, s1, &[pfx]);
    let o = r.take_outbound(ap, 100);
    assert_eq!(
        o.withdrawn,
        vec![(
            Family::Ipv4Unicast,
            Nlri {
                prefix: p(pfx),
                path_id: 1
            }
        )]
    );
    assert_eq!(o.announced.len(), 1);
    assert_eq!(
        o.announced[0].nlri,
        vec![(
            Family::Ipv4Unicast,
            Nlri {
                prefix: p(pfx),
                path_id: 2
            }
        )]
    );
    t.apply(&o);
    assert_eq!(ids(&t, pfx), vec![2, 3]);
    assert_eq!(
        nh(&t, 3),
        Some(v4("192.0.2.4")),
        "untouched path keeps its id"
    );

    // The path from the ADD-PATH peer itself is not sent back to it.
    announce(&mut r, ap, &[pfx], attrs(&[], "192.0.2.5"));
    drain(&mut r, ap, &mut t);
    assert_eq!(ids(&t, pfx), vec![2, 3]);
}

#[test]
fn add_path_receive_keys_by_path_id() {
    let mut r = rib();
    let s = peer(&mut r, 2, Kind::Ibgp);
    announce_ids(
        &mut r,
        s,
        &[("10.1.0.0/16", 7), ("10.1.0.0/16", 8)],
        attrs(&[], "192.0.2.2"),
    );
    assert_eq!(r.route(&p("10.1.0.0/16")).map(|x| x.paths.len()), Some(2));
    assert_eq!(r.received_count(s), 2);
    let c = r.apply_update(
        s,
        &brindle_bgp::model::Update {
            withdrawn: vec![(
                Family::Ipv4Unicast,
                Nlri {
                    prefix: p("10.1.0.0/16"),
                    path_id: 7,
                },
            )],
            ..Default::default()
        },
    );
    assert!(c.kernel.is_empty(), "the other path, same next hop");
    let route = r.route(&p("10.1.0.0/16")).expect("route");
    assert_eq!(route.paths.len(), 1);
    assert_eq!(route.paths[0].path_id, 8);
}

#[test]
fn route_refresh_resends_the_table() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = peer(&mut r, 3, Kind::Ibgp);
    announce(
        &mut r,
        src,
        &["10.1.0.0/16", "10.2.0.0/16"],
        attrs(&[65001], "192.0.2.2"),
    );
    let first = told(&mut r, dst);
    let c = r.refresh_out(dst, Family::Ipv4Unicast);
    assert_eq!(c.outbound, vec![dst]);
    let o = r.take_outbound(dst, 100);
    assert_eq!(o.route_count(), 2);
    assert!(o.end_of_rib.is_empty());
    assert_eq!(o.end_of_refresh, vec![Family::Ipv4Unicast]);
    let mut again = Told::default();
    again.apply(&o);
    assert_eq!(again.routes, first.routes);
    // A withdrawal during the refresh still reaches the peer.
    r.refresh_out(dst, Family::Ipv4Unicast);
    withdraw(&mut r, src, &["10.2.0.0/16"]);
    let mut t = first.clone();
    drain(&mut r, dst, &mut t);
    assert!(!t.has("10.2.0.0/16"));
}

#[test]
fn nothing_goes_to_a_peer_that_is_down() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = peer(&mut r, 3, Kind::Ibgp);
    r.peer_down(dst, false);
    let c = announce(&mut r, src, &["10.1.0.0/16"], attrs(&[65001], "192.0.2.2"));
    assert!(c.outbound.is_empty());
    assert!(r.take_outbound(dst, 10).is_empty());
    assert!(r.adj_rib_out(dst, Family::Ipv4Unicast).is_empty());
    up(&mut r, dst, 3, false);
    assert_eq!(r.adj_rib_out(dst, Family::Ipv4Unicast).len(), 1);
    assert!(told(&mut r, dst).has("10.1.0.0/16"));
    let _ = Rib::new(r.config().clone());
}

#[test]
fn a_batch_is_empty_only_when_nothing_is_pending() {
    let mut r = rib();
    let i1 = peer(&mut r, 2, Kind::Ibgp);
    let e = peer(&mut r, 3, Kind::Ebgp(65001));
    // 300 routes the iBGP peer 4 must not get, then one it must: more than 64 × 1 to scan.
    let names: Vec<String> = (0..300)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    announce(&mut r, i1, &all, attrs(&[], "192.0.2.2"));
    announce(&mut r, e, &["11.0.0.0/8"], attrs(&[65001], "192.0.2.3"));
    let i2 = add(&mut r, 4, Kind::Ibgp);
    up(&mut r, i2, 4, false);
    let o = r.take_outbound(i2, 1);
    assert_eq!(o.route_count(), 1);
    assert_eq!(o.announced[0].nlri[0].1.prefix, p("11.0.0.0/8"));
    let o = r.take_outbound(i2, 1);
    assert_eq!(o.end_of_rib, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(!r.has_outbound(i2));
}

#[test]
fn ipv6_routes_dump_and_withdraw() {
    use brindle_bgp::model::{AsPath, MpNextHop, PathAttributes};
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let v6 = |nh: &str| PathAttributes {
        as_path: AsPath::sequence(vec![65001]),
        mp_next_hop: Some(MpNextHop {
            global: ip(nh),
            link_local: None,
        }),
        ..PathAttributes::default()
    };
    let c = announce(
        &mut r,
        src,
        &["2001:db8:2::/48", "2001:db8:1::/48"],
        v6("2001:db8::2"),
    );
    assert_eq!(c.kernel.len(), 2);
    assert_eq!(c.kernel[0].next_hops, vec![ip("2001:db8::2")]);
    let dst = peer(&mut r, 3, Kind::Ibgp);
    let mut t = Told::default();
    drain(&mut r, dst, &mut t);
    let keys: Vec<_> = t.routes.keys().map(|(p, _)| *p).collect();
    assert_eq!(
        keys,
        vec![p("2001:db8:1::/48"), p("2001:db8:2::/48")],
        "in order"
    );
    withdraw(&mut r, src, &["2001:db8:1::/48"]);
    drain(&mut r, dst, &mut t);
    assert_eq!(t.routes.len(), 1);
    assert_eq!(r.prefix_count(Family::Ipv6Unicast), 1);
    assert_eq!(r.adj_rib_in(src, Family::Ipv6Unicast).len(), 1);
}

#[test]
fn attribute_sets_are_reclaimed_and_never_confused() {
    let mut r = rib();
    let src = peer(&mut r, 2, Kind::Ebgp(65001));
    let dst = peer(&mut r, 3, Kind::Ibgp);
    let mut t = Told::default();
    drain(&mut r, dst, &mut t);
    for i in 0..5000u32 {
        let mut a = attrs(&[65001], "192.0.2.2");
        a.med = Some(i);
        announce(&mut r, src, &["10.1.0.0/16"], a);
        drain(&mut r, dst, &mut t);
        // Freed sets' addresses get reused: the export cache must never hand out a stale one.
        assert_eq!(t.get("10.1.0.0/16").and_then(|a| a.med), Some(i));
    }
    assert!(
        r.attribute_sets() < 1100,
        "{} sets kept",
        r.attribute_sets()
    );
}
