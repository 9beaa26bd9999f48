//! IPAM scenarios shared by the SQLite and etcd test binaries. Each runs against an empty
//! datastore described by [`Env`].
#![allow(clippy::unwrap_used, dead_code)]

pub mod allocation;
pub mod check;
pub mod concurrency;
pub mod procs;
pub mod release;

use std::collections::BTreeMap;
use std::sync::Arc;

use brindle_api::Object;
use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::ipam_config::IpamConfigurationSpec;
use brindle_api::resources::node::NodeSpec;
use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_client::Client;
use brindle_ipam::{AssignRequest, Ipam};
use brindle_store::{Datastore, DatastoreConfig};

/// A datastore to run a scenario on.
pub struct Env {
    /// The shared connection.
    pub store: Arc<dyn Datastore>,
    /// How to open more connections to the same datastore (one per simulated node).
    pub config: DatastoreConfig,
}

impl Env {
    pub fn ipam(&self) -> Ipam {
        Ipam::new(self.store.clone())
    }

    /// Another connection to the same datastore, as a separate node would have.
    pub fn connect(&self) -> Ipam {
        Ipam::new(brindle_store::open(&self.config).unwrap())
    }

    pub fn client(&self) -> Client {
        Client::new(self.store.clone())
    }

    pub fn pool(
        &self,
        name: &str,
        cidr: &str,
        block_size: u32,
        tweak: impl FnOnce(&mut IpPoolSpec),
    ) {
        let mut spec = IpPoolSpec {
            cidr: cidr.into(),
            block_size: Some(block_size),
            ..Default::default()
        };
        tweak(&mut spec);
        self.client()
            .create(Object::new(name, spec).into())
            .unwrap();
    }

    pub fn nodes(&self, names: &[&str]) {
        for n in names {
            self.node(n, &[]);
        }
    }

    pub fn node(&self, name: &str, labels: &[(&str, &str)]) {
        let mut o = Object::new(name, NodeSpec::default());
        o.metadata.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.client().create(o.into()).unwrap();
    }

    pub fn ipam_config(&self, strict: bool, max_blocks: i32) {
        let spec = IpamConfigurationSpec {
            strict_affinity: strict,
            max_blocks_per_host: Some(max_blocks),
            auto_allocate_blocks: None,
        };
        self.client()
            .apply(Object::new("default", spec).into())
            .unwrap();
    }

    /// A WorkloadEndpoint listing `ips`, as the CNI plugin writes one.
    pub fn workload(&self, name: &str, node: &str, ips: &[std::net::IpAddr]) {
        let spec = WorkloadEndpointSpec {
            node: Some(node.into()),
            ip_networks: ips
                .iter()
                .map(|ip| format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }))
                .collect(),
            ..Default::default()
        };
        self.client()
            .create(Object::new(name, spec).into())
            .unwrap();
    }
}

/// A request for one IPv4 address.
pub fn v4(handle: &str, node: &str) -> AssignRequest {
    AssignRequest {
        handle: handle.into(),
        node: node.into(),
        num_v4: 1,
        ..Default::default()
    }
}

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A named scenario.
pub type Scenario = (&'static str, fn(&Env));

/// Every scenario, by name (both backends run all of them).
pub const ALL: &[Scenario] = &[
    (
        "concurrent_strict_affinity",
        concurrency::concurrent_strict_affinity,
    ),
    (
        "borrowing_when_not_strict",
        allocation::borrowing_when_not_strict,
    ),
    ("pool_exhaustion", allocation::pool_exhaustion),
    ("max_blocks_per_host", allocation::max_blocks_per_host),
    ("dual_stack_rollback", allocation::dual_stack_rollback),
    ("pool_selection", allocation::pool_selection),
    ("tunnel_addresses", allocation::tunnel_addresses),
    (
        "handle_release_idempotent",
        release::handle_release_idempotent,
    ),
    ("aba_protection", release::aba_protection),
    ("node_block_release", release::node_block_release),
    (
        "crashed_claim_is_found_and_finished",
        check::crashed_claim_is_found_and_finished,
    ),
    ("checker_and_repair", check::checker_and_repair),
    ("queries", check::queries),
    (
        "processes_allocate_concurrently",
        procs::processes_allocate_concurrently,
    ),
];
