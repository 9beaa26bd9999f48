//! The harness against the real daemons: BIRD, FRR and GoBGP peer with each other in a lab,
//! over IPv4 and IPv6 sessions, iBGP and eBGP (four-octet ASNs included), with MD5, through a
//! route reflector; originated prefixes arrive as each daemon's own CLI shows them; and the lab
//! is gone afterwards.

use std::net::IpAddr;
use std::time::Duration;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Frr, Gobgp, Host, IpPrefix, Lab, Neighbor, Result, is_root,
    list_namespaces, wait_until,
};

const ESTABLISH: Duration = Duration::from_secs(20);
const CONVERGE: Duration = Duration::from_secs(10);

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return Ok(());
        }
    };
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Bird,
    Frr,
    Gobgp,
}

fn start(kind: Kind, host: &Host, config: &BgpConfig) -> Result<Box<dyn BgpDaemon>> {
    Ok(match kind {
        Kind::Bird => Box::new(Bird::start(host, config)?),
        Kind::Frr => Box::new(Frr::start(host, config)?),
        Kind::Gobgp => Box::new(Gobgp::start(host, config)?),
    })
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// A speaker on `host` peering with `peer` over both an IPv4 and an IPv6 session, originating
/// one prefix of each family.
fn config(host: &Host, local_as: u32, peer: &Host, peer_as: u32, routes: [&str; 2]) -> BgpConfig {
    BgpConfig::for_host(host, local_as)
        .neighbor(Neighbor::to_host(peer, Family::V4, peer_as))
        .neighbor(Neighbor::to_host(peer, Family::V6, peer_as))
        .route(routes[0])
        .route(routes[1])
}

/// Two daemons exchange an IPv4 and an IPv6 prefix each, on IPv4 and IPv6 sessions.
fn exchange(a_kind: Kind, a_as: u32, b_kind: Kind, b_as: u32) -> Result<()> {
    let lab = Lab::new()?;
    let (ha, hb) = (lab.add_host("a")?, lab.add_host("b")?);
    let a_routes = ["192.0.2.0/24", "2001:db8:a::/48"];
    let b_routes = ["198.51.100.0/24", "2001:db8:b::/48"];
    let a = start(a_kind, &ha, &config(&ha, a_as, &hb, b_as, a_routes))?;
    let b = start(b_kind, &hb, &config(&hb, b_as, &ha, a_as, b_routes))?;
    for family in [Family::V4, Family::V6] {
        a.wait_established(hb.ip(family), ESTABLISH)?;
        b.wait_established(ha.ip(family), ESTABLISH)?;
    }
    let ibgp = a_as == b_as;
    for (rx, tx_host, tx_as, routes) in [(&b, &ha, a_as, a_routes), (&a, &hb, b_as, b_routes)] {
        for p in routes {
            let p = prefix(p);
            let r = rx.wait_route(p, CONVERGE)?;
            let expected_path = if ibgp { vec![] } else { vec![tx_as] };
            assert_eq!(r.as_path, expected_path, "{}: {r}", rx.describe());
            assert_eq!(
                r.next_hop,
                Some(tx_host.ip(p.family())),
                "{}: {r}",
                rx.describe()
            );
        }
    }
    Ok(())
}

#[test]
fn bird_and_frr_ebgp_with_a_four_octet_as() -> Result<()> {
    require_root!();
    exchange(Kind::Bird, 65001, Kind::Frr, 4_200_000_001)
}

#[test]
fn bird_and_frr_ibgp() -> Result<()> {
    require_root!();
    exchange(Kind::Bird, 64512, Kind::Frr, 64512)
}

#[test]
fn bird_and_gobgp_ebgp() -> Result<()> {
    require_root!();
    exchange(Kind::Bird, 65001, Kind::Gobgp, 65003)
}

#[test]
fn bird_and_gobgp_ibgp_with_a_four_octet_as() -> Result<()> {
    require_root!();
    exchange(Kind::Gobgp, 4_200_000_001, Kind::Bird, 4_200_000_001)
}

#[test]
fn frr_and_gobgp_ebgp_with_a_four_octet_as() -> Result<()> {
    require_root!();
    exchange(Kind::Frr, 65002, Kind::Gobgp, 4_200_000_001)
}

#[test]
fn frr_and_gobgp_ibgp() -> Result<()> {
    require_root!();
    exchange(Kind::Frr, 64512, Kind::Gobgp, 64512)
}

#[test]
fn md5_with_the_same_password_establishes_and_a_wrong_one_does_not() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (ha, hb, hc) = (lab.add_host("a")?, lab.add_host("b")?, lab.add_host("c")?);
    let peer = |h: &Host, pw: &str| Neighbor::to_host(h, Family::V4, 65002).md5(pw);
    let bird = Bird::start(
        &ha,
        &BgpConfig::for_host(&ha, 65001)
            .neighbor(peer(&hb, "s3cret-pw"))
            .neighbor(peer(&hc, "s3cret-pw"))
            .route("192.0.2.0/24"),
    )?;
    let to_bird = Neighbor::to_host(&ha, Family::V4, 65001);
    let good = Frr::start(
        &hb,
        &BgpConfig::for_host(&hb, 65002).neighbor(to_bird.clone().md5("s3cret-pw")),
    )?;
    let bad = Frr::start(
        &hc,
        &BgpConfig::for_host(&hc, 65002).neighbor(to_bird.md5("wrong-pw")),
    )?;
    good.wait_established(ha.ipv4().into(), ESTABLISH)?;
    bird.wait_established(hb.ipv4().into(), ESTABLISH)?;
    good.wait_route(prefix("192.0.2.0/24"), CONVERGE)?;
    // The wrong password never gets a session (the kernel drops unsigned/mis-signed segments).
    let reached = wait_until(Duration::from_secs(3), || {
        bad.session_state(ha.ipv4().into())
            .is_ok_and(|s| s == brindle_lab::ESTABLISHED)
    });
    assert!(!reached, "a wrong MD5 password established a session");
    assert_ne!(
        bird.session_state(hc.ipv4().into())?,
        brindle_lab::ESTABLISHED
    );
    Ok(())
}

