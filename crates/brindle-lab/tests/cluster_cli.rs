//! The `brindle-lab` binary end to end: `up` a small cluster, `status`, `exec`, `pod add|del`,
//! `check`, `down` (twice); `down` without a state file; a failing `up` leaves nothing behind.
//!
//! Needs root. The full-cluster test also needs `brindle-node` (with its `run` agent),
//! `brindle` and `brindlectl` next to `brindle-lab` (`cargo build -p brindle-node -p
//! brindle-cni -p brindlectl --bins`) or in `BRINDLE_BIN_DIR`; without them it says so and
//! passes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::time::Duration;

use brindle_lab::{is_root, list_namespaces, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_brindle-lab");

/// Tests need root for network namespaces; without it they say so and pass.
macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
    };
}

/// A lab name of this process (`<2-letter tag><5 digits>x`: 8 characters, never shaped like a
/// throw-away lab's).
fn lab_name(tag: &str) -> String {
    assert_eq!(tag.len(), 2, "tags are 2 letters");
    format!("{tag}{:05}x", std::process::id() % 100_000)
}

/// One lab driven through the binary; `down` on drop, so a failing test leaves nothing.
struct LabCli {
    name: String,
    dir: PathBuf,
    bin_dir: Option<PathBuf>,
    _tmp: tempfile::TempDir,
}

impl LabCli {
    fn new(tag: &str, bin_dir: Option<PathBuf>) -> LabCli {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        LabCli {
            name: lab_name(tag),
            dir: tmp.path().join("lab"),
            bin_dir,
            _tmp: tmp,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("BRINDLE_LAB_NAME")
            .env_remove("BRINDLE_LAB_DIR")
            .arg("--name")
            .arg(&self.name)
            .arg("--dir")
            .arg(&self.dir);
        if let Some(b) = &self.bin_dir {
            cmd.arg("--bin-dir").arg(b);
        }
        cmd.args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "brindle-lab {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn namespaces(&self) -> Vec<String> {
        let prefix = format!("{}-", self.name);
        list_namespaces()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }
}

impl Drop for LabCli {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
    }
}

/// Why the real binaries cannot run a cluster here, if they cannot.
fn missing_binaries(bin_dir: &Path) -> Option<String> {
    for b in ["brindle-node", "brindle", "brindlectl"] {
        if !bin_dir.join(b).is_file() {
            return Some(format!(
                "{} missing (cargo build -p brindle-node -p brindle-cni -p brindlectl --bins)",
                bin_dir.join(b).display()
            ));
        }
    }
    let agent = Command::new(bin_dir.join("brindle-node"))
        .args(["run", "--help"])
        .output();
    if !agent.is_ok_and(|o| o.status.success()) {
        return Some("brindle-node has no `run` agent yet".into());
    }
    None
}

