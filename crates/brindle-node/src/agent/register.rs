//! Start-up registration: the node's name and host identity, refusing to take over another
//! host's name or address, the default pool, and the node's Node resource.

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::Path;

use brindle_api::resources::ip_pool::{EncapMode, IpPoolSpec};
use brindle_api::resources::node::{NodeBgpSpec, NodeSpec};
use brindle_api::{AsNumber, Kind, Object, Resource};
use brindle_client::{Client, ClientError, WriteMode};

/// The annotation on a Node resource naming the host that registered it.
pub const HOST_ID_ANNOTATION: &str = "brindle/host-id";
/// The name of the pool created when the datastore has none (Calico's).
pub const DEFAULT_POOL_NAME: &str = "default-ipv4-ippool";

/// Who this node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Node name.
    pub name: String,
    /// IPv4 address (BGP router ID and peering address).
    pub ipv4: Ipv4Addr,
    /// Prefix length of the address's network.
    pub prefix_len: u8,
    /// IPv6 address and prefix length, when the node peers over IPv6.
    pub ipv6: Option<(std::net::Ipv6Addr, u8)>,
    /// This host's identity (kept in `<state_dir>/host-id`).
    pub host_id: String,
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The node name: given, else `<state_dir>/nodename`, else the hostname; written to
/// `<state_dir>/nodename` (the CNI plugin reads it from there).
pub fn node_name(given: Option<&str>, state_dir: &Path) -> Result<String, String> {
    let file = state_dir.join("nodename");
    let name = match given {
        Some(n) => n.to_string(),
        None => match read_trimmed(&file) {
            Some(n) => n,
            None => read_trimmed(Path::new("/proc/sys/kernel/hostname"))
                .ok_or("cannot tell the node name: set NODENAME (or --nodename)")?
                .to_lowercase(),
        },
    };
    std::fs::create_dir_all(state_dir)
        .map_err(|e| format!("cannot create state directory {}: {e}", state_dir.display()))?;
    if read_trimmed(&file).as_deref() != Some(name.as_str()) {
        std::fs::write(&file, format!("{name}\n"))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(name)
}

/// This host's identity: `<state_dir>/host-id`, made (random) on first use.
pub fn host_id(state_dir: &Path) -> Result<String, String> {
    let file = state_dir.join("host-id");
    if let Some(id) = read_trimmed(&file) {
        return Ok(id);
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for a host id: {e}"))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&file, format!("{id}\n"))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(id)
}

fn client_err(doing: &str, e: ClientError) -> String {
    format!("{doing}: {e}")
}

/// The IPv4 address in a Node's `spec.bgp.ipv4Address` ("10.0.0.1/24" or "10.0.0.1").
pub fn node_ipv4(spec: &NodeSpec) -> Option<Ipv4Addr> {
    let s = spec.bgp.as_ref()?.ipv4_address.as_deref()?;
    s.split('/').next()?.parse().ok()
}

/// The IPv6 address in a Node's `spec.bgp.ipv6Address`.
pub fn node_ipv6(spec: &NodeSpec) -> Option<std::net::Ipv6Addr> {
    let s = spec.bgp.as_ref()?.ipv6_address.as_deref()?;
    s.split('/').next()?.parse().ok()
}

/// Refuses when another Node uses `me.ipv4` (or `me.ipv6`), or when `me.name` was registered
/// by another host.
pub fn check_conflicts(nodes: &[Object<NodeSpec>], me: &Identity) -> Result<(), String> {
    for n in nodes {
        let v6_taken = me.ipv6.is_some_and(|(a, _)| node_ipv6(&n.spec) == Some(a));
        if n.metadata.name != me.name && (node_ipv4(&n.spec) == Some(me.ipv4) || v6_taken) {
            let ip = match me.ipv6 {
                Some((a, _)) if v6_taken => a.to_string(),
                _ => me.ipv4.to_string(),
            };
            return Err(format!(
                "node IP {ip} is already used by Node \"{other}\"; this host is \"{me}\". Two nodes with one \
                 address cannot both peer. Fix: give this host its own address (--ip / IP, or \
                 IP_AUTODETECTION_METHOD), or if \"{other}\" is gone: brindlectl delete node {other}",
                other = n.metadata.name,
                me = me.name
            ));
        }
        if n.metadata.name == me.name {
            let theirs = n.metadata.annotations.get(HOST_ID_ANNOTATION);
            if theirs.is_some_and(|id| *id != me.host_id) {
                let their_ip = node_ipv4(&n.spec).map_or("unknown".into(), |i| i.to_string());
                return Err(format!(
                    "node name \"{name}\" is already registered by another host (IP {their_ip}); this host \
                     (IP {ip}) would take it over and one of the two would silently drop out of BGP. \
                     Fix: start this host with another name (--nodename / NODENAME, or {{stateDir}}/nodename), \
                     or if the other host is gone: brindlectl delete node {name}",
                    name = me.name,
                    ip = me.ipv4
                ));
            }
        }
    }
    Ok(())
}

fn ensure_default_pool(client: &Client, cidr: &str) -> Result<(), String> {
    let (pools, _) = client
        .list(Kind::IpPool, None)
        .map_err(|e| client_err("listing IP pools", e))?;
    if !pools.is_empty() {
        return Ok(());
    }
    let spec = IpPoolSpec {
        cidr: cidr.to_string(),
        block_size: Some(26),
        nat_outgoing: Some(true),
        ipip_mode: Some(EncapMode::Never),
        vxlan_mode: Some(EncapMode::Never),
        node_selector: Some("all()".into()),
        ..Default::default()
    };
    let pool = Resource::IpPool(Object::new(DEFAULT_POOL_NAME, spec));
    match client.write_all(WriteMode::Create, vec![pool]) {
        Ok(_) => {
            eprintln!("node: created IP pool {DEFAULT_POOL_NAME} {cidr}");
            Ok(())
        }
        // Another node made it first.
        Err(ClientError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(client_err(
            &format!("creating the default IP pool {cidr}"),
            e,
        )),
    }
}

/// Checks for conflicts, creates the default pool when asked and none exists, and creates or
/// updates this node's Node resource.
pub fn register(
    client: &Client,
    me: &Identity,
    asn: Option<u32>,
    default_pool: Option<&str>,
) -> Result<(), String> {
    let (all, _) = client
        .list(Kind::Node, None)
        .map_err(|e| client_err("listing nodes", e))?;
    let nodes: Vec<Object<NodeSpec>> = all
        .into_iter()
        .filter_map(|r| match r {
            Resource::Node(n) => Some(n),
            _ => None,
        })
        .collect();
    check_conflicts(&nodes, me)?;
    if let Some(cidr) = default_pool {
        ensure_default_pool(client, cidr)?;
    }
    let mut node = nodes
        .into_iter()
        .find(|n| n.metadata.name == me.name)
        .unwrap_or_else(|| Object::new(me.name.clone(), NodeSpec::default()));
    let existed = node.metadata.resource_version.is_some();
    let bgp = node.spec.bgp.get_or_insert_with(NodeBgpSpec::default);
    bgp.ipv4_address = Some(format!("{}/{}", me.ipv4, me.prefix_len));
    bgp.ipv6_address = me.ipv6.map(|(a, len)| format!("{a}/{len}"));
    if let Some(a) = asn {
        bgp.as_number = Some(AsNumber(a));
    }
    node.metadata
        .annotations
        .insert(HOST_ID_ANNOTATION.into(), me.host_id.clone());
    let mode = if existed {
        WriteMode::Replace
    } else {
        WriteMode::Create
    };
    client
        .write_all(mode, vec![Resource::Node(node)])
        .map_err(|e| client_err(&format!("registering Node \"{}\"", me.name), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str, host: Option<&str>) -> Object<NodeSpec> {
        let mut n = Object::new(
            name,
            NodeSpec {
                bgp: Some(NodeBgpSpec {
                    ipv4_address: Some(ip.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        if let Some(h) = host {
            n.metadata
                .annotations
                .insert(HOST_ID_ANNOTATION.into(), h.into());
        }
        n
    }

    fn me() -> Identity {
        Identity {
            name: "node1".into(),
            ipv4: Ipv4Addr::new(10, 0, 0, 1),
            prefix_len: 24,
            ipv6: None,
            host_id: "aaaa".into(),
        }
    }

    #[test]
    fn another_node_with_our_ip_is_refused_naming_both() {
        let e = check_conflicts(&[node("node2", "10.0.0.1/24", Some("bbbb"))], &me())
            .expect_err("conflict");
        assert!(
            e.contains("node2")
                && e.contains("node1")
                && e.contains("brindlectl delete node node2"),
            "{e}"
        );
    }

    #[test]
    fn our_name_from_another_host_is_refused() {
        let e = check_conflicts(&[node("node1", "10.0.0.7/24", Some("bbbb"))], &me())
            .expect_err("conflict");
        assert!(
            e.contains("10.0.0.7") && e.contains("brindlectl delete node node1"),
            "{e}"
        );
    }

    #[test]
    fn our_own_record_and_unclaimed_records_are_fine() {
        check_conflicts(&[node("node1", "10.0.0.1/24", Some("aaaa"))], &me()).expect("ours");
        check_conflicts(&[node("node1", "10.0.0.1/24", None)], &me()).expect("adopted");
        check_conflicts(&[node("node2", "10.0.0.2/24", Some("bbbb"))], &me()).expect("other");
    }

    #[test]
    fn name_and_host_id_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state");
        assert_eq!(node_name(Some("n1"), &state).expect("name"), "n1");
        assert_eq!(node_name(None, &state).expect("from file"), "n1");
        let id = host_id(&state).expect("id");
        assert_eq!(id.len(), 32);
        assert_eq!(host_id(&state).expect("same"), id);
    }
}
