//! Pods: a network namespace each, wired by the CNI plugin inside its node's namespace.

use std::path::Path;

use super::cni;
use super::naming::{check_pod_name, pod_ns};
use super::state::{LabState, PodState, StateLock};
use crate::error::{Error, Result};
use crate::lab::{namespace_exists, remove_namespace};
use crate::names::random_id;
use crate::process::run_ok;

/// Creates pod `pod` on `node` of the loaded lab: its namespace, then CNI ADD. On failure
/// nothing of it is left (DEL, namespace deleted). The caller records the returned pod.
pub fn create(state: &LabState, node: &str, pod: &str) -> Result<PodState> {
    check_pod_name(pod)?;
    let n = state.node(node)?;
    if n.pods.iter().any(|p| p.name == pod) {
        return Err(Error::invalid(
            "pod",
            format!("{pod:?} already exists on {node}"),
        ));
    }
    let ns = pod_ns(&state.name, node, pod);
    if namespace_exists(&ns) {
        return Err(Error::invalid(
            "pod",
            format!("namespace {ns} already exists (left over? `brindle-lab down` removes it)"),
        ));
    }
    let mut record = PodState {
        name: pod.to_string(),
        ns: ns.clone(),
        container_id: container_id(),
        ipv4: None,
    };
    run_ok("ip", &["netns", "add", &ns])?;
    let wired = run_ok("ip", &["-n", &ns, "link", "set", "lo", "up"])
        .and_then(|_| cni::add(state, n, &record));
    match wired {
        Ok(ip) => {
            record.ipv4 = ip;
            Ok(record)
        }
        Err(e) => {
            let _ = cni::del(state, n, &record);
            let _ = remove_namespace(&ns);
            Err(e)
        }
    }
}

/// Removes pod `pod` of `node` from the loaded lab: CNI DEL, then its namespace. The caller
/// drops it from the state.
pub fn destroy(state: &LabState, node: &str, pod: &str) -> Result<()> {
    let n = state.node(node)?;
    let record = n
        .pods
        .iter()
        .find(|p| p.name == pod)
        .ok_or_else(|| Error::invalid("pod", format!("{pod:?}: no such pod on {node}")))?;
    cni::del(state, n, record)?;
    remove_namespace(&record.ns).map(drop)
}

/// `pod add`: creates the pod and records it in the lab's state file.
pub fn add(dir: &Path, node: &str, pod: &str) -> Result<PodState> {
    let _lock = StateLock::acquire(dir)?;
    let mut state = LabState::load(dir)?;
    let record = create(&state, node, pod)?;
    state.node_mut(node)?.pods.push(record.clone());
    state.save()?;
    Ok(record)
}

/// `pod del`: removes the pod and drops it from the lab's state file.
pub fn del(dir: &Path, node: &str, pod: &str) -> Result<()> {
    let _lock = StateLock::acquire(dir)?;
    let mut state = LabState::load(dir)?;
    destroy(&state, node, pod)?;
    state.node_mut(node)?.pods.retain(|p| p.name != pod);
    state.save()
}

/// A container ID no other call used: 20 hex digits from the clock and a random number.
fn container_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{nanos:016x}{:04x}", random_id())
}
