//! [`Ipam`]: the entry point over a datastore, and the request and result types of assignment.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use brindle_api::net::Cidr;
use brindle_store::Datastore;
use serde::{Deserialize, Serialize};

use crate::pools::Use;

/// IPAM over one datastore. Cheap to clone; safe to use from several threads, and several
/// processes may share the datastore: every write is a compare-and-swap.
#[derive(Clone)]
pub struct Ipam {
    pub(crate) store: Arc<dyn Datastore>,
}

impl Ipam {
    /// IPAM over `store`.
    pub fn new(store: Arc<dyn Datastore>) -> Self {
        Ipam { store }
    }

    /// The underlying datastore.
    pub fn store(&self) -> &Arc<dyn Datastore> {
        &self.store
    }

    pub(crate) fn ds(&self) -> &dyn Datastore {
        self.store.as_ref()
    }
}

/// The handle of a CNI attachment: `<network>.<containerID>`, as Calico's CNI plugin forms it.
pub fn handle_id(network: &str, container_id: &str) -> String {
    format!("{network}.{container_id}")
}

/// What to assign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignRequest {
    /// The handle the addresses belong to (see [`handle_id`]).
    pub handle: String,
    /// The node allocating (its affine blocks are used first). Pool node selectors are
    /// matched against its Node resource's labels; a node without a Node resource has no
    /// labels (and the checker reports its blocks as belonging to a deleted node).
    pub node: String,
    /// How many IPv4 addresses (usually 0 or 1).
    pub num_v4: u32,
    /// How many IPv6 addresses (usually 0 or 1).
    pub num_v6: u32,
    /// IPv4 pools to use, by name or CIDR, in order; empty means automatic selection.
    pub v4_pools: Vec<String>,
    /// IPv6 pools to use, by name or CIDR, in order; empty means automatic selection.
    pub v6_pools: Vec<String>,
    /// Metadata stored with each allocation (`namespace`, `pod`…); `node` is added.
    pub attributes: BTreeMap<String, String>,
    /// What the addresses are for; `None` means [`Use::Workload`].
    pub use_: Option<Use>,
}

/// One assigned address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The address.
    pub ip: IpAddr,
    /// The block it came from.
    #[serde(with = "crate::addr::cidr_text")]
    pub block: Cidr,
    /// The pool's name.
    pub pool: String,
    /// The block's sequence number for this allocation; give it back when releasing by
    /// address, so that a later reuse of the address is never released by mistake.
    pub sequence: u64,
    /// Whether it was borrowed from a block affine to another node (or to none).
    pub borrowed: bool,
}

/// The result of [`Ipam::assign`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assigned {
    /// IPv4 addresses.
    pub ipv4: Vec<Allocation>,
    /// IPv6 addresses.
    pub ipv6: Vec<Allocation>,
}
