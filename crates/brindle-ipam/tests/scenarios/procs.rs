//! Allocation from separate processes: the test binary runs itself as a worker (the test
//! `worker_process` does nothing unless [`WORKER_ENV`] is set), one process per simulated
//! node, all on one datastore.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};

use brindle_ipam::{CheckOptions, Ipam};
use brindle_store::{DatastoreConfig, EtcdConfig, SqliteConfig};

use super::{Env, v4};

/// `<node> <count>`: the worker's task.
pub const WORKER_ENV: &str = "BRINDLE_IPAM_TEST_WORKER";
/// `sqlite:<path>` or `etcd:<endpoint>`.
pub const CONFIG_ENV: &str = "BRINDLE_IPAM_TEST_CONFIG";

const NODES: [&str; 3] = ["pnode1", "pnode2", "pnode3"];
const PER_NODE: usize = 67;

/// Kills and reaps workers still running when dropped (a failing test leaves no process).
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn encode(config: &DatastoreConfig) -> String {
    match config {
        DatastoreConfig::Sqlite(c) => format!("sqlite:{}", c.path.display()),
        DatastoreConfig::Etcd(c) => format!("etcd:{}", c.endpoints.join(",")),
    }
}

fn decode(s: &str) -> DatastoreConfig {
    match s.split_once(':') {
        Some(("sqlite", path)) => DatastoreConfig::Sqlite(SqliteConfig::new(path)),
        Some(("etcd", eps)) => {
            DatastoreConfig::Etcd(EtcdConfig::new(eps.split(',').map(String::from).collect()))
        }
        _ => panic!("bad {CONFIG_ENV}: {s}"),
    }
}

/// The worker: assigns `count` addresses for `node` (two threads), one line `handle ip` each.
pub fn worker_main() {
    let Ok(task) = std::env::var(WORKER_ENV) else {
        return;
    };
    let config = decode(&std::env::var(CONFIG_ENV).unwrap());
    let (node, count) = task.split_once(' ').unwrap();
    let count: usize = count.parse().unwrap();
    let ipam = Ipam::new(brindle_store::open(&config).unwrap());
    let lines = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..2 {
            let (ipam, lines) = (&ipam, &lines);
            s.spawn(move || {
                for i in (t..count).step_by(2) {
                    let handle = format!("net.{node}-{i}");
                    let a = ipam.assign(&v4(&handle, node)).unwrap();
                    lines
                        .lock()
                        .unwrap()
                        .push(format!("{handle} {}", a.ipv4[0].ip));
                }
            });
        }
    });
    for l in lines.into_inner().unwrap() {
        println!("\nRESULT {l}");
    }
}

/// Three processes (one per node) assign 201 addresses at once under strictAffinity: all
/// distinct, each from its node's blocks; released, nothing is left.
pub fn processes_allocate_concurrently(env: &Env) {
    env.pool("pool", "10.20.0.0/22", 26, |_| {});
    env.nodes(&NODES);
    env.ipam_config(true, 0);
    let exe = std::env::current_exe().unwrap();
    let mut workers = Workers(Vec::new());
    for node in NODES {
        let child = Command::new(&exe)
            .args([
                "worker_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_ENV, format!("{node} {PER_NODE}"))
            .env(CONFIG_ENV, encode(&env.config))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        workers.0.push(child);
    }
    let mut got: Vec<(String, String, IpAddr)> = Vec::new();
    for (node, child) in NODES.iter().zip(workers.0.iter_mut()) {
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "worker for {node} failed: {err}");
        // The harness may print on the same line before ours: find the marker anywhere.
        for line in out
            .lines()
            .filter_map(|l| l.find("RESULT ").map(|i| &l[i + 7..]))
        {
            let (h, ip) = line.split_once(' ').unwrap();
            got.push((node.to_string(), h.to_string(), ip.parse().unwrap()));
        }
    }
    assert_eq!(got.len(), NODES.len() * PER_NODE);
    let distinct: BTreeSet<IpAddr> = got.iter().map(|g| g.2).collect();
    assert_eq!(distinct.len(), got.len(), "an address was handed out twice");
    let ipam = env.ipam();
    for (node, handle, ip) in &got {
        let info = ipam.lookup(*ip).unwrap();
        assert_eq!(info.handle.as_deref(), Some(handle.as_str()));
        assert_eq!(info.block_affinity.as_deref(), Some(node.as_str()));
    }
    for (_, handle, _) in &got {
        assert_eq!(ipam.release_handle(handle).unwrap(), 1);
    }
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
    assert!(ipam.block_usage().unwrap().iter().all(|b| b.in_use == 0));
}
