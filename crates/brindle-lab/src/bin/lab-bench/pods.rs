//! Pods for the benchmark: network namespaces named after the lab (so a killed run's are found
//! by the lab's stale cleanup), wired by the CNI plugin run as a container runtime runs it.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bins::Bins;
use crate::cluster::{Cluster, Node};
use crate::{Res, one_line};

/// Pod network namespaces `<lab>-p<i>`; deleted on drop.
pub struct PodNamespaces {
    names: Vec<String>,
}

impl PodNamespaces {
    /// Creates `count` namespaces next to `node`'s (in one `ip -batch`).
    pub fn create(node: &Node, count: usize) -> Res<PodNamespaces> {
        let lab = node.host.lab_name();
        let pods = PodNamespaces {
            names: (0..count).map(|i| format!("{lab}-p{i}")).collect(),
        };
        // Registered before creation: whatever gets made is deleted on drop.
        batch(pods.names.iter().map(|n| format!("netns add {n}\n")))?;
        Ok(pods)
    }

    /// The namespace of pod `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

impl Drop for PodNamespaces {
    fn drop(&mut self) {
        let _ = batch(self.names.iter().map(|n| format!("netns del {n}\n")));
    }
}

/// Runs `ip -force -batch -` with these commands.
fn batch(lines: impl Iterator<Item = String>) -> Res<()> {
    let mut child = Command::new("ip")
        .args(["-force", "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ip -batch: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let text: String = lines.collect();
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("ip -batch: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ip -batch: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip -batch: {}",
            one_line(String::from_utf8_lossy(&out.stderr))
        ))
    }
}

/// The result of one CNI ADD.
pub struct Added {
    /// The pod's address (with blockSize 32, also its block).
    pub ip: Ipv4Addr,
    /// Just before the plugin was spawned.
    pub started: Instant,
    /// Spawn to exit.
    pub took: Duration,
}

/// The CNI network configuration of the cluster's pods on `node`.
pub fn network_config(cluster: &Cluster, node: &Node) -> String {
    json!({
        "cniVersion": "1.0.0",
        "name": "k8s-pod-network",
        "type": "brindle",
        "nodename": node.name,
        "datastore_type": "sqlite",
        "datastore_path": cluster.datastore,
        "state_dir": node.state_dir,
        "ipam": {"type": "brindle-ipam"},
    })
    .to_string()
}

/// CNI ADD of pod `pod` (namespace `netns`) on `node`: the plugin runs in the node's namespace
/// with the runtime's `CNI_*` variables and the configuration on stdin.
pub fn add(bins: &Bins, node: &Node, config: &str, netns: &str, pod: &str) -> Res<Added> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", node.host.ns()])
        .arg(&bins.cni)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", "ADD")
        .env("CNI_CONTAINERID", format!("labbench-{pod}"))
        .env("CNI_NETNS", format!("/run/netns/{netns}"))
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", &bins.dir)
        .env(
            "CNI_ARGS",
            format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME={pod}"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bins.cni.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(config.as_bytes())
            .map_err(|e| format!("CNI ADD of {pod}: writing the config: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("CNI ADD of {pod}: {e}"))?;
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "CNI ADD of {pod} failed ({}): {} {}",
            out.status,
            one_line(stdout.trim()),
            one_line(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    let ip = serde_json::from_str::<Value>(&stdout)
        .ok()
        .and_then(|v| {
            v["ips"][0]["address"]
                .as_str()
                .and_then(|a| a.split('/').next())
                .and_then(|a| a.parse().ok())
        })
        .ok_or_else(|| format!("CNI ADD of {pod}: no IPv4 address in {}", one_line(&stdout)))?;
    Ok(Added { ip, started, took })
}
