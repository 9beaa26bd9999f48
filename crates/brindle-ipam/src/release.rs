//! Release by handle (what CNI DEL does; idempotent) and by address (what `ipam release` and
//! the checker's repair do; guarded by sequence numbers against releasing a reused address).
//! Each block's change and the handle record's change are one compare-and-swap transaction.

use std::net::IpAddr;

use brindle_api::net::Cidr;
use brindle_store::{Op, StoreError};
use serde::{Deserialize, Serialize};

use crate::Ipam;
use crate::block::ReleaseOutcome;
use crate::error::{IpamError, Result};
use crate::records::{self, StoredBlock, encode, get_block, get_handle};
use crate::retry::with_retries;

/// One address to release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseIp {
    /// The address.
    pub ip: IpAddr,
    /// Release only if it still belongs to this handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Release only if it is still the allocation with this sequence number (see
    /// [`crate::Allocation::sequence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

impl ReleaseIp {
    /// Release `ip` whoever holds it.
    pub fn any(ip: IpAddr) -> Self {
        ReleaseIp {
            ip,
            handle: None,
            sequence: None,
        }
    }
}

/// What happened to one address of [`Ipam::release_ips`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum IpReleased {
    /// Released (it belonged to this handle).
    Released {
        /// The handle that held it.
        handle: Option<String>,
    },
    /// It was not allocated (already released): nothing to do.
    NotAllocated,
    /// It was released and handed out again since: left alone.
    Reused,
    /// It belongs to another handle than the one given: left alone.
    OtherHandle,
}

/// The ops that write `sb` back: delete it when it is empty and affine to nobody (Calico
/// deletes such blocks), update it otherwise.
fn block_write(sb: &StoredBlock) -> Result<Op> {
    if sb.block.is_empty() && sb.block.affinity_node().is_none() {
        Ok(Op::Delete {
            key: sb.key.clone(),
            expected: Some(sb.revision),
        })
    } else {
        Ok(Op::Update {
            key: sb.key.clone(),
            value: encode(&sb.to_object())?,
            expected: sb.revision,
        })
    }
}

/// The op that lowers the handle's count for `block` by `n` (deleting the record when it
/// reaches zero everywhere), or `None` when the handle has no record.
fn handle_write(
    store: &dyn brindle_store::Datastore,
    handle: &str,
    block: &Cidr,
    n: u32,
) -> Result<Option<Op>> {
    let Some(h) = get_handle(store, handle)? else {
        return Ok(None);
    };
    let mut obj = h.obj.clone();
    let key = block.to_string();
    let left = obj
        .spec
        .block
        .get(&key)
        .copied()
        .unwrap_or(0)
        .saturating_sub(n);
    if left == 0 {
        obj.spec.block.remove(&key);
    } else {
        obj.spec.block.insert(key, left);
    }
    Ok(Some(if obj.spec.block.is_empty() {
        Op::Delete {
            key: h.key,
            expected: Some(h.revision),
        }
    } else {
        Op::Update {
            key: h.key,
            value: encode(&obj)?,
            expected: h.revision,
        }
    }))
}

impl Ipam {
    /// Releases every address of `handle`; returns how many were released. Releasing a handle
    /// that holds nothing (or was released before) succeeds with 0.
    pub fn release_handle(&self, handle: &str) -> Result<u32> {
        let store = self.ds();
        let Some(h) = get_handle(store, handle)? else {
            return Ok(0);
        };
        let mut total = 0;
        let blocks: Vec<String> = h.obj.spec.block.keys().cloned().collect();
        for b in &blocks {
            let cidr: Cidr = b.parse().map_err(|e| IpamError::Corrupt {
                key: h.key.clone(),
                message: format!("spec.block: {e}"),
            })?;
            total += with_retries(
                || format!("releasing handle {handle} in block {cidr}"),
                || self.release_handle_in_block(handle, &cidr),
            )?;
        }
        // A record left without blocks (none listed to begin with) is removed.
        with_retries(
            || format!("removing handle {handle}"),
            || match get_handle(store, handle)? {
                Some(h) if h.obj.spec.block.is_empty() => store
                    .delete(&h.key, Some(h.revision))
                    .map(|_| ())
                    .map_err(IpamError::from),
                _ => Ok(()),
            },
        )?;
        Ok(total)
    }

