//! [`Resource`]: any of the kinds, decoded from and encoded to manifest form.

use serde_json::Value;

use crate::API_VERSION;
use crate::check::Checker;
use crate::error::{FieldError, ResourceError};
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::object::Object;
use crate::resources::Spec;
use crate::resources::bgp_configuration::BgpConfigurationSpec;
use crate::resources::bgp_filter::BgpFilterSpec;
use crate::resources::bgp_peer::BgpPeerSpec;
use crate::resources::felix_configuration::FelixConfigurationSpec;
use crate::resources::ip_pool::IpPoolSpec;
use crate::resources::ipam_config::IpamConfigurationSpec;
use crate::resources::ipam_records::{BlockAffinitySpec, IpamBlockSpec, IpamHandleSpec};
use crate::resources::node::NodeSpec;
use crate::resources::workload_endpoint::WorkloadEndpointSpec;

macro_rules! resource_enum {
    ($($variant:ident($spec:ty)),* $(,)?) => {
        /// Any resource brindle stores. Variants are named after [`Kind`]s.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Resource {
            $(
                #[doc = concat!("A ", stringify!($variant), ".")]
                $variant(Object<$spec>),
            )*
        }

        impl Resource {
            /// The resource's kind.
            pub fn kind(&self) -> Kind {
                match self { $( Resource::$variant(_) => Kind::$variant, )* }
            }

            /// The resource's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $( Resource::$variant(o) => &o.metadata, )* }
            }

            /// The resource's metadata, for changing.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $( Resource::$variant(o) => &mut o.metadata, )* }
            }

            /// Manifest form (`apiVersion`, `kind`, `metadata`, `spec`…), keys sorted.
            pub fn to_value(&self) -> Value {
                match self { $( Resource::$variant(o) => o.to_value(), )* }
            }

            /// Fills the defaults Calico stores on write.
            pub fn apply_defaults(&mut self) {
                match self { $( Resource::$variant(o) => o.spec.apply_defaults(), )* }
            }

            fn problems(&self) -> Vec<FieldError> {
                match self { $( Resource::$variant(o) => o.check(), )* }
            }

            fn update_problems(&self, old: &Resource) -> Vec<FieldError> {
                let mut c = Checker::default();
                match (self, old) {
                    $( (Resource::$variant(n), Resource::$variant(o)) => {
                        n.spec.validate_update(&o.spec, &mut c)
                    } )*
                    _ => c.err("kind", format!("cannot replace a {} with a {}", old.kind(), self.kind())),
                }
                c.finish()
            }

            fn decode_kind(kind: Kind, value: Value) -> Result<Resource, FieldError> {
                match kind { $( Kind::$variant => Object::<$spec>::decode(value).map(Resource::$variant), )* }
            }
        }

        $(
            impl From<Object<$spec>> for Resource {
                fn from(o: Object<$spec>) -> Resource { Resource::$variant(o) }
            }

            impl TryFrom<Resource> for Object<$spec> {
                type Error = Resource;
                fn try_from(r: Resource) -> Result<Self, Resource> {
                    match r { Resource::$variant(o) => Ok(o), other => Err(other) }
                }
            }
        )*
    };
}

resource_enum! {
    BgpConfiguration(BgpConfigurationSpec),
    BgpPeer(BgpPeerSpec),
    BgpFilter(BgpFilterSpec),
    Node(NodeSpec),
    IpPool(IpPoolSpec),
    IpamConfiguration(IpamConfigurationSpec),
    FelixConfiguration(FelixConfigurationSpec),
    WorkloadEndpoint(WorkloadEndpointSpec),
    IpamBlock(IpamBlockSpec),
    BlockAffinity(BlockAffinitySpec),
    IpamHandle(IpamHandleSpec),
}

impl Resource {
    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// Decodes one manifest object (not a List) strictly, then validates it.
    pub fn from_value(value: Value) -> Result<Resource, ResourceError> {
        let resource = Resource::decode(value)?;
        resource.validate()?;
        Ok(resource)
    }

    /// Decodes one manifest object without running the validation rules (types and unknown
    /// fields are still checked). Used for records read back from the datastore.
    pub fn decode(value: Value) -> Result<Resource, ResourceError> {
        let Value::Object(mut map) = value else {
            return Err(ResourceError::single(
                "",
                "",
                "",
                "a resource must be a mapping",
            ));
        };
        let name = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let kind_text = match map.remove("kind") {
            Some(Value::String(k)) => k,
            Some(other) => {
                let msg = format!("must be a string, got {other}");
                return Err(ResourceError::single("", &name, "kind", msg));
            }
            None => return Err(ResourceError::single("", &name, "kind", "is required")),
        };
        let kind = Kind::from_manifest(&kind_text).ok_or_else(|| {
            let hint = Kind::from_cli(&kind_text)
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            ResourceError::single(
                &kind_text,
                &name,
                "kind",
                format!("{kind_text:?} is not a kind brindle knows{hint}"),
            )
        })?;
        match map.remove("apiVersion") {
            Some(Value::String(v)) if v == API_VERSION => {}
            Some(v) => {
                let msg = format!("{v} is not supported; use {API_VERSION}");
                return Err(ResourceError::single(kind.name(), &name, "apiVersion", msg));
            }
            None => {
                return Err(ResourceError::single(
                    kind.name(),
                    &name,
                    "apiVersion",
                    "is required",
                ));
            }
        }
        Resource::decode_kind(kind, Value::Object(map))
            .map_err(|e| ResourceError::new(kind.name(), &name, vec![e]))
    }

    /// Checks every rule of the resource's kind.
    pub fn validate(&self) -> Result<(), ResourceError> {
        self.verdict(self.problems())
    }

    /// Checks that replacing `old` with `self` changes no immutable field.
    pub fn validate_update(&self, old: &Resource) -> Result<(), ResourceError> {
        self.verdict(self.update_problems(old))
    }

    fn verdict(&self, problems: Vec<FieldError>) -> Result<(), ResourceError> {
        if problems.is_empty() {
            return Ok(());
        }
        Err(ResourceError::new(
            self.kind().name(),
            self.name(),
            problems,
        ))
    }
}

/// Wraps resources of one kind in calicoctl's list form (`<Kind>List` with `items`).
pub fn list_value(kind: Kind, items: &[Resource], resource_version: Option<String>) -> Value {
    let mut meta = serde_json::Map::new();
    if let Some(rv) = resource_version {
        meta.insert("resourceVersion".into(), Value::String(rv));
    }
    serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": format!("{}List", kind.name()),
        "metadata": meta,
        "items": items.iter().map(Resource::to_value).collect::<Vec<_>>(),
    })
}
