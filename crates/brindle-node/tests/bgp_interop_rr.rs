//! Route reflection (RFC 4456) with brindle on either side: brindle reflecting for BIRD clients
//! (and a non-client), and brindle as a client of a BIRD reflector learning what an FRR client
//! originated. ORIGINATOR_ID and CLUSTER_LIST are checked as the receivers show them.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

mod support;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Frr, Host, IpPrefix, Lab, Neighbor, is_root,
};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line};

const ASN: u32 = 64512;

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn bird_to(brindle: &Host, host: &Host, route: &str) -> Bird {
    Bird::start(
        host,
        &BgpConfig::for_host(host, ASN)
            .neighbor(Neighbor::to_host(brindle, Family::V4, ASN))
            .route(route),
    )
    .unwrap()
}

#[test]
fn brindle_reflects_between_bird_clients_and_a_non_client() {
    require_root!();
    let lab = Lab::new().unwrap();
    let rr = lab.add_host("rr").unwrap();
    let (c1, c2, nc) = (
        lab.add_host("c1").unwrap(),
        lab.add_host("c2").unwrap(),
        lab.add_host("nc").unwrap(),
    );
    let cluster = Ipv4Addr::new(244, 0, 0, 1);
    let client = "  routeReflectorClient: true\n";
    let speaker = Brindle::start(
        &rr,
        &format!(
            "routerId: {}\nasNumber: {ASN}\nclusterId: {cluster}\npeers:\n{}{}{}prefixes: [10.77.0.0/24]\n",
            rr.ipv4(),
            peer_line(&c1, ASN, client),
            peer_line(&c2, ASN, client),
            peer_line(&nc, ASN, ""),
        ),
    );
    let b1 = bird_to(&rr, &c1, "192.0.2.0/24");
    let b2 = bird_to(&rr, &c2, "198.51.100.0/24");
    let b3 = bird_to(&rr, &nc, "203.0.113.0/24");
    for b in [&b1, &b2, &b3] {
        if let Err(e) = b.wait_established(IpAddr::V4(rr.ipv4()), ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }

    // (receiver, prefix, originating host): client to client, client to non-client, non-client
    // to client.
    let cases: [(&Bird, &str, &Host); 6] = [
        (&b1, "198.51.100.0/24", &c2),
        (&b2, "192.0.2.0/24", &c1),
        (&b3, "192.0.2.0/24", &c1),
        (&b3, "198.51.100.0/24", &c2),
        (&b1, "203.0.113.0/24", &nc),
        (&b2, "203.0.113.0/24", &nc),
    ];
    for (receiver, p, origin) in cases {
        let r = receiver
            .wait_route(prefix(p), CONVERGE)
            .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
        assert_eq!(
            r.originator_id,
            Some(origin.ipv4()),
            "{} on {}: {r}",
            p,
            receiver.describe()
        );
        assert_eq!(
            r.cluster_list,
            [cluster],
            "{p} on {}: {r}",
            receiver.describe()
        );
        // iBGP: the next hop is left alone, the AS path stays empty.
        assert_eq!(r.next_hop, Some(IpAddr::V4(origin.ipv4())), "{r}");
        assert!(r.as_path.is_empty(), "{r}");
    }
    // A reflector's own routes carry neither attribute.
    for b in [&b1, &b2, &b3] {
        let r = b
            .wait_route(prefix("10.77.0.0/24"), CONVERGE)
            .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
        assert_eq!(r.originator_id, None, "{r}");
        assert!(r.cluster_list.is_empty(), "{r}");
        assert_eq!(r.next_hop, Some(IpAddr::V4(rr.ipv4())), "{r}");
    }
    // No client gets its own route back.
    for (b, own) in [(&b1, "192.0.2.0/24"), (&b2, "198.51.100.0/24")] {
        let paths = b.route(prefix(own)).unwrap();
        assert!(
            paths.iter().all(|r| r.source.is_none()),
            "{own} came back to its originator: {paths:?}"
        );
    }
}

#[test]
fn brindle_as_a_client_of_a_bird_reflector_learns_another_clients_route() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, rr, f) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("rr").unwrap(),
        lab.add_host("frr").unwrap(),
    );
    let cluster = Ipv4Addr::new(244, 0, 0, 9);
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: {ASN}\npeers:\n{}prefixes: [10.77.0.0/24]\n",
            a.ipv4(),
            peer_line(&rr, ASN, "")
        ),
    );
    let bird = Bird::start(
        &rr,
        &BgpConfig::for_host(&rr, ASN)
            .cluster_id(cluster)
            .neighbor(Neighbor::to_host(&a, Family::V4, ASN).rr_client())
            .neighbor(Neighbor::to_host(&f, Family::V4, ASN).rr_client()),
    )
    .unwrap();
    let frr = Frr::start(
        &f,
        &BgpConfig::for_host(&f, ASN)
            .neighbor(Neighbor::to_host(&rr, Family::V4, ASN))
            .route("192.0.2.0/24"),
    )
    .unwrap();
    for addr in [IpAddr::V4(a.ipv4()), IpAddr::V4(f.ipv4())] {
        if let Err(e) = bird.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }

    // brindle's view of the FRR client's route, reflected by BIRD.
    let r = speaker.wait_route("192.0.2.0/24", true).unwrap();
    let p = &r.paths[0];
    assert!(p.best, "{r:?}");
    assert_eq!(p.from, Some(IpAddr::V4(rr.ipv4())), "{r:?}");
    assert_eq!(p.next_hop, Some(IpAddr::V4(f.ipv4())), "{r:?}");
    assert_eq!(p.originator_id, Some(f.ipv4().to_string()), "{r:?}");
    assert_eq!(p.cluster_list, [cluster.to_string()], "{r:?}");
    assert_eq!(p.as_path, "", "{r:?}");

    // FRR's view of brindle's route, reflected the other way.
    let r = frr
        .wait_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(r.originator_id, Some(a.ipv4()), "{r}");
    assert_eq!(r.cluster_list, [cluster], "{r}");
    assert_eq!(r.next_hop, Some(IpAddr::V4(a.ipv4())), "{r}");

    // A withdrawal travels through the reflector too.
    let mut frr = frr;
    frr.withdraw(prefix("192.0.2.0/24")).unwrap();
    speaker.wait_route("192.0.2.0/24", false);
}
