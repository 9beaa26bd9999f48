//! A throw-away network namespace per test, removed when the guard drops (also when the test
//! panics); namespaces left by a test run that was killed are removed by the next run.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Every namespace these tests create starts with this, then the test process's pid.
const PREFIX: &str = "brnl-t";

/// Whether this process runs as root (network namespaces need it).
pub use brindle_lab::is_root;

/// Skips a test (with a message) when not run as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !support::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
    };
}

/// A network namespace with `lo` up and a veth pair `v0`–`v1`, both up; `v0` holds 10.9.0.1/24
/// and fd00:9::1/64, so gateways 10.9.0.2-254 and fd00:9::2… are on link.
pub struct TestNs {
    name: String,
}

fn ip(args: &[&str]) -> String {
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

impl TestNs {
    /// Creates `brnl-t<pid>-<tag>`.
    pub fn new(tag: &str) -> TestNs {
        remove_stale();
        let name = format!("{PREFIX}{}-{tag}", std::process::id());
        ip(&["netns", "add", &name]);
        // From here on the guard removes the namespace, whatever happens.
        let ns = TestNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
        ns.ip(&["link", "set", "v0", "up"]);
        ns.ip(&["link", "set", "v1", "up"]);
        ns.ip(&["addr", "add", "10.9.0.1/24", "dev", "v0"]);
        ns.ip(&["addr", "add", "fd00:9::1/64", "dev", "v0", "nodad"]);
        ns
    }

    /// The namespace's name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's bind mount, for `Netlink::open_in`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Runs `ip -n NS ARGS…` and returns its output; panics when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// `ip [-6] route show proto PROTO [table TABLE]`, as a user would check.
    pub fn routes(&self, v6: bool, proto: u8, table: Option<u32>) -> String {
        let proto = proto.to_string();
        let mut args = vec![
            if v6 { "-6" } else { "-4" },
            "route",
            "show",
            "proto",
            &proto,
        ];
        let table = table.map(|t| t.to_string());
        if let Some(t) = &table {
            args.extend(["table", t.as_str()]);
        }
        self.ip(&args)
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
