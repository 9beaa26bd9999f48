//! UPDATE (RFC 4271 §4.3) with MP-BGP (RFC 4760), ADD-PATH (RFC 7911), End-of-RIB (RFC 4724 §2)
//! and the error handling of RFC 7606.
//!
//! Canonical form of a decoded [`Update`] (what `encode` reproduces exactly):
//! - `withdrawn`: the Withdrawn Routes field (IPv4), then MP_UNREACH_NLRI's routes;
//! - `announced`: the NLRI field (IPv4), then MP_REACH_NLRI's routes;
//! - `attrs` is present when the UPDATE carried any path attribute besides MP_UNREACH_NLRI;
//! - `attrs.next_hop` only when the NLRI field is not empty (RFC 4760 §3: otherwise NEXT_HOP
//!   "SHOULD be ignored"); `attrs.mp_next_hop` only when MP_REACH_NLRI carried routes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::attr::{
    Action, bad_ipv4_next_hop, bad_ipv6_next_hop, code, merge_as4, parse_attributes,
};
use super::attr_encode::{encode_path_attributes, mp_next_hop_for, put_mp};
use super::cursor::{Reader, patch_u16};
use super::error::{DecodeError, EncodeError, UpdateIssue};
use super::nlri::{decode_nlri, encode_nlri};
use super::notification::update_subcode;
use super::params::CodecParams;
use crate::model::{Family, Nlri, Update};

/// Decodes an UPDATE body (after the header).
pub(crate) fn decode_update(body: &[u8], params: &CodecParams) -> Result<Update, DecodeError> {
    let mut r = Reader::new(body);
    // RFC 4271 §6.3 (kept by RFC 7606 §3 b): "If the Withdrawn Routes Length or Total Attribute
    // Length is too large (i.e., if Withdrawn Routes Length + Total Attribute Length + 23
    // exceeds the message Length), then the Error Subcode MUST be set to Malformed Attribute
    // List."
    let withdrawn_bytes = r
        .u16()
        .and_then(|l| r.take(usize::from(l)))
        .map_err(|_| DecodeError::malformed_attribute_list("withdrawn routes length overruns"))?;
    let attr_bytes = r.u16().and_then(|l| r.take(usize::from(l))).map_err(|_| {
        DecodeError::malformed_attribute_list("total path attribute length overruns")
    })?;
    let nlri_bytes = r.rest();

    // RFC 4724 §2: "For the IPv4 unicast address family, the End-of-RIB marker is an UPDATE
    // message with the minimum length".
    if withdrawn_bytes.is_empty() && attr_bytes.is_empty() && nlri_bytes.is_empty() {
        return Ok(Update::end_of_rib(Family::Ipv4Unicast));
    }

    // RFC 7606 §5.3: "An UPDATE message with a malformed NLRI field or Withdrawn Routes field
    // SHALL be handled using the approach of "session reset"" (RFC 4271 §6.3: "If the field is
    // syntactically incorrect, then the Error Subcode MUST be set to Invalid Network Field.").
    let v4 = Family::Ipv4Unicast;
    let mut withdrawn = Vec::new();
    decode_nlri(
        withdrawn_bytes,
        v4,
        params.add_path_rx.contains(v4),
        &mut withdrawn,
    )
    .map_err(|e| {
        DecodeError::update(
            update_subcode::INVALID_NETWORK_FIELD,
            Vec::new(),
            e.describe("withdrawn routes"),
        )
    })?;
    let mut announced = Vec::new();
    decode_nlri(
        nlri_bytes,
        v4,
        params.add_path_rx.contains(v4),
        &mut announced,
    )
    .map_err(|e| {
        DecodeError::update(
            update_subcode::INVALID_NETWORK_FIELD,
            Vec::new(),
            e.describe("NLRI"),
        )
    })?;
    let classic = announced.len();

    let mut pa = parse_attributes(attr_bytes, params)?;

    // RFC 7606 §3 j / §7.12: the MP attributes' NLRI must parse, or the session is reset
    // (RFC 4760 §7: "UPDATE Message Error"/"Optional Attribute Error").
    let mut unreach_eor = None;
    if let Some(u) = pa.mp_unreach.take() {
        match u.family {
            Some(f) => decode_nlri(u.nlri, f, params.add_path_rx.contains(f), &mut withdrawn)
                .map_err(|e| {
                    DecodeError::update(
                        update_subcode::OPTIONAL_ATTRIBUTE,
                        u.raw.to_vec(),
                        e.describe("MP_UNREACH_NLRI"),
                    )
                })?,
            None => pa.discard_for(UpdateIssue::UnsupportedFamily {
                afi: u.afi,
                safi: u.safi,
            }),
        }
        // RFC 4724 §2: "For any other address family, it is an UPDATE message that contains
        // only the MP_UNREACH_NLRI attribute with no withdrawn routes for that <AFI, SAFI>."
        let only_attribute = pa.count == 1 && pa.action != Action::Withdraw;
        if only_attribute && u.nlri.is_empty() && withdrawn_bytes.is_empty() && classic == 0 {
            unreach_eor = Some(u.family);
        }
    }
    if let Some(eor) = unreach_eor {
        return match eor {
            Some(f) => Ok(Update::end_of_rib(f)),
            None => Err(DecodeError::Ignored {
                reason: "End-of-RIB for an address family brindle does not speak".into(),
            }),
        };
    }
    let mut reach_family = None;
    if let Some(m) = pa.mp_reach.take() {
        decode_nlri(
            m.nlri,
            m.family,
            params.add_path_rx.contains(m.family),
            &mut announced,
        )
        .map_err(|e| {
            DecodeError::update(
                update_subcode::OPTIONAL_ATTRIBUTE,
                m.raw.to_vec(),
                e.describe("MP_REACH_NLRI"),
            )
        })?;
        if announced.len() > classic {
            reach_family = Some((m.family, m.next_hop));
        }
    }

    if !params.four_octet_as {
        merge_as4(&mut pa);
    }
    check_mandatory_and_next_hops(&mut pa, classic > 0, reach_family, !announced.is_empty());

    let attrs = pa.any_path_attribute.then(|| Arc::new(pa.attrs));
    // Only an MP_UNREACH_NLRI for a family brindle does not speak: nothing left to act on (and
    // an empty UPDATE would read as an End-of-RIB).
    let nothing = attrs.is_none() && withdrawn.is_empty() && announced.is_empty();
    if nothing && pa.action != Action::Withdraw {
        return Err(DecodeError::Ignored {
            reason: "UPDATE for an address family brindle does not speak".into(),
        });
    }
    match pa.action {
        Action::Withdraw => {
            withdrawn.append(&mut announced);
            Err(DecodeError::TreatAsWithdraw {
                withdrawn,
                issues: pa.issues,
            })
        }
        Action::Discard => Err(DecodeError::AttributeDiscard {
            update: Update {
                withdrawn,
                attrs,
                announced,
                end_of_rib: None,
            },
            issues: pa.issues,
        }),
        Action::Accept => Ok(Update {
            withdrawn,
            attrs,
            announced,
            end_of_rib: None,
        }),
    }
}

