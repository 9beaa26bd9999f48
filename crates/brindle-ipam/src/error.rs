//! IPAM errors: one line each, naming the pool, node, handle, address or key concerned.

use brindle_store::StoreError;

use crate::Family;

/// Why an IPAM call failed.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// No eligible pool has room for another address (or block) for this node.
    #[error("no IP pool with room for {family} on node {node}: {detail}")]
    NoRoom {
        /// The address family asked for.
        family: Family,
        /// The node allocating.
        node: String,
        /// Per pool why it could not serve (`pools 10.0.0.0/24 (full)`).
        detail: String,
    },
    /// No pool may serve this node at all (none of the family, all disabled, none selecting it).
    #[error("no IP pool for {family} on node {node}: {detail}")]
    NoPool {
        /// The address family asked for.
        family: Family,
        /// The node allocating.
        node: String,
        /// What was looked at.
        detail: String,
    },
    /// A pool named in the request (by name or CIDR) cannot be used.
    #[error("IP pool {pool:?}: {reason}")]
    Pool {
        /// The pool as the caller named it.
        pool: String,
        /// Why it cannot be used (`does not exist`, `is disabled`…).
        reason: String,
    },
    /// One family of a dual-stack request failed; addresses of the other family were released.
    #[error("{family}: {source}{}", if *.rolled_back { " (the addresses assigned for the other family were released)" } else { "" })]
    Family {
        /// The family that failed.
        family: Family,
        /// Whether a half success was rolled back.
        rolled_back: bool,
        /// What failed.
        #[source]
        source: Box<IpamError>,
    },
    /// An address that no IPAM block covers.
    #[error("{0} is not in any IPAM block")]
    NoBlock(std::net::IpAddr),
    /// Bad input from the caller (an empty handle, a malformed CIDR…).
    #[error("{0}")]
    Invalid(String),
    /// Too many concurrent writers: every compare-and-swap attempt lost.
    #[error("gave up {what} after {attempts} attempts that all lost to concurrent writers")]
    Contention {
        /// What was being written.
        what: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A stored IPAM record could not be decoded or is inconsistent.
    #[error("stored record {key} is corrupt: {message}")]
    Corrupt {
        /// Its datastore key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The datastore failed (`datastore unreachable: …`).
    #[error(transparent)]
    Datastore(#[from] StoreError),
    /// A compare-and-swap lost; the operation is retried (never returned to callers by the
    /// retrying entry points, which turn repeated losses into [`IpamError::Contention`]).
    #[error("concurrent change: {0}")]
    Conflict(String),
}

impl IpamError {
    /// Whether the error is a lost compare-and-swap that a fresh read may resolve.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            IpamError::Conflict(_)
                | IpamError::Datastore(
                    StoreError::Conflict { .. }
                        | StoreError::AlreadyExists { .. }
                        | StoreError::NotFound { .. }
                )
        )
    }
}

impl IpamError {
    /// Whether a write may or may not have been applied (its answer was lost).
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, IpamError::Datastore(StoreError::Indeterminate(_)))
    }
}

impl From<brindle_client::ClientError> for IpamError {
    fn from(e: brindle_client::ClientError) -> Self {
        use brindle_client::ClientError as C;
        match e {
            C::Store(s) => IpamError::Datastore(s),
            C::Corrupt { key, message } => IpamError::Corrupt { key, message },
            other => IpamError::Invalid(other.to_string()),
        }
    }
}

/// Result of IPAM calls.
pub type Result<T, E = IpamError> = std::result::Result<T, E>;
