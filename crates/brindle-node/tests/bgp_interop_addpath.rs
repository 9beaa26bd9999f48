//! ADD-PATH (RFC 7911): one prefix reaches brindle from two peers with two different next hops,
//! and a third speaker with ADD-PATH toward brindle (`addPaths: both`) shows both paths —
//! BIRD over iBGP (brindle reflecting: the two next hops survive), GoBGP over eBGP (next hop
//! self: the two AS paths tell the paths apart). A withdrawal then removes just its own path.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::IpAddr;

mod support;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Gobgp, Host, IpPrefix, Lab, Neighbor, RouteInfo,
    describe_routes, is_root, wait_for,
};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line};

const ANYCAST: &str = "203.0.113.0/24";

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Two BIRDs in `asns` originating [`ANYCAST`] toward brindle on `a`.
fn originators(a: &Host, hosts: [&Host; 2], asns: [u32; 2], brindle_as: u32) -> Vec<Bird> {
    hosts
        .iter()
        .zip(asns)
        .map(|(h, asn)| {
            Bird::start(
                h,
                &BgpConfig::for_host(h, asn)
                    .neighbor(Neighbor::to_host(a, Family::V4, brindle_as))
                    .route(ANYCAST),
            )
            .unwrap()
        })
        .collect()
}

/// Waits until `daemon` shows exactly `n` paths for `p`, and returns them.
fn wait_paths(daemon: &dyn BgpDaemon, speaker: &Brindle, p: &str, n: usize) -> Vec<RouteInfo> {
    let mut last = Vec::new();
    let found = wait_for(CONVERGE, || {
        last = daemon.route(prefix(p)).unwrap_or_default();
        (last.len() == n).then(|| last.clone())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{}: wanted {n} paths for {p}, has:\n{}\nbrindle's table: {:?}\n{}",
            daemon.describe(),
            describe_routes(&last),
            speaker.routes(),
            speaker.log()
        )
    })
}

/// brindle's own view: both paths for the prefix, and ADD-PATH negotiated with `third`.
fn check_brindle(speaker: &Brindle, from: [&Host; 2], third: &Host) {
    let r = wait_for(CONVERGE, || {
        speaker
            .routes()
            .into_iter()
            .find(|r| r.prefix == ANYCAST && r.paths.len() == 2)
    })
    .unwrap_or_else(|| panic!("brindle has not both paths: {:?}", speaker.routes()));
    let got: BTreeSet<_> = r.paths.iter().map(|p| p.from).collect();
    let want: BTreeSet<_> = from.iter().map(|h| Some(IpAddr::V4(h.ipv4()))).collect();
    assert_eq!(got, want, "{r:?}");
    let p = support::wait_peer_state(speaker, IpAddr::V4(third.ipv4()), "Established");
    let n = p.negotiated.unwrap();
    assert_eq!(
        n.add_path,
        ["ipv4-unicast send", "ipv4-unicast receive"],
        "{n:?}"
    );
}

#[test]
fn bird_sees_both_paths_with_their_next_hops_over_ibgp_add_path() {
    require_root!();
    let lab = Lab::new().unwrap();
    let a = lab.add_host("brindle").unwrap();
    let (h1, h2, t) = (
        lab.add_host("o1").unwrap(),
        lab.add_host("o2").unwrap(),
        lab.add_host("third").unwrap(),
    );
    let asn = 64512;
    let client = "  routeReflectorClient: true\n";
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: {asn}\nclusterId: 244.0.0.1\npeers:\n{}{}{}",
            a.ipv4(),
            peer_line(&h1, asn, client),
            peer_line(&h2, asn, client),
            peer_line(&t, asn, &format!("{client}  addPaths: both\n")),
        ),
    );
    let mut origin = originators(&a, [&h1, &h2], [asn, asn], asn);
    let third = Bird::start(
        &t,
        &BgpConfig::for_host(&t, asn).neighbor(Neighbor::to_host(&a, Family::V4, asn).add_path()),
    )
    .unwrap();
    for b in origin.iter().chain([&third]) {
        if let Err(e) = b.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    check_brindle(&speaker, [&h1, &h2], &t);

    // BIRD's view: two paths from brindle's session, one per next hop, each with its
    // originator.
    let paths = wait_paths(&third, &speaker, ANYCAST, 2);
    let hops: BTreeSet<_> = paths.iter().map(|r| r.next_hop).collect();
    let want: BTreeSet<_> = [&h1, &h2]
        .iter()
        .map(|h| Some(IpAddr::V4(h.ipv4())))
        .collect();
    assert_eq!(hops, want, "{}", describe_routes(&paths));
    for r in &paths {
        assert_eq!(
            r.originator_id.map(IpAddr::V4),
            r.next_hop,
            "{}",
            describe_routes(&paths)
        );
        assert_eq!(r.source.as_deref(), Some("n0"), "{r}");
    }
    assert_eq!(paths.iter().filter(|r| r.best).count(), 1);

    // One originator withdraws: only its path goes.
    origin[0].withdraw(prefix(ANYCAST)).unwrap();
    let paths = wait_paths(&third, &speaker, ANYCAST, 1);
    assert_eq!(
        paths[0].next_hop,
        Some(IpAddr::V4(h2.ipv4())),
        "{}",
        paths[0]
    );
}

#[test]
fn gobgp_sees_both_paths_over_ebgp_add_path() {
    require_root!();
    let lab = Lab::new().unwrap();
    let a = lab.add_host("brindle").unwrap();
    let (h1, h2, t) = (
        lab.add_host("o1").unwrap(),
        lab.add_host("o2").unwrap(),
        lab.add_host("third").unwrap(),
    );
    let (asn, as1, as2, as3) = (4_200_000_000, 65001, 65002, 4_200_000_003);
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: {asn}\nmultipath: true\npeers:\n{}{}{}",
            a.ipv4(),
            peer_line(&h1, as1, ""),
            peer_line(&h2, as2, ""),
            peer_line(&t, as3, "  addPaths: both\n"),
        ),
    );
    let mut origin = originators(&a, [&h1, &h2], [as1, as2], asn);
    let third = Gobgp::start(
        &t,
        &BgpConfig::for_host(&t, as3).neighbor(Neighbor::to_host(&a, Family::V4, asn).add_path()),
    )
    .unwrap();
    for b in &origin {
        if let Err(e) = b.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    if let Err(e) = third.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
    check_brindle(&speaker, [&h1, &h2], &t);

    // GoBGP's view: two paths from brindle, next hop brindle (eBGP), one per AS path.
    let paths = wait_paths(&third, &speaker, ANYCAST, 2);
    let as_paths: BTreeSet<_> = paths.iter().map(|r| r.as_path.clone()).collect();
    assert_eq!(
        as_paths,
        BTreeSet::from([vec![asn, as1], vec![asn, as2]]),
        "{}",
        describe_routes(&paths)
    );
    for r in &paths {
        assert_eq!(r.next_hop, Some(IpAddr::V4(a.ipv4())), "{r}");
        assert_eq!(r.source, Some(a.ipv4().to_string()), "{r}");
    }

    origin[1].withdraw(prefix(ANYCAST)).unwrap();
    let paths = wait_paths(&third, &speaker, ANYCAST, 1);
    assert_eq!(paths[0].as_path, [asn, as1], "{}", paths[0]);
}
