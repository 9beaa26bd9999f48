//! `down`: stops the lab's processes (SIGTERM, then SIGKILL), deletes its namespaces (pods,
//! hosts, switch) and removes its dir. Idempotent, and works without a state file: namespaces
//! are then found by name ([`super::naming::role_of`]), and whatever still runs in them is
//! killed.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use super::detached::{STOP_DEADLINE, stop_all};
use super::naming::role_of;
use super::state::{LabState, MARKER_FILE, STATE_FILE};
use crate::error::{Error, Result};
use crate::lab::remove_namespace;
use crate::stale::list_namespaces;

/// What `down` removed.
#[derive(Debug, Default)]
pub struct DownReport {
    /// Processes stopped: recorded ones still running, and whatever else ran in the namespaces.
    pub stopped: usize,
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Whether the lab dir was removed.
    pub removed_dir: bool,
    /// Why the state file could not be used, if it was there but unreadable.
    pub state_problem: Option<String>,
}

impl DownReport {
    /// Whether there was nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.stopped == 0 && self.namespaces.is_empty() && !self.removed_dir
    }
}

impl fmt::Display for DownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing to remove");
        }
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "stopped {}, deleted {}{}",
            plural(self.stopped, "process", "processes"),
            plural(self.namespaces.len(), "namespace", "namespaces"),
            if self.removed_dir {
                ", removed the lab dir"
            } else {
                ""
            }
        )
    }
}

/// Takes lab `name` (state in `dir`) down; see the module docs.
pub fn down(name: &str, dir: &Path) -> Result<DownReport> {
    let mut report = DownReport::default();
    let state = match LabState::load(dir) {
        Ok(s) => Some(s),
        Err(e) => {
            if LabState::path(dir).exists() {
                report.state_problem = Some(e.to_string());
            }
            None
        }
    };
    if let Some(state) = &state {
        report.stopped = stop_all(&state.processes(), STOP_DEADLINE);
    }

    // The recorded namespaces and every one named like the lab's: pods, hosts, switch last.
    let mut namespaces: BTreeSet<(u8, String)> = BTreeSet::new();
    let recorded = state.as_ref().map(LabState::namespaces).unwrap_or_default();
    for ns in recorded.into_iter().chain(list_namespaces()?) {
        if let Some(role) = role_of(name, &ns) {
            namespaces.insert((role as u8, ns));
        }
    }
    let mut problems = Vec::new();
    for (_, ns) in namespaces {
        if !crate::lab::namespace_exists(&ns) {
            continue;
        }
        match remove_namespace(&ns) {
            Ok(killed) => {
                report.stopped += killed.len();
                report.namespaces.push(ns);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }

    match remove_dir(dir) {
        Ok(removed) => report.removed_dir = removed,
        Err(e) => problems.push(e.to_string()),
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(Error::io(
            format!("lab {name} not fully removed"),
            std::io::Error::other(problems.join("; ")),
        ))
    }
}

/// Removes the lab dir if it is one (holds the marker or the state file); a missing dir is
/// fine. Returns whether something was removed.
fn remove_dir(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    let ours = dir.join(MARKER_FILE).exists() || dir.join(STATE_FILE).exists();
    let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if !ours && !empty {
        return Err(Error::invalid(
            "lab dir",
            format!(
                "not removing {}: it holds no brindle-lab state",
                dir.display()
            ),
        ));
    }
    std::fs::remove_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e))?;
    Ok(true)
}
