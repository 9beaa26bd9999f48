//! `brindlectl bgp peers|routes`: asks a running speaker over its control socket (one JSON
//! request line, one JSON answer) and prints calicoctl-style tables.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brindle_bgp::speaker::{PeerStatus, RouteStatus};
use serde::de::DeserializeOwned;

use crate::cli::BgpCommand;
use crate::table::render_boxed;

/// Runs one `bgp` subcommand against the speaker at `socket`.
pub fn run(socket: &Path, what: &BgpCommand) -> Result<String, String> {
    match what {
        BgpCommand::Peers => {
            let peers: Vec<PeerStatus> = ask(socket, &serde_json::json!({"command": "peers"}))
                .map_err(|e| e.describe(socket))?;
            Ok(peers_table(&peers, SystemTime::now()))
        }
        BgpCommand::Routes { prefix } => {
            let req = serde_json::json!({"command": "routes", "prefix": prefix});
            let routes: Vec<RouteStatus> = ask(socket, &req).map_err(|e| e.describe(socket))?;
            if routes.is_empty() {
                return match prefix {
                    Some(p) => Err(format!("no route for {p}")),
                    None => Ok("No routes.\n".into()),
                };
            }
            Ok(routes_table(&routes))
        }
    }
}

/// Why a question to the control socket got no answer.
#[derive(Debug)]
pub(crate) enum AskError {
    /// Nobody accepted the connection (no socket file, nothing listening, no permission).
    Connect(std::io::Error),
    /// The connection broke or timed out before the answer.
    Io(std::io::Error),
    /// The answer was an error, or not what was asked for.
    Answer(String),
}

impl AskError {
    /// The error as `brindlectl bgp` words it.
    fn describe(self, socket: &Path) -> String {
        match self {
            AskError::Connect(e) | AskError::Io(e) => format!(
                "cannot reach the BGP speaker at {}: {e} (is brindle-node running?)",
                socket.display()
            ),
            AskError::Answer(e) => e,
        }
    }
}

/// Sends one request line to the control socket at `socket` and decodes the one-line answer.
pub(crate) fn ask<T: DeserializeOwned>(
    socket: &Path,
    request: &serde_json::Value,
) -> Result<T, AskError> {
    let mut s = UnixStream::connect(socket).map_err(AskError::Connect)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(AskError::Io)?;
    writeln!(s, "{request}").map_err(AskError::Io)?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(AskError::Io)?;
    let bad = |e: serde_json::Error| AskError::Answer(format!("bad answer from the speaker: {e}"));
    let v: serde_json::Value = serde_json::from_str(&line).map_err(bad)?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        return Err(AskError::Answer(err.to_string()));
    }
    serde_json::from_value(v).map_err(bad)
}

/// `HH:MM:SS` (UTC) within the last day, else the date, as BIRD's "since" column.
fn since(secs: u64, now: SystemTime) -> String {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if secs == 0 {
        return String::new();
    }
    let day = secs % 86_400;
    if now.saturating_sub(secs) < 86_400 {
        format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
    } else {
        brindle_client::format_rfc3339(secs)[..10].to_string()
    }
}

/// The peers table: PEER ADDRESS | AS | STATE | SINCE | INFO.
pub fn peers_table(peers: &[PeerStatus], now: SystemTime) -> String {
    if peers.is_empty() {
        return "No peers found.\n".into();
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.address.to_string(),
                p.remote_as.to_string(),
                if p.state == "Established" {
                    "up".into()
                } else {
                    p.state.to_lowercase()
                },
                since(p.since, now),
                p.info.clone(),
            ]
        })
        .collect();
    render_boxed(&["PEER ADDRESS", "AS", "STATE", "SINCE", "INFO"], &rows)
}

/// The routes table: PREFIX | NEXT HOP | AS PATH | COMMUNITIES | FROM | BEST.
pub fn routes_table(routes: &[RouteStatus]) -> String {
    let mut rows = Vec::new();
    for r in routes {
        for (i, p) in r.paths.iter().enumerate() {
            rows.push(vec![
                if i == 0 {
                    r.prefix.clone()
                } else {
                    String::new()
                },
                p.next_hop.map(|n| n.to_string()).unwrap_or_default(),
                p.as_path.clone(),
                p.communities.join(" "),
                p.from
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "local".into()),
                match (p.best, p.stale) {
                    (true, false) => "*".into(),
                    (true, true) => "* (stale)".into(),
                    (false, true) => "(stale)".into(),
                    (false, false) => String::new(),
                },
            ]);
        }
    }
    render_boxed(
        &[
            "PREFIX",
            "NEXT HOP",
            "AS PATH",
            "COMMUNITIES",
            "FROM",
            "BEST",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use brindle_bgp::speaker::PathStatus;

    #[test]
    fn peers_table_looks_like_calicoctl() {
        let p = PeerStatus {
            address: "172.31.209.241".parse().expect("ip"),
            port: 179,
            kind: "global".into(),
            remote_as: 63400,
            local_as: 63400,
            state: "Established".into(),
            since: 1_700_000_000,
            info: "Established".into(),
            prefixes_received: 1,
            prefixes_sent: 2,
            messages: (3, 4),
            negotiated: None,
        };
        let t = peers_table(&[p], UNIX_EPOCH + Duration::from_secs(1_700_000_100));
        assert_eq!(
            t,
            "+----------------+-------+-------+----------+-------------+\n\
             |  PEER ADDRESS  |  AS   | STATE |  SINCE   |    INFO     |\n\
             +----------------+-------+-------+----------+-------------+\n\
             | 172.31.209.241 | 63400 | up    | 22:13:20 | Established |\n\
             +----------------+-------+-------+----------+-------------+\n"
        );
        assert_eq!(peers_table(&[], SystemTime::now()), "No peers found.\n");
    }

    #[test]
    fn routes_table_shows_every_path_with_its_communities() {
        let path = |from: Option<&str>, best: bool, stale: bool| PathStatus {
            from: from.map(|f| f.parse().expect("ip")),
            path_id: 0,
            next_hop: Some("10.0.0.2".parse().expect("ip")),
            as_path: "64513".into(),
            origin: "IGP".into(),
            local_pref: None,
            med: None,
            communities: vec!["64512:100".into(), "64512:1:2".into()],
            originator_id: None,
            cluster_list: Vec::new(),
            best,
            stale,
        };
        let r = RouteStatus {
            prefix: "192.0.2.0/24".into(),
            paths: vec![path(Some("10.0.0.2"), true, false), path(None, false, true)],
        };
        let t = routes_table(&[r]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].contains("COMMUNITIES"), "{t}");
        assert!(
            lines[3].contains("192.0.2.0/24")
                && lines[3].contains("64512:100 64512:1:2")
                && lines[3].contains("10.0.0.2")
                && lines[3].contains('*'),
            "{t}"
        );
        assert!(
            lines[4].starts_with("|  ")
                && lines[4].contains("local")
                && lines[4].contains("(stale)"),
            "{t}"
        );
    }
}
