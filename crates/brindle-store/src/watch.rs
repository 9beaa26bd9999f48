//! The watch handle shared by both backends: a channel fed by a backend-owned producer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::{Event, KeyValue, Result, Revision, StoreError};

/// What a watch delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchMessage {
    /// Changes, in revision order (one batch may span several revisions).
    Events(Vec<Event>),
    /// History the watch needed was compacted: here is the full current state under the prefix
    /// at `revision`; replace what you hold with it. Events continue after `revision`.
    Resync {
        /// Every key under the prefix.
        kvs: Vec<KeyValue>,
        /// Revision of the listing.
        revision: Revision,
    },
}

/// A running watch. Dropping it stops the producer.
pub struct Watch {
    rx: Receiver<Result<WatchMessage>>,
    cancel: Arc<AtomicBool>,
}

impl Watch {
    /// Wraps a receiver fed by a producer that checks `cancel` and stops once it is set.
    pub fn new(rx: Receiver<Result<WatchMessage>>, cancel: Arc<AtomicBool>) -> Self {
        Watch { rx, cancel }
    }

    /// Waits for the next message. An `Err` is final: the watch has stopped.
    pub fn recv(&self) -> Result<WatchMessage> {
        self.rx
            .recv()
            .map_err(|_| StoreError::Backend("watch stopped".into()))?
    }

    /// Waits at most `timeout`; `Ok(None)` when nothing arrived in time.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<WatchMessage>> {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => m.map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(StoreError::Backend("watch stopped".into())),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}
