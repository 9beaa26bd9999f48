//! [`Lab`]: a set of network namespaces joined by a bridge, removed again on drop.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::names::{self, DEFAULT_PREFIX, MAX_NAME, Owner, RUN_DIR};
use crate::process::{self, ProcessTable, STOP_GRACE, run_ok};
use crate::stale;
use crate::wait::wait_until;

/// Set this environment variable to keep a lab's temp dir (configs and logs) after it is dropped.
pub const KEEP_ENV: &str = "BRINDLE_LAB_KEEP";

/// The bridge in the switch namespace that every host's veth is attached to.
pub(crate) const BRIDGE: &str = "br0";

/// A throw-away test network: a "switch" namespace holding a Linux bridge, and hosts (each a
/// namespace with an `eth0` attached to that bridge).
///
/// Nothing of a lab is created in the machine's own network namespace: the bridge lives in the
/// switch namespace and every veth pair is created there. Dropping the lab stops every process
/// it started, deletes its namespaces (and with them the veths) and removes its temp dir; this
/// also happens when a test panics. A lab left behind by a killed process is removed by the next
/// [`Lab::new`] (see [`crate::cleanup_stale`]).
#[derive(Debug)]
pub struct Lab {
    inner: Arc<LabInner>,
}

/// The state shared by a lab, its hosts and its processes.
#[derive(Debug)]
pub(crate) struct LabInner {
    pub(crate) name: String,
    pub(crate) id: u16,
    pub(crate) dir: PathBuf,
    pub(crate) switch_ns: String,
    pub(crate) processes: Arc<ProcessTable>,
    hosts: Mutex<Vec<HostSlot>>,
    next_port: AtomicU16,
    torn_down: AtomicBool,
    /// Made by [`Lab::persistent`]: named by the caller, no owner marker.
    persistent: bool,
}

#[derive(Debug, Clone)]
struct HostSlot {
    name: String,
    ns: String,
}

impl Lab {
    /// Creates a lab with the default name prefix ([`DEFAULT_PREFIX`]).
    pub fn new() -> Result<Lab> {
        Lab::with_prefix(DEFAULT_PREFIX)
    }

    /// Creates a lab whose names start with `prefix` (1 to 4 lowercase letters).
    ///
    /// Stale labs of the same prefix family (their owner process is gone) are removed first.
    pub fn with_prefix(prefix: &str) -> Result<Lab> {
        names::check_prefix(prefix)?;
        if let Ok(report) = stale::cleanup_stale(prefix)
            && !report.is_empty()
        {
            eprintln!("brindle-lab: removed stale labs: {report}");
        }
        ensure_run_dir()?;
        let owner = Owner::current().ok_or_else(|| {
            Error::io(
                "cannot read this process's start time",
                std::io::Error::other("/proc/self/stat"),
            )
        })?;
        let (name, id) = claim_name(prefix, &owner)?;
        let dir = Path::new(RUN_DIR).join(&name);
        let inner = Arc::new(LabInner {
            switch_ns: format!("{name}-sw"),
            name,
            id,
            dir,
            processes: Arc::new(ProcessTable::default()),
            hosts: Mutex::new(Vec::new()),
            next_port: AtomicU16::new(50051),
            torn_down: AtomicBool::new(false),
            persistent: false,
        });
        // From here on, dropping `lab` undoes whatever was created.
        let lab = Lab { inner };
        lab.create_switch()?;
        Ok(lab)
    }

    /// Creates a lab meant to outlive this process: named `name` exactly (namespaces
    /// `<name>-sw` and `<name>-<host>`), with its files in `dir`, and no owner marker, so no
    /// other lab's stale cleanup ever touches it.
    ///
    /// Until [`Lab::keep`] is called it is drop-guarded like any lab (a failed set-up leaves
    /// nothing behind). `name` is 1 to 12 lowercase letters or digits, starting with a letter,
    /// and not shaped like a throw-away lab's name (`<letters><4 hex digits>`). `dir` must not
    /// exist yet, or be empty; it is removed on teardown.
    pub fn persistent(name: &str, dir: &Path) -> Result<Lab> {
        names::check_persistent_name(name)?;
        if namespace_exists(&format!("{name}-sw")) {
            return Err(Error::invalid(
                "lab name",
                format!("{name:?}: namespace {name}-sw already exists"),
            ));
        }
        let id = names::persistent_id(name);
        let inner = Arc::new(LabInner {
            switch_ns: format!("{name}-sw"),
            name: name.to_string(),
            id,
            dir: dir.to_path_buf(),
            processes: Arc::new(ProcessTable::default()),
            hosts: Mutex::new(Vec::new()),
            next_port: AtomicU16::new(50051),
            torn_down: AtomicBool::new(false),
            persistent: true,
        });
        let lab = Lab { inner };
        lab.create_switch()?;
        Ok(lab)
    }

