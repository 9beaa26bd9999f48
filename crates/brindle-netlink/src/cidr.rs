//! [`Cidr`]: a route's destination, an address and a prefix length.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network, such as `10.244.0.0/26` or `fd00:1::/64`. Host bits are always zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// A network that cannot be a route destination: bad syntax or a prefix length too long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidCidr(String);

impl fmt::Display for InvalidCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidCidr {}

impl Cidr {
    /// The network of `addr` with `len` bits of prefix; host bits are cleared
    /// (`10.1.2.3/24` becomes `10.1.2.0/24`).
    pub fn new(addr: IpAddr, len: u8) -> Result<Cidr, InvalidCidr> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => {
                return Err(InvalidCidr(format!(
                    "{addr}/{len}: prefix length {len} is too long"
                )));
            }
        };
        Ok(Cidr { addr, len })
    }

    /// The host route of an address (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Cidr {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Cidr { addr, len }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is an IPv4 network.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Cidr {
    type Err = InvalidCidr;

    /// `10.0.0.0/8`, `fd00::/8`; a bare address is a host route.
    fn from_str(s: &str) -> Result<Cidr, InvalidCidr> {
        let bad = || InvalidCidr(format!("{s:?} is not an address/length"));
        match s.split_once('/') {
            Some((a, l)) => {
                let addr: IpAddr = a.parse().map_err(|_| bad())?;
                let len: u8 = l.parse().map_err(|_| bad())?;
                Cidr::new(addr, len)
            }
            None => s.parse().map(Cidr::host).map_err(|_| bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn host_bits_are_cleared() {
        assert_eq!(cidr("10.1.2.3/24").to_string(), "10.1.2.0/24");
        assert_eq!(cidr("fd00:1::5/64").to_string(), "fd00:1::/64");
        assert_eq!(cidr("10.9.9.9/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("::1/0").to_string(), "::/0");
        assert_eq!(cidr("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(cidr("fd00::1").len(), 128);
    }

    #[test]
    fn bad_text_is_refused() {
        for s in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
        ] {
            assert!(s.parse::<Cidr>().is_err(), "{s}");
        }
        let e = "10.0.0.0/33".parse::<Cidr>().expect_err("too long");
        assert!(e.to_string().contains("too long"), "{e}");
    }
}
