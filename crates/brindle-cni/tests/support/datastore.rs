//! A datastore for the plugin to use: a SQLite file in a temporary directory or a throw-away
//! etcd server (brindle-store's `EtcdProcess`), with pools, nodes and IPAM settings written
//! through brindle-client, and brindle-ipam's checker to look at what is left.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::ipam_config::IpamConfigurationSpec;
use brindle_api::resources::node::NodeSpec;
use brindle_api::{Kind, Object, Resource};
use brindle_client::Client;
use brindle_ipam::{CheckOptions, Ipam, Report};
use brindle_store::testing::EtcdProcess;
use brindle_store::{Datastore, DatastoreConfig, SqliteConfig};
use serde_json::{Value, json};

use super::relay::Relay;

/// A datastore shared by the test and the plugin processes; removed (or stopped) on drop.
pub struct TestStore {
    pub store: Arc<dyn Datastore>,
    /// The network configuration fields that select it, as seen from the test's namespace.
    pub fields: Value,
    /// Relays into the test host namespaces (etcd only), dropped before etcd.
    relays: Mutex<Vec<Relay>>,
    _dir: tempfile::TempDir,
    _etcd: Option<EtcdProcess>,
}

impl TestStore {
    /// A new SQLite datastore file.
    pub fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datastore.db");
        let store =
            brindle_store::open(&DatastoreConfig::Sqlite(SqliteConfig::new(&path))).unwrap();
        TestStore {
            store,
            fields: json!({"datastore_type": "sqlite", "datastore_path": path}),
            relays: Mutex::new(Vec::new()),
            _dir: dir,
            _etcd: None,
        }
    }

    /// A fresh etcd server.
    pub fn etcd() -> TestStore {
        let etcd = EtcdProcess::start().unwrap();
        let store = brindle_store::open(&DatastoreConfig::Etcd(etcd.config())).unwrap();
        TestStore {
            store,
            fields: json!({"datastore_type": "etcdv3", "etcd_endpoints": etcd.endpoint()}),
            relays: Mutex::new(Vec::new()),
            _dir: tempfile::tempdir().unwrap(),
            _etcd: Some(etcd),
        }
    }

    /// The fields for a plugin run in the network namespace at `ns_path`: for etcd, an
    /// endpoint on that namespace's loopback relayed to the server.
    pub fn fields_in(&self, ns_path: &str) -> Value {
        let Some(endpoint) = self.fields["etcd_endpoints"].as_str() else {
            return self.fields.clone();
        };
        let target: SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
        let relay = Relay::start(ns_path, target);
        let mut f = self.fields.clone();
        f["etcd_endpoints"] = format!("http://127.0.0.1:{}", relay.port).into();
        self.relays.lock().unwrap().push(relay);
        f
    }

    pub fn client(&self) -> Client {
        Client::new(self.store.clone())
    }

    pub fn ipam(&self) -> Ipam {
        Ipam::new(self.store.clone())
    }

    /// An IPPool `name` over `cidr` with blocks of `block_size`.
    pub fn pool(&self, name: &str, cidr: &str, block_size: u32) {
        let spec = IpPoolSpec {
            cidr: cidr.into(),
            block_size: Some(block_size),
            ..Default::default()
        };
        self.client()
            .create(Object::new(name, spec).into())
            .unwrap();
    }

    /// Node resources (the checker reports blocks of nodes that do not exist).
    pub fn nodes(&self, names: &[&str]) {
        for n in names {
            self.client()
                .create(Object::new(*n, NodeSpec::default()).into())
                .unwrap();
        }
    }

    /// IPAMConfiguration with strictAffinity: a node never borrows from another's block.
    pub fn strict_affinity(&self) {
        let spec = IpamConfigurationSpec {
            strict_affinity: true,
            max_blocks_per_host: None,
            auto_allocate_blocks: None,
        };
        self.client()
            .apply(Object::new("default", spec).into())
            .unwrap();
    }

    /// brindle-ipam's checker, judging by WorkloadEndpoints (as `brindlectl ipam check`).
    pub fn check(&self) -> Report {
        self.ipam().check(&CheckOptions::default()).unwrap()
    }

    /// The addresses `handle` holds.
    pub fn held(&self, handle: &str) -> Vec<IpAddr> {
        self.ipam()
            .handle_allocations(handle)
            .unwrap()
            .into_iter()
            .map(|a| a.ip)
            .collect()
    }

    /// Addresses in use over every pool.
    pub fn in_use(&self) -> u128 {
        self.ipam()
            .pool_usage()
            .unwrap()
            .iter()
            .map(|p| p.in_use)
            .sum()
    }

    /// Whether no address is borrowed from another node's block.
    pub fn borrowed_none(&self) -> bool {
        self.ipam().borrowed().unwrap().is_empty()
    }

    /// The WorkloadEndpoint `namespace/name`, if it exists.
    pub fn endpoint(&self, namespace: &str, name: &str) -> Option<Resource> {
        self.client()
            .try_get(Kind::WorkloadEndpoint, Some(namespace), name)
            .unwrap()
    }

    /// How many WorkloadEndpoints exist.
    pub fn endpoints(&self) -> usize {
        self.client()
            .list(Kind::WorkloadEndpoint, None)
            .unwrap()
            .0
            .len()
    }
}
