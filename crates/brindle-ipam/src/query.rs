//! Read-only views for `brindlectl ipam show`: per pool totals, per block usage, borrowed
//! addresses, and what one address is. Plus CNI GC's release of handles the runtime no longer
//! knows.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use brindle_api::net::Cidr;
use serde::{Deserialize, Serialize};

use crate::Ipam;
use crate::addr::size;
use crate::assign::ATTR_NODE;
use crate::error::Result;
use crate::plan::pool_of;
use crate::records;

/// Address counts of one pool (`IPS TOTAL`, `IPS IN USE`, `IPS FREE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolUsage {
    /// The IPPool's name.
    pub name: String,
    /// Its range.
    #[serde(with = "crate::addr::cidr_text")]
    pub cidr: Cidr,
    /// Addresses in the pool.
    pub total: u128,
    /// Addresses allocated.
    pub in_use: u128,
    /// Addresses not allocated.
    pub free: u128,
}

/// Address counts of one block (`--show-blocks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockUsage {
    /// The block.
    #[serde(with = "crate::addr::cidr_text")]
    pub cidr: Cidr,
    /// The pool it belongs to (`None` when its pool was deleted).
    pub pool: Option<String>,
    /// The node it is affine to.
    pub affinity: Option<String>,
    /// Addresses in the block.
    pub total: u32,
    /// Addresses allocated.
    pub in_use: u32,
    /// Addresses not allocated.
    pub free: u32,
}

/// An address a node borrowed from a block affine to another node or to none
/// (`--show-borrowed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Borrowed {
    /// The address.
    pub ip: IpAddr,
    /// Its block.
    #[serde(with = "crate::addr::cidr_text")]
    pub block: Cidr,
    /// The block's node.
    pub block_affinity: Option<String>,
    /// The node that holds the address.
    pub node: Option<String>,
    /// Its handle.
    pub handle: Option<String>,
}

/// What one address is (`--ip ADDR`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpInfo {
    /// The address.
    pub ip: IpAddr,
    /// The pool that holds it, if any.
    pub pool: Option<String>,
    /// The block that holds it, if one exists.
    #[serde(with = "crate::addr::cidr_text_opt")]
    pub block: Option<Cidr>,
    /// The block's node.
    pub block_affinity: Option<String>,
    /// Whether it is allocated.
    pub allocated: bool,
    /// Its handle, when allocated.
    pub handle: Option<String>,
    /// Its sequence number, when allocated.
    pub sequence: Option<u64>,
    /// Its attributes (`node`, `namespace`, `pod`…), when allocated.
    pub attributes: BTreeMap<String, String>,
}

impl Ipam {
    /// Per pool: size, allocated and free addresses, ordered by CIDR.
    pub fn pool_usage(&self) -> Result<Vec<PoolUsage>> {
        let pools = records::pools(self.ds())?;
        let blocks = records::list_blocks(self.ds())?;
        let mut out: Vec<PoolUsage> = pools
            .iter()
            .map(|p| {
                let in_use: u128 = blocks
                    .iter()
                    .filter(|b| p.cidr.contains(b.block.cidr().addr()))
                    .map(|b| u128::from(b.block.in_use()))
                    .sum();
                let total = size(&p.cidr);
                PoolUsage {
                    name: p.name.clone(),
                    cidr: p.cidr,
                    total,
                    in_use,
                    free: total.saturating_sub(in_use),
                }
            })
            .collect();
        out.sort_by_key(|u| u.cidr);
        Ok(out)
    }

    /// Per block: its node and counts, ordered by CIDR.
    pub fn block_usage(&self) -> Result<Vec<BlockUsage>> {
        let pools = records::pools(self.ds())?;
        let mut out: Vec<BlockUsage> = records::list_blocks(self.ds())?
            .iter()
            .map(|b| BlockUsage {
                cidr: b.block.cidr(),
                pool: pool_of(&pools, &b.block.cidr()).map(|p| p.name.clone()),
                affinity: b.block.affinity_node().map(String::from),
                total: b.block.size(),
                in_use: b.block.in_use(),
                free: b.block.free(),
            })
            .collect();
        out.sort_by_key(|b| b.cidr);
        Ok(out)
    }

    /// Every address held by another node than its block's (or in a block without affinity).
    pub fn borrowed(&self) -> Result<Vec<Borrowed>> {
        let mut out = Vec::new();
        for b in records::list_blocks(self.ds())? {
            for a in b.block.allocations() {
                let node = a.attribute.secondary.get(ATTR_NODE).cloned();
                if node.as_deref() != b.block.affinity_node() {
                    out.push(Borrowed {
                        ip: a.ip,
                        block: b.block.cidr(),
                        block_affinity: b.block.affinity_node().map(String::from),
                        node,
                        handle: a.attribute.handle_id.clone(),
                    });
                }
            }
        }
        out.sort_by_key(|b| b.ip);
        Ok(out)
    }

    /// What `ip` is: its pool, block and allocation.
    pub fn lookup(&self, ip: IpAddr) -> Result<IpInfo> {
        let pools = records::pools(self.ds())?;
        let mut info = IpInfo {
            ip,
            pool: pools
                .iter()
                .find(|p| p.cidr.contains(ip))
                .map(|p| p.name.clone()),
            block: None,
            block_affinity: None,
            allocated: false,
            handle: None,
            sequence: None,
            attributes: BTreeMap::new(),
        };
        let Some(cidr) = self.block_containing(ip)? else {
            return Ok(info);
        };
        let Some(sb) = records::get_block(self.ds(), &cidr)? else {
            return Ok(info);
        };
        info.block = Some(cidr);
        info.block_affinity = sb.block.affinity_node().map(String::from);
        if let Some(a) = sb.block.ordinal_of(ip).and_then(|o| sb.block.allocation(o)) {
            info.allocated = true;
            info.handle = a.attribute.handle_id.clone();
            info.sequence = Some(a.sequence);
            info.attributes = a.attribute.secondary.clone();
        }
        Ok(info)
    }

    /// CNI GC: releases every handle of `network` (`<network>.<containerID>`) that is not in
    /// `keep`; returns the released handles.
    pub fn release_handles_except(
        &self,
        network: &str,
        keep: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let prefix = format!("{network}.");
        let mut released = Vec::new();
        let handles =
            records::list::<brindle_api::resources::ipam_records::IpamHandleSpec>(self.ds())?;
        for h in handles {
            let id = &h.obj.spec.handle_id;
            if id.starts_with(&prefix) && !keep.contains(id) {
                self.release_handle(id)?;
                released.push(id.clone());
            }
        }
        Ok(released)
    }
}
