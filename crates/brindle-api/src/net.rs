//! IP networks and `ip[:port]` peer addresses as written in resources.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// An IP network `address/prefix`, held in canonical form (host bits cleared).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Builds a network, clearing host bits; `None` if the prefix is too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        if prefix > max_prefix(addr) {
            return None;
        }
        Some(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True for an IPv4 network.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True when `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }

    /// True when the two networks share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let shorter = self.prefix.min(other.prefix);
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && mask(self.addr, shorter) == mask(other.addr, shorter)
    }

    /// Parses `a.b.c.d/n` or `v6/n`, returning the canonical network and whether the text had host
    /// bits set (`10.0.0.1/16`).
    pub fn parse_loose(s: &str) -> Result<(Cidr, bool), String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR (a.b.c.d/n)"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR: bad address"))?;
        let prefix: u8 = p
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR: bad prefix length"))?;
        let c = Cidr::new(addr, prefix).ok_or_else(|| {
            format!(
                "{s:?} is not a CIDR: prefix length above {}",
                max_prefix(addr)
            )
        })?;
        Ok((c, c.addr != addr))
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// Parses a CIDR; host bits are cleared. A bare address is taken as a host route.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.contains('/')
            && let Ok(addr) = s.parse::<IpAddr>()
        {
            return Ok(Cidr {
                addr,
                prefix: max_prefix(addr),
            });
        }
        Cidr::parse_loose(s).map(|(c, _)| c)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Longest prefix of the address family: 32 or 128.
pub fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Parses an address that may carry a prefix length, as Node `spec.bgp.ipv4Address`
/// (`172.31.209.241/20`) does; returns the address and the prefix if present.
pub fn parse_ip_maybe_prefix(s: &str) -> Result<(IpAddr, Option<u8>), String> {
    match s.split_once('/') {
        None => s
            .parse()
            .map(|a| (a, None))
            .map_err(|_| format!("{s:?} is not an IP address")),
        Some((a, p)) => {
            let addr: IpAddr = a
                .parse()
                .map_err(|_| format!("{s:?} is not an IP address"))?;
            let prefix: u8 = p
                .parse()
                .map_err(|_| format!("{s:?} has a bad prefix length"))?;
            if prefix > max_prefix(addr) {
                return Err(format!(
                    "{s:?} has a prefix length above {}",
                    max_prefix(addr)
                ));
            }
            Ok((addr, Some(prefix)))
        }
    }
}

/// A BGP peer address as BGPPeer `spec.peerIP` holds it: `ip`, `ipv4:port` or `[ipv6]:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddress {
    /// The peer's IP address.
    pub ip: IpAddr,
    /// The TCP port, when given.
    pub port: Option<u16>,
}

impl FromStr for PeerAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(PeerAddress { ip, port: None });
        }
        match s.parse::<SocketAddr>() {
            Ok(sa) if sa.port() != 0 => Ok(PeerAddress {
                ip: sa.ip(),
                port: Some(sa.port()),
            }),
            Ok(_) => Err(format!("{s:?}: port must be 1..65535")),
            Err(_) => Err(format!(
                "{s:?} is not an IP address, ipv4:port or [ipv6]:port"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().expect("cidr")
    }

    #[test]
    fn cidr_canonical_and_relations() {
        assert_eq!(c("10.0.0.1/16").to_string(), "10.0.0.0/16");
        assert_eq!(Cidr::parse_loose("10.0.0.1/16").map(|x| x.1), Ok(true));
        assert_eq!(c("fd00::1/64").to_string(), "fd00::/64");
        assert_eq!(c("10.1.2.3").to_string(), "10.1.2.3/32");
        assert!(c("192.168.0.0/16").contains("192.168.3.4".parse().expect("ip")));
        assert!(!c("192.168.0.0/16").contains("192.169.0.1".parse().expect("ip")));
        assert!(c("10.0.0.0/8").overlaps(&c("10.2.0.0/16")));
        assert!(!c("10.0.0.0/16").overlaps(&c("10.1.0.0/16")));
        assert!(!c("0.0.0.0/0").overlaps(&c("::/0")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0/8".parse::<Cidr>().is_err());
        assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn peer_addresses() {
        let p: PeerAddress = "172.16.40.202".parse().expect("ip");
        assert_eq!(p.port, None);
        let p: PeerAddress = "10.0.0.1:1790".parse().expect("ip:port");
        assert_eq!(p.port, Some(1790));
        let p: PeerAddress = "[fd00::1]:179".parse().expect("[v6]:port");
        assert!(p.ip.is_ipv6());
        assert!("10.0.0.1:0".parse::<PeerAddress>().is_err());
        assert!("10.0.0.1:99999".parse::<PeerAddress>().is_err());
        assert!("fd00::1:179:x".parse::<PeerAddress>().is_err());
        assert!("host:179".parse::<PeerAddress>().is_err());
    }

    #[test]
    fn ip_with_prefix() {
        let (a, p) = parse_ip_maybe_prefix("172.31.209.241/20").expect("ok");
        assert_eq!(a.to_string(), "172.31.209.241");
        assert_eq!(p, Some(20));
        assert!(parse_ip_maybe_prefix("1.2.3.4/40").is_err());
    }
}
