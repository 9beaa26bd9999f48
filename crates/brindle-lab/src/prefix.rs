//! A small IP prefix type, so routes from the three daemons and the kernel compare exactly.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use brindle_bgp::model::Prefix;

use crate::error::Error;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// "ipv4" or "ipv6": the word BIRD's channels and FRR's address families use.
    pub fn word(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// `-4` or `-6`, for `ip`.
    pub(crate) fn ip_flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}

/// An IP prefix (`address/length`) with the host bits cleared: brindle's own prefix type, with
/// the lab's stricter parsing (host bits must be clear) and its [`Family`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix(Prefix);

impl IpPrefix {
    /// Builds a prefix, clearing host bits; `None` when `len` is too long for the family.
    pub fn new(addr: IpAddr, len: u8) -> Option<IpPrefix> {
        Prefix::new(addr, len).ok().map(IpPrefix)
    }

    /// A host prefix (/32 or /128) for one address.
    pub fn host(addr: IpAddr) -> IpPrefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        IpPrefix(Prefix::new(addr, len).unwrap_or_else(|_| unreachable!("full length fits")))
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.0.addr()
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.0.len()
    }

    /// Whether this is a zero-length (default) prefix.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(self.addr())
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for IpPrefix {
    type Err = Error;

    /// Parses `addr/len`; a bare address is a host prefix. Host bits must be clear.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| Error::invalid("prefix", format!("{s:?}: {why}"));
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
        let Some(len) = len else {
            return Ok(IpPrefix::host(addr));
        };
        let len: u8 = len.parse().map_err(|_| bad("bad length"))?;
        let prefix = IpPrefix::new(addr, len).ok_or_else(|| bad("length too long"))?;
        if prefix.addr() != addr {
            return Err(bad("host bits set"));
        }
        Ok(prefix)
    }
}

impl TryFrom<&str> for IpPrefix {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "10.1.0.0/16",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
            "192.0.2.1/32",
        ] {
            let p: IpPrefix = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.to_string(), s);
        }
        let p: IpPrefix = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.to_string(), "192.0.2.7/32");
        assert_eq!(p.family(), Family::V4);
    }

    #[test]
    fn rejects_host_bits_and_long_lengths() {
        assert!("10.1.2.3/16".parse::<IpPrefix>().is_err());
        assert!("10.0.0.0/33".parse::<IpPrefix>().is_err());
        assert!("2001:db8::/129".parse::<IpPrefix>().is_err());
        assert!("nonsense/8".parse::<IpPrefix>().is_err());
    }

    #[test]
    fn new_clears_host_bits() {
        let p = IpPrefix::new(
            "10.1.2.3"
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            8,
        );
        assert_eq!(p.map(|p| p.to_string()).as_deref(), Some("10.0.0.0/8"));
    }
}
