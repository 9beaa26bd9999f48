//! WorkloadEndpoint: a pod's network interface, written by the CNI plugin. Namespaced.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::{NoStatus, check_ip, check_mac};
use crate::check::{Checker, resource_name};
use crate::kind::Kind;
use crate::meta::ObjectMeta;

/// `spec` of a WorkloadEndpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEndpointSpec {
    /// The orchestrator, e.g. `k8s` or `cni`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<String>,
    /// The workload's name in the orchestrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The node the workload runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The container runtime's ID of the sandbox.
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<String>,
    /// The pod name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The interface name inside the pod, e.g. `eth0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The pod's service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The pod's addresses as CIDRs (`/32`, `/128`).
    #[serde(default, rename = "ipNetworks", skip_serializing_if = "Vec::is_empty")]
    pub ip_networks: Vec<String>,
    /// 1:1 NAT mappings.
    #[serde(default, rename = "ipNATs", skip_serializing_if = "Vec::is_empty")]
    pub ip_nats: Vec<IpNat>,
    /// IPv4 gateway the pod uses.
    #[serde(
        default,
        rename = "ipv4Gateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_gateway: Option<String>,
    /// IPv6 gateway the pod uses.
    #[serde(
        default,
        rename = "ipv6Gateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_gateway: Option<String>,
    /// Policy profiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// The host end of the pod's veth, e.g. `cali1a2b3c4d5e6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    /// MAC of the pod's interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Named ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
    /// Source prefixes the pod may send from besides its own addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_spoofed_source_prefixes: Vec<String>,
}

/// A 1:1 NAT mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpNat {
    /// Address inside the pod.
    #[serde(rename = "internalIP")]
    pub internal_ip: String,
    /// Address outside.
    #[serde(rename = "externalIP")]
    pub external_ip: String,
}

/// A named port of the endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPort {
    /// Port name.
    pub name: String,
    /// `TCP`, `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port number.
    pub port: u16,
    /// Host port it is mapped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// Host address it is mapped on.
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

impl Spec for WorkloadEndpointSpec {
    const KIND: Kind = Kind::WorkloadEndpoint;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        if let Some(n) = &self.node {
            c.check("spec.node", resource_name(n));
        }
        for (i, n) in self.ip_networks.iter().enumerate() {
            c.cidr(&format!("spec.ipNetworks[{i}]"), n);
        }
        for (i, n) in self.ip_nats.iter().enumerate() {
            check_ip(
                &format!("spec.ipNATs[{i}].internalIP"),
                &n.internal_ip,
                None,
                c,
            );
            check_ip(
                &format!("spec.ipNATs[{i}].externalIP"),
                &n.external_ip,
                None,
                c,
            );
        }
        if let Some(g) = &self.ipv4_gateway {
            check_ip("spec.ipv4Gateway", g, Some(true), c);
        }
        if let Some(g) = &self.ipv6_gateway {
            check_ip("spec.ipv6Gateway", g, Some(false), c);
        }
        if let Some(m) = &self.mac {
            check_mac("spec.mac", m, c);
        }
        if let Some(i) = &self.interface_name
            && (i.is_empty() || i.len() > 15 || i.contains('/') || i.contains(char::is_whitespace))
        {
            c.err(
                "spec.interfaceName",
                format!("{i:?} is not a Linux interface name (1-15 characters)"),
            );
        }
        for (i, p) in self.ports.iter().enumerate() {
            if let Some(proto) = &p.protocol
                && !["TCP", "UDP", "SCTP"]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(proto))
            {
                c.err(
                    &format!("spec.ports[{i}].protocol"),
                    format!("{proto:?} is not TCP, UDP or SCTP"),
                );
            }
        }
        for (i, p) in self.allow_spoofed_source_prefixes.iter().enumerate() {
            c.cidr(&format!("spec.allowSpoofedSourcePrefixes[{i}]"), p);
        }
    }
}
