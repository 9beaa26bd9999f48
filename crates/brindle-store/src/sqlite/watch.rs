//! Watches on the SQLite backend: one producer thread per watch, woken by inotify.
//!
//! The producer watches the database's directory with inotify (so it sees writes to the `-wal`
//! file, to the notify file every commit touches, and files being recreated), reads the event log
//! for revisions it has not delivered yet, sends them, and waits on the inotify descriptor again.
//! The inotify watch exists before the first read, so a commit can never slip between a read and
//! the wait. Writers in any process wake it; a re-check every [`SAFETY_RECHECK`] covers anything
//! inotify cannot see (another file system, an exhausted event queue). The thread stops within
//! that interval once the [`Watch`] is dropped.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Duration;

use inotify::{Inotify, WatchMask};
use rusqlite::{Connection, params};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

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
    let conn = schema::connect(path, busy_timeout)?;
    let wake = Wake::new(path).map_err(|e| fail(&e))?;
    let next = if start_revision <= 0 {
        schema::meta(&conn, "revision").map_err(|e| fail(&e))? + 1
    } else {
        start_revision
    };
    let (tx, rx) = sync_channel(QUEUE_DEPTH);
    let cancel = Arc::new(AtomicBool::new(false));
    let producer = Producer {
        conn,
        wake,
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

/// The inotify instance watching the database directory.
struct Wake {
    inotify: Inotify,
    /// File name of the database; events on files whose names start with it wake the producer.
    file_name: OsString,
    buffer: Vec<u8>,
}

impl Wake {
    fn new(path: &Path) -> std::io::Result<Wake> {
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
        Ok(Wake {
            inotify,
            file_name,
            buffer: vec![0; 4096],
        })
    }

    /// Waits until a file of the database changes or `timeout` passes, then empties the queue.
    fn wait(&mut self, timeout: Duration) -> std::io::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        let mut relevant = false;
        while !relevant {
            let timeout = deadline.saturating_duration_since(std::time::Instant::now());
            let ts = Timespec {
                tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(timeout.subsec_nanos()),
            };
            let ready = {
                let fd = self.inotify.as_fd();
                let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                match poll(&mut fds, Some(&ts)) {
                    Ok(n) => n,
                    Err(rustix::io::Errno::INTR) => 0,
                    Err(e) => return Err(e.into()),
                }
            };
            if ready == 0 {
                return Ok(());
            }
            relevant = self.drain()?;
        }
        Ok(())
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
    wake: Wake,
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
            let step = match self.step() {
                Ok(step) => step,
                Err(e) => {
                    let _ = self.tx.send(Err(StoreError::Backend(format!(
                        "watch on sqlite datastore {} failed: {e}",
                        self.path.display()
                    ))));
                    return;
                }
            };
            match step {
                Step::Send(msg) => {
                    if self.tx.send(Ok(msg)).is_err() {
                        return;
                    }
                }
                Step::Skipped => {}
                Step::CaughtUp => {
                    if let Err(e) = self.wake.wait(SAFETY_RECHECK) {
                        let _ = self.tx.send(Err(StoreError::Backend(format!(
                            "watch on sqlite datastore {} failed: {e}",
                            self.path.display()
                        ))));
                        return;
                    }
                }
            }
        }
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
