//! Watches on the etcd backend: a task on the store's runtime that owns one etcd watch stream
//! and keeps it going.
//!
//! The task remembers the first revision it has not delivered (`next`). When the stream breaks
//! (connection lost, etcd restarted, leader change) it waits ([`BACKOFF_MIN`] doubling up to
//! [`BACKOFF_MAX`]) and watches again from `next`, dropping anything below `next` that etcd might
//! send twice, so events are neither lost nor duplicated.
//!
//! Compaction: etcd keeps every event after its compaction revision but drops the delete
//! tombstones *at* it, and yet accepts a watch starting at exactly that revision. So the task asks
//! etcd for events from `next - 1` (and drops those below `next`): etcd then cancels the watch as
//! compacted (with `compact_revision` set) exactly when `next - 1` is below the compaction
//! revision, i.e. when some event from `next` on may be gone. etcd makes that check itself when
//! it first reads history for the watch, after any compaction that came before, so no compaction
//! can slip in between a check and the watch. The task then lists the prefix, delivers a `Resync`
//! and continues after that listing.
//!
//! A start revision in the future is fine: etcd delivers those revisions when they happen.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use etcd_client::{Client, EventType, WatchOptions, WatchResponse};

use super::connect::{Endpoints, is_retryable, map_error};
use super::read;
use super::txn::{convert, prefix_range};
use crate::{Event, Result, Revision, StoreError, WatchMessage};

/// First wait before re-creating a broken watch.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between attempts to re-create a broken watch.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often an idle task checks whether its [`crate::Watch`] was dropped.
const CANCEL_CHECK: Duration = Duration::from_millis(200);
/// Messages a slow receiver may leave queued before the task waits for it.
const QUEUE_DEPTH: usize = 16;

/// The channel and state a watch task runs with.
pub(crate) struct WatchTask {
    prefix: String,
    next: Revision,
    tx: SyncSender<Result<WatchMessage>>,
    cancel: Arc<AtomicBool>,
    endpoints: Endpoints,
}

/// Why the task stops.
struct Stop;

/// When to watch again after a stream ended.
enum Again {
    /// At once (after a resync).
    Now,
    /// After a pause; `progressed` when the stream delivered events before it broke.
    Later { progressed: bool },
}

impl WatchTask {
    /// A task for `prefix` from `next`, with the receiving end of its channel.
    pub(crate) fn new(
        prefix: &str,
        next: Revision,
        cancel: Arc<AtomicBool>,
        endpoints: Endpoints,
    ) -> (WatchTask, Receiver<Result<WatchMessage>>) {
        let (tx, rx) = sync_channel(QUEUE_DEPTH);
        (
            WatchTask {
                prefix: prefix.to_string(),
                next,
                tx,
                cancel,
                endpoints,
            },
            rx,
        )
    }

