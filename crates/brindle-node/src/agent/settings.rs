//! `brindle-node run`'s settings: each one a flag, an environment variable (the names Calico's
//! calico-node users know where one exists) and a key of the YAML config file. A flag wins over
//! its variable, a variable over the file, the file over the default.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use brindle_store::{DatastoreConfig, EtcdConfig, SqliteConfig};
use clap::Args;
use serde::Deserialize;

/// Flags of `brindle-node run` (every one optional here: defaults apply after the file).
#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// YAML file with any of the settings below (camelCase keys: nodename, ip, stateDir, …).
    #[arg(long, env = "BRINDLE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// This node's name [default: <state-dir>/nodename, else the hostname].
    #[arg(long, env = "NODENAME", value_name = "NAME")]
    pub nodename: Option<String>,
    /// This node's IPv4 address, or `autodetect` [default: autodetect].
    #[arg(long, env = "IP", value_name = "ADDR")]
    pub ip: Option<String>,
    /// This node's IPv6 address for IPv6 peering, or `none` [default: none].
    #[arg(long, env = "IP6", value_name = "ADDR")]
    pub ip6: Option<String>,
    /// How to autodetect the address: first-found, can-reach=DEST, interface=REGEX,
    /// skip-interface=REGEX, cidr=CIDR[,CIDR…] [default: first-found].
    #[arg(long, env = "IP_AUTODETECTION_METHOD", value_name = "METHOD")]
    pub ip_autodetection_method: Option<String>,
    /// This node's AS number (written to its Node resource) [default: the cluster's].
    #[arg(long = "as", env = "AS", value_name = "ASN")]
    pub asn: Option<String>,
    /// Where the node keeps its name, host identity and the CNI plugin's MTU file
    /// [default: /var/lib/brindle].
    #[arg(long, env = "BRINDLE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where the control socket `node.sock` lives [default: /var/run/brindle].
    #[arg(long, env = "BRINDLE_RUN_DIR", value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// sqlite or etcdv3 [default: sqlite].
    #[arg(long, env = "DATASTORE_TYPE", value_name = "TYPE")]
    pub datastore_type: Option<String>,
    /// The SQLite datastore file [default: /var/lib/brindle/datastore.db].
    #[arg(long, env = "DATASTORE_PATH", value_name = "FILE")]
    pub datastore_path: Option<PathBuf>,
    /// Comma-separated etcd endpoints [default: http://127.0.0.1:2379].
    #[arg(long, env = "ETCD_ENDPOINTS", value_name = "URLS")]
    pub etcd_endpoints: Option<String>,
    /// CIDR of the IPv4 pool created when the datastore has none [default: 192.168.0.0/16].
    #[arg(long, env = "BRINDLE_IPV4POOL_CIDR", value_name = "CIDR")]
    pub ipv4_pool_cidr: Option<String>,
    /// Do not create a default pool when there is none.
    #[arg(long, env = "NO_DEFAULT_POOLS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_default_pools: Option<bool>,
    /// Address of the HTTP health endpoint (/liveness, /readiness) [default: 127.0.0.1].
    #[arg(long, env = "BRINDLE_HEALTH_HOST", value_name = "ADDR")]
    pub health_host: Option<IpAddr>,
    /// Port of the HTTP health endpoint; 0 turns it off [default: 9099].
    #[arg(long, env = "BRINDLE_HEALTH_PORT", value_name = "PORT")]
    pub health_port: Option<u16>,
    /// Run the BGP speaker; `false` leaves routing to another daemon (the agent still
    /// registers the node and blackholes its blocks) [default: true].
    #[arg(long, env = "BRINDLE_BGP", value_name = "BOOL")]
    pub bgp: Option<bool>,
    /// Kernel route protocol number of the routes the agent installs [default: 81, "brindle"].
    #[arg(long, env = "BRINDLE_ROUTE_PROTOCOL", value_name = "N")]
    pub route_protocol: Option<u8>,
}

/// The same settings as read from the config file.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileSettings {
    nodename: Option<String>,
    ip: Option<String>,
    ip_autodetection_method: Option<String>,
    ip6: Option<String>,
    #[serde(rename = "as")]
    asn: Option<String>,
    state_dir: Option<PathBuf>,
    run_dir: Option<PathBuf>,
    datastore_type: Option<String>,
    datastore_path: Option<PathBuf>,
    etcd_endpoints: Option<String>,
    ipv4_pool_cidr: Option<String>,
    no_default_pools: Option<bool>,
    health_host: Option<IpAddr>,
    health_port: Option<u16>,
    route_protocol: Option<u8>,
    bgp: Option<bool>,
}

/// Where the node's address comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpSource {
    /// Given.
    Explicit(Ipv4Addr),
    /// Found by this method (see [`crate::agent::autodetect`]).
    Autodetect(String),
}

/// Resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Given node name, if any.
    pub nodename: Option<String>,
    /// The node's IPv4 address or how to find it.
    pub ip: IpSource,
    /// The node's IPv6 address, when it peers over IPv6 too.
    pub ip6: Option<std::net::Ipv6Addr>,
    /// AS number for this node's Node resource.
    pub asn: Option<u32>,
    /// State directory.
    pub state_dir: PathBuf,
    /// Run directory (control socket).
    pub run_dir: PathBuf,
    /// The datastore.
    pub datastore: DatastoreConfig,
    /// Default pool CIDR, `None` when default pools are off.
    pub default_pool: Option<String>,
    /// Health endpoint, `None` when off.
    pub health: Option<SocketAddr>,
    /// Route protocol number.
    pub route_protocol: u8,
    /// Whether the BGP speaker runs.
    pub bgp: bool,
}

