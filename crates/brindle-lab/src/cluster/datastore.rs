//! The datastore the nodes share, and how each client is pointed at it: agent flags, CNI
//! configuration keys, brindlectl's environment. With etcd, the server itself.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::detached::ProcessRecord;
use super::state::DatastoreState;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::process::LabProcess;
use crate::wait::wait_for;

/// etcd's client port.
pub const ETCD_CLIENT_PORT: u16 = 2379;

/// How long etcd gets to become healthy.
const ETCD_START_TIMEOUT: Duration = Duration::from_secs(20);

impl DatastoreState {
    /// `sqlite` or `etcdv3`, as brindle spells datastore types.
    pub fn type_name(&self) -> &'static str {
        match self {
            DatastoreState::Sqlite { .. } => "sqlite",
            DatastoreState::Etcd { .. } => "etcdv3",
        }
    }

    /// A short description: the file or the endpoint.
    pub fn describe(&self) -> String {
        match self {
            DatastoreState::Sqlite { path } => format!("sqlite {}", path.display()),
            DatastoreState::Etcd { endpoint, .. } => format!("etcd {endpoint}"),
        }
    }

    /// brindlectl's environment variables selecting this datastore.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("DATASTORE_TYPE", self.type_name().to_string())];
        match self {
            DatastoreState::Sqlite { path } => {
                env.push(("DATASTORE_PATH", path.display().to_string()));
            }
            DatastoreState::Etcd { endpoint, .. } => {
                env.push(("ETCD_ENDPOINTS", endpoint.clone()));
            }
        }
        env
    }

    /// The agent's (`brindle-node run`) flags selecting this datastore.
    pub fn agent_args(&self) -> Vec<String> {
        let mut args = vec!["--datastore-type".to_string(), self.type_name().to_string()];
        match self {
            DatastoreState::Sqlite { path } => {
                args.extend(["--datastore-path".to_string(), path.display().to_string()]);
            }
            DatastoreState::Etcd { endpoint, .. } => {
                args.extend(["--etcd-endpoints".to_string(), endpoint.clone()]);
            }
        }
        args
    }

    /// The CNI network configuration's datastore keys.
    pub fn cni_fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("datastore_type".into(), json!(self.type_name()));
        match self {
            DatastoreState::Sqlite { path } => {
                m.insert("datastore_path".into(), json!(path.display().to_string()));
            }
            DatastoreState::Etcd { endpoint, .. } => {
                m.insert("etcd_endpoints".into(), json!(endpoint));
            }
        }
        m
    }
}

/// Starts a single-member etcd in `host` (serving clients on the host's segment address and on
/// its loopback, data under the host's dir) and waits until it is healthy.
pub fn start_etcd(host: &Host) -> Result<(LabProcess, DatastoreState)> {
    let ip = host.ipv4();
    let endpoint = format!("http://{ip}:{ETCD_CLIENT_PORT}");
    let local = format!("http://127.0.0.1:{ETCD_CLIENT_PORT}");
    let peer = "http://127.0.0.1:2380";
    let data_dir = host.dir().join("data");
    let args = [
        "--name=brindle".to_string(),
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={endpoint},{local}"),
        format!("--advertise-client-urls={endpoint}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=brindle={peer}"),
        "--initial-cluster-state=new".to_string(),
        "--logger=zap".to_string(),
        "--log-outputs=stderr".to_string(),
        "--log-level=warn".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let process = host.spawn("etcd", &args, "etcd.log")?;
    let healthy = wait_for(ETCD_START_TIMEOUT, || {
        if !process.is_running() {
            return Some(false);
        }
        let out = host.exec(
            "etcdctl",
            &[
                "--endpoints",
                &endpoint,
                "--dial-timeout=1s",
                "endpoint",
                "health",
            ],
        );
        out.is_ok_and(|o| o.status.success()).then_some(true)
    });
    if healthy != Some(true) {
        let why = if healthy.is_some() {
            "exited while starting".to_string()
        } else {
            format!("not healthy after {ETCD_START_TIMEOUT:?}")
        };
        return Err(Error::Daemon {
            daemon: format!("etcd on {}", host.ns()),
            message: why,
            log_tail: process.log_tail(20),
        });
    }
    let record =
        ProcessRecord::of(process.pid(), process.log_path().to_path_buf()).ok_or_else(|| {
            Error::Daemon {
                daemon: format!("etcd on {}", host.ns()),
                message: "exited right after start".into(),
                log_tail: process.log_tail(20),
            }
        })?;
    let state = DatastoreState::Etcd {
        endpoint,
        ns: host.ns().to_string(),
        process: record,
    };
    Ok((process, state))
}
