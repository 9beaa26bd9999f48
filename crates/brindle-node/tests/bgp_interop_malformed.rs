//! A peer that sends garbage gets the exact NOTIFICATION RFC 4271 §6.1 asks for, and nothing
//! else changes: the speaker keeps running, and its session with BIRD stays up without a flap.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

mod support;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, Family, Lab, Neighbor, is_root};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, wait_for_info, wait_peer_state};

#[test]
fn garbage_on_one_session_leaves_the_others_alone() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b, c) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
        lab.add_host("bad").unwrap(),
    );
    let config = format!(
        "routerId: {}\nasNumber: 64512\npeers:\n{}{}prefixes: [10.77.0.0/24]\n",
        a.ipv4(),
        peer_line(&b, 64512, ""),
        peer_line(&c, 64512, "  passive: true\n")
    );
    let speaker = Brindle::start(&a, &config);
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512).neighbor(Neighbor::to_host(&a, Family::V4, 64512)),
    )
    .unwrap();
    bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    let before = wait_peer_state(&speaker, IpAddr::V4(b.ipv4()), "Established");
    bird.wait_route("10.77.0.0/24".parse().unwrap(), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));

    // Host "bad" connects and sends a message whose marker is not all ones.
    let garbage = format!(
        "exec 3<>/dev/tcp/{}/179 && printf '\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x0d\\x0e\\x0f\\x00\\x13\\x04' >&3 && timeout 2 cat <&3 >/dev/null; true",
        a.ipv4()
    );
    c.run("bash", &["-c", &garbage]).unwrap();
    let got = wait_for_info(&speaker, IpAddr::V4(c.ipv4()), |info| {
        info.contains("Connection Not Synchronized")
    });
    let info = speaker.peer(IpAddr::V4(c.ipv4())).info;
    assert!(
        got && info.contains("NOTIFICATION sent"),
        "{info}\n{}",
        speaker.log()
    );

    // The other session did not notice: same state, same `since`, routes still there.
    let after = speaker.peer(IpAddr::V4(b.ipv4()));
    assert_eq!(after.state, "Established");
    assert_eq!(after.since, before.since, "the BIRD session flapped");
    assert!(bird.route("10.77.0.0/24".parse().unwrap()).unwrap().len() == 1);
    assert_eq!(
        bird.session_state(IpAddr::V4(a.ipv4())).unwrap(),
        "Established"
    );
}