#[test]
fn a_bird_route_reflector_reflects_between_frr_and_gobgp() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (hrr, hf, hg) = (
        lab.add_host("rr")?,
        lab.add_host("frr")?,
        lab.add_host("gobgp")?,
    );
    let asn = 64512;
    let cluster = std::net::Ipv4Addr::new(10, 255, 0, 1);
    let rr = Bird::start(
        &hrr,
        &BgpConfig::for_host(&hrr, asn)
            .cluster_id(cluster)
            .neighbor(Neighbor::to_host(&hf, Family::V4, asn).rr_client())
            .neighbor(Neighbor::to_host(&hg, Family::V4, asn).rr_client()),
    )?;
    let to_rr = Neighbor::to_host(&hrr, Family::V4, asn);
    let frr = Frr::start(
        &hf,
        &BgpConfig::for_host(&hf, asn)
            .neighbor(to_rr.clone())
            .route("198.51.100.0/24"),
    )?;
    let gobgp = Gobgp::start(
        &hg,
        &BgpConfig::for_host(&hg, asn)
            .neighbor(to_rr)
            .route("203.0.113.0/24"),
    )?;
    rr.wait_established(hf.ipv4().into(), ESTABLISH)?;
    rr.wait_established(hg.ipv4().into(), ESTABLISH)?;

    let at_gobgp = gobgp.wait_route(prefix("198.51.100.0/24"), CONVERGE)?;
    assert_eq!(at_gobgp.originator_id, Some(hf.ipv4()), "{at_gobgp}");
    assert_eq!(at_gobgp.cluster_list, [cluster], "{at_gobgp}");
    assert_eq!(at_gobgp.next_hop, Some(IpAddr::V4(hf.ipv4())), "{at_gobgp}");

    let at_frr = frr.wait_route(prefix("203.0.113.0/24"), CONVERGE)?;
    assert_eq!(at_frr.originator_id, Some(hg.ipv4()), "{at_frr}");
    assert_eq!(at_frr.cluster_list.len(), 1, "{at_frr}");
    assert_eq!(at_frr.source, Some(hrr.ipv4().to_string()), "{at_frr}");
    Ok(())
}

