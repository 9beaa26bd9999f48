//! Running commands with deadlines, and the table of long-running processes a lab owns.
//!
//! Every process is started in a process group of its own, so stopping it also stops whatever it
//! forked. The table keeps each [`Child`] until it has been reaped, which keeps its pid (and so its
//! process group id) from being reused while we may still signal it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::wait::wait_until;

/// How long a one-shot command (ip, birdc, vtysh, gobgp, ping) may run before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a stopped daemon gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// Renders a command line for messages, quoting arguments that need it.
pub(crate) fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
            {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `program args` to completion, killing it (and its process group) after `timeout`.
///
/// A non-zero exit is not an error here; see [`check`].
pub(crate) fn run(program: &str, args: &[&str], timeout: Duration) -> Result<Output> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(&mut cmd, &command_line(program, args), None, timeout)
}

/// Runs a prepared command to completion with `input` (if any) on its stdin, killing it (and
/// its process group) after `timeout`; `line` describes it in messages. Environment and
/// working directory are whatever the caller set on `cmd`.
///
/// A non-zero exit is not an error here; see [`check`].
pub(crate) fn run_command(
    cmd: &mut Command,
    line: &str,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output> {
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io(format!("cannot start `{line}`"), e))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    if let (Some(input), Some(mut pipe)) = (input, child.stdin.take()) {
        // A child that exits without reading its stdin is not our error: its status says.
        let _ = std::io::Write::write_all(&mut pipe, input);
    }
    let mut status = None;
    wait_until(timeout, || match child.try_wait() {
        Ok(Some(s)) => {
            status = Some(s);
            true
        }
        Ok(None) => false,
        Err(_) => true,
    });
    let Some(status) = status else {
        signal_group(child.id(), "KILL");
        let _ = child.kill();
        let _ = child.wait();
        let stderr = err.join().unwrap_or_default();
        return Err(Error::Command {
            command: line.to_string(),
            status: format!("killed after {timeout:?}"),
            stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        });
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Reaps a child whose exit was not observed; an unknown status when even that fails.
fn wait_or_unknown(child: &mut Child) -> ExitStatus {
    child
        .wait()
        .unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(-1))
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Turns an unsuccessful [`Output`] into [`Error::Command`]; returns stdout as text otherwise.
pub(crate) fn check(program: &str, args: &[&str], output: Output) -> Result<String> {
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    }
    Err(Error::Command {
        command: command_line(program, args),
        status: output.status.to_string(),
        stderr: text,
    })
}

/// Runs a command and returns its stdout, or an error carrying its stderr.
pub(crate) fn run_ok(program: &str, args: &[&str]) -> Result<String> {
    let output = run(program, args, COMMAND_TIMEOUT)?;
    check(program, args, output)
}

/// Sends `signal` (a name such as "TERM") to the process group `pgid`; errors are ignored (the
/// group may be gone already).
pub(crate) fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends `signal` to one process; errors are ignored.
pub(crate) fn signal_pid(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether a process is gone: no such pid, or only a zombie waiting to be reaped.
pub(crate) fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// The long-running processes of one lab, each the leader of its own process group.
#[derive(Debug, Default)]
pub(crate) struct ProcessTable {
    children: Mutex<BTreeMap<u32, Child>>,
}

impl ProcessTable {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u32, Child>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts `program args` with stdout and stderr appended to `log`; returns its pid.
    pub(crate) fn spawn(&self, program: &str, args: &[&str], log: &Path) -> Result<u32> {
        let line = command_line(program, args);
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("cannot open log {}", log.display()), e))?;
        let file2 = file
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open log {}", log.display()), e))?;
        let mut children = self.lock();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io(format!("cannot start `{line}`"), e))?;
        let pid = child.id();
        children.insert(pid, child);
        Ok(pid)
    }

    /// Whether the process is still running; reaps it (and kills what is left of its group)
    /// once it has exited.
    pub(crate) fn is_running(&self, pid: u32) -> bool {
        let mut children = self.lock();
        let Some(child) = children.get_mut(&pid) else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            _ => {
                signal_group(pid, "KILL");
                children.remove(&pid);
                false
            }
        }
    }

    /// Stops one process group: SIGTERM, up to `grace` to exit, then SIGKILL. Returns the
    /// leader's exit status when it was still ours to reap.
    pub(crate) fn stop(&self, pid: u32, grace: Duration) -> Option<ExitStatus> {
        let mut children = self.lock();
        let mut child = children.remove(&pid)?;
        drop(children);
        Some(stop_child(&mut child, grace))
    }

    /// Kills one process group at once: SIGKILL and nothing before it (no SIGTERM the process
    /// could act on, as a crash). Returns the leader's exit status when it was still ours to
    /// reap.
    pub(crate) fn kill(&self, pid: u32) -> Option<ExitStatus> {
        let mut children = self.lock();
        let mut child = children.remove(&pid)?;
        drop(children);
        signal_group(pid, "KILL");
        let _ = child.kill();
        Some(wait_or_unknown(&mut child))
    }

    /// Stops every process still in the table.
    pub(crate) fn stop_all(&self, grace: Duration) {
        let mut all: Vec<Child> = std::mem::take(&mut *self.lock()).into_values().collect();
        for child in &all {
            signal_group(child.id(), "TERM");
        }
        let deadline = Instant::now() + grace;
        for child in &mut all {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = wait_until(left, || !matches!(child.try_wait(), Ok(None)));
            signal_group(child.id(), "KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Empties the table without signalling anyone: the processes run on, outside the
    /// table's care (see [`crate::Lab::keep`]). Returns their pids.
    pub(crate) fn release_all(&self) -> Vec<u32> {
        // Dropping a `Child` neither kills nor waits for it.
        std::mem::take(&mut *self.lock()).into_keys().collect()
    }

    /// The pids of the processes still in the table.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.lock().keys().copied().collect()
    }
}

fn stop_child(child: &mut Child, grace: Duration) -> ExitStatus {
    let pid = child.id();
    if let Ok(Some(status)) = child.try_wait() {
        signal_group(pid, "KILL");
        return status;
    }
    signal_group(pid, "TERM");
    let mut status = None;
    wait_until(grace, || match child.try_wait() {
        Ok(Some(s)) => {
            status = Some(s);
            true
        }
        Ok(None) => false,
        Err(_) => true,
    });
    // Whatever the leader did, nothing of its group may outlive it.
    signal_group(pid, "KILL");
    match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            wait_or_unknown(child)
        }
    }
}

