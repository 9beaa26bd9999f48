//! IP prefixes as NLRI carries them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::Family;

/// An IPv4 or IPv6 prefix with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The length exceeds 32 (IPv4) or 128 (IPv6).
    #[error("prefix length {0} is too long for the address family")]
    TooLong(u8),
    /// The text is not `address/length`.
    #[error("{0:?} is not a prefix (address/length)")]
    Syntax(String),
}

impl Prefix {
    /// A prefix of `addr` with `len` bits; host bits are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(PrefixError::TooLong(len));
        }
        Ok(Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for the zero-length (default) prefix.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The prefix's address family (unicast).
    pub fn family(&self) -> Family {
        if self.addr.is_ipv4() {
            Family::Ipv4Unicast
        } else {
            Family::Ipv6Unicast
        }
    }

    /// True when `other` lies within this prefix (or equals it).
    pub fn contains(&self, other: &Prefix) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && other.len >= self.len
            && mask(other.addr, self.len) == self.addr
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PrefixError::Syntax(s.to_string());
        let (a, l) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let len: u8 = l.parse().map_err(|_| bad())?;
        Prefix::new(addr, len)
    }
}

/// One NLRI entry: a prefix and, where ADD-PATH (RFC 7911) is in use, its path identifier
/// (0 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nlri {
    /// The destination.
    pub prefix: Prefix,
    /// RFC 7911 §3 path identifier; 0 when ADD-PATH is not negotiated for the family.
    pub path_id: u32,
}

impl Nlri {
    /// An NLRI without a path identifier.
    pub fn new(prefix: Prefix) -> Nlri {
        Nlri { prefix, path_id: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_containment() {
        let p: Prefix = "10.1.2.3/16".parse().expect("prefix");
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert!(p.contains(&"10.1.200.0/24".parse().expect("prefix")));
        assert!(!p.contains(&"10.2.0.0/24".parse().expect("prefix")));
        assert!(!p.contains(&"10.0.0.0/8".parse().expect("prefix")));
        assert_eq!("0.0.0.0/0".parse::<Prefix>().map(|p| p.len()), Ok(0));
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert_eq!(
            "fd00::1/64".parse::<Prefix>().map(|p| p.to_string()),
            Ok("fd00::/64".into())
        );
        assert_eq!(
            "fd00::/48".parse::<Prefix>().map(|p| p.family()),
            Ok(Family::Ipv6Unicast)
        );
    }
}
