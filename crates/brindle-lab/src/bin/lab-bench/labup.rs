//! (b) `brindle-lab up --nodes 3 --pods-per-node 2`, then `brindle-lab check` until it passes,
//! then `brindle-lab down` (also when something fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use brindle_lab::wait_for;

use crate::one_line;

/// What (b) found.
pub enum LabUp {
    /// There is no `brindle-lab` program to measure.
    Missing(PathBuf),
    /// Up or the checks failed (one line).
    Failed(String),
    /// Timings.
    Done {
        /// `up` alone.
        up: Duration,
        /// From the start of `up` until a `check` passed.
        ready: Duration,
        /// How many checks ran.
        checks: usize,
        /// `down`.
        down: Duration,
    },
}

/// Runs `down` when dropped, so the lab goes whatever happens.
struct Down<'a> {
    bin: &'a Path,
    name: &'a str,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = exec(
            self.bin,
            &["down", "--name", self.name],
            Duration::from_secs(60),
        );
    }
}

/// Runs (b) with the `brindle-lab` at `bin`, lab `name`, everything within `timeout`.
pub fn run(bin: &Path, name: &str, timeout: Duration) -> LabUp {
    if !bin.is_file() {
        return LabUp::Missing(bin.to_path_buf());
    }
    let guard = Down { bin, name };
    let start = Instant::now();
    let up = ["up", "--name", name, "--nodes", "3", "--pods-per-node", "2"];
    match exec(bin, &up, timeout) {
        Ok(o) if o.status.success() => {}
        Ok(o) => return LabUp::Failed(format!("brindle-lab up: {}", failure(&o))),
        Err(e) => return LabUp::Failed(format!("brindle-lab up: {e}")),
    }
    let up_took = start.elapsed();
    let mut checks = 0;
    let mut last = String::new();
    let left = timeout.saturating_sub(up_took);
    let passed = wait_for(left, || {
        checks += 1;
        match exec(bin, &["check", "--name", name], left) {
            Ok(o) if o.status.success() => Some(start.elapsed()),
            Ok(o) => {
                last = failure(&o);
                None
            }
            Err(e) => {
                last = e;
                None
            }
        }
    });
    let Some(ready) = passed else {
        return LabUp::Failed(format!(
            "brindle-lab check did not pass within {} s: {last}",
            timeout.as_secs()
        ));
    };
    let down_started = Instant::now();
    drop(guard);
    LabUp::Done {
        up: up_took,
        ready,
        checks,
        down: down_started.elapsed(),
    }
}

/// The first line of what a failed command said.
fn failure(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let text = if err.trim().is_empty() {
        String::from_utf8_lossy(&o.stdout).into_owned()
    } else {
        err.into_owned()
    };
    format!("{} ({})", one_line(text.trim()), o.status)
}

/// Runs `bin args…` with its output captured; killed after `timeout`.
fn exec(bin: &Path, args: &[&str], timeout: Duration) -> Result<Output, String> {
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(r) => r.map_err(|e| format!("{}: {e}", bin.display())),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            Err(format!("killed after {} s", timeout.as_secs()))
        }
    }
}
