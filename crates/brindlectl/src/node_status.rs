//! `brindlectl node status [--detail]`: asks the agent on this host (its control socket,
//! `<run-dir>/node.sock`) for its BGP peers and prints them as `calicoctl node status` does,
//! one table per address family; `--detail` adds, for every session that is not
//! Established, what keeps it down and what to check (see [`crate::diagnose`]).
//!
//! Columns: PEER ADDRESS, PEER TYPE (`node-to-node mesh`, `global`, `node specific`), STATE,
//! SINCE (local `HH:MM:SS` when the state changed today, else the date), INFO (`Established`,
//! or the FSM state and a short reason). STATE uses BIRD's protocol words, as calicoctl
//! shows them:
//!
//! | STATE | FSM state, INFO |
//! |---|---|
//! | `up` | Established |
//! | `start` | Idle, waiting before the next attempt after an error |
//! | `down` | Idle, stopped by configuration or not started |
//! | `connect` | Connect: our TCP connection is being opened |
//! | `active` | Active: waiting to connect again (the peer may connect to us meanwhile) |
//! | `passive` | Active, and we only wait for the peer to connect |
//! | `opensent`, `openconfirm` | the BGP handshake is under way |

use std::io::ErrorKind;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use brindle_bgp::speaker::PeerStatus;

use crate::bgp::{AskError, ask};
use crate::cli::NodeCommand;
use crate::commands::Failure;
use crate::diagnose::{Cause, diagnose};
use crate::localtime::Zone;
use crate::table::render_boxed;

/// The control socket's name in the agent's run directory.
pub const SOCKET_NAME: &str = "node.sock";

/// Paragraphs of `--detail` are wrapped at this width.
const WIDTH: usize = 100;

/// Runs `node …`.
pub fn run(what: &NodeCommand) -> Result<String, Failure> {
    let NodeCommand::Status {
        detail,
        run_dir,
        socket,
    } = what;
    let socket = socket.clone().unwrap_or_else(|| run_dir.join(SOCKET_NAME));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    status(&socket, *detail, now, &Zone::local())
}

/// Asks the agent at `socket` and renders its answer.
fn status(socket: &Path, detail: bool, now: u64, zone: &Zone) -> Result<String, Failure> {
    let peers: Vec<PeerStatus> =
        ask(socket, &serde_json::json!({"command": "peers"})).map_err(|e| failure(socket, e))?;
    Ok(render(&peers, detail, now, zone))
}

/// "Not running" when nothing accepts the connection, with a hint naming the socket.
fn failure(socket: &Path, e: AskError) -> Failure {
    let at = socket.display();
    match e {
        AskError::Connect(e) if e.kind() == ErrorKind::PermissionDenied => Failure::from(format!(
            "cannot ask brindle-node at {at}: permission denied (the socket is root's: run \
             brindlectl as root)"
        )),
        AskError::Connect(e) => {
            let why = match e.kind() {
                ErrorKind::NotFound => "no such socket".to_string(),
                ErrorKind::ConnectionRefused => "connection refused: a stale socket".to_string(),
                _ => e.to_string(),
            };
            Failure {
                stdout: "brindle-node is not running.\n".into(),
                message: format!(
                    "nothing answers at {at} ({why}); if brindle-node runs with another run \
                     directory, pass --run-dir DIR (or set BRINDLE_RUN_DIR), or --socket PATH"
                ),
            }
        }
        AskError::Io(e) => Failure::from(format!("brindle-node did not answer at {at}: {e}")),
        AskError::Answer(e) => Failure::from(format!("brindle-node at {at}: {e}")),
    }
}

/// The whole output for `peers`, at `now` (Unix seconds), times shown in `zone`.
pub fn render(peers: &[PeerStatus], detail: bool, now: u64, zone: &Zone) -> String {
    let mut out = String::from("brindle-node is running.\n");
    for (family, v4) in [("IPv4", true), ("IPv6", false)] {
        if !v4 {
            out.push('\n');
        }
        out.push_str(&format!("{family} BGP status\n"));
        let rows: Vec<Vec<String>> = peers
            .iter()
            .filter(|p| p.address.is_ipv4() == v4)
            .map(|p| row(p, now, zone))
            .collect();
        if rows.is_empty() {
            out.push_str(&format!("No {family} peers found.\n"));
        } else {
            let header = ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"];
            out.push_str(&render_boxed(&header, &rows));
        }
    }
    if detail {
        out.push_str(&details(peers, now, zone));
    }
    out
}

