//! `kernel: {enabled: true}`: brindle's best paths from BIRD become kernel routes of proto 81
//! in brindle's namespace (ECMP merged), follow withdrawals, go on SIGTERM, and survive a crash
//! until the restarted speaker has converged. Judged by `ip route show proto 81` there.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

mod support;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Host, IpPrefix, Lab, Neighbor, is_root, wait_for,
    wait_until,
};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, peer_line_v6};

/// brindle's route protocol number.
const PROTO: &str = "81";

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// `ip [-6] route show proto 81` in `host`, one trimmed line per route or next hop.
fn kernel_routes(host: &Host, family: Family) -> Vec<String> {
    let flag = match family {
        Family::V4 => "-4",
        Family::V6 => "-6",
    };
    host.run("ip", &[flag, "route", "show", "proto", PROTO])
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// Waits until `ip route show proto 81` in brindle's host is `want`.
#[track_caller]
fn wait_kernel(speaker: &Brindle, host: &Host, family: Family, want: &[String]) {
    let ok = wait_until(CONVERGE, || kernel_routes(host, family) == want);
    assert!(
        ok,
        "ip route show proto {PROTO}: {:?}, want {want:?}\nbrindle log:\n{}",
        kernel_routes(host, family),
        speaker.log()
    );
}

fn wait_up(bird: &Bird, brindle_addr: IpAddr, speaker: &Brindle) {
    if let Err(e) = bird.wait_established(brindle_addr, ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
}

fn bird_to(host: &Host, brindle: &Host, v6: bool, routes: &[&str]) -> Bird {
    let mut c =
        BgpConfig::for_host(host, 64512).neighbor(Neighbor::to_host(brindle, Family::V4, 64512));
    if v6 {
        c = c.neighbor(Neighbor::to_host(brindle, Family::V6, 64512));
    }
    for r in routes {
        c = c.route(r);
    }
    Bird::start(host, &c).unwrap()
}

#[test]
fn learned_routes_are_installed_ecmp_merged_withdrawn_and_removed_on_sigterm() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b1, b2) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird1").unwrap(),
        lab.add_host("bird2").unwrap(),
    );
    let config = format!(
        "routerId: {}\nasNumber: 64512\nkernel:\n  enabled: true\npeers:\n{}{}{}",
        a.ipv4(),
        peer_line(&b1, 64512, ""),
        peer_line_v6(&b1, 64512),
        peer_line(&b2, 64512, "")
    );
    let speaker = Brindle::start(&a, &config);
    let mut bird1 = bird_to(&b1, &a, true, &["192.0.2.0/24", "2001:db8:b::/48"]);
    let mut bird2 = bird_to(&b2, &a, false, &["192.0.2.0/24"]);
    wait_up(&bird1, IpAddr::V4(a.ipv4()), &speaker);
    wait_up(&bird1, IpAddr::V6(a.ipv6()), &speaker);
    wait_up(&bird2, IpAddr::V4(a.ipv4()), &speaker);

    // Two equal iBGP paths: one multipath route, next hops in address order.
    let (n1, n2) = (b1.ipv4().to_string(), b2.ipv4().to_string());
    let (lo, hi) = if b1.ipv4() < b2.ipv4() {
        (&n1, &n2)
    } else {
        (&n2, &n1)
    };
    wait_kernel(
        &speaker,
        &a,
        Family::V4,
        &[
            "192.0.2.0/24".into(),
            format!("nexthop via {lo} dev eth0 weight 1"),
            format!("nexthop via {hi} dev eth0 weight 1"),
        ],
    );
    wait_kernel(
        &speaker,
        &a,
        Family::V6,
        &[format!(
            "2001:db8:b::/48 via {} dev eth0 metric 1024 pref medium",
            b1.ipv6()
        )],
    );

    // One path withdrawn: the route goes through the other; both withdrawn: it is gone.
    bird1.withdraw(prefix("192.0.2.0/24")).unwrap();
    wait_kernel(
        &speaker,
        &a,
        Family::V4,
        &[format!("192.0.2.0/24 via {n2} dev eth0")],
    );
    bird2.withdraw(prefix("192.0.2.0/24")).unwrap();
    wait_kernel(&speaker, &a, Family::V4, &[]);
    bird2.announce(prefix("192.0.2.0/24")).unwrap();
    wait_kernel(
        &speaker,
        &a,
        Family::V4,
        &[format!("192.0.2.0/24 via {n2} dev eth0")],
    );

    // SIGTERM: the speaker removes its routes before it exits.
    let status = speaker.process.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        speaker.log()
    );
    assert_eq!(kernel_routes(&a, Family::V4), Vec::<String>::new());
    assert_eq!(kernel_routes(&a, Family::V6), Vec::<String>::new());
    assert!(
        speaker.log().contains("removed 2 route(s) of proto 81"),
        "{}",
        speaker.log()
    );
}

#[test]
fn after_a_crash_routes_stay_until_convergence_and_only_stale_ones_go() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let via = b.ipv4().to_string();
    // Someone else's route to a prefix BIRD also advertises: never taken over.
    a.run(
        "ip",
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            &via,
            "proto",
            "static",
        ],
    )
    .unwrap();
    let config = format!(
        "routerId: {}\nasNumber: 64512\nkernel: {{enabled: true}}\npeers:\n{}",
        a.ipv4(),
        peer_line(&b, 64512, "")
    );
    let mut speaker = Brindle::start(&a, &config);
    let mut bird = bird_to(
        &b,
        &a,
        false,
        &["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"],
    );
    wait_up(&bird, IpAddr::V4(a.ipv4()), &speaker);
    let both = [
        format!("192.0.2.0/24 via {via} dev eth0"),
        format!("198.51.100.0/24 via {via} dev eth0"),
    ];
    wait_kernel(&speaker, &a, Family::V4, &both);
    let foreign = a.run("ip", &["route", "show", "203.0.113.0/24"]).unwrap();
    assert!(foreign.contains("proto static"), "{foreign}");
    assert!(
        speaker.log().contains("of another protocol"),
        "{}",
        speaker.log()
    );

    // A crash leaves the routes; BIRD drops one prefix while brindle is down.
    speaker.kill();
    assert_eq!(kernel_routes(&a, Family::V4), both);
    bird.withdraw(prefix("198.51.100.0/24")).unwrap();
    speaker.restart();
    // The route learned again is never missing; the other goes once the session has settled.
    let swept = wait_for(ESTABLISH + CONVERGE, || {
        let now = kernel_routes(&a, Family::V4);
        assert!(now.contains(&both[0]), "{now:?}\n{}", speaker.log());
        speaker.log().contains("stale route(s)").then_some(now)
    });
    assert!(swept.is_some(), "no sweep:\n{}", speaker.log());
    wait_kernel(&speaker, &a, Family::V4, &both[..1]);
    assert!(
        speaker
            .log()
            .contains("removed 1 stale route(s) of proto 81"),
        "{}",
        speaker.log()
    );
    let foreign = a.run("ip", &["route", "show", "203.0.113.0/24"]).unwrap();
    assert!(foreign.contains("proto static"), "{foreign}");
}
