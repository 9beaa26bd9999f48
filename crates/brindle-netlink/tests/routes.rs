//! Routes programmed through brindle-netlink in a throw-away network namespace, checked with
//! `ip route show proto N` as a user would. Needs root; the machine's own tables are never
//! touched (every handle is opened with `Netlink::open_in`).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::IpAddr;

use brindle_netlink::{
    Cidr, Netlink, NextHop, RT_TABLE_MAIN, RTPROT_BRINDLE, Route, RouteFilter, RouteOp, Target,
};
use support::TestNs;

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The lines of `ip route` output, trimmed (ECMP next hops are lines of their own).
fn lines(out: &str) -> Vec<String> {
    out.lines().map(|l| l.trim().to_string()).collect()
}

fn open(ns: &TestNs) -> Netlink {
    Netlink::open_in(&ns.path()).unwrap()
}

#[test]
fn ipv4_route_one_gateway_then_ecmp_then_deleted() {
    require_root!();
    let ns = TestNs::new("v4");
    let mut nl = open(&ns);
    let dst = cidr("10.1.0.0/24");
    nl.replace_route(&Route::via(dst, [ip("10.9.0.2")]))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(false, RTPROT_BRINDLE, None)),
        ["10.1.0.0/24 via 10.9.0.2 dev v0"]
    );
    nl.replace_route(&Route::via(dst, [ip("10.9.0.2"), ip("10.9.0.3")]))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(false, RTPROT_BRINDLE, None)),
        [
            "10.1.0.0/24",
            "nexthop via 10.9.0.2 dev v0 weight 1",
            "nexthop via 10.9.0.3 dev v0 weight 1"
        ]
    );
    let dumped = nl
        .routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))
        .unwrap();
    let v0 = nl.link_index("v0").unwrap();
    assert_eq!(
        dumped,
        [Route::new(
            dst,
            vec![
                NextHop::via(ip("10.9.0.2")).on(v0),
                NextHop::via(ip("10.9.0.3")).on(v0)
            ]
        )]
    );
    assert!(nl.delete_route(&Route::blackhole(dst)).unwrap());
    assert_eq!(ns.routes(false, RTPROT_BRINDLE, None), "");
    assert!(!nl.delete_route(&Route::blackhole(dst)).unwrap(), "gone");
}

#[test]
fn ipv6_route_one_gateway_then_ecmp_then_deleted() {
    require_root!();
    let ns = TestNs::new("v6");
    let mut nl = open(&ns);
    let dst = cidr("fd00:1::/64");
    nl.replace_route(&Route::via(dst, [ip("fd00:9::2")]))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(true, RTPROT_BRINDLE, None)),
        ["fd00:1::/64 via fd00:9::2 dev v0 metric 1024 pref medium"]
    );
    nl.replace_route(&Route::via(dst, [ip("fd00:9::2"), ip("fd00:9::3")]))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(true, RTPROT_BRINDLE, None)),
        [
            "fd00:1::/64 metric 1024 pref medium",
            "nexthop via fd00:9::2 dev v0 weight 1",
            "nexthop via fd00:9::3 dev v0 weight 1"
        ]
    );
    let dumped = nl
        .routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))
        .unwrap();
    assert_eq!(dumped.len(), 1);
    assert!(matches!(&dumped[0].target, Target::NextHops(h) if h.len() == 2));
    // Back to one next hop: the ECMP route is replaced whole, not merged.
    nl.replace_route(&Route::via(dst, [ip("fd00:9::3")]))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(true, RTPROT_BRINDLE, None)),
        ["fd00:1::/64 via fd00:9::3 dev v0 metric 1024 pref medium"]
    );
    assert!(nl.delete_route(&Route::blackhole(dst)).unwrap());
    assert_eq!(ns.routes(true, RTPROT_BRINDLE, None), "");
}

#[test]
fn blackhole_and_device_routes_as_calico_programs_them() {
    require_root!();
    let ns = TestNs::new("dev");
    let mut nl = open(&ns);
    let v1 = nl.link_index("v1").unwrap();
    nl.add_route(&Route::blackhole(cidr("10.244.0.0/26")))
        .unwrap();
    nl.add_route(&Route::device(cidr("10.244.0.5/32"), v1))
        .unwrap();
    nl.add_route(&Route::blackhole(cidr("fd00:244::/122")))
        .unwrap();
    nl.add_route(&Route::device(cidr("fd00:244::5/128"), v1))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(false, RTPROT_BRINDLE, None)),
        ["blackhole 10.244.0.0/26", "10.244.0.5 dev v1 scope link"]
    );
    assert_eq!(
        lines(&ns.routes(true, RTPROT_BRINDLE, None)),
        [
            "fd00:244::5 dev v1 metric 1024 pref medium",
            "blackhole fd00:244::/122 dev lo metric 1024 pref medium"
        ]
    );
    let mut dumped = nl
        .routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))
        .unwrap();
    dumped.sort_by_key(|r| r.dst);
    let targets: Vec<_> = dumped.iter().map(|r| (r.dst, r.target.clone())).collect();
    assert_eq!(
        targets,
        [
            (cidr("10.244.0.0/26"), Target::Blackhole),
            (
                cidr("10.244.0.5/32"),
                Target::NextHops(vec![NextHop::dev(v1)])
            ),
            (cidr("fd00:244::/122"), Target::Blackhole),
            (
                cidr("fd00:244::5/128"),
                Target::NextHops(vec![NextHop::dev(v1)])
            ),
        ]
    );
}

