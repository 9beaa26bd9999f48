//! `brindlectl node status` against a fake agent: a Unix socket served by the test itself,
//! answering the `peers` request with a fixed list, as brindle-node's control socket does.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;

use brindle_bgp::speaker::PeerStatus;

/// 2023-11-14 22:13:20 UTC: every SINCE below is older than a day, so shown as a date.
const T: u64 = 1_700_000_000;

fn peer(address: &str, kind: &str, state: &str, info: &str) -> PeerStatus {
    PeerStatus {
        address: address.parse().unwrap(),
        port: 179,
        kind: kind.into(),
        remote_as: 64512,
        local_as: 64512,
        state: state.into(),
        since: T,
        info: info.into(),
        prefixes_received: 0,
        prefixes_sent: 0,
        messages: (0, 0),
        negotiated: None,
    }
}

fn peers() -> Vec<PeerStatus> {
    vec![
        peer(
            "10.0.0.2",
            "node-to-node mesh",
            "Established",
            "Established",
        ),
        peer(
            "10.0.0.3",
            "node-to-node mesh",
            "Idle",
            "connection to 10.0.0.3:179 closed by the peer before it sent an OPEN",
        ),
        peer(
            "fd00::9",
            "global",
            "Active",
            "TCP connection refused by [fd00::9]:179 (nothing listening, or the peer is not \
             configured for us)",
        ),
    ]
}

/// Serves `answers` to the next connections on `path`, one each; returns what was asked.
fn fake_agent(path: &Path, answers: Vec<String>) -> JoinHandle<Vec<String>> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let mut asked = Vec::new();
        for answer in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            asked.push(line.trim_end().to_string());
            writeln!(&stream, "{answer}").unwrap();
        }
        asked
    })
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn brindlectl(args: &[&str], run_dir_env: Option<&Path>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_brindlectl"));
    cmd.args(args)
        .env("TZ", "UTC")
        .env_remove("BRINDLE_RUN_DIR");
    if let Some(dir) = run_dir_env {
        cmd.env("BRINDLE_RUN_DIR", dir);
    }
    let o = cmd.output().unwrap();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn prints_calicoctl_tables_and_details() {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::to_string(&peers()).unwrap();
    let agent = fake_agent(&dir.path().join("node.sock"), vec![json.clone(), json]);
    let run_dir = dir.path().to_str().unwrap();

    let o = brindlectl(&["node", "status", "--run-dir", run_dir], None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        "brindle-node is running.\n\
         IPv4 BGP status\n\
         +--------------+-------------------+-------+------------+-----------------------------------+\n\
         | PEER ADDRESS |     PEER TYPE     | STATE |   SINCE    |               INFO                |\n\
         +--------------+-------------------+-------+------------+-----------------------------------+\n\
         | 10.0.0.2     | node-to-node mesh | up    | 2023-11-14 | Established                       |\n\
         | 10.0.0.3     | node-to-node mesh | start | 2023-11-14 | Idle: Peer not configured for us? |\n\
         +--------------+-------------------+-------+------------+-----------------------------------+\n\
         \n\
         IPv6 BGP status\n\
         +--------------+-----------+--------+------------+----------------------------+\n\
         | PEER ADDRESS | PEER TYPE | STATE  |   SINCE    |            INFO            |\n\
         +--------------+-----------+--------+------------+----------------------------+\n\
         | fd00::9      | global    | active | 2023-11-14 | Active: Connection refused |\n\
         +--------------+-----------+--------+------------+----------------------------+\n"
    );

    // The run directory from the environment, and the paragraphs of --detail.
    let o = brindlectl(&["node", "status", "--detail"], Some(dir.path()));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let detail = o
        .stdout
        .split_once("Why sessions are not Established:\n")
        .unwrap()
        .1;
    assert!(
        detail.starts_with("\n10.0.0.3 (node-to-node mesh, AS 64512): Idle since 2023-11-14\n"),
        "{detail}"
    );
    // Paragraphs are wrapped: compare the words.
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        detail.contains("it is most likely not configured to peer with this node"),
        "{detail}"
    );
    assert!(
        detail.contains(" fd00::9 (global, AS 64512): Active since 2023-11-14 INFO: TCP"),
        "{detail}"
    );
    assert!(
        detail.contains("Nothing listens on [fd00::9]:179: is the peer's BGP daemon running"),
        "{detail}"
    );
    assert!(!detail.contains("10.0.0.2"), "{detail}");

    let asked = agent.join().unwrap();
    assert_eq!(asked, vec![r#"{"command":"peers"}"#; 2]);
}

#[test]
fn not_running_exits_1_and_names_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("node.sock");
    let run_dir = dir.path().to_str().unwrap();

    let o = brindlectl(&["node", "status", "--run-dir", run_dir], None);
    assert_eq!(o.code, Some(1));
    assert_eq!(o.stdout, "brindle-node is not running.\n");
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains(&format!("{} (no such socket)", sock.display())),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("--run-dir DIR"), "{}", o.stderr);

    // A socket left behind by an agent that is gone.
    drop(UnixListener::bind(&sock).unwrap());
    let o = brindlectl(
        &["node", "status", "--socket", sock.to_str().unwrap()],
        None,
    );
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (Some(1), "brindle-node is not running.\n")
    );
    assert!(o.stderr.contains("connection refused"), "{}", o.stderr);
}

#[test]
fn an_agent_error_or_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let agent = fake_agent(
        &sock,
        vec![r#"{"error":"bad request"}"#.into(), "[]".into()],
    );
    let args = ["node", "status", "--socket", sock.to_str().unwrap()];

    let o = brindlectl(&args, None);
    assert_eq!((o.code, o.stdout.as_str()), (Some(1), ""));
    assert!(o.stderr.ends_with("bad request\n"), "{}", o.stderr);

    let o = brindlectl(&args, None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "brindle-node is running.\nIPv4 BGP status\nNo IPv4 peers found.\n\n\
         IPv6 BGP status\nNo IPv6 peers found.\n"
    );
    agent.join().unwrap();
}
