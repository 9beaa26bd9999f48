//! Reads and write transactions on the tables described in [`super::schema`].

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::schema::{self, KIND_DELETE, KIND_PUT};
use crate::ops::{check, prefix_end};
use crate::{KeyValue, Op, Result, Revision, StoreError};

/// Every this many revisions a write transaction also trims the event log.
pub const AUTO_COMPACT_EVERY: Revision = 1000;

/// How much history automatic compaction keeps: log entries older than the last this many
/// revisions are dropped (watches starting before that get a `Resync`).
pub const AUTO_COMPACT_KEEP: Revision = 100_000;

/// Converts a stored key back into a string (keys are only ever written from `&str`).
pub(crate) fn key_string(bytes: Vec<u8>) -> rusqlite::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn kv_from_row(row: &Row<'_>) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: key_string(row.get(0)?)?,
        value: row.get(1)?,
        create_revision: row.get(2)?,
        mod_revision: row.get(3)?,
        version: row.get(4)?,
    })
}

/// Reads one key.
pub(crate) fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached(
        "SELECT key, value, create_revision, mod_revision, version FROM kv WHERE key = ?1",
    )?
    .query_row([key.as_bytes()], kv_from_row)
    .optional()
}

/// Lists the keys starting with `prefix`, in key order.
pub(crate) fn list(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<KeyValue>> {
    let start = prefix.as_bytes();
    match prefix_end(start) {
        Some(end) => conn
            .prepare_cached(
                "SELECT key, value, create_revision, mod_revision, version FROM kv
                 WHERE key >= ?1 AND key < ?2 ORDER BY key",
            )?
            .query_map(params![start, end], kv_from_row)?
            .collect(),
        None => conn
            .prepare_cached(
                "SELECT key, value, create_revision, mod_revision, version FROM kv
                 WHERE key >= ?1 ORDER BY key",
            )?
            .query_map(params![start], kv_from_row)?
            .collect(),
    }
}

/// Why a transaction did not commit: a failed condition (reported as is) or an SQLite error
/// (reported with the key being written).
pub(crate) enum TxnError {
    Condition(StoreError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for TxnError {
    fn from(e: rusqlite::Error) -> Self {
        TxnError::Sqlite(e)
    }
}

/// Applies `ops` inside the caller's write transaction: checks every condition against the state
/// before the transaction, then writes the new state and the log at revision `current + 1`.
/// Returns the results per operation (see [`crate::Datastore::txn`]) and the new revision.
pub(crate) fn apply(conn: &Connection, ops: &[Op]) -> Result<(Vec<KeyValue>, Revision), TxnError> {
    let mut before = Vec::with_capacity(ops.len());
    for op in ops {
        let current = get(conn, op.key())?;
        check(op, current.as_ref()).map_err(TxnError::Condition)?;
        before.push(current);
    }
    let rev = schema::meta(conn, "revision")? + 1;
    let mut results = Vec::with_capacity(ops.len());
    for (idx, (op, current)) in ops.iter().zip(before).enumerate() {
        let kv =
            match op {
                Op::Create { key, value }
                | Op::Update { key, value, .. }
                | Op::Put { key, value } => {
                    let (create_revision, version) = match &current {
                        Some(kv) => (kv.create_revision, kv.version + 1),
                        None => (rev, 1),
                    };
                    let kv = KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                        create_revision,
                        mod_revision: rev,
                        version,
                    };
                    conn.prepare_cached(
                    "INSERT OR REPLACE INTO kv (key, value, create_revision, mod_revision, version)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![key.as_bytes(), value, create_revision, rev, version])?;
                    log(conn, rev, idx, KIND_PUT, &kv)?;
                    kv
                }
                Op::Delete { key, .. } => {
                    // `check` made sure the key exists.
                    let Some(prev) = current else {
                        return Err(TxnError::Condition(StoreError::NotFound {
                            key: key.clone(),
                        }));
                    };
                    conn.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                        .execute([key.as_bytes()])?;
                    log(conn, rev, idx, KIND_DELETE, &prev)?;
                    KeyValue {
                        mod_revision: rev,
                        ..prev
                    }
                }
            };
        results.push(kv);
    }
    schema::set_meta(conn, "revision", rev)?;
    if rev % AUTO_COMPACT_EVERY == 0 && rev > AUTO_COMPACT_KEEP {
        compact(conn, rev - AUTO_COMPACT_KEEP)?;
    }
    Ok((results, rev))
}

fn log(
    conn: &Connection,
    rev: Revision,
    idx: usize,
    kind: i64,
    kv: &KeyValue,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO log (revision, idx, key, kind, value, create_revision, mod_revision, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        rev,
        i64::try_from(idx).unwrap_or(i64::MAX),
        kv.key.as_bytes(),
        kind,
        kv.value,
        kv.create_revision,
        kv.mod_revision,
        kv.version
    ])?;
    Ok(())
}

/// Drops log entries before `revision` and records it as the compact revision (inside the
/// caller's write transaction). A revision at or before the current compact revision is a no-op.
pub(crate) fn compact(conn: &Connection, revision: Revision) -> rusqlite::Result<()> {
    if revision <= schema::meta(conn, "compact_revision")? {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM log WHERE revision < ?1")?
        .execute([revision])?;
    schema::set_meta(conn, "compact_revision", revision)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn log_revisions(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT revision FROM log ORDER BY revision")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn put(conn: &mut Connection, key: &str) -> Revision {
        let tx = schema::begin_write(conn).unwrap();
        let op = Op::Put {
            key: key.into(),
            value: b"v".to_vec(),
        };
        let Ok((_, rev)) = apply(&tx, &[op]) else {
            panic!("put failed")
        };
        tx.commit().unwrap();
        rev
    }

    #[test]
    fn every_auto_compact_interval_the_log_keeps_the_last_revisions() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut conn = schema::connect(
            &dir.path().join("db"),
            std::time::Duration::from_secs(1),
            true,
        )
        .unwrap();
        for _ in 0..3 {
            put(&mut conn, "/k");
        }
        // Jump close to an interval boundary past the kept history.
        let boundary = AUTO_COMPACT_KEEP + 2 * AUTO_COMPACT_EVERY;
        schema::set_meta(&conn, "revision", boundary - 2).unwrap();
        put(&mut conn, "/k");
        assert_eq!(schema::meta(&conn, "compact_revision").unwrap(), 0);
        assert_eq!(log_revisions(&conn), [1, 2, 3, boundary - 1]);
        assert_eq!(put(&mut conn, "/k"), boundary);
        assert_eq!(
            schema::meta(&conn, "compact_revision").unwrap(),
            boundary - AUTO_COMPACT_KEEP
        );
        assert_eq!(log_revisions(&conn), [boundary - 1, boundary]);
    }
}
