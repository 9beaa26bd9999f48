//! Helpers for tests, benchmarks and the lab: a throw-away single-member etcd server on loopback.
//! Not meant for production use.
//!
//! [`EtcdProcess`] runs Debian's `/usr/bin/etcd` (or the binary named by [`ETCD_BINARY_ENV`]) with
//! its data in a fresh temporary directory and free loopback ports, waits until it reports
//! healthy, and kills it and removes the directory when dropped (also while unwinding from a
//! panic).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::EtcdConfig;

/// Where the etcd binary is expected (Debian's `etcd-server` package).
pub const DEFAULT_ETCD_BINARY: &str = "/usr/bin/etcd";

/// Environment variable naming another etcd binary.
pub const ETCD_BINARY_ENV: &str = "BRINDLE_ETCD";

/// How long etcd may take to become healthy after it was started.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a port collision at start (another process took a port between our probe and
/// etcd's bind) is retried with fresh ports.
const START_ATTEMPTS: usize = 5;

/// Server-side TLS material: etcd serves clients over https with `cert_file`/`key_file` and
/// requires client certificates signed by `ca_file`.
#[derive(Clone, Debug)]
pub struct EtcdTlsFiles {
    /// CA that signed the server certificate and must have signed client certificates.
    pub ca_file: PathBuf,
    /// Server certificate (PEM), valid for 127.0.0.1.
    pub cert_file: PathBuf,
    /// Server private key (PEM).
    pub key_file: PathBuf,
}

/// A running etcd server owned by the caller; killed and cleaned up on drop.
#[derive(Debug)]
pub struct EtcdProcess {
    binary: PathBuf,
    root: PathBuf,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    tls: Option<EtcdTlsFiles>,
    extra_args: Vec<String>,
    child: Option<Child>,
}

/// The etcd binary to run, or an error saying how to install it.
pub fn etcd_binary() -> io::Result<PathBuf> {
    let path = std::env::var_os(ETCD_BINARY_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ETCD_BINARY));
    if path.is_file() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "etcd binary {} not found: run `make test` (it installs Debian's etcd-server) or \
                 set {ETCD_BINARY_ENV} to an etcd binary",
                path.display()
            ),
        ))
    }
}

impl EtcdProcess {
    /// Starts etcd serving plain http on loopback.
    pub fn start() -> io::Result<EtcdProcess> {
        Self::start_with(None, &[])
    }

    /// Starts etcd serving https with mutual TLS on loopback.
    pub fn start_with_tls(tls: EtcdTlsFiles) -> io::Result<EtcdProcess> {
        Self::start_with(Some(tls), &[])
    }

    /// Starts etcd serving plain http on loopback with extra command-line flags (such as
    /// `--max-txn-ops=4`).
    pub fn start_with_args(args: &[&str]) -> io::Result<EtcdProcess> {
        Self::start_with(None, args)
    }

    fn start_with(tls: Option<EtcdTlsFiles>, args: &[&str]) -> io::Result<EtcdProcess> {
        let binary = etcd_binary()?;
        let root = make_temp_dir()?;
        let mut etcd = EtcdProcess {
            binary,
            root,
            client_port: 0,
            peer_port: 0,
            metrics_port: 0,
            tls,
            extra_args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            [etcd.client_port, etcd.peer_port, etcd.metrics_port] = free_ports()?;
            // A failed attempt may have left a half-initialised member directory behind.
            let _ = std::fs::remove_dir_all(etcd.data_dir());
            match etcd.spawn() {
                Ok(()) => return Ok(etcd),
                Err(e) if etcd.child.is_none() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("etcd did not start")))
    }

    /// Client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// Settings reaching this server (without client TLS files or credentials; add them as
    /// needed).
    pub fn config(&self) -> EtcdConfig {
        EtcdConfig::new(vec![self.endpoint()])
    }

    /// The temporary directory holding the data directory and the log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// etcd's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// etcd's log (stdout and stderr of every run).
    pub fn log_file(&self) -> PathBuf {
        self.root.join("etcd.log")
    }

    /// Kills etcd (SIGKILL) and waits for it to exit. The data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same data directory and ports, and waits until it is healthy.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Runs etcd and waits until it is healthy. On failure `self.child` is `None` when the
    /// process exited by itself (worth a retry with other ports).
    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let url = |port: u16, scheme: &str| format!("{scheme}://127.0.0.1:{port}");
        let client_url = self.endpoint();
        let peer_url = url(self.peer_port, "http");
        let mut cmd = Command::new(&self.binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("--name=brindle")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=brindle={peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg(format!(
                "--listen-metrics-urls={}",
                url(self.metrics_port, "http")
            ))
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .arg("--log-level=warn");
        if let Some(tls) = &self.tls {
            cmd.arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca_file.display()))
                .arg("--client-cert-auth=true");
        }
        cmd.args(&self.extra_args);
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run {}: {e}", self.binary.display()),
            )
        })?);
        self.wait_healthy()
    }

    fn wait_healthy(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "etcd exited with {status} while starting; log: {}",
                    self.log_tail()
                )));
            }
            if self.healthy() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                // Keep `child` unset only for self-inflicted exits; this is a real failure.
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "etcd at {} not healthy after {READY_TIMEOUT:?}; log: {}",
                        self.endpoint(),
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET /health` on the plain-http metrics listener (works whatever the client TLS).
    fn healthy(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.metrics_port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        if s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.contains("\"health\":\"true\"")
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(self.log_file()) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Three distinct loopback ports that were free a moment ago.
fn free_ports() -> io::Result<[u16; 3]> {
    let listeners = [
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
    ];
    let mut ports = [0; 3];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr()?.port();
    }
    Ok(ports)
}

/// A new empty directory under the system temporary directory.
pub fn make_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("brindle-test-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}
