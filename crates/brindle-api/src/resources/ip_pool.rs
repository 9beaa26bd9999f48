//! IPPool: a range pod (and tunnel) addresses are allocated from, in blocks of `blockSize`.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::NoStatus;
use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::net::Cidr;

/// `spec` of an IPPool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpPoolSpec {
    /// The pool's range; stored in canonical form (host bits cleared).
    pub cidr: String,
    /// VXLAN encapsulation. Default `Never` (an empty string means the default, as in Calico).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_is_none"
    )]
    pub vxlan_mode: Option<EncapMode>,
    /// IP-in-IP encapsulation. Default `Never` (an empty string means the default).
    #[serde(
        default,
        rename = "ipipMode",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_is_none"
    )]
    pub ipip_mode: Option<EncapMode>,
    /// Masquerade traffic from pods to destinations outside all pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing: Option<bool>,
    /// No new allocations from a disabled pool, and it is not advertised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Do not advertise the pool's blocks over BGP.
    #[serde(
        default,
        rename = "disableBGPExport",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_bgp_export: Option<bool>,
    /// Prefix length of the blocks nodes claim. Default 26 (IPv4) / 122 (IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u32>,
    /// Which nodes may allocate from this pool. Default `all()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    /// What the addresses are for. Default `[Workload, Tunnel]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_uses: Option<Vec<AllowedUse>>,
    /// `Automatic` (default) or `Manual` (only when asked for by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_mode: Option<AssignmentMode>,
}

/// Reads an encapsulation mode, taking `""` (which Calico's own exports contain) as unset.
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EncapMode>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => {
            use serde::de::IntoDeserializer;
            EncapMode::deserialize(s.into_deserializer()).map(Some)
        }
    }
}

/// Encapsulation mode of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncapMode {
    /// Always encapsulate.
    Always,
    /// Encapsulate only toward nodes in another subnet.
    CrossSubnet,
    /// Never encapsulate.
    Never,
}

/// A use of pool addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllowedUse {
    /// Pod addresses.
    Workload,
    /// Node tunnel addresses.
    Tunnel,
    /// Service LoadBalancer addresses.
    LoadBalancer,
}

/// Whether allocation picks the pool automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssignmentMode {
    /// Chosen automatically.
    Automatic,
    /// Only when requested explicitly.
    Manual,
}

impl IpPoolSpec {
    /// The pool's network, if `cidr` parses.
    pub fn network(&self) -> Option<Cidr> {
        self.cidr.parse().ok()
    }

    /// Block size in effect (default 26 for IPv4, 122 for IPv6).
    pub fn effective_block_size(&self) -> u32 {
        match self.block_size {
            Some(b) => b,
            None if self.network().is_some_and(|n| !n.is_ipv4()) => 122,
            None => 26,
        }
    }

    /// Encapsulation mode in effect for IP-in-IP.
    pub fn ipip(&self) -> EncapMode {
        self.ipip_mode.unwrap_or(EncapMode::Never)
    }

    /// Encapsulation mode in effect for VXLAN.
    pub fn vxlan(&self) -> EncapMode {
        self.vxlan_mode.unwrap_or(EncapMode::Never)
    }
}

impl Spec for IpPoolSpec {
    const KIND: Kind = Kind::IpPool;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        if self.cidr.is_empty() {
            c.err("spec.cidr", "is required");
            return;
        }
        let Some(net) = c.cidr("spec.cidr", &self.cidr) else {
            return;
        };
        let (lo, hi) = if net.is_ipv4() { (20, 32) } else { (116, 128) };
        let bs = self.effective_block_size();
        if bs < lo || bs > hi {
            c.err("spec.blockSize", format!("{bs} is outside {lo}..={hi}"));
        } else if u32::from(net.prefix()) > bs {
            c.err(
                "spec.cidr",
                format!(
                    "/{} is smaller than one block (blockSize {bs})",
                    net.prefix()
                ),
            );
        }
        if self.ipip() != EncapMode::Never && self.vxlan() != EncapMode::Never {
            c.err(
                "spec.vxlanMode",
                "IPIP and VXLAN cannot both be enabled on one pool",
            );
        }
        if !net.is_ipv4() && self.ipip() != EncapMode::Never {
            c.err("spec.ipipMode", "IPIP is not supported on an IPv6 pool");
        }
        let link_local: Cidr = if net.is_ipv4() {
            Cidr::new([169, 254, 0, 0].into(), 16)
        } else {
            Cidr::new([0xfe80, 0, 0, 0, 0, 0, 0, 0].into(), 10)
        }
        .unwrap_or(net);
        if net.overlaps(&link_local) {
            c.err(
                "spec.cidr",
                format!("{net} overlaps the link-local range {link_local}"),
            );
        }
        if let Some(s) = &self.node_selector {
            c.selector("spec.nodeSelector", s);
        }
        if let Some(uses) = &self.allowed_uses
            && uses.contains(&AllowedUse::LoadBalancer)
            && uses.len() > 1
        {
            c.err(
                "spec.allowedUses",
                "LoadBalancer cannot be combined with other uses",
            );
        }
    }

    fn apply_defaults(&mut self) {
        if let Ok((net, _)) = Cidr::parse_loose(&self.cidr) {
            self.cidr = net.to_string();
        }
        self.block_size = Some(self.effective_block_size());
        self.ipip_mode.get_or_insert(EncapMode::Never);
        self.vxlan_mode.get_or_insert(EncapMode::Never);
        self.node_selector
            .get_or_insert_with(|| "all()".to_string());
        self.allowed_uses
            .get_or_insert_with(|| vec![AllowedUse::Workload, AllowedUse::Tunnel]);
    }

    fn validate_update(&self, old: &Self, c: &mut Checker) {
        if self.network() != old.network() {
            c.err(
                "spec.cidr",
                format!("cannot be changed (was {}); create a new pool", old.cidr),
            );
        }
        if self.effective_block_size() != old.effective_block_size() {
            c.err(
                "spec.blockSize",
                format!("cannot be changed (was {})", old.effective_block_size()),
            );
        }
    }
}
