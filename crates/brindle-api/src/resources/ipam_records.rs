//! The IPAM records: IPAMBlock (a block's allocations), BlockAffinity (a node's claim on a
//! block) and IPAMHandle (the addresses one allocation handle holds). Written by IPAM, readable
//! and repairable by users.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::NoStatus;
use crate::check::{Checker, resource_name};
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::net::max_prefix;

/// `spec` of an IPAMBlock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpamBlockSpec {
    /// The block's range.
    pub cidr: String,
    /// `host:<node>` when a node holds the block's affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<String>,
    /// Whether the block was claimed under strict affinity.
    #[serde(default)]
    pub strict_affinity: bool,
    /// One entry per address of the block: the index into `attributes`, or null when free.
    #[serde(default)]
    pub allocations: Vec<Option<u32>>,
    /// Ordinals of the free addresses, in allocation order.
    #[serde(default)]
    pub unallocated: Vec<u32>,
    /// Allocation attributes (handle and metadata) referenced by `allocations`.
    #[serde(default)]
    pub attributes: Vec<AllocationAttribute>,
    /// Set while the block is being deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Incremented on every allocation; lets a release detect that an address was reused.
    #[serde(default)]
    pub sequence_number: u64,
    /// Sequence number at which each allocated ordinal was handed out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequence_number_for_allocation: BTreeMap<String, u64>,
}

/// What an allocation is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationAttribute {
    /// The allocation handle (`<network>.<containerID>`).
    #[serde(default, rename = "handle_id", skip_serializing_if = "Option::is_none")]
    pub handle_id: Option<String>,
    /// Free-form metadata (node, pod, namespace…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secondary: BTreeMap<String, String>,
}

impl Spec for IpamBlockSpec {
    const KIND: Kind = Kind::IpamBlock;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        let Some(net) = c.cidr("spec.cidr", &self.cidr) else {
            return;
        };
        let host_bits = u32::from(max_prefix(net.addr()) - net.prefix());
        if host_bits > 16 {
            c.err(
                "spec.cidr",
                format!(
                    "{net} is larger than a block can be (/{} at most)",
                    max_prefix(net.addr()) - 16
                ),
            );
            return;
        }
        let size = 1usize << host_bits;
        if !self.allocations.is_empty() && self.allocations.len() != size {
            c.err(
                "spec.allocations",
                format!(
                    "has {} entries; a {net} block has {size}",
                    self.allocations.len()
                ),
            );
        }
        for (i, a) in self.allocations.iter().enumerate() {
            if let Some(a) = a
                && *a as usize >= self.attributes.len()
            {
                c.err(
                    &format!("spec.allocations[{i}]"),
                    format!("{a} refers past the {} attributes", self.attributes.len()),
                );
            }
        }
        for (i, u) in self.unallocated.iter().enumerate() {
            if *u as usize >= size {
                c.err(
                    &format!("spec.unallocated[{i}]"),
                    format!("{u} is outside the block (size {size})"),
                );
            }
        }
        if let Some(a) = &self.affinity {
            check_affinity(a, c);
        }
    }
}

fn check_affinity(a: &str, c: &mut Checker) {
    match a.split_once(':') {
        Some(("host", node)) => {
            c.check("spec.affinity", resource_name(node));
        }
        Some(("virtual", _)) => {}
        _ => c.err("spec.affinity", format!("{a:?} must be host:<node>")),
    }
}

/// `spec` of a BlockAffinity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockAffinitySpec {
    /// `pending`, `confirmed` or `pendingDeletion`.
    pub state: AffinityState,
    /// The node holding the claim.
    pub node: String,
    /// The block.
    pub cidr: String,
    /// Set while the affinity is being deleted (`"true"`/`"false"` in Calico's CRD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Flag>,
    /// `host` (default) or `virtual`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub affinity_type: Option<String>,
}

/// Progress of a block claim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AffinityState {
    /// Claimed, block not yet written.
    #[default]
    Pending,
    /// The node owns the block.
    Confirmed,
    /// Being released.
    PendingDeletion,
}

/// A boolean that Calico's CRDs sometimes store as a string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    /// A JSON boolean.
    Bool(bool),
    /// `"true"` or `"false"`.
    Text(String),
}

impl Flag {
    /// The boolean value (`"true"`, case-insensitive, is true).
    pub fn get(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(s) => s.eq_ignore_ascii_case("true"),
        }
    }
}

impl Spec for BlockAffinitySpec {
    const KIND: Kind = Kind::BlockAffinity;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        c.check("spec.node", resource_name(&self.node));
        c.cidr("spec.cidr", &self.cidr);
        if let Some(Flag::Text(s)) = &self.deleted
            && !s.eq_ignore_ascii_case("true")
            && !s.eq_ignore_ascii_case("false")
        {
            c.err("spec.deleted", format!("{s:?} must be true or false"));
        }
    }
}

/// `spec` of an IPAMHandle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpamHandleSpec {
    /// The handle (`<network>.<containerID>`).
    #[serde(rename = "handleID")]
    pub handle_id: String,
    /// Per block CIDR, how many addresses of the block this handle holds.
    #[serde(default)]
    pub block: BTreeMap<String, u32>,
    /// Set while the handle is being deleted.
    #[serde(default)]
    pub deleted: bool,
}

impl Spec for IpamHandleSpec {
    const KIND: Kind = Kind::IpamHandle;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        if self.handle_id.is_empty() {
            c.err("spec.handleID", "is required");
        }
        for k in self.block.keys() {
            c.cidr(&format!("spec.block.{k}"), k);
        }
    }
}
