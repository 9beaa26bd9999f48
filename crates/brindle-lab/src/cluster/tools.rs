//! Running brindle's own tools inside a node's namespace, set up the way a node's shell would
//! be: the lab's binaries first on `PATH`, the datastore in `DATASTORE_*` / `ETCD_ENDPOINTS`,
//! the agent's run dir in `BRINDLE_RUN_DIR`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use super::state::{DatastoreState, LabState, NodeState};
use crate::error::Result;
use crate::process::{COMMAND_TIMEOUT, check, command_line, run_command};

/// brindlectl's binary name.
pub const CTL_BIN: &str = "brindlectl";

/// The environment of commands run on a node.
pub fn node_env(
    datastore: &DatastoreState,
    bin_dir: &Path,
    run_dir: &Path,
) -> Vec<(String, OsString)> {
    let mut path = OsString::from(bin_dir);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()));
    let mut env: Vec<(String, OsString)> = vec![
        ("PATH".into(), path),
        ("BRINDLE_RUN_DIR".into(), run_dir.into()),
    ];
    env.extend(
        datastore
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into())),
    );
    env
}

/// A command running `program args` inside `ns` with the node environment.
pub fn node_command(ns: &str, env: &[(String, OsString)], program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `brindlectl args` on a node (namespace `ns`, run dir `run_dir`) with `input` on stdin;
/// its stdout, or an error with its message.
pub fn brindlectl(
    datastore: &DatastoreState,
    bin_dir: &Path,
    ns: &str,
    run_dir: &Path,
    args: &[&str],
    input: Option<&str>,
) -> Result<String> {
    let env = node_env(datastore, bin_dir, run_dir);
    let ctl = bin_dir.join(CTL_BIN).display().to_string();
    let mut cmd = node_command(ns, &env, &ctl, args);
    let mut full = vec![CTL_BIN];
    full.extend_from_slice(args);
    let line = command_line("ip", &[&["netns", "exec", ns], full.as_slice()].concat());
    let out = run_command(&mut cmd, &line, input.map(str::as_bytes), COMMAND_TIMEOUT)?;
    check(CTL_BIN, args, out)
}

/// Runs `brindlectl args` on `node` of a lab.
pub fn node_brindlectl(state: &LabState, node: &NodeState, args: &[&str]) -> Result<String> {
    brindlectl(
        &state.datastore,
        &state.bin_dir,
        &node.ns,
        &node.run_dir,
        args,
        None,
    )
}
