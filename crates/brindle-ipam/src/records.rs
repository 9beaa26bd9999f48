//! Where the IPAM records live and how they are read and written: the same manifest JSON and
//! keys (`/brindle/v3/ipamblocks/10-0-0-64-26`, `/brindle/v3/blockaffinities/<node>-<block>`,
//! `/brindle/v3/ipamhandles/<handle>`) that `brindle-client` uses, so `brindlectl get` shows them.

use std::collections::BTreeMap;

use brindle_api::check::resource_name;
use brindle_api::net::Cidr;
use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::ipam_config::IpamConfigurationSpec;
use brindle_api::resources::ipam_records::{BlockAffinitySpec, IpamBlockSpec, IpamHandleSpec};
use brindle_api::resources::node::NodeSpec;
use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_api::{Kind, Object, Resource, Spec};
use brindle_client::{key_for, kind_prefix};
use brindle_store::{Datastore, KeyValue, Revision, StoreError};

use crate::addr::block_name;
use crate::block::Block;
use crate::error::{IpamError, Result};
use crate::plan::Settings;
use crate::pools::Pool;

/// A record as read, with its key and revision (for compare-and-swap).
#[derive(Clone, Debug)]
pub(crate) struct Stored<S: Spec> {
    pub key: String,
    pub revision: Revision,
    pub obj: Object<S>,
}

/// The key of the block `cidr`.
pub(crate) fn block_key(cidr: &Cidr) -> String {
    key_for(Kind::IpamBlock, None, &block_name(cidr))
}

/// The name of `node`'s affinity for the block `cidr` (Calico: `<node>-<block name>`).
pub(crate) fn affinity_name(node: &str, cidr: &Cidr) -> String {
    format!("{node}-{}", block_name(cidr))
}

/// The key of `node`'s affinity for the block `cidr`.
pub(crate) fn affinity_key(node: &str, cidr: &Cidr) -> String {
    key_for(Kind::BlockAffinity, None, &affinity_name(node, cidr))
}

/// The record name of a handle: the handle itself when it is a valid resource name (the usual
/// `k8s-pod-network.<hex>`), otherwise a lowercased, cleaned form with a hash of the original
/// appended so that distinct handles keep distinct records. `spec.handleID` keeps the original.
pub(crate) fn handle_name(handle: &str) -> String {
    if resource_name(handle).is_ok() {
        return handle.to_string();
    }
    let cleaned: String = handle
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(200)
        .collect();
    // DNS labels of at most 63 characters (here 40, leaving room for the hash), at most 200 characters in all.
    let mut parts: Vec<&str> = Vec::new();
    let mut len = 0;
    for p in cleaned.split('.') {
        let p = p.get(..p.len().min(40)).unwrap_or(p).trim_matches('-');
        if p.is_empty() || len + p.len() > 200 {
            continue;
        }
        len += p.len() + 1;
        parts.push(p);
    }
    // FNV-1a, 64 bits: stable across builds and processes.
    let hash = handle.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let base = parts.join(".");
    if base.is_empty() {
        format!("h-{hash:016x}")
    } else {
        format!("{base}-{hash:016x}")
    }
}

/// The key of the handle record.
pub(crate) fn handle_key(handle: &str) -> String {
    key_for(Kind::IpamHandle, None, &handle_name(handle))
}

