//! The systems under test: brindle (`brindle-node bgp`), BIRD 2 and GoBGP, each configured the
//! same way for a scenario, listening on 10.200.0.1 of the benchmark's namespace with every peer
//! passive (the benchmark's peers connect to it).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::peer::Res;

/// The three implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Brindle,
    Bird,
    Gobgp,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Brindle => "brindle",
            Kind::Bird => "BIRD 2",
            Kind::Gobgp => "GoBGP",
        }
    }
}

/// A peer of the system under test.
pub struct PeerSpec {
    pub address: Ipv4Addr,
    pub asn: u32,
    pub rr_client: bool,
}

/// A running system under test; killed on drop.
pub struct Sut {
    child: Child,
}

impl Sut {
    /// Starts `kind` in AS `asn` on 10.200.0.1:`port` with `peers`; `dir` holds its files.
    pub fn start(
        kind: Kind,
        brindle: &Path,
        dir: &Path,
        port: u16,
        asn: u32,
        cluster: bool,
        peers: &[PeerSpec],
    ) -> Res<Sut> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("sut.log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = match kind {
            Kind::Brindle => {
                let cfg = dir.join("bgp.yaml");
                std::fs::write(&cfg, brindle_config(dir, port, asn, cluster, peers))
                    .map_err(|e| e.to_string())?;
                let mut c = Command::new(brindle);
                c.args(["bgp", "--config"]).arg(&cfg);
                c
            }
            Kind::Bird => {
                let cfg = dir.join("bird.conf");
                std::fs::write(&cfg, bird_config(port, asn, cluster, peers))
                    .map_err(|e| e.to_string())?;
                let mut c = Command::new("bird");
                c.arg("-f")
                    .arg("-c")
                    .arg(&cfg)
                    .arg("-s")
                    .arg(dir.join("bird.ctl"));
                c
            }
            Kind::Gobgp => {
                let cfg = dir.join("gobgpd.toml");
                std::fs::write(&cfg, gobgp_config(port, asn, cluster, peers))
                    .map_err(|e| e.to_string())?;
                let mut c = Command::new("gobgpd");
                c.arg("-f")
                    .arg(&cfg)
                    .arg(format!("--api-hosts=10.200.0.1:{}", port + 1))
                    .arg("--pprof-disable");
                c
            }
        };
        let child = cmd
            .stdout(log)
            .stderr(err)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        Ok(Sut { child })
    }

    /// (current RSS, peak RSS) in bytes, from /proc.
    pub fn rss(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn brindle_config(dir: &Path, port: u16, asn: u32, cluster: bool, peers: &[PeerSpec]) -> String {
    let mut s = format!(
        "routerId: 10.200.0.1\nasNumber: {asn}\nlisten: [\"10.200.0.1:{port}\"]\ncontrolSocket: {}\n",
        dir.join("bgp.sock").display()
    );
    if cluster {
        s.push_str("clusterId: 10.200.0.1\n");
    }
    s.push_str("peers:\n");
    for p in peers {
        s.push_str(&format!(
            "- {{address: {}, asNumber: {}, passive: true, holdTime: 3600, gracefulRestart: false, routeReflectorClient: {}}}\n",
            p.address, p.asn, p.rr_client
        ));
    }
    s
}

fn bird_config(port: u16, asn: u32, cluster: bool, peers: &[PeerSpec]) -> String {
    let mut s = String::from("router id 10.200.0.1;\nprotocol device {}\n");
    for (i, p) in peers.iter().enumerate() {
        let ibgp = p.asn == asn;
        s.push_str(&format!(
            "protocol bgp p{i} {{\n  local 10.200.0.1 port {port} as {asn};\n  neighbor {} as {};\n  passive on;\n  hold time 3600;\n{}{}  ipv4 {{ import all; export all;{} }};\n}}\n",
            p.address,
            p.asn,
            if ibgp { "" } else { "  multihop;\n" },
            if cluster && p.rr_client { "  rr client;\n  rr cluster id 10.200.0.1;\n" } else { "" },
            if ibgp { " next hop keep;" } else { " next hop self;" },
        ));
    }
    s
}

fn gobgp_config(port: u16, asn: u32, cluster: bool, peers: &[PeerSpec]) -> String {
    let mut s = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"10.200.0.1\"\n  port = {port}\n  local-address-list = [\"10.200.0.1\"]\n"
    );
    for p in peers {
        s.push_str(&format!(
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"10.200.0.1\"\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n  [neighbors.timers.config]\n    hold-time = 3600\n",
            p.address, p.asn
        ));
        if cluster && p.rr_client {
            s.push_str("  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"10.200.0.1\"\n");
        }
        if p.asn != asn {
            s.push_str(
                "  [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = 8\n",
            );
        }
    }
    s
}

/// A fresh directory for one run.
pub fn run_dir(root: &Path, kind: Kind, scenario: &str) -> PathBuf {
    root.join(format!(
        "{scenario}-{}",
        kind.name().replace(' ', "").to_lowercase()
    ))
}