    /// Runs until the watch is dropped or fails for good.
    pub(crate) async fn run(mut self, client: Client) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.stream(&client).await {
                Err(Stop) => return,
                Ok(Again::Now) => backoff = BACKOFF_MIN,
                Ok(Again::Later { progressed }) => {
                    if progressed {
                        backoff = BACKOFF_MIN;
                    }
                    if self.pause(backoff).await.is_err() {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Creates one etcd watch from `next` and forwards what it delivers until the stream ends.
    async fn stream(&mut self, client: &Client) -> Result<Again, Stop> {
        let (start, end) = prefix_range(&self.prefix);
        // One revision early, so that etcd's compaction check covers `next` (module docs).
        let options = WatchOptions::new()
            .with_range(end)
            .with_start_revision((self.next - 1).max(1))
            .with_prev_key();
        let mut watch_client = client.watch_client().max_decoding_message_size(256 << 20);
        let broken = |progressed| Ok(Again::Later { progressed });
        let mut stream = match watch_client.watch(start, Some(options)).await {
            Ok(s) => s,
            Err(e) if is_retryable(&e) => return broken(false),
            Err(e) => {
                let e = map_error(&self.endpoints, "watching", e);
                return Err(self.fail(e).await);
            }
        };
        let mut progressed = false;
        loop {
            let message = tokio::select! {
                m = stream.message() => m,
                () = tokio::time::sleep(CANCEL_CHECK) => {
                    self.check_cancel()?;
                    continue;
                }
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                Ok(None) => return broken(progressed),
                Err(e) if is_retryable(&e) => return broken(progressed),
                Err(e) => {
                    let e = map_error(&self.endpoints, "watching", e);
                    return Err(self.fail(e).await);
                }
            };
            if resp.compact_revision() > 0 {
                self.resync(client).await?;
                return Ok(Again::Now);
            }
            if resp.canceled() {
                let reason = resp.cancel_reason();
                if reason.contains("permission denied") {
                    let e = StoreError::Backend(format!(
                        "etcd at {}: watching {}: {reason}",
                        self.endpoints, self.prefix
                    ));
                    return Err(self.fail(e).await);
                }
                // Canceled without compaction: etcd gave up on this watcher (e.g. it lost its
                // leader); watch again after a pause.
                return broken(progressed);
            }
            let events = match self.events(&resp) {
                Ok(events) => events,
                Err(e) => return Err(self.fail(e).await),
            };
            if let Some(last) = events.last() {
                self.next = last.revision() + 1;
                self.send(Ok(WatchMessage::Events(events))).await?;
                progressed = true;
            }
        }
    }

    /// The events of `resp` not delivered yet.
    fn events(&self, resp: &WatchResponse) -> Result<Vec<Event>> {
        let mut events = Vec::with_capacity(resp.events().len());
        for ev in resp.events() {
            let Some(kv) = ev.kv() else { continue };
            if kv.mod_revision() < self.next {
                continue;
            }
            events.push(match ev.event_type() {
                EventType::Put => Event::Put { kv: convert(kv)? },
                EventType::Delete => Event::Delete {
                    key: convert(kv)?.key,
                    revision: kv.mod_revision(),
                    prev: ev.prev_kv().map(convert).transpose()?,
                },
            });
        }
        Ok(events)
    }

    /// Lists the prefix, delivers it as a `Resync` and moves `next` after it, retrying while
    /// etcd is unreachable.
    async fn resync(&mut self, client: &Client) -> Result<(), Stop> {
        let mut backoff = BACKOFF_MIN;
        loop {
            match read::list(client.clone(), &self.endpoints, &self.prefix).await {
                Ok(list) => {
                    self.next = list.revision + 1;
                    let msg = WatchMessage::Resync {
                        kvs: list.kvs,
                        revision: list.revision,
                    };
                    return self.send(Ok(msg)).await;
                }
                Err(StoreError::Unavailable(_)) => {
                    self.pause(backoff).await?;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(e) => return Err(self.fail(e).await),
            }
        }
    }

    /// Queues `msg`. While the queue is full (the receiver is behind) the send waits on a thread
    /// of the runtime's blocking pool, so neither the runtime nor a CPU is kept busy; it ends when
    /// there is room or the receiver is dropped. (The channel is `std`'s because the receiving
    /// [`crate::Watch`] is synchronous and must work without, and inside, a tokio runtime.)
    async fn send(&self, msg: Result<WatchMessage>) -> Result<(), Stop> {
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(Stop),
            Err(TrySendError::Full(msg)) => {
                let tx = self.tx.clone();
                match tokio::task::spawn_blocking(move || tx.send(msg)).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(Stop),
                }
            }
        }
    }

    /// Delivers a final error.
    async fn fail(&self, e: StoreError) -> Stop {
        let _ = self.send(Err(e)).await;
        Stop
    }

    fn check_cancel(&self) -> Result<(), Stop> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(Stop)
        } else {
            Ok(())
        }
    }

    /// Sleeps `d`, checking for cancellation.
    async fn pause(&self, d: Duration) -> Result<(), Stop> {
        let until = tokio::time::Instant::now() + d;
        while tokio::time::Instant::now() < until {
            self.check_cancel()?;
            tokio::time::sleep_until(until.min(tokio::time::Instant::now() + CANCEL_CHECK)).await;
        }
        self.check_cancel()
    }
}
