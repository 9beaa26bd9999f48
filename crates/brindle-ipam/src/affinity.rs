//! The block-claim state machine. Pure: given what is stored for one (node, block) pair, the
//! next write to make.
//!
//! As in Calico's `claimAffineBlock`, a claim is three writes, each its own compare-and-swap:
//! 1. create the node's BlockAffinity in state `pending`;
//! 2. create the IPAMBlock with `affinity: host:<node>`;
//! 3. update the affinity to `confirmed`.
//!
//! A crash between the steps leaves a pending affinity. Any later claim of the same node (any
//! thread or process) reads the pair, continues from where it stopped, and so finishes it;
//! two claimers of one node converge on the same block because the writes are create-only or
//! compare-and-swap. If another node created the block first, the pending affinity is removed
//! and the claimer moves on to another block. The consistency checker reports pending
//! affinities that nobody finished.

use brindle_api::resources::ipam_records::AffinityState;

/// Who the stored block (if any) is affine to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOwner<'a> {
    /// No block record.
    Missing,
    /// The block exists and is affine to this node.
    Us,
    /// The block exists without affinity or affine to another node.
    Other(Option<&'a str>),
}

/// The next step of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimStep {
    /// Create the pending affinity.
    CreatePending,
    /// Create the block, affine to the node.
    CreateBlock,
    /// Mark the affinity confirmed.
    Confirm,
    /// The claim is complete.
    Done,
    /// Someone else holds the block: delete our affinity (pending or stale), then give up.
    Abandon,
    /// Someone else holds the block and we have no affinity: give up on this block.
    Taken,
    /// The affinity is being deleted: give up on this block for now.
    Busy,
}

/// The next step for a claim, from the node's affinity state for the block and the block.
pub fn claim_step(affinity: Option<AffinityState>, block: BlockOwner<'_>) -> ClaimStep {
    use AffinityState::*;
    use BlockOwner::*;
    match (affinity, block) {
        (None, Missing | Us) => ClaimStep::CreatePending,
        (None, Other(_)) => ClaimStep::Taken,
        (Some(PendingDeletion), _) => ClaimStep::Busy,
        (Some(Pending | Confirmed), Other(_)) => ClaimStep::Abandon,
        (Some(Pending | Confirmed), Missing) => ClaimStep::CreateBlock,
        (Some(Pending), Us) => ClaimStep::Confirm,
        (Some(Confirmed), Us) => ClaimStep::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the machine against an in-memory pair, applying each step, and returns the steps.
    fn run(mut aff: Option<AffinityState>, mut block: Option<&'static str>) -> Vec<ClaimStep> {
        let mut steps = Vec::new();
        for _ in 0..10 {
            let owner = match block {
                None => BlockOwner::Missing,
                Some("us") => BlockOwner::Us,
                Some(o) => BlockOwner::Other(Some(o)),
            };
            let s = claim_step(aff, owner);
            steps.push(s);
            match s {
                ClaimStep::CreatePending => aff = Some(AffinityState::Pending),
                ClaimStep::CreateBlock => block = Some("us"),
                ClaimStep::Confirm => aff = Some(AffinityState::Confirmed),
                ClaimStep::Abandon => aff = None,
                ClaimStep::Done | ClaimStep::Taken | ClaimStep::Busy => break,
            }
        }
        steps
    }

    #[test]
    fn fresh_claim_goes_pending_block_confirmed() {
        use ClaimStep::*;
        assert_eq!(run(None, None), [CreatePending, CreateBlock, Confirm, Done]);
    }

    #[test]
    fn a_crashed_claim_is_finished_from_where_it_stopped() {
        use ClaimStep::*;
        // Crash after the pending affinity.
        assert_eq!(
            run(Some(AffinityState::Pending), None),
            [CreateBlock, Confirm, Done]
        );
        // Crash after the block.
        assert_eq!(
            run(Some(AffinityState::Pending), Some("us")),
            [Confirm, Done]
        );
    }

    #[test]
    fn losing_the_block_to_another_node_withdraws() {
        use ClaimStep::*;
        assert_eq!(
            run(Some(AffinityState::Pending), Some("node2")),
            [Abandon, Taken]
        );
        assert_eq!(run(None, Some("node2")), [Taken]);
        assert_eq!(run(Some(AffinityState::PendingDeletion), None), [Busy]);
    }
}
