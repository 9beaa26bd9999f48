//! brindle's IP address management with Calico's semantics.
//!
//! Addresses come from IPPools in blocks of the pool's `blockSize`. A node claims a block by
//! writing a BlockAffinity (pending → confirmed around the block's creation) and hands out its
//! addresses first; when its blocks are full it claims another (up to
//! IPAMConfiguration.maxBlocksPerHost), and unless `strictAffinity` it finally borrows single
//! addresses from other nodes' blocks. Every allocation belongs to a handle
//! (`<network>.<containerID>`) whose IPAMHandle record counts its addresses per block, so a
//! delete releases by handle and is idempotent. Each block change is written together with its
//! handle record in one compare-and-swap transaction, retried from a fresh read when a
//! concurrent writer wins ([`retry::MAX_ATTEMPTS`] at most).
//!
//! Layout: pure decisions over in-memory records ([`block`], [`pools`], [`plan`],
//! [`affinity`]) and a thin layer over `brindle_store::Datastore` that reads and writes the
//! records ([`Ipam`]: assign, release, node blocks, tunnel addresses, check and repair,
//! queries).
//!
//! The API is synchronous, like `brindle_store::Datastore`: the CNI plugin calls it without an
//! async runtime.

pub mod addr;
pub mod affinity;
mod assign;
pub mod block;
mod check;
mod claim;
mod error;
mod ipam;
mod node;
pub mod plan;
pub mod pools;
mod query;
mod records;
mod release;
pub mod retry;
mod tunnel;

pub use addr::Family;
pub use assign::ATTR_NODE;
pub use check::{
    CheckOptions, HandleProblem, LeakedAllocation, RepairSummary, Report, StaleAffinity,
};
pub use error::{IpamError, Result};
pub use ipam::{Allocation, AssignRequest, Assigned, Ipam, handle_id};
pub use node::NodeRelease;
pub use pools::Use;
pub use query::{BlockUsage, Borrowed, IpInfo, PoolUsage};
pub use release::{IpReleased, ReleaseIp};
pub use tunnel::{ATTR_TYPE, TunnelKind, is_tunnel_attribute};
