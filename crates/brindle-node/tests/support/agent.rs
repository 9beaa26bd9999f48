//! A running `brindle-node run` in a lab host, pods wired by the CNI plugin, and waits.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use brindle_bgp::speaker::PeerStatus;
use brindle_lab::{Host, LabProcess, wait_for};

/// How long sessions may take to come up (a session that failed may back off up to 30 s,
/// BIRD's error wait, before either side tries again).
pub const UP: Duration = Duration::from_secs(60);

/// Where a lab's nodes keep their datastore.
#[derive(Clone, Debug)]
pub enum Store {
    /// A SQLite file every node opens.
    Sqlite(PathBuf),
    /// An etcd endpoint (`http://10.x.y.z:2379`).
    Etcd(String),
}

impl Store {
    /// brindle-node's and brindlectl's flags for it.
    pub fn flags(&self) -> Vec<String> {
        match self {
            Store::Sqlite(p) => vec![
                "--datastore-type".into(),
                "sqlite".into(),
                "--datastore-path".into(),
                p.display().to_string(),
            ],
            Store::Etcd(url) => vec![
                "--datastore-type".into(),
                "etcdv3".into(),
                "--etcd-endpoints".into(),
                url.clone(),
            ],
        }
    }

    /// The CNI network configuration's fields for it.
    pub fn cni_fields(&self) -> String {
        match self {
            Store::Sqlite(p) => format!(
                r#""datastore_type":"sqlite","datastore_path":"{}""#,
                p.display()
            ),
            Store::Etcd(url) => format!(r#""datastore_type":"etcdv3","etcd_endpoints":"{url}""#),
        }
    }
}

impl From<&Path> for Store {
    fn from(p: &Path) -> Store {
        Store::Sqlite(p.to_path_buf())
    }
}

impl From<&PathBuf> for Store {
    fn from(p: &PathBuf) -> Store {
        Store::Sqlite(p.clone())
    }
}

impl From<PathBuf> for Store {
    fn from(p: PathBuf) -> Store {
        Store::Sqlite(p)
    }
}

/// One node: its host namespace and its agent.
pub struct Node {
    pub name: String,
    pub host: Host,
    pub process: Option<LabProcess>,
    pub datastore: Store,
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    pub extra: Vec<String>,
}

fn bin(name: &str) -> PathBuf {
    let mut p = PathBuf::from(env!("CARGO_BIN_EXE_brindle-node"));
    p.set_file_name(name);
    p
}

impl Node {
    /// Starts the agent for `name` in `host`, on the SQLite datastore `datastore`.
    pub fn start(host: &Host, name: &str, datastore: impl Into<Store>, extra: &[&str]) -> Node {
        let mut n = Node::start_stopped(host, name, datastore, extra);
        n.spawn();
        n
    }

