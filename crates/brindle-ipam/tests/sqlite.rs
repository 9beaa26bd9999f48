//! The IPAM scenarios on the SQLite backend, each on its own temporary database file.
#![allow(clippy::unwrap_used)]

mod scenarios;

use std::sync::Arc;

use brindle_store::sqlite::SqliteStore;
use brindle_store::{Datastore, DatastoreConfig, SqliteConfig};
use scenarios::Env;

/// The worker entry point of `scenarios::procs`; does nothing in a normal test run.
#[test]
fn worker_process() {
    scenarios::procs::worker_main();
}
use tempfile::TempDir;

fn run(name: &str) {
    let dir = TempDir::new().unwrap();
    let config = SqliteConfig::new(dir.path().join("datastore.db"));
    let store: Arc<dyn Datastore> = Arc::new(SqliteStore::open(&config).unwrap());
    let env = Env {
        store,
        config: DatastoreConfig::Sqlite(config),
    };
    let (_, f) = scenarios::ALL.iter().find(|(n, _)| *n == name).unwrap();
    f(&env);
}

macro_rules! sqlite_tests {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run(stringify!($name)); } )*
        /// Every scenario has a test here.
        #[test]
        fn every_scenario_is_covered() {
            let covered = [$(stringify!($name)),*];
            for (name, _) in scenarios::ALL {
                assert!(covered.contains(name), "scenario {name} has no sqlite test");
            }
        }
    };
}

sqlite_tests! {
    concurrent_strict_affinity,
    borrowing_when_not_strict,
    pool_exhaustion,
    max_blocks_per_host,
    dual_stack_rollback,
    pool_selection,
    tunnel_addresses,
    handle_release_idempotent,
    aba_protection,
    node_block_release,
    crashed_claim_is_found_and_finished,
    checker_and_repair,
    queries,
    processes_allocate_concurrently,
}
