//! Address families (AFI/SAFI pairs, RFC 4760 §5) the speaker carries.

use std::fmt;

/// An AFI/SAFI pair brindle speaks. Other pairs seen on the wire are kept as raw numbers where
/// they appear (capabilities) and otherwise ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// AFI 1 (IPv4), SAFI 1 (unicast).
    Ipv4Unicast,
    /// AFI 2 (IPv6), SAFI 1 (unicast).
    Ipv6Unicast,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The AFI number (RFC 4760 §5: IANA Address Family Numbers).
    pub fn afi(self) -> u16 {
        match self {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        }
    }

    /// The SAFI number.
    pub fn safi(self) -> u8 {
        1
    }

    /// The family of an AFI/SAFI pair, if brindle speaks it.
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// True for IPv4 unicast.
    pub fn is_ipv4(self) -> bool {
        self == Family::Ipv4Unicast
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
        })
    }
}
