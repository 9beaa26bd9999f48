//! The datastore a call uses: its settings from the network configuration (the fields
//! `brindlectl` knows as `datastoreType`, `datastorePath`, `etcdEndpoints`…, spelled
//! `datastore_type`, `datastore_path`, `etcd_endpoints`… as in Calico's CNI configuration),
//! opened at most once per call and only when something needs it; and the node's name.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use brindle_store::{Datastore, DatastoreConfig, EtcdConfig, SqliteConfig, StoreError};
use serde_json::Value;

use crate::spec::{CniError, ERR_INVALID_CONFIG, ERR_TRY_AGAIN};

/// The network configuration fields that select the datastore.
pub const FIELDS: &[&str] = &[
    "datastore_type",
    "datastore_path",
    "etcd_endpoints",
    "etcd_ca_cert_file",
    "etcd_cert_file",
    "etcd_key_file",
    "etcd_username",
    "etcd_password",
];

/// How long a call waits to connect to etcd before reporting it unreachable.
pub const ETCD_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one etcd request may take.
pub const ETCD_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn text(raw: &Value, key: &str) -> Result<Option<String>, CniError> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!("{key}: {other} is not a string"),
        )),
    }
}

/// Whether the configuration names a datastore at all (any of [`FIELDS`]).
pub fn configured(raw: &Value) -> bool {
    FIELDS
        .iter()
        .any(|f| raw.get(f).is_some_and(|v| !v.is_null()))
}

