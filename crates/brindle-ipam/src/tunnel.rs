//! Tunnel device addresses of a node (IPIP `tunl0`, VXLAN, WireGuard), from pools that allow
//! `Tunnel`. Handles and attribute types follow Calico (`ipip-tunnel-addr-<node>`,
//! `type: ipipTunnelAddress`…), so one node holds at most one address per tunnel kind and
//! asking again returns the address it has.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assign::ATTR_NODE;
use crate::error::Result;
use crate::ipam::{Allocation, AssignRequest};
use crate::pools::Use;
use crate::records::{get_block, get_handle};
use crate::{Family, Ipam};

/// Attribute key naming what an allocation is (Calico's `type`).
pub const ATTR_TYPE: &str = "type";

/// A tunnel device kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TunnelKind {
    /// IP-in-IP (`tunl0`), IPv4 only.
    Ipip,
    /// VXLAN.
    Vxlan,
    /// WireGuard.
    Wireguard,
}

impl TunnelKind {
    /// The allocation handle of this kind's address on `node` for `family`.
    pub fn handle(self, node: &str, family: Family) -> String {
        match (self, family) {
            (TunnelKind::Ipip, _) => format!("ipip-tunnel-addr-{node}"),
            (TunnelKind::Vxlan, Family::V4) => format!("vxlan-tunnel-addr-{node}"),
            (TunnelKind::Vxlan, Family::V6) => format!("vxlan-v6-tunnel-addr-{node}"),
            (TunnelKind::Wireguard, Family::V4) => format!("wireguard-tunnel-addr-{node}"),
            (TunnelKind::Wireguard, Family::V6) => format!("wireguard-v6-tunnel-addr-{node}"),
        }
    }

    /// The `type` attribute of this kind's allocations.
    pub fn attribute(self, family: Family) -> &'static str {
        match (self, family) {
            (TunnelKind::Ipip, _) => "ipipTunnelAddress",
            (TunnelKind::Vxlan, Family::V4) => "vxlanTunnelAddress",
            (TunnelKind::Vxlan, Family::V6) => "vxlanV6TunnelAddress",
            (TunnelKind::Wireguard, Family::V4) => "wireguardTunnelAddress",
            (TunnelKind::Wireguard, Family::V6) => "wireguardV6TunnelAddress",
        }
    }
}

/// Whether an allocation's attributes mark it as a tunnel address.
pub fn is_tunnel_attribute(secondary: &BTreeMap<String, String>) -> bool {
    secondary
        .get(ATTR_TYPE)
        .is_some_and(|t| t.ends_with("TunnelAddress"))
}

impl Ipam {
    /// The node's tunnel address of `kind` and `family`: the one it holds, or a new one from a
    /// pool that allows `Tunnel` and selects the node (`pools` names them explicitly, by name
    /// or CIDR, when not empty).
    pub fn assign_tunnel(
        &self,
        node: &str,
        family: Family,
        kind: TunnelKind,
        pools: &[String],
    ) -> Result<Allocation> {
        let handle = kind.handle(node, family);
        if let Some(existing) = self
            .handle_allocations(&handle)?
            .into_iter()
            .find(|a| Family::of(a.ip) == family)
        {
            return Ok(existing);
        }
        let mut req = AssignRequest {
            handle,
            node: node.to_string(),
            use_: Some(Use::Tunnel),
            ..Default::default()
        };
        req.attributes
            .insert(ATTR_TYPE.into(), kind.attribute(family).into());
        match family {
            Family::V4 => {
                req.num_v4 = 1;
                req.v4_pools = pools.to_vec();
            }
            Family::V6 => {
                req.num_v6 = 1;
                req.v6_pools = pools.to_vec();
            }
        }
        let got = self.assign(&req)?;
        got.ipv4.into_iter().chain(got.ipv6).next().ok_or_else(|| {
            crate::IpamError::Invalid(format!("no {family} tunnel address assigned"))
        })
    }

    /// Releases the node's tunnel address of `kind` and `family` (idempotent).
    pub fn release_tunnel(&self, node: &str, family: Family, kind: TunnelKind) -> Result<u32> {
        self.release_handle(&kind.handle(node, family))
    }

    /// The addresses `handle` holds now, read from its blocks.
    pub fn handle_allocations(&self, handle: &str) -> Result<Vec<Allocation>> {
        let store = self.ds();
        let Some(h) = get_handle(store, handle)? else {
            return Ok(Vec::new());
        };
        let pools = crate::records::pools(store)?;
        let mut out = Vec::new();
        for b in h.obj.spec.block.keys() {
            let Ok(cidr) = b.parse() else { continue };
            let Some(sb) = get_block(store, &cidr)? else {
                continue;
            };
            let pool = crate::plan::pool_of(&pools, &cidr)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            for a in sb.block.allocations() {
                if a.attribute.handle_id.as_deref() == Some(handle) {
                    let owner = a.attribute.secondary.get(ATTR_NODE);
                    out.push(Allocation {
                        ip: a.ip,
                        block: cidr,
                        pool: pool.clone(),
                        sequence: a.sequence,
                        borrowed: owner.map(String::as_str) != sb.block.affinity_node(),
                    });
                }
            }
        }
        out.sort_by_key(|a| a.ip);
        Ok(out)
    }
}
