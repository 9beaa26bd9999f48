//! Packing many routes that share one attribute set into as few UPDATEs as fit in 4096 octets.
//!
//! Following RFC 7606 §5.1, "An UPDATE message MUST NOT contain more than one of the following:
//! non-empty Withdrawn Routes field, non-empty Network Layer Reachability Information field,
//! MP_REACH_NLRI attribute, and MP_UNREACH_NLRI attribute", so that a receiver that has to treat
//! one as withdrawn loses nothing else; each message below holds one kind of list.

use std::iter::Peekable;
use std::net::Ipv4Addr;

use super::attr_encode::{
    close_extended, encode_path_attributes, mp_next_hop_for, open_mp_reach, open_mp_unreach,
};
use super::cursor::patch_u16;
use super::error::EncodeError;
use super::header::{MAX_MESSAGE_LEN, MessageType, finish_message, start_message};
use super::nlri::{encode_nlri, nlri_len};
use super::params::CodecParams;
use crate::model::{Family, MpNextHop, Nlri, PathAttributes};

/// What one run of messages carries.
enum Layout<'a> {
    /// IPv4 routes in the Withdrawn Routes field.
    Withdraw,
    /// Routes of a family in MP_UNREACH_NLRI.
    Unreach(Family),
    /// IPv4 routes in the NLRI field after `attrs` (which include NEXT_HOP).
    Announce { attrs: &'a [u8] },
    /// Routes in MP_REACH_NLRI, followed by `attrs`.
    Reach {
        family: Family,
        next_hop: &'a MpNextHop,
        attrs: &'a [u8],
    },
}

