//! brindle's datastore: a key-value interface with etcd v3 semantics (a global revision, per-key
//! revisions, create-only and compare-and-swap writes, atomic multi-key transactions, ordered
//! watches that resume from a revision), implemented by an embedded SQLite file and by etcd v3.
//!
//! The interface is synchronous so that short-lived callers (the CNI plugin, the CLI) need no
//! async runtime; the etcd backend runs its own runtime on a private thread.
//!
//! This crate knows keys and bytes only. What a key means (resource kinds, names) belongs to
//! `brindle-api`.

mod error;
mod ops;
mod types;
mod watch;

pub use error::StoreError;
pub use ops::prefix_end;
pub use types::{
    DatastoreConfig, EtcdConfig, Event, KeyValue, ListResult, Op, Revision, SqliteConfig,
};
pub use watch::{Watch, WatchMessage};

/// The most operations one [`Datastore::txn`] may hold, on every backend. etcd refuses bigger
/// transactions (its `--max-txn-ops` defaults to 128; each operation here becomes at most one
/// compare, one write and one read); the SQLite backend enforces the same limit so that input
/// that works on one backend works on the other. Split bigger changes into several transactions.
pub const MAX_TXN_OPS: usize = 128;

/// The most bytes of keys and values one [`Datastore::txn`] may carry, on every backend. etcd
/// refuses requests over 1.5 MiB by default (`--max-request-bytes`); this leaves room for the
/// keys repeated in compares and reads and for framing. The SQLite backend enforces the same
/// limit for parity.
pub const MAX_TXN_BYTES: usize = 1 << 20;

/// Result type of every datastore call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A datastore with etcd v3 semantics. Every method is safe to call from several threads, and the
/// SQLite backend is also safe across processes sharing one file.
pub trait Datastore: Send + Sync {
    /// One line naming the backend and where it is, for messages (`sqlite /var/lib/…/datastore.db`,
    /// `etcdv3 https://10.0.0.1:2379,https://10.0.0.2:2379`).
    fn describe(&self) -> String;

    /// Reads one key.
    fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Lists every key that starts with `prefix`, sorted by key, together with the store revision
    /// the listing reflects (watch from `revision + 1` to continue from it without a gap).
    fn list(&self, prefix: &str) -> Result<ListResult>;

    /// Applies all operations atomically at one new revision: either every condition holds and all
    /// writes happen, or none does and the error names the first key whose condition failed
    /// (`AlreadyExists`, `NotFound`, `Conflict`). Returns, per operation in order, the key-value as
    /// written (for `Delete`, the value that was deleted, with `mod_revision` of the delete).
    ///
    /// At most [`MAX_TXN_OPS`] operations carrying at most [`MAX_TXN_BYTES`] bytes of keys and
    /// values, each key at most once; otherwise nothing is written and the error is
    /// [`StoreError::Invalid`] saying so. These limits are the same on every backend.
    fn txn(&self, ops: &[Op]) -> Result<Vec<KeyValue>>;

    /// The store's current revision (the revision of the last write; 0 for a new SQLite store,
    /// 1 for a fresh etcd, whose first write is revision 2).
    fn revision(&self) -> Result<Revision>;

    /// Watches every key under `prefix`, delivering events with revision ≥ `start_revision` in
    /// revision order, never lost, duplicated or reordered. If `start_revision` (or a later point
    /// the watch must resume from) has been compacted away, the watch relists and delivers
    /// [`WatchMessage::Resync`] and then continues with events after that listing. A
    /// `start_revision` ≤ 0 means "from the next write" (etcd's convention); one after the
    /// current revision is fine too (those revisions are delivered when they happen).
    fn watch(&self, prefix: &str, start_revision: Revision) -> Result<Watch>;

    /// Discards history before `revision`: watches may no longer start before it (they get a
    /// `Resync`), while watches from `revision` on still get every event. Compacting to an
    /// already compacted revision does nothing; past `revision() + 1` is an error.
    fn compact(&self, revision: Revision) -> Result<()>;

    /// Creates `key`; fails with `AlreadyExists` if it exists.
    fn create(&self, key: &str, value: &[u8]) -> Result<KeyValue> {
        let op = Op::Create {
            key: key.to_string(),
            value: value.to_vec(),
        };
        single(self.txn(std::slice::from_ref(&op))?)
    }

    /// Replaces `key` if its `mod_revision` is still `expected`; `Conflict` otherwise, `NotFound`
    /// if it does not exist.
    fn update(&self, key: &str, value: &[u8], expected: Revision) -> Result<KeyValue> {
        let op = Op::Update {
            key: key.to_string(),
            value: value.to_vec(),
            expected,
        };
        single(self.txn(std::slice::from_ref(&op))?)
    }

    /// Writes `key` whether or not it exists.
    fn put(&self, key: &str, value: &[u8]) -> Result<KeyValue> {
        let op = Op::Put {
            key: key.to_string(),
            value: value.to_vec(),
        };
        single(self.txn(std::slice::from_ref(&op))?)
    }

    /// Deletes `key` (only if its `mod_revision` is `expected`, when given); `NotFound` if absent.
    fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        let op = Op::Delete {
            key: key.to_string(),
            expected,
        };
        single(self.txn(std::slice::from_ref(&op))?)
    }
}

fn single(mut kvs: Vec<KeyValue>) -> Result<KeyValue> {
    kvs.pop()
        .ok_or_else(|| StoreError::Backend("transaction returned no result".into()))
}

/// Opens the datastore that `config` describes.
pub fn open(config: &DatastoreConfig) -> Result<std::sync::Arc<dyn Datastore>> {
    match config {
        DatastoreConfig::Sqlite(c) => Ok(std::sync::Arc::new(sqlite::SqliteStore::open(c)?)),
        DatastoreConfig::Etcd(c) => Ok(std::sync::Arc::new(etcd::EtcdStore::connect(c)?)),
    }
}

pub mod etcd;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
