//! The ADD result, built once and printed in the format of the configuration's version, and
//! read back from an IPAM plugin's answer or a `prevResult` of any supported version.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::spec::Version;

/// An interface the plugin created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address, `ee:ee:ee:ee:ee:ee`.
    pub mac: Option<String>,
    /// The network namespace it is in; `None` for the host.
    pub sandbox: Option<String>,
    /// Its MTU (printed from 1.1.0 on).
    pub mtu: Option<u32>,
}

/// An address given to the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpConfig {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Index into the interfaces of the result.
    pub interface: Option<usize>,
}

/// A route in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// The destination, `0.0.0.0/0`.
    pub dst: String,
    /// The gateway.
    pub gw: Option<IpAddr>,
}

/// A plugin's result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CniResult {
    /// Interfaces created.
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    pub ips: Vec<IpConfig>,
    /// Routes in the container.
    pub routes: Vec<RouteEntry>,
    /// DNS settings, passed through from IPAM.
    pub dns: Value,
}

impl CniResult {
    /// The result in `version`'s format.
    pub fn to_json(&self, version: Version) -> Value {
        let interfaces: Vec<Value> = self
            .interfaces
            .iter()
            .map(|i| {
                let mut m = Map::new();
                m.insert("name".into(), json!(i.name));
                if let Some(mac) = &i.mac {
                    m.insert("mac".into(), json!(mac));
                }
                if let (Some(mtu), true) = (i.mtu, version >= Version::V110) {
                    m.insert("mtu".into(), json!(mtu));
                }
                if let Some(s) = &i.sandbox {
                    m.insert("sandbox".into(), json!(s));
                }
                Value::Object(m)
            })
            .collect();
        let ips: Vec<Value> = self
            .ips
            .iter()
            .map(|ip| {
                let mut m = Map::new();
                if version.ip_has_version() {
                    m.insert(
                        "version".into(),
                        json!(if ip.addr.is_ipv4() { "4" } else { "6" }),
                    );
                }
                m.insert(
                    "address".into(),
                    json!(format!("{}/{}", ip.addr, ip.prefix_len)),
                );
                if let Some(g) = ip.gateway {
                    m.insert("gateway".into(), json!(g.to_string()));
                }
                if let Some(i) = ip.interface {
                    m.insert("interface".into(), json!(i));
                }
                Value::Object(m)
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| match r.gw {
                Some(gw) => json!({"dst": r.dst, "gw": gw.to_string()}),
                None => json!({"dst": r.dst}),
            })
            .collect();
        let mut out = Map::new();
        out.insert("cniVersion".into(), json!(version.as_str()));
        if !interfaces.is_empty() {
            out.insert("interfaces".into(), Value::Array(interfaces));
        }
        out.insert("ips".into(), Value::Array(ips));
        if !routes.is_empty() {
            out.insert("routes".into(), Value::Array(routes));
        }
        out.insert(
            "dns".into(),
            if self.dns.is_object() {
                self.dns.clone()
            } else {
                json!({})
            },
        );
        Value::Object(out)
    }

    /// Reads a result of any supported version (an IPAM plugin's, a `prevResult`).
    pub fn from_json(v: &Value) -> Result<CniResult, String> {
        let list = |key: &str| {
            v.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let text = |o: &Value, key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
        let interfaces = list("interfaces")
            .iter()
            .map(|i| {
                Ok(Interface {
                    name: text(i, "name").ok_or("an interface without a name")?,
                    mac: text(i, "mac"),
                    sandbox: text(i, "sandbox").filter(|s| !s.is_empty()),
                    mtu: i
                        .get("mtu")
                        .and_then(Value::as_u64)
                        .and_then(|m| u32::try_from(m).ok()),
                })
            })
            .collect::<Result<_, String>>()?;
        let ips = list("ips")
            .iter()
            .map(|ip| {
                let address = text(ip, "address").ok_or("an IP without an address")?;
                let (addr, prefix_len) = parse_cidr(&address)?;
                let gateway = match text(ip, "gateway") {
                    Some(g) => Some(
                        g.parse()
                            .map_err(|_| format!("gateway {g:?} is not an address"))?,
                    ),
                    None => None,
                };
                Ok(IpConfig {
                    addr,
                    prefix_len,
                    gateway,
                    interface: ip
                        .get("interface")
                        .and_then(Value::as_u64)
                        .and_then(|i| usize::try_from(i).ok()),
                })
            })
            .collect::<Result<_, String>>()?;
        let routes = list("routes")
            .iter()
            .map(|r| {
                Ok(RouteEntry {
                    dst: text(r, "dst").ok_or("a route without dst")?,
                    gw: match text(r, "gw") {
                        Some(g) => Some(
                            g.parse()
                                .map_err(|_| format!("route gateway {g:?} is not an address"))?,
                        ),
                        None => None,
                    },
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(CniResult {
            interfaces,
            ips,
            routes,
            dns: v.get("dns").cloned().unwrap_or(Value::Null),
        })
    }
}

/// `10.0.0.5/24` as address and prefix length (host bits kept).
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("{s:?} is not an address/length");
    let (a, l) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = a.parse().map_err(|_| bad())?;
    let len: u8 = l.parse().map_err(|_| bad())?;
    if len > if addr.is_ipv4() { 32 } else { 128 } {
        return Err(bad());
    }
    Ok((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![
                Interface {
                    name: "cali0123456789a".into(),
                    mac: Some("ee:ee:ee:ee:ee:ee".into()),
                    sandbox: None,
                    mtu: Some(1500),
                },
                Interface {
                    name: "eth0".into(),
                    mac: Some("02:00:00:00:00:01".into()),
                    sandbox: Some("/run/netns/pod".into()),
                    mtu: Some(1500),
                },
            ],
            ips: vec![IpConfig {
                addr: "10.244.0.5".parse().expect("ip"),
                prefix_len: 32,
                gateway: None,
                interface: Some(1),
            }],
            routes: vec![RouteEntry {
                dst: "0.0.0.0/0".into(),
                gw: Some("169.254.1.1".parse().expect("ip")),
            }],
            dns: json!({}),
        }
    }

    #[test]
    fn each_version_in_its_own_format() {
        let r = sample();
        let old = r.to_json(Version::V031);
        assert_eq!(old["cniVersion"], "0.3.1");
        assert_eq!(old["ips"][0]["version"], "4");
        assert_eq!(old["ips"][0]["address"], "10.244.0.5/32");
        assert!(old["interfaces"][0].get("mtu").is_none());
        let v1 = r.to_json(Version::V100);
        assert!(v1["ips"][0].get("version").is_none());
        assert!(v1["interfaces"][1].get("mtu").is_none());
        let v11 = r.to_json(Version::V110);
        assert_eq!(v11["interfaces"][1]["mtu"], 1500);
        assert_eq!(v11["interfaces"][1]["sandbox"], "/run/netns/pod");
        assert_eq!(v11["routes"][0]["gw"], "169.254.1.1");
        for v in [Version::V030, Version::V040, Version::V110] {
            let back = CniResult::from_json(&r.to_json(v)).expect("valid");
            assert_eq!(back.ips, r.ips);
            assert_eq!(back.routes, r.routes);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(CniResult::from_json(&json!({"ips": [{"address": "10.0.0.1"}]})).is_err());
        assert!(CniResult::from_json(&json!({"ips": [{"address": "10.0.0.1/33"}]})).is_err());
        assert!(CniResult::from_json(&json!({"ips": [{}]})).is_err());
        assert_eq!(CniResult::from_json(&json!({})).map(|r| r.ips.len()), Ok(0));
    }
}
