//! Watches on the SQLite backend: one producer thread per watch, woken through one inotify
//! instance per database and process.
//!
//! A [`Waker`] watches the database's directory with inotify (so it sees writes to the `-wal`
//! file, to the notify file every commit touches, and files being recreated) on a thread of its
//! own, and counts the wake-ups that concern the database's files. All watches on one database in
//! a process share it (a process-wide registry keyed by path holds it weakly; it stops once the
//! last watch using it is dropped), so N watches cost one inotify instance, not N (the default
//! `fs.inotify.max_user_instances` is 128 per user).
//!
//! Each watch's producer notes the wake-up count, reads the event log for revisions it has not
//! delivered yet, sends them, and waits until the count moves past the one it noted. The inotify
//! watch exists before the first read, so a commit can never slip between a read and the wait:
//! its wake-up is counted after the count was noted. Writers in any process wake it; a re-check
//! every [`SAFETY_RECHECK`] covers anything inotify cannot see (another file system, an exhausted
//! event queue). The producer stops within that interval once the [`Watch`] is dropped.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchMask};
use rusqlite::{Connection, params};
use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};

use super::schema::{self, KIND_DELETE};
use super::txn::{self, key_string};
use crate::ops::prefix_end;
use crate::{Event, KeyValue, Result, Revision, StoreError, Watch, WatchMessage};

/// The longest a producer sleeps without an inotify wake-up before it reads the log again.
pub const SAFETY_RECHECK: Duration = Duration::from_millis(500);

/// At most this many revisions go into one [`WatchMessage::Events`] batch.
const BATCH_REVISIONS: Revision = 1000;

/// Batches a slow receiver may leave queued before the producer waits for it.
const QUEUE_DEPTH: usize = 16;

/// Starts a producer thread for `prefix` from `start_revision` (≤ 0: from the next write).
pub(crate) fn start(
    path: &Path,
    busy_timeout: Duration,
    prefix: &str,
    start_revision: Revision,
) -> Result<Watch> {
    let fail = |e: &dyn std::fmt::Display| {
        StoreError::Backend(format!(
            "cannot watch sqlite datastore {}: {e}",
            path.display()
        ))
    };
    let conn = schema::connect_reader(path, busy_timeout).map_err(|e| fail(&e))?;
    // Before the first read of the log (see the module documentation).
    let waker = Waker::shared(path).map_err(|e| fail(&e))?;
    let next = if start_revision <= 0 {
        schema::meta(&conn, "revision").map_err(|e| fail(&e))? + 1
    } else {
        start_revision
    };
    let (tx, rx) = sync_channel(QUEUE_DEPTH);
    let cancel = Arc::new(AtomicBool::new(false));
    let producer = Producer {
        conn,
        waker,
        path: path.to_path_buf(),
        prefix: prefix.to_string(),
        next,
        tx,
        cancel: cancel.clone(),
    };
    std::thread::Builder::new()
        .name("brindle-watch".into())
        .spawn(move || producer.run())
        .map_err(|e| fail(&e))?;
    Ok(Watch::new(rx, cancel))
}

/// The wake-ups of one database, shared by every watch on it in this process. Dropping the last
/// handle stops its thread and closes the inotify instance.
pub(crate) struct Waker {
    state: Arc<WakeState>,
    /// Written to stop the thread.
    stop: Arc<OwnedFd>,
}

/// What the inotify thread and the producers share.
struct WakeState {
    /// Wake-ups so far, or why the thread failed.
    count: Mutex<std::result::Result<u64, String>>,
    changed: Condvar,
}

impl WakeState {
    fn lock(&self) -> MutexGuard<'_, std::result::Result<u64, String>> {
        self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, value: std::result::Result<u64, String>) {
        *self.lock() = value;
        self.changed.notify_all();
    }
}