#[test]
fn withdrawals_propagate_and_the_lab_is_gone_afterwards() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (ha, hb, hc) = (lab.add_host("a")?, lab.add_host("b")?, lab.add_host("c")?);
    let cfg = |h: &Host, asn| {
        BgpConfig::for_host(h, asn).neighbor(Neighbor::to_host(&hb, Family::V4, 65002))
    };
    let mut frr = Frr::start(&ha, &cfg(&ha, 65001))?;
    let bird = Bird::start(
        &hb,
        &BgpConfig::for_host(&hb, 65002)
            .install_routes(true)
            .neighbor(Neighbor::to_host(&ha, Family::V4, 65001))
            .neighbor(Neighbor::to_host(&hc, Family::V4, 65003)),
    )?;
    let mut gobgp = Gobgp::start(&hc, &cfg(&hc, 65003))?;

    let p = prefix("192.0.2.0/24");
    frr.announce(p)?;
    let q = prefix("203.0.113.0/24");
    gobgp.announce(q)?;
    let r = bird.wait_route(p, ESTABLISH)?;
    assert_eq!(r.as_path, [65001]);
    // BIRD passes it on to GoBGP...
    let r = gobgp.wait_route(p, CONVERGE)?;
    assert_eq!(r.as_path, [65002, 65001]);
    // ...and installs what it learned in its own namespace's kernel table.
    bird.wait_route(q, CONVERGE)?;
    assert!(wait_until(CONVERGE, || hb.route(q).is_ok_and(
        |r| r.is_some_and(|r| r.gateways == [IpAddr::V4(hc.ipv4())])
    )));

    frr.withdraw(p)?;
    bird.wait_no_route(p, CONVERGE)?;
    gobgp.wait_no_route(p, CONVERGE)?;
    gobgp.withdraw(q)?;
    bird.wait_no_route(q, CONVERGE)?;
    assert!(wait_until(CONVERGE, || hb
        .route(q)
        .is_ok_and(|r| r.is_none())));

    let namespaces = lab.namespaces();
    let pids = lab.process_ids();
    assert_eq!(namespaces.len(), 4);
    assert_eq!(pids.len(), 4, "bird, zebra, bgpd, gobgpd: {pids:?}");
    let dir = lab.dir().to_path_buf();
    drop((frr, bird, gobgp));
    drop(lab);
    let left = list_namespaces()?;
    for ns in &namespaces {
        assert!(!left.contains(ns), "{ns} still exists");
    }
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still runs"
        );
    }
    assert!(!dir.exists());
    Ok(())
}

#[test]
fn dropping_the_lab_first_still_stops_every_daemon() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (ha, hb) = (lab.add_host("a")?, lab.add_host("b")?);
    let bird = Bird::start(
        &ha,
        &config(&ha, 65001, &hb, 65002, ["192.0.2.0/24", "2001:db8::/48"]),
    )?;
    let frr = Frr::start(
        &hb,
        &config(
            &hb,
            65002,
            &ha,
            65001,
            ["198.51.100.0/24", "2001:db8:1::/48"],
        ),
    )?;
    let pids = lab.process_ids();
    assert_eq!(pids.len(), 3);
    let name = lab.name().to_string();
    drop(lab); // before the daemons' handles
    assert!(!bird.is_running() && !frr.is_running());
    assert!(list_namespaces()?.iter().all(|n| !n.starts_with(&name)));
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still runs"
        );
    }
    Ok(())
}

