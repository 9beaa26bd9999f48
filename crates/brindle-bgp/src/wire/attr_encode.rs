//! Path attribute encoding (RFC 4271 §4.3, §5; RFC 6793 §4.2.2 toward two-octet peers).

use std::net::{IpAddr, Ipv4Addr};

use super::aspath::{encode_as_path, encode_as4_path, needs_as4_path};
use super::attr::{code, expected_flags, flag};
use super::cursor::patch_u16;
use super::error::EncodeError;
use super::nlri::encode_nlri;
use super::params::CodecParams;
use crate::model::{AS_TRANS, Family, MpNextHop, Nlri, Origin, PathAttributes};

/// Appends an attribute whose value `write` produces. The Extended Length bit is used only when
/// the value exceeds 255 octets (RFC 4271 §4.3: "the Attribute Length is one octet (if set to 0)
/// or two octets (if set to 1)").
pub(crate) fn put_attr(
    out: &mut Vec<u8>,
    flags: u8,
    code: u8,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<(), EncodeError> {
    let at = out.len();
    out.extend_from_slice(&[flags | flag::EXTENDED_LENGTH, code, 0, 0]);
    write(out);
    let len = out.len() - at - 4;
    if len <= 255 {
        out.remove(at + 2);
        if let Some(f) = out.get_mut(at) {
            *f &= !flag::EXTENDED_LENGTH;
        }
        if let Some(l) = out.get_mut(at + 2) {
            *l = u8::try_from(len).unwrap_or(u8::MAX);
        }
        Ok(())
    } else {
        let l = u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
            what: "path attribute",
            len,
        })?;
        patch_u16(out, at + 2, l);
        Ok(())
    }
}

/// Starts an attribute with the Extended Length bit set (used for MP_REACH_NLRI and
/// MP_UNREACH_NLRI, whose length is only known once the NLRI are in); returns the position of
/// its length field for [`close_extended`].
pub(crate) fn open_extended(out: &mut Vec<u8>, flags: u8, code: u8) -> usize {
    out.extend_from_slice(&[flags | flag::EXTENDED_LENGTH, code, 0, 0]);
    out.len() - 2
}

/// Fills in the length of an attribute opened with [`open_extended`].
pub(crate) fn close_extended(out: &mut [u8], len_at: usize) -> Result<(), EncodeError> {
    let len = out.len().saturating_sub(len_at + 2);
    let l = u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
        what: "multiprotocol attribute",
        len,
    })?;
    patch_u16(out, len_at, l);
    Ok(())
}

/// Writes the head of MP_REACH_NLRI (RFC 4760 §3) up to where NLRI go; returns the length
/// position for [`close_extended`].
pub(crate) fn open_mp_reach(out: &mut Vec<u8>, family: Family, nh: &MpNextHop) -> usize {
    let at = open_extended(out, flag::OPTIONAL, code::MP_REACH_NLRI);
    out.extend_from_slice(&family.afi().to_be_bytes());
    out.push(family.safi());
    match (nh.global, nh.link_local) {
        (IpAddr::V4(a), _) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        // RFC 2545 §3: the link-local address follows the global one (32 octets in all).
        (IpAddr::V6(g), Some(ll)) => {
            out.push(32);
            out.extend_from_slice(&g.octets());
            out.extend_from_slice(&ll.octets());
        }
        (IpAddr::V6(g), None) => {
            out.push(16);
            out.extend_from_slice(&g.octets());
        }
    }
    // Reserved.
    out.push(0);
    at
}

/// Writes the head of MP_UNREACH_NLRI (RFC 4760 §4); returns the length position.
pub(crate) fn open_mp_unreach(out: &mut Vec<u8>, family: Family) -> usize {
    let at = open_extended(out, flag::OPTIONAL, code::MP_UNREACH_NLRI);
    out.extend_from_slice(&family.afi().to_be_bytes());
    out.push(family.safi());
    at
}

/// A whole MP_REACH_NLRI or MP_UNREACH_NLRI (`next_hop` None) for `nlri`.
pub(crate) fn put_mp<'a>(
    out: &mut Vec<u8>,
    family: Family,
    next_hop: Option<&MpNextHop>,
    nlri: impl Iterator<Item = &'a Nlri>,
    add_path: bool,
) -> Result<(), EncodeError> {
    let at = match next_hop {
        Some(nh) => open_mp_reach(out, family, nh),
        None => open_mp_unreach(out, family),
    };
    for n in nlri {
        encode_nlri(n, add_path, out);
    }
    close_extended(out, at)
}

