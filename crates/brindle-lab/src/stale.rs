//! Removing what crashed earlier runs left behind: namespaces, their processes, temp dirs.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::lab::remove_namespace;
use crate::names::{self, Owner, RUN_DIR};
use crate::process::run_ok;

/// What [`cleanup_stale`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaleReport {
    /// The stale labs' names.
    pub labs: Vec<String>,
    /// The namespaces deleted.
    pub namespaces: Vec<String>,
    /// The processes killed (they were running inside those namespaces).
    pub processes: Vec<u32>,
}

impl StaleReport {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.labs.is_empty()
    }
}

impl fmt::Display for StaleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "labs [{}], namespaces [{}], {} processes killed",
            self.labs.join(" "),
            self.namespaces.join(" "),
            self.processes.len()
        )
    }
}

/// The names of all network namespaces (`ip netns list`).
pub fn list_namespaces() -> Result<Vec<String>> {
    let out = run_ok("ip", &["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Removes the labs of the `prefix` family (e.g. [`names::DEFAULT_PREFIX`]) whose owning
/// process is gone: kills the processes inside their namespaces, deletes the namespaces, removes
/// their temp dirs and owner markers.
///
/// Only names of the form `<prefix><4 hex digits>[-...]` are considered, and a lab whose owner
/// is alive (another test running in parallel) is left alone, so this is safe to call at any
/// time; [`crate::Lab::new`] calls it.
pub fn cleanup_stale(prefix: &str) -> Result<StaleReport> {
    names::check_prefix(prefix)?;
    let namespaces = list_namespaces()?;
    let mut labs = BTreeSet::new();
    for ns in &namespaces {
        if let Some(lab) = names::lab_of(prefix, ns) {
            labs.insert(lab.to_string());
        }
    }
    if let Ok(entries) = std::fs::read_dir(RUN_DIR) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if let Some(lab) = name.to_str().and_then(|n| names::lab_of(prefix, n)) {
                labs.insert(lab.to_string());
            }
        }
    }
    let mut report = StaleReport::default();
    for lab in labs {
        let marker = names::owner_path(&lab);
        let owner = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|t| Owner::parse(&t));
        if owner.is_some_and(|o| o.is_alive()) {
            continue;
        }
        // A marker is written in full before anything else of a lab exists, so a lab without
        // a readable marker is being torn down, or crashed: either way it is not in use.
        let mut problems = Vec::new();
        // Hosts first, the switch last.
        let mut mine: Vec<&String> = namespaces
            .iter()
            .filter(|ns| names::lab_of(prefix, ns) == Some(lab.as_str()))
            .collect();
        mine.sort_by_key(|ns| ns.ends_with("-sw"));
        for ns in mine {
            match remove_namespace(ns) {
                Ok(pids) => {
                    report.processes.extend(pids);
                    report.namespaces.push(ns.clone());
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        let dir = Path::new(RUN_DIR).join(&lab);
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            problems.push(format!("cannot remove {}: {e}", dir.display()));
        }
        if !problems.is_empty() {
            return Err(Error::io(
                format!("cannot remove stale lab {lab}"),
                std::io::Error::other(problems.join("; ")),
            ));
        }
        let _ = std::fs::remove_file(&marker);
        report.labs.push(lab);
    }
    Ok(report)
}

/// Deletes the namespaces named `<prefix><pid>-…` whose process `pid` is gone: what a test
/// process that names its namespaces that way left behind when it was killed before its
/// guards ran. Best effort; errors are ignored.
pub fn remove_orphan_namespaces(prefix: &str) {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = remove_namespace(&name);
        }
    }
}