/// Wakers by database path.
type Registry = Mutex<HashMap<PathBuf, Weak<Waker>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Waker {
    /// The waker of the database at `path`, started if no watch in this process has one.
    pub(crate) fn shared(path: &Path) -> std::io::Result<Arc<Waker>> {
        let mut wakers = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = wakers.get(path).and_then(Weak::upgrade) {
            return Ok(w);
        }
        wakers.retain(|_, w| w.strong_count() > 0);
        let w = Arc::new(Waker::start(path)?);
        wakers.insert(path.to_path_buf(), Arc::downgrade(&w));
        Ok(w)
    }

    /// Number of inotify instances (running wakers) in this process, for tests.
    #[cfg(test)]
    fn running() -> usize {
        let wakers = registry().lock().unwrap_or_else(|p| p.into_inner());
        wakers.values().filter(|w| w.strong_count() > 0).count()
    }

    fn start(path: &Path) -> std::io::Result<Waker> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = path.file_name().map(OsString::from).unwrap_or_default();
        let inotify = Inotify::init().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("inotify: {e} (is fs.inotify.max_user_instances exhausted?)"),
            )
        })?;
        let mask = WatchMask::MODIFY
            | WatchMask::CREATE
            | WatchMask::MOVED_TO
            | WatchMask::CLOSE_WRITE
            | WatchMask::ATTRIB
            | WatchMask::DELETE;
        inotify.watches().add(&dir, mask).map_err(|e| {
            std::io::Error::new(e.kind(), format!("inotify on {}: {e}", dir.display()))
        })?;
        let stop = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
        let state = Arc::new(WakeState {
            count: Mutex::new(Ok(0)),
            changed: Condvar::new(),
        });
        let mut thread = WakeThread {
            inotify,
            stop: stop.clone(),
            file_name,
            buffer: vec![0; 4096],
            state: state.clone(),
        };
        std::thread::Builder::new()
            .name("brindle-wake".into())
            .spawn(move || thread.run())?;
        Ok(Waker { state, stop })
    }

    /// The wake-ups counted so far.
    fn count(&self) -> std::io::Result<u64> {
        self.state.lock().clone().map_err(std::io::Error::other)
    }

    /// Waits until the count moves past `seen`, `timeout` passes or `cancel` is set.
    fn wait(&self, seen: u64, timeout: Duration, cancel: &AtomicBool) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut count = self.state.lock();
        loop {
            match &*count {
                Err(e) => return Err(std::io::Error::other(e.clone())),
                Ok(n) if *n != seen => return Ok(()),
                Ok(_) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            count = self
                .state
                .changed
                .wait_timeout(count, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // Wakes the thread, which then sees that it is no longer needed.
        let _ = rustix::io::write(&*self.stop, &1u64.to_ne_bytes());
    }
}

/// The thread behind a [`Waker`]: waits on the inotify descriptor and counts relevant events.
struct WakeThread {
    inotify: Inotify,
    stop: Arc<OwnedFd>,
    /// File name of the database; events on files whose names start with it count.
    file_name: OsString,
    buffer: Vec<u8>,
    state: Arc<WakeState>,
}

impl WakeThread {
    fn run(&mut self) {
        loop {
            let (events, stop) = {
                let inotify = self.inotify.as_fd();
                let mut fds = [
                    PollFd::new(&inotify, PollFlags::IN),
                    PollFd::new(&*self.stop, PollFlags::IN),
                ];
                match poll(&mut fds, None) {
                    Ok(_) => (!fds[0].revents().is_empty(), !fds[1].revents().is_empty()),
                    Err(rustix::io::Errno::INTR) => (false, false),
                    Err(e) => {
                        self.state.set(Err(format!("inotify: {e}")));
                        return;
                    }
                }
            };
            if stop {
                return;
            }
            if events {
                match self.drain() {
                    Ok(false) => {}
                    Ok(true) => {
                        let mut count = self.state.lock();
                        if let Ok(n) = &mut *count {
                            *n += 1;
                        }
                        drop(count);
                        self.state.changed.notify_all();
                    }
                    Err(e) => {
                        self.state.set(Err(format!("inotify: {e}")));
                        return;
                    }
                }
            }
        }
    }

    /// Reads every queued event; true when one concerns the database's files.
    fn drain(&mut self) -> std::io::Result<bool> {
        let mut relevant = false;
        loop {
            match self.inotify.read_events(&mut self.buffer) {
                Ok(events) => {
                    for ev in events {
                        relevant |= match ev.name {
                            Some(name) => name
                                .as_encoded_bytes()
                                .starts_with(self.file_name.as_encoded_bytes()),
                            // Queue overflow or an event on the directory itself.
                            None => true,
                        };
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(relevant),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

struct Producer {
    conn: Connection,
    waker: Arc<Waker>,
    path: PathBuf,
    prefix: String,
    /// The first revision not delivered yet.
    next: Revision,
    tx: SyncSender<Result<WatchMessage>>,
    cancel: Arc<AtomicBool>,
}

/// What one read of the log found.
enum Step {
    Send(WatchMessage),
    /// Nothing (more) to send for now; `next` is up to date.
    CaughtUp,
    /// Revisions were read but none touched the prefix; read again at once.
    Skipped,
}

impl Producer {
    fn run(mut self) {
        while !self.cancel.load(Ordering::SeqCst) {
            // Noted before the read, so that a commit after the read always ends the wait.
            let seen = match self.waker.count() {
                Ok(n) => n,
                Err(e) => return self.fail(&e),
            };
            let step = match self.step() {
                Ok(step) => step,
                Err(e) => return self.fail(&e),
            };
            match step {
                Step::Send(msg) => {
                    if self.tx.send(Ok(msg)).is_err() {
                        return;
                    }
                }
                Step::Skipped => {}
                Step::CaughtUp => {
                    if let Err(e) = self.waker.wait(seen, SAFETY_RECHECK, &self.cancel) {
                        return self.fail(&e);
                    }
                }
            }
        }
    }

    /// Delivers a final error.
    fn fail(&self, e: &dyn std::fmt::Display) {
        let _ = self.tx.send(Err(StoreError::Backend(format!(
            "watch on sqlite datastore {} failed: {e}",
            self.path.display()
        ))));
    }

    /// Reads, in one snapshot, what comes after `next`.
    fn step(&mut self) -> rusqlite::Result<Step> {
        let tx = self.conn.transaction()?;
        let current = schema::meta(&tx, "revision")?;
        if self.next > current {
            return Ok(Step::CaughtUp);
        }
        let compacted = schema::meta(&tx, "compact_revision")?;
        if self.next < compacted {
            let kvs = txn::list(&tx, &self.prefix)?;
            self.next = current + 1;
            return Ok(Step::Send(WatchMessage::Resync {
                kvs,
                revision: current,
            }));
        }
        let upto = current.min(self.next.saturating_add(BATCH_REVISIONS - 1));
        let events = read_log(&tx, &self.prefix, self.next, upto)?;
        drop(tx);
        self.next = upto + 1;
        Ok(if !events.is_empty() {
            Step::Send(WatchMessage::Events(events))
        } else if upto < current {
            Step::Skipped
        } else {
            Step::CaughtUp
        })
    }
}

/// The logged events under `prefix` with revisions in `from..=to`, in order.
fn read_log(
    conn: &Connection,
    prefix: &str,
    from: Revision,
    to: Revision,
) -> rusqlite::Result<Vec<Event>> {
    let start = prefix.as_bytes();
    let end = prefix_end(start);
    let mut stmt = conn.prepare_cached(
        "SELECT revision, key, kind, value, create_revision, mod_revision, version FROM log
         WHERE revision >= ?1 AND revision <= ?2 AND key >= ?3 AND (?4 IS NULL OR key < ?4)
         ORDER BY revision, idx",
    )?;
    let rows = stmt.query_map(params![from, to, start, end], |row| {
        let revision: Revision = row.get(0)?;
        let kv = KeyValue {
            key: key_string(row.get(1)?)?,
            value: row.get(3)?,
            create_revision: row.get(4)?,
            mod_revision: row.get(5)?,
            version: row.get(6)?,
        };
        let kind: i64 = row.get(2)?;
        Ok(if kind == KIND_DELETE {
            Event::Delete {
                key: kv.key.clone(),
                revision,
                prev: Some(kv),
            }
        } else {
            Event::Put { kv }
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn watches_on_one_database_share_one_waker() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("db");
        let other = dir.path().join("other.db");
        let a = Waker::shared(&path).unwrap();
        let b = Waker::shared(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = Waker::shared(&other).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Waker::running() >= 2);
        drop((a, b));
        // Gone with its last user; a new one is started on demand.
        let weak = registry().lock().unwrap().get(&path).cloned().unwrap();
        assert_eq!(weak.strong_count(), 0);
        let d = Waker::shared(&path).unwrap();
        // A write to a file of the database wakes; one to another file does not.
        let seen = d.count().unwrap();
        let never = AtomicBool::new(false);
        std::fs::write(dir.path().join("unrelated"), b"x").unwrap();
        d.wait(seen, Duration::from_millis(200), &never).unwrap();
        assert_eq!(d.count().unwrap(), seen);
        std::fs::write(dir.path().join("db-notify"), b"x").unwrap();
        d.wait(seen, Duration::from_secs(5), &never).unwrap();
        assert!(d.count().unwrap() > seen);
        drop(c);
    }
}
