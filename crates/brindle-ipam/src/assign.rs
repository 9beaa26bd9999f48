//! Assignment: the node's affine blocks first, then a newly claimed block, then (unless
//! `strictAffinity`) addresses borrowed from other blocks — Calico's `autoAssign` order.
//! A dual-stack request whose second family fails releases what the first got.

use std::collections::{BTreeMap, BTreeSet};

use brindle_api::net::Cidr;
use brindle_api::resources::ipam_records::AffinityState;
use brindle_store::{Op, StoreError};

use crate::claim::Claim;
use crate::error::{IpamError, Result};
use crate::ipam::{Allocation, AssignRequest, Assigned};
use crate::plan::{Settings, next_free_block, pool_has_no_free_block, pool_of};
use crate::pools::{self, Pool, Use};
use crate::records::{self, encode, get_block, get_handle, handle_key, new_handle};
use crate::release::ReleaseIp;
use crate::retry::{MAX_ATTEMPTS, with_retries};
use crate::{Family, Ipam};

/// Attribute key naming the node an address was assigned for (Calico's `node`).
pub const ATTR_NODE: &str = "node";

/// Everything one family's assignment needs to know, read once per call.
pub(crate) struct Context<'a> {
    pub node: &'a str,
    pub handle: &'a str,
    pub family: Family,
    pub settings: Settings,
    pub pools: Vec<Pool>,
    pub attributes: BTreeMap<String, String>,
}

/// Which blocks an assignment round may take addresses from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Only if still affine to the node.
    Affine,
    /// Only if not affine to the node (borrowing).
    Borrow,
}

impl Ipam {
    /// Assigns `num_v4` IPv4 and `num_v6` IPv6 addresses to `req.handle` for `req.node`.
    /// Either every requested address is assigned, or none is (a partial result is released
    /// before the error returns).
    pub fn assign(&self, req: &AssignRequest) -> Result<Assigned> {
        if req.handle.is_empty() {
            return Err(IpamError::Invalid(
                "an allocation handle is required".into(),
            ));
        }
        if req.node.is_empty() {
            return Err(IpamError::Invalid("a node name is required".into()));
        }
        let use_ = req.use_.unwrap_or(Use::Workload);
        let settings = records::settings(self.ds())?;
        let labels = records::node_labels(self.ds(), &req.node)?.unwrap_or_default();
        let all_pools = records::pools(self.ds())?;
        let mut attributes = req.attributes.clone();
        attributes.insert(ATTR_NODE.into(), req.node.clone());
        let mut out = Assigned::default();
        let dual = req.num_v4 > 0 && req.num_v6 > 0;
        for (family, n, explicit) in [
            (Family::V4, req.num_v4, &req.v4_pools),
            (Family::V6, req.num_v6, &req.v6_pools),
        ] {
            if n == 0 {
                continue;
            }
            let got = pools::eligible(&all_pools, family, use_, &labels, Some(explicit), &req.node)
                .and_then(|pools| {
                    let ctx = Context {
                        node: &req.node,
                        handle: &req.handle,
                        family,
                        settings,
                        pools,
                        attributes: attributes.clone(),
                    };
                    self.assign_family(&ctx, n)
                });
            match got {
                Ok(v) if family == Family::V4 => out.ipv4 = v,
                Ok(v) => out.ipv6 = v,
                Err(e) => {
                    let rolled_back = !out.ipv4.is_empty();
                    if rolled_back {
                        self.release_exact(&req.handle, &out.ipv4)?;
                    }
                    return Err(if dual {
                        IpamError::Family {
                            family,
                            rolled_back,
                            source: Box::new(e),
                        }
                    } else {
                        e
                    });
                }
            }
        }
        Ok(out)
    }

    /// Releases exactly these allocations of `handle` (rollback of a failed request).
    pub(crate) fn release_exact(&self, handle: &str, allocs: &[Allocation]) -> Result<()> {
        let reqs: Vec<ReleaseIp> = allocs
            .iter()
            .map(|a| ReleaseIp {
                ip: a.ip,
                handle: Some(handle.to_string()),
                sequence: Some(a.sequence),
            })
            .collect();
        self.release_ips(&reqs).map(|_| ())
    }

