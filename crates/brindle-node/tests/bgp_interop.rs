//! brindle's speaker (`brindle-node bgp`) against real BGP implementations, each in its own
//! network namespace of a lab, judged by the other implementation's own view (birdc, vtysh,
//! gobgp) and by `brindlectl bgp peers`.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

mod support;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, Family, IpPrefix, Lab, Neighbor, is_root, wait_for};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, peer_line_v6};

/// brindle (AS 64512, expecting its peer in `expected_as`) and BIRD (AS 64512) on two hosts of
/// a new lab, one IPv4 session between them.
fn brindle_and_bird(expected_as: u32) -> (Lab, Brindle, Bird, brindle_lab::Host) {
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let config = format!(
        "routerId: {}\nasNumber: 64512\npeers:\n{}",
        a.ipv4(),
        peer_line(&b, expected_as, "")
    );
    let speaker = Brindle::start(&a, &config);
    let bird_config =
        BgpConfig::for_host(&b, 64512).neighbor(Neighbor::to_host(&a, Family::V4, 64512));
    let bird = Bird::start(&b, &bird_config).unwrap();
    (lab, speaker, bird, a)
}

#[test]
fn ibgp_session_with_bird_establishes_and_shows_in_status() {
    require_root!();
    let (lab, speaker, bird, a) = brindle_and_bird(64512);
    if let Err(e) = bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
    let table = speaker.peers_table();
    let peer = bird.host().ipv4().to_string();
    assert!(
        table.contains(&peer) && table.contains("| up ") && table.contains("Established"),
        "{table}"
    );
    drop(lab);
}

#[test]
fn wrong_peer_as_is_reported_in_words() {
    require_root!();
    // brindle expects AS 64513 but BIRD is AS 64512.
    let (_lab, speaker, _bird, _a) = brindle_and_bird(64513);
    let table = wait_for(ESTABLISH, || {
        let t = speaker.peers_table();
        t.contains("Bad Peer AS").then_some(t)
    });
    assert!(
        table.is_some(),
        "no Bad Peer AS in status: {}\n{}",
        speaker.peers_table(),
        speaker.log()
    );
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Routes both ways with BIRD, IPv4 and IPv6 (each family on a session of its own), then
/// withdrawals both ways.
fn exchange_with_bird(brindle_as: u32, bird_as: u32) {
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let ours = format!(
        "routerId: {}\nasNumber: {brindle_as}\npeers:\n{}prefixes: [10.77.0.0/24, \"fd00:77::/64\"]\n",
        a.ipv4(),
        peer_line(&b, bird_as, "") + &peer_line_v6(&b, bird_as)
    );
    let speaker = Brindle::start(&a, &ours);
    let mut bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, bird_as)
            .neighbor(Neighbor::to_host(&a, Family::V4, brindle_as))
            .neighbor(Neighbor::to_host(&a, Family::V6, brindle_as))
            .route("192.0.2.0/24")
            .route("2001:db8:b::/48"),
    )
    .unwrap();
    for addr in [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())] {
        if let Err(e) = bird.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    // BIRD's view of our routes: next hop is our address; eBGP prepends our AS.
    let want_path: Vec<u32> = if brindle_as == bird_as {
        vec![]
    } else {
        vec![brindle_as]
    };
    let r = bird
        .wait_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(r.next_hop, Some(IpAddr::V4(a.ipv4())));
    assert_eq!(r.as_path, want_path);
    let r6 = bird
        .wait_route(prefix("fd00:77::/64"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(r6.as_path, want_path);
    assert_eq!(r6.next_hop, Some(IpAddr::V6(a.ipv6())));
    // Our view of BIRD's routes.
    let mine = speaker.wait_route("192.0.2.0/24", true).unwrap();
    assert_eq!(mine.paths[0].from, Some(IpAddr::V4(b.ipv4())));
    assert!(mine.paths[0].best);
    speaker.wait_route("2001:db8:b::/48", true);
    // Withdrawals: ours by reloading without the prefix, BIRD's from its config.
    speaker.reload(&ours.replace("10.77.0.0/24, ", ""));
    bird.wait_no_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert!(
        bird.route(prefix("fd00:77::/64")).unwrap().len() == 1,
        "the other prefix stays"
    );
    bird.withdraw(prefix("192.0.2.0/24")).unwrap();
    speaker.wait_route("192.0.2.0/24", false);
}

#[test]
fn ibgp_routes_flow_both_ways_with_bird_and_are_withdrawn() {
    require_root!();
    exchange_with_bird(64512, 64512);
}

#[test]
fn ebgp_between_four_octet_ases_with_bird() {
    require_root!();
    exchange_with_bird(4_200_000_001, 4_200_000_002);
}
