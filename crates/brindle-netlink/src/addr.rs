//! [`Address`]: an IP address on an interface, as `ip addr` shows it.

use std::fmt;
use std::net::IpAddr;

/// Scope `global` (`RT_SCOPE_UNIVERSE`).
pub const SCOPE_UNIVERSE: u8 = 0;
/// Scope `link` (`RT_SCOPE_LINK`): IPv6 link-local addresses.
pub const SCOPE_LINK: u8 = 253;
/// Scope `host` (`RT_SCOPE_HOST`): loopback.
pub const SCOPE_HOST: u8 = 254;

/// `IFA_F_NODAD`: no duplicate address detection (IPv6): usable at once.
pub const IFA_F_NODAD: u32 = 0x02;
/// `IFA_F_DADFAILED`: duplicate address detection failed (IPv6).
pub const IFA_F_DADFAILED: u32 = 0x08;
/// `IFA_F_TENTATIVE`: duplicate address detection still running (IPv6): not usable yet.
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// `IFA_F_PERMANENT`: configured, not learned from a router advertisement.
pub const IFA_F_PERMANENT: u32 = 0x80;

/// An address on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The interface's index.
    pub ifindex: u32,
    /// The address (host bits kept: `10.0.0.5/24` is address 10.0.0.5 on 10.0.0.0/24).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// The scope ([`SCOPE_UNIVERSE`], [`SCOPE_LINK`], [`SCOPE_HOST`]).
    pub scope: u8,
    /// `IFA_F_*` flags ([`IFA_F_NODAD`] when adding; [`IFA_F_TENTATIVE`]… when read).
    pub flags: u32,
}

impl Address {
    /// `addr/len` on the interface `ifindex`, scope global.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Address {
        Address {
            ifindex,
            addr,
            prefix_len,
            scope: SCOPE_UNIVERSE,
            flags: 0,
        }
    }

    /// `addr/32` (`/128`) on the interface `ifindex`, scope global.
    pub fn host(ifindex: u32, addr: IpAddr) -> Address {
        Address::new(ifindex, addr, if addr.is_ipv4() { 32 } else { 128 })
    }

    /// The same address with scope `scope`.
    pub fn with_scope(mut self, scope: u8) -> Address {
        self.scope = scope;
        self
    }

    /// The same address, added without duplicate address detection (IPv6).
    pub fn nodad(mut self) -> Address {
        self.flags |= IFA_F_NODAD;
        self
    }

    /// Whether it can be used: not tentative, and duplicate address detection did not fail.
    pub fn is_usable(&self) -> bool {
        self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0
    }

    /// Why the kernel could not take it, if it could not (a prefix too long).
    pub fn problem(&self) -> Option<String> {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        (self.prefix_len > max).then(|| format!("prefix length {} is too long", self.prefix_len))
    }
}

/// `10.0.0.5/32 dev #7` (with ` scope link` when not global).
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} dev #{}", self.addr, self.prefix_len, self.ifindex)?;
        match self.scope {
            SCOPE_UNIVERSE => Ok(()),
            SCOPE_LINK => f.write_str(" scope link"),
            SCOPE_HOST => f.write_str(" scope host"),
            s => write!(f, " scope {s}"),
        }
    }
}
