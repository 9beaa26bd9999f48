//! The network configuration on stdin: the spec's fields, brindle's, and the `ipam` section.

use std::path::PathBuf;

use serde_json::Value;

use crate::spec::{
    CniError, ERR_DECODE, ERR_INCOMPATIBLE_VERSION, ERR_INVALID_CONFIG, SUPPORTED_VERSIONS, Version,
};

/// Default host interface prefix (Calico's).
pub const DEFAULT_PREFIX: &str = "cali";
/// Default directory of node state (`mtu`).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/brindle";
/// Default MTU, when neither the configuration nor the state directory gives one.
pub const DEFAULT_MTU: u32 = 1500;

/// A network configuration, as the runtime passes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConf {
    /// The whole document, passed on unchanged to a delegated IPAM plugin.
    pub raw: Value,
    /// `cniVersion`.
    pub version: Version,
    /// `name`: the network's name (IPAM handles are `<name>.<containerID>`).
    pub name: String,
    /// `type`.
    pub kind: String,
    /// `nodename`: this host's name in the datastore.
    pub nodename: Option<String>,
    /// `mtu`: the pods' MTU; otherwise `<state_dir>/mtu`, otherwise 1500.
    pub mtu: Option<u32>,
    /// `interface_prefix`: host veth names start with it (`cali`).
    pub interface_prefix: String,
    /// `state_dir`: where the node agent leaves `mtu` (`/var/lib/brindle`).
    pub state_dir: PathBuf,
    /// `ipam.type`, if there is an `ipam` section.
    pub ipam_type: Option<String>,
    /// `prevResult`, in a chain.
    pub prev_result: Option<Value>,
}

/// The declared `cniVersion` of a document, checked against the versions spoken.
pub fn version_of(raw: &Value) -> Result<Version, CniError> {
    match raw.get("cniVersion") {
        None => Err(CniError::new(ERR_INVALID_CONFIG, "cniVersion is missing")),
        Some(Value::String(s)) => Version::parse(s).ok_or_else(|| {
            CniError::new(
                ERR_INCOMPATIBLE_VERSION,
                format!(
                    "incompatible CNI versions: config is {s:?}, plugin supports {}",
                    SUPPORTED_VERSIONS.join(", ")
                ),
            )
        }),
        Some(other) => Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!("cniVersion {other} is not a string"),
        )),
    }
}

/// Parses stdin as JSON (malformed: code 6).
pub fn parse_json(stdin: &[u8]) -> Result<Value, CniError> {
    let v: Value = serde_json::from_slice(stdin).map_err(|e| {
        CniError::new(
            ERR_DECODE,
            format!("network configuration is not valid JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(CniError::new(
            ERR_DECODE,
            "network configuration is not a JSON object",
        ));
    }
    Ok(v)
}

fn text(raw: &Value, key: &str) -> Result<Option<String>, CniError> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(CniError::new(
            ERR_INVALID_CONFIG,
            format!("{key}: {other} is not a string"),
        )),
    }
}

