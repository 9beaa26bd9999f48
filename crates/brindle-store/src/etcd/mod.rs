//! The etcd v3 backend.
//!
//! The store owns a private tokio runtime on a background thread (see `runtime.rs`); every call
//! is sent there and its reply awaited on a `std::sync::mpsc` channel, so the store works the same
//! from plain threads and from inside someone else's tokio runtime. [`EtcdStore::connect`]
//! returns once the cluster has answered one request, or fails after
//! [`EtcdConfig::connect_timeout`] with a message naming the endpoints.
//!
//! Semantics follow etcd directly: revisions, versions and compaction are etcd's own. A
//! transaction writing one key twice is refused (etcd refuses it too). `watch` with a start
//! revision ≤ 0 starts after the current revision.

mod connect;
mod read;
mod runtime;
mod txn;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use etcd_client::CompactionOptions;

use crate::{Datastore, EtcdConfig, KeyValue, ListResult, Op, Result, Revision, StoreError, Watch};
use connect::{is_compacted, map_error, write_error};
use runtime::Runtime;

pub use watch::{BACKOFF_MAX, BACKOFF_MIN};

/// A datastore in an etcd v3 cluster.
pub struct EtcdStore {
    rt: Runtime,
}

impl EtcdStore {
    /// Connects to `config.endpoints` (TLS and credentials as configured) and checks that the
    /// cluster answers, all within `config.connect_timeout`.
    pub fn connect(config: &EtcdConfig) -> Result<Self> {
        Ok(EtcdStore {
            rt: Runtime::start(config)?,
        })
    }
}

impl Datastore for EtcdStore {
    fn describe(&self) -> String {
        format!("etcdv3 {}", self.rt.endpoints())
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let endpoints = self.rt.endpoints().clone();
        let key = key.to_string();
        self.rt
            .call(move |client| async move { read::get(client, &endpoints, &key).await })
    }

    fn list(&self, prefix: &str) -> Result<ListResult> {
        let endpoints = self.rt.endpoints().clone();
        let prefix = prefix.to_string();
        self.rt
            .call(move |client| async move { read::list(client, &endpoints, &prefix).await })
    }

    /// A write whose answer is lost (the connection broke after sending, or the request timed
    /// out while an attempt was under way) is not sent again (it may have been applied, and a
    /// resent create would then fail as `AlreadyExists`); it fails with
    /// [`StoreError::Indeterminate`]. It is only sent again while it provably never left (no
    /// connection could be opened).
    fn txn(&self, ops: &[Op]) -> Result<Vec<KeyValue>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        crate::ops::check_txn(ops)?;
        let endpoints = self.rt.endpoints().clone();
        let what = crate::ops::describe_writes(ops);
        let in_flight = Arc::new(AtomicBool::new(false));
        let timed_out = {
            let (in_flight, what) = (in_flight.clone(), what.clone());
            move |message: String| {
                if in_flight.load(Ordering::SeqCst) {
                    StoreError::Indeterminate(format!("{message} while {what}"))
                } else {
                    StoreError::Unavailable(format!("{message} while {what}"))
                }
            }
        };
        let ops = ops.to_vec();
        self.rt.call_or(
            move |client| async move {
                let request = || {
                    let (mut kv, txn) = (client.kv_client(), txn::build(&ops));
                    async move { kv.txn(txn).await }
                };
                let resp = connect::send_write(request, &in_flight)
                    .await
                    .map_err(|e| write_error(&endpoints, &what, e))?;
                txn::results(&ops, &resp)
            },
            timed_out,
        )
    }

    fn revision(&self) -> Result<Revision> {
        let endpoints = self.rt.endpoints().clone();
        self.rt
            .call(move |client| async move { read::revision(client, &endpoints).await })
    }

    fn watch(&self, prefix: &str, start_revision: Revision) -> Result<Watch> {
        let next = if start_revision <= 0 {
            self.revision()? + 1
        } else {
            start_revision
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let (task, rx) =
            watch::WatchTask::new(prefix, next, cancel.clone(), self.rt.endpoints().clone());
        self.rt.spawn(move |client| task.run(client))?;
        Ok(Watch::new(rx, cancel))
    }

    /// Discards etcd's history before `revision`, physically (it is gone when this returns).
    /// Implemented as an etcd compaction at `revision - 1`: etcd keeps its compaction revision
    /// only partly (delete tombstones at it are dropped), so compacting one below keeps every
    /// event from `revision` on, as the contract promises. Compacting to a revision that is
    /// already compacted does nothing; one past `revision() + 1` is an error.
    fn compact(&self, revision: Revision) -> Result<()> {
        if revision <= 1 {
            return Ok(());
        }
        let endpoints = self.rt.endpoints().clone();
        self.rt.call(move |client| async move {
            let options = CompactionOptions::new().with_physical();
            let request = || {
                let (mut kv, options) = (client.kv_client(), options.clone());
                async move { kv.compact(revision - 1, Some(options)).await }
            };
            match connect::send(request).await {
                Ok(_) => Ok(()),
                Err(e) if is_compacted(&e) => Ok(()),
                Err(e) => Err(map_error(
                    &endpoints,
                    &format!("compacting to revision {revision}"),
                    e,
                )),
            }
        })
    }
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EtcdStore({})", self.rt.endpoints())
    }
}
