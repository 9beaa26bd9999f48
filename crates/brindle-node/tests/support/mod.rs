//! Shared by the interop tests: a running `brindle-node bgp` in a lab host, and helpers; the
//! node agent and pods in [`agent`].
#![allow(clippy::unwrap_used, dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use brindle_bgp::speaker::{PeerStatus, RouteStatus};
use brindle_lab::{Host, LabProcess, wait_for};

pub mod agent;
pub mod ping;

pub const ESTABLISH: Duration = Duration::from_secs(20);
pub const CONVERGE: Duration = Duration::from_secs(10);

/// A running `brindle-node bgp` in a lab host, with its config and control socket in the
/// host's directory.
pub struct Brindle {
    /// The speaker process.
    pub process: LabProcess,
    socket: PathBuf,
    file: PathBuf,
    host: Host,
}

impl Brindle {
    pub fn start(host: &Host, config: &str) -> Brindle {
        Brindle::start_with(host, config, &[])
    }

    /// [`Brindle::start`] with extra command-line arguments.
    pub fn start_with(host: &Host, config: &str, extra: &[&str]) -> Brindle {
        let dir = host.dir().join("brindle");
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bgp.sock");
        let file = dir.join("bgp.yaml");
        std::fs::write(
            &file,
            format!("{config}controlSocket: {}\n", socket.display()),
        )
        .unwrap();
        let process = spawn_with(host, &file, &socket, extra);
        Brindle {
            process,
            socket,
            file,
            host: host.clone(),
        }
    }

    /// Kills the speaker at once (SIGKILL, as a crash would: no NOTIFICATION, no clean-up).
    pub fn kill(&self) {
        self.process.kill();
    }

    /// Starts the speaker again with the same configuration file (after [`Brindle::kill`]).
    pub fn restart(&mut self) {
        self.respawn(&[]);
    }

    /// Starts the speaker again as a Restarting Speaker (`--restarting`, RFC 4724 §4.1), as
    /// after a crash.
    pub fn restart_restarting(&mut self) {
        self.respawn(&["--restarting"]);
    }

    fn respawn(&mut self, extra: &[&str]) {
        self.process.kill();
        // A killed speaker leaves its socket file behind; wait for the new one.
        let _ = std::fs::remove_file(&self.socket);
        self.process = spawn_with(&self.host, &self.file, &self.socket, extra);
    }

    /// Rewrites the configuration and sends SIGHUP.
    pub fn reload(&self, config: &str) {
        std::fs::write(
            &self.file,
            format!("{config}controlSocket: {}\n", self.socket.display()),
        )
        .unwrap();
        // The lab runs the speaker under `ip netns exec`, which execs it: the pid is the speaker's.
        let pid = self.process.pid().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// The speaker's table, asked over its control socket.
    pub fn routes(&self) -> Vec<RouteStatus> {
        self.ask("{\"command\":\"routes\"}")
    }

    /// The speaker's peers (state, INFO, negotiated parameters), asked over its control socket.
    pub fn peers(&self) -> Vec<PeerStatus> {
        self.ask("{\"command\":\"peers\"}")
    }

    /// The status of the peer at `address`.
    pub fn peer(&self, address: std::net::IpAddr) -> PeerStatus {
        let peers = self.peers();
        peers
            .iter()
            .find(|p| p.address == address)
            .cloned()
            .unwrap_or_else(|| panic!("no peer {address} in {peers:?}"))
    }

    fn ask<T: serde::de::DeserializeOwned>(&self, request: &str) -> T {
        use std::io::{BufRead, BufReader, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        writeln!(s, "{request}").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    pub fn wait_route(&self, prefix: &str, present: bool) -> Option<RouteStatus> {
        let found = wait_for(CONVERGE, || {
            let r = self.routes().into_iter().find(|r| r.prefix == prefix);
            (r.is_some() == present).then_some(r)
        });
        let what = if present {
            "never reached"
        } else {
            "never left"
        };
        assert!(
            found.is_some(),
            "{prefix} {what} brindle's table: {:?}\n{}",
            self.routes(),
            self.log()
        );
        found.flatten()
    }

    /// `brindlectl bgp peers` as a user runs it.
    pub fn peers_table(&self) -> String {
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host.dir().join("brindle.log")).unwrap_or_default()
    }
}

/// Runs `brindle-node bgp --config file` in `host` and waits for its control socket.
fn spawn(host: &Host, file: &std::path::Path, socket: &std::path::Path) -> LabProcess {
    spawn_with(host, file, socket, &[])
}

fn spawn_with(
    host: &Host,
    file: &std::path::Path,
    socket: &std::path::Path,
    extra: &[&str],
) -> LabProcess {
    let mut args = vec!["bgp", "--config", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let process = host
        .spawn(env!("CARGO_BIN_EXE_brindle-node"), &args, "brindle.log")
        .unwrap();
    let ok = wait_for(Duration::from_secs(10), || socket.exists().then_some(()));
    assert!(
        ok.is_some(),
        "brindle-node did not start: {}",
        process.log_tail(30)
    );
    process
}

/// Waits until brindle reports the peer at `address` in `state`, and returns its status.
pub fn wait_peer_state(speaker: &Brindle, address: std::net::IpAddr, state: &str) -> PeerStatus {
    let found = wait_for(ESTABLISH, || {
        let p = speaker.peer(address);
        (p.state == state).then_some(p)
    });
    found.unwrap_or_else(|| {
        panic!(
            "brindle's peer {address} never {state}: {:?}\n{}",
            speaker.peer(address),
            speaker.log()
        )
    })
}

/// Waits until brindle's INFO for the peer at `address` satisfies `accept`.
pub fn wait_for_info(
    speaker: &Brindle,
    address: std::net::IpAddr,
    accept: impl Fn(&str) -> bool,
) -> bool {
    brindle_lab::wait_until(ESTABLISH, || accept(&speaker.peer(address).info))
}

/// brindlectl is built by the workspace; tests of this crate find it next to their own binary.
pub fn brindlectl() -> PathBuf {
    let mut p = PathBuf::from(env!("CARGO_BIN_EXE_brindle-node"));
    p.set_file_name("brindlectl");
    p
}

/// A peer on the host's IPv6 address (IPv6 routes travel on their own session, as in Calico).
pub fn peer_line_v6(host: &Host, asn: u32) -> String {
    format!(
        "- address: \"{}\"\n  asNumber: {asn}\n  holdTime: 9\n",
        host.ipv6()
    )
}

pub fn peer_line(host: &Host, asn: u32, extra: &str) -> String {
    format!(
        "- address: {}\n  asNumber: {asn}\n  holdTime: 9\n{extra}",
        host.ipv4()
    )
}

/// Skips a test (with a message) when not run as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
    };
}
