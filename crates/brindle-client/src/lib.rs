//! Typed access to brindle resources over any [`Datastore`]: where each kind lives in the key
//! space, the metadata the datastore owns (`resourceVersion`, `uid`, `creationTimestamp`), and
//! writes of several resources that happen all together or not at all.
//!
//! Every write validates with `brindle-api` first; nothing invalid reaches the datastore.

mod error;
mod keys;
mod stamp;
mod write;

use std::sync::Arc;

use brindle_api::{Kind, Resource};
use brindle_store::{Datastore, KeyValue, Revision};

pub use error::ClientError;
pub use keys::{KEY_ROOT, key_for, kind_prefix};
pub use stamp::format_rfc3339;
pub use write::WriteMode;

/// Result of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// The namespace used when a namespaced resource names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Typed resource access over a datastore.
#[derive(Clone)]
pub struct Client {
    store: Arc<dyn Datastore>,
}

impl Client {
    /// A client over `store`.
    pub fn new(store: Arc<dyn Datastore>) -> Self {
        Client { store }
    }

    /// The underlying datastore.
    pub fn store(&self) -> &Arc<dyn Datastore> {
        &self.store
    }

    /// Reads one resource.
    pub fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Resource> {
        let key = key_for(kind, namespace, name);
        match self.store.get(&key)? {
            Some(kv) => decode(&kv),
            None => Err(ClientError::NotFound {
                kind,
                name: name.to_string(),
            }),
        }
    }

    /// Reads one resource, `None` if it does not exist.
    pub fn try_get(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Resource>> {
        let key = key_for(kind, namespace, name);
        self.store.get(&key)?.map(|kv| decode(&kv)).transpose()
    }

    /// Lists the resources of a kind (of one namespace, or of all when `namespace` is `None`),
    /// sorted by namespace and name, with the revision of the listing.
    pub fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<(Vec<Resource>, Revision)> {
        let listing = self.store.list(&kind_prefix(kind, namespace))?;
        let items = listing.kvs.iter().map(decode).collect::<Result<Vec<_>>>()?;
        Ok((items, listing.revision))
    }

    /// Creates, replaces or applies (create-or-replace) every resource in one atomic datastore
    /// transaction. Every resource is validated, and checked against what is stored (existence,
    /// immutable fields, `resourceVersion`, pool overlaps), before anything is written.
    pub fn write_all(&self, mode: WriteMode, resources: Vec<Resource>) -> Result<Vec<Resource>> {
        write::write_all(self, mode, resources)
    }

    /// Creates one resource.
    pub fn create(&self, resource: Resource) -> Result<Resource> {
        single(self.write_all(WriteMode::Create, vec![resource])?)
    }

    /// Replaces one existing resource.
    pub fn replace(&self, resource: Resource) -> Result<Resource> {
        single(self.write_all(WriteMode::Replace, vec![resource])?)
    }

    /// Creates or replaces one resource.
    pub fn apply(&self, resource: Resource) -> Result<Resource> {
        single(self.write_all(WriteMode::Apply, vec![resource])?)
    }

    /// Deletes resources atomically: all exist (and, where a `resourceVersion` is given, still
    /// have it) and are deleted, or nothing is. Returns the deleted resources.
    pub fn delete_all(
        &self,
        targets: &[(Kind, Option<String>, String, Option<String>)],
    ) -> Result<Vec<Resource>> {
        write::delete_all(self, targets)
    }

    /// Deletes one resource.
    pub fn delete(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Resource> {
        let target = (kind, namespace.map(String::from), name.to_string(), None);
        single(self.delete_all(std::slice::from_ref(&target))?)
    }
}

fn single(mut v: Vec<Resource>) -> Result<Resource> {
    v.pop().ok_or_else(|| {
        ClientError::Store(brindle_store::StoreError::Backend("empty result".into()))
    })
}

/// Decodes a stored record, setting `resourceVersion` from the datastore revision.
pub fn decode(kv: &KeyValue) -> Result<Resource> {
    let corrupt = |message: String| ClientError::Corrupt {
        key: kv.key.clone(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&kv.value).map_err(|e| corrupt(e.to_string()))?;
    let mut r = Resource::decode(value).map_err(|e| corrupt(e.to_string()))?;
    r.metadata_mut().resource_version = Some(kv.mod_revision.to_string());
    Ok(r)
}
