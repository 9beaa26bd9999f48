//! Opening the database file: its directory, the connection settings and the schema.
//!
//! Tables (keys are stored as BLOBs so that SQLite's `memcmp` ordering is etcd's byte ordering and
//! prefix ranges can be expressed with a byte-string upper bound):
//!
//! - `meta(name, value)`: `revision` (the store revision, bumped once per write transaction),
//!   `compact_revision` (the oldest revision the event log still holds) and `schema_version`.
//! - `kv(key, value, create_revision, mod_revision, version)`: the current state.
//! - `log(revision, idx, key, kind, value, create_revision, mod_revision, version)`: one row per
//!   write, `idx` being the position of the write inside its transaction. For puts the row holds
//!   the new state (`mod_revision == revision`); for deletes (`kind = 1`) it holds the deleted
//!   key-value as it was before the delete. Watches read this table.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::{Result, StoreError};

/// Version of the table layout described in the module documentation.
pub(crate) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compact_revision', 0);
CREATE TABLE IF NOT EXISTS kv (
    key             BLOB PRIMARY KEY,
    value           BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision    INTEGER NOT NULL,
    version         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    revision        INTEGER NOT NULL,
    idx             INTEGER NOT NULL,
    key             BLOB NOT NULL,
    kind            INTEGER NOT NULL,
    value           BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision    INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (revision, idx)
) WITHOUT ROWID;
";

/// The writer checkpoints the WAL into the database once it holds this many pages (SQLite's
/// default is 1000). The first connection a process opens while no other process has the
/// database open rebuilds the WAL index by reading every frame written since the last
/// checkpoint, which with 1000 pages (4 MB) cost a CNI call about 1.5 ms; with 100 the WAL stays
/// under 400 kB, for one more checkpoint (a few pages and an fsync) per hundred pages written.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 100;

/// `log.kind` of a put.
pub(crate) const KIND_PUT: i64 = 0;
/// `log.kind` of a delete.
pub(crate) const KIND_DELETE: i64 = 1;

/// Opens a connection to the datastore at `path`; with `create`, creates the directory, the file
/// and the schema when missing, without it fails when the file is missing. Every connection uses
/// WAL mode and `synchronous=NORMAL`.
///
/// Durability trade-off: with `synchronous=NORMAL` in WAL mode a commit is not fsynced; the WAL is
/// synced at checkpoints. The database can never be corrupted, and a process crash loses nothing,
/// but a power loss or kernel crash may roll back the last transactions committed before it. That
/// is the price of thousands instead of hundreds of CAS writes per second; the datastore's users
/// (IPAM, node registration) re-read and reconcile on start, so losing a final write before a
/// machine crash is recoverable, while slow writes would be felt on every pod start.
pub(crate) fn connect(path: &Path, busy_timeout: Duration, create: bool) -> Result<Connection> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Backend(format!(
            "cannot open sqlite datastore {}: {what}{e}",
            path.display()
        ))
    };
    if path.as_os_str().is_empty() {
        return Err(StoreError::Invalid(
            "datastorePath is empty: the sqlite datastore needs the path of its database file"
                .into(),
        ));
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(&format!("cannot create directory {}: ", dir.display()), &e))?;
        }
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !exists(path) {
        return Err(missing(path));
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        if !create && !exists(path) {
            missing(path)
        } else {
            fail("", &e)
        }
    })?;
    conn.busy_timeout(busy_timeout).map_err(|e| fail("", &e))?;
    keep_wal_on_close(&conn).map_err(|e| fail("", &e))?;
    let deadline = Instant::now() + busy_timeout;
    // Switching to WAL needs a moment of exclusive access; SQLite does not always run the busy
    // handler for it, so retry while other processes hold the file.
    let mode: String = retry_busy(deadline, || {
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
    })
    .map_err(|e| fail("", &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail("cannot switch to WAL mode, journal mode is ", &mode));
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};"
    ))
    .map_err(|e| fail("", &e))?;
    let version = retry_busy(deadline, || schema_version(&conn)).map_err(|e| fail("", &e))?;
    let version = match version {
        Some(v) => v,
        None => retry_busy(deadline, || create_schema(&conn)).map_err(|e| fail("", &e))?,
    };
    if version != SCHEMA_VERSION {
        return Err(fail(
            "",
            &format!("schema version {version} is not supported (expected {SCHEMA_VERSION})"),
        ));
    }
    Ok(conn)
}

/// Whether `path` exists (or cannot be checked: SQLite then says what is wrong with it).
fn exists(path: &Path) -> bool {
    !matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

fn missing(path: &Path) -> StoreError {
    StoreError::Invalid(format!(
        "sqlite datastore {} does not exist",
        path.display()
    ))
}

/// Opens one more connection to a database that [`connect`] has opened before (so the file, its
/// schema and WAL mode exist), for reading.
pub(crate) fn connect_reader(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    keep_wal_on_close(&conn)?;
    Ok(conn)
}

/// By default the last connection to close checkpoints the WAL into the database (with fsyncs)
/// and deletes it, and the next one to open creates it again: a short-lived process such as
/// the CNI plugin paid for both on every call. The WAL is checkpointed automatically as it
/// grows instead (see [`WAL_AUTOCHECKPOINT_PAGES`]).
fn keep_wal_on_close(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map(|_| ())
}

/// The schema version recorded in the file, `None` for a file without the schema.
fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    conn.query_row(
        "SELECT value FROM meta WHERE name = 'schema_version'",
        [],
        |r| r.get(0),
    )
    .optional()
}

fn create_schema(conn: &Connection) -> rusqlite::Result<i64> {
    // A write transaction so that two processes creating the same new file do it one after the
    // other; `CREATE … IF NOT EXISTS` and `INSERT OR IGNORE` make the second one a no-op.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = conn
        .execute_batch(SCHEMA)
        .and_then(|()| {
            conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )
        })
        .and_then(|_| {
            conn.query_row(
                "SELECT value FROM meta WHERE name = 'schema_version'",
                [],
                |r| r.get(0),
            )
        });
    match result {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Runs `f` until it succeeds, fails with something other than "busy"/"locked", or `deadline`
/// passes.
pub(crate) fn retry_busy<T>(
    deadline: Instant,
    mut f: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

/// Whether `e` says another connection holds a lock.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked)
    )
}

/// Starts a write transaction (`BEGIN IMMEDIATE`: the write lock is taken up front, so two
/// writers never both read and then fail to upgrade).
pub(crate) fn begin_write(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Reads a `meta` value.
pub(crate) fn meta(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
}

/// Writes a `meta` value.
pub(crate) fn set_meta(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE meta SET value = ?2 WHERE name = ?1")?
        .execute(rusqlite::params![name, value])?;
    Ok(())
}
