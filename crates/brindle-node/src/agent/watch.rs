//! Bridges the datastore's blocking watch into the agent's async loop: a thread lists
//! everything under brindle's key root once, then forwards the watch's messages. When the watch
//! fails (etcd restarted beyond its retries, say) the thread waits a second and starts over
//! with a fresh listing, delivered as a resync.

use std::sync::Arc;
use std::time::Duration;

use brindle_client::KEY_ROOT;
use brindle_store::{Datastore, WatchMessage};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Starts the thread; the first message is a [`WatchMessage::Resync`] with the full state.
pub fn spawn(store: Arc<dyn Datastore>) -> Result<UnboundedReceiver<WatchMessage>, String> {
    let (tx, rx) = unbounded_channel();
    std::thread::Builder::new()
        .name("datastore-watch".into())
        .spawn(move || run(store, tx))
        .map_err(|e| format!("cannot start the datastore watch thread: {e}"))?;
    Ok(rx)
}

fn run(store: Arc<dyn Datastore>, tx: UnboundedSender<WatchMessage>) {
    loop {
        if let Err(e) = follow(store.as_ref(), &tx) {
            if tx.is_closed() {
                return;
            }
            eprintln!("node: datastore watch: {e}; starting over in 1 s");
            std::thread::sleep(Duration::from_secs(1));
        } else {
            return;
        }
    }
}

/// Lists, then forwards watch messages until the receiver is gone (`Ok`) or the watch fails.
fn follow(store: &dyn Datastore, tx: &UnboundedSender<WatchMessage>) -> Result<(), String> {
    let listing = store.list(KEY_ROOT).map_err(|e| e.to_string())?;
    let start = listing.revision + 1;
    let first = WatchMessage::Resync {
        kvs: listing.kvs,
        revision: listing.revision,
    };
    if tx.send(first).is_err() {
        return Ok(());
    }
    let watch = store.watch(KEY_ROOT, start).map_err(|e| e.to_string())?;
    loop {
        // A timeout lets the thread notice that the agent is gone.
        match watch.recv_timeout(Duration::from_secs(1)) {
            Ok(Some(msg)) => {
                if tx.send(msg).is_err() {
                    return Ok(());
                }
            }
            Ok(None) if tx.is_closed() => return Ok(()),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