    /// Assigns `n` addresses of one family.
    pub(crate) fn assign_family(&self, ctx: &Context<'_>, n: u32) -> Result<Vec<Allocation>> {
        let mut got: Vec<Allocation> = Vec::new();
        let result = self.assign_rounds(ctx, n, &mut got);
        match result {
            Ok(()) if got.len() as u32 >= n => Ok(got),
            Ok(()) => {
                let detail = self.no_room_detail(ctx)?;
                self.release_exact(ctx.handle, &got)?;
                Err(IpamError::NoRoom {
                    family: ctx.family,
                    node: ctx.node.to_string(),
                    detail,
                })
            }
            Err(e) => {
                // Best effort: the error is what the caller needs to see.
                let _ = self.release_exact(ctx.handle, &got);
                Err(e)
            }
        }
    }

    fn assign_rounds(&self, ctx: &Context<'_>, n: u32, got: &mut Vec<Allocation>) -> Result<()> {
        let store = self.ds();
        for _ in 0..MAX_ATTEMPTS {
            // 1. The node's confirmed affine blocks in eligible pools, by CIDR.
            let affinities = records::list_affinities(store)?;
            let mine: Vec<&records::StoredAffinity> = affinities
                .iter()
                .filter(|a| a.spec().node == ctx.node)
                .collect();
            let mut affine: Vec<Cidr> = mine
                .iter()
                .filter(|a| a.spec().state == AffinityState::Confirmed)
                .map(|a| a.cidr)
                .filter(|c| pool_of(&ctx.pools, c).is_some())
                .collect();
            affine.sort();
            for cidr in &affine {
                let need = n - got.len() as u32;
                got.extend(self.assign_from_block(ctx, cidr, need, Source::Affine)?);
                if got.len() as u32 >= n {
                    return Ok(());
                }
            }
            // 2. Claim a block: finish one of our own pending claims first, else the lowest
            //    free block.
            if ctx.settings.may_claim(mine.len())
                || mine
                    .iter()
                    .any(|a| a.spec().state == AffinityState::Pending)
            {
                let pending = mine
                    .iter()
                    .filter(|a| a.spec().state == AffinityState::Pending)
                    .map(|a| a.cidr)
                    .find(|c| pool_of(&ctx.pools, c).is_some());
                let candidate = match pending {
                    Some(c) => Some(c),
                    None if ctx.settings.may_claim(mine.len()) => {
                        let taken = self.taken_blocks(&affinities)?;
                        next_free_block(&ctx.pools, &taken)
                    }
                    None => None,
                };
                if let Some(cidr) = candidate {
                    // Either way the next round sees the outcome (our new block, or a taken one).
                    let _: Claim = self.claim(ctx.node, &cidr, ctx.settings.strict_affinity)?;
                    continue;
                }
            }
            // 3. Borrow single addresses from other blocks with room.
            if !ctx.settings.strict_affinity {
                let mut others: Vec<(Cidr, u32)> = records::list_blocks(store)?
                    .iter()
                    .filter(|b| b.block.affinity_node() != Some(ctx.node) && b.block.free() > 0)
                    .filter(|b| pool_of(&ctx.pools, &b.block.cidr()).is_some())
                    .map(|b| (b.block.cidr(), b.block.free()))
                    .collect();
                others.sort();
                for (cidr, _) in others {
                    let need = n - got.len() as u32;
                    got.extend(self.assign_from_block(ctx, &cidr, need, Source::Borrow)?);
                    if got.len() as u32 >= n {
                        return Ok(());
                    }
                }
            }
            return Ok(());
        }
        Err(IpamError::Contention {
            what: format!("assigning {} addresses on node {}", ctx.family, ctx.node),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Blocks nobody may claim: those that exist and those anyone holds an affinity for.
    fn taken_blocks(&self, affinities: &[records::StoredAffinity]) -> Result<BTreeSet<Cidr>> {
        let mut taken: BTreeSet<Cidr> = affinities.iter().map(|a| a.cidr).collect();
        for kv in self
            .ds()
            .list(&brindle_client::kind_prefix(
                brindle_api::Kind::IpamBlock,
                None,
            ))?
            .kvs
        {
            let s = records::decode::<brindle_api::resources::ipam_records::IpamBlockSpec>(&kv)?;
            if let Ok(c) = s.obj.spec.cidr.parse::<Cidr>() {
                taken.insert(c);
            }
        }
        Ok(taken)
    }

    /// Takes up to `n` addresses from one block for `ctx.handle`, writing the block and the
    /// handle record in one compare-and-swap transaction.
    fn assign_from_block(
        &self,
        ctx: &Context<'_>,
        cidr: &Cidr,
        n: u32,
        source: Source,
    ) -> Result<Vec<Allocation>> {
        let store = self.ds();
        let pool = pool_of(&ctx.pools, cidr)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        with_retries(
            || format!("assigning from block {cidr} on node {}", ctx.node),
            || {
                let Some(mut sb) = get_block(store, cidr)? else {
                    return Ok(Vec::new());
                };
                let ours = sb.block.affinity_node() == Some(ctx.node);
                if sb.block.spec().deleted || ours != (source == Source::Affine) {
                    return Ok(Vec::new());
                }
                let assigned = sb.block.assign(n, ctx.handle, &ctx.attributes);
                if assigned.is_empty() {
                    return Ok(Vec::new());
                }
                let handle = get_handle(store, ctx.handle)?;
                let mut counts = handle
                    .as_ref()
                    .map(|h| h.obj.spec.block.clone())
                    .unwrap_or_default();
                *counts.entry(cidr.to_string()).or_insert(0) += assigned.len() as u32;
                let handle_op = match &handle {
                    Some(h) => {
                        let mut obj = h.obj.clone();
                        obj.spec.block = counts;
                        Op::Update {
                            key: h.key.clone(),
                            value: encode(&obj)?,
                            expected: h.revision,
                        }
                    }
                    None => Op::Create {
                        key: handle_key(ctx.handle),
                        value: encode(&new_handle(ctx.handle, counts))?,
                    },
                };
                let block_op = Op::Update {
                    key: sb.key.clone(),
                    value: encode(&sb.to_object())?,
                    expected: sb.revision,
                };
                let allocs: Vec<Allocation> = assigned
                    .iter()
                    .filter_map(|(o, seq)| {
                        Some(Allocation {
                            ip: sb.block.ip(*o)?,
                            block: *cidr,
                            pool: pool.clone(),
                            sequence: *seq,
                            borrowed: !ours,
                        })
                    })
                    .collect();
                match store.txn(&[block_op, handle_op]) {
                    Ok(_) => Ok(allocs),
                    Err(StoreError::Indeterminate(m)) => {
                        // Did the write land? Our exact allocations (handle and sequence
                        // numbers) are in the block only if it did.
                        let now = get_block(store, cidr)?;
                        let landed = now.is_some_and(|b| {
                            assigned.iter().all(|(o, seq)| {
                                b.block.allocation(*o).is_some_and(|a| {
                                    a.sequence == *seq
                                        && a.attribute.handle_id.as_deref() == Some(ctx.handle)
                                })
                            })
                        });
                        if landed {
                            Ok(allocs)
                        } else {
                            Err(IpamError::Conflict(m))
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            },
        )
    }

    /// Why the eligible pools could not serve: per pool, full or which setting stopped it.
    fn no_room_detail(&self, ctx: &Context<'_>) -> Result<String> {
        let affinities = records::list_affinities(self.ds())?;
        let taken = self.taken_blocks(&affinities)?;
        let held = affinities
            .iter()
            .filter(|a| a.spec().node == ctx.node)
            .count();
        let blocks = records::list_blocks(self.ds())?;
        let parts: Vec<String> = ctx
            .pools
            .iter()
            .map(|p| {
                let no_block = pool_has_no_free_block(p, &taken);
                let free_addrs: u64 = blocks
                    .iter()
                    .filter(|b| p.cidr.contains(b.block.cidr().addr()))
                    .map(|b| u64::from(b.block.free()))
                    .sum();
                let reason = if no_block && free_addrs == 0 {
                    "full".to_string()
                } else if !ctx.settings.auto_allocate_blocks {
                    "autoAllocateBlocks is off".to_string()
                } else if !ctx.settings.may_claim(held) {
                    format!(
                        "node has {held} blocks, maxBlocksPerHost {}{}",
                        ctx.settings.max_blocks_per_host,
                        if ctx.settings.strict_affinity {
                            ", strictAffinity"
                        } else {
                            ""
                        }
                    )
                } else if ctx.settings.strict_affinity {
                    "no free block; strictAffinity forbids borrowing".to_string()
                } else {
                    "exhausted".to_string()
                };
                format!("{} ({reason})", p.cidr)
            })
            .collect();
        Ok(format!("pools {}", parts.join(", ")))
    }
}