/// Writes the UPDATEs that withdraw `withdraw` and announce `announce` with `attrs` into `out`,
/// one after the other, each at most 4096 octets; returns how many it wrote. Withdrawals come
/// first, then IPv4 announcements (in the NLRI field when `attrs` has a NEXT_HOP, else in
/// MP_REACH_NLRI), then IPv6 ones. Path identifiers are written for the families in
/// `params.add_path_tx`. On error nothing is appended.
pub fn pack_updates(
    attrs: Option<&PathAttributes>,
    announce: &[(Family, Nlri)],
    withdraw: &[(Family, Nlri)],
    params: &CodecParams,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    let r = pack_inner(attrs, announce, withdraw, params, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// [`pack_updates`], with each message in its own buffer.
pub fn encode_updates(
    attrs: Option<&PathAttributes>,
    announce: &[(Family, Nlri)],
    withdraw: &[(Family, Nlri)],
    params: &CodecParams,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut all = Vec::new();
    let n = pack_updates(attrs, announce, withdraw, params, &mut all)?;
    let mut msgs = Vec::with_capacity(n);
    let mut rest = all.as_slice();
    while let Some(len_bytes) = rest.get(16..18) {
        let len = usize::from(u16::from_be_bytes(len_bytes.try_into().unwrap_or_default()));
        let Some((msg, tail)) = rest.split_at_checked(len) else {
            break;
        };
        msgs.push(msg.to_vec());
        rest = tail;
    }
    Ok(msgs)
}

fn pack_inner(
    attrs: Option<&PathAttributes>,
    announce: &[(Family, Nlri)],
    withdraw: &[(Family, Nlri)],
    params: &CodecParams,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    for (f, n) in announce.iter().chain(withdraw) {
        if n.prefix.family() != *f {
            return Err(EncodeError::FamilyMismatch(n.prefix));
        }
    }
    let (v4, v6) = (Family::Ipv4Unicast, Family::Ipv6Unicast);
    let mut count = 0;
    count += run(
        out,
        &Layout::Withdraw,
        &mut of(withdraw, v4),
        params.add_path_tx.contains(v4),
    )?;
    count += run(
        out,
        &Layout::Unreach(v6),
        &mut of(withdraw, v6),
        params.add_path_tx.contains(v6),
    )?;
    if announce.is_empty() {
        return Ok(count);
    }
    let attrs = attrs.ok_or(EncodeError::MissingAttributes)?;
    for family in [v4, v6] {
        let mut list = of(announce, family);
        if list.peek().is_none() {
            continue;
        }
        let add_path = params.add_path_tx.contains(family);
        let classic: Option<Ipv4Addr> = attrs.next_hop.filter(|_| family == v4);
        let mut encoded = Vec::new();
        encode_path_attributes(attrs, params, classic, &mut encoded)?;
        let layout = match classic {
            Some(_) => Layout::Announce { attrs: &encoded },
            None => Layout::Reach {
                family,
                next_hop: mp_next_hop_for(attrs, family)
                    .ok_or(EncodeError::MissingNextHop(family))?,
                attrs: &encoded,
            },
        };
        count += run(out, &layout, &mut list, add_path)?;
    }
    Ok(count)
}

fn of(list: &[(Family, Nlri)], fam: Family) -> Peekable<impl Iterator<Item = &Nlri>> {
    list.iter()
        .filter(move |(f, _)| *f == fam)
        .map(|(_, n)| n)
        .peekable()
}

/// Writes messages of `layout` until `items` is exhausted.
fn run<'n>(
    out: &mut Vec<u8>,
    layout: &Layout<'_>,
    items: &mut Peekable<impl Iterator<Item = &'n Nlri>>,
    add_path: bool,
) -> Result<usize, EncodeError> {
    let mut count = 0;
    while items.peek().is_some() {
        let at = start_message(out, MessageType::Update);
        // Positions of length fields to fill in, and octets that must still follow the NLRI.
        let (wlen_at, alen_at, mp_at, trailer) = match layout {
            Layout::Withdraw => {
                out.extend_from_slice(&[0, 0]);
                (Some(at + 19), None, None, 2)
            }
            Layout::Unreach(f) => {
                out.extend_from_slice(&[0, 0, 0, 0]);
                let mp = open_mp_unreach(out, *f);
                (None, Some(at + 21), Some(mp), 0)
            }
            Layout::Announce { attrs } => {
                out.extend_from_slice(&[0, 0]);
                let l = u16::try_from(attrs.len())
                    .map_err(|_| EncodeError::AttributesTooLarge { len: attrs.len() })?;
                out.extend_from_slice(&l.to_be_bytes());
                out.extend_from_slice(attrs);
                (None, None, None, 0)
            }
            Layout::Reach {
                family,
                next_hop,
                attrs,
            } => {
                out.extend_from_slice(&[0, 0, 0, 0]);
                let mp = open_mp_reach(out, *family, next_hop);
                (None, Some(at + 21), Some(mp), attrs.len())
            }
        };
        let limit = (at + MAX_MESSAGE_LEN).saturating_sub(trailer);
        let mut n = 0;
        while let Some(nlri) = items.peek() {
            if out.len() + nlri_len(nlri, add_path) > limit {
                break;
            }
            encode_nlri(nlri, add_path, out);
            items.next();
            n += 1;
        }
        if n == 0 {
            let len = match layout {
                Layout::Announce { attrs } | Layout::Reach { attrs, .. } => attrs.len(),
                _ => 0,
            };
            out.truncate(at);
            return Err(EncodeError::AttributesTooLarge { len });
        }
        if let Some(w) = wlen_at {
            let len = out.len() - w - 2;
            patch_u16(out, w, u16::try_from(len).unwrap_or(0));
            out.extend_from_slice(&[0, 0]);
        }
        if let Some(mp) = mp_at {
            close_extended(out, mp)?;
        }
        if let Layout::Reach { attrs, .. } = layout {
            out.extend_from_slice(attrs);
        }
        if let Some(a) = alen_at {
            let len = out.len() - a - 2;
            patch_u16(out, a, u16::try_from(len).unwrap_or(0));
        }
        finish_message(out, at)?;
        count += 1;
    }
    Ok(count)
}
