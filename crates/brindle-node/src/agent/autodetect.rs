//! Node IP autodetection, with calico-node's methods: `first-found`, `can-reach=DEST`,
//! `interface=REGEX`, `skip-interface=REGEX`, `cidr=CIDR[,CIDR…]`. The choice among the host's
//! interfaces is pure ([`choose`]); [`detect`] reads the interfaces with netlink.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use brindle_api::net::Cidr;
use brindle_netlink::{IFF_UP, Netlink};
use regex::Regex;

/// Interfaces `first-found` never picks (container, tunnel and bridge devices; Calico's list).
const DEFAULT_EXCLUDES: &[&str] = &[
    "^docker.*",
    "^cbr.*",
    "^dummy.*",
    "^virbr.*",
    "^lxcbr.*",
    "^veth.*",
    "^lo$",
    "^cali.*",
    "^tunl.*",
    "^flannel.*",
    "^kube-ipvs.*",
    "^cni.*",
    "^vxlan.*",
    "^wireguard.*",
    "^wg.*",
];

/// One interface as the choice sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    /// Its name.
    pub name: String,
    /// Administratively up.
    pub up: bool,
    /// Its IPv4 addresses (global scope) with prefix lengths, in the kernel's order.
    pub addrs: Vec<(Ipv4Addr, u8)>,
}

/// A parsed method.
#[derive(Clone, Debug)]
pub enum Method {
    /// The first address of the first up interface not excluded by default.
    FirstFound,
    /// The source address the kernel would use to reach this destination.
    CanReach(IpAddr),
    /// The first address of an interface whose name matches.
    Interface(Regex),
    /// The first address of an interface whose name does not match (nor the defaults).
    SkipInterface(Regex),
    /// The first address inside one of these networks.
    Cidr(Vec<Cidr>),
}

