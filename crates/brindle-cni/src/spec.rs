//! The CNI specification's vocabulary: versions, the error object and its codes, and the
//! `CNI_*` environment.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Value, json};

/// The versions this plugin answers, oldest first. Results use the format of the version the
/// network configuration declares.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// A CNI specification version this plugin speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// 0.3.0.
    V030,
    /// 0.3.1.
    V031,
    /// 0.4.0: adds CHECK.
    V040,
    /// 1.0.0: the IP `version` field goes.
    V100,
    /// 1.1.0: adds GC, STATUS and interface MTU.
    V110,
}

impl Version {
    /// The newest version.
    pub const LATEST: Version = Version::V110;

    /// The version spelled `s`, if this plugin speaks it.
    pub fn parse(s: &str) -> Option<Version> {
        Some(match s {
            "0.3.0" => Version::V030,
            "0.3.1" => Version::V031,
            "0.4.0" => Version::V040,
            "1.0.0" => Version::V100,
            "1.1.0" => Version::V110,
            _ => return None,
        })
    }

    /// As the spec spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V030 => "0.3.0",
            Version::V031 => "0.3.1",
            Version::V040 => "0.4.0",
            Version::V100 => "1.0.0",
            Version::V110 => "1.1.0",
        }
    }

    /// Whether results carry `"version": "4"` on each IP (0.3.x and 0.4.0).
    pub fn ip_has_version(self) -> bool {
        self < Version::V100
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Incompatible CNI version.
pub const ERR_INCOMPATIBLE_VERSION: u32 = 1;
/// Unsupported field in the network configuration.
pub const ERR_UNSUPPORTED_FIELD: u32 = 2;
/// Invalid necessary environment variables.
pub const ERR_INVALID_ENV: u32 = 4;
/// I/O failure.
pub const ERR_IO: u32 = 5;
/// Failed to decode content.
pub const ERR_DECODE: u32 = 6;
/// Invalid network configuration.
pub const ERR_INVALID_CONFIG: u32 = 7;
/// Try again later.
pub const ERR_TRY_AGAIN: u32 = 11;
/// STATUS: the plugin is not available (cannot service ADD requests).
pub const ERR_NOT_AVAILABLE: u32 = 50;
/// brindle's own: setting up or tearing down the data path failed.
pub const ERR_DATAPATH: u32 = 100;
/// brindle's own: address management failed.
pub const ERR_IPAM: u32 = 101;
/// brindle's own: CHECK found the attachment not as ADD left it.
pub const ERR_CHECK: u32 = 102;

/// The error object a plugin prints on failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniError {
    /// The spec's code (1–99 well known, 100+ brindle's own).
    pub code: u32,
    /// One line naming the problem.
    pub msg: String,
    /// More detail, possibly empty.
    pub details: String,
}

impl CniError {
    /// An error with `code` and message `msg`.
    pub fn new(code: u32, msg: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: impl Into<String>) -> CniError {
        self.details = details.into();
        self
    }

    /// The same error, its message prefixed by `context: `.
    pub fn context(mut self, context: &str) -> CniError {
        self.msg = format!("{context}: {}", self.msg);
        self
    }

    /// The error object, as printed on stdout.
    pub fn to_json(&self, version: &str) -> Value {
        json!({
            "cniVersion": version,
            "code": self.code,
            "msg": self.msg,
            "details": self.details,
        })
    }

    /// Reads an error object printed by another plugin.
    pub fn from_json(v: &Value) -> Option<CniError> {
        Some(CniError {
            code: u32::try_from(v.get("code")?.as_u64()?).ok()?,
            msg: v
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            details: v
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.msg, self.code)
    }
}

impl std::error::Error for CniError {}

/// The operation the runtime asks for (`CNI_COMMAND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Attach the container.
    Add,
    /// Detach it; succeeds when nothing is left.
    Del,
    /// Verify the attachment.
    Check,
    /// Whether ADD can be served.
    Status,
    /// Release what no valid attachment uses.
    Gc,
    /// Which spec versions are spoken.
    Version,
}

impl Command {
    /// As `CNI_COMMAND` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Status => "STATUS",
            Command::Gc => "GC",
            Command::Version => "VERSION",
        }
    }

    fn parse(s: &str) -> Option<Command> {
        Some(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "STATUS" => Command::Status,
            "GC" => Command::Gc,
            "VERSION" => Command::Version,
            _ => return None,
        })
    }
}

