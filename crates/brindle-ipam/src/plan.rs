//! Allocation decisions over in-memory records. Pure.
//!
//! - which block to claim next: the lowest block (by address) of the first eligible pool that
//!   has neither a block record nor anyone's affinity — deterministic, unlike Calico's
//!   host-hashed start, so tests and operators can predict it;
//! - whether the node may claim another block (`maxBlocksPerHost`, `autoAllocateBlocks`);
//! - the order in which blocks are tried: the node's own affine blocks, then (unless
//!   `strictAffinity`) other blocks with room, both by CIDR.

use std::collections::BTreeSet;

use brindle_api::net::Cidr;

use crate::addr::{block_count, nth_block};
use crate::pools::Pool;

/// IPAMConfiguration settings in effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Never borrow from other nodes' blocks.
    pub strict_affinity: bool,
    /// Most blocks one node may hold (0 = no limit).
    pub max_blocks_per_host: u32,
    /// Claim new blocks when the node's are full.
    pub auto_allocate_blocks: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strict_affinity: false,
            max_blocks_per_host: 0,
            auto_allocate_blocks: true,
        }
    }
}

impl Settings {
    /// Whether a node holding `held` blocks (affinities in any state) may claim another.
    pub fn may_claim(&self, held: usize) -> bool {
        self.auto_allocate_blocks
            && (self.max_blocks_per_host == 0 || held < self.max_blocks_per_host as usize)
    }
}

/// The pool whose range holds `block`, among `pools`.
pub fn pool_of<'p>(pools: &'p [Pool], block: &Cidr) -> Option<&'p Pool> {
    pools
        .iter()
        .find(|p| p.cidr.contains(block.addr()) && p.block_size == block.prefix())
}

/// The next block to claim: the lowest block of the first pool (in order) that is not in
/// `taken` (blocks that exist, and blocks anyone holds an affinity for).
pub fn next_free_block(pools: &[Pool], taken: &BTreeSet<Cidr>) -> Option<Cidr> {
    for p in pools {
        let count = block_count(&p.cidr, p.block_size);
        let taken_here = taken
            .iter()
            .filter(|b| p.cidr.contains(b.addr()) && b.prefix() == p.block_size)
            .count() as u128;
        // Pigeonhole: among the first taken_here + 1 blocks, one is free (if the pool has them).
        let limit = count.min(taken_here + 1);
        let mut n = 0u128;
        while n < limit {
            if let Some(b) = nth_block(&p.cidr, p.block_size, n)
                && !taken.contains(&b)
            {
                return Some(b);
            }
            n += 1;
        }
    }
    None
}

/// Whether every block of `pool` is in `taken`.
pub fn pool_has_no_free_block(pool: &Pool, taken: &BTreeSet<Cidr>) -> bool {
    next_free_block(std::slice::from_ref(pool), taken).is_none()
}

#[cfg(test)]
mod tests {
    use brindle_api::Object;
    use brindle_api::resources::ip_pool::IpPoolSpec;

    use super::*;

    fn pool(cidr: &str, bs: u32) -> Pool {
        let spec = IpPoolSpec {
            cidr: cidr.into(),
            block_size: Some(bs),
            ..Default::default()
        };
        Pool::from_object(&Object::new("p", spec)).expect("pool")
    }

    fn c(s: &str) -> Cidr {
        s.parse().expect("cidr")
    }

    #[test]
    fn lowest_free_block_first() {
        let pools = [pool("10.0.0.0/24", 26), pool("10.1.0.0/25", 26)];
        let mut taken = BTreeSet::new();
        assert_eq!(next_free_block(&pools, &taken), Some(c("10.0.0.0/26")));
        taken.insert(c("10.0.0.0/26"));
        taken.insert(c("10.0.0.128/26"));
        assert_eq!(next_free_block(&pools, &taken), Some(c("10.0.0.64/26")));
        taken.insert(c("10.0.0.64/26"));
        taken.insert(c("10.0.0.192/26"));
        assert!(pool_has_no_free_block(&pools[0], &taken));
        assert_eq!(next_free_block(&pools, &taken), Some(c("10.1.0.0/26")));
        taken.insert(c("10.1.0.0/26"));
        taken.insert(c("10.1.0.64/26"));
        assert_eq!(next_free_block(&pools, &taken), None);
        // Blocks of other pools or sizes do not count.
        let v6 = [pool("fd00::/48", 122)];
        assert_eq!(next_free_block(&v6, &taken), Some(c("fd00::/122")));
        assert_eq!(
            pool_of(&pools, &c("10.1.0.64/26")).map(|p| p.cidr),
            Some(c("10.1.0.0/25"))
        );
    }

    #[test]
    fn block_limits() {
        let s = Settings {
            max_blocks_per_host: 2,
            ..Settings::default()
        };
        assert!(s.may_claim(1));
        assert!(!s.may_claim(2));
        assert!(Settings::default().may_claim(10_000));
        let off = Settings {
            auto_allocate_blocks: false,
            ..Settings::default()
        };
        assert!(!off.may_claim(0));
    }
}
