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
    /// Refused without effect because the request or the configuration cannot work: a key
    /// written twice in one transaction, a transaction over [`crate::MAX_TXN_OPS`] or
    /// [`crate::MAX_TXN_BYTES`] (or over a server's lower limits), a missing database file or an
    /// empty path, unreadable or mismatched TLS files, an untrusted server certificate or a
    /// missing or rejected client certificate. Retrying does not help; the message (printed as
    /// is, one line) says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// The datastore could not be reached.
    #[error("datastore unreachable: {0}")]
    Unavailable(String),
    /// A write was sent but its answer was lost (the connection broke after sending, or the
    /// request timed out): it may or may not have been applied. Read the keys to find out before
    /// writing again (a repeated create may fail as `AlreadyExists`, a repeated compare-and-swap
    /// as `Conflict`, because the first one took effect).
    #[error("{0}; outcome unknown: the write may or may not have been applied")]
    Indeterminate(String),
    /// Any other backend failure.
    #[error("datastore error: {0}")]
    Backend(String),
}