    /// The node of [`Node::start`] without its agent running yet.
    pub fn start_stopped(
        host: &Host,
        name: &str,
        datastore: impl Into<Store>,
        extra: &[&str],
    ) -> Node {
        // Like a real host, a default route (here onto the segment): the pods' gateway
        // 169.254.1.1 is answered by proxy ARP only when the host has a route to it.
        host.run("ip", &["route", "replace", "default", "dev", "eth0"])
            .expect("default route");
        let dir = host.dir().join("node");
        Node {
            name: name.into(),
            host: host.clone(),
            process: None,
            datastore: datastore.into(),
            state_dir: dir.join("state"),
            run_dir: dir.join("run"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec!["run".into(), "--nodename".into(), self.name.clone()];
        // An --ip in `extra` replaces the host's own address.
        if !self.extra.iter().any(|x| x == "--ip") {
            a.extend(["--ip".into(), self.host.ipv4().to_string()]);
        }
        a.extend([
            "--state-dir".into(),
            self.state_dir.display().to_string(),
            "--run-dir".into(),
            self.run_dir.display().to_string(),
        ]);
        a.extend(self.datastore.flags());
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Starts (again) the agent process; waits for its control socket.
    pub fn spawn(&mut self) {
        let socket = self.run_dir.join("node.sock");
        let _ = std::fs::remove_file(&socket);
        let args = self.args();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = self
            .host
            .spawn(env!("CARGO_BIN_EXE_brindle-node"), &refs, "agent.log")
            .expect("spawn agent");
        let up = wait_for(Duration::from_secs(15), || socket.exists().then_some(()));
        assert!(
            up.is_some(),
            "agent {} did not start:\n{}",
            self.name,
            p.log_tail(30)
        );
        self.process = Some(p);
    }

    /// Runs the agent in the foreground and returns its exit status and output (for start-up
    /// refusals).
    pub fn run_once(&self) -> (bool, String) {
        let args = self.args();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self
            .host
            .exec(env!("CARGO_BIN_EXE_brindle-node"), &refs)
            .expect("run agent");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host.dir().join("agent.log")).unwrap_or_default()
    }

    /// The agent's peers, from its control socket.
    pub fn peers(&self) -> Vec<PeerStatus> {
        use std::io::{BufRead, BufReader, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(self.run_dir.join("node.sock"))
        else {
            return Vec::new();
        };
        if writeln!(s, "{{\"command\":\"peers\"}}").is_err() {
            return Vec::new();
        }
        let mut line = String::new();
        let _ = BufReader::new(s).read_line(&mut line);
        serde_json::from_str(&line).unwrap_or_default()
    }

    /// Waits until the agent has exactly the peers `want` (address, PEER TYPE), all Established.
    pub fn wait_peers(&self, want: &[(IpAddr, &str)]) {
        let mut want: Vec<(IpAddr, String)> =
            want.iter().map(|(a, k)| (*a, k.to_string())).collect();
        want.sort();
        let ok = wait_for(UP, || {
            let peers = self.peers();
            let mut got: Vec<(IpAddr, String)> =
                peers.iter().map(|p| (p.address, p.kind.clone())).collect();
            got.sort();
            (got == want && peers.iter().all(|p| p.state == "Established")).then_some(())
        });
        assert!(
            ok.is_some(),
            "{}: wanted {want:?} Established, have {:?}\n{}",
            self.name,
            self.peers()
                .iter()
                .map(|p| format!("{} {} {} {}", p.address, p.kind, p.state, p.info))
                .collect::<Vec<_>>(),
            self.log()
        );
    }

    /// `brindlectl` with this node's datastore, run in the node's namespace.
    pub fn ctl(&self, args: &[&str]) -> String {
        let flags = self.datastore.flags();
        let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        let bin = bin("brindlectl");
        let out = self
            .host
            .exec(bin.to_str().expect("path"), &all)
            .expect("brindlectl");
        assert!(
            out.status.success(),
            "brindlectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Applies a YAML manifest with brindlectl.
    pub fn apply(&self, yaml: &str) {
        let file = self.host.dir().join("apply.yaml");
        std::fs::write(&file, yaml).expect("write manifest");
        self.ctl(&["apply", "-f", file.to_str().expect("path")]);
    }

    /// `brindlectl node status [extra…]` for this node, as its operator runs it: (exit ok, stdout).
    pub fn status(&self, extra: &[&str]) -> (bool, String) {
        let run = self.run_dir.display().to_string();
        let mut args = vec!["node", "status", "--run-dir", run.as_str()];
        args.extend_from_slice(extra);
        let out = self
            .host
            .exec(bin("brindlectl").to_str().expect("path"), &args)
            .expect("brindlectl node status");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// An HTTP GET of the agent's health endpoint (port 9099 on the node's loopback): the
    /// status code and body.
    pub fn health(&self, path: &str) -> (u16, String) {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/9099 && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
        );
        let out = self.host.exec("bash", &["-c", &script]).expect("bash");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    /// `brindlectl bgp routes` of the node's speaker.
    pub fn bgp_routes(&self) -> String {
        let sock = self.run_dir.join("node.sock");
        let peers: Vec<String> = self
            .peers()
            .iter()
            .map(|p| {
                format!(
                    "{} {} rx {} tx {}",
                    p.address, p.state, p.prefixes_received, p.prefixes_sent
                )
            })
            .collect();
        std::process::Command::new(bin("brindlectl"))
            .args(["bgp", "routes", "--socket", sock.to_str().expect("path")])
            .output()
            .map(|o| {
                format!(
                    "{}{}{}",
                    peers.join("\n"),
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }

    /// The node's kernel routes (`ip route` lines).
    pub fn routes(&self) -> String {
        self.host.run("ip", &["route"]).unwrap_or_default()
    }

    /// Waits until `ip route` has (or lacks) a line containing every part of `parts`.
    pub fn wait_route(&self, parts: &[&str], present: bool) {
        let ok = wait_for(UP, || {
            let has = self
                .routes()
                .lines()
                .any(|l| parts.iter().all(|p| l.contains(p)));
            (has == present).then_some(())
        });
        assert!(
            ok.is_some(),
            "{}: route {parts:?} {} in:\n{}\nBGP:\n{}\n{}",
            self.name,
            if present {
                "never appeared"
            } else {
                "never left"
            },
            self.routes(),
            self.bgp_routes(),
            self.log()
        );
    }
}

/// A pod: its own network namespace, wired to a node by the CNI plugin run in the node's
/// namespace as a container runtime runs it. Removed (DEL, namespace) on drop.
pub struct Pod {
    pub ns: String,
    pub ip: Ipv4Addr,
    /// The pod's IPv6 address, when it has one.
    pub ip6: Option<std::net::Ipv6Addr>,
    host: Host,
    conf: String,
    env: Vec<(String, String)>,
}

impl Pod {
    /// Adds pod `pod` on `node`.
    pub fn add(node: &Node, pod: &str) -> Pod {
        Pod::add_with(node, pod, "")
    }

    /// [`Pod::add`] with extra `ipam` fields (e.g. `"assign_ipv6":"true",`).
    pub fn add_with(node: &Node, pod: &str, ipam_extra: &str) -> Pod {
        let ns = format!("{}-{pod}", node.host.ns());
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .expect("ip netns add");
        assert!(ok.success());
        let conf = format!(
            r#"{{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"brindle","nodename":"{}",{},"state_dir":"{}","ipam":{{{ipam_extra}"type":"brindle-ipam"}}}}"#,
            node.name,
            node.datastore.cni_fields(),
            node.state_dir.display()
        );
        let env = vec![
            ("CNI_CONTAINERID".to_string(), format!("c-{ns}")),
            ("CNI_NETNS".to_string(), format!("/run/netns/{ns}")),
            ("CNI_IFNAME".to_string(), "eth0".to_string()),
            (
                "CNI_PATH".to_string(),
                bin("brindle").parent().expect("dir").display().to_string(),
            ),
            (
                "CNI_ARGS".to_string(),
                format!("K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod}"),
            ),
        ];
        let mut p = Pod {
            ns,
            ip: Ipv4Addr::UNSPECIFIED,
            ip6: None,
            host: node.host.clone(),
            conf,
            env,
        };
        let out = p.cni("ADD");
        let v: serde_json::Value = serde_json::from_str(&out).expect("CNI result");
        for ip in v["ips"].as_array().expect("ips") {
            let addr = ip["address"].as_str().expect("address");
            match addr
                .split('/')
                .next()
                .and_then(|a| a.parse::<IpAddr>().ok())
            {
                Some(IpAddr::V4(a)) => p.ip = a,
                Some(IpAddr::V6(a)) => p.ip6 = Some(a),
                None => panic!("bad address {addr}"),
            }
        }
        p
    }

    fn cni(&self, command: &str) -> String {
        use std::io::Write;
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", self.host.ns()])
            .arg(bin("brindle"))
            .env("CNI_COMMAND", command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("CNI plugin");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(self.conf.as_bytes());
        }
        let out = child.wait_with_output().expect("CNI plugin");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() || command == "DEL",
            "CNI {command}: {text}"
        );
        text
    }

    /// Whether the pod reaches `ip` (one ping, 1 s; IPv6 too).
    pub fn ping(&self, ip: impl Into<IpAddr>) -> bool {
        let ip: IpAddr = ip.into();
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "ping",
                "-c",
                "1",
                "-W",
                "1",
                &ip.to_string(),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Waits until the pod reaches (or no longer reaches) `ip`.
    pub fn wait_ping(&self, ip: impl Into<IpAddr> + Copy, reachable: bool) -> bool {
        wait_for(UP, || (self.ping(ip) == reachable).then_some(())).is_some()
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.cni("DEL");
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .status();
    }
}

/// Every node's routes and agent log tail, for a failure message.
pub fn dump(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let log = n.log();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            format!(
                "--- {} routes:\n{}--- {} log (last lines):\n{}\n",
                n.name,
                n.routes(),
                n.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
        .collect()
}

/// Waits until the node's `/readiness` answers `code`; returns the answer.
pub fn wait_health(node: &Node, code: u16) -> (u16, String) {
    wait_for(UP, || {
        Some(node.health("/readiness")).filter(|(c, _)| *c == code)
    })
    .unwrap_or_else(|| {
        panic!(
            "{}: readiness never {code}: {:?}",
            node.name,
            node.health("/readiness")
        )
    })
}

/// The PEER TYPE of mesh sessions.
pub const MESH: &str = "node-to-node mesh";

/// A host's IPv4 address as an `IpAddr`.
pub fn ip(h: &Host) -> IpAddr {
    h.ipv4().into()
}

/// The /26 block (the default pool's block size) an address belongs to.
pub fn block_of(ip: Ipv4Addr) -> String {
    format!("{}/26", Ipv4Addr::from(u32::from(ip) & !63))
}

/// `n` hosts `n1`… with agents `node1`… on `store`.
pub fn cluster(lab: &brindle_lab::Lab, n: usize, store: &Store) -> (Vec<Host>, Vec<Node>) {
    let hosts: Vec<Host> = (1..=n)
        .map(|i| lab.add_host(&format!("n{i}")).expect("host"))
        .collect();
    let nodes = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| Node::start(h, &format!("node{}", i + 1), store.clone(), &[]))
        .collect();
    (hosts, nodes)
}

/// Waits until every node has a mesh session Established with every other.
pub fn wait_mesh(hosts: &[Host], nodes: &[Node]) {
    for (i, n) in nodes.iter().enumerate() {
        let others: Vec<(IpAddr, &str)> = hosts
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, h)| (ip(h), MESH))
            .collect();
        n.wait_peers(&others);
    }
}

/// Asserts that every pod reaches every other.
pub fn assert_all_reach(pods: &[Pod], nodes: &[Node]) {
    for a in pods {
        for b in pods {
            if a.ns != b.ns {
                assert!(
                    a.wait_ping(b.ip, true),
                    "{} -> {}\n{}",
                    a.ns,
                    b.ip,
                    dump(nodes)
                );
            }
        }
    }
}
