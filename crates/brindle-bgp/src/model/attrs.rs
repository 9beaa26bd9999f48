//! Path attributes (RFC 4271 §5 and the RFCs that add attributes), decoded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// ORIGIN (RFC 4271 §5.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Learned by an interior protocol (0).
    #[default]
    Igp,
    /// Learned by EGP (1).
    Egp,
    /// Learned some other way (2).
    Incomplete,
}

/// The kind of an AS_PATH segment (RFC 4271 §4.3, RFC 5065 §3 for confederations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegmentKind {
    /// AS_SET (1): an unordered set.
    Set,
    /// AS_SEQUENCE (2): an ordered sequence.
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

/// One AS_PATH segment, holding four-octet AS numbers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsSegment {
    /// Set or sequence.
    pub kind: SegmentKind,
    /// The AS numbers, nearest first for a sequence.
    pub asns: Vec<u32>,
}

/// AS_PATH with four-octet AS numbers (after merging AS4_PATH, RFC 6793 §4.2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsPath {
    /// Segments, nearest first.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: Vec<u32>) -> AsPath {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// RFC 4271 §9.1.2.2 (a): the length used by the decision process. An AS_SET counts 1;
    /// confederation segments count 0 (RFC 5065 §5.3).
    pub fn decision_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
            })
            .sum()
    }

    /// The first AS of the path (the neighbouring AS), if it starts with a sequence.
    pub fn first_as(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| matches!(s.kind, SegmentKind::Sequence | SegmentKind::Set))
            .filter(|s| s.kind == SegmentKind::Sequence)
            .and_then(|s| s.asns.first().copied())
    }

    /// How many times `asn` occurs anywhere in the path (loop detection, RFC 4271 §9.1.2).
    pub fn count(&self, asn: u32) -> usize {
        self.segments
            .iter()
            .flat_map(|s| &s.asns)
            .filter(|a| **a == asn)
            .count()
    }

    /// The path with `asn` prepended to the first AS_SEQUENCE (or a new one), as RFC 4271
    /// §5.1.2 requires when advertising to an external peer.
    pub fn prepend(&self, asn: u32) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(s) if s.kind == SegmentKind::Sequence && s.asns.len() < 255 => {
                s.asns.insert(0, asn)
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn],
                },
            ),
        }
        AsPath { segments }
    }
}

/// A standard community (RFC 1997), `asn:value` in 16+16 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    /// RFC 1997: NO_EXPORT (0xFFFFFF01) — not advertised outside the AS (confederation).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// RFC 1997: NO_ADVERTISE (0xFFFFFF02) — not advertised to any peer.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// RFC 1997: NO_EXPORT_SUBCONFED (0xFFFFFF03) — not advertised to external peers.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// RFC 8326: GRACEFUL_SHUTDOWN (0xFFFF0000).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
}

/// A large community (RFC 8092): global administrator and two local values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity(pub u32, pub u32, pub u32);

/// MP_REACH_NLRI's next hop (RFC 4760 §3; RFC 2545 §3 for IPv6's optional link-local address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MpNextHop {
    /// The global next hop.
    pub global: IpAddr,
    /// The link-local next hop, when the 32-byte IPv6 form was used.
    pub link_local: Option<Ipv6Addr>,
}

/// An attribute brindle does not interpret, kept to be passed on (optional transitive ones,
/// RFC 4271 §5 and §9.1.3) with its flags.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawAttribute {
    /// Attribute flags as received (Partial is set when passed on).
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value bytes.
    pub value: Vec<u8>,
}

/// The path attributes of a route, decoded. Routes share one `Arc<PathAttributes>` per distinct
/// set, so this type stays comparable and hashable.
///
/// The next hop lives here per family: IPv4 routes use `next_hop` (NEXT_HOP, or an IPv4
/// MP_REACH next hop), IPv6 routes use `mp_next_hop`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathAttributes {
    /// ORIGIN (well-known mandatory).
    pub origin: Origin,
    /// AS_PATH (well-known mandatory), four-octet.
    pub as_path: AsPath,
    /// NEXT_HOP (well-known mandatory for IPv4 NLRI outside MP_REACH).
    pub next_hop: Option<Ipv4Addr>,
    /// MP_REACH_NLRI's next hop, for IPv6 routes.
    pub mp_next_hop: Option<MpNextHop>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR: AS and router ID (four-octet form, merged from AS4_AGGREGATOR).
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES (RFC 1997), in received order.
    pub communities: Vec<Community>,
    /// EXTENDED COMMUNITIES (RFC 4360), 8 bytes each.
    pub ext_communities: Vec<[u8; 8]>,
    /// LARGE_COMMUNITY (RFC 8092).
    pub large_communities: Vec<LargeCommunity>,
    /// ORIGINATOR_ID (RFC 4456 §8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456 §8), most recent reflector first.
    pub cluster_list: Vec<Ipv4Addr>,
    /// Attributes passed through uninterpreted.
    pub unknown: Vec<RawAttribute>,
}

impl PathAttributes {
    /// The next hop for a route of `family`.
    pub fn next_hop_for(&self, family: super::Family) -> Option<IpAddr> {
        match family {
            super::Family::Ipv4Unicast => self
                .next_hop
                .map(IpAddr::V4)
                .or_else(|| self.mp_next_hop.map(|n| n.global)),
            super::Family::Ipv6Unicast => self.mp_next_hop.map(|n| n.global),
        }
    }

    /// True when the route carries `c`.
    pub fn has_community(&self, c: Community) -> bool {
        self.communities.contains(&c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_path_rules() {
        let p = AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![65001, 65002],
                },
                AsSegment {
                    kind: SegmentKind::Set,
                    asns: vec![1, 2, 3],
                },
            ],
        };
        assert_eq!(p.decision_len(), 3);
        assert_eq!(p.first_as(), Some(65001));
        assert_eq!(p.prepend(64512).segments[0].asns, vec![64512, 65001, 65002]);
        assert_eq!(AsPath::default().prepend(1), AsPath::sequence(vec![1]));
        assert_eq!(p.count(2), 1);
    }
}