/// The next hop an attribute set gives routes of `family` sent in MP_REACH_NLRI, if it fits the
/// family.
pub(crate) fn mp_next_hop_for(attrs: &PathAttributes, family: Family) -> Option<&MpNextHop> {
    attrs
        .mp_next_hop
        .as_ref()
        .filter(|nh| nh.global.is_ipv4() == family.is_ipv4())
}

/// Appends every path attribute of `attrs` except the multiprotocol ones, in type-code order.
/// `next_hop` is written as NEXT_HOP (only UPDATEs with IPv4 NLRI in the NLRI field carry it,
/// RFC 4760 §3).
pub(crate) fn encode_path_attributes(
    attrs: &PathAttributes,
    params: &CodecParams,
    next_hop: Option<Ipv4Addr>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let four = params.four_octet_as;
    let origin = match attrs.origin {
        Origin::Igp => 0,
        Origin::Egp => 1,
        Origin::Incomplete => 2,
    };
    put_attr(out, flag::WELL_KNOWN, code::ORIGIN, |o| o.push(origin))?;
    put_attr(out, flag::WELL_KNOWN, code::AS_PATH, |o| {
        encode_as_path(&attrs.as_path, four, o)
    })?;
    if let Some(nh) = next_hop {
        put_attr(out, flag::WELL_KNOWN, code::NEXT_HOP, |o| {
            o.extend_from_slice(&nh.octets())
        })?;
    }
    if let Some(med) = attrs.med {
        put_attr(out, flag::OPTIONAL, code::MED, |o| {
            o.extend_from_slice(&med.to_be_bytes())
        })?;
    }
    // RFC 4271 §5.1.5: "A BGP speaker MUST NOT include this attribute in UPDATE messages it
    // sends to external peers, except in the case of BGP Confederations".
    if let (Some(lp), false) = (attrs.local_pref, params.is_external()) {
        put_attr(out, flag::WELL_KNOWN, code::LOCAL_PREF, |o| {
            o.extend_from_slice(&lp.to_be_bytes())
        })?;
    }
    if attrs.atomic_aggregate {
        put_attr(out, flag::WELL_KNOWN, code::ATOMIC_AGGREGATE, |_| {})?;
    }
    // RFC 6793 §4.2.2: "if the aggregating Autonomous System's AS number is a non-mappable
    // four-octet AS number, then the speaker MUST use the AS4_AGGREGATOR attribute and set the
    // AS number field in the existing AGGREGATOR attribute to the reserved AS number, AS_TRANS."
    // brindle also does so whenever it sends AS4_PATH: a receiver ignores AS4_PATH when
    // AGGREGATOR holds anything but AS_TRANS (§4.2.3), which would lose the four-octet path.
    let as4_path = !four && needs_as4_path(&attrs.as_path);
    let as4_aggregator = attrs
        .aggregator
        .filter(|(asn, _)| !four && (as4_path || *asn > u32::from(u16::MAX)));
    if let Some((asn, ip)) = attrs.aggregator {
        put_attr(out, flag::OPTIONAL_TRANSITIVE, code::AGGREGATOR, |o| {
            if four {
                o.extend_from_slice(&asn.to_be_bytes());
            } else {
                let two = match as4_aggregator {
                    Some(_) => AS_TRANS,
                    None => u16::try_from(asn).unwrap_or(AS_TRANS),
                };
                o.extend_from_slice(&two.to_be_bytes());
            }
            o.extend_from_slice(&ip.octets());
        })?;
    }
    if !attrs.communities.is_empty() {
        put_attr(out, flag::OPTIONAL_TRANSITIVE, code::COMMUNITIES, |o| {
            for c in &attrs.communities {
                o.extend_from_slice(&c.0.to_be_bytes());
            }
        })?;
    }
    if let Some(id) = attrs.originator_id {
        put_attr(out, flag::OPTIONAL, code::ORIGINATOR_ID, |o| {
            o.extend_from_slice(&id.octets())
        })?;
    }
    if !attrs.cluster_list.is_empty() {
        put_attr(out, flag::OPTIONAL, code::CLUSTER_LIST, |o| {
            for id in &attrs.cluster_list {
                o.extend_from_slice(&id.octets());
            }
        })?;
    }
    if !attrs.ext_communities.is_empty() {
        put_attr(
            out,
            flag::OPTIONAL_TRANSITIVE,
            code::EXTENDED_COMMUNITIES,
            |o| {
                for c in &attrs.ext_communities {
                    o.extend_from_slice(c);
                }
            },
        )?;
    }
    // RFC 6793 §4.2.2: toward an OLD speaker, AS4_PATH carries the path "except for the case
    // where the entire AS path information is composed of 2-octet AS numbers only".
    if as4_path {
        put_attr(out, flag::OPTIONAL_TRANSITIVE, code::AS4_PATH, |o| {
            encode_as4_path(&attrs.as_path, o)
        })?;
    }
    if let Some((asn, ip)) = as4_aggregator {
        put_attr(out, flag::OPTIONAL_TRANSITIVE, code::AS4_AGGREGATOR, |o| {
            o.extend_from_slice(&asn.to_be_bytes());
            o.extend_from_slice(&ip.octets());
        })?;
    }
    if !attrs.large_communities.is_empty() {
        put_attr(
            out,
            flag::OPTIONAL_TRANSITIVE,
            code::LARGE_COMMUNITIES,
            |o| {
                for c in &attrs.large_communities {
                    for v in [c.0, c.1, c.2] {
                        o.extend_from_slice(&v.to_be_bytes());
                    }
                }
            },
        )?;
    }
    for raw in &attrs.unknown {
        // Attributes the codec writes itself are never passed through raw.
        if expected_flags(raw.code).is_some() {
            continue;
        }
        // RFC 4271 §5: an unrecognized optional transitive attribute is passed on with the
        // Partial bit set.
        let mut flags = raw.flags & (flag::OPTIONAL_TRANSITIVE | flag::PARTIAL);
        if flags & flag::OPTIONAL_TRANSITIVE == flag::OPTIONAL_TRANSITIVE {
            flags |= flag::PARTIAL;
        }
        put_attr(out, flags, raw.code, |o| o.extend_from_slice(&raw.value))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AsPath, RawAttribute};

    #[test]
    fn minimal_and_extended_lengths() {
        let mut out = Vec::new();
        put_attr(&mut out, 0xc0, 99, |o| o.extend_from_slice(&[1; 255])).expect("fits");
        assert_eq!(&out[..3], &[0xc0, 99, 255]);
        assert_eq!(out.len(), 258);
        let mut out = Vec::new();
        put_attr(&mut out, 0xc0, 99, |o| o.extend_from_slice(&[1; 256])).expect("fits");
        assert_eq!(&out[..4], &[0xd0, 99, 1, 0]);
        let mut out = Vec::new();
        let e = put_attr(&mut out, 0xc0, 99, |o| o.resize(70_000, 0));
        assert!(matches!(e, Err(EncodeError::FieldTooLong { .. })));
    }

    #[test]
    fn two_octet_session_gets_as4_attributes() {
        let attrs = PathAttributes {
            as_path: AsPath::sequence(vec![70000]),
            aggregator: Some((70000, Ipv4Addr::new(1, 2, 3, 4))),
            local_pref: Some(100),
            unknown: vec![RawAttribute {
                flags: 0xc0,
                code: 99,
                value: vec![],
            }],
            ..PathAttributes::default()
        };
        let mut out = Vec::new();
        let external = CodecParams {
            local_as: 1,
            peer_as: Some(2),
            ..CodecParams::default()
        };
        encode_path_attributes(&attrs, &external, None, &mut out).expect("fits");
        let codes: Vec<u8> = {
            let mut v = Vec::new();
            let mut i = 0;
            while i + 2 < out.len() {
                v.push(out[i + 1]);
                i += 3 + usize::from(out[i + 2]);
            }
            v
        };
        // No LOCAL_PREF to an external peer; AS4_PATH and AS4_AGGREGATOR present.
        assert_eq!(codes, [1, 2, 7, 17, 18, 99]);
        assert_eq!(out.last_chunk::<3>(), Some(&[0xe0, 99, 0]));
    }
}
