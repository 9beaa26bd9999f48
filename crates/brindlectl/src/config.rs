//! Which datastore brindlectl talks to. Layers, later ones winning: the config file
//! (`/etc/brindle/brindlectl.cfg`, unless `--config` names another), the environment
//! (`DATASTORE_TYPE`, `DATASTORE_PATH`, `ETCD_*`), the file given with `--config`, then flags.

use std::path::{Path, PathBuf};

use brindle_store::{DatastoreConfig, EtcdConfig, SqliteConfig};
use serde::Deserialize;

/// Default location of the config file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/brindle/brindlectl.cfg";

/// Environment variable that moves the default config file (for several clusters, or tests).
pub const CONFIG_FILE_ENV: &str = "BRINDLECTL_CONFIG";

/// Datastore settings as written in the file, the environment or flags; unset fields inherit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// `sqlite` (default) or `etcdv3`.
    pub datastore_type: Option<String>,
    /// SQLite database file.
    pub datastore_path: Option<String>,
    /// Comma-separated etcd client URLs.
    pub etcd_endpoints: Option<String>,
    /// CA certificate of the etcd servers.
    #[serde(rename = "etcdCACertFile")]
    pub etcd_ca_cert_file: Option<String>,
    /// Client certificate for etcd.
    pub etcd_cert_file: Option<String>,
    /// Client key for etcd.
    pub etcd_key_file: Option<String>,
    /// etcd user name.
    pub etcd_username: Option<String>,
    /// etcd password.
    pub etcd_password: Option<String>,
}

impl Settings {
    /// Overrides the fields `other` sets.
    pub fn merge(&mut self, other: Settings) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            datastore_type,
            datastore_path,
            etcd_endpoints,
            etcd_ca_cert_file,
            etcd_cert_file,
            etcd_key_file,
            etcd_username,
            etcd_password
        );
    }

    /// Settings from the environment variables calicoctl users know.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Settings {
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        Settings {
            datastore_type: get("DATASTORE_TYPE"),
            datastore_path: get("DATASTORE_PATH"),
            etcd_endpoints: get("ETCD_ENDPOINTS"),
            etcd_ca_cert_file: get("ETCD_CA_CERT_FILE"),
            etcd_cert_file: get("ETCD_CERT_FILE"),
            etcd_key_file: get("ETCD_KEY_FILE"),
            etcd_username: get("ETCD_USERNAME"),
            etcd_password: get("ETCD_PASSWORD"),
        }
    }

    /// Reads a config file (`kind: BrindleAPIConfig`, or calicoctl's `CalicoAPIConfig`).
    pub fn from_file(path: &Path) -> Result<Settings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        parse_file(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    /// The datastore these settings select.
    pub fn datastore(&self) -> Result<DatastoreConfig, String> {
        let ty = self.datastore_type.as_deref().unwrap_or("sqlite");
        match ty {
            "sqlite" => {
                let path = self
                    .datastore_path
                    .as_deref()
                    .unwrap_or(SqliteConfig::DEFAULT_PATH);
                Ok(DatastoreConfig::Sqlite(SqliteConfig::new(PathBuf::from(
                    path,
                ))))
            }
            "etcdv3" | "etcd" => {
                let endpoints: Vec<String> = self
                    .etcd_endpoints
                    .as_deref()
                    .unwrap_or("http://127.0.0.1:2379")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if endpoints.is_empty() {
                    return Err("etcdEndpoints is empty".into());
                }
                let mut c = EtcdConfig::new(endpoints);
                c.ca_cert_file = self.etcd_ca_cert_file.clone().map(PathBuf::from);
                c.cert_file = self.etcd_cert_file.clone().map(PathBuf::from);
                c.key_file = self.etcd_key_file.clone().map(PathBuf::from);
                c.username = self.etcd_username.clone();
                c.password = self.etcd_password.clone();
                Ok(DatastoreConfig::Etcd(c))
            }
            other => Err(format!(
                "datastoreType {other:?} is not supported (use sqlite or etcdv3)"
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    api_version: Option<String>,
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    spec: Settings,
}

fn parse_file(text: &str) -> Result<Settings, String> {
    let f: ConfigFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    if f.kind != "BrindleAPIConfig" && f.kind != "CalicoAPIConfig" {
        return Err(format!("kind {:?} should be BrindleAPIConfig", f.kind));
    }
    if let Some(v) = f.api_version.filter(|v| v != brindle_api::API_VERSION) {
        return Err(format!(
            "apiVersion {v:?} should be {}",
            brindle_api::API_VERSION
        ));
    }
    Ok(f.spec)
}

/// Resolves the layers: default file (or none when `--config` is given), env, `--config`,
/// flags.
pub fn resolve(
    config_flag: Option<&Path>,
    env: Settings,
    flags: Settings,
) -> Result<Settings, String> {
    let mut s = Settings::default();
    if config_flag.is_none() {
        let default = std::env::var_os(CONFIG_FILE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        if default.exists() {
            s.merge(Settings::from_file(&default)?);
        }
    }
    s.merge(env);
    if let Some(p) = config_flag {
        s.merge(Settings::from_file(p)?);
    }
    s.merge(flags);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_flags_layer() {
        let file = parse_file(
            "apiVersion: projectcalico.org/v3\nkind: BrindleAPIConfig\nmetadata: {}\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: \"https://a:2379,https://b:2379\"\n  etcdCACertFile: /ca.pem\n",
        )
        .expect("parses");
        let mut s = Settings::default();
        s.merge(file);
        s.merge(Settings::from_env(|k| {
            (k == "ETCD_USERNAME").then(|| "root".to_string())
        }));
        let DatastoreConfig::Etcd(c) = s.datastore().expect("etcd") else {
            panic!("not etcd")
        };
        assert_eq!(c.endpoints, ["https://a:2379", "https://b:2379"]);
        assert_eq!(c.ca_cert_file, Some(PathBuf::from("/ca.pem")));
        assert_eq!(c.username.as_deref(), Some("root"));
        s.merge(Settings {
            datastore_type: Some("sqlite".into()),
            ..Default::default()
        });
        assert!(matches!(s.datastore(), Ok(DatastoreConfig::Sqlite(_))));
    }

    #[test]
    fn bad_files() {
        assert!(parse_file("kind: Other\nspec: {}\n").is_err());
        let e = parse_file("kind: BrindleAPIConfig\nspec: {etcdEndpoint: x}\n").expect_err("typo");
        assert!(e.contains("etcdEndpoint"), "{e}");
        let s = Settings {
            datastore_type: Some("consul".into()),
            ..Default::default()
        };
        assert!(s.datastore().is_err());
    }
}
