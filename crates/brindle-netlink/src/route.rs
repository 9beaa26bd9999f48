//! [`Route`]: a kernel route as brindle programs it, and [`RouteFilter`] for dumps.

use std::fmt;
use std::net::IpAddr;

use crate::{Cidr, RT_TABLE_MAIN, RTPROT_BRINDLE};

/// A kernel route: a destination, where its packets go, and the table and protocol it is
/// filed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination network.
    pub dst: Cidr,
    /// Where packets go.
    pub target: Target,
    /// The routing table (254 is `main`).
    pub table: u32,
    /// The route protocol number (`proto` in `ip route`): who owns the route.
    pub protocol: u8,
    /// The metric (`RTA_PRIORITY`); `None` lets the kernel choose (0 for IPv4, 1024 for IPv6).
    pub metric: Option<u32>,
}

/// Where a route's packets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Through one next hop, or several (ECMP, `RTA_MULTIPATH`). A route whose next hops are
    /// all device-only has scope link (`10.244.0.5 dev cali1234 scope link`).
    NextHops(Vec<NextHop>),
    /// Dropped silently (`blackhole 10.244.0.0/26`).
    Blackhole,
    /// Another route type, as found in a dump (`RTN_*`: e.g. 7 unreachable, 8 prohibit).
    Other(u8),
}

/// One next hop of a route: a gateway, a device, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    /// The gateway (`via`); of the destination's address family.
    pub gateway: Option<IpAddr>,
    /// The outgoing interface's index (`dev`); needed for a link-local gateway.
    pub ifindex: Option<u32>,
    /// Whether the gateway is taken as on the link without checking a connected route
    /// (`onlink`, as tunnel routes need).
    pub onlink: bool,
}

impl NextHop {
    /// A next hop through `gateway`.
    pub fn via(gateway: IpAddr) -> NextHop {
        NextHop {
            gateway: Some(gateway),
            ifindex: None,
            onlink: false,
        }
    }

    /// A next hop straight out of the interface `ifindex` (no gateway).
    pub fn dev(ifindex: u32) -> NextHop {
        NextHop {
            gateway: None,
            ifindex: Some(ifindex),
            onlink: false,
        }
    }

    /// The same next hop out of the interface `ifindex`.
    pub fn on(mut self, ifindex: u32) -> NextHop {
        self.ifindex = Some(ifindex);
        self
    }

    /// The same next hop, marked `onlink`.
    pub fn onlink(mut self) -> NextHop {
        self.onlink = true;
        self
    }
}

impl Route {
    /// A route to `dst` through `next_hops` (ECMP when several), in the main table with
    /// brindle's protocol number.
    pub fn new(dst: Cidr, next_hops: Vec<NextHop>) -> Route {
        Route {
            dst,
            target: Target::NextHops(next_hops),
            table: RT_TABLE_MAIN,
            protocol: RTPROT_BRINDLE,
            metric: None,
        }
    }

    /// A route to `dst` via `gateways` (ECMP when several), in the main table with brindle's
    /// protocol number.
    pub fn via(dst: Cidr, gateways: impl IntoIterator<Item = IpAddr>) -> Route {
        Route::new(dst, gateways.into_iter().map(NextHop::via).collect())
    }

    /// A device route (`dst dev IFINDEX scope link`).
    pub fn device(dst: Cidr, ifindex: u32) -> Route {
        Route::new(dst, vec![NextHop::dev(ifindex)])
    }

    /// A blackhole route (`blackhole dst`).
    pub fn blackhole(dst: Cidr) -> Route {
        Route {
            target: Target::Blackhole,
            ..Route::new(dst, Vec::new())
        }
    }

    /// The same route in table `table`.
    pub fn in_table(mut self, table: u32) -> Route {
        self.table = table;
        self
    }

    /// The same route with protocol number `protocol`.
    pub fn with_protocol(mut self, protocol: u8) -> Route {
        self.protocol = protocol;
        self
    }

    /// The same route with metric `metric`.
    pub fn with_metric(mut self, metric: u32) -> Route {
        self.metric = Some(metric);
        self
    }