/// The datastore the configuration selects: `datastore_type` `sqlite` (default; the file
/// `datastore_path`, default `/var/lib/brindle/datastore.db`, which must exist: the plugin
/// never creates a datastore) or `etcdv3` (`etcd_endpoints`, comma-separated, and the TLS and
/// credential fields).
pub fn config_of(raw: &Value) -> Result<DatastoreConfig, CniError> {
    let invalid = |m: String| CniError::new(ERR_INVALID_CONFIG, m);
    let ty = text(raw, "datastore_type")?.unwrap_or_else(|| "sqlite".into());
    match ty.as_str() {
        "sqlite" => {
            let path = text(raw, "datastore_path")?
                .unwrap_or_else(|| SqliteConfig::DEFAULT_PATH.to_string());
            let mut c = SqliteConfig::new(PathBuf::from(path));
            c.create = false;
            Ok(DatastoreConfig::Sqlite(c))
        }
        "etcdv3" | "etcd" => {
            let endpoints: Vec<String> = text(raw, "etcd_endpoints")?
                .unwrap_or_else(|| "http://127.0.0.1:2379".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if endpoints.is_empty() {
                return Err(invalid("etcd_endpoints is empty".into()));
            }
            let mut c = EtcdConfig::new(endpoints);
            c.ca_cert_file = text(raw, "etcd_ca_cert_file")?.map(PathBuf::from);
            c.cert_file = text(raw, "etcd_cert_file")?.map(PathBuf::from);
            c.key_file = text(raw, "etcd_key_file")?.map(PathBuf::from);
            c.username = text(raw, "etcd_username")?;
            c.password = text(raw, "etcd_password")?;
            c.connect_timeout = ETCD_CONNECT_TIMEOUT;
            c.request_timeout = ETCD_REQUEST_TIMEOUT;
            Ok(DatastoreConfig::Etcd(c))
        }
        other => Err(invalid(format!(
            "datastore_type {other:?} is not supported (use sqlite or etcdv3)"
        ))),
    }
}

/// `sqlite /path` or `etcdv3 http://a:2379,http://b:2379`, for messages.
pub fn describe(config: &DatastoreConfig) -> String {
    match config {
        DatastoreConfig::Sqlite(c) => format!("sqlite {}", c.path.display()),
        DatastoreConfig::Etcd(c) => format!("etcdv3 {}", c.endpoints.join(",")),
    }
}

/// A datastore failure as a CNI error: unreachable (or, for SQLite, not there yet) is 11,
/// "try again later", naming the datastore; anything else is `code` with `what` as context.
pub fn error(config: &DatastoreConfig, what: &str, e: &StoreError, code: u32) -> CniError {
    let where_ = describe(config);
    match e {
        StoreError::Unavailable(m) => CniError::new(
            ERR_TRY_AGAIN,
            format!("{what}: datastore {where_} unreachable: {m}"),
        ),
        StoreError::Indeterminate(_) | StoreError::Backend(_) => {
            CniError::new(ERR_TRY_AGAIN, format!("{what}: {where_}: {e}"))
        }
        // A missing SQLite file: the node agent has not created the datastore (yet).
        StoreError::Invalid(_) if matches!(config, DatastoreConfig::Sqlite(_)) => {
            CniError::new(ERR_TRY_AGAIN, format!("{what}: {e}"))
        }
        StoreError::Invalid(_) => CniError::new(ERR_INVALID_CONFIG, format!("{what}: {e}")),
        _ => CniError::new(code, format!("{what}: {where_}: {e}")),
    }
}

/// The datastore of one call: opened on first use, then reused.
pub struct LazyStore {
    config: DatastoreConfig,
    opened: OnceCell<Arc<dyn Datastore>>,
}

impl LazyStore {
    /// The datastore `config` describes, not opened yet.
    pub fn new(config: DatastoreConfig) -> LazyStore {
        LazyStore {
            config,
            opened: OnceCell::new(),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &DatastoreConfig {
        &self.config
    }

    /// The open datastore (opening it on the first call). Failing to open is "try again later"
    /// (11), naming the file or the endpoints.
    pub fn get(&self) -> Result<Arc<dyn Datastore>, CniError> {
        if let Some(s) = self.opened.get() {
            return Ok(s.clone());
        }
        let s = brindle_store::open(&self.config)
            .map_err(|e| error(&self.config, "opening the datastore", &e, ERR_TRY_AGAIN))?;
        let _ = self.opened.set(s.clone());
        Ok(s)
    }

    /// `sqlite /path` or `etcdv3 endpoints`, for messages.
    pub fn describe(&self) -> String {
        describe(&self.config)
    }

    /// A datastore failure during `what`, as a CNI error (see [`error`]).
    pub fn error(&self, what: &str, e: &StoreError, code: u32) -> CniError {
        error(&self.config, what, e, code)
    }
}

/// This host's name in the datastore: `nodename` from the configuration, else the first line
/// of `<state_dir>/nodename` (written by the node agent), else the kernel's host name.
pub fn nodename(configured: Option<&str>, state_dir: &Path) -> Result<String, CniError> {
    if let Some(n) = configured.filter(|n| !n.is_empty()) {
        return Ok(n.to_string());
    }
    let first_line = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
            .filter(|s| !s.is_empty())
    };
    first_line(&state_dir.join("nodename"))
        .or_else(|| first_line(Path::new("/proc/sys/kernel/hostname")))
        .ok_or_else(|| {
            CniError::new(
                ERR_INVALID_CONFIG,
                format!(
                    "no node name: set nodename, or write it to {}",
                    state_dir.join("nodename").display()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqlite_by_default_and_etcd_fields() {
        let c = config_of(&json!({})).expect("default");
        assert_eq!(describe(&c), "sqlite /var/lib/brindle/datastore.db");
        let DatastoreConfig::Sqlite(s) = c else {
            panic!("sqlite")
        };
        assert!(!s.create, "the plugin never creates a datastore");
        let c = config_of(&json!({"datastore_type": "etcdv3",
            "etcd_endpoints": "http://10.0.0.1:2379, http://10.0.0.2:2379",
            "etcd_ca_cert_file": "/ca.pem", "etcd_username": "u"}))
        .expect("etcd");
        assert_eq!(
            describe(&c),
            "etcdv3 http://10.0.0.1:2379,http://10.0.0.2:2379"
        );
        let DatastoreConfig::Etcd(e) = c else {
            panic!("etcd")
        };
        assert_eq!(e.ca_cert_file, Some(PathBuf::from("/ca.pem")));
        assert_eq!(e.username.as_deref(), Some("u"));
        assert_eq!(e.connect_timeout, ETCD_CONNECT_TIMEOUT);
        let bad = config_of(&json!({"datastore_type": "kubernetes"})).expect_err("bad");
        assert_eq!(bad.code, ERR_INVALID_CONFIG);
        assert!(bad.msg.contains("kubernetes"));
        assert!(configured(&json!({"datastore_path": "/x"})));
        assert!(!configured(&json!({"name": "n"})));
    }

    #[test]
    fn unreachable_is_try_again_later_naming_the_endpoints() {
        let c = config_of(&json!({"datastore_type": "etcdv3",
            "etcd_endpoints": "http://127.0.0.1:1"}))
        .expect("etcd");
        let e = error(
            &c,
            "assigning",
            &StoreError::Unavailable("connection refused".into()),
            101,
        );
        assert_eq!(e.code, ERR_TRY_AGAIN);
        assert!(e.msg.contains("http://127.0.0.1:1"), "{}", e.msg);
    }

    #[test]
    fn nodename_from_config_then_state_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(nodename(Some("n1"), dir.path()).expect("name"), "n1");
        std::fs::write(dir.path().join("nodename"), "worker-2\n").expect("write");
        assert_eq!(nodename(None, dir.path()).expect("name"), "worker-2");
        std::fs::remove_file(dir.path().join("nodename")).expect("rm");
        // The host name otherwise.
        assert!(!nodename(None, dir.path()).expect("name").is_empty());
    }
}
