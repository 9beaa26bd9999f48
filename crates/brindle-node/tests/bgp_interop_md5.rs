//! TCP MD5 signatures (RFC 2385) between brindle and BIRD / FRR: the same password establishes
//! (and routes flow), a different one never does, and brindle's status says why in words.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

mod support;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, Family, Frr, IpPrefix, Lab, Neighbor, is_root};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, peer_line_v6};

/// How long a session with mismatched passwords is watched (it must never come up).
const MISMATCH_WATCH: Duration = Duration::from_secs(6);

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn config(a: &brindle_lab::Host, b: &brindle_lab::Host, password: &str) -> String {
    format!(
        "routerId: {}\nasNumber: 64512\npeers:\n{}prefixes: [10.77.0.0/24]\n",
        a.ipv4(),
        peer_line(b, 64512, &format!("  password: \"{password}\"\n"))
    )
}

#[test]
fn md5_with_bird_same_password_establishes_and_routes_flow() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    // IPv4 and IPv6 sessions, each with its own password (the listener holds one key per
    // peer address; an IPv4 peer's key sits under its v4-mapped address on the [::] listener).
    let config = config(&a, &b, "s3cret-md5").replace(
        "prefixes:",
        &format!(
            "{}  password: \"s3cret-md6\"\nprefixes:",
            peer_line_v6(&b, 64512)
        ),
    );
    let speaker = Brindle::start(&a, &config);
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512).md5("s3cret-md5"))
            .neighbor(Neighbor::to_host(&a, Family::V6, 64512).md5("s3cret-md6"))
            .route("192.0.2.0/24")
            .route("2001:db8:b::/48"),
    )
    .unwrap();
    for addr in [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())] {
        if let Err(e) = bird.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    support::wait_peer_state(&speaker, IpAddr::V4(b.ipv4()), "Established");
    support::wait_peer_state(&speaker, IpAddr::V6(b.ipv6()), "Established");
    bird.wait_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    speaker.wait_route("192.0.2.0/24", true);
    speaker.wait_route("2001:db8:b::/48", true);
}

#[test]
fn md5_with_frr_same_password_establishes_and_routes_flow() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("frr").unwrap(),
    );
    let speaker = Brindle::start(&a, &config(&a, &b, "another-s3cret"));
    let frr = Frr::start(
        &b,
        &BgpConfig::for_host(&b, 64512)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512).md5("another-s3cret"))
            .route("192.0.2.0/24"),
    )
    .unwrap();
    if let Err(e) = frr.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
    frr.wait_route(prefix("10.77.0.0/24"), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    speaker.wait_route("192.0.2.0/24", true);
}

/// Watches both sides for `MISMATCH_WATCH`: never Established; then brindle's INFO column must
/// say what went wrong.
fn assert_never_established(
    speaker: &Brindle,
    other: &dyn BgpDaemon,
    ours: IpAddr,
    theirs: IpAddr,
) {
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < MISMATCH_WATCH {
        let state = other.session_state(ours).unwrap();
        assert_ne!(
            state,
            "Established",
            "{}: {}",
            other.describe(),
            speaker.log()
        );
        let p = speaker.peer(theirs);
        assert_ne!(p.state, "Established", "{p:?}\n{}", speaker.log());
        if !seen.contains(&p.info) {
            seen.push(p.info);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The INFO column must explain itself; connection attempts time out (the peer's kernel drops
    // segments with a wrong signature), so brindle points at the password.
    let explained = support::wait_for_info(speaker, theirs, |info| {
        info.contains("MD5") && info.contains("timed out")
    });
    assert!(
        explained,
        "INFO never mentions a suspected MD5 mismatch; seen: {seen:?}; now: {:?}\n{}",
        speaker.peer(theirs),
        speaker.log()
    );
    let table = speaker.peers_table();
    assert!(table.contains("MD5"), "{table}");
}

#[test]
fn md5_with_bird_different_passwords_never_establish_and_status_says_why() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let speaker = Brindle::start(&a, &config(&a, &b, "ours-pw"));
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512).md5("theirs-pw")),
    )
    .unwrap();
    assert_never_established(&speaker, &bird, IpAddr::V4(a.ipv4()), IpAddr::V4(b.ipv4()));
}

#[test]
fn md5_only_on_one_side_never_establishes() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("frr").unwrap(),
    );
    // brindle signs, FRR does not: FRR's kernel drops our signed SYNs... and brindle's kernel
    // drops FRR's unsigned ones.
    let speaker = Brindle::start(&a, &config(&a, &b, "only-ours"));
    let frr = Frr::start(
        &b,
        &BgpConfig::for_host(&b, 64512).neighbor(Neighbor::to_host(&a, Family::V4, 64512)),
    )
    .unwrap();
    assert_never_established(&speaker, &frr, IpAddr::V4(a.ipv4()), IpAddr::V4(b.ipv4()));
}
