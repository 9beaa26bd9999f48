//! One allocation block in memory: which ordinals are handed out, to which handle, at which
//! sequence number. Pure; the datastore layer reads an [`IpamBlockSpec`], changes it through
//! [`Block`] and writes it back with compare-and-swap.
//!
//! Mirrors Calico's `allocationBlock`: `allocations[ordinal]` indexes `attributes`, free
//! ordinals queue in `unallocated` (taken from the front, released ones appended, so a freed
//! address is reused as late as possible), and every allocation records the block's sequence
//! number so that a stale release of a reused address is refused.

use std::collections::BTreeMap;
use std::net::IpAddr;

use brindle_api::net::Cidr;
use brindle_api::resources::ipam_records::{AllocationAttribute, IpamBlockSpec};

use crate::addr::{nth_addr, ordinal_of, size};

/// Largest block IPAM handles: 2^16 addresses (the API allows blockSize 116..128 / 20..32).
pub const MAX_BLOCK_HOST_BITS: u8 = 16;

/// Prefix of a block's `affinity` for a host (`host:<node>`).
pub const HOST_AFFINITY_PREFIX: &str = "host:";

/// An allocation block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    cidr: Cidr,
    spec: IpamBlockSpec,
}

/// One handed-out address of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAllocation<'a> {
    /// Position in the block.
    pub ordinal: u32,
    /// The address.
    pub ip: IpAddr,
    /// Its handle and metadata.
    pub attribute: &'a AllocationAttribute,
    /// The block's sequence number when it was handed out.
    pub sequence: u64,
}

/// What a release of one address found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// Released; it belonged to this handle (if any).
    Released {
        /// The handle that held it.
        handle: Option<String>,
    },
    /// The address was not allocated.
    NotAllocated,
    /// The address is allocated under another sequence number: it was released and reused
    /// since the caller saw it, so it is left alone.
    Reused {
        /// The sequence number of the current allocation.
        current: u64,
    },
    /// The address is allocated to another handle than the caller named; left alone.
    OtherHandle {
        /// The handle that holds it.
        handle: Option<String>,
    },
}

impl Block {
    /// A new empty block, optionally affine to a node.
    pub fn new(cidr: Cidr, node: Option<&str>, strict: bool) -> Result<Block, String> {
        let n = Self::checked_size(&cidr)?;
        Ok(Block {
            cidr,
            spec: IpamBlockSpec {
                cidr: cidr.to_string(),
                affinity: node.map(|n| format!("{HOST_AFFINITY_PREFIX}{n}")),
                strict_affinity: strict,
                allocations: vec![None; n as usize],
                unallocated: (0..n).collect(),
                attributes: Vec::new(),
                deleted: false,
                sequence_number: 0,
                sequence_number_for_allocation: BTreeMap::new(),
            },
        })
    }

    fn checked_size(cidr: &Cidr) -> Result<u32, String> {
        let host_bits = crate::Family::of_cidr(cidr).bits() - cidr.prefix();
        if host_bits > MAX_BLOCK_HOST_BITS {
            return Err(format!(
                "{cidr} is larger than a block can be ({} host bits at most)",
                MAX_BLOCK_HOST_BITS
            ));
        }
        Ok(size(cidr) as u32)
    }

    /// Takes a stored block, checking that it is consistent: one allocation entry per address,
    /// attribute indexes in range, every free ordinal listed once and no allocated one listed.
    pub fn from_spec(spec: IpamBlockSpec) -> Result<Block, String> {
        let cidr: Cidr = spec.cidr.parse().map_err(|e| format!("spec.cidr: {e}"))?;
        let n = Self::checked_size(&cidr)? as usize;
        if spec.allocations.len() != n {
            return Err(format!(
                "spec.allocations has {} entries; a {cidr} block has {n}",
                spec.allocations.len()
            ));
        }
        if let Some(bad) = spec
            .allocations
            .iter()
            .flatten()
            .find(|a| **a as usize >= spec.attributes.len())
        {
            return Err(format!(
                "spec.allocations refers to attribute {bad} of {}",
                spec.attributes.len()
            ));
        }
        let mut listed = vec![false; n];
        for &u in &spec.unallocated {
            let slot = listed
                .get_mut(u as usize)
                .ok_or_else(|| format!("spec.unallocated: {u} is outside the block"))?;
            if *slot || spec.allocations[u as usize].is_some() {
                return Err(format!(
                    "spec.unallocated: {u} is listed twice or allocated"
                ));
            }
            *slot = true;
        }
        let free = spec.allocations.iter().filter(|a| a.is_none()).count();
        if free != spec.unallocated.len() {
            return Err(format!(
                "{free} free addresses but {} listed in spec.unallocated",
                spec.unallocated.len()
            ));
        }
        Ok(Block { cidr, spec })
    }

    /// The stored form.
    pub fn spec(&self) -> &IpamBlockSpec {
        &self.spec
    }

    /// The stored form, taken.
    pub fn into_spec(self) -> IpamBlockSpec {
        self.spec
    }

    /// The block's range.
    pub fn cidr(&self) -> Cidr {
        self.cidr
    }

    /// The node the block is affine to (`host:<node>`), if any.
    pub fn affinity_node(&self) -> Option<&str> {
        self.spec
            .affinity
            .as_deref()
            .and_then(|a| a.strip_prefix(HOST_AFFINITY_PREFIX))
    }

    /// Sets or clears the block's host affinity.
    pub fn set_affinity(&mut self, node: Option<&str>) {
        self.spec.affinity = node.map(|n| format!("{HOST_AFFINITY_PREFIX}{n}"));
    }

