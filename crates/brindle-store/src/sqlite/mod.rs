//! The embedded SQLite backend: one database file shared by every process of a host (node agent,
//! CNI plugin invocations, the CLI), with etcd's semantics.
//!
//! - One store revision (`meta.revision`) bumped once per write transaction; keys carry
//!   `create_revision`, `mod_revision` and `version` exactly like etcd's.
//! - Writes run in `BEGIN IMMEDIATE` transactions that check every condition first, so a
//!   transaction with a failed condition writes nothing. Other processes wait for the write lock
//!   up to [`SqliteConfig::busy_timeout`].
//! - Reads use connections of their own (WAL lets readers run beside a writer), so `get`, `list`
//!   and `revision` never wait for a write, not even one of this process that is waiting for
//!   another process's write lock. Read connections are opened when first needed; while none is
//!   idle and no write is running, a read borrows the writer's connection, so a short-lived
//!   process (the CNI plugin) opens one connection, not two.
//! - Every write is also appended to an event log that watches read (see [`watch`](self)). The log
//!   is trimmed by [`Datastore::compact`] and automatically (see [`AUTO_COMPACT_EVERY`] and
//!   [`AUTO_COMPACT_KEEP`]).
//! - After each commit the writer rewrites a few bytes of the notify file (the database path with
//!   [`NOTIFY_SUFFIX`] appended), so that watchers' inotify wake-ups always come after the commit
//!   is visible (a wake-up from the WAL write itself can come a moment before).
//! - WAL mode with `synchronous=NORMAL`; see `schema.rs` for the durability trade-off.

mod schema;
mod txn;
mod watch;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::{
    Datastore, KeyValue, ListResult, Op, Result, Revision, SqliteConfig, StoreError, Watch,
};

pub use txn::{AUTO_COMPACT_EVERY, AUTO_COMPACT_KEEP};
pub use watch::SAFETY_RECHECK;

/// Appended to the database path to name the file every commit touches to wake watchers.
pub const NOTIFY_SUFFIX: &str = "-notify";

/// A datastore in one SQLite file. Cheap to open; safe to use from several threads and from
/// several processes at once.
pub struct SqliteStore {
    path: PathBuf,
    busy_timeout: Duration,
    /// The connection writes use, one at a time.
    writer: Mutex<Connection>,
    /// Idle read connections. A read takes one (else the writer's when it is free, else opens
    /// another) and puts it back, so reads wait neither for a write nor for each other.
    readers: Mutex<Vec<Connection>>,
    /// The notify file, when it could be opened for writing.
    notify: Option<File>,
}

/// Idle read connections kept for reuse.
const IDLE_READERS: usize = 4;

impl SqliteStore {
    /// Opens the database at `config.path`; creates it (its directory included) when missing if
    /// `config.create` is set, fails with [`StoreError::Invalid`] otherwise.
    pub fn open(config: &SqliteConfig) -> Result<Self> {
        let writer = schema::connect(&config.path, config.busy_timeout, config.create)?;
        let notify = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(notify_path(&config.path))
            .ok();
        Ok(SqliteStore {
            path: config.path.clone(),
            busy_timeout: config.busy_timeout,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            notify,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The oldest revision the event log still holds (0 when nothing was compacted yet).
    pub fn compact_revision(&self) -> Result<Revision> {
        self.read(
            || "reading the compact revision".into(),
            |conn| schema::meta(conn, "compact_revision"),
        )
    }

    fn lock_writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave a transaction open: rusqlite rolls back
        // when a `Transaction` is dropped during unwinding.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on an idle read connection (`what` names what it reads, for messages).
    fn read<T>(
        &self,
        what: impl Fn() -> String,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                // Outside a transaction the writer's connection reads like any other; it is
                // used only when no write holds it, so a read still never waits for a write.
                if let Ok(mut writer) = self.writer.try_lock() {
                    return f(&mut writer).map_err(|e| self.error(&what(), e));
                }
                schema::connect_reader(&self.path, self.busy_timeout)
                    .map_err(|e| self.error(&what(), e))?
            }
        };
        let result = f(&mut conn);
        let mut readers = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        drop(readers);
        result.map_err(|e| self.error(&what(), e))
    }

    /// Maps an SQLite error met while doing `what` (which names the key, if any).
    fn error(&self, what: &str, e: rusqlite::Error) -> StoreError {
        if schema::is_busy(&e) {
            StoreError::Unavailable(format!(
                "sqlite datastore {} stayed locked by another process for {:?} while {what}",
                self.path.display(),
                self.busy_timeout
            ))
        } else {
            StoreError::Backend(format!(
                "sqlite datastore {}: {what}: {e}",
                self.path.display()
            ))
        }
    }

    fn touch_notify(&self, revision: Revision) {
        if let Some(f) = &self.notify {
            // Best effort: watchers also see the WAL write and re-check periodically.
            let _ = f.write_all_at(&revision.to_le_bytes(), 0);
        }
    }
}

fn notify_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(NOTIFY_SUFFIX);
    PathBuf::from(p)
}

impl Datastore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.read(|| format!("reading {key}"), |conn| txn::get(conn, key))
    }

    fn list(&self, prefix: &str) -> Result<ListResult> {
        self.read(
            || format!("listing {prefix}"),
            |conn| {
                let tx = conn.transaction()?;
                let revision = schema::meta(&tx, "revision")?;
                let kvs = txn::list(&tx, prefix)?;
                Ok(ListResult { kvs, revision })
            },
        )
    }

    fn txn(&self, ops: &[Op]) -> Result<Vec<KeyValue>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        crate::ops::check_txn(ops)?;
        let mut conn = self.lock_writer();
        let what = || crate::ops::describe_writes(ops);
        let tx = schema::begin_write(&mut conn).map_err(|e| self.error(&what(), e))?;
        match txn::apply(&tx, ops) {
            Ok((kvs, revision)) => {
                tx.commit().map_err(|e| self.error(&what(), e))?;
                drop(conn);
                self.touch_notify(revision);
                Ok(kvs)
            }
            Err(txn::TxnError::Condition(e)) => Err(e),
            Err(txn::TxnError::Sqlite(e)) => Err(self.error(&what(), e)),
        }
    }

    fn revision(&self) -> Result<Revision> {
        self.read(
            || "reading the revision".into(),
            |conn| schema::meta(conn, "revision"),
        )
    }

    fn watch(&self, prefix: &str, start_revision: Revision) -> Result<Watch> {
        watch::start(&self.path, self.busy_timeout, prefix, start_revision)
    }

    /// Drops the event log before `revision`; watches from `revision` on still get every event.
    /// Compacting to a revision at or before the current compact revision does nothing; one past
    /// `revision() + 1` is an error.
    fn compact(&self, revision: Revision) -> Result<()> {
        let mut conn = self.lock_writer();
        let what = format!("compacting to revision {revision}");
        let tx = schema::begin_write(&mut conn).map_err(|e| self.error(&what, e))?;
        let current = schema::meta(&tx, "revision").map_err(|e| self.error(&what, e))?;
        if revision > current + 1 {
            return Err(StoreError::Backend(format!(
                "sqlite datastore {}: cannot compact to future revision {revision}: the current revision is {current}",
                self.path.display()
            )));
        }
        txn::compact(&tx, revision).map_err(|e| self.error(&what, e))?;
        tx.commit().map_err(|e| self.error(&what, e))
    }
}
