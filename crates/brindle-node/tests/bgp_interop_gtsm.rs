//! GTSM (RFC 5082) between brindle (`ttlSecurity: 1`) and BIRD on the lab bridge: with BIRD's
//! `ttl security on;` both sides send with TTL 255 and the session comes up and carries routes,
//! whichever side connects; without it BIRD sends its eBGP packets with TTL 1: brindle refuses
//! BIRD's connections (their SYN's TTL is too low) and its kernel drops BIRD's packets on the
//! connections brindle opens, so the session never comes up — and brindle's log says why.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

mod support;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, Family, Host, IpPrefix, Lab, Neighbor, is_root};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line};

/// How long a session that must not come up is watched: several of brindle's connect retries
/// (5 s apart) and of BIRD's (2 s apart, see brindle-lab's BIRD config), and longer than the
/// 9 s hold time.
const NEVER_WATCH: Duration = Duration::from_secs(16);

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// brindle in AS 64512 with one eBGP peer (BIRD in AS 64513) under GTSM, one hop.
fn config(a: &Host, b: &Host) -> String {
    format!(
        "routerId: {}\nasNumber: 64512\npeers:\n{}prefixes: [10.77.0.0/24]\n",
        a.ipv4(),
        peer_line(b, 64513, "  ttlSecurity: 1\n")
    )
}

fn bird_config(a: &Host, b: &Host) -> BgpConfig {
    BgpConfig::for_host(b, 64513)
        .neighbor(Neighbor::to_host(a, Family::V4, 64512))
        .route("192.0.2.0/24")
}

/// Turns on BIRD's GTSM (`ttl security on;`) in every BGP protocol of a running BIRD and
/// reconfigures it. brindle-lab's config has no GTSM setting, so its rendered file is edited.
fn enable_bird_ttl_security(bird: &Bird) {
    let path = bird.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("protocol bgp ") {
                format!("{l}\n  ttl security on;\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(text, edited, "no BGP protocol in {}", path.display());
    std::fs::write(&path, edited).unwrap();
    let out = bird.birdc(&["configure"]).unwrap();
    assert!(
        out.contains("Reconfigured") || out.contains("Reconfiguration in progress"),
        "birdc configure: {out}"
    );
    // Restarting the changed protocol takes a moment; `show status` says when it is done.
    let done = brindle_lab::wait_until(Duration::from_secs(10), || {
        bird.birdc(&["show", "status"])
            .is_ok_and(|s| s.contains("Daemon is up and running"))
    });
    assert!(
        done,
        "BIRD never finished reconfiguring: {}",
        bird.log_tail(30)
    );
}

/// Who opens the TCP connection: brindle (BIRD passive) or BIRD (brindle passive). The two take
/// different paths in brindle: GTSM set before `connect`, or checked and set on `accept`.
#[derive(Clone, Copy, Debug)]
enum Opener {
    Brindle,
    Bird,
}

/// BIRD with GTSM on, brindle with `ttlSecurity: 1`: the session comes up and routes flow both
/// ways.
fn gtsm_on_both_sides_establishes(opener: Opener) {
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let mut neighbor = Neighbor::to_host(&a, Family::V4, 64512);
    let mut ours = config(&a, &b);
    match opener {
        Opener::Brindle => neighbor = neighbor.passive(),
        Opener::Bird => {
            ours = ours.replace("  ttlSecurity: 1\n", "  ttlSecurity: 1\n  passive: true\n")
        }
    }
    // BIRD is configured for GTSM before brindle exists, so it never faces brindle without it.
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64513)
            .neighbor(neighbor)
            .route("192.0.2.0/24"),
    )
    .unwrap();
    enable_bird_ttl_security(&bird);
    let speaker = Brindle::start(&a, &ours);
    bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH)
        .unwrap_or_else(|e| panic!("{opener:?} opens: {e}\nbrindle log:\n{}", speaker.log()));
    support::wait_peer_state(&speaker, IpAddr::V4(b.ipv4()), "Established");
    let route = bird
        .wait_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    assert_eq!(route.as_path, [64512], "{route}");
    speaker.wait_route("192.0.2.0/24", true);
}

#[test]
fn gtsm_on_both_sides_establishes_when_brindle_connects() {
    require_root!();
    gtsm_on_both_sides_establishes(Opener::Brindle);
}

/// The accepting side: an IPv4 peer on brindle's dual-stack `[::]` listener, whose SYN's TTL is
/// checked and whose socket must get the IPv4 TTL options (BIRD drops anything below 255).
#[test]
fn gtsm_on_both_sides_establishes_when_bird_connects() {
    require_root!();
    gtsm_on_both_sides_establishes(Opener::Bird);
}

#[test]
fn gtsm_only_on_brindle_never_establishes_and_status_says_why() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    // BIRD without `ttl security`: a direct eBGP session, sent with TTL 1.
    let bird = Bird::start(&b, &bird_config(&a, &b)).unwrap();
    let speaker = Brindle::start(&a, &config(&a, &b));
    let (ours, theirs) = (IpAddr::V4(a.ipv4()), IpAddr::V4(b.ipv4()));

    // Both sides keep trying (brindle connects, BIRD connects); neither may get to Established.
    // Polled for a fixed window, with the lab's wait helper as the clock: the probe never
    // succeeds, it only records what it saw and stops at the first Established.
    let start = Instant::now();
    let mut infos: Vec<String> = Vec::new();
    let mut bird_states: Vec<String> = Vec::new();
    let established = brindle_lab::wait_until(NEVER_WATCH, || {
        let p = speaker.peer(theirs);
        if !infos.contains(&p.info) {
            infos.push(p.info.clone());
        }
        let state = bird.session_state(ours).unwrap();
        if !bird_states.contains(&state) {
            bird_states.push(state.clone());
        }
        p.state == "Established" || state == "Established"
    });
    assert!(
        !established,
        "established after {:?} without GTSM on BIRD's side: brindle {:?}, BIRD states {bird_states:?}\n{}\n{}",
        start.elapsed(),
        speaker.peer(theirs),
        bird.log_tail(30),
        speaker.log()
    );
    assert!(
        start.elapsed() >= NEVER_WATCH,
        "the watch ended early ({:?})",
        start.elapsed()
    );
    assert!(
        bird.route(prefix("10.77.0.0/24")).unwrap().is_empty(),
        "a route crossed a session that never came up"
    );
    assert!(
        !speaker.routes().iter().any(|r| r.prefix == "192.0.2.0/24"),
        "a route crossed a session that never came up"
    );

    // BIRD's connections are refused at accept, and brindle says why and what to check: in
    // the peer's INFO (what `brindlectl bgp peers` shows) and, once per distinct reason (not
    // on each of BIRD's retries), in its log. (Connections brindle opens get as far as
    // OpenSent: BIRD's listener answers the SYN with TTL 255, then its OPEN arrives with TTL 1
    // and is dropped by the kernel, which brindle cannot see.)
    let refusal = "SYN arrived with TTL 1, below the 255 that GTSM (ttlSecurity 1) requires";
    assert!(
        infos.iter().any(|i| i.contains(refusal)),
        "INFO never said that the peer's TTL is too low; INFO seen: {infos:?}; BIRD states \
         seen: {bird_states:?}\n{}",
        speaker.log()
    );
    assert_eq!(
        speaker.log().matches(refusal).count(),
        1,
        "the refusal is logged once, not on every retry:\n{}",
        speaker.log()
    );
}
