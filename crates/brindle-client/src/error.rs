//! Client errors: one line each, naming the kind and the resource.

use brindle_api::{Kind, ResourceError};
use brindle_store::StoreError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The resource does not exist.
    #[error("{kind} {name:?} does not exist")]
    NotFound {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
    },
    /// A create found the resource already there.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
    },
    /// The stored resource changed since the caller read it.
    #[error(
        "{kind} {name:?} was modified by someone else (resourceVersion {given} is stale, it is now {current}); read it again and retry"
    )]
    Conflict {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
        /// The resourceVersion the caller gave.
        given: String,
        /// The stored resourceVersion.
        current: String,
    },
    /// A concurrent change got in the way; nothing was written and the same call may succeed.
    #[error("{0}; nothing was written, retry")]
    Retry(String),
    /// The resource is invalid, or the change is not allowed.
    #[error(transparent)]
    Invalid(#[from] ResourceError),
    /// A stored record could not be decoded.
    #[error("stored record {key} is corrupt: {message}")]
    Corrupt {
        /// Its datastore key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The datastore failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
