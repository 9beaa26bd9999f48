//! The contract against the SQLite backend (a fresh database file per case), plus what only the
//! SQLite backend has: the file, its directory, and opening errors.
#![allow(clippy::unwrap_used)]

mod contract;

use std::sync::Arc;
use std::time::Duration;

use brindle_store::sqlite::SqliteStore;
use brindle_store::{Datastore, DatastoreConfig, Op, SqliteConfig, StoreError};
use contract::Ctx;
use tempfile::TempDir;

/// The worker entry point (see `contract::procs`); does nothing in a normal test run.
#[test]
fn worker_process() {
    contract::procs::worker_main();
}

fn sqlite_ctx(dir: &TempDir, name: &str) -> Ctx {
    let config = SqliteConfig::new(dir.path().join("state").join("datastore.db"));
    let store: Arc<dyn Datastore> = Arc::new(SqliteStore::open(&config).unwrap());
    Ctx {
        store,
        prefix: format!("/{name}/"),
        config: DatastoreConfig::Sqlite(config),
        exclusive: true,
    }
}

macro_rules! contract_tests {
    ($($case:ident => $f:path),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let dir = TempDir::new().unwrap();
                $f(&sqlite_ctx(&dir, stringify!($case)));
            }
        )*
        /// Every contract case has a test here.
        #[test]
        fn every_contract_case_is_covered() {
            let covered = [$(stringify!($case)),*];
            for (name, _) in contract::CASES {
                assert!(covered.contains(name), "contract case {name} has no sqlite test");
            }
        }
    };
}

contract_tests! {
    crud => contract::basic::crud,
    list_by_prefix => contract::basic::list_by_prefix,
    create_existing => contract::basic::create_existing,
    cas_conflicts => contract::basic::cas_conflicts,
    txn_atomicity => contract::basic::txn_atomicity,
    large_transactions => contract::basic::large_transactions,
    revisions_and_versions => contract::basic::revisions_and_versions,
    recreate_resets_revisions => contract::basic::recreate_resets_revisions,
    processes_racing_cas => contract::procs::processes_racing_cas,
    watch_order_10k => contract::watch::watch_order_10k,
    watch_from_now => contract::watch::watch_from_now,
    watch_resume_after_reopen => contract::watch::watch_resume_after_reopen,
    watch_after_compaction_resyncs => contract::watch::watch_after_compaction_resyncs,
    watch_sees_other_process => contract::watch::watch_sees_other_process,
    watch_from_future_revision => contract::watch::watch_from_future_revision,
    watch_compacted_while_behind_resyncs => contract::watch::watch_compacted_while_behind_resyncs,
    dropped_watches_do_not_spin => contract::procs::dropped_watches_do_not_spin,
    stalled_watch_does_not_spin => contract::procs::stalled_watch_does_not_spin,
}

#[test]
fn new_store_is_at_revision_zero_and_creates_its_directory() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a").join("b").join("datastore.db");
    let store = SqliteStore::open(&SqliteConfig::new(&path)).unwrap();
    assert!(path.is_file());
    assert_eq!(store.revision().unwrap(), 0);
    assert_eq!(store.compact_revision().unwrap(), 0);
    assert_eq!(store.list("").unwrap().kvs, vec![]);
    assert_eq!(store.describe(), format!("sqlite {}", path.display()));
    // Reopening keeps the data.
    store.put("/k", b"v").unwrap();
    drop(store);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).unwrap();
    assert_eq!(store.get("/k").unwrap().unwrap().value, b"v");
    assert_eq!(store.revision().unwrap(), 1);
}

#[test]
fn unopenable_database_names_the_path() {
    let dir = TempDir::new().unwrap();
    // A directory where the file should be.
    let path = dir.path().join("db");
    std::fs::create_dir(&path).unwrap();
    let err = SqliteStore::open(&SqliteConfig::new(&path)).err().unwrap();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // A file that is not a database.
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![7u8; 8192]).unwrap();
    let err = SqliteStore::open(&SqliteConfig::new(&path)).err().unwrap();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // A directory that cannot be created (below a regular file).
    let path = dir.path().join("garbage.db").join("sub").join("x.db");
    let err = SqliteStore::open(&SqliteConfig::new(&path)).err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("directory"),
        "{msg}"
    );
}

