//! Calling the CNI plugin `brindle` as a container runtime does: inside the node's namespace,
//! `CNI_*` variables, the network configuration on stdin, the result (or error) on stdout.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::state::{LabState, NodeState, PodState};
use crate::error::{Error, Result};
use crate::process::{command_line, run_command};

/// The CNI plugin binary's name.
pub const CNI_BIN: &str = "brindle";

/// The network name (CNI's `name`, the first part of brindle-ipam's handles).
pub const NETWORK: &str = "k8s-pod-network";

/// The Kubernetes namespace every lab pod is in.
pub const POD_NAMESPACE: &str = "default";

/// How long one plugin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The network configuration for pods on `node`.
pub fn network_config(state: &LabState, node: &NodeState) -> Value {
    let mut conf = json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "type": CNI_BIN,
        "nodename": node.name,
        "state_dir": node.state_dir.display().to_string(),
        "ipam": {"type": "brindle-ipam"},
    });
    if let Some(m) = conf.as_object_mut() {
        m.extend(state.datastore.cni_fields());
    }
    conf
}

/// `ADD`: wires `pod` (its namespace exists) and returns its IPv4 address from the result.
pub fn add(state: &LabState, node: &NodeState, pod: &PodState) -> Result<Option<Ipv4Addr>> {
    let out = call(state, node, pod, "ADD")?;
    let result: Value = serde_json::from_str(&out).map_err(|e| {
        Error::parse(
            format!("the CNI ADD result for {} on {}", pod.name, node.name),
            format!("{e}: {}", out.trim()),
        )
    })?;
    Ok(first_ipv4(&result))
}

/// `DEL`: undoes `add` (succeeds when there is nothing left to remove).
pub fn del(state: &LabState, node: &NodeState, pod: &PodState) -> Result<()> {
    call(state, node, pod, "DEL").map(drop)
}

/// The first IPv4 address of a CNI result (`ips[].address`, CIDR notation).
fn first_ipv4(result: &Value) -> Option<Ipv4Addr> {
    result
        .get("ips")?
        .as_array()?
        .iter()
        .filter_map(|ip| ip.get("address")?.as_str())
        .filter_map(|a| a.split('/').next()?.parse().ok())
        .next()
}

fn call(state: &LabState, node: &NodeState, pod: &PodState, command: &str) -> Result<String> {
    let plugin = state.bin_dir.join(CNI_BIN);
    let plugin_str = plugin.display().to_string();
    let netns = format!("/run/netns/{}", pod.ns);
    let args = ["netns", "exec", node.ns.as_str(), plugin_str.as_str()];
    let mut cmd = Command::new("ip");
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", &pod.container_id)
        .env("CNI_NETNS", &netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", &state.bin_dir)
        .env(
            "CNI_ARGS",
            format!(
                "K8S_POD_NAMESPACE={POD_NAMESPACE};K8S_POD_NAME={}",
                pod.name
            ),
        );
    let config = network_config(state, node).to_string();
    let line = format!("CNI_COMMAND={command} {}", command_line("ip", &args));
    let out = run_command(&mut cmd, &line, Some(config.as_bytes()), CALL_TIMEOUT)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = serde_json::from_str::<Value>(&stdout)
        .ok()
        .and_then(|v| {
            let msg = v.get("msg")?.as_str()?.to_string();
            let code = v.get("code").and_then(Value::as_u64).unwrap_or(0);
            Some(match v.get("details").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => format!("error {code}: {msg} ({d})"),
                _ => format!("error {code}: {msg}"),
            })
        })
        .unwrap_or_else(|| {
            format!("{} {}", stdout.trim(), stderr.trim())
                .trim()
                .to_string()
        });
    Err(Error::Command {
        command: format!("CNI {command} of pod {} on {}", pod.name, node.name),
        status: out.status.to_string(),
        stderr: why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_ipv4_address_of_a_result() {
        let r = json!({"cniVersion":"1.0.0","ips":[{"address":"fd00::1/128"},
            {"address":"192.168.4.1/32","interface":0}]});
        assert_eq!(first_ipv4(&r), "192.168.4.1".parse().ok());
        assert_eq!(first_ipv4(&json!({})), None);
    }
}