/// The `CNI_*` environment of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniEnv {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID` (empty for STATUS, GC and VERSION).
    pub container_id: String,
    /// `CNI_NETNS` (optional for DEL: the namespace may be gone).
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`: the interface name inside the container.
    pub ifname: String,
    /// `CNI_ARGS`, as key–value pairs.
    pub args: Vec<(String, String)>,
    /// `CNI_PATH`: where other plugins are looked for.
    pub path: Vec<PathBuf>,
}

impl CniEnv {
    /// Reads the environment through `var`; names every missing or invalid variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<CniEnv, CniError> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let command = match get("CNI_COMMAND") {
            None => return Err(CniError::new(ERR_INVALID_ENV, "CNI_COMMAND is not set")),
            Some(c) => Command::parse(&c).ok_or_else(|| {
                CniError::new(
                    ERR_INVALID_ENV,
                    format!("CNI_COMMAND {c:?} is not one of ADD, DEL, CHECK, STATUS, GC, VERSION"),
                )
            })?,
        };
        let attach = matches!(command, Command::Add | Command::Del | Command::Check);
        let mut missing = Vec::new();
        let mut need = |name: &'static str, needed: bool| {
            let v = get(name);
            if needed && v.is_none() {
                missing.push(name);
            }
            v.unwrap_or_default()
        };
        let container_id = need("CNI_CONTAINERID", attach);
        let netns = need(
            "CNI_NETNS",
            matches!(command, Command::Add | Command::Check),
        );
        let ifname = need("CNI_IFNAME", attach);
        if !missing.is_empty() {
            return Err(CniError::new(
                ERR_INVALID_ENV,
                format!(
                    "{} not set (needed for {})",
                    missing.join(", "),
                    command.as_str()
                ),
            ));
        }
        if attach {
            let ok = container_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(CniError::new(
                    ERR_INVALID_ENV,
                    format!(
                        "CNI_CONTAINERID {container_id:?} has characters other than letters, digits, '_', '.', '-'"
                    ),
                ));
            }
            let bad_if = ifname.is_empty()
                || ifname.len() > 15
                || ifname.contains(['/', ':', '\0'])
                || ifname.contains(char::is_whitespace)
                || ifname == "."
                || ifname == "..";
            if bad_if {
                return Err(CniError::new(
                    ERR_INVALID_ENV,
                    format!("CNI_IFNAME {ifname:?} is not a valid interface name"),
                ));
            }
        }
        let args = get("CNI_ARGS")
            .unwrap_or_default()
            .split(';')
            .filter(|kv| !kv.is_empty())
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => Ok((k.to_string(), v.to_string())),
                None => Err(CniError::new(
                    ERR_INVALID_ENV,
                    format!("CNI_ARGS: {kv:?} is not KEY=VALUE"),
                )),
            })
            .collect::<Result<_, _>>()?;
        let path = get("CNI_PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        Ok(CniEnv {
            command,
            container_id,
            netns: (!netns.is_empty()).then(|| PathBuf::from(netns)),
            ifname,
            args,
            path,
        })
    }

    /// The value of `key` in `CNI_ARGS`.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<CniEnv, CniError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CniEnv::from_vars(|k| m.get(k).cloned())
    }

    #[test]
    fn add_needs_its_variables_and_names_the_missing_ones() {
        let e = env(&[("CNI_COMMAND", "ADD"), ("CNI_IFNAME", "eth0")]).expect_err("missing");
        assert_eq!(e.code, ERR_INVALID_ENV);
        assert_eq!(e.msg, "CNI_CONTAINERID, CNI_NETNS not set (needed for ADD)");
        let e = env(&[]).expect_err("no command");
        assert_eq!(e.msg, "CNI_COMMAND is not set");
        let e = env(&[("CNI_COMMAND", "FROB")]).expect_err("bad command");
        assert!(e.msg.contains("FROB"));
        // DEL does not need the namespace (it may be gone); VERSION needs nothing else.
        let d = env(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
        ])
        .expect("valid");
        assert_eq!(d.netns, None);
        assert_eq!(
            env(&[("CNI_COMMAND", "VERSION")]).expect("valid").command,
            Command::Version
        );
    }

    #[test]
    fn args_and_path_are_split() {
        let e = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "abc-1"),
            ("CNI_NETNS", "/run/netns/x"),
            ("CNI_IFNAME", "eth0"),
            (
                "CNI_ARGS",
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
            ),
            ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ])
        .expect("valid");
        assert_eq!(e.arg("K8S_POD_NAME"), Some("web-0"));
        assert_eq!(e.arg("K8S_POD_NAMESPACE"), Some("default"));
        assert_eq!(e.arg("nope"), None);
        assert_eq!(e.path.len(), 2);
        let bad = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "a/b"),
            ("CNI_NETNS", "/x"),
            ("CNI_IFNAME", "eth0"),
        ])
        .expect_err("bad id");
        assert!(bad.msg.contains("CNI_CONTAINERID"));
    }

    #[test]
    fn versions() {
        for v in SUPPORTED_VERSIONS {
            assert_eq!(Version::parse(v).map(|v| v.as_str()), Some(*v));
        }
        assert_eq!(Version::parse("0.2.0"), None);
        assert!(Version::V040.ip_has_version() && !Version::V100.ip_has_version());
        let e = CniError::new(7, "bad").with_details("d");
        assert_eq!(CniError::from_json(&e.to_json("1.0.0")), Some(e));
    }
}
