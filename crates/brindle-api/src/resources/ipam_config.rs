//! IPAMConfiguration: the single global IPAM settings resource, named `default`.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::NoStatus;
use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;

/// `spec` of the IPAMConfiguration `default`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpamConfigurationSpec {
    /// Never borrow addresses from another node's block.
    #[serde(default)]
    pub strict_affinity: bool,
    /// Most blocks one node may claim (0 = no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_blocks_per_host: Option<i32>,
    /// Claim new blocks when a node's blocks are full. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_allocate_blocks: Option<bool>,
}

impl Spec for IpamConfigurationSpec {
    const KIND: Kind = Kind::IpamConfiguration;
    type Status = NoStatus;

    fn validate(&self, meta: &ObjectMeta, c: &mut Checker) {
        if meta.name != "default" {
            c.err(
                "metadata.name",
                format!("{:?} must be \"default\"", meta.name),
            );
        }
        if let Some(n) = self.max_blocks_per_host
            && n < 0
        {
            c.err("spec.maxBlocksPerHost", format!("{n} must not be negative"));
        }
    }
}