fn corrupt(key: &str, message: impl Into<String>) -> IpamError {
    IpamError::Corrupt {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Decodes a stored record of kind `S::KIND`.
pub(crate) fn decode<S: Spec>(kv: &KeyValue) -> Result<Stored<S>>
where
    Object<S>: TryFrom<Resource, Error = Resource>,
{
    let r = brindle_client::decode(kv)?;
    let obj = Object::<S>::try_from(r).map_err(|other| {
        corrupt(
            &kv.key,
            format!("holds a {}, not a {}", other.kind(), S::KIND),
        )
    })?;
    Ok(Stored {
        key: kv.key.clone(),
        revision: kv.mod_revision,
        obj,
    })
}

/// Encodes a record as the manifest JSON `brindle-client` stores.
pub(crate) fn encode<S: Spec>(obj: &Object<S>) -> Result<Vec<u8>>
where
    Resource: From<Object<S>>,
{
    let mut obj = obj.clone();
    obj.metadata.resource_version = None;
    let value = Resource::from(obj).to_value();
    serde_json::to_vec(&value)
        .map_err(|e| IpamError::Datastore(StoreError::Backend(format!("cannot encode: {e}"))))
}

/// Reads one record.
pub(crate) fn get<S: Spec>(store: &dyn Datastore, key: &str) -> Result<Option<Stored<S>>>
where
    Object<S>: TryFrom<Resource, Error = Resource>,
{
    store.get(key)?.map(|kv| decode(&kv)).transpose()
}

/// Lists every record of a kind.
pub(crate) fn list<S: Spec>(store: &dyn Datastore) -> Result<Vec<Stored<S>>>
where
    Object<S>: TryFrom<Resource, Error = Resource>,
{
    store
        .list(&kind_prefix(S::KIND, None))?
        .kvs
        .iter()
        .map(decode)
        .collect()
}

/// A block record with its in-memory model.
pub(crate) struct StoredBlock {
    pub key: String,
    pub revision: Revision,
    pub meta: Object<IpamBlockSpec>,
    pub block: Block,
}

impl StoredBlock {
    fn from_stored(s: Stored<IpamBlockSpec>) -> Result<StoredBlock> {
        let block = Block::from_spec(s.obj.spec.clone()).map_err(|m| corrupt(&s.key, m))?;
        Ok(StoredBlock {
            key: s.key,
            revision: s.revision,
            meta: s.obj,
            block,
        })
    }

    /// The record with the block's current state, ready to encode.
    pub fn to_object(&self) -> Object<IpamBlockSpec> {
        let mut o = self.meta.clone();
        o.spec = self.block.spec().clone();
        o
    }
}

/// Reads the block `cidr`.
pub(crate) fn get_block(store: &dyn Datastore, cidr: &Cidr) -> Result<Option<StoredBlock>> {
    get::<IpamBlockSpec>(store, &block_key(cidr))?
        .map(StoredBlock::from_stored)
        .transpose()
}

/// Lists every block.
pub(crate) fn list_blocks(store: &dyn Datastore) -> Result<Vec<StoredBlock>> {
    list::<IpamBlockSpec>(store)?
        .into_iter()
        .map(StoredBlock::from_stored)
        .collect()
}

/// An affinity record with its block's CIDR parsed.
pub(crate) struct StoredAffinity {
    pub stored: Stored<BlockAffinitySpec>,
    pub cidr: Cidr,
}

impl StoredAffinity {
    pub fn spec(&self) -> &BlockAffinitySpec {
        &self.stored.obj.spec
    }
}

/// Lists every affinity (of every node).
pub(crate) fn list_affinities(store: &dyn Datastore) -> Result<Vec<StoredAffinity>> {
    list::<BlockAffinitySpec>(store)?
        .into_iter()
        .map(|s| {
            let cidr = s
                .obj
                .spec
                .cidr
                .parse::<Cidr>()
                .map_err(|e| corrupt(&s.key, format!("spec.cidr: {e}")))?;
            Ok(StoredAffinity { stored: s, cidr })
        })
        .collect()
}

/// Reads `node`'s affinity for `cidr`.
pub(crate) fn get_affinity(
    store: &dyn Datastore,
    node: &str,
    cidr: &Cidr,
) -> Result<Option<Stored<BlockAffinitySpec>>> {
    get(store, &affinity_key(node, cidr))
}

/// A new affinity record.
pub(crate) fn new_affinity(
    node: &str,
    cidr: &Cidr,
    state: brindle_api::resources::ipam_records::AffinityState,
) -> Object<BlockAffinitySpec> {
    Object::new(
        affinity_name(node, cidr),
        BlockAffinitySpec {
            state,
            node: node.to_string(),
            cidr: cidr.to_string(),
            deleted: None,
            affinity_type: Some("host".into()),
        },
    )
}

/// Reads the handle record.
pub(crate) fn get_handle(
    store: &dyn Datastore,
    handle: &str,
) -> Result<Option<Stored<IpamHandleSpec>>> {
    get(store, &handle_key(handle))
}

/// A handle record with `counts` per block.
pub(crate) fn new_handle(handle: &str, counts: BTreeMap<String, u32>) -> Object<IpamHandleSpec> {
    Object::new(
        handle_name(handle),
        IpamHandleSpec {
            handle_id: handle.to_string(),
            block: counts,
            deleted: false,
        },
    )
}

/// The IPAMConfiguration settings in effect (defaults when there is none).
pub(crate) fn settings(store: &dyn Datastore) -> Result<Settings> {
    let key = key_for(Kind::IpamConfiguration, None, "default");
    let Some(s) = get::<IpamConfigurationSpec>(store, &key)? else {
        return Ok(Settings::default());
    };
    let spec = s.obj.spec;
    Ok(Settings {
        strict_affinity: spec.strict_affinity,
        max_blocks_per_host: spec
            .max_blocks_per_host
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        auto_allocate_blocks: spec.auto_allocate_blocks.unwrap_or(true),
    })
}

/// Every IP pool; a pool that cannot be used (bad CIDR or selector) is an error naming it.
pub(crate) fn pools(store: &dyn Datastore) -> Result<Vec<Pool>> {
    list::<IpPoolSpec>(store)?
        .iter()
        .map(|s| Pool::from_object(&s.obj).map_err(|m| corrupt(&s.key, m)))
        .collect()
}

/// The labels of `node`, or `None` when no Node resource exists.
pub(crate) fn node_labels(
    store: &dyn Datastore,
    node: &str,
) -> Result<Option<BTreeMap<String, String>>> {
    let key = key_for(Kind::Node, None, node);
    Ok(get::<NodeSpec>(store, &key)?.map(|s| s.obj.metadata.labels))
}

/// The names of every Node resource.
pub(crate) fn node_names(store: &dyn Datastore) -> Result<std::collections::BTreeSet<String>> {
    Ok(list::<NodeSpec>(store)?
        .into_iter()
        .map(|s| s.obj.metadata.name)
        .collect())
}

/// Every WorkloadEndpoint.
pub(crate) fn workload_endpoints(
    store: &dyn Datastore,
) -> Result<Vec<Object<WorkloadEndpointSpec>>> {
    Ok(list::<WorkloadEndpointSpec>(store)?
        .into_iter()
        .map(|s| s.obj)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_names_are_valid_and_distinct() {
        assert_eq!(
            handle_name("k8s-pod-network.0a1b2c"),
            "k8s-pod-network.0a1b2c"
        );
        let a = handle_name("net.ABC_def");
        let b = handle_name("net.abc-def");
        assert!(resource_name(&a).is_ok(), "{a}");
        assert_ne!(a, b);
        assert!(resource_name(&handle_name("..__..")).is_ok());
        assert!(resource_name(&handle_name(&"X".repeat(400))).is_ok());
    }

    #[test]
    fn keys() {
        let c: Cidr = "10.0.0.64/26".parse().expect("cidr");
        assert_eq!(block_key(&c), "/brindle/v3/ipamblocks/10-0-0-64-26");
        assert_eq!(
            affinity_key("node1", &c),
            "/brindle/v3/blockaffinities/node1-10-0-0-64-26"
        );
        assert_eq!(handle_key("net.c1"), "/brindle/v3/ipamhandles/net.c1");
    }
}