    /// Keeps the lab as it is when this handle goes away: its namespaces, its dir and its
    /// processes stay (they are released from the process table without being signalled, and
    /// re-parented to init when this process exits). Returns the released processes' pids.
    ///
    /// Handles of daemons started in the lab (a [`crate::Bird`]...) no longer stop them when
    /// dropped afterwards. Removing a kept lab is up to the caller (kill its processes,
    /// delete its namespaces and dir).
    pub fn keep(self) -> Vec<u32> {
        let pids = self.inner.processes.release_all();
        self.inner.torn_down.store(true, Ordering::SeqCst);
        pids
    }

    fn create_switch(&self) -> Result<()> {
        let dir = &self.inner.dir;
        let created = if self.inner.persistent {
            std::fs::create_dir_all(dir).and_then(|()| match std::fs::read_dir(dir)?.next() {
                None => Ok(()),
                Some(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "directory is not empty",
                )),
            })
        } else {
            std::fs::create_dir(dir)
        };
        created.map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        // Daemons that drop privileges (FRR runs as user frr) must be able to reach their files.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("cannot chmod {}", dir.display()), e))?;
        let sw = self.inner.switch_ns.as_str();
        run_ok("ip", &["netns", "add", sw])?;
        run_ok("ip", &["-n", sw, "link", "set", "lo", "up"])?;
        run_ok("ip", &["-n", sw, "link", "add", BRIDGE, "type", "bridge"])?;
        run_ok("ip", &["-n", sw, "link", "set", BRIDGE, "up"])?;
        Ok(())
    }

    /// Adds a host: a namespace `<lab>-<name>` whose `eth0` is attached to the lab's bridge, with
    /// `lo` and `eth0` up, the next IPv4 address of the lab's /24 and the IPv6 address with the
    /// same host number in the lab's /64 (usable at once: no duplicate address detection).
    ///
    /// `name` is 1 to 7 lowercase letters or digits (the namespace name must fit in 15 chars).
    pub fn add_host(&self, name: &str) -> Result<Host> {
        let inner = &self.inner;
        let max = MAX_NAME - inner.name.len() - 1;
        if name.is_empty()
            || name.len() > max
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            || name == "sw"
        {
            return Err(Error::invalid(
                "host name",
                format!("{name:?}: 1 to {max} lowercase letters or digits, not \"sw\""),
            ));
        }
        let ns = format!("{}-{name}", inner.name);
        let index = {
            let mut hosts = inner.lock_hosts();
            if hosts.iter().any(|h| h.name == name) {
                return Err(Error::invalid(
                    "host name",
                    format!("{name:?} already exists"),
                ));
            }
            if hosts.len() >= 240 {
                return Err(Error::invalid("host", "a lab holds at most 240 hosts"));
            }
            // Claim the slot before creating anything, so teardown removes whatever gets made.
            hosts.push(HostSlot {
                name: name.to_string(),
                ns: ns.clone(),
            });
            hosts.len() as u8 + 1
        };
        let host = Host::create(Arc::clone(inner), name, &ns, index)?;
        Ok(host)
    }

    /// The lab's name (`<prefix><4 hex digits>`), which starts every namespace name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The lab's temp dir (`/run/brindle-lab/<lab>`): daemon configs, sockets and logs.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The namespace holding the bridge.
    pub fn switch_ns(&self) -> &str {
        &self.inner.switch_ns
    }

    /// The lab's IPv4 subnet (a /24 inside 10.0.0.0/8, unique among live labs).
    pub fn ipv4_subnet(&self) -> (Ipv4Addr, u8) {
        (
            names::ipv4_subnet(self.inner.id),
            crate::host::IPV4_PREFIX_LEN,
        )
    }

    /// The lab's IPv6 subnet (a ULA /64, unique among live labs).
    pub fn ipv6_subnet(&self) -> (Ipv6Addr, u8) {
        (
            names::ipv6_subnet(self.inner.id),
            crate::host::IPV6_PREFIX_LEN,
        )
    }

    /// Every namespace of the lab: the hosts' and then the switch's.
    pub fn namespaces(&self) -> Vec<String> {
        self.inner.namespaces()
    }

    /// The pids of the long-running processes the lab started and that are still running.
    pub fn process_ids(&self) -> Vec<u32> {
        self.inner.processes.pids()
    }

    /// Tears the lab down now (what drop does), for callers that want to see it happen.
    pub fn teardown(self) {
        drop(self);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.inner.teardown();
    }
}

