//! brindle's speaker (`brindle-node bgp`) against real BGP implementations, each in its own
//! network namespace of a lab, judged by the other implementation's own view (birdc, vtysh,
//! gobgp) and by `brindlectl bgp peers`.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Host, Lab, LabProcess, Neighbor, is_root, wait_for,
};

const ESTABLISH: Duration = Duration::from_secs(20);

/// A running `brindle-node bgp` in a lab host, with its config and control socket in the
/// host's directory.
struct Brindle {
    _process: LabProcess,
    socket: PathBuf,
    host: Host,
}

impl Brindle {
    fn start(host: &Host, config: &str) -> Brindle {
        let dir = host.dir().join("brindle");
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bgp.sock");
        let file = dir.join("bgp.yaml");
        std::fs::write(
            &file,
            format!("{config}controlSocket: {}\n", socket.display()),
        )
        .unwrap();
        let process = host
            .spawn(
                env!("CARGO_BIN_EXE_brindle-node"),
                &["bgp", "--config", file.to_str().unwrap()],
                "brindle.log",
            )
            .unwrap();
        let ok = wait_for(Duration::from_secs(10), || socket.exists().then_some(()));
        assert!(
            ok.is_some(),
            "brindle-node did not start: {}",
            process.log_tail(30)
        );
        Brindle {
            _process: process,
            socket,
            host: host.clone(),
        }
    }

    /// `brindlectl bgp peers` as a user runs it.
    fn peers_table(&self) -> String {
        let out = std::process::Command::new(brindlectl())
            .args(["bgp", "peers", "--socket", self.socket.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.host.dir().join("brindle.log")).unwrap_or_default()
    }
}

/// brindlectl is built by the workspace; tests of this crate find it next to their own binary.
fn brindlectl() -> PathBuf {
    let mut p = PathBuf::from(env!("CARGO_BIN_EXE_brindle-node"));
    p.set_file_name("brindlectl");
    p
}

fn peer_line(host: &Host, asn: u32, extra: &str) -> String {
    format!(
        "- address: {}\n  asNumber: {asn}\n  holdTime: 9\n{extra}",
        host.ipv4()
    )
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
    };
}

#[test]
fn ibgp_session_with_bird_establishes_and_shows_in_status() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: 64512\npeers:\n{}",
            a.ipv4(),
            peer_line(&b, 64512, "")
        ),
    );
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512).neighbor(Neighbor::to_host(&a, Family::V4, 64512)),
    )
    .unwrap();
    if let Err(e) = bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
    let table = speaker.peers_table();
    assert!(
        table.contains(&b.ipv4().to_string())
            && table.contains("| up ")
            && table.contains("Established"),
        "{table}"
    );
}

#[test]
fn wrong_peer_as_is_reported_in_words() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    // brindle expects AS 64513 but BIRD is AS 64512.
    let speaker = Brindle::start(
        &a,
        &format!(
            "routerId: {}\nasNumber: 64512\npeers:\n{}",
            a.ipv4(),
            peer_line(&b, 64513, "")
        ),
    );
    let _bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512).neighbor(Neighbor::to_host(&a, Family::V4, 64512)),
    )
    .unwrap();
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
