//! A node's blocks: releasing the empty ones (and their affinities), e.g. when a node is
//! removed or scaled down — Calico's `ReleaseAffinity`/`ReleaseHostAffinities`.
//!
//! An empty block goes in three compare-and-swap steps: affinity → `pendingDeletion`, delete
//! the block (only if it is still empty at the revision read), delete the affinity. If an
//! allocation slips in between, the block's delete fails and the affinity goes back to
//! `confirmed`. A block that still holds addresses keeps them; with `force` it loses its
//! affinity (its addresses then count as borrowed) and the affinity is deleted.

use brindle_api::net::Cidr;
use brindle_api::resources::ipam_records::AffinityState;
use brindle_store::Op;
use serde::{Deserialize, Serialize};

use crate::Ipam;
use crate::error::{IpamError, Result};
use crate::records::{self, encode, get_affinity, get_block};
use crate::retry::with_retries;

/// What [`Ipam::release_node_blocks`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRelease {
    /// Blocks deleted with their affinity (they were empty).
    #[serde(with = "crate::addr::cidr_text_vec")]
    pub deleted_blocks: Vec<Cidr>,
    /// Affinities deleted whose block did not exist or belonged to someone else.
    #[serde(with = "crate::addr::cidr_text_vec")]
    pub dropped_affinities: Vec<Cidr>,
    /// Blocks that still hold addresses: kept (without `force`) or made unaffine (`force`).
    #[serde(with = "crate::addr::cidr_text_vec")]
    pub non_empty_blocks: Vec<Cidr>,
}

/// The outcome for one affinity.
enum One {
    Deleted,
    Dropped,
    NonEmpty,
    Gone,
}

impl Ipam {
    /// Releases `node`'s empty blocks and their affinities, and affinities left without a
    /// block. With `force`, blocks that still hold addresses lose their affinity too (use it for
    /// nodes that no longer exist).
    pub fn release_node_blocks(&self, node: &str, force: bool) -> Result<NodeRelease> {
        let mut out = NodeRelease::default();
        let mine: Vec<Cidr> = records::list_affinities(self.ds())?
            .into_iter()
            .filter(|a| a.spec().node == node)
            .map(|a| a.cidr)
            .collect();
        for cidr in mine {
            let one = with_retries(
                || format!("releasing block {cidr} of node {node}"),
                || self.release_one(node, &cidr, force),
            )?;
            match one {
                One::Deleted => out.deleted_blocks.push(cidr),
                One::Dropped => out.dropped_affinities.push(cidr),
                One::NonEmpty => out.non_empty_blocks.push(cidr),
                One::Gone => {}
            }
        }
        Ok(out)
    }

    fn release_one(&self, node: &str, cidr: &Cidr, force: bool) -> Result<One> {
        let store = self.ds();
        let Some(aff) = get_affinity(store, node, cidr)? else {
            return Ok(One::Gone);
        };
        let drop_affinity = Op::Delete {
            key: aff.key.clone(),
            expected: Some(aff.revision),
        };
        let Some(sb) = get_block(store, cidr)?.filter(|b| b.block.affinity_node() == Some(node))
        else {
            store.txn(&[drop_affinity])?;
            return Ok(One::Dropped);
        };
        if !sb.block.is_empty() {
            if !force {
                // An earlier attempt may have marked it before an allocation got in.
                if aff.obj.spec.state == AffinityState::PendingDeletion {
                    let mut obj = aff.obj.clone();
                    obj.spec.state = AffinityState::Confirmed;
                    store.update(&aff.key, &encode(&obj)?, aff.revision)?;
                }
                return Ok(One::NonEmpty);
            }
            let mut unaffine = sb.block.clone();
            unaffine.set_affinity(None);
            let mut obj = sb.to_object();
            obj.spec = unaffine.into_spec();
            store.txn(&[
                Op::Update {
                    key: sb.key.clone(),
                    value: encode(&obj)?,
                    expected: sb.revision,
                },
                drop_affinity,
            ])?;
            return Ok(One::NonEmpty);
        }
        // Step 1: mark the affinity as being deleted.
        let marked = if aff.obj.spec.state == AffinityState::PendingDeletion {
            aff
        } else {
            let mut obj = aff.obj.clone();
            obj.spec.state = AffinityState::PendingDeletion;
            let kv = store.update(&aff.key, &encode(&obj)?, aff.revision)?;
            records::Stored {
                key: aff.key.clone(),
                revision: kv.mod_revision,
                obj,
            }
        };
        // Step 2: delete the block if it is still as empty as we read it.
        if let Err(e) = store.delete(&sb.key, Some(sb.revision)) {
            // An allocation got in: give the affinity back, then let the caller retry.
            let mut obj = marked.obj.clone();
            obj.spec.state = AffinityState::Confirmed;
            store.update(&marked.key, &encode(&obj)?, marked.revision)?;
            return Err(IpamError::from(e));
        }
        // Step 3: delete the affinity.
        store.delete(&marked.key, Some(marked.revision))?;
        Ok(One::Deleted)
    }
}
