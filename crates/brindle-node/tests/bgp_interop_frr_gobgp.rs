//! brindle's speaker against FRR (bgpd with zebra) and GoBGP: routes both ways over IPv4 and
//! IPv6 (one session per family, as Calico does), then withdrawals both ways; iBGP, and eBGP
//! between four-octet AS numbers. Judged by vtysh / gobgp and by brindle's own status.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

mod support;

use brindle_lab::{
    BgpConfig, BgpDaemon, Family, Frr, Gobgp, Host, IpPrefix, Lab, Neighbor, is_root,
};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, peer_line_v6};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Frr,
    Gobgp,
}

fn start(kind: Kind, host: &Host, config: &BgpConfig) -> Box<dyn BgpDaemon> {
    match kind {
        Kind::Frr => Box::new(Frr::start(host, config).unwrap_or_else(|e| panic!("{e}"))),
        Kind::Gobgp => Box::new(Gobgp::start(host, config).unwrap_or_else(|e| panic!("{e}"))),
    }
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Routes both ways with `kind`, IPv4 and IPv6 each on a session of its own, then withdrawals
/// both ways, each family.
fn exchange(kind: Kind, brindle_as: u32, peer_as: u32) {
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("peer").unwrap(),
    );
    let ours = format!(
        "routerId: {}\nasNumber: {brindle_as}\npeers:\n{}prefixes: [10.77.0.0/24, \"fd00:77::/64\"]\n",
        a.ipv4(),
        peer_line(&b, peer_as, "") + &peer_line_v6(&b, peer_as)
    );
    let speaker = Brindle::start(&a, &ours);
    let mut other = start(
        kind,
        &b,
        &BgpConfig::for_host(&b, peer_as)
            .neighbor(Neighbor::to_host(&a, Family::V4, brindle_as))
            .neighbor(Neighbor::to_host(&a, Family::V6, brindle_as))
            .route("192.0.2.0/24")
            .route("2001:db8:b::/48"),
    );
    for addr in [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())] {
        if let Err(e) = other.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    // brindle's own status: both sessions up, four-octet AS numbers negotiated, one family each.
    for (addr, family) in [
        (IpAddr::V4(b.ipv4()), "ipv4-unicast"),
        (IpAddr::V6(b.ipv6()), "ipv6-unicast"),
    ] {
        let p = support::wait_peer_state(&speaker, addr, "Established");
        let n = p.negotiated.as_ref().unwrap();
        assert!(n.four_octet_as, "{p:?}");
        assert_eq!(n.families.len(), 1, "{p:?}");
        assert_eq!(n.families, [family], "{p:?}");
        assert_eq!(p.remote_as, peer_as);
    }

    // The other side's view of our routes: our address as next hop; eBGP prepends our AS.
    let want_path: Vec<u32> = if brindle_as == peer_as {
        vec![]
    } else {
        vec![brindle_as]
    };
    for (p, nh) in [
        ("10.77.0.0/24", IpAddr::V4(a.ipv4())),
        ("fd00:77::/64", IpAddr::V6(a.ipv6())),
    ] {
        let r = other
            .wait_route(prefix(p), CONVERGE)
            .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
        assert_eq!(r.next_hop, Some(nh), "{r}");
        assert_eq!(r.as_path, want_path, "{r}");
    }

    // Our view of theirs.
    let want_text = if brindle_as == peer_as {
        String::new()
    } else {
        peer_as.to_string()
    };
    for (p, from, nh) in [
        ("192.0.2.0/24", IpAddr::V4(b.ipv4()), IpAddr::V4(b.ipv4())),
        (
            "2001:db8:b::/48",
            IpAddr::V6(b.ipv6()),
            IpAddr::V6(b.ipv6()),
        ),
    ] {
        let r = speaker.wait_route(p, true).unwrap();
        let best = &r.paths[0];
        assert!(best.best, "{r:?}");
        assert_eq!(best.from, Some(from), "{r:?}");
        assert_eq!(best.next_hop, Some(nh), "{r:?}");
        assert_eq!(best.as_path, want_text, "{r:?}");
    }

    // Withdrawals: ours by reloading without the prefixes (one family at a time), theirs with
    // their own CLI.
    let without_v4 = ours.replace("10.77.0.0/24, ", "");
    speaker.reload(&without_v4);
    other
        .wait_no_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(
        other.route(prefix("fd00:77::/64")).unwrap().len(),
        1,
        "the IPv6 prefix stays"
    );
    speaker.reload(&without_v4.replace("\"fd00:77::/64\"", ""));
    other
        .wait_no_route(prefix("fd00:77::/64"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));

    other.withdraw(prefix("192.0.2.0/24")).unwrap();
    speaker.wait_route("192.0.2.0/24", false);
    assert!(
        speaker
            .routes()
            .iter()
            .any(|r| r.prefix == "2001:db8:b::/48"),
        "the IPv6 prefix stays"
    );
    other.withdraw(prefix("2001:db8:b::/48")).unwrap();
    speaker.wait_route("2001:db8:b::/48", false);

    // Sessions survived all of it.
    for addr in [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())] {
        assert_eq!(other.session_state(addr).unwrap(), "Established");
    }
}

#[test]
fn ibgp_routes_flow_both_ways_with_frr_and_are_withdrawn() {
    require_root!();
    exchange(Kind::Frr, 64512, 64512);
}

#[test]
fn ebgp_between_four_octet_ases_with_frr() {
    require_root!();
    exchange(Kind::Frr, 4_200_000_001, 4_200_000_002);
}

#[test]
fn ibgp_routes_flow_both_ways_with_gobgp_and_are_withdrawn() {
    require_root!();
    exchange(Kind::Gobgp, 64512, 64512);
}

#[test]
fn ebgp_between_four_octet_ases_with_gobgp() {
    require_root!();
    exchange(Kind::Gobgp, 4_200_000_003, 4_200_000_004);
}
