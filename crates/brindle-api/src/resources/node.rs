//! Node: a host of the cluster with its BGP identity and tunnel addresses.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::{check_ip, check_mac};
use crate::asn::AsNumber;
use crate::check::{Checker, resource_name};
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::net::parse_ip_maybe_prefix;

/// `spec` of a Node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// BGP settings; absent on nodes that do not run BGP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    /// The node's addresses, as reported by the orchestrator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// VXLAN tunnel address (IPv4).
    #[serde(
        default,
        rename = "ipv4VXLANTunnelAddr",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_vxlan_tunnel_addr: Option<String>,
    /// VXLAN tunnel device MAC (IPv4).
    #[serde(
        default,
        rename = "vxlanTunnelMACAddr",
        skip_serializing_if = "Option::is_none"
    )]
    pub vxlan_tunnel_mac_addr: Option<String>,
    /// VXLAN tunnel address (IPv6).
    #[serde(
        default,
        rename = "ipv6VXLANTunnelAddr",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_vxlan_tunnel_addr: Option<String>,
    /// VXLAN tunnel device MAC (IPv6).
    #[serde(
        default,
        rename = "vxlanTunnelMACAddrV6",
        skip_serializing_if = "Option::is_none"
    )]
    pub vxlan_tunnel_mac_addr_v6: Option<String>,
    /// The orchestrators that know this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orch_refs: Vec<OrchRef>,
    /// WireGuard interface addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard: Option<NodeWireguardSpec>,
}

/// `spec.bgp` of a Node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeBgpSpec {
    /// The node's AS number; the global default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// IPv4 address with optional prefix length, e.g. `172.31.209.241/20`.
    #[serde(
        default,
        rename = "ipv4Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_address: Option<String>,
    /// IPv6 address with optional prefix length.
    #[serde(
        default,
        rename = "ipv6Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_address: Option<String>,
    /// IP-in-IP tunnel address.
    #[serde(
        default,
        rename = "ipv4IPIPTunnelAddr",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_ipip_tunnel_addr: Option<String>,
    /// Set on route reflectors: their cluster ID, in dotted-quad form.
    #[serde(
        default,
        rename = "routeReflectorClusterID",
        skip_serializing_if = "Option::is_none"
    )]
    pub route_reflector_cluster_id: Option<String>,
}

/// One address of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeAddress {
    /// The address (with optional prefix length).
    pub address: String,
    /// `InternalIP`, `ExternalIP`, `CalicoNodeIP`…
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A reference to the node in an orchestrator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrchRef {
    /// The orchestrator's name for the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The orchestrator, e.g. `k8s`.
    pub orchestrator: String,
}

/// WireGuard settings of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeWireguardSpec {
    /// IPv4 address of the WireGuard interface.
    #[serde(
        default,
        rename = "interfaceIPv4Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub interface_ipv4_address: Option<String>,
    /// IPv6 address of the WireGuard interface.
    #[serde(
        default,
        rename = "interfaceIPv6Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub interface_ipv6_address: Option<String>,
}

/// `status` of a Node (written by the agent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// WireGuard public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_public_key: Option<String>,
    /// WireGuard public key (IPv6).
    #[serde(
        default,
        rename = "wireguardPublicKeyV6",
        skip_serializing_if = "Option::is_none"
    )]
    pub wireguard_public_key_v6: Option<String>,
    /// Pod CIDRs the orchestrator assigned.
    #[serde(default, rename = "podCIDRs", skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
}

impl Spec for NodeSpec {
    const KIND: Kind = Kind::Node;
    type Status = NodeStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        if let Some(bgp) = &self.bgp {
            for (field, v, v4) in [
                ("ipv4Address", &bgp.ipv4_address, true),
                ("ipv6Address", &bgp.ipv6_address, false),
            ] {
                let path = format!("spec.bgp.{field}");
                if let Some(v) = v
                    && let Some((ip, _)) = c.check(&path, parse_ip_maybe_prefix(v))
                    && ip.is_ipv4() != v4
                {
                    let fam = if v4 { "IPv4" } else { "IPv6" };
                    c.err(&path, format!("{v:?} is not an {fam} address"));
                }
            }
            if let Some(t) = &bgp.ipv4_ipip_tunnel_addr {
                check_ip("spec.bgp.ipv4IPIPTunnelAddr", t, Some(true), c);
            }
            if let Some(id) = &bgp.route_reflector_cluster_id {
                check_ip("spec.bgp.routeReflectorClusterID", id, Some(true), c);
            }
            if bgp.as_number == Some(AsNumber(0)) {
                c.err("spec.bgp.asNumber", "0 is not a valid AS number");
            }
        }
        for (field, v, v4) in [
            ("ipv4VXLANTunnelAddr", &self.ipv4_vxlan_tunnel_addr, true),
            ("ipv6VXLANTunnelAddr", &self.ipv6_vxlan_tunnel_addr, false),
        ] {
            if let Some(v) = v {
                check_ip(&format!("spec.{field}"), v, Some(v4), c);
            }
        }
        for (field, v) in [
            ("vxlanTunnelMACAddr", &self.vxlan_tunnel_mac_addr),
            ("vxlanTunnelMACAddrV6", &self.vxlan_tunnel_mac_addr_v6),
        ] {
            if let Some(v) = v {
                check_mac(&format!("spec.{field}"), v, c);
            }
        }
        for (i, a) in self.addresses.iter().enumerate() {
            c.check(
                &format!("spec.addresses[{i}].address"),
                parse_ip_maybe_prefix(&a.address),
            );
        }
        for (i, r) in self.orch_refs.iter().enumerate() {
            if r.orchestrator.is_empty() {
                c.err(&format!("spec.orchRefs[{i}].orchestrator"), "is required");
            }
            if let Some(n) = &r.node_name {
                c.check(&format!("spec.orchRefs[{i}].nodeName"), resource_name(n));
            }
        }
        if let Some(w) = &self.wireguard {
            if let Some(a) = &w.interface_ipv4_address {
                check_ip("spec.wireguard.interfaceIPv4Address", a, Some(true), c);
            }
            if let Some(a) = &w.interface_ipv6_address {
                check_ip("spec.wireguard.interfaceIPv6Address", a, Some(false), c);
            }
        }
    }
}
