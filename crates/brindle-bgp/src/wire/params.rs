//! What the OPEN exchange decided that changes how UPDATEs are laid out on the wire.

use crate::model::{Capability, Family, Open};

/// A set of [`Family`] values (a two-bit set; copied freely).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FamilySet(u8);

impl FamilySet {
    /// No family.
    pub const EMPTY: FamilySet = FamilySet(0);
    /// Every family brindle speaks.
    pub const ALL: FamilySet = FamilySet(0b11);

    fn bit(family: Family) -> u8 {
        match family {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        }
    }

    /// True when `family` is in the set.
    pub fn contains(self, family: Family) -> bool {
        self.0 & Self::bit(family) != 0
    }

    /// Adds `family`.
    pub fn insert(&mut self, family: Family) {
        self.0 |= Self::bit(family);
    }

    /// The set with `family` added.
    pub fn with(mut self, family: Family) -> FamilySet {
        self.insert(family);
        self
    }

    /// True when the set holds no family.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The families in the set, IPv4 first.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Family> for FamilySet {
    fn from_iter<I: IntoIterator<Item = Family>>(iter: I) -> Self {
        let mut set = FamilySet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

/// Session parameters that change the encoding of UPDATE messages. The default is the state
/// before the OPEN exchange: two-octet AS numbers, no ADD-PATH, peer AS unknown (internal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CodecParams {
    /// RFC 6793: both sides advertised the four-octet AS capability, so AS_PATH and AGGREGATOR
    /// carry four-octet AS numbers and AS4_PATH / AS4_AGGREGATOR are neither sent nor used.
    pub four_octet_as: bool,
    /// RFC 7911: families on which received NLRI carry a Path Identifier (we advertised Receive,
    /// the peer Send).
    pub add_path_rx: FamilySet,
    /// RFC 7911: families on which NLRI we send carry a Path Identifier (we advertised Send,
    /// the peer Receive).
    pub add_path_tx: FamilySet,
    /// Our own (four-octet) AS number.
    pub local_as: u32,
    /// The peer's (four-octet) AS number, once known. When it differs from `local_as` the peer
    /// is external, which matters for LOCAL_PREF (RFC 7606 §7.5) and confederation segments
    /// (RFC 5065 §5).
    pub peer_as: Option<u32>,
}

impl CodecParams {
    /// True when the peer is known and in another AS (an eBGP session).
    pub fn is_external(&self) -> bool {
        self.peer_as.is_some_and(|p| p != self.local_as)
    }

    /// The parameters implied by the two OPEN messages of an established session:
    /// four-octet AS when both sent the capability (RFC 6793 §3), and per family ADD-PATH
    /// receive when we offered Receive and the peer Send, send when we offered Send and the peer
    /// Receive (RFC 7911 §4/§5).
    pub fn negotiate(local: &Open, remote: &Open) -> CodecParams {
        let has_as4 = |o: &Open| {
            o.capabilities
                .iter()
                .any(|c| matches!(c, Capability::FourOctetAs(_)))
        };
        let add_path = |o: &Open, want_send: bool, fam: Family| {
            o.capabilities.iter().any(|c| match c {
                Capability::AddPath(list) => list
                    .iter()
                    .any(|(f, m)| *f == fam && if want_send { m.sends() } else { m.receives() }),
                _ => false,
            })
        };
        let rx = Family::ALL
            .into_iter()
            .filter(|f| add_path(local, false, *f) && add_path(remote, true, *f))
            .collect();
        let tx = Family::ALL
            .into_iter()
            .filter(|f| add_path(local, true, *f) && add_path(remote, false, *f))
            .collect();
        CodecParams {
            four_octet_as: has_as4(local) && has_as4(remote),
            add_path_rx: rx,
            add_path_tx: tx,
            local_as: local.asn(),
            peer_as: Some(remote.asn()),
        }
    }

    /// The same session seen from the peer's side: what we send it decodes with these.
    /// Handy for tests and round trips.
    pub fn peer_view(&self) -> CodecParams {
        CodecParams {
            four_octet_as: self.four_octet_as,
            add_path_rx: self.add_path_tx,
            add_path_tx: self.add_path_rx,
            local_as: self.peer_as.unwrap_or(self.local_as),
            peer_as: Some(self.local_as),
        }
    }

    /// These parameters with ADD-PATH on for `families` in both directions.
    pub fn with_add_path(mut self, families: FamilySet) -> CodecParams {
        self.add_path_rx = families;
        self.add_path_tx = families;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::model::AddPathMode;

    fn open(asn: u32, mut caps: Vec<Capability>) -> Open {
        caps.push(Capability::FourOctetAs(asn));
        Open {
            version: 4,
            my_as: 23456,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(1, 1, 1, 1),
            capabilities: caps,
        }
    }

    #[test]
    fn family_set() {
        let s: FamilySet = [Family::Ipv6Unicast].into_iter().collect();
        assert!(s.contains(Family::Ipv6Unicast) && !s.contains(Family::Ipv4Unicast));
        assert_eq!(FamilySet::ALL.iter().collect::<Vec<_>>(), Family::ALL);
        assert!(FamilySet::EMPTY.is_empty());
        assert_eq!(FamilySet::EMPTY.with(Family::Ipv4Unicast).iter().count(), 1);
    }

    #[test]
    fn negotiation_pairs_send_with_receive() {
        let local = open(
            65000,
            vec![Capability::AddPath(vec![
                (Family::Ipv4Unicast, AddPathMode::Both),
                (Family::Ipv6Unicast, AddPathMode::Receive),
            ])],
        );
        let remote = open(
            4_200_000_000,
            vec![Capability::AddPath(vec![
                (Family::Ipv4Unicast, AddPathMode::Receive),
                (Family::Ipv6Unicast, AddPathMode::Both),
            ])],
        );
        let p = CodecParams::negotiate(&local, &remote);
        assert!(p.four_octet_as);
        assert_eq!(p.add_path_tx, FamilySet::EMPTY.with(Family::Ipv4Unicast));
        assert_eq!(p.add_path_rx, FamilySet::EMPTY.with(Family::Ipv6Unicast));
        assert!(p.is_external());
        let v = p.peer_view();
        assert_eq!(
            (v.add_path_rx, v.add_path_tx),
            (p.add_path_tx, p.add_path_rx)
        );
        assert_eq!((v.local_as, v.peer_as), (4_200_000_000, Some(65000)));
        assert!(!CodecParams::default().is_external());
    }
}
