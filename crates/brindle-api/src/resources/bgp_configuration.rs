//! BGPConfiguration: cluster-wide (`default`) or per-node (`node.<name>`) BGP settings.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::{BgpPassword, NoStatus, check_default_or_node_name, check_log_severity};
use crate::asn::AsNumber;
use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;

/// `spec` of a BGPConfiguration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpConfigurationSpec {
    /// Log level of the BGP speaker. Default `Info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_severity_screen: Option<String>,
    /// Whether every node peers with every other node. Default true. Global only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_to_node_mesh_enabled: Option<bool>,
    /// Default AS number of nodes. Default 64512. Global only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// Service LoadBalancer IP ranges to advertise. Global only.
    #[serde(
        default,
        rename = "serviceLoadBalancerIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<CidrBlock>,
    /// Service external IP ranges to advertise. Global only.
    #[serde(
        default,
        rename = "serviceExternalIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<CidrBlock>,
    /// Service cluster IP ranges to advertise. Global only.
    #[serde(
        default,
        rename = "serviceClusterIPs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<CidrBlock>,
    /// Named community values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// Communities to attach to advertised prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// TCP port the speaker listens on. Default 179.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    /// Password for the node-to-node mesh sessions. Global only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_password: Option<BgpPassword>,
    /// Graceful restart time of mesh sessions, e.g. `120s`. Global only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mesh_max_restart_time: Option<String>,
    /// `NodeIP` binds the speaker to the node IP only; `None` (default) binds to all addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_mode: Option<BindMode>,
    /// Address the speaker uses to peer with local workloads (IPv4).
    #[serde(
        default,
        rename = "localWorkloadPeeringIPV4",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_workload_peering_ipv4: Option<String>,
    /// Address the speaker uses to peer with local workloads (IPv6).
    #[serde(
        default,
        rename = "localWorkloadPeeringIPV6",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_workload_peering_ipv6: Option<String>,
    /// Interfaces whose addresses are not exported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_interfaces: Vec<String>,
}

/// A CIDR entry of the service IP lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CidrBlock {
    /// The range.
    pub cidr: String,
}

/// A named BGP community value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Community {
    /// Name referenced by prefix advertisements.
    pub name: String,
    /// `aa:nn` (standard, 16-bit parts) or `aa:nn:mm` (large, 32-bit parts).
    pub value: String,
}

/// Communities to attach to one advertised range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixAdvertisement {
    /// The advertised range.
    pub cidr: String,
    /// Community names (from `communities`) or literal values.
    #[serde(default)]
    pub communities: Vec<String>,
}

/// How the BGP listener binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindMode {
    /// All addresses.
    None,
    /// The node IP only.
    #[serde(rename = "NodeIP")]
    NodeIp,
}

/// Checks a community value: RFC 1997 `aa:nn` with 16-bit parts or RFC 8092 `aa:nn:mm` with
/// 32-bit parts.
pub fn check_community_value(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = match parts.len() {
        2 => parts.iter().all(|p| p.parse::<u16>().is_ok()),
        3 => parts.iter().all(|p| p.parse::<u32>().is_ok()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not a community (aa:nn with 16-bit parts, or aa:nn:mm)"
        ))
    }
}

impl Spec for BgpConfigurationSpec {
    const KIND: Kind = Kind::BgpConfiguration;
    type Status = NoStatus;

    fn validate(&self, meta: &ObjectMeta, c: &mut Checker) {
        let per_node = check_default_or_node_name(&meta.name, c);
        if per_node {
            let global_only = [
                (
                    "nodeToNodeMeshEnabled",
                    self.node_to_node_mesh_enabled.is_some(),
                ),
                ("asNumber", self.as_number.is_some()),
                (
                    "serviceLoadBalancerIPs",
                    !self.service_load_balancer_ips.is_empty(),
                ),
                ("serviceExternalIPs", !self.service_external_ips.is_empty()),
                ("serviceClusterIPs", !self.service_cluster_ips.is_empty()),
                ("nodeMeshPassword", self.node_mesh_password.is_some()),
                (
                    "nodeMeshMaxRestartTime",
                    self.node_mesh_max_restart_time.is_some(),
                ),
            ];
            for (field, set) in global_only {
                if set {
                    c.err(
                        &format!("spec.{field}"),
                        "may only be set on the global BGPConfiguration \"default\"",
                    );
                }
            }
        }
        if let Some(s) = &self.log_severity_screen {
            check_log_severity("spec.logSeverityScreen", s, c);
        }
        if self.as_number == Some(AsNumber(0)) {
            c.err("spec.asNumber", "0 is not a valid AS number");
        }
        if self.listen_port == Some(0) {
            c.err("spec.listenPort", "0 is outside 1..=65535");
        }
        let lists = [
            ("serviceLoadBalancerIPs", &self.service_load_balancer_ips),
            ("serviceExternalIPs", &self.service_external_ips),
            ("serviceClusterIPs", &self.service_cluster_ips),
        ];
        for (field, list) in lists {
            for (i, b) in list.iter().enumerate() {
                c.cidr(&format!("spec.{field}[{i}].cidr"), &b.cidr);
            }
        }
        for (i, com) in self.communities.iter().enumerate() {
            if let Err(e) = crate::check::resource_name(&com.name) {
                c.err(&format!("spec.communities[{i}].name"), e);
            }
            c.check(
                &format!("spec.communities[{i}].value"),
                check_community_value(&com.value),
            );
        }
        for (i, adv) in self.prefix_advertisements.iter().enumerate() {
            c.cidr(&format!("spec.prefixAdvertisements[{i}].cidr"), &adv.cidr);
            for (j, com) in adv.communities.iter().enumerate() {
                let named = self.communities.iter().any(|d| &d.name == com);
                if !named && check_community_value(com).is_err() {
                    c.err(
                        &format!("spec.prefixAdvertisements[{i}].communities[{j}]"),
                        format!("{com:?} is neither a community defined in spec.communities nor a value aa:nn / aa:nn:mm"),
                    );
                }
            }
        }
        if let Some(p) = &self.node_mesh_password {
            p.validate("spec.nodeMeshPassword", c);
        }
        if let Some(d) = &self.node_mesh_max_restart_time {
            c.duration("spec.nodeMeshMaxRestartTime", d);
        }
        for (field, v, v4) in [
            (
                "localWorkloadPeeringIPV4",
                &self.local_workload_peering_ipv4,
                true,
            ),
            (
                "localWorkloadPeeringIPV6",
                &self.local_workload_peering_ipv6,
                false,
            ),
        ] {
            if let Some(v) = v {
                super::common::check_ip(&format!("spec.{field}"), v, Some(v4), c);
            }
        }
    }
}
