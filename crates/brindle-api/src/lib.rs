//! brindle's resource model: the `projectcalico.org/v3` kinds users apply, their defaults and
//! validation, manifest decoding with errors that name the kind, the name and the field, and
//! Calico's label selector language. No I/O.

pub mod asn;
pub mod check;
pub mod document;
pub mod error;
pub mod kind;
pub mod meta;
pub mod net;
pub mod object;
pub mod resource;
pub mod resources;
pub mod selector;

pub use asn::AsNumber;
pub use document::{DocumentError, parse_resources};
pub use error::{FieldError, ResourceError};
pub use kind::Kind;
pub use meta::ObjectMeta;
pub use object::Object;
pub use resource::{Resource, list_value};
pub use resources::Spec;
pub use selector::Selector;

/// The API group and version of every resource.
pub const API_VERSION: &str = "projectcalico.org/v3";
