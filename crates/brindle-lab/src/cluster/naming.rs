//! The names a cluster lab gives its namespaces, and how `down` recognises them without a
//! state file.
//!
//! A lab named `brindle` has `brindle-sw` (the switch), `brindle-node1`.. (the nodes),
//! `brindle-router` and `brindle-etcd` (when present), and one namespace per pod,
//! `brindle-node1-pod1`. Only names of exactly these shapes count as the lab's.

use crate::error::{Error, Result};
use crate::names;

/// Longest lab name: `<name>-node99` must fit in 15 characters.
pub const MAX_LAB_NAME: usize = 8;

/// Longest pod name.
pub const MAX_POD_NAME: usize = 32;

/// The host name of the router namespace.
pub const ROUTER_HOST: &str = "router";

/// The host name of the etcd namespace.
pub const ETCD_HOST: &str = "etcd";

/// Checks a lab name: 1 to 8 lowercase letters or digits, starting with a letter, and not shaped
/// like a throw-away test lab's name.
pub fn check_lab_name(name: &str) -> Result<()> {
    if name.len() > MAX_LAB_NAME {
        return Err(Error::invalid(
            "lab name",
            format!("{name:?}: at most {MAX_LAB_NAME} characters"),
        ));
    }
    names::check_persistent_name(name)
}

/// Checks a pod name: 1 to 32 lowercase letters, digits or `-`, not starting or ending with `-`.
pub fn check_pod_name(pod: &str) -> Result<()> {
    let ok = (1..=MAX_POD_NAME).contains(&pod.len())
        && !pod.starts_with('-')
        && !pod.ends_with('-')
        && pod
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "pod name",
            format!(
                "{pod:?}: 1 to {MAX_POD_NAME} lowercase letters, digits or '-', not at either end"
            ),
        ))
    }
}

/// The name of node `i` (1-based): `node<i>`.
pub fn node_name(i: usize) -> String {
    format!("node{i}")
}

/// The switch namespace of lab `lab`.
pub fn switch_ns(lab: &str) -> String {
    format!("{lab}-sw")
}

/// The namespace of host `host` (a node, the router, etcd) of lab `lab`.
pub fn host_ns(lab: &str, host: &str) -> String {
    format!("{lab}-{host}")
}

/// The namespace of pod `pod` on node `node` of lab `lab`.
pub fn pod_ns(lab: &str, node: &str, pod: &str) -> String {
    format!("{lab}-{node}-{pod}")
}

/// What a namespace of a lab is, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NsRole {
    /// A pod's namespace (removed first).
    Pod,
    /// A node, the router or etcd.
    Host,
    /// The switch (removed last).
    Switch,
}

/// Whether `ns` is one of lab `lab`'s namespaces, and which kind.
pub fn role_of(lab: &str, ns: &str) -> Option<NsRole> {
    let rest = ns.strip_prefix(lab)?.strip_prefix('-')?;
    match rest {
        "sw" => return Some(NsRole::Switch),
        ROUTER_HOST | ETCD_HOST => return Some(NsRole::Host),
        _ => {}
    }
    let after = rest.strip_prefix("node")?;
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    match &after[digits..] {
        "" => Some(NsRole::Host),
        pod => pod
            .strip_prefix('-')
            .filter(|p| check_pod_name(p).is_ok())
            .map(|_| NsRole::Pod),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_lab_namespaces_only() {
        assert_eq!(role_of("brindle", "brindle-sw"), Some(NsRole::Switch));
        assert_eq!(role_of("brindle", "brindle-node1"), Some(NsRole::Host));
        assert_eq!(role_of("brindle", "brindle-node12"), Some(NsRole::Host));
        assert_eq!(role_of("brindle", "brindle-router"), Some(NsRole::Host));
        assert_eq!(role_of("brindle", "brindle-etcd"), Some(NsRole::Host));
        assert_eq!(role_of("brindle", "brindle-node1-pod1"), Some(NsRole::Pod));
        assert_eq!(role_of("brindle", "brindle-node1-web-a"), Some(NsRole::Pod));
        assert_eq!(role_of("brindle", "brindle2-node1"), None);
        assert_eq!(role_of("brindle", "brindle-nodex"), None);
        assert_eq!(role_of("brindle", "brindle-node"), None);
        assert_eq!(role_of("brindle", "brindle-node1-"), None);
        assert_eq!(role_of("brindle", "brindle-other"), None);
        assert_eq!(role_of("brindle", "cni-1234"), None);
    }

    #[test]
    fn names_fit_and_are_checked() {
        assert!(check_lab_name("brindle").is_ok());
        assert!(check_lab_name("ninechars").is_err());
        assert!(check_lab_name("brl3fa2").is_err());
        assert_eq!(host_ns("abcdefgh", &node_name(99)).len(), 15);
        assert!(check_pod_name("web-1").is_ok());
        assert!(check_pod_name("Web").is_err());
        assert!(check_pod_name("-a").is_err());
        assert_eq!(pod_ns("l", "node1", "pod1"), "l-node1-pod1");
    }
}
