//! Interfaces as brindle sees and changes them: [`Link`] (what a dump says), [`Veth`] (a pair
//! to create, one end possibly in another network namespace), [`LinkChange`] and [`MacAddr`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// `IFF_UP`: the interface is administratively up.
pub const IFF_UP: u32 = 0x1;
/// `IFF_LOWER_UP`: the driver signals carrier (for a veth: its peer is up).
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// An Ethernet (MAC) address, printed and parsed as `ee:ee:ee:ee:ee:ee`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A MAC address that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidMac(String);

impl fmt::Display for InvalidMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a MAC address (six hex bytes: ee:ee:ee:ee:ee:ee)",
            self.0
        )
    }
}

impl std::error::Error for InvalidMac {}

impl FromStr for MacAddr {
    type Err = InvalidMac;

    fn from_str(s: &str) -> Result<MacAddr, InvalidMac> {
        let bad = || InvalidMac(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

/// An interface, as the kernel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The interface index (unique within its network namespace).
    pub index: u32,
    /// The interface name.
    pub name: String,
    /// The hardware address, for interfaces that have one of six bytes.
    pub mac: Option<MacAddr>,
    /// The MTU.
    pub mtu: u32,
    /// The `IFF_*` flags ([`IFF_UP`], [`IFF_LOWER_UP`]…).
    pub flags: u32,
    /// The kind of a virtual interface (`veth`, `dummy`, `bridge`…), if the kernel says.
    pub kind: Option<String>,
    /// The index of the linked interface (`IFLA_LINK`): for a veth, its peer's index, in the
    /// peer's namespace.
    pub link: Option<u32>,
}

impl Link {
    /// Whether the interface is administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

/// A veth pair to create: this end in the handle's namespace, the peer there too or in the
/// network namespace at `peer_netns` (moved at creation, so it never appears here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Veth {
    /// This end's name.
    pub name: String,
    /// This end's MAC address (`None`: random).
    pub mac: Option<MacAddr>,
    /// The MTU of both ends (`None`: the kernel's default, 1500).
    pub mtu: Option<u32>,
    /// The peer's name.
    pub peer_name: String,
    /// The peer's MAC address (`None`: random).
    pub peer_mac: Option<MacAddr>,
    /// The network namespace the peer is created in (`/run/netns/NAME`, `/proc/PID/ns/net`);
    /// `None`: the handle's own.
    pub peer_netns: Option<PathBuf>,
}

impl Veth {
    /// A pair `name`–`peer_name` in one namespace, random MACs, default MTU.
    pub fn new(name: impl Into<String>, peer_name: impl Into<String>) -> Veth {
        Veth {
            name: name.into(),
            mac: None,
            mtu: None,
            peer_name: peer_name.into(),
            peer_mac: None,
            peer_netns: None,
        }
    }

    /// The same pair with the peer created in the namespace at `netns`.
    pub fn peer_in(mut self, netns: impl Into<PathBuf>) -> Veth {
        self.peer_netns = Some(netns.into());
        self
    }

    /// The same pair with this end's MAC address set.
    pub fn with_mac(mut self, mac: MacAddr) -> Veth {
        self.mac = Some(mac);
        self
    }

    /// The same pair with both ends' MTU set.
    pub fn with_mtu(mut self, mtu: u32) -> Veth {
        self.mtu = Some(mtu);
        self
    }
}

/// Changes to an existing interface; fields left `None` are not touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkChange {
    /// Bring the interface up (`true`) or down (`false`).
    pub up: Option<bool>,
    /// A new MAC address.
    pub mac: Option<MacAddr>,
    /// A new MTU.
    pub mtu: Option<u32>,
}

impl LinkChange {
    /// Only bring the interface up (`true`) or down.
    pub fn up(up: bool) -> LinkChange {
        LinkChange {
            up: Some(up),
            ..LinkChange::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text_round_trips() {
        let m: MacAddr = "ee:ee:ee:ee:ee:ee".parse().expect("valid");
        assert_eq!(m, MacAddr([0xee; 6]));
        assert_eq!(m.to_string(), "ee:ee:ee:ee:ee:ee");
        let m: MacAddr = "02-00-0A-0b-0c-0d".parse().expect("valid");
        assert_eq!(m.to_string(), "02:00:0a:0b:0c:0d");
        for bad in [
            "",
            "ee:ee:ee:ee:ee",
            "ee:ee:ee:ee:ee:ee:ee",
            "e:ee:ee:ee:ee:eee",
            "zz:ee:ee:ee:ee:ee",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }
}