/// Missing well-known attributes and next-hop checks, once it is known which NLRI the UPDATE
/// carries.
fn check_mandatory_and_next_hops(
    pa: &mut super::attr::ParsedAttrs<'_>,
    has_classic: bool,
    reach: Option<(Family, crate::model::MpNextHop)>,
    has_nlri: bool,
) {
    if has_nlri {
        // RFC 7606 §3 d: "If any of the well-known mandatory attributes are not present in an
        // UPDATE message, then "treat-as-withdraw" MUST be used. (Note that [RFC4760]
        // reclassifies NEXT_HOP as what is effectively discretionary.)" RFC 4760 §3: "An UPDATE
        // message that carries the MP_REACH_NLRI MUST also carry the ORIGIN and the AS_PATH
        // attributes".
        for c in [code::ORIGIN, code::AS_PATH] {
            if !pa.seen(c) {
                pa.withdraw_for(UpdateIssue::MissingWellKnown { code: c });
            }
        }
        if has_classic && !pa.seen(code::NEXT_HOP) {
            pa.withdraw_for(UpdateIssue::MissingWellKnown {
                code: code::NEXT_HOP,
            });
        }
    }
    // RFC 4760 §3: "An UPDATE message that carries no NLRI, other than the one encoded in the
    // MP_REACH_NLRI attribute, SHOULD NOT carry the NEXT_HOP attribute. If such a message
    // contains the NEXT_HOP attribute, the BGP speaker that receives the message SHOULD ignore
    // this attribute."
    if !has_classic {
        pa.attrs.next_hop = None;
    } else if let Some(nh) = pa.attrs.next_hop.filter(|nh| bad_ipv4_next_hop(*nh)) {
        // RFC 4271 §6.3: "If the NEXT_HOP attribute field is syntactically incorrect, then the
        // Error Subcode MUST be set to Invalid NEXT_HOP Attribute." — a treat-as-withdraw case
        // by RFC 7606 §3 e.
        pa.withdraw_for(UpdateIssue::InvalidNextHop(IpAddr::V4(nh)));
    }
    let Some((family, mp_nh)) = reach else {
        pa.attrs.mp_next_hop = None;
        return;
    };
    pa.attrs.mp_next_hop = Some(mp_nh);
    let bad = match mp_nh.global {
        IpAddr::V4(a) => bad_ipv4_next_hop(a),
        IpAddr::V6(a) => bad_ipv6_next_hop(a),
    };
    if bad {
        pa.withdraw_for(UpdateIssue::InvalidNextHop(mp_nh.global));
    }
    // IPv4 routes in both the NLRI field and MP_REACH_NLRI share one attribute set, which holds
    // one IPv4 next hop: fine when both agree, otherwise the routes cannot be represented.
    if family == Family::Ipv4Unicast
        && let Some(nh) = pa.attrs.next_hop
    {
        if mp_nh.global == IpAddr::V4(nh) {
            pa.attrs.mp_next_hop = None;
        } else {
            pa.withdraw_for(UpdateIssue::ConflictingIpv4NextHops {
                next_hop: nh,
                mp_next_hop: mp_nh.global,
            });
        }
    }
}