    fn release_handle_in_block(&self, handle: &str, cidr: &Cidr) -> Result<u32> {
        let store = self.ds();
        let Some(h) = get_handle(store, handle)? else {
            return Ok(0);
        };
        let key = cidr.to_string();
        if !h.obj.spec.block.contains_key(&key) {
            return Ok(0);
        }
        let mut ops = Vec::new();
        let mut released = 0;
        if let Some(mut sb) = get_block(store, cidr)? {
            released = sb.block.release_handle(handle);
            if released > 0 {
                ops.push(block_write(&sb)?);
            }
        }
        let mut obj = h.obj.clone();
        obj.spec.block.remove(&key);
        ops.push(if obj.spec.block.is_empty() {
            Op::Delete {
                key: h.key.clone(),
                expected: Some(h.revision),
            }
        } else {
            Op::Update {
                key: h.key.clone(),
                value: encode(&obj)?,
                expected: h.revision,
            }
        });
        store.txn(&ops)?;
        Ok(released)
    }

    /// Releases single addresses; per address what happened. An address outside every block
    /// is [`IpamError::NoBlock`].
    pub fn release_ips(&self, reqs: &[ReleaseIp]) -> Result<Vec<IpReleased>> {
        reqs.iter().map(|r| self.release_ip(r)).collect()
    }

    fn release_ip(&self, req: &ReleaseIp) -> Result<IpReleased> {
        let store = self.ds();
        let cidr = self
            .block_containing(req.ip)?
            .ok_or(IpamError::NoBlock(req.ip))?;
        with_retries(
            || format!("releasing {}", req.ip),
            || {
                let Some(mut sb) = get_block(store, &cidr)? else {
                    return Ok(IpReleased::NotAllocated);
                };
                let Some(ordinal) = sb.block.ordinal_of(req.ip) else {
                    return Ok(IpReleased::NotAllocated);
                };
                match sb
                    .block
                    .release(ordinal, req.handle.as_deref(), req.sequence)
                {
                    ReleaseOutcome::NotAllocated => Ok(IpReleased::NotAllocated),
                    ReleaseOutcome::Reused { .. } => Ok(IpReleased::Reused),
                    ReleaseOutcome::OtherHandle { .. } => Ok(IpReleased::OtherHandle),
                    ReleaseOutcome::Released { handle } => {
                        let mut ops = vec![block_write(&sb)?];
                        if let Some(h) = &handle
                            && let Some(op) = handle_write(store, h, &cidr, 1)?
                        {
                            ops.push(op);
                        }
                        match store.txn(&ops) {
                            Ok(_) => Ok(IpReleased::Released { handle }),
                            // The next round reads whether it landed (then: not allocated).
                            Err(StoreError::Indeterminate(m)) => Err(IpamError::Conflict(m)),
                            Err(e) => Err(e.into()),
                        }
                    }
                }
            },
        )
    }

    /// The block record that covers `ip`, if any: looked up through the pools' block sizes,
    /// then (for blocks of deleted pools) among all blocks.
    pub(crate) fn block_containing(&self, ip: IpAddr) -> Result<Option<Cidr>> {
        let store = self.ds();
        for p in records::pools(store)? {
            if p.cidr.contains(ip)
                && let Some(c) = crate::addr::block_of(ip, p.block_size)
                && get_block(store, &c)?.is_some()
            {
                return Ok(Some(c));
            }
        }
        Ok(records::list_blocks(store)?
            .into_iter()
            .map(|b| b.block.cidr())
            .find(|c| c.contains(ip)))
    }
}
