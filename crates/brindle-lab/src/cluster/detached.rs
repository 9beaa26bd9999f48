//! Processes that outlive the command that started them: recorded by pid and start time (so a
//! reused pid is never mistaken for them), found alive or dead later, and stopped by process
//! group.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::names::{self, Owner};
use crate::process::signal_group;
use crate::wait::wait_until;

/// How long stopped processes get between SIGTERM and SIGKILL.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// A long-running process of a lab (an agent, a router daemon, etcd), leader of its own
/// process group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessRecord {
    /// Its pid (and process group id).
    pub pid: u32,
    /// Its start time (clock ticks since boot, `/proc/<pid>/stat` field 22).
    pub start_time: u64,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl ProcessRecord {
    /// Records the running process `pid`; `None` when it is already gone.
    pub fn of(pid: u32, log: PathBuf) -> Option<ProcessRecord> {
        Some(ProcessRecord {
            pid,
            start_time: names::start_time(pid)?,
            log,
        })
    }

    /// Whether this very process still runs (not a zombie, not a new process with its pid).
    pub fn is_running(&self) -> bool {
        let owner = Owner {
            pid: self.pid,
            start_time: self.start_time,
        };
        owner.is_alive() && !crate::process::is_gone(self.pid)
    }
}

/// Stops processes: SIGTERM to each one's group, up to `deadline` for all to exit, then SIGKILL
/// to the groups of those still there. Returns how many were running.
pub fn stop_all(records: &[&ProcessRecord], deadline: Duration) -> usize {
    let running: Vec<&&ProcessRecord> = records.iter().filter(|r| r.is_running()).collect();
    for r in &running {
        signal_group(r.pid, "TERM");
    }
    wait_until(deadline, || running.iter().all(|r| !r.is_running()));
    for r in &running {
        if r.is_running() {
            signal_group(r.pid, "KILL");
        }
    }
    wait_until(Duration::from_secs(2), || {
        running.iter().all(|r| !r.is_running())
    });
    running.len()
}