fn row(p: &PeerStatus, now: u64, zone: &Zone) -> Vec<String> {
    let d = diagnose(p);
    let info = match (&d.cause, d.short.is_empty()) {
        (Cause::Established, _) => "Established".to_string(),
        (_, true) => p.state.clone(),
        (_, false) => format!("{}: {}", p.state, d.short),
    };
    vec![
        p.address.to_string(),
        p.kind.clone(),
        state_word(p, &d.cause).into(),
        since(p.since, now, zone),
        info,
    ]
}

/// The STATE column (see the module's table).
pub fn state_word(p: &PeerStatus, cause: &Cause) -> &'static str {
    match p.state.as_str() {
        "Established" => "up",
        "Idle" if p.info.is_empty() || p.info == "idle" || p.info.starts_with("stopped") => "down",
        "Idle" => "start",
        "Connect" => "connect",
        "Active" if *cause == Cause::PassiveWaiting => "passive",
        "Active" => "active",
        "OpenSent" => "opensent",
        "OpenConfirm" => "openconfirm",
        _ => "unknown",
    }
}

/// `HH:MM:SS` when `secs` is on today's local date, else `YYYY-MM-DD`; empty when unknown.
pub fn since(secs: u64, now: u64, zone: &Zone) -> String {
    if secs == 0 {
        return String::new();
    }
    let (then, today) = (zone.local_secs(secs), zone.local_secs(now));
    let stamp = brindle_client::format_rfc3339(then);
    let part = if then / 86_400 == today / 86_400 {
        stamp.get(11..19)
    } else {
        stamp.get(..10)
    };
    part.unwrap_or_default().to_string()
}

/// `--detail`: a paragraph per session that is not Established.
fn details(peers: &[PeerStatus], now: u64, zone: &Zone) -> String {
    let mut out = String::new();
    let down: Vec<&PeerStatus> = peers.iter().filter(|p| p.state != "Established").collect();
    if down.is_empty() {
        if !peers.is_empty() {
            out.push_str("\nEvery BGP session is Established.\n");
        }
        return out;
    }
    out.push_str("\nWhy sessions are not Established:\n");
    for p in down {
        let d = diagnose(p);
        let kind = if p.kind.is_empty() { "peer" } else { &p.kind };
        let when = since(p.since, now, zone);
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" since {when}")
        };
        out.push_str(&format!(
            "\n{} ({kind}, AS {}): {}{when}\n",
            p.address, p.remote_as, p.state
        ));
        if !p.info.is_empty() && d.cause != Cause::Other {
            out.push_str(&wrap(&format!("INFO: {}", p.info), "  ", WIDTH));
        }
        out.push_str(&wrap(&d.advice, "  ", WIDTH));
    }
    out
}