    /// Number of addresses.
    pub fn size(&self) -> u32 {
        self.spec.allocations.len() as u32
    }

    /// Number of free addresses.
    pub fn free(&self) -> u32 {
        self.spec.unallocated.len() as u32
    }

    /// Number of allocated addresses.
    pub fn in_use(&self) -> u32 {
        self.size() - self.free()
    }

    /// True when nothing is allocated.
    pub fn is_empty(&self) -> bool {
        self.in_use() == 0
    }

    /// The block's sequence number (the next allocation gets it).
    pub fn sequence_number(&self) -> u64 {
        self.spec.sequence_number
    }

    /// The ordinal of `ip`, if the block holds it.
    pub fn ordinal_of(&self, ip: IpAddr) -> Option<u32> {
        ordinal_of(&self.cidr, ip).map(|o| o as u32)
    }

    /// The address at `ordinal`, if inside the block.
    pub fn ip(&self, ordinal: u32) -> Option<IpAddr> {
        nth_addr(&self.cidr, u128::from(ordinal))
    }

    /// The allocation at `ordinal`, if allocated.
    pub fn allocation(&self, ordinal: u32) -> Option<BlockAllocation<'_>> {
        let idx = (*self.spec.allocations.get(ordinal as usize)?)?;
        Some(BlockAllocation {
            ordinal,
            ip: self.ip(ordinal)?,
            attribute: self.spec.attributes.get(idx as usize)?,
            sequence: self.sequence_of(ordinal),
        })
    }

    fn sequence_of(&self, ordinal: u32) -> u64 {
        self.spec
            .sequence_number_for_allocation
            .get(&ordinal.to_string())
            .copied()
            .unwrap_or(0)
    }

    /// Every allocation, in ordinal order.
    pub fn allocations(&self) -> impl Iterator<Item = BlockAllocation<'_>> + '_ {
        (0..self.size()).filter_map(|o| self.allocation(o))
    }

    /// How many addresses `handle` holds here.
    pub fn count_for_handle(&self, handle: &str) -> u32 {
        self.allocations()
            .filter(|a| a.attribute.handle_id.as_deref() == Some(handle))
            .count() as u32
    }

    /// Hands out up to `n` free addresses to `handle` with `secondary` metadata, in the order of
    /// the free list; returns `(ordinal, sequence number)` of each.
    pub fn assign(
        &mut self,
        n: u32,
        handle: &str,
        secondary: &BTreeMap<String, String>,
    ) -> Vec<(u32, u64)> {
        let take = (n as usize).min(self.spec.unallocated.len());
        if take == 0 {
            return Vec::new();
        }
        let idx = self.spec.attributes.len() as u32;
        self.spec.attributes.push(AllocationAttribute {
            handle_id: Some(handle.to_string()),
            secondary: secondary.clone(),
        });
        let ordinals: Vec<u32> = self.spec.unallocated.drain(..take).collect();
        let mut out = Vec::with_capacity(take);
        for o in ordinals {
            self.spec.allocations[o as usize] = Some(idx);
            let seq = self.spec.sequence_number;
            self.spec.sequence_number += 1;
            self.spec
                .sequence_number_for_allocation
                .insert(o.to_string(), seq);
            out.push((o, seq));
        }
        out
    }

    /// Releases the address at `ordinal` if it is allocated and, when given, still belongs to
    /// `handle` under `sequence` (the ABA guard).
    pub fn release(
        &mut self,
        ordinal: u32,
        handle: Option<&str>,
        sequence: Option<u64>,
    ) -> ReleaseOutcome {
        let Some(current) = self.allocation(ordinal) else {
            return ReleaseOutcome::NotAllocated;
        };
        let holder = current.attribute.handle_id.clone();
        if let Some(seq) = sequence
            && seq != current.sequence
        {
            return ReleaseOutcome::Reused {
                current: current.sequence,
            };
        }
        if let Some(h) = handle
            && holder.as_deref() != Some(h)
        {
            return ReleaseOutcome::OtherHandle { handle: holder };
        }
        self.free_ordinal(ordinal);
        self.compact_attributes();
        ReleaseOutcome::Released { handle: holder }
    }

    /// Releases every address `handle` holds here; returns how many.
    pub fn release_handle(&mut self, handle: &str) -> u32 {
        let ordinals: Vec<u32> = self
            .allocations()
            .filter(|a| a.attribute.handle_id.as_deref() == Some(handle))
            .map(|a| a.ordinal)
            .collect();
        for &o in &ordinals {
            self.free_ordinal(o);
        }
        if !ordinals.is_empty() {
            self.compact_attributes();
        }
        ordinals.len() as u32
    }

    fn free_ordinal(&mut self, ordinal: u32) {
        self.spec.allocations[ordinal as usize] = None;
        self.spec
            .sequence_number_for_allocation
            .remove(&ordinal.to_string());
        self.spec.unallocated.push(ordinal);
    }

    /// Drops attributes no allocation refers to any more and renumbers the rest.
    fn compact_attributes(&mut self) {
        let mut used = vec![false; self.spec.attributes.len()];
        for a in self.spec.allocations.iter().flatten() {
            used[*a as usize] = true;
        }
        let mut remap = vec![0u32; used.len()];
        let mut next = 0u32;
        for (i, u) in used.iter().enumerate() {
            if *u {
                remap[i] = next;
                next += 1;
            }
        }
        let mut i = 0;
        self.spec.attributes.retain(|_| {
            i += 1;
            used[i - 1]
        });
        for a in self.spec.allocations.iter_mut().flatten() {
            *a = remap[*a as usize];
        }
    }
}

#[cfg(test)]
mod tests;
