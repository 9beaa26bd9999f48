//! A test "host" network namespace (with an uplink address and default routes, so proxy ARP
//! has somewhere to point) and pod namespaces, all removed when their guards drop; the plugin
//! runs inside the host namespace through `ip netns exec`, as a runtime would run it there.
#![allow(clippy::unwrap_used, dead_code)]

pub mod datastore;
pub mod relay;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Every namespace these tests create starts with this, then the test process's pid.
const PREFIX: &str = "brcni-t";
/// Where the reference plugins are (Debian's containernetworking-plugins).
pub const REFERENCE: &str = "/usr/lib/cni";

/// Whether this process runs as root (network namespaces need it).
pub use brindle_lab::is_root;

/// Skips a test when not root; fails it when the reference plugins are missing.
#[macro_export]
macro_rules! require_root {
    () => {
        if !support::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        assert!(
            std::path::Path::new(support::REFERENCE)
                .join("host-local")
                .exists(),
            "the reference CNI plugins are missing: run scripts/install-deps.sh"
        );
    };
}

pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Removes namespaces of earlier test processes that are gone.
fn remove_stale() {
    brindle_lab::remove_orphan_namespaces(PREFIX);
}

/// A network namespace, deleted on drop.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn new(tag: &str) -> Ns {
        remove_stale();
        let name = format!("{PREFIX}{}-{tag}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Ns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Runs `cmd` inside the namespace; its stdout when it succeeded.
    pub fn exec(&self, cmd: &[&str]) -> Option<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(cmd)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// One ping to `addr` from inside the namespace (2 s at most).
    pub fn ping(&self, addr: &str) -> bool {
        self.exec(&["ping", "-c1", "-W2", addr]).is_some()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// What a plugin printed and whether it exited 0.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub out: Value,
    pub raw: String,
}

impl Run {
    /// The error code, asserting that the call failed with an error object.
    #[track_caller]
    pub fn code(&self) -> u64 {
        assert!(!self.ok, "expected a failure: {}", self.raw);
        self.out["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("no error object: {}", self.raw))
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.ok, "failed: {}", self.raw);
        self.out
    }
}

/// The host namespace: `up0` (10.99.0.1/24, fd00:99::1/64) is its uplink, the default routes
/// go out of it.
pub struct Host {
    pub ns: Ns,
    /// Holds the plugin under its names and the IPAM data.
    pub dir: tempfile::TempDir,
}

impl Host {
    pub fn new(tag: &str) -> Host {
        let ns = Ns::new(&format!("{tag}h"));
        ns.ip(&["link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
        ns.ip(&["link", "set", "up0", "up"]);
        ns.ip(&["link", "set", "up1", "up"]);
        ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "up0"]);
        ns.ip(&["addr", "add", "fd00:99::1/64", "dev", "up0", "nodad"]);
        ns.ip(&["route", "add", "default", "dev", "up0"]);
        ns.ip(&["-6", "route", "add", "default", "dev", "up0"]);
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for name in ["brindle", "brindle-ipam"] {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_brindle"), bin.join(name)).unwrap();
        }
        Host { ns, dir }
    }

    /// `CNI_PATH`: brindle's directory, then the reference plugins.
    pub fn cni_path(&self) -> String {
        format!("{}:{REFERENCE}", self.dir.path().join("bin").display())
    }

    /// The host-local data directory.
    pub fn data_dir(&self) -> String {
        self.dir.path().join("ipam").display().to_string()
    }

    /// The state directory (where `mtu` may be).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs plugin `plugin` in the host namespace with `env` (CNI_PATH added) and `stdin`.
    pub fn run(&self, plugin: &str, env: &[(&str, String)], stdin: &str) -> Run {
        let bin = if plugin.starts_with("brindle") {
            self.dir.path().join("bin").join(plugin)
        } else {
            Path::new(REFERENCE).join(plugin)
        };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns.name])
            .arg(&bin)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CNI_PATH", self.cni_path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let raw = String::from_utf8_lossy(&out.stdout).into_owned();
        Run {
            ok: out.status.success(),
            out: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw: format!("{raw}{}", String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// The host veth names present (those starting with `cali`).
    pub fn host_veths(&self) -> Vec<String> {
        self.ns
            .ip(&["-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| n.starts_with("cali"))
            .collect()
    }

    /// Addresses host-local holds for network `net` (files named by IP in its data dir).
    pub fn allocations(&self, net: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(Path::new(&self.data_dir()).join(net)) else {
            return Vec::new();
        };
        dir.flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .collect()
    }
}

/// A pod: its namespace and the CNI environment for it.
pub struct Pod {
    pub ns: Ns,
    pub id: String,
    pub name: String,
}

impl Pod {
    pub fn new(tag: &str, name: &str) -> Pod {
        Pod {
            ns: Ns::new(&format!("{tag}p")),
            id: format!("{tag}-{name}-0123456789"),
            name: name.to_string(),
        }
    }

    /// The CNI environment of `command` for this pod.
    pub fn env(&self, command: &str) -> Vec<(&'static str, String)> {
        vec![
            ("CNI_COMMAND", command.to_string()),
            ("CNI_CONTAINERID", self.id.clone()),
            ("CNI_NETNS", self.ns.path()),
            ("CNI_IFNAME", "eth0".to_string()),
            (
                "CNI_ARGS",
                format!(
                    "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={}",
                    self.name
                ),
            ),
        ]
    }

    /// The host veth brindle names for this pod.
    pub fn host_veth(&self) -> String {
        brindle_cni::datapath::host_veth_name("cali", &format!("default.{}", self.name))
    }
}
