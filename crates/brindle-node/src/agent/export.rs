//! What this node originates into BGP and blackholes in its kernel, from the IPAM records
//! (pure). DESIGN: export only addresses of IP pools — the node's confirmed affine blocks as
//! aggregates plus the /32 (/128) addresses it borrowed from other nodes' blocks, never
//! more-specifics inside an exported block; blocks of disabled pools and of pools with
//! `disableBGPExport` are not exported. Every confirmed affine block gets a `blackhole` route,
//! so that traffic to an unused address of it is dropped here instead of bouncing back out.

use std::collections::BTreeSet;
use std::net::IpAddr;

use brindle_api::net::Cidr;
use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::ipam_records::{AffinityState, BlockAffinitySpec, IpamBlockSpec};
use brindle_ipam::ATTR_NODE;
use brindle_ipam::block::Block;

/// The node's exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// Prefixes to originate.
    pub originate: BTreeSet<Cidr>,
    /// Blocks to blackhole.
    pub blackholes: BTreeSet<Cidr>,
}

/// Whether addresses in `cidr` may be exported: inside an enabled pool without
/// `disableBGPExport`.
fn exportable(pools: &[IpPoolSpec], cidr: &Cidr) -> bool {
    pools.iter().any(|p| {
        p.network()
            .is_some_and(|net| net.contains(cidr.addr()) && net.prefix() <= cidr.prefix())
            && !p.disabled.unwrap_or(false)
            && !p.disable_bgp_export.unwrap_or(false)
    })
}

fn host(ip: IpAddr) -> Option<Cidr> {
    Cidr::new(ip, if ip.is_ipv4() { 32 } else { 128 })
}

/// The exports of `node`.
pub fn compute(
    node: &str,
    pools: &[IpPoolSpec],
    blocks: &[IpamBlockSpec],
    affinities: &[BlockAffinitySpec],
) -> Export {
    let mut out = Export::default();
    for a in affinities {
        if a.node != node
            || a.state != AffinityState::Confirmed
            || a.deleted.as_ref().is_some_and(|d| d.get())
        {
            continue;
        }
        let Ok(cidr) = a.cidr.parse::<Cidr>() else {
            continue;
        };
        // A single-address block (blockSize 32 or 128) has no unused address to drop, and its
        // blackhole would be the same prefix as its pod's route.
        if cidr.prefix() < if cidr.is_ipv4() { 32 } else { 128 } {
            out.blackholes.insert(cidr);
        }
        if exportable(pools, &cidr) {
            out.originate.insert(cidr);
        }
    }
    for spec in blocks {
        let Ok(block) = Block::from_spec(spec.clone()) else {
            continue;
        };
        if block.affinity_node() == Some(node) {
            continue;
        }
        for alloc in block.allocations() {
            if alloc.attribute.secondary.get(ATTR_NODE).map(String::as_str) != Some(node) {
                continue;
            }
            if let Some(h) = host(alloc.ip).filter(|h| exportable(pools, h)) {
                out.originate.insert(h);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pool(cidr: &str, disabled: bool, no_export: bool) -> IpPoolSpec {
        IpPoolSpec {
            cidr: cidr.into(),
            disabled: Some(disabled),
            disable_bgp_export: Some(no_export),
            ..Default::default()
        }
    }

    fn affinity(node: &str, cidr: &str, state: AffinityState) -> BlockAffinitySpec {
        BlockAffinitySpec {
            state,
            node: node.into(),
            cidr: cidr.into(),
            deleted: None,
            affinity_type: None,
        }
    }

    /// A /26 block affine to `owner` with `.1` allocated for `user`.
    fn block(cidr: &str, owner: &str, user: &str) -> IpamBlockSpec {
        let mut b = Block::new(cidr.parse().expect("cidr"), Some(owner), false).expect("block");
        let mut attrs = BTreeMap::new();
        attrs.insert(ATTR_NODE.to_string(), user.to_string());
        let got = b.assign(1, "h1", &attrs);
        assert_eq!(got.len(), 1);
        b.into_spec()
    }

    fn set(v: &[&str]) -> BTreeSet<Cidr> {
        v.iter().map(|c| c.parse().expect("cidr")).collect()
    }

    #[test]
    fn affine_blocks_and_borrowed_addresses() {
        let pools = [pool("192.168.0.0/16", false, false)];
        let affs = [
            affinity("node1", "192.168.1.0/26", AffinityState::Confirmed),
            affinity("node1", "192.168.1.64/26", AffinityState::Pending),
            affinity("node2", "192.168.2.0/26", AffinityState::Confirmed),
        ];
        let blocks = [
            block("192.168.2.0/26", "node2", "node1"),
            block("192.168.1.0/26", "node1", "node1"),
        ];
        let e = compute("node1", &pools, &blocks, &affs);
        assert_eq!(e.blackholes, set(&["192.168.1.0/26"]));
        assert_eq!(
            e.originate,
            set(&["192.168.1.0/26", "192.168.2.0/32"]),
            "no more-specifics of our own block"
        );
        let e2 = compute("node2", &pools, &blocks, &affs);
        assert_eq!(e2.originate, set(&["192.168.2.0/26"]));
    }

    #[test]
    fn single_address_blocks_get_no_blackhole() {
        let pools = [pool("10.1.0.0/16", false, false)];
        let affs = [affinity("node1", "10.1.0.7/32", AffinityState::Confirmed)];
        let e = compute("node1", &pools, &[], &affs);
        assert!(e.blackholes.is_empty());
        assert_eq!(e.originate, set(&["10.1.0.7/32"]));
    }

    #[test]
    fn disabled_and_unexported_pools_are_not_advertised_but_still_blackholed() {
        let affs = [affinity("node1", "10.1.0.0/26", AffinityState::Confirmed)];
        for p in [
            pool("10.1.0.0/16", true, false),
            pool("10.1.0.0/16", false, true),
            pool("10.9.0.0/16", false, false),
        ] {
            let e = compute("node1", &[p], &[], &affs);
            assert!(e.originate.is_empty());
            assert_eq!(e.blackholes, set(&["10.1.0.0/26"]));
        }
    }
}
