//! Claiming a block for a node: the datastore side of [`crate::affinity::claim_step`].

use brindle_api::net::Cidr;
use brindle_api::resources::ipam_records::AffinityState;
use brindle_store::Op;

use crate::Ipam;
use crate::affinity::{BlockOwner, ClaimStep, claim_step};
use crate::block::Block;
use crate::error::{IpamError, Result};
use crate::records::{affinity_key, block_key, encode, get_affinity, get_block, new_affinity};
use crate::retry::{MAX_ATTEMPTS, backoff};

/// How a claim ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The node holds the block (confirmed).
    Ours,
    /// Another node holds it, or it is being released: try another block.
    Lost,
}

impl Ipam {
    /// Claims `cidr` for `node`: pending affinity, block, confirmed affinity; each step a
    /// create-only or compare-and-swap write, re-read after every step so that concurrent
    /// claimers (and crashed earlier attempts) converge.
    pub(crate) fn claim(&self, node: &str, cidr: &Cidr, strict: bool) -> Result<Claim> {
        let store = self.ds();
        for attempt in 0..MAX_ATTEMPTS {
            let aff = get_affinity(store, node, cidr)?;
            let blk = get_block(store, cidr)?;
            let owner = match &blk {
                None => BlockOwner::Missing,
                Some(b) if b.block.affinity_node() == Some(node) => BlockOwner::Us,
                Some(b) => BlockOwner::Other(b.block.affinity_node()),
            };
            let step = claim_step(aff.as_ref().map(|a| a.obj.spec.state), owner);
            let result = match step {
                ClaimStep::Done => return Ok(Claim::Ours),
                ClaimStep::Taken | ClaimStep::Busy => return Ok(Claim::Lost),
                ClaimStep::CreatePending => {
                    let obj = new_affinity(node, cidr, AffinityState::Pending);
                    store
                        .create(&affinity_key(node, cidr), &encode(&obj)?)
                        .map(|_| ())
                }
                ClaimStep::CreateBlock => {
                    let block =
                        Block::new(*cidr, Some(node), strict).map_err(IpamError::Invalid)?;
                    let obj =
                        brindle_api::Object::new(crate::addr::block_name(cidr), block.into_spec());
                    store.create(&block_key(cidr), &encode(&obj)?).map(|_| ())
                }
                ClaimStep::Confirm | ClaimStep::Abandon => {
                    let Some(a) = aff else { continue };
                    if step == ClaimStep::Confirm {
                        let mut obj = a.obj.clone();
                        obj.spec.state = AffinityState::Confirmed;
                        store.update(&a.key, &encode(&obj)?, a.revision).map(|_| ())
                    } else {
                        store
                            .txn(&[Op::Delete {
                                key: a.key.clone(),
                                expected: Some(a.revision),
                            }])
                            .map(|_| ())
                    }
                }
            };
            match result.map_err(IpamError::from) {
                Ok(()) => {}
                // Lost a race, or the answer was lost: the next round re-reads and continues.
                Err(e) if e.is_conflict() || e.is_indeterminate() => backoff(attempt),
                Err(e) => return Err(e),
            }
        }
        Err(IpamError::Contention {
            what: format!("claiming block {cidr} for node {node}"),
            attempts: MAX_ATTEMPTS,
        })
    }
}