/// `text` as lines of at most `width` columns (longer words stay whole), each indented.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.chars().count() > width {
            out.push_str(&format!("{indent}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14 22:13:20 UTC.
    const NOW: u64 = 1_700_000_000;

    fn peer(address: &str, kind: &str, state: &str, since: u64, info: &str) -> PeerStatus {
        PeerStatus {
            address: address.parse().expect("ip"),
            port: 179,
            kind: kind.into(),
            remote_as: 64513,
            local_as: 64512,
            state: state.into(),
            since,
            info: info.into(),
            prefixes_received: 0,
            prefixes_sent: 0,
            messages: (0, 0),
            negotiated: None,
        }
    }

    #[test]
    fn tables_look_like_calicoctl() {
        let peers = [
            peer(
                "10.0.0.2",
                "node-to-node mesh",
                "Established",
                NOW - 60,
                "Established",
            ),
            peer(
                "10.0.0.3",
                "global",
                "Active",
                NOW - 200_000,
                "TCP connection refused by 10.0.0.3:179 (nothing listening, or the peer is \
                 not configured for us)",
            ),
        ];
        assert_eq!(
            render(&peers, false, NOW, &Zone::utc()),
            "brindle-node is running.\n\
             IPv4 BGP status\n\
             +--------------+-------------------+--------+------------+----------------------------+\n\
             | PEER ADDRESS |     PEER TYPE     | STATE  |   SINCE    |            INFO            |\n\
             +--------------+-------------------+--------+------------+----------------------------+\n\
             | 10.0.0.2     | node-to-node mesh | up     | 22:12:20   | Established                |\n\
             | 10.0.0.3     | global            | active | 2023-11-12 | Active: Connection refused |\n\
             +--------------+-------------------+--------+------------+----------------------------+\n\
             \n\
             IPv6 BGP status\n\
             No IPv6 peers found.\n"
        );
        let v6 = [peer(
            "fd00::2",
            "node specific",
            "Connect",
            NOW,
            "connecting to [fd00::2]:179",
        )];
        let out = render(&v6, false, NOW, &Zone::utc());
        assert!(
            out.contains("IPv4 BGP status\nNo IPv4 peers found.\n"),
            "{out}"
        );
        assert!(
            out.contains("| fd00::2      | node specific | connect | 22:13:20 | Connect |"),
            "{out}"
        );
    }

    #[test]
    fn since_is_local_time_today_else_the_date() {
        let cst = Zone::fixed(8 * 3600);
        // 22:13:20 UTC is 06:13:20 the next day in UTC+8; an hour earlier is still "today".
        assert_eq!(since(NOW - 3600, NOW, &cst), "05:13:20");
        assert_eq!(since(NOW - 7 * 3600, NOW, &cst), "2023-11-14");
        assert_eq!(since(NOW - 7 * 3600, NOW, &Zone::utc()), "15:13:20");
        assert_eq!(since(0, NOW, &cst), "");
    }

    #[test]
    fn state_words() {
        let word = |state: &str, info: &str| {
            let p = peer("10.0.0.2", "global", state, NOW, info);
            state_word(&p, &diagnose(&p).cause)
        };
        assert_eq!(word("Established", "Established"), "up");
        assert_eq!(word("Idle", "hold timer expired: nothing heard"), "start");
        assert_eq!(word("Idle", "stopped by configuration"), "down");
        assert_eq!(
            word("Active", "passive: waiting for the peer to connect to us"),
            "passive"
        );
        assert_eq!(
            word("Active", "waiting to connect to 10.0.0.2:179"),
            "active"
        );
        assert_eq!(word("OpenSent", ""), "opensent");
    }

    #[test]
    fn detail_explains_every_session_not_established() {
        let peers = [
            peer(
                "10.0.0.2",
                "node-to-node mesh",
                "Established",
                NOW,
                "Established",
            ),
            peer(
                "10.0.0.4",
                "global",
                "Idle",
                NOW - 5,
                "NOTIFICATION received: OPEN Message Error / Bad Peer AS (the peer does not \
                 accept our AS 64512)",
            ),
        ];
        let out = render(&peers, true, NOW, &Zone::utc());
        let detail = out
            .split_once("Why sessions are not Established:\n")
            .expect("detail")
            .1;
        assert_eq!(
            detail,
            "\n10.0.0.4 (global, AS 64513): Idle since 22:13:15\n  \
             INFO: NOTIFICATION received: OPEN Message Error / Bad Peer AS (the peer does not \
             accept our AS\n  64512)\n  \
             The peer says Bad Peer AS: we use AS 64512, and 10.0.0.4 expects another AS for \
             this node. Set\n  this node's remote AS on the peer to 64512, or, if the peer is \
             right, change this node's AS\n  (BGPConfiguration asNumber or the node's \
             spec.bgp.asNumber).\n"
        );
        assert!(out.contains("| Idle: Received Bad Peer AS |"), "{out}");
        let all_up = render(&peers[..1], true, NOW, &Zone::utc());
        assert!(
            all_up.ends_with("\nEvery BGP session is Established.\n"),
            "{all_up}"
        );
    }

    #[test]
    fn not_running_names_the_socket_and_the_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join(SOCKET_NAME);
        let f = status(&sock, false, NOW, &Zone::utc()).expect_err("no agent");
        assert_eq!(f.stdout, "brindle-node is not running.\n");
        assert!(
            f.message.contains(&sock.display().to_string()),
            "{}",
            f.message
        );
        assert!(f.message.contains("--run-dir"), "{}", f.message);
    }
}
