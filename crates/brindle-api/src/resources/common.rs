//! Small types several kinds share.

use serde::{Deserialize, Serialize};

use crate::check::Checker;

/// The status of a kind that has none: only an empty object (or nothing) is accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoStatus {}

/// A reference to a key of a Kubernetes secret (`secretKeyRef`), as Calico's BGP passwords use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    /// Secret name.
    pub name: String,
    /// Key within the secret.
    pub key: String,
    /// Whether the secret may be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A BGP password source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpPassword {
    /// Take the password from a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
}

impl BgpPassword {
    /// Checks that a source is given and well-formed.
    pub fn validate(&self, path: &str, c: &mut Checker) {
        match &self.secret_key_ref {
            None => c.err(path, "secretKeyRef is required"),
            Some(r) => {
                if r.name.is_empty() {
                    c.err(&format!("{path}.secretKeyRef.name"), "is required");
                }
                if r.key.is_empty() {
                    c.err(&format!("{path}.secretKeyRef.key"), "is required");
                }
            }
        }
    }
}

/// Log severities Calico accepts for `logSeverityScreen`.
pub const LOG_SEVERITIES: [&str; 6] = ["Trace", "Debug", "Info", "Warning", "Error", "Fatal"];

/// Checks a log severity (case-insensitive, as Calico).
pub fn check_log_severity(path: &str, value: &str, c: &mut Checker) {
    if !LOG_SEVERITIES.iter().any(|s| s.eq_ignore_ascii_case(value)) {
        c.err(
            path,
            format!("{value:?} is not one of {}", LOG_SEVERITIES.join(", ")),
        );
    }
}

/// Checks a name that must be `default` or `node.<nodename>` (BGPConfiguration,
/// FelixConfiguration); returns true for a per-node name.
pub fn check_default_or_node_name(name: &str, c: &mut Checker) -> bool {
    if name == "default" {
        return false;
    }
    match name.strip_prefix("node.") {
        Some(node) if crate::check::resource_name(node).is_ok() => true,
        _ => {
            c.err(
                "metadata.name",
                format!("{name:?} must be \"default\" or \"node.<nodename>\""),
            );
            false
        }
    }
}

/// Checks a MAC address written as six colon-separated hex octets.
pub fn check_mac(path: &str, value: &str, c: &mut Checker) {
    let parts: Vec<&str> = value.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|ch| ch.is_ascii_hexdigit()));
    if !ok {
        c.err(
            path,
            format!("{value:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"),
        );
    }
}

/// Checks an IP address of the given family (`Some(true)` = IPv4, `Some(false)` = IPv6).
pub fn check_ip(path: &str, value: &str, v4: Option<bool>, c: &mut Checker) {
    match value.parse::<std::net::IpAddr>() {
        Err(_) => c.err(path, format!("{value:?} is not an IP address")),
        Ok(ip) if v4.is_some_and(|want| want != ip.is_ipv4()) => {
            let fam = if ip.is_ipv4() { "IPv6" } else { "IPv4" };
            c.err(path, format!("{value:?} is not an {fam} address"));
        }
        Ok(_) => {}
    }
}