impl NetConf {
    /// Reads and checks a configuration (wrong or missing fields: code 7).
    pub fn parse(raw: Value) -> Result<NetConf, CniError> {
        let version = version_of(&raw)?;
        let invalid = |m: String| CniError::new(ERR_INVALID_CONFIG, m);
        let name = text(&raw, "name")?.ok_or_else(|| invalid("name is missing".into()))?;
        let kind = text(&raw, "type")?.ok_or_else(|| invalid("type is missing".into()))?;
        let mtu = match raw.get("mtu") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|m| u32::try_from(m).ok())
                    .filter(|m| (68..=65535).contains(m))
                    .ok_or_else(|| invalid(format!("mtu: {v} is not a number in 68..=65535")))?,
            ),
        };
        let interface_prefix =
            text(&raw, "interface_prefix")?.unwrap_or_else(|| DEFAULT_PREFIX.into());
        if interface_prefix.is_empty()
            || interface_prefix.len() > 4
            || !interface_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "interface_prefix {interface_prefix:?}: 1 to 4 letters, digits, '-' or '_' (the name adds 11 characters, Linux allows 15)"
            )));
        }
        let state_dir = text(&raw, "state_dir")?
            .map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), PathBuf::from);
        let ipam_type = match raw.get("ipam") {
            None | Some(Value::Null) => None,
            Some(ipam @ Value::Object(_)) => {
                Some(text(ipam, "type")?.ok_or_else(|| invalid("ipam.type is missing".into()))?)
            }
            Some(other) => return Err(invalid(format!("ipam: {other} is not an object"))),
        };
        Ok(NetConf {
            version,
            name,
            kind,
            nodename: text(&raw, "nodename")?,
            mtu,
            interface_prefix,
            state_dir,
            ipam_type,
            prev_result: raw.get("prevResult").filter(|v| !v.is_null()).cloned(),
            raw,
        })
    }

    /// The pods' MTU: the configuration's, else the node's `<state_dir>/mtu`, else 1500.
    pub fn effective_mtu(&self) -> u32 {
        self.mtu
            .or_else(|| {
                std::fs::read_to_string(self.state_dir.join("mtu"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .filter(|m| (68..=65535).contains(m))
            })
            .unwrap_or(DEFAULT_MTU)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_fields() {
        let c = NetConf::parse(
            json!({"cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "brindle",
            "ipam": {"type": "host-local"}}),
        )
        .expect("valid");
        assert_eq!(c.version, Version::V100);
        assert_eq!(c.interface_prefix, "cali");
        assert_eq!(c.ipam_type.as_deref(), Some("host-local"));
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/brindle"));
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mtu"), "1440\n").expect("write");
        let c = NetConf::parse(
            json!({"cniVersion": "0.3.1", "name": "n", "type": "brindle",
            "state_dir": dir.path()}),
        )
        .expect("valid");
        assert_eq!(c.effective_mtu(), 1440);
        let c = NetConf::parse(
            json!({"cniVersion": "0.3.1", "name": "n", "type": "brindle",
            "state_dir": dir.path(), "mtu": 1400}),
        )
        .expect("valid");
        assert_eq!(c.effective_mtu(), 1400);
        let c = NetConf::parse(
            json!({"cniVersion": "0.3.1", "name": "n", "type": "brindle",
            "state_dir": "/nonexistent"}),
        )
        .expect("valid");
        assert_eq!(c.effective_mtu(), 1500);
    }

    #[test]
    fn bad_configs_get_the_spec_codes() {
        assert_eq!(
            parse_json(b"{not json")
                .map(|_| ())
                .expect_err("refused")
                .code,
            ERR_DECODE
        );
        assert_eq!(
            parse_json(b"[1]").map(|_| ()).expect_err("refused").code,
            ERR_DECODE
        );
        let code = |v: Value| NetConf::parse(v).map(|_| ()).expect_err("refused").code;
        assert_eq!(
            code(json!({"cniVersion": "9.9.9", "name": "n", "type": "brindle"})),
            ERR_INCOMPATIBLE_VERSION
        );
        assert_eq!(
            code(json!({"name": "n", "type": "brindle"})),
            ERR_INVALID_CONFIG
        );
        assert_eq!(
            code(json!({"cniVersion": "1.0.0", "type": "brindle"})),
            ERR_INVALID_CONFIG
        );
        assert_eq!(
            code(json!({"cniVersion": "1.0.0", "name": "n", "type": "brindle", "mtu": "x"})),
            ERR_INVALID_CONFIG
        );
        assert_eq!(
            code(
                json!({"cniVersion": "1.0.0", "name": "n", "type": "brindle", "interface_prefix": "toolong"})
            ),
            ERR_INVALID_CONFIG
        );
        assert_eq!(
            code(json!({"cniVersion": "1.0.0", "name": "n", "type": "brindle", "ipam": {}})),
            ERR_INVALID_CONFIG
        );
    }
}
