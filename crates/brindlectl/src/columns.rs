//! The columns `get` prints per kind, as calicoctl prints them.

use brindle_api::resources::ip_pool::EncapMode;
use brindle_api::{AsNumber, Kind, Resource};

/// Context some columns need: the cluster-wide default AS number.
pub struct Context {
    /// `asNumber` of BGPConfiguration `default`, or 64512.
    pub global_as: AsNumber,
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn encap(m: EncapMode) -> String {
    format!("{m:?}")
}

/// Header and one row per resource, for `-o ps` (`wide == false`) or `-o wide`.
pub fn table(
    kind: Kind,
    items: &[Resource],
    wide: bool,
    all_namespaces: bool,
    ctx: &Context,
) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header: Vec<&'static str> = match kind {
        Kind::Node if wide => vec!["NAME", "ASN", "IPV4", "IPV6"],
        Kind::BgpPeer => vec!["NAME", "PEERIP", "NODE", "ASN"],
        Kind::IpPool if wide => {
            vec![
                "NAME",
                "CIDR",
                "NAT",
                "IPIPMODE",
                "VXLANMODE",
                "DISABLED",
                "DISABLEBGPEXPORT",
                "SELECTOR",
            ]
        }
        Kind::IpPool => vec!["NAME", "CIDR", "SELECTOR"],
        Kind::BgpConfiguration => vec!["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
        Kind::IpamConfiguration => vec!["NAME", "STRICTAFFINITY", "MAXBLOCKSPERHOST"],
        Kind::WorkloadEndpoint if all_namespaces => {
            vec!["NAMESPACE", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE"]
        }
        Kind::WorkloadEndpoint => vec!["WORKLOAD", "NODE", "NETWORKS", "INTERFACE"],
        Kind::IpamBlock => vec!["NAME", "CIDR", "AFFINITY"],
        Kind::BlockAffinity => vec!["NAME", "NODE", "CIDR", "STATE"],
        Kind::IpamHandle => vec!["NAME", "HANDLEID"],
        _ => vec!["NAME"],
    };
    let rows = items
        .iter()
        .map(|r| row(r, wide, all_namespaces, ctx))
        .collect();
    (header, rows)
}

fn row(r: &Resource, wide: bool, all_namespaces: bool, ctx: &Context) -> Vec<String> {
    let name = r.name().to_string();
    match r {
        Resource::Node(n) if wide => {
            let bgp = n.spec.bgp.clone().unwrap_or_default();
            let asn = match bgp.as_number {
                Some(a) => a.to_string(),
                None => format!("({})", ctx.global_as),
            };
            vec![name, asn, opt(&bgp.ipv4_address), opt(&bgp.ipv6_address)]
        }
        Resource::BgpPeer(p) => {
            let s = &p.spec;
            let peer = s
                .peer_ip
                .clone()
                .or_else(|| s.peer_selector.clone())
                .unwrap_or_default();
            let node = if s.is_global() {
                "(global)".to_string()
            } else {
                s.node
                    .clone()
                    .filter(|n| !n.is_empty())
                    .or_else(|| s.node_selector.clone())
                    .unwrap_or_default()
            };
            vec![name, peer, node, opt(&s.as_number)]
        }
        Resource::IpPool(p) => {
            let s = &p.spec;
            let selector = s.node_selector.clone().unwrap_or_else(|| "all()".into());
            if wide {
                vec![
                    name,
                    s.cidr.clone(),
                    s.nat_outgoing.unwrap_or(false).to_string(),
                    encap(s.ipip()),
                    encap(s.vxlan()),
                    s.disabled.unwrap_or(false).to_string(),
                    s.disable_bgp_export.unwrap_or(false).to_string(),
                    selector,
                ]
            } else {
                vec![name, s.cidr.clone(), selector]
            }
        }
        Resource::BgpConfiguration(c) => {
            let s = &c.spec;
            let per_node = name.starts_with("node.");
            let or_default = |v: Option<String>, d: &str| match v {
                Some(v) => v,
                None if per_node => String::new(),
                None => format!("({d})"),
            };
            vec![
                name.clone(),
                or_default(s.log_severity_screen.clone(), "Info"),
                or_default(s.node_to_node_mesh_enabled.map(|b| b.to_string()), "true"),
                or_default(
                    s.as_number.map(|a| a.to_string()),
                    &AsNumber::DEFAULT.to_string(),
                ),
            ]
        }
        Resource::IpamConfiguration(c) => {
            vec![
                name,
                c.spec.strict_affinity.to_string(),
                c.spec.max_blocks_per_host.unwrap_or(0).to_string(),
            ]
        }
        Resource::WorkloadEndpoint(w) => {
            let s = &w.spec;
            let mut v = vec![
                s.workload.clone().or_else(|| s.pod.clone()).unwrap_or(name),
                opt(&s.node),
                s.ip_networks.join(","),
                opt(&s.interface_name),
            ];
            if all_namespaces {
                v.insert(0, w.metadata.namespace.clone().unwrap_or_default());
            }
            v
        }
        Resource::IpamBlock(b) => vec![name, b.spec.cidr.clone(), opt(&b.spec.affinity)],
        Resource::BlockAffinity(a) => {
            let state = serde_json::to_value(a.spec.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            vec![name, a.spec.node.clone(), a.spec.cidr.clone(), state]
        }
        Resource::IpamHandle(h) => vec![name, h.spec.handle_id.clone()],
        _ => vec![name],
    }
}
