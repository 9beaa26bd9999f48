//! FelixConfiguration: dataplane settings, global (`default`) or per node (`node.<name>`).
//! brindle models the fields its dataplane uses; other Felix fields are rejected as unknown.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::{NoStatus, check_default_or_node_name, check_ip, check_log_severity};
use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;

/// `spec` of a FelixConfiguration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FelixConfigurationSpec {
    /// Manage the IP-in-IP device.
    #[serde(
        default,
        rename = "ipipEnabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipip_enabled: Option<bool>,
    /// MTU of the IP-in-IP device.
    #[serde(default, rename = "ipipMTU", skip_serializing_if = "Option::is_none")]
    pub ipip_mtu: Option<u32>,
    /// Manage the VXLAN device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_enabled: Option<bool>,
    /// VXLAN network identifier. Default 4096.
    #[serde(default, rename = "vxlanVNI", skip_serializing_if = "Option::is_none")]
    pub vxlan_vni: Option<u32>,
    /// VXLAN UDP port. Default 4789.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_port: Option<u32>,
    /// MTU of the IPv4 VXLAN device.
    #[serde(default, rename = "vxlanMTU", skip_serializing_if = "Option::is_none")]
    pub vxlan_mtu: Option<u32>,
    /// MTU of the IPv6 VXLAN device.
    #[serde(
        default,
        rename = "vxlanMTUV6",
        skip_serializing_if = "Option::is_none"
    )]
    pub vxlan_mtu_v6: Option<u32>,
    /// Prefix(es) of workload interface names, comma separated. Default `cali`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_prefix: Option<String>,
    /// Port of the health endpoint. Default 9099.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_port: Option<u32>,
    /// Serve the health endpoint. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_enabled: Option<bool>,
    /// Address the health endpoint binds. Default `localhost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_host: Option<String>,
    /// Serve Prometheus metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_enabled: Option<bool>,
    /// Port of the metrics endpoint. Default 9091.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_port: Option<u32>,
    /// Source address for masqueraded traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing_address: Option<String>,
    /// How often routes are re-checked against the kernel, e.g. `90s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_refresh_interval: Option<String>,
    /// Log level of the dataplane agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_severity_screen: Option<String>,
    /// How often the agent reports status, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_interval: Option<String>,
    /// Manage WireGuard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_enabled: Option<bool>,
    /// MTU of the WireGuard device.
    #[serde(
        default,
        rename = "wireguardMTU",
        skip_serializing_if = "Option::is_none"
    )]
    pub wireguard_mtu: Option<u32>,
    /// Interfaces (regex) whose MTU is the basis of workload MTUs.
    #[serde(
        default,
        rename = "mtuIfacePattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub mtu_iface_pattern: Option<String>,
    /// Program IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_support: Option<bool>,
}

impl Spec for FelixConfigurationSpec {
    const KIND: Kind = Kind::FelixConfiguration;
    type Status = NoStatus;

    fn validate(&self, meta: &ObjectMeta, c: &mut Checker) {
        check_default_or_node_name(&meta.name, c);
        if let Some(v) = self.vxlan_vni {
            c.range("spec.vxlanVNI", v, 1, (1 << 24) - 1);
        }
        for (field, v) in [
            ("vxlanPort", self.vxlan_port),
            ("healthPort", self.health_port),
            ("prometheusMetricsPort", self.prometheus_metrics_port),
        ] {
            if let Some(v) = v {
                c.range(&format!("spec.{field}"), v, 1, 65535);
            }
        }
        for (field, v) in [
            ("ipipMTU", self.ipip_mtu),
            ("vxlanMTU", self.vxlan_mtu),
            ("vxlanMTUV6", self.vxlan_mtu_v6),
            ("wireguardMTU", self.wireguard_mtu),
        ] {
            if let Some(v) = v.filter(|v| *v != 0) {
                c.range(&format!("spec.{field}"), v, 576, 65535);
            }
        }
        if let Some(p) = &self.interface_prefix {
            for part in p.split(',') {
                let ok = !part.is_empty()
                    && part.len() <= 10
                    && part
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
                if !ok {
                    c.err(
                        "spec.interfacePrefix",
                        format!("{part:?} is not an interface name prefix (1-10 of [A-Za-z0-9_-])"),
                    );
                }
            }
        }
        if let Some(a) = &self.nat_outgoing_address {
            check_ip("spec.natOutgoingAddress", a, Some(true), c);
        }
        for (field, v) in [
            ("routeRefreshInterval", &self.route_refresh_interval),
            ("reportingInterval", &self.reporting_interval),
        ] {
            if let Some(v) = v {
                c.duration(&format!("spec.{field}"), v);
            }
        }
        if let Some(s) = &self.log_severity_screen {
            check_log_severity("spec.logSeverityScreen", s, c);
        }
    }
}