impl LabInner {
    fn lock_hosts(&self) -> MutexGuard<'_, Vec<HostSlot>> {
        self.hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut all: Vec<String> = self.lock_hosts().iter().map(|h| h.ns.clone()).collect();
        all.push(self.switch_ns.clone());
        all
    }

    /// A TCP port number not yet handed out in this lab (for daemons' API ports).
    pub(crate) fn alloc_port(&self) -> u16 {
        self.next_port.fetch_add(1, Ordering::Relaxed)
    }

    /// Stops every process, deletes every namespace, removes the temp dir and the owner marker.
    /// Never panics; problems are reported on stderr.
    fn teardown(&self) {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        self.processes.stop_all(STOP_GRACE);
        let namespaces = self.namespaces();
        let mut problems = Vec::new();
        for ns in &namespaces {
            if let Err(e) = remove_namespace(ns) {
                problems.push(e.to_string());
            }
        }
        if std::env::var_os(KEEP_ENV).is_some() {
            eprintln!(
                "brindle-lab: {KEEP_ENV} is set: keeping {}",
                self.dir.display()
            );
        } else if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            problems.push(format!("cannot remove {}: {e}", self.dir.display()));
        }
        if self.persistent {
            if !problems.is_empty() {
                eprintln!(
                    "brindle-lab: lab {} not fully removed: {}",
                    self.name,
                    problems.join("; ")
                );
            }
        } else if problems.is_empty() {
            let _ = std::fs::remove_file(names::owner_path(&self.name));
        } else {
            // Keep the marker: the owner is gone once this process exits, and the next lab's
            // stale cleanup retries.
            eprintln!(
                "brindle-lab: lab {} not fully removed: {}",
                self.name,
                problems.join("; ")
            );
        }
    }
}

/// Kills whatever still runs in `ns` and deletes it (a missing namespace is fine).
pub(crate) fn remove_namespace(ns: &str) -> Result<Vec<u32>> {
    let killed = kill_namespace_processes(ns);
    match run_ok("ip", &["netns", "del", ns]) {
        Ok(_) => Ok(killed),
        Err(_) if !namespace_exists(ns) => Ok(killed),
        Err(e) => Err(e),
    }
}

/// SIGKILLs every process in `ns` and waits (bounded) until they are gone; returns their pids.
pub(crate) fn kill_namespace_processes(ns: &str) -> Vec<u32> {
    let Ok(out) = run_ok("ip", &["netns", "pids", ns]) else {
        return Vec::new();
    };
    let pids: Vec<u32> = out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for &pid in &pids {
        process::signal_pid(pid, "KILL");
    }
    // Our own children are reaped by the process table; others by their parent (or init).
    wait_until(STOP_GRACE, || pids.iter().all(|&p| process::is_gone(p)));
    pids
}

/// Whether a named network namespace exists.
pub(crate) fn namespace_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

fn ensure_run_dir() -> Result<()> {
    std::fs::create_dir_all(RUN_DIR)
        .map_err(|e| Error::io(format!("cannot create {RUN_DIR}"), e))?;
    std::fs::set_permissions(RUN_DIR, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(format!("cannot chmod {RUN_DIR}"), e))
}

/// Picks a free lab name and claims it by atomically creating its owner marker (a hard link of
/// a fully written temp file, so no one ever sees a half-written marker).
fn claim_name(prefix: &str, owner: &Owner) -> Result<(String, u16)> {
    let tmp = Path::new(RUN_DIR).join(format!(
        ".claim-{}-{:04x}",
        std::process::id(),
        names::random_id()
    ));
    std::fs::write(&tmp, owner.render())
        .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    let mut result = Err(Error::invalid("lab name", "no free name after 64 tries"));
    for _ in 0..64 {
        let id = names::random_id();
        let name = format!("{prefix}{id:04x}");
        // Names still used by a namespace (of a lab being cleaned up) are skipped too.
        if namespace_exists(&format!("{name}-sw")) {
            continue;
        }
        match std::fs::hard_link(&tmp, names::owner_path(&name)) {
            Ok(()) => {
                result = Ok((name, id));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                result = Err(Error::io(
                    format!("cannot create {}", names::owner_path(&name).display()),
                    e,
                ));
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    result
}