#[test]
fn other_tables_and_protocols_are_kept_apart() {
    require_root!();
    let ns = TestNs::new("tables");
    let mut nl = open(&ns);
    // Someone else's route (proto static) to the destination we use, and ours in table 1000.
    ns.ip(&[
        "route",
        "add",
        "10.2.0.0/24",
        "via",
        "10.9.0.7",
        "proto",
        "static",
    ]);
    let ours = Route::via(cidr("10.2.0.0/24"), [ip("10.9.0.2")]).in_table(1000);
    nl.replace_route(&ours).unwrap();
    nl.replace_route(&Route::blackhole(cidr("10.3.0.0/24")).with_protocol(99))
        .unwrap();
    assert_eq!(
        lines(&ns.routes(false, RTPROT_BRINDLE, Some(1000))),
        ["10.2.0.0/24 via 10.9.0.2 dev v0"]
    );
    let dumped = nl
        .routes(&RouteFilter::owned(1000, RTPROT_BRINDLE))
        .unwrap();
    assert_eq!(dumped.len(), 1);
    assert_eq!(dumped[0].table, 1000);
    assert!(
        nl.routes(&RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        nl.routes(&RouteFilter::owned(RT_TABLE_MAIN, 99)).unwrap(),
        [Route::blackhole(cidr("10.3.0.0/24")).with_protocol(99)]
    );
    // Deleting "our" route in main finds none and leaves the static one alone.
    assert!(
        !nl.delete_route(&Route::blackhole(cidr("10.2.0.0/24")))
            .unwrap()
    );
    assert_eq!(
        lines(&ns.routes(false, 4, None)),
        ["10.2.0.0/24 via 10.9.0.7 dev v0"]
    );
    assert!(nl.delete_route(&ours).unwrap());
    assert_eq!(ns.routes(false, RTPROT_BRINDLE, Some(1000)), "");
}

#[test]
fn errors_say_what_was_done_in_the_kernels_words() {
    require_root!();
    let ns = TestNs::new("errors");
    let mut nl = open(&ns);
    let unreachable = Route::via(cidr("10.1.0.0/24"), [ip("10.50.0.1")]);
    let e = nl.add_route(&unreachable).unwrap_err();
    assert_eq!(
        e.to_string(),
        "adding route 10.1.0.0/24 via 10.50.0.1: Network is unreachable"
    );
    let r = Route::via(cidr("10.1.0.0/24"), [ip("10.9.0.2")]);
    nl.add_route(&r).unwrap();
    let e = nl.add_route(&r).unwrap_err();
    assert_eq!(
        e.to_string(),
        "adding route 10.1.0.0/24 via 10.9.0.2: File exists"
    );
    assert!(e.already_exists());
    // Adding never takes over another protocol's route (here the connected one of v0).
    let e = nl
        .add_route(&Route::via(cidr("10.9.0.0/24"), [ip("10.9.0.2")]))
        .unwrap_err();
    assert!(e.already_exists(), "{e}");
    assert_eq!(
        lines(&ns.ip(&["-4", "route", "show", "10.9.0.0/24"])),
        ["10.9.0.0/24 dev v0 proto kernel scope link src 10.9.0.1"]
    );
    let e = nl.link_index("nosuch0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "looking up interface nosuch0: No such device"
    );
    let e = nl
        .replace_route(&Route::via(cidr("10.1.0.0/24"), [ip("fd00::1")]))
        .unwrap_err();
    assert!(
        e.to_string().contains("not of the destination's family"),
        "{e}"
    );
}

#[test]
fn a_large_batch_gets_one_result_per_change() {
    require_root!();
    let ns = TestNs::new("batch");
    let mut nl = open(&ns);
    let mut ops: Vec<RouteOp> = (0..200u32)
        .map(|i| {
            let dst = Cidr::new(
                IpAddr::from([10, 100, (i / 256) as u8, (i % 256) as u8]),
                32,
            )
            .unwrap();
            RouteOp::Replace(Route::via(dst, [ip("10.9.0.2")]))
        })
        .collect();
    ops[150] = RouteOp::Add(Route::via(cidr("10.101.0.0/24"), [ip("10.50.0.1")]));
    let results = nl.apply(&ops);
    assert_eq!(results.len(), 200);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_err(), i == 150, "change {i}: {r:?}");
    }
    assert_eq!(ns.routes(false, RTPROT_BRINDLE, None).lines().count(), 199);
    let deletes: Vec<RouteOp> = ops
        .into_iter()
        .map(|op| RouteOp::Delete(op.route().clone()))
        .collect();
    let results = nl.apply(&deletes);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(ns.routes(false, RTPROT_BRINDLE, None), "");
}

#[test]
fn opening_in_a_namespace_leaves_the_callers_alone() {
    require_root!();
    let mine = || std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let before = mine();
    let ns = TestNs::new("open");
    let mut nl = open(&ns);
    assert_eq!(mine(), before);
    // The handle works in the namespace: its veth is there, which the host does not have.
    assert!(nl.link_index("v0").is_ok());
}
