//! Datastore errors.

use crate::Revision;

/// Why a datastore call failed. Messages are one line and name the key or the endpoint.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The key does not exist.
    #[error("{key} does not exist")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// A create found the key already there.
    #[error("{key} already exists")]
    AlreadyExists {
        /// The existing key.
        key: String,
    },
    /// A compare-and-swap found another revision.
    #[error("{key} was modified concurrently (expected revision {expected}, found {actual})")]
    Conflict {
        /// The contended key.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The revision found.
        actual: Revision,
    },
    /// Nothing was attempted: the request or the configuration cannot work (a key written twice
    /// in one transaction, a transaction over [`crate::MAX_TXN_OPS`] or
    /// [`crate::MAX_TXN_BYTES`], a missing database file, bad TLS settings). The message says what
    /// to fix.
    #[error("{0}")]
    Invalid(String),
    /// The datastore could not be reached.
    #[error("datastore unreachable: {0}")]
    Unavailable(String),
    /// Any other backend failure.
    #[error("datastore error: {0}")]
    Backend(String),
}