impl Settings {
    /// The control socket's path.
    pub fn control_socket(&self) -> PathBuf {
        self.run_dir.join("node.sock")
    }
}

fn read_file(path: &Path) -> Result<FileSettings, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(FileSettings::default());
    }
    serde_yaml_ng::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// Merges flags/env (`args`) over the config file over the defaults.
pub fn resolve(args: &RunArgs) -> Result<Settings, String> {
    let file = match &args.config {
        Some(p) => read_file(p)?,
        None => FileSettings::default(),
    };
    let pick = |a: &Option<String>, f: Option<String>| a.clone().filter(|s| !s.is_empty()).or(f);
    let nodename = pick(&args.nodename, file.nodename);
    let ip = match pick(&args.ip, file.ip).as_deref() {
        None | Some("autodetect") => IpSource::Autodetect(
            pick(&args.ip_autodetection_method, file.ip_autodetection_method)
                .unwrap_or_else(|| "first-found".into()),
        ),
        Some(s) => {
            let addr = s.split('/').next().unwrap_or(s);
            IpSource::Explicit(
                addr.parse()
                    .map_err(|_| format!("ip {s:?}: not an IPv4 address (or \"autodetect\")"))?,
            )
        }
    };
    let ip6 = match pick(&args.ip6, file.ip6).as_deref() {
        None | Some("none") => None,
        Some(s) => {
            let addr = s.split('/').next().unwrap_or(s);
            Some(addr.parse().map_err(|_| {
                format!("ip6 {s:?}: not an IPv6 address (or \"none\"; autodetection is IPv4 only)")
            })?)
        }
    };
    let asn = match pick(&args.asn, file.asn) {
        None => None,
        Some(s) => Some(
            s.parse::<brindle_api::AsNumber>()
                .map_err(|e| format!("as {s:?}: {e}"))?
                .0,
        ),
    };
    let state_dir = args
        .state_dir
        .clone()
        .or(file.state_dir)
        .unwrap_or_else(|| "/var/lib/brindle".into());
    let run_dir = args
        .run_dir
        .clone()
        .or(file.run_dir)
        .unwrap_or_else(|| "/var/run/brindle".into());
    let datastore = match pick(&args.datastore_type, file.datastore_type)
        .as_deref()
        .unwrap_or("sqlite")
    {
        "sqlite" => DatastoreConfig::Sqlite(SqliteConfig::new(
            args.datastore_path
                .clone()
                .or(file.datastore_path)
                .unwrap_or_else(|| SqliteConfig::DEFAULT_PATH.into()),
        )),
        "etcdv3" | "etcd" => {
            let endpoints: Vec<String> = pick(&args.etcd_endpoints, file.etcd_endpoints)
                .unwrap_or_else(|| "http://127.0.0.1:2379".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            DatastoreConfig::Etcd(EtcdConfig::new(endpoints))
        }
        other => {
            return Err(format!(
                "datastoreType {other:?}: expected sqlite or etcdv3"
            ));
        }
    };
    let no_default = args
        .no_default_pools
        .or(file.no_default_pools)
        .unwrap_or(false);
    let default_pool = (!no_default).then(|| {
        pick(&args.ipv4_pool_cidr, file.ipv4_pool_cidr).unwrap_or_else(|| "192.168.0.0/16".into())
    });
    let port = args.health_port.or(file.health_port).unwrap_or(9099);
    let host = args
        .health_host
        .or(file.health_host)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Ok(Settings {
        nodename,
        ip,
        ip6,
        asn,
        state_dir,
        run_dir,
        datastore,
        default_pool,
        health: (port != 0).then_some(SocketAddr::new(host, port)),
        route_protocol: args.route_protocol.or(file.route_protocol).unwrap_or(81),
        bgp: args.bgp.or(file.bgp).unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.yaml");
        std::fs::write(
            &file,
            "nodename: from-file\nip: 10.0.0.9\nhealthPort: 0\nstateDir: /s\n",
        )
        .expect("write");
        let args = RunArgs {
            config: Some(file.clone()),
            nodename: Some("from-flag".into()),
            ..Default::default()
        };
        let s = resolve(&args).expect("settings");
        assert_eq!(s.nodename.as_deref(), Some("from-flag"));
        assert_eq!(s.ip, IpSource::Explicit(Ipv4Addr::new(10, 0, 0, 9)));
        assert_eq!(s.health, None);
        assert_eq!(s.state_dir, PathBuf::from("/s"));
        assert_eq!(s.run_dir, PathBuf::from("/var/run/brindle"));
        assert_eq!(s.default_pool.as_deref(), Some("192.168.0.0/16"));
        assert_eq!(
            s.control_socket(),
            PathBuf::from("/var/run/brindle/node.sock")
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        let bad = |args: RunArgs| resolve(&args).expect_err("refused");
        assert!(
            bad(RunArgs {
                ip: Some("10.0.0".into()),
                ..Default::default()
            })
            .starts_with("ip ")
        );
        assert!(
            bad(RunArgs {
                asn: Some("x".into()),
                ..Default::default()
            })
            .starts_with("as ")
        );
        assert!(
            bad(RunArgs {
                datastore_type: Some("mysql".into()),
                ..Default::default()
            })
            .starts_with("datastoreType")
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.yaml");
        std::fs::write(&file, "nodeName: x\n").expect("write");
        let e = bad(RunArgs {
            config: Some(file),
            ..Default::default()
        });
        assert!(e.contains("nodeName"), "{e}");
    }
}
