//! Plain data carried through the datastore interface.

use std::path::PathBuf;
use std::time::Duration;

/// A store revision: etcd's `int64` revision, 0 before the first write.
pub type Revision = i64;

/// One stored key with its revisions (etcd's `mvccpb.KeyValue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value bytes.
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
    /// Number of writes since creation (1 after create).
    pub version: i64,
}

/// A listing and the revision it reflects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResult {
    /// Matching keys in key order.
    pub kvs: Vec<KeyValue>,
    /// Store revision at the time of the listing.
    pub revision: Revision,
}

/// One write inside [`crate::Datastore::txn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Create; the key must not exist.
    Create {
        /// Key to create.
        key: String,
        /// Value to store.
        value: Vec<u8>,
    },
    /// Compare-and-swap; the key must exist with `mod_revision == expected`.
    Update {
        /// Key to update.
        key: String,
        /// New value.
        value: Vec<u8>,
        /// The `mod_revision` the caller read.
        expected: Revision,
    },
    /// Unconditional write.
    Put {
        /// Key to write.
        key: String,
        /// Value to store.
        value: Vec<u8>,
    },
    /// Delete; the key must exist (and have `mod_revision == expected`, when given).
    Delete {
        /// Key to delete.
        key: String,
        /// The `mod_revision` the caller read, if the delete is conditional.
        expected: Option<Revision>,
    },
}

impl Op {
    /// The key this operation writes.
    pub fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Put { key, .. } => key,
            Op::Delete { key, .. } => key,
        }
    }
}

/// A change seen by a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The key was created or updated; `kv` is its new state.
    Put {
        /// The key-value after the write.
        kv: KeyValue,
    },
    /// The key was deleted at `revision`; `prev` is the value it had, when known.
    Delete {
        /// Deleted key.
        key: String,
        /// Revision of the delete.
        revision: Revision,
        /// The deleted key-value, when the backend could provide it.
        prev: Option<KeyValue>,
    },
}

impl Event {
    /// Revision at which the change happened.
    pub fn revision(&self) -> Revision {
        match self {
            Event::Put { kv } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    /// The key that changed.
    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv } => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }
}

/// Which backend to open, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatastoreConfig {
    /// Embedded SQLite file.
    Sqlite(SqliteConfig),
    /// etcd v3 cluster.
    Etcd(EtcdConfig),
}

/// Settings of the embedded SQLite backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteConfig {
    /// Database file. Must not be empty.
    pub path: PathBuf,
    /// How long a writer waits for another process's write lock before failing.
    pub busy_timeout: Duration,
    /// Whether opening creates a missing database file (and its directory). `true` by default
    /// (the node agent creates the store); with `false` a missing file is an error
    /// ([`crate::StoreError::Invalid`]: `sqlite datastore /typo/ds.db does not exist`) instead of a
    /// new empty store, which suits commands that only read.
    pub create: bool,
}

impl SqliteConfig {
    /// Default database path.
    pub const DEFAULT_PATH: &'static str = "/var/lib/brindle/datastore.db";

    /// Settings for the file at `path` with default timeouts, created when missing.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            busy_timeout: Duration::from_secs(10),
            create: true,
        }
    }
}

/// Settings of the etcd v3 backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs such as `http://127.0.0.1:2379` or `https://10.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// CA certificate (PEM) that signed the servers' certificates.
    pub ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// User name for etcd authentication.
    pub username: Option<String>,
    /// Password for etcd authentication.
    pub password: Option<String>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up on one request after this long.
    pub request_timeout: Duration,
}

impl EtcdConfig {
    /// Settings for `endpoints` without TLS or authentication, with default timeouts.
    pub fn new(endpoints: Vec<String>) -> Self {
        EtcdConfig {
            endpoints,
            ca_cert_file: None,
            cert_file: None,
            key_file: None,
            username: None,
            password: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}
