//! brindle's IP address management with Calico's semantics.
//!
//! Addresses come from IPPools in blocks of the pool's `blockSize`. A node claims a block by
//! writing a BlockAffinity (pending → confirmed around the block's creation) and hands out its
//! addresses first; when its blocks are full it claims another (up to
//! IPAMConfiguration.maxBlocksPerHost), and unless `strictAffinity` it finally borrows single
//! addresses from other nodes' blocks. Every allocation belongs to a handle
//! (`<network>.<containerID>`) whose IPAMHandle record counts its addresses per block, so a
//! delete releases by handle and is idempotent.
//!
//! Layout: pure decisions over in-memory records ([`block`], [`pools`], [`plan`],
//! [`affinity`]) and a thin layer that reads and writes the records with compare-and-swap
//! ([`Ipam`]: `assign`, `release`, `node`, `check`, `query`).
//!
//! The API is synchronous, like `brindle_store::Datastore`: the CNI plugin calls it without an
//! async runtime.

pub mod addr;
pub mod affinity;
pub mod block;
mod error;
pub mod plan;
pub mod pools;

pub use addr::Family;
pub use error::{IpamError, Result};