fn default_bin_dir() -> PathBuf {
    std::env::var_os("BRINDLE_BIN_DIR")
        .map(PathBuf::from)
        .or_else(|| Path::new(BIN).parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

#[test]
fn up_status_exec_pods_check_and_down_twice() {
    require_root!();
    let bin_dir = default_bin_dir();
    if let Some(why) = missing_binaries(&bin_dir) {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = LabCli::new("cl", Some(bin_dir));
    let up = lab.ok(&["up", "--nodes", "2", "--pods-per-node", "1"]);
    assert!(up.contains(&format!("lab {} is up", lab.name)), "{up}");
    assert!(lab.dir.join("state.json").is_file());
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.dir.join("state.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("state.json: {e}"));
    let agents: Vec<u64> = state["nodes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|n| n["agent"]["pid"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(agents.len(), 2, "{state}");

    let status = lab.ok(&["status"]);
    for want in ["node1", "node2", "pod1=192.168.", "Established"] {
        assert!(status.contains(want), "status lacks {want:?}:\n{status}");
    }
    let routes = lab.ok(&["exec", "node1", "--", "ip", "route"]);
    assert!(routes.contains("default via"), "{routes}");
    let code = lab.run(&["exec", "node1", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code.status.code(), Some(3), "exit code passed through");
    let ctl = lab.ok(&["exec", "node2", "--", "brindlectl", "get", "nodes"]);
    assert!(ctl.contains("node1") && ctl.contains("node2"), "{ctl}");

    let added = lab.ok(&["pod", "add", "node2", "extra"]);
    assert!(added.contains("192.168."), "{added}");
    assert!(
        lab.namespaces()
            .contains(&format!("{}-node2-extra", lab.name))
    );
    // Needs the agents' routes: every pod reaches every other pod.
    let check = lab.run(&["check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "check failed:\n{text}");
    assert!(text.contains("6/6 pod pairs ok"), "{text}");
    lab.ok(&["pod", "del", "node2", "extra"]);
    assert!(
        !lab.namespaces()
            .contains(&format!("{}-node2-extra", lab.name))
    );

    let down = lab.ok(&["down"]);
    assert!(down.contains("deleted"), "{down}");
    let again = lab.ok(&["down"]);
    assert!(again.contains("nothing to remove"), "{again}");
    assert_eq!(lab.namespaces(), Vec::<String>::new());
    assert!(!lab.dir.exists(), "lab dir left behind");
    for pid in agents {
        // Gone, or a zombie until init reaps it (`up` that started it has exited).
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        };
        assert!(
            wait_until(Duration::from_secs(5), gone),
            "agent {pid} still running"
        );
    }
}

/// Namespaces made by hand, deleted (with whatever runs in them) on drop.
struct HandMade(Vec<String>);

impl Drop for HandMade {
    fn drop(&mut self) {
        for ns in &self.0 {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).output();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

#[test]
fn down_without_a_state_file_removes_the_lab_by_name() {
    require_root!();
    let lab = LabCli::new("or", None);
    let other = format!("{}9-node1", lab.name); // another lab's name: must stay
    let ours = ["sw", "node1", "node1-pod1", "router"].map(|s| format!("{}-{s}", lab.name));
    let made = HandMade(ours.iter().chain([&other]).cloned().collect());
    for ns in &made.0 {
        let out = Command::new("ip").args(["netns", "add", ns]).output();
        assert!(out.is_ok_and(|o| o.status.success()), "ip netns add {ns}");
    }
    let sleeper = Command::new("ip")
        .args(["netns", "exec", &ours[1], "sleep", "600"])
        .spawn();
    let mut sleeper = sleeper.unwrap_or_else(|e| panic!("sleep: {e}"));
    let down = lab.run(&["down"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let text = String::from_utf8_lossy(&down.stdout);
    assert!(down.status.success(), "down failed: {text}");
    assert!(text.contains("deleted 4 namespaces"), "{text}");
    assert_eq!(lab.namespaces(), Vec::<String>::new());
    assert!(
        list_namespaces().unwrap_or_default().contains(&other),
        "another lab's namespace was removed"
    );
    assert!(lab.ok(&["down"]).contains("nothing to remove"));
}

#[test]
fn a_failing_up_leaves_nothing_behind() {
    require_root!();
    let real = default_bin_dir();
    if !real.join("brindle").is_file() || !real.join("brindlectl").is_file() {
        eprintln!(
            "skipped: brindle and brindlectl not built in {}",
            real.display()
        );
        return;
    }
    // An agent that fails at once, with real CNI plugin and CLI.
    let bins = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    for b in ["brindle", "brindlectl"] {
        std::os::unix::fs::symlink(real.join(b), bins.path().join(b))
            .unwrap_or_else(|e| panic!("symlink {b}: {e}"));
    }
    let agent = bins.path().join("brindle-node");
    std::fs::write(
        &agent,
        "#!/bin/sh\necho 'agent failed on purpose' >&2\nexit 1\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", agent.display()));
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod: {e}"));

    let lab = LabCli::new("fa", Some(bins.path().to_path_buf()));
    let out = lab.run(&["up", "--nodes", "2", "--external-router", "bird"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("agent failed on purpose"), "{err}");
    assert_eq!(lab.namespaces(), Vec::<String>::new());
    assert!(!lab.dir.exists(), "lab dir left behind");
    let down = lab.ok(&["down"]);
    assert!(down.contains("nothing to remove"), "{down}");
}
