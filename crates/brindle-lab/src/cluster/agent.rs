//! The per-node agent, `brindle-node run`: its command line, and its BGP sessions as its
//! control socket (`<run dir>/node.sock`) reports them.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::state::DatastoreState;
use crate::error::{Error, Result};
use crate::wait::wait_for;

/// The agent binary's name.
pub const AGENT_BIN: &str = "brindle-node";

/// The agent's control socket inside its run dir.
pub const SOCKET: &str = "node.sock";

/// How long a control socket query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The arguments of `brindle-node` for one node.
pub fn args(
    node: &str,
    ip: IpAddr,
    state_dir: &Path,
    run_dir: &Path,
    datastore: &DatastoreState,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--nodename",
        node,
        "--ip",
        &ip.to_string(),
        "--state-dir",
        &state_dir.display().to_string(),
        "--run-dir",
        &run_dir.display().to_string(),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.extend(datastore.agent_args());
    args
}

/// One BGP session of an agent, as its control socket reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The peer's address.
    pub address: IpAddr,
    /// The FSM state (`Established`, `Active`...).
    pub state: String,
    /// Why it is not up, in words (or `Established`).
    pub info: String,
}

/// Asks the agent whose run dir is `run_dir` for its peers (`{"command":"peers"}` on
/// `node.sock`).
pub fn peers(run_dir: &Path) -> Result<Vec<Peer>> {
    let socket = run_dir.join(SOCKET);
    let fail = |e: std::io::Error| Error::io(format!("cannot query {}", socket.display()), e);
    let mut s = UnixStream::connect(&socket).map_err(fail)?;
    s.set_read_timeout(Some(QUERY_TIMEOUT)).map_err(fail)?;
    s.set_write_timeout(Some(QUERY_TIMEOUT)).map_err(fail)?;
    s.write_all(b"{\"command\":\"peers\"}\n").map_err(fail)?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).map_err(fail)?;
    parse_peers(&line).map_err(|detail| Error::parse(socket.display().to_string(), detail))
}

/// Parses the answer to `peers`: a JSON array of objects with `address`, `state`, `info`.
fn parse_peers(line: &str) -> std::result::Result<Vec<Peer>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {}", line.trim()))?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        return Err(err.to_string());
    }
    let list = v
        .as_array()
        .ok_or_else(|| format!("not a list of peers: {}", line.trim()))?;
    list.iter()
        .map(|p| {
            let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let address = text("address")
                .parse()
                .map_err(|_| format!("peer without an address: {p}"))?;
            Ok(Peer {
                address,
                state: text("state"),
                info: text("info"),
            })
        })
        .collect()
}

/// What [`wait_established`] watches on one node.
#[derive(Debug, Clone)]
pub struct MeshWatch {
    /// The node's name.
    pub node: String,
    /// Its agent's run dir.
    pub run_dir: PathBuf,
    /// The agent's log.
    pub log: PathBuf,
    /// The addresses it must have Established sessions with.
    pub expected: Vec<IpAddr>,
}

/// Waits until every node has an Established session with each of its expected peers. Fails at
/// once when `running` says an agent died (naming it, with its log tail), and at the deadline
/// with every session not up and why.
pub fn wait_established(
    nodes: &[MeshWatch],
    timeout: Duration,
    running: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let mut missing = String::new();
    let mut dead: Option<&MeshWatch> = None;
    let done = wait_for(timeout, || {
        missing.clear();
        for n in nodes {
            if !running(&n.node) {
                dead = Some(n);
                return Some(());
            }
            let peers = match peers(&n.run_dir) {
                Ok(p) => p,
                Err(e) => {
                    missing.push_str(&format!("\n  {}: {e}", n.node));
                    continue;
                }
            };
            for want in &n.expected {
                match peers.iter().find(|p| p.address == *want) {
                    Some(p) if p.state == crate::ESTABLISHED => {}
                    Some(p) => missing.push_str(&format!(
                        "\n  {} -> {want}: {} ({})",
                        n.node, p.state, p.info
                    )),
                    None => missing.push_str(&format!("\n  {} -> {want}: no session", n.node)),
                }
            }
        }
        missing.is_empty().then_some(())
    });
    if let Some(n) = dead {
        return Err(Error::Daemon {
            daemon: format!("the agent of {} ({AGENT_BIN})", n.node),
            message: "exited".into(),
            log_tail: crate::tail_file(&n.log, 20),
        });
    }
    match done {
        Some(()) => Ok(()),
        None => Err(Error::Timeout {
            what: format!("BGP sessions to be Established; not yet:{missing}"),
            timeout,
            log_tail: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_peers_answer() {
        let line = r#"[{"address":"10.0.0.3","port":179,"kind":"node-to-node mesh","remoteAs":64512,
            "state":"Established","since":1,"info":"Established"},
            {"address":"10.0.0.9","state":"Active","info":"TCP connection refused"}]"#;
        let peers = parse_peers(&line.replace('\n', " ")).unwrap_or_default();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0].state, "Established");
        assert_eq!(peers[1].info, "TCP connection refused");
        assert!(parse_peers(r#"{"error":"nope"}"#).is_err());
        assert!(parse_peers("garbage").is_err());
    }
}
