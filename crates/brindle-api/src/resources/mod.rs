//! One module per resource kind: its spec type, defaults and validation rules.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;

pub mod bgp_configuration;
pub mod bgp_filter;
pub mod bgp_peer;
pub mod common;
pub mod felix_configuration;
pub mod ip_pool;
pub mod ipam_config;
pub mod ipam_records;
pub mod node;
pub mod workload_endpoint;

/// The typed part of one kind: its `spec` (and `status`, if the kind has one), with the kind's
/// rules. Implementations do no I/O.
pub trait Spec: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Default {
    /// The kind this spec belongs to.
    const KIND: Kind;

    /// The kind's `status` type ([`common::NoStatus`] for kinds without one).
    type Status: Serialize + DeserializeOwned + Clone + Debug + PartialEq;

    /// Checks the spec (and name-dependent rules), recording every problem in `c`.
    fn validate(&self, meta: &ObjectMeta, c: &mut Checker);

    /// Fills the defaults Calico stores on write (most kinds store what was given).
    fn apply_defaults(&mut self) {}

    /// Checks a change from `old` to `self`: fields that may not change after creation.
    fn validate_update(&self, _old: &Self, _c: &mut Checker) {}
}