#[test]
fn writer_blocked_past_busy_timeout_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("datastore.db");
    let mut config = SqliteConfig::new(&path);
    config.busy_timeout = Duration::from_millis(200);
    let store = SqliteStore::open(&config).unwrap();
    // Another connection holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.put("/busy", b"x").unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("/busy"), "{err}");
    // A big transaction is named by its size and first and last keys, not every key.
    let ops: Vec<Op> = (0..70)
        .map(|i| Op::Put {
            key: format!("/busy/{i}"),
            value: vec![1],
        })
        .collect();
    let msg = store.txn(&ops).unwrap_err().to_string();
    assert!(
        msg.contains("writing 70 keys (/busy/0 … /busy/69)"),
        "{msg}"
    );
    assert!(!msg.contains("/busy/1,") && msg.len() < 250, "{msg}");
    other.execute_batch("ROLLBACK").unwrap();
    store.put("/busy", b"x").unwrap();
}

#[test]
fn watch_follows_a_recreated_database_directory_entry() {
    // The producer watches the directory, so a checkpoint that truncates or recreates the WAL
    // does not blind it.
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("datastore.db");
    let store = SqliteStore::open(&SqliteConfig::new(&path)).unwrap();
    let watch = store.watch("/", 0).unwrap();
    store.put("/a", b"1").unwrap();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let _: (i64, i64, i64) = c
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
    }
    store.put("/b", b"2").unwrap();
    let got = contract::collect(&watch, 2, Duration::from_secs(5));
    assert_eq!(
        got.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
        ["/a", "/b"]
    );
}

#[test]
fn without_create_a_missing_database_is_an_error_not_a_new_store() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("typo").join("ds.db");
    let mut config = SqliteConfig::new(&path);
    config.create = false;
    let err = SqliteStore::open(&config).err().unwrap();
    assert_eq!(
        err,
        StoreError::Invalid(format!(
            "sqlite datastore {} does not exist",
            path.display()
        ))
    );
    assert_eq!(
        err.to_string(),
        format!("sqlite datastore {} does not exist", path.display())
    );
    assert!(!path.parent().unwrap().exists(), "directory created");
    // Through `open` too, as the CLI opens it.
    let err = brindle_store::open(&DatastoreConfig::Sqlite(config.clone()))
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");

    // An existing database opens as usual.
    SqliteStore::open(&SqliteConfig::new(&path))
        .unwrap()
        .put("/k", b"v")
        .unwrap();
    let store = SqliteStore::open(&config).unwrap();
    assert_eq!(store.get("/k").unwrap().unwrap().value, b"v");
}

#[test]
fn an_empty_path_is_refused_clearly() {
    for create in [true, false] {
        let mut config = SqliteConfig::new("");
        config.create = create;
        let err = SqliteStore::open(&config).err().unwrap();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        assert!(
            err.to_string().starts_with("datastorePath is empty"),
            "{err}"
        );
    }
}

/// A write of this process waiting for another process's write lock holds the writer; reads
/// must not queue behind it.
#[test]
fn reads_do_not_wait_for_a_pending_write() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("datastore.db");
    let mut config = SqliteConfig::new(&path);
    config.busy_timeout = Duration::from_secs(3);
    let store = Arc::new(SqliteStore::open(&config).unwrap());
    store.put("/k", b"v").unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || store.put("/k", b"w"))
    };
    // Let the writer take the store's write connection and wait for the lock.
    std::thread::sleep(Duration::from_millis(200));
    let started = std::time::Instant::now();
    assert_eq!(store.get("/k").unwrap().unwrap().value, b"v");
    assert_eq!(store.list("/").unwrap().kvs.len(), 1);
    assert_eq!(store.revision().unwrap(), 1);
    assert_eq!(store.compact_revision().unwrap(), 0);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "reads took {took:?}");
    assert!(!writer.is_finished(), "the write should still be waiting");
    other.execute_batch("ROLLBACK").unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(store.get("/k").unwrap().unwrap().value, b"w");
}

/// When one worker of a case fails, the others are killed rather than left running.
#[test]
fn failed_workers_take_the_others_down() {
    use contract::procs::{Workers, spawn_worker};
    let dir = TempDir::new().unwrap();
    let ctx = sqlite_ctx(&dir, "workers");
    let workers = Workers(vec![
        spawn_worker(&ctx.config, "fail"),
        spawn_worker(&ctx.config, "sleep 60"),
        spawn_worker(&ctx.config, "sleep 60"),
    ]);
    let pids = workers.pids();
    let started = std::time::Instant::now();
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| workers.wait_all()));
    let msg = *failed.unwrap_err().downcast::<String>().unwrap();
    assert!(msg.contains("failing as asked"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(30));
    for pid in &pids[1..] {
        // Killed and reaped: no process (not even a zombie) with that id is left.
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} left"
        );
    }
}
