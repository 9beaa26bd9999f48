//! The IPAM scenarios on etcd: one throw-away etcd server for the whole binary (started and
//! killed by `EtcdProcess`, also when a scenario fails), emptied between scenarios.
//!
//! Runs Debian's `/usr/bin/etcd`; without it the test fails and says to run `make test`.
#![allow(clippy::unwrap_used)]

mod scenarios;

use std::sync::Arc;

use brindle_store::etcd::EtcdStore;
use brindle_store::testing::EtcdProcess;
use brindle_store::{Datastore, DatastoreConfig, Op};
use scenarios::Env;

/// The worker entry point of `scenarios::procs`; does nothing in a normal test run.
#[test]
fn worker_process() {
    scenarios::procs::worker_main();
}

/// Deletes every key under `/brindle/` (in transactions within the size limits).
fn wipe(store: &dyn Datastore) {
    let keys: Vec<String> = store
        .list("/brindle/")
        .unwrap()
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    for chunk in keys.chunks(100) {
        let ops: Vec<Op> = chunk
            .iter()
            .map(|k| Op::Delete {
                key: k.clone(),
                expected: None,
            })
            .collect();
        store.txn(&ops).unwrap();
    }
}

#[test]
fn all_scenarios_on_etcd() {
    let etcd = EtcdProcess::start().unwrap_or_else(|e| panic!("cannot start etcd: {e}"));
    let config = etcd.config();
    let store: Arc<dyn Datastore> = Arc::new(EtcdStore::connect(&config).unwrap());
    for (name, f) in scenarios::ALL {
        wipe(store.as_ref());
        let started = std::time::Instant::now();
        let env = Env {
            store: store.clone(),
            config: DatastoreConfig::Etcd(config.clone()),
        };
        f(&env);
        eprintln!("etcd: {name}: {:?}", started.elapsed());
    }
}