/// A long-running process started in a lab host; stopped (with its process group) on drop.
#[derive(Debug)]
pub struct LabProcess {
    table: Arc<ProcessTable>,
    pid: u32,
    description: String,
    log: PathBuf,
}

impl LabProcess {
    pub(crate) fn new(
        table: Arc<ProcessTable>,
        pid: u32,
        description: String,
        log: PathBuf,
    ) -> Self {
        LabProcess {
            table,
            pid,
            description,
            log,
        }
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The command line it was started with.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file its stdout and stderr go to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of its stdout/stderr log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail_file(&self.log, lines)
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.table.is_running(self.pid)
    }

    /// Stops it: SIGTERM to its process group, then SIGKILL after a grace period. Returns its
    /// exit status if it had not been reaped yet.
    pub fn stop(&self) -> Option<ExitStatus> {
        self.table.stop(self.pid, STOP_GRACE)
    }

    /// Kills it at once (SIGKILL to its process group, no SIGTERM first), as a crash would:
    /// it gets no chance to say goodbye (a BGP daemon sends no NOTIFICATION).
    pub fn kill(&self) -> Option<ExitStatus> {
        self.table.kill(self.pid)
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        self.table.stop(self.pid, STOP_GRACE);
    }
}

/// The last `lines` lines of a text file ("" when it cannot be read).
pub fn tail_file(path: &Path, lines: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_what_needs_it() {
        assert_eq!(
            command_line("ip", &["netns", "exec", "a b", "it's"]),
            r"ip netns exec 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn run_reports_failure_with_stderr() {
        let out = run("sh", &["-c", "echo oops >&2; exit 3"], COMMAND_TIMEOUT);
        let Ok(out) = out else {
            panic!("sh did not run")
        };
        let err = check("sh", &["-c", "x"], out).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.contains("oops") && err.contains("exit status: 3"),
            "{err}"
        );
    }

    #[test]
    fn run_kills_at_the_deadline() {
        let start = Instant::now();
        let res = run("sh", &["-c", "sleep 30"], Duration::from_millis(200));
        assert!(matches!(res, Err(Error::Command { .. })), "{res:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn table_stops_a_process_group() {
        let dir = std::env::temp_dir().join(format!("brindle-lab-unit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let table = ProcessTable::default();
        let log = dir.join("log");
        let pid = table.spawn("sh", &["-c", "sleep 30 & sleep 30"], &log);
        let Ok(pid) = pid else { panic!("{pid:?}") };
        assert!(table.is_running(pid));
        assert!(table.stop(pid, Duration::from_secs(2)).is_some());
        assert!(!table.is_running(pid));
        assert!(table.pids().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn kill_sends_no_sigterm_first() {
        let dir = std::env::temp_dir().join(format!("brindle-lab-kill-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let table = ProcessTable::default();
        let log = dir.join("log");
        // The trap prints "term" on SIGTERM (`wait` lets it run at once).
        let script = "trap 'echo term' TERM; echo ready; while :; do sleep 1 & wait $!; done";
        let pid = table.spawn("sh", &["-c", script], &log);
        let Ok(pid) = pid else { panic!("{pid:?}") };
        assert!(wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("ready"))
        }));
        let status = table.kill(pid);
        assert!(status.is_some_and(|s| !s.success()), "{status:?}");
        assert!(!table.is_running(pid));
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!out.contains("term"), "{out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
