//! `exec NODE -- CMD…`: a command inside a node's namespace, in the node environment (see
//! [`super::tools::node_env`]), with the terminal's stdin/stdout/stderr.

use std::os::unix::process::ExitStatusExt;

use super::state::LabState;
use super::tools::{node_command, node_env};
use crate::error::{Error, Result};

/// Runs `argv` on `node` (or on the router, named `router`) and returns its exit code (128 +
/// the signal number when a signal ended it).
pub fn exec(state: &LabState, node: &str, argv: &[String]) -> Result<i32> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::invalid(
            "exec",
            "no command given (exec NODE -- CMD...)",
        ));
    };
    let (ns, run_dir) = match (node, &state.router) {
        ("router", Some(r)) => (r.ns.clone(), state.dir.join("router")),
        _ => {
            let n = state.node(node)?;
            (n.ns.clone(), n.run_dir.clone())
        }
    };
    let env = node_env(&state.datastore, &state.bin_dir, &run_dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = node_command(&ns, &env, program, &args)
        .status()
        .map_err(|e| Error::io(format!("cannot run {program} in {ns}"), e))?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}
