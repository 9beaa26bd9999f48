//! The private tokio runtime of an [`EtcdStore`](super::EtcdStore): a current-thread runtime on a
//! dedicated thread, fed closures over a channel. Callers block on a `std::sync::mpsc` reply, so
//! the synchronous store can be used from plain threads and from inside another tokio runtime
//! alike (there it blocks that worker thread for the request, like any blocking call).
//!
//! The thread runs until the store is dropped and every watch it started has stopped.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use etcd_client::Client;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::connect::{self, Endpoints};
use crate::{EtcdConfig, Result, StoreError};

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;
type Job = Box<dyn FnOnce(Client) -> Task + Send>;

/// Handle to the runtime thread.
pub(crate) struct Runtime {
    jobs: mpsc::UnboundedSender<Job>,
    endpoints: Endpoints,
    request_timeout: Duration,
}

impl Runtime {
    /// Starts the thread and connects; returns once connected (or failed to).
    pub(crate) fn start(config: &EtcdConfig) -> Result<Runtime> {
        let endpoints = Endpoints::new(config);
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<()>>(1);
        let thread_config = config.clone();
        std::thread::Builder::new()
            .name("brindle-etcd".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Backend(format!(
                            "cannot start the etcd client runtime: {e}"
                        ))));
                        return;
                    }
                };
                rt.block_on(async move {
                    let client = match connect::connect(&thread_config).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let mut tasks = JoinSet::new();
                    loop {
                        tokio::select! {
                            job = queue.recv() => match job {
                                Some(job) => {
                                    tasks.spawn(job(client.clone()));
                                }
                                None => break,
                            },
                            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                        }
                    }
                    // The store is gone; let its watches run until their receivers go.
                    while tasks.join_next().await.is_some() {}
                });
            })
            .map_err(|e| {
                StoreError::Backend(format!("cannot start the etcd client thread: {e}"))
            })?;
        let ready = ready_rx.recv().map_err(|_| {
            StoreError::Backend(format!(
                "etcd client thread for {endpoints} stopped while connecting"
            ))
        })?;
        ready.map(|()| Runtime {
            jobs,
            endpoints,
            request_timeout: config.request_timeout,
        })
    }

    /// The endpoints, for messages.
    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Runs `f` on the runtime, waits for its result (at most the request timeout; then the
    /// error is `Unavailable`).
    pub(crate) fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        self.call_or(f, StoreError::Unavailable)
    }

    /// Like [`Runtime::call`], with `timed_out` making the error after the request timeout from a
    /// message naming the endpoints and the timeout.
    pub(crate) fn call_or<T, F, Fut, E>(&self, f: F, timed_out: E) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        E: FnOnce(String) -> StoreError + Send + 'static,
    {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let timeout = self.request_timeout;
        let endpoints = self.endpoints.clone();
        let job: Job = Box::new(move |client| {
            Box::pin(async move {
                let result = match tokio::time::timeout(timeout, f(client)).await {
                    Ok(r) => r,
                    Err(_) => Err(timed_out(format!(
                        "etcd at {endpoints}: request timed out after {}",
                        connect::fmt_duration(timeout)
                    ))),
                };
                let _ = tx.send(result);
            })
        });
        self.jobs.send(job).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?
    }

    /// Starts a long-running task (a watch) on the runtime.
    pub(crate) fn spawn<F, Fut>(&self, f: F) -> Result<()>
    where
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let job: Job = Box::new(move |client| Box::pin(f(client)));
        self.jobs.send(job).map_err(|_| self.stopped())
    }

    fn stopped(&self) -> StoreError {
        StoreError::Backend(format!(
            "etcd client thread for {} has stopped",
            self.endpoints
        ))
    }
}
