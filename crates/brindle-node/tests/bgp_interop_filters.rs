//! Per-peer filters (Calico BGPFilter rules) with BIRD: an export rule keeps one of our prefixes
//! from BIRD, an import rule keeps one of BIRD's from our table; lifting both with SIGHUP sends
//! and fetches the routes (ROUTE-REFRESH) without a new session.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

mod support;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, Family, Lab, Neighbor, is_root};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, wait_peer_state};

#[test]
fn filters_apply_both_ways_and_change_without_a_new_session() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let filters = "  exportV4:\n  - {cidr: 10.78.0.0/16, matchOperator: In, action: Reject}\n  importV4:\n  - {cidr: 192.0.2.0/24, matchOperator: Equal, action: Reject}\n";
    let config = |extra: &str| {
        format!(
            "routerId: {}\nasNumber: 64512\npeers:\n{}prefixes: [10.77.0.0/24, 10.78.0.0/24]\n",
            a.ipv4(),
            peer_line(&b, 64512, extra)
        )
    };
    let speaker = Brindle::start(&a, &config(filters));
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512))
            .route("192.0.2.0/24")
            .route("198.51.100.0/24"),
    )
    .unwrap();
    bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    let up = wait_peer_state(&speaker, IpAddr::V4(b.ipv4()), "Established");

    // Filtered: BIRD gets 10.77 but never 10.78; we take 198.51.100 but not 192.0.2.
    bird.wait_route("10.77.0.0/24".parse().unwrap(), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    speaker.wait_route("198.51.100.0/24", true);
    assert!(
        bird.route("10.78.0.0/24".parse().unwrap())
            .unwrap()
            .is_empty(),
        "export filter ignored"
    );
    assert!(
        !speaker.routes().iter().any(|r| r.prefix == "192.0.2.0/24"),
        "import filter ignored"
    );

    // Lifted by a reload: both routes arrive, on the same session.
    speaker.reload(&config(""));
    bird.wait_route("10.78.0.0/24".parse().unwrap(), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    speaker.wait_route("192.0.2.0/24", true);
    let after = speaker.peer(IpAddr::V4(b.ipv4()));
    assert_eq!(
        (after.state.as_str(), after.since),
        ("Established", up.since),
        "the session was reset"
    );
}

/// `addCommunities` on accepting rules: BIRD sees the standard and large communities an export
/// rule adds (on the routes it matches only), and brindle's table holds those an import rule
/// adds to a route from BIRD.
#[test]
fn accepting_rules_add_communities_both_ways() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let rules = "  exportV4:\n  - cidr: 10.77.0.0/16\n    matchOperator: In\n    action: Accept\n    addCommunities: [\"64512:100\", \"64512:1:2\"]\n  importV4:\n  - {cidr: 198.51.100.0/24, matchOperator: Equal, action: Accept, addCommunities: [\"64513:200\", \"65000:7:8\"]}\n";
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: 64512\npeers:\n{}prefixes: [10.77.0.0/24, 10.78.0.0/24]\n",
            a.ipv4(),
            peer_line(&b, 64513, rules)
        ),
    );
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64513)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512))
            .route("192.0.2.0/24")
            .route("198.51.100.0/24"),
    )
    .unwrap();
    bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));

    // Export: BIRD's own view of the route the rule matched carries both communities.
    let tagged = bird
        .wait_route("10.77.0.0/24".parse().unwrap(), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(tagged.communities, ["64512:100"], "{tagged}");
    let shown = bird
        .birdc(&["show", "route", "for", "10.77.0.0/24", "all"])
        .unwrap();
    assert!(
        shown.contains("BGP.large_community: (64512, 1, 2)"),
        "{shown}"
    );
    // The other prefix matched no rule: accepted as it was, without communities.
    let plain = bird
        .wait_route("10.78.0.0/24".parse().unwrap(), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert!(plain.communities.is_empty(), "{plain}");
    let shown = bird
        .birdc(&["show", "route", "for", "10.78.0.0/24", "all"])
        .unwrap();
    assert!(!shown.contains("community"), "{shown}");

    // Import: the route the rule matched has them in brindle's table, the other does not.
    let route = speaker.wait_route("198.51.100.0/24", true).unwrap();
    assert_eq!(
        route.paths[0].communities,
        ["64513:200", "65000:7:8"],
        "{route:?}"
    );
    let other = speaker.wait_route("192.0.2.0/24", true).unwrap();
    assert!(other.paths[0].communities.is_empty(), "{other:?}");
}