/// Encodes an UPDATE body (after the header) holding everything in `u`.
pub(crate) fn encode_update(
    u: &Update,
    params: &CodecParams,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let v4 = Family::Ipv4Unicast;
    let v6 = Family::Ipv6Unicast;
    for (f, n) in u.withdrawn.iter().chain(&u.announced) {
        if n.prefix.family() != *f {
            return Err(EncodeError::FamilyMismatch(n.prefix));
        }
    }
    if let Some(f) = u.end_of_rib {
        if !u.withdrawn.is_empty() || !u.announced.is_empty() || u.attrs.is_some() {
            return Err(EncodeError::EndOfRibNotEmpty);
        }
        encode_end_of_rib(f, out);
        return Ok(());
    }
    let (w4, w6) = (of(&u.withdrawn, v4), of(&u.withdrawn, v6));
    let (a4, a6) = (of(&u.announced, v4), of(&u.announced, v6));
    let attrs = u.attrs.as_deref();
    if attrs.is_none() && !u.announced.is_empty() {
        return Err(EncodeError::MissingAttributes);
    }
    // IPv4 routes go in the NLRI field with NEXT_HOP; when the attributes have no NEXT_HOP but an
    // IPv4 MP next hop, in MP_REACH_NLRI.
    let classic_nh: Option<Ipv4Addr> = attrs.and_then(|a| a.next_hop).filter(|_| !a4.is_empty());
    let v4_in_mp = !a4.is_empty() && classic_nh.is_none();
    let reach = match (v4_in_mp, a6.is_empty()) {
        (true, false) => return Err(EncodeError::TwoMpReachFamilies),
        (true, true) => Some((v4, &a4)),
        (false, false) => Some((v6, &a6)),
        (false, true) => None,
    };
    let reach = match (reach, attrs) {
        (Some((f, list)), Some(a)) => Some((
            f,
            mp_next_hop_for(a, f).ok_or(EncodeError::MissingNextHop(f))?,
            list,
        )),
        _ => None,
    };

    let wlen_at = out.len();
    out.extend_from_slice(&[0, 0]);
    for n in &w4 {
        encode_nlri(n, params.add_path_tx.contains(v4), out);
    }
    let wlen = out.len() - wlen_at - 2;
    patch_u16(
        out,
        wlen_at,
        u16::try_from(wlen).map_err(|_| too_long(wlen))?,
    );

    let alen_at = out.len();
    out.extend_from_slice(&[0, 0]);
    // RFC 7606 §5.1: "The MP_REACH_NLRI or MP_UNREACH_NLRI attribute (if present) SHALL be
    // encoded as the very first path attribute in an UPDATE message."
    if !w6.is_empty() {
        put_mp(
            out,
            v6,
            None,
            w6.iter().copied(),
            params.add_path_tx.contains(v6),
        )?;
    }
    if let Some((f, nh, list)) = reach {
        put_mp(
            out,
            f,
            Some(nh),
            list.iter().copied(),
            params.add_path_tx.contains(f),
        )?;
    }
    if let Some(a) = attrs {
        encode_path_attributes(a, params, classic_nh, out)?;
    }
    let alen = out.len() - alen_at - 2;
    patch_u16(
        out,
        alen_at,
        u16::try_from(alen).map_err(|_| too_long(alen))?,
    );
    if !v4_in_mp {
        for n in &a4 {
            encode_nlri(n, params.add_path_tx.contains(v4), out);
        }
    }
    Ok(())
}

fn of(list: &[(Family, Nlri)], fam: Family) -> Vec<&Nlri> {
    list.iter()
        .filter(|(f, _)| *f == fam)
        .map(|(_, n)| n)
        .collect()
}

fn too_long(len: usize) -> EncodeError {
    EncodeError::TooLong { len }
}

/// RFC 4724 §2 End-of-RIB marker body for `family`.
pub(crate) fn encode_end_of_rib(family: Family, out: &mut Vec<u8>) {
    match family {
        Family::Ipv4Unicast => out.extend_from_slice(&[0, 0, 0, 0]),
        _ => {
            out.extend_from_slice(&[0, 0, 0, 6, 0x80, code::MP_UNREACH_NLRI, 3]);
            out.extend_from_slice(&family.afi().to_be_bytes());
            out.push(family.safi());
        }
    }
}
