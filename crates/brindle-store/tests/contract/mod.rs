//! The datastore contract: one set of cases every backend must pass, written once and run by
//! `tests/sqlite.rs` (one fresh database per case) and `tests/etcd.rs` (one etcd per group, each
//! case under its own key prefix).

pub mod basic;
pub mod procs;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use brindle_store::{Datastore, DatastoreConfig, Event, KeyValue, Op, Watch, WatchMessage};

/// What a case gets: a store, a key prefix of its own, and how to open the same store again (in
/// this process or in a worker process).
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn Datastore>,
    /// Every key of the case starts with this (ends with `/`).
    pub prefix: String,
    /// How to reach the same store.
    pub config: DatastoreConfig,
    /// Whether the case owns the whole store (a fresh SQLite file) rather than sharing it.
    pub exclusive: bool,
}

impl Ctx {
    /// The full key for `name` under the case's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A second, independent handle on the same store.
    pub fn reopen(&self) -> Arc<dyn Datastore> {
        brindle_store::open(&self.config).expect("reopen the store")
    }
}

/// A contract case.
pub type Case = fn(&Ctx);

/// Names a subset of the cases for [`run_all`].
#[allow(dead_code)]
pub const ONLY_ENV: &str = "BRINDLE_CONTRACT_ONLY";

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("crud", basic::crud),
    ("list_by_prefix", basic::list_by_prefix),
    ("create_existing", basic::create_existing),
    ("cas_conflicts", basic::cas_conflicts),
    ("txn_atomicity", basic::txn_atomicity),
    ("large_transactions", basic::large_transactions),
    ("revisions_and_versions", basic::revisions_and_versions),
    (
        "recreate_resets_revisions",
        basic::recreate_resets_revisions,
    ),
    ("processes_racing_cas", procs::processes_racing_cas),
    ("watch_order_10k", watch::watch_order_10k),
    ("watch_from_now", watch::watch_from_now),
    (
        "watch_resume_after_reopen",
        watch::watch_resume_after_reopen,
    ),
    (
        "watch_after_compaction_resyncs",
        watch::watch_after_compaction_resyncs,
    ),
    ("watch_sees_other_process", watch::watch_sees_other_process),
    (
        "watch_from_future_revision",
        watch::watch_from_future_revision,
    ),
    (
        "watch_compacted_while_behind_resyncs",
        watch::watch_compacted_while_behind_resyncs,
    ),
    (
        "dropped_watches_do_not_spin",
        procs::dropped_watches_do_not_spin,
    ),
    (
        "stalled_watch_does_not_spin",
        procs::stalled_watch_does_not_spin,
    ),
];

/// Runs every case against stores made by `ctx`, continuing after failures, and panics at the
/// end naming the failed cases. With [`ONLY_ENV`] set, only the cases whose names contain it run
/// (for working on one case).
#[allow(dead_code)] // the SQLite tests run each case as a test of its own
pub fn run_all(mut ctx: impl FnMut(&str) -> Ctx) {
    let only = std::env::var(ONLY_ENV).unwrap_or_default();
    let mut failed = Vec::new();
    for (name, case) in CASES.iter().filter(|(name, _)| name.contains(&*only)) {
        let started = std::time::Instant::now();
        let c = ctx(name);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&c)));
        eprintln!(
            "contract case {name}: {} in {:?}",
            if result.is_ok() { "ok" } else { "FAILED" },
            started.elapsed()
        );
        if result.is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "contract cases failed: {failed:?}");
}

/// An event or a write result reduced to what both must agree on:
/// `(revision, key, deleted, value, create_revision, version)`.
pub type Change = (i64, String, bool, Vec<u8>, i64, i64);

/// The change a watch reports for `ev` (for a delete: the deleted key-value's fields).
pub fn change_of_event(ev: &Event) -> Change {
    match ev {
        Event::Put { kv } => (
            kv.mod_revision,
            kv.key.clone(),
            false,
            kv.value.clone(),
            kv.create_revision,
            kv.version,
        ),
        Event::Delete {
            key,
            revision,
            prev,
        } => {
            let prev = prev
                .as_ref()
                .expect("delete events carry the previous key-value");
            assert_eq!(&prev.key, key);
            (
                *revision,
                key.clone(),
                true,
                prev.value.clone(),
                prev.create_revision,
                prev.version,
            )
        }
    }
}

/// The change `op` made, given its result from `txn`.
pub fn change_of_result(op: &Op, kv: &KeyValue) -> Change {
    let deleted = matches!(op, Op::Delete { .. });
    (
        kv.mod_revision,
        kv.key.clone(),
        deleted,
        kv.value.clone(),
        kv.create_revision,
        kv.version,
    )
}

/// Receives events until `count` changes arrived (failing after `timeout` without progress);
/// any `Resync` fails the case.
pub fn collect(watch: &Watch, count: usize, timeout: Duration) -> Vec<Change> {
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        match watch.recv_timeout(timeout).expect("watch failed") {
            Some(WatchMessage::Events(evs)) => {
                assert!(!evs.is_empty(), "empty event batch");
                got.extend(evs.iter().map(change_of_event));
            }
            Some(WatchMessage::Resync { revision, .. }) => {
                panic!("unexpected resync at {revision} after {} events", got.len())
            }
            None => panic!(
                "watch stalled: {} of {count} events after {timeout:?}",
                got.len()
            ),
        }
    }
    got
}

/// Asserts that nothing more arrives for a moment.
pub fn assert_quiet(watch: &Watch) {
    if let Some(m) = watch
        .recv_timeout(Duration::from_millis(300))
        .expect("watch failed")
    {
        panic!("unexpected extra message: {m:?}");
    }
}