    /// Why the kernel could not take this route as it is, if it could not: no next hop, a next
    /// hop with neither gateway nor device, or a gateway of the other address family.
    pub fn problem(&self) -> Option<String> {
        let Target::NextHops(hops) = &self.target else {
            return match self.target {
                Target::Other(t) => Some(format!("route type {t} cannot be programmed")),
                _ => None,
            };
        };
        if hops.is_empty() {
            return Some("no next hop".into());
        }
        for h in hops {
            match h.gateway {
                None if h.ifindex.is_none() => {
                    return Some("a next hop has neither gateway nor device".into());
                }
                Some(g) if g.is_ipv4() != self.dst.is_ipv4() => {
                    return Some(format!("gateway {g} is not of the destination's family"));
                }
                _ => {}
            }
        }
        None
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(g) = self.gateway {
            write!(f, "via {g}")?;
            sep = " ";
        }
        if let Some(i) = self.ifindex {
            write!(f, "{sep}dev #{i}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

/// As `ip route` prints it (device names as `#INDEX`; table only when not main).
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Blackhole => write!(f, "blackhole {}", self.dst)?,
            Target::Other(t) => write!(f, "type {t} {}", self.dst)?,
            Target::NextHops(hops) if hops.len() == 1 => write!(f, "{} {}", self.dst, hops[0])?,
            Target::NextHops(hops) => {
                write!(f, "{}", self.dst)?;
                for h in hops {
                    write!(f, " nexthop {h}")?;
                }
            }
        }
        if self.table != RT_TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        Ok(())
    }
}

/// Which routes a dump returns. Every field left `None` matches everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// IPv4 only (`Some(true)`), IPv6 only (`Some(false)`), or both.
    pub ipv4: Option<bool>,
    /// Only this table.
    pub table: Option<u32>,
    /// Only routes of this protocol number.
    pub protocol: Option<u8>,
}

impl RouteFilter {
    /// The routes of one protocol in one table, both families: what an owner of routes
    /// reconciles against.
    pub fn owned(table: u32, protocol: u8) -> RouteFilter {
        RouteFilter {
            ipv4: None,
            table: Some(table),
            protocol: Some(protocol),
        }
    }

    /// Whether `route` passes the filter.
    pub fn matches(&self, route: &Route) -> bool {
        self.ipv4.is_none_or(|v4| v4 == route.dst.is_ipv4())
            && self.table.is_none_or(|t| t == route.table)
            && self.protocol.is_none_or(|p| p == route.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn displays_like_ip_route() {
        let r = Route::via(cidr("10.1.0.0/24"), [ip("10.0.0.2")]);
        assert_eq!(r.to_string(), "10.1.0.0/24 via 10.0.0.2");
        let r = Route::via(cidr("10.1.0.0/24"), [ip("10.0.0.2"), ip("10.0.0.3")]).in_table(100);
        assert_eq!(
            r.to_string(),
            "10.1.0.0/24 nexthop via 10.0.0.2 nexthop via 10.0.0.3 table 100"
        );
        assert_eq!(
            Route::blackhole(cidr("10.2.0.0/26")).to_string(),
            "blackhole 10.2.0.0/26"
        );
        assert_eq!(
            Route::device(cidr("10.2.0.5/32"), 7).to_string(),
            "10.2.0.5/32 dev #7"
        );
        let r = Route::new(
            cidr("10.3.0.0/24"),
            vec![NextHop::via(ip("10.9.0.1")).on(3).onlink()],
        );
        assert_eq!(r.to_string(), "10.3.0.0/24 via 10.9.0.1 dev #3 onlink");
    }

    #[test]
    fn problems_are_found_before_the_kernel_sees_them() {
        assert!(Route::via(cidr("10.1.0.0/24"), []).problem().is_some());
        assert!(
            Route::via(cidr("10.1.0.0/24"), [ip("fd00::1")])
                .problem()
                .is_some_and(|p| p.contains("family"))
        );
        let r = Route::new(
            cidr("10.1.0.0/24"),
            vec![NextHop {
                gateway: None,
                ifindex: None,
                onlink: false,
            }],
        );
        assert!(r.problem().is_some());
        assert_eq!(Route::blackhole(cidr("fd00::/64")).problem(), None);
        assert_eq!(
            Route::via(cidr("fd00::/64"), [ip("fe80::1")]).problem(),
            None
        );
    }

    #[test]
    fn filters() {
        let r = Route::via(cidr("10.1.0.0/24"), [ip("10.0.0.2")]);
        assert!(RouteFilter::default().matches(&r));
        assert!(RouteFilter::owned(RT_TABLE_MAIN, RTPROT_BRINDLE).matches(&r));
        assert!(!RouteFilter::owned(100, RTPROT_BRINDLE).matches(&r));
        assert!(!RouteFilter::owned(RT_TABLE_MAIN, 12).matches(&r));
        let v6 = RouteFilter {
            ipv4: Some(false),
            ..RouteFilter::default()
        };
        assert!(!v6.matches(&r));
    }
}
