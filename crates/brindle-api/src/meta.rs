//! Object metadata (the part of Kubernetes' ObjectMeta that Calico resources use).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// `metadata` of every resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// Unique name within the kind (and namespace, for namespaced kinds).
    #[serde(default)]
    pub name: String,
    /// Namespace, for namespaced kinds (WorkloadEndpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels, matched by selectors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The datastore revision of the last write; when given on update, the write only succeeds
    /// if the stored resource still has it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub resource_version: Option<String>,
    /// Identity assigned when the resource was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Creation time, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Kubernetes generation counter (accepted and kept, not interpreted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Kubernetes finalizers (accepted and kept, not interpreted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Kubernetes name prefix for generated names (accepted and kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Kubernetes owner references (accepted and kept, not interpreted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<serde_json::Value>,
    /// Kubernetes field ownership records (accepted and kept, not interpreted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields: Vec<serde_json::Value>,
    /// Kubernetes deletion time (accepted and kept, not interpreted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Rv {
        S(String),
        N(u64),
    }
    Ok(Option::<Rv>::deserialize(d)?.map(|v| match v {
        Rv::S(s) => s,
        Rv::N(n) => n.to_string(),
    }))
}