#[test]
fn ipv6_routes_over_an_ipv4_session() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (ha, hb, hc) = (lab.add_host("a")?, lab.add_host("b")?, lab.add_host("c")?);
    let both = [Family::V4, Family::V6];
    let bird = Bird::start(
        &ha,
        &BgpConfig::for_host(&ha, 65001)
            .neighbor(Neighbor::to_host(&hb, Family::V4, 65002).families(&both))
            .neighbor(Neighbor::to_host(&hc, Family::V4, 65003).families(&both))
            .route("2001:db8:a::/48"),
    )?;
    let frr = Frr::start(
        &hb,
        &BgpConfig::for_host(&hb, 65002)
            .neighbor(Neighbor::to_host(&ha, Family::V4, 65001).families(&both)),
    )?;
    let gobgp = Gobgp::start(
        &hc,
        &BgpConfig::for_host(&hc, 65003)
            .neighbor(Neighbor::to_host(&ha, Family::V4, 65001).families(&both))
            .route("2001:db8:c::/48"),
    )?;
    let a6 = IpAddr::V6(ha.ipv6());
    // BIRD sets the IPv6 next hop to its host's address ("next hop address").
    let r = frr.wait_route(prefix("2001:db8:a::/48"), ESTABLISH)?;
    assert_eq!(r.next_hop, Some(a6), "{r}");
    let r = gobgp.wait_route(prefix("2001:db8:a::/48"), ESTABLISH)?;
    assert_eq!(r.next_hop, Some(a6), "{r}");
    // GoBGP announces with the next hop it was given; BIRD passes it on to FRR.
    let r = bird.wait_route(prefix("2001:db8:c::/48"), CONVERGE)?;
    assert_eq!(r.next_hop, Some(IpAddr::V6(hc.ipv6())), "{r}");
    let r = frr.wait_route(prefix("2001:db8:c::/48"), CONVERGE)?;
    assert_eq!(r.as_path, [65001, 65003], "{r}");
    Ok(())
}

#[test]
fn every_session_option_is_accepted_by_every_daemon() -> Result<()> {
    require_root!();
    let lab = Lab::new()?;
    let (ha, hb, hc) = (lab.add_host("a")?, lab.add_host("b")?, lab.add_host("c")?);
    let hold = Duration::from_secs(9);
    // BIRD waits for FRR (passive) on a multihop session with ADD-PATH and graceful restart.
    let bird = Bird::start(
        &ha,
        &BgpConfig::for_host(&ha, 65001).neighbor(
            Neighbor::to_host(&hb, Family::V4, 65002)
                .passive()
                .add_path()
                .graceful_restart()
                .multihop(2)
                .hold_time(hold),
        ),
    )?;
    // GoBGP listens on port 1179 only and waits for FRR too.
    let gobgp = Gobgp::start(
        &hc,
        &BgpConfig::for_host(&hc, 65003)
            .listen(Some(IpAddr::V4(hc.ipv4())), 1179)
            .neighbor(
                Neighbor::to_host(&hb, Family::V4, 65002)
                    .passive()
                    .add_path()
                    .graceful_restart()
                    .hold_time(hold),
            )
            .route("203.0.113.0/24"),
    )?;
    let frr = Frr::start(
        &hb,
        &BgpConfig::for_host(&hb, 65002)
            .neighbor(
                Neighbor::to_host(&ha, Family::V4, 65001)
                    .add_path()
                    .graceful_restart()
                    .multihop(2)
                    .hold_time(hold),
            )
            .neighbor(
                Neighbor::to_host(&hc, Family::V4, 65003)
                    .port(1179)
                    .add_path()
                    .graceful_restart()
                    .hold_time(hold),
            ),
    )?;
    frr.wait_established(ha.ipv4().into(), ESTABLISH)?;
    frr.wait_established(hc.ipv4().into(), ESTABLISH)?;
    let r = bird.wait_route(prefix("203.0.113.0/24"), CONVERGE)?;
    assert_eq!(r.as_path, [65002, 65003], "{r}");
    // The negotiated options, as BIRD reports them.
    let proto = bird.birdc(&["show", "protocols", "all", "n0"])?;
    assert!(
        proto.contains("Hold timer") && proto.contains("/9"),
        "{proto}"
    );
    assert!(proto.contains("ADD-PATH"), "{proto}");
    assert!(proto.contains("Graceful restart"), "{proto}");
    drop(gobgp);
    Ok(())
}