impl Method {
    /// Parses `first-found`, `can-reach=DEST`, `interface=REGEX`, `skip-interface=REGEX`,
    /// `cidr=CIDR[,CIDR…]`.
    pub fn parse(s: &str) -> Result<Method, String> {
        let err = |m: String| format!("IP_AUTODETECTION_METHOD {s:?}: {m}");
        let regex =
            |r: &str| Regex::new(r).map_err(|e| err(format!("bad regular expression: {e}")));
        match s.split_once('=') {
            None if s == "first-found" => Ok(Method::FirstFound),
            Some(("can-reach", dest)) => {
                let ip = dest
                    .parse::<IpAddr>()
                    .map_err(|_| err("can-reach needs an IP address".into()))?;
                Ok(Method::CanReach(ip))
            }
            Some(("interface", r)) => Ok(Method::Interface(regex(&format!("^(?:{r})$"))?)),
            Some(("skip-interface", r)) => {
                Ok(Method::SkipInterface(regex(&format!("^(?:{r})$"))?))
            }
            Some(("cidr", list)) => list
                .split(',')
                .map(|c| {
                    c.trim()
                        .parse::<Cidr>()
                        .map_err(|e| err(format!("{c:?}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Method::Cidr),
            _ => Err(err(
                "expected first-found, can-reach=DEST, interface=REGEX, skip-interface=REGEX or cidr=CIDR"
                    .into(),
            )),
        }
    }
}

fn excluded_by_default(name: &str) -> bool {
    DEFAULT_EXCLUDES
        .iter()
        .any(|p| Regex::new(p).is_ok_and(|r| r.is_match(name)))
}

/// Picks the address for `method` among `ifaces` (`can-reach` is answered by `source`, the
/// kernel's source address toward the destination).
pub fn choose(
    method: &Method,
    ifaces: &[Iface],
    source: Option<Ipv4Addr>,
) -> Option<(Ipv4Addr, u8)> {
    let first = |keep: &dyn Fn(&Iface) -> bool| {
        ifaces
            .iter()
            .filter(|i| i.up && keep(i))
            .find_map(|i| i.addrs.first().copied())
    };
    match method {
        Method::FirstFound => first(&|i| !excluded_by_default(&i.name)),
        Method::Interface(r) => first(&|i| r.is_match(&i.name)),
        Method::SkipInterface(r) => {
            first(&|i| !r.is_match(&i.name) && !excluded_by_default(&i.name))
        }
        Method::Cidr(nets) => ifaces.iter().filter(|i| i.up).find_map(|i| {
            i.addrs
                .iter()
                .find(|(a, _)| nets.iter().any(|n| n.contains(IpAddr::V4(*a))))
                .copied()
        }),
        Method::CanReach(_) => {
            let src = source?;
            ifaces
                .iter()
                .flat_map(|i| i.addrs.iter())
                .find(|(a, _)| *a == src)
                .copied()
                .or(Some((src, 32)))
        }
    }
}

/// The host's interfaces with their global IPv4 addresses.
fn interfaces() -> Result<Vec<Iface>, String> {
    let mut nl = Netlink::open().map_err(|e| format!("autodetecting the node IP: {e}"))?;
    let links = nl
        .links()
        .map_err(|e| format!("autodetecting the node IP: {e}"))?;
    let addrs = nl
        .addresses(None)
        .map_err(|e| format!("autodetecting the node IP: {e}"))?;
    Ok(links
        .into_iter()
        .map(|l| Iface {
            up: l.flags & IFF_UP != 0,
            addrs: addrs
                .iter()
                .filter(|a| a.ifindex == l.index && a.scope == 0)
                .filter_map(|a| match a.addr {
                    IpAddr::V4(v4) => Some((v4, a.prefix_len)),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            name: l.name,
        })
        .collect())
}

/// The source address the kernel picks toward `dest` (a connected UDP socket sends nothing).
fn source_toward(dest: IpAddr) -> Result<Ipv4Addr, String> {
    let bind: SocketAddr = match dest {
        IpAddr::V4(_) => "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?,
        IpAddr::V6(_) => "[::]:0".parse().map_err(|e| format!("{e}"))?,
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("can-reach={dest}: {e}"))?;
    sock.connect(SocketAddr::new(dest, 179))
        .map_err(|e| format!("can-reach={dest}: no route: {e}"))?;
    match sock
        .local_addr()
        .map_err(|e| format!("can-reach={dest}: {e}"))?
        .ip()
    {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(v6) => Err(format!(
            "can-reach={dest}: the source address is IPv6 ({v6}); the node IP is IPv4"
        )),
    }
}

/// Finds the node's IPv4 address and prefix length with `method`.
pub fn detect(method: &str) -> Result<(Ipv4Addr, u8), String> {
    let m = Method::parse(method)?;
    let source = match &m {
        Method::CanReach(dest) => Some(source_toward(*dest)?),
        _ => None,
    };
    let ifaces = interfaces()?;
    choose(&m, &ifaces, source).ok_or_else(|| {
        let seen: Vec<String> = ifaces
            .iter()
            .map(|i| {
                let a: Vec<String> = i.addrs.iter().map(|(a, l)| format!("{a}/{l}")).collect();
                format!("{}{} [{}]", i.name, if i.up { "" } else { " (down)" }, a.join(" "))
            })
            .collect();
        format!(
            "IP_AUTODETECTION_METHOD {method}: no IPv4 address found; interfaces: {}; set IP or another method",
            seen.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, up: bool, addrs: &[&str]) -> Iface {
        Iface {
            name: name.into(),
            up,
            addrs: addrs
                .iter()
                .map(|a| {
                    let (ip, len) = a.split_once('/').expect("addr/len");
                    (ip.parse().expect("ip"), len.parse().expect("len"))
                })
                .collect(),
        }
    }

    fn host() -> Vec<Iface> {
        vec![
            iface("lo", true, &["127.0.0.1/8"]),
            iface("docker0", true, &["172.17.0.1/16"]),
            iface("eth0", false, &["10.1.0.5/24"]),
            iface("eth1", true, &["10.2.0.5/24"]),
            iface("ens5", true, &["192.0.2.7/26", "192.0.2.8/26"]),
            iface("cali123", true, &[]),
        ]
    }

    fn pick(m: &str) -> Option<String> {
        choose(&Method::parse(m).expect("method"), &host(), None).map(|(a, l)| format!("{a}/{l}"))
    }

    #[test]
    fn methods_pick_as_calico_node_does() {
        assert_eq!(
            pick("first-found").as_deref(),
            Some("10.2.0.5/24"),
            "down and docker skipped"
        );
        assert_eq!(pick("interface=ens.*").as_deref(), Some("192.0.2.7/26"));
        assert_eq!(pick("interface=eth0"), None, "eth0 is down");
        assert_eq!(
            pick("skip-interface=eth.*").as_deref(),
            Some("192.0.2.7/26")
        );
        assert_eq!(pick("cidr=192.0.2.0/24").as_deref(), Some("192.0.2.7/26"));
        assert_eq!(
            pick("cidr=198.51.100.0/24,10.2.0.0/16").as_deref(),
            Some("10.2.0.5/24")
        );
        let src = choose(
            &Method::CanReach("192.0.2.1".parse().expect("ip")),
            &host(),
            Some(Ipv4Addr::new(192, 0, 2, 8)),
        );
        assert_eq!(src, Some((Ipv4Addr::new(192, 0, 2, 8), 26)));
    }

    #[test]
    fn bad_methods_are_named() {
        for bad in [
            "first",
            "can-reach=host",
            "interface=(",
            "cidr=10.0.0.0/33",
            "",
        ] {
            let e = Method::parse(bad).expect_err(bad);
            assert!(e.starts_with("IP_AUTODETECTION_METHOD"), "{e}");
        }
    }
}
