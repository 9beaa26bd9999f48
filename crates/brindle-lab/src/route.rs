//! Routes as the tests see them: in a daemon's RIB ([`RouteInfo`]) and in a kernel table
//! ([`KernelRoute`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::prefix::{Family, IpPrefix};

/// One path for a prefix in a BGP daemon's RIB, as that daemon's own CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The destination.
    pub prefix: IpPrefix,
    /// The BGP next hop (the global one when a link-local one is given too); `None` for
    /// locally originated routes.
    pub next_hop: Option<IpAddr>,
    /// The AS path, leftmost (neighbor) AS first; AS_SET members are flattened in.
    pub as_path: Vec<u32>,
    /// LOCAL_PREF, if present.
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC, if present.
    pub med: Option<u32>,
    /// ORIGINATOR_ID (set by route reflectors), if present.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (set by route reflectors), first entry first.
    pub cluster_list: Vec<Ipv4Addr>,
    /// Communities as `asn:value` strings.
    pub communities: Vec<String>,
    /// Whether this is the daemon's best path for the prefix.
    pub best: bool,
    /// Where it came from: the BIRD protocol name, the FRR/GoBGP neighbor address, or `None`
    /// for a route the daemon originated itself.
    pub source: Option<String>,
}

impl RouteInfo {
    /// A path for `prefix` with no attributes yet.
    pub fn new(prefix: IpPrefix) -> RouteInfo {
        RouteInfo {
            prefix,
            next_hop: None,
            as_path: Vec::new(),
            local_pref: None,
            med: None,
            originator_id: None,
            cluster_list: Vec::new(),
            communities: Vec::new(),
            best: false,
            source: None,
        }
    }
}

impl fmt::Display for RouteInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix)?;
        if let Some(nh) = self.next_hop {
            write!(f, " via {nh}")?;
        }
        let path: Vec<String> = self.as_path.iter().map(u32::to_string).collect();
        write!(f, " as-path [{}]", path.join(" "))?;
        if let Some(o) = self.originator_id {
            write!(f, " originator {o}")?;
        }
        if !self.cluster_list.is_empty() {
            let cl: Vec<String> = self.cluster_list.iter().map(Ipv4Addr::to_string).collect();
            write!(f, " cluster-list [{}]", cl.join(" "))?;
        }
        if let Some(s) = &self.source {
            write!(f, " from {s}")?;
        }
        if self.best {
            write!(f, " best")?;
        }
        Ok(())
    }
}

/// Renders a route list one per line, for assertion messages.
pub fn describe_routes(routes: &[RouteInfo]) -> String {
    if routes.is_empty() {
        return "(no routes)".to_string();
    }
    routes
        .iter()
        .map(|r| format!("  {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One route of a kernel routing table, from `ip -j route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// The destination (`default` is the zero-length prefix).
    pub dst: IpPrefix,
    /// The route type: `unicast`, `blackhole`, `unreachable`, `local`...
    pub kind: String,
    /// Gateways: one, several for an ECMP route, or none for a connected or blackhole route.
    pub gateways: Vec<IpAddr>,
    /// The output device, if any (the first next hop's for ECMP routes).
    pub dev: Option<String>,
    /// The route protocol (`kernel`, `boot`, `static`, `bgp`, `bird`, a number...).
    pub protocol: Option<String>,
}

impl KernelRoute {
    /// Parses the JSON array `ip -j route` prints for one family.
    pub fn parse_json(text: &str, family: Family) -> Result<Vec<KernelRoute>> {
        let bad = |d: String| Error::parse("ip -j route output", d);
        let text = text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("{e}: {text}")))?;
        let items = value
            .as_array()
            .ok_or_else(|| bad(format!("not an array: {text}")))?;
        items
            .iter()
            .map(|r| KernelRoute::from_json(r, family).ok_or_else(|| bad(format!("{r}"))))
            .collect()
    }

    fn from_json(r: &Value, family: Family) -> Option<KernelRoute> {
        let dst = r.get("dst")?.as_str()?;
        let dst = if dst == "default" {
            let zero = match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            IpPrefix::new(zero, 0)?
        } else {
            dst.parse().ok()?
        };
        let mut gateways = Vec::new();
        let mut dev = r.get("dev").and_then(Value::as_str).map(str::to_string);
        if let Some(gw) = r.get("gateway").and_then(Value::as_str) {
            gateways.push(gw.parse().ok()?);
        }
        if let Some(hops) = r.get("nexthops").and_then(Value::as_array) {
            for hop in hops {
                if let Some(gw) = hop.get("gateway").and_then(Value::as_str) {
                    gateways.push(gw.parse().ok()?);
                }
                if dev.is_none() {
                    dev = hop.get("dev").and_then(Value::as_str).map(str::to_string);
                }
            }
        }
        let protocol = match r.get("protocol") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(KernelRoute {
            dst,
            kind: r
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unicast")
                .to_string(),
            gateways,
            dev,
            protocol,
        })
    }
}

impl fmt::Display for KernelRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != "unicast" {
            write!(f, "{} ", self.kind)?;
        }
        write!(f, "{}", self.dst)?;
        for gw in &self.gateways {
            write!(f, " via {gw}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(p) = &self.protocol {
            write!(f, " proto {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_route_json() {
        let text = r#"[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]},
            {"dst":"10.250.1.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.250.1.3","flags":[]},
            {"dst":"192.0.2.0/24","nhid":6,"gateway":"10.250.1.2","dev":"eth0","protocol":"bgp","metric":20,"flags":[]},
            {"type":"blackhole","dst":"198.51.100.0/24","protocol":"bird","flags":[]},
            {"dst":"203.0.113.0/24","protocol":"bgp","flags":[],"nexthops":[{"gateway":"10.250.1.2","dev":"eth0","weight":1,"flags":[]},{"gateway":"10.250.1.4","dev":"eth0","weight":1,"flags":[]}]},
            {"dst":"192.0.2.9","dev":"eth0","protocol":"static","flags":[]}]"#;
        let routes = KernelRoute::parse_json(text, Family::V4);
        let Ok(routes) = routes else {
            panic!("{routes:?}")
        };
        let shown: Vec<String> = routes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0/0 via 10.0.0.1 dev eth0",
                "10.250.1.0/24 dev eth0 proto kernel",
                "192.0.2.0/24 via 10.250.1.2 dev eth0 proto bgp",
                "blackhole 198.51.100.0/24 proto bird",
                "203.0.113.0/24 via 10.250.1.2 via 10.250.1.4 dev eth0 proto bgp",
                "192.0.2.9/32 dev eth0 proto static",
            ]
        );
    }

    #[test]
    fn empty_output_is_no_routes() {
        assert!(KernelRoute::parse_json("", Family::V6).is_ok_and(|r| r.is_empty()));
        assert!(KernelRoute::parse_json("[]", Family::V6).is_ok_and(|r| r.is_empty()));
        assert!(KernelRoute::parse_json("{", Family::V6).is_err());
    }
}
