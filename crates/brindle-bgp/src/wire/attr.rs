//! Path attribute decoding (RFC 4271 §4.3, §5, §6.3) with the revised error handling of
//! RFC 7606: each malformed attribute leads to "treat-as-withdraw", "attribute discard" or a
//! session reset, as §3 and §7 assign.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::aspath::{decode_as_path, has_confed, merge_as4_path};
use super::cursor::Reader;
use super::error::{DecodeError, UpdateIssue};
use super::notification::update_subcode;
use super::params::CodecParams;
use crate::model::{
    AS_TRANS, AsPath, Community, Family, LargeCommunity, MpNextHop, Origin, PathAttributes,
    RawAttribute,
};

/// Attribute type codes.
pub(crate) mod code {
    pub(crate) const ORIGIN: u8 = 1;
    pub(crate) const AS_PATH: u8 = 2;
    pub(crate) const NEXT_HOP: u8 = 3;
    pub(crate) const MED: u8 = 4;
    pub(crate) const LOCAL_PREF: u8 = 5;
    pub(crate) const ATOMIC_AGGREGATE: u8 = 6;
    pub(crate) const AGGREGATOR: u8 = 7;
    pub(crate) const COMMUNITIES: u8 = 8;
    pub(crate) const ORIGINATOR_ID: u8 = 9;
    pub(crate) const CLUSTER_LIST: u8 = 10;
    pub(crate) const MP_REACH_NLRI: u8 = 14;
    pub(crate) const MP_UNREACH_NLRI: u8 = 15;
    pub(crate) const EXTENDED_COMMUNITIES: u8 = 16;
    pub(crate) const AS4_PATH: u8 = 17;
    pub(crate) const AS4_AGGREGATOR: u8 = 18;
    pub(crate) const LARGE_COMMUNITIES: u8 = 32;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub(crate) mod flag {
    pub(crate) const OPTIONAL: u8 = 0x80;
    pub(crate) const TRANSITIVE: u8 = 0x40;
    pub(crate) const PARTIAL: u8 = 0x20;
    pub(crate) const EXTENDED_LENGTH: u8 = 0x10;
    pub(crate) const WELL_KNOWN: u8 = TRANSITIVE;
    pub(crate) const OPTIONAL_TRANSITIVE: u8 = OPTIONAL | TRANSITIVE;
}

/// The Optional and Transitive bits an attribute brindle recognises must carry; `None` for
/// attributes it does not recognise.
pub(crate) fn expected_flags(code: u8) -> Option<u8> {
    use code::*;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => flag::WELL_KNOWN,
        MED | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI => flag::OPTIONAL,
        AGGREGATOR | COMMUNITIES | EXTENDED_COMMUNITIES | AS4_PATH | AS4_AGGREGATOR
        | LARGE_COMMUNITIES => flag::OPTIONAL_TRANSITIVE,
        _ => return None,
    })
}

/// How strongly an UPDATE is affected (RFC 7606 §3 h: "the approach with the strongest action
/// MUST be used").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Action {
    #[default]
    Accept,
    Discard,
    Withdraw,
}

/// MP_REACH_NLRI, located but with its NLRI not parsed yet.
pub(crate) struct MpReach<'a> {
    pub(crate) family: Family,
    pub(crate) next_hop: MpNextHop,
    pub(crate) nlri: &'a [u8],
    /// The whole attribute, for the data of a NOTIFICATION.
    pub(crate) raw: &'a [u8],
}

/// MP_UNREACH_NLRI, located but with its NLRI not parsed yet.
pub(crate) struct MpUnreach<'a> {
    /// `None` for an AFI/SAFI brindle does not speak.
    pub(crate) family: Option<Family>,
    pub(crate) afi: u16,
    pub(crate) safi: u8,
    pub(crate) nlri: &'a [u8],
    pub(crate) raw: &'a [u8],
}

/// The path attributes of one UPDATE, parsed.
#[derive(Default)]
pub(crate) struct ParsedAttrs<'a> {
    pub(crate) attrs: PathAttributes,
    /// Attributes on the wire, dropped ones included.
    pub(crate) count: usize,
    /// Some attribute other than MP_UNREACH_NLRI was present.
    pub(crate) any_path_attribute: bool,
    pub(crate) mp_reach: Option<MpReach<'a>>,
    pub(crate) mp_unreach: Option<MpUnreach<'a>>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<(u32, Ipv4Addr)>,
    seen: [u64; 4],
    pub(crate) action: Action,
    pub(crate) issues: Vec<UpdateIssue>,
}

impl<'a> ParsedAttrs<'a> {
    fn withdraw(&mut self, issue: UpdateIssue) {
        self.action = self.action.max(Action::Withdraw);
        self.issues.push(issue);
    }

    fn discard(&mut self, issue: UpdateIssue) {
        self.action = self.action.max(Action::Discard);
        self.issues.push(issue);
    }

    fn malformed_withdraw(&mut self, code: u8, reason: &'static str) {
        self.withdraw(UpdateIssue::Malformed { code, reason });
    }

    fn malformed_discard(&mut self, code: u8, reason: &'static str) {
        self.discard(UpdateIssue::Malformed { code, reason });
    }

    /// True when an attribute of type `code` was on the wire.
    pub(crate) fn seen(&self, code: u8) -> bool {
        self.seen
            .get(usize::from(code / 64))
            .is_some_and(|w| w & (1u64 << (code % 64)) != 0)
    }

    fn mark_seen(&mut self, code: u8) {
        if let Some(w) = self.seen.get_mut(usize::from(code / 64)) {
            *w |= 1u64 << (code % 64);
        }
    }

    /// Records a problem found after parsing that calls for treat-as-withdraw.
    pub(crate) fn withdraw_for(&mut self, issue: UpdateIssue) {
        self.withdraw(issue);
    }

    /// Records a problem found after parsing that calls for attribute discard.
    pub(crate) fn discard_for(&mut self, issue: UpdateIssue) {
        self.discard(issue);
    }
}

/// Parses the path attributes field of an UPDATE.
pub(crate) fn parse_attributes<'a>(
    bytes: &'a [u8],
    params: &CodecParams,
) -> Result<ParsedAttrs<'a>, DecodeError> {
    let mut st = ParsedAttrs::default();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let start = r.rest();
        let header = (r.u8(), r.u8());
        let (Ok(flags), Ok(code)) = header else {
            st.withdraw(UpdateIssue::AttributeListOverrun);
            break;
        };
        let extended = flags & flag::EXTENDED_LENGTH != 0;
        let len = if extended {
            r.u16().map(usize::from)
        } else {
            r.u8().map(usize::from)
        };
        // RFC 7606 §4: "In the first case, the length of the last encountered path attribute
        // would cause the Total Attribute Length to be exceeded when parsing the enclosed path
        // attributes. In the second case, fewer than three octets remain (or fewer than four
        // octets, if the Attribute Flags field has the Extended Length bit set) when beginning
        // to parse the attribute. ... In either of these cases, an error condition exists and
        // the "treat-as-withdraw" approach MUST be used ... and the Total Attribute Length MUST
        // be relied upon to enable the beginning of the NLRI field to be located."
        let Ok(len) = len else {
            st.withdraw(UpdateIssue::AttributeListOverrun);
            break;
        };
        let Ok(value) = r.take(len) else {
            st.withdraw(UpdateIssue::AttributeListOverrun);
            break;
        };
        let raw = start.get(..start.len() - r.remaining()).unwrap_or_default();
        st.count += 1;
        if st.seen(code) {
            // RFC 7606 §3 g: "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI [RFC4760]
            // attribute appears more than once in the UPDATE message, then a NOTIFICATION
            // message MUST be sent with the Error Subcode "Malformed Attribute List". If any
            // other attribute (whether recognized or unrecognized) appears more than once in an
            // UPDATE message, then all the occurrences of the attribute other than the first one
            // SHALL be discarded and the UPDATE message will continue to be processed."
            if code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI {
                return Err(DecodeError::malformed_attribute_list(format!(
                    "attribute {code} appears more than once"
                )));
            }
            st.discard(UpdateIssue::Duplicate { code });
            continue;
        }
        st.mark_seen(code);
        if code != code::MP_UNREACH_NLRI {
            st.any_path_attribute = true;
        }
        apply(&mut st, flags, code, value, raw, params)?;
    }
    Ok(st)
}

fn apply<'a>(
    st: &mut ParsedAttrs<'a>,
    flags: u8,
    code: u8,
    value: &'a [u8],
    raw: &'a [u8],
    params: &CodecParams,
) -> Result<(), DecodeError> {
    let Some(expected) = expected_flags(code) else {
        return unrecognized(st, flags, code, value, raw);
    };
    let mut flags_ok = true;
    if flags & flag::OPTIONAL_TRANSITIVE != expected {
        let issue = UpdateIssue::AttributeFlags { code, flags };
        match code {
            // RFC 7606 §3 f: ""Attribute discard" MUST be used for any of the cases that
            // specify a session reset and involve ATOMIC_AGGREGATE or AGGREGATOR." (AS4_PATH
            // and AS4_AGGREGATOR errors are discards too, RFC 6793 §6.)
            code::ATOMIC_AGGREGATE | code::AGGREGATOR | code::AS4_PATH | code::AS4_AGGREGATOR => {
                st.discard(issue);
                return Ok(());
            }
            // RFC 7606 §3 c: "If the value of either the Optional or Transitive bits in the
            // Attribute Flags is in conflict with their specified values, then the attribute
            // MUST be treated as malformed and the "treat-as-withdraw" approach used". The MP
            // attributes are still parsed below, since their NLRI is what gets withdrawn.
            _ => st.withdraw(issue),
        }
        flags_ok = false;
    }
    let is_mp = code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI;
    if !flags_ok && !is_mp {
        return Ok(());
    }
    let a = &mut st.attrs;
    match code {
        // RFC 7606 §7.1: "The attribute is considered malformed if its length is not 1 or if it
        // has an undefined value [RFC4271]. An UPDATE message with a malformed ORIGIN attribute
        // SHALL be handled using the approach of "treat-as-withdraw"."
        code::ORIGIN => match value {
            [0] => a.origin = Origin::Igp,
            [1] => a.origin = Origin::Egp,
            [2] => a.origin = Origin::Incomplete,
            [_] => st.malformed_withdraw(code, "undefined ORIGIN value"),
            _ => st.malformed_withdraw(code, "ORIGIN length is not 1"),
        },
        // RFC 7606 §7.2: "An UPDATE message with a malformed AS_PATH attribute SHALL be handled
        // using the approach of "treat-as-withdraw"."
        code::AS_PATH => match decode_as_path(value, params.four_octet_as) {
            Ok(path) => {
                // RFC 5065 §5: "It is a error for a BGP speaker to receive an UPDATE message
                // with an AS_PATH attribute that contains AS_CONFED_SEQUENCE or AS_CONFED_SET
                // segments from a neighbor that is not located in the same confederation. If a
                // BGP speaker receives such an UPDATE message, it SHALL treat the message as
                // though it had received a withdrawal for all routes contained in the message."
                if params.is_external() && has_confed(&path) {
                    st.withdraw(UpdateIssue::ConfedSegmentFromExternal);
                }
                st.attrs.as_path = path;
            }
            Err(reason) => st.malformed_withdraw(code, reason),
        },
        // RFC 7606 §7.3: "The NEXT_HOP attribute SHALL be considered malformed if its length is
        // not 4 [RFC4271]. An UPDATE message with a malformed NEXT_HOP attribute SHALL be
        // handled using the approach of "treat-as-withdraw"." (Its value is checked once it is
        // known to be used, in `finish`.)
        code::NEXT_HOP => match four(value) {
            Some(b) => a.next_hop = Some(Ipv4Addr::from(b)),
            None => st.malformed_withdraw(code, "NEXT_HOP length is not 4"),
        },
        // RFC 7606 §7.4: "The attribute SHALL be considered malformed if its length is not 4
        // [RFC4271]. An UPDATE message with a malformed MULTI_EXIT_DISC attribute SHALL be
        // handled using the approach of "treat-as-withdraw"."
        code::MED => match four(value) {
            Some(b) => a.med = Some(u32::from_be_bytes(b)),
            None => st.malformed_withdraw(code, "MULTI_EXIT_DISC length is not 4"),
        },
        // RFC 7606 §7.5: "if the LOCAL_PREF attribute is received from an external neighbor, it
        // SHALL be discarded using the approach of "attribute discard"; or if received from an
        // internal neighbor, it SHALL be considered malformed if its length is not equal to 4.
        // If malformed, the UPDATE message SHALL be handled using the approach of
        // "treat-as-withdraw"."
        code::LOCAL_PREF => {
            if params.is_external() {
                st.discard(UpdateIssue::LocalPrefFromExternal);
            } else {
                match four(value) {
                    Some(b) => a.local_pref = Some(u32::from_be_bytes(b)),
                    None => st.malformed_withdraw(code, "LOCAL_PREF length is not 4"),
                }
            }
        }
        // RFC 7606 §7.6: "The ATOMIC_AGGREGATE attribute SHALL be considered malformed if its
        // length is not 0 [RFC4271]. An UPDATE message with a malformed ATOMIC_AGGREGATE
        // attribute SHALL be handled using the approach of "attribute discard"."
        code::ATOMIC_AGGREGATE => {
            if value.is_empty() {
                a.atomic_aggregate = true;
            } else {
                st.malformed_discard(code, "ATOMIC_AGGREGATE length is not 0");
            }
        }
        // RFC 7606 §7.7: "The error conditions specified in [RFC4271] for the attribute are
        // revised as follows: The AGGREGATOR attribute SHALL be considered malformed if any of
        // the following applies: o Its length is not 6 (when the 4-octet AS number capability
        // is not advertised to, or not received from, the peer [RFC6793]). o Its length is not
        // 8 (when the 4-octet AS number capability is both advertised to and received from the
        // peer). An UPDATE message with a malformed AGGREGATOR attribute SHALL be handled using
        // the approach of "attribute discard"."
        code::AGGREGATOR => match aggregator(value, params.four_octet_as) {
            Some(agg) => a.aggregator = Some(agg),
            None => st.malformed_discard(code, "AGGREGATOR length is wrong for the session"),
        },
        // RFC 7606 §7.8: "The error handling of [RFC1997] is revised as follows: o The Community
        // attribute SHALL be considered malformed if its length is not a non-zero multiple of
        // 4. o An UPDATE message with a malformed Community attribute SHALL be handled using the
        // approach of "treat-as-withdraw"."
        code::COMMUNITIES => match multiple_of::<4>(value) {
            Some(chunks) => {
                a.communities = chunks.map(|c| Community(u32::from_be_bytes(c))).collect()
            }
            None => st.malformed_withdraw(code, "COMMUNITIES length is not a multiple of 4"),
        },
        // RFC 7606 §7.9: "... if the length of the ORIGINATOR_ID attribute is other than 4 ...
        // the UPDATE message SHALL be handled using the approach of "treat-as-withdraw"."
        code::ORIGINATOR_ID => match four(value) {
            Some(b) => a.originator_id = Some(Ipv4Addr::from(b)),
            None => st.malformed_withdraw(code, "ORIGINATOR_ID length is not 4"),
        },
        // RFC 7606 §7.10: "... if the length of CLUSTER_LIST is not a non-zero multiple of 4
        // ... treat-as-withdraw".
        code::CLUSTER_LIST => match multiple_of::<4>(value) {
            Some(chunks) => a.cluster_list = chunks.map(Ipv4Addr::from).collect(),
            None => st.malformed_withdraw(code, "CLUSTER_LIST length is not a multiple of 4"),
        },
        code::MP_REACH_NLRI => mp_reach(st, value, raw)?,
        code::MP_UNREACH_NLRI => mp_unreach(st, value, raw)?,
        // RFC 7606 §7.14: "The error handling of [RFC4360] is revised as follows: o The Extended
        // Communities attribute SHALL be considered malformed if its length is not a non-zero
        // multiple of 8. o An UPDATE message with a malformed Extended Communities attribute
        // SHALL be handled using the approach of "treat-as-withdraw"."
        code::EXTENDED_COMMUNITIES => match multiple_of::<8>(value) {
            Some(chunks) => a.ext_communities = chunks.collect(),
            None => {
                st.malformed_withdraw(code, "EXTENDED_COMMUNITIES length is not a multiple of 8")
            }
        },
        code::AS4_PATH | code::AS4_AGGREGATOR if params.four_octet_as => {
            // RFC 6793 §6: "A NEW BGP speaker ... MUST NOT send the AS4_PATH ... or
            // AS4_AGGREGATOR ... to a NEW BGP speaker. ... a NEW BGP speaker that receives [them]
            // from a NEW BGP speaker ... MUST discard [them] and continue processing the UPDATE
            // message."
            st.discard(UpdateIssue::As4OnFourOctetSession { code });
        }
        // RFC 6793 §6: errors in AS4_PATH (malformed as AS_PATH would be, or with confederation
        // segments, which it must not carry) are handled by "attribute discard".
        code::AS4_PATH => match decode_as_path(value, true) {
            Ok(path) if !has_confed(&path) => st.as4_path = Some(path),
            Ok(_) => st.malformed_discard(code, "AS4_PATH with confederation segments"),
            Err(reason) => st.malformed_discard(code, reason),
        },
        // RFC 6793 §6: an AS4_AGGREGATOR whose length is not 8 is discarded.
        code::AS4_AGGREGATOR => match aggregator(value, true) {
            Some(agg) => st.as4_aggregator = Some(agg),
            None => st.malformed_discard(code, "AS4_AGGREGATOR length is not 8"),
        },
        // RFC 8092 §6: "A BGP Large Communities attribute SHALL be considered malformed if the
        // length of the BGP Large Communities Attribute value, expressed in octets, is not a
        // non-zero multiple of 12. ... A BGP UPDATE message with a malformed BGP Large
        // Communities attribute SHALL be handled using the approach of "treat-as-withdraw"".
        // §5: "A receiving speaker MUST silently remove redundant BGP Large Community values".
        code::LARGE_COMMUNITIES => match multiple_of::<12>(value) {
            Some(chunks) => {
                let mut list: Vec<LargeCommunity> = Vec::with_capacity(value.len() / 12);
                for c in chunks {
                    let mut r = Reader::new(&c);
                    let (Ok(g), Ok(l1), Ok(l2)) = (r.u32(), r.u32(), r.u32()) else {
                        continue;
                    };
                    let lc = LargeCommunity(g, l1, l2);
                    if !list.contains(&lc) {
                        list.push(lc);
                    }
                }
                a.large_communities = list;
            }
            None => st.malformed_withdraw(code, "LARGE_COMMUNITY length is not a multiple of 12"),
        },
        _ => {}
    }
    Ok(())
}

/// An attribute brindle does not recognise.
fn unrecognized(
    st: &mut ParsedAttrs<'_>,
    flags: u8,
    code: u8,
    value: &[u8],
    raw: &[u8],
) -> Result<(), DecodeError> {
    // RFC 4271 §6.3: "If any of the well-known mandatory attributes are not recognized, then
    // the Error Subcode MUST be set to Unrecognized Well-known Attribute. The Data field MUST
    // contain the unrecognized attribute (type, length, and value)."
    if flags & flag::OPTIONAL == 0 {
        return Err(DecodeError::update(
            update_subcode::UNRECOGNIZED_WELL_KNOWN,
            raw.to_vec(),
            format!("unrecognized well-known attribute {code}"),
        ));
    }
    // RFC 4271 §5: "If an optional transitive attribute is unrecognized, the Partial bit in the
    // attribute flags octet is set to 1, and the attribute is retained for propagation to other
    // BGP speakers." ... "Unrecognized non-transitive optional attributes MUST be quietly
    // ignored and not passed along to other BGP peers." The Partial bit is set here, as the
    // attribute is only kept to be passed on.
    if flags & flag::TRANSITIVE != 0 {
        st.attrs.unknown.push(RawAttribute {
            flags: (flags & (flag::OPTIONAL_TRANSITIVE | flag::PARTIAL)) | flag::PARTIAL,
            code,
            value: value.to_vec(),
        });
    }
    Ok(())
}

fn optional_attribute_error(raw: &[u8], detail: String) -> DecodeError {
    // RFC 4271 §6.3: "If an optional attribute is recognized, then the value of this attribute
    // MUST be checked. If an error is detected, the attribute MUST be discarded, and the Error
    // Subcode MUST be set to Optional Attribute Error. The Data field MUST contain the
    // attribute (type, length, and value)." RFC 4760 §7 names this subcode for MP attributes.
    DecodeError::update(update_subcode::OPTIONAL_ATTRIBUTE, raw.to_vec(), detail)
}

/// MP_REACH_NLRI (RFC 4760 §3): AFI (2), SAFI (1), Length of Next Hop (1), Next Hop,
/// Reserved (1), NLRI.
fn mp_reach<'a>(
    st: &mut ParsedAttrs<'a>,
    value: &'a [u8],
    raw: &'a [u8],
) -> Result<(), DecodeError> {
    let mut r = Reader::new(value);
    let (Ok(afi), Ok(safi), Ok(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(optional_attribute_error(
            raw,
            "MP_REACH_NLRI too short".into(),
        ));
    };
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        st.discard(UpdateIssue::UnsupportedFamily { afi, safi });
        return Ok(());
    };
    // RFC 7606 §7.11: "If the Length of Next Hop Network Address field of the MP_REACH
    // attribute is inconsistent with that which was expected, the attribute is considered
    // malformed. Since the next hop precedes the NLRI field in the attribute, in this case it
    // will not be possible to reliably locate the NLRI; thus, the "session reset" approach or
    // the "AFI/SAFI disable" approach MUST be used."
    let nh = r.take(usize::from(nh_len));
    let next_hop = match (family, nh) {
        (Family::Ipv4Unicast, Ok(b)) => four(b).map(|a| MpNextHop {
            global: IpAddr::V4(Ipv4Addr::from(a)),
            link_local: None,
        }),
        // RFC 2545 §3: "the Network Address of Next Hop field ... shall contain either a global
        // IPv6 address or a global IPv6 address followed by a link-local IPv6 address" (16 or 32
        // octets).
        (Family::Ipv6Unicast, Ok(b)) => {
            let mut nr = Reader::new(b);
            match (b.len(), nr.ipv6(), nr.ipv6()) {
                (16, Ok(g), _) => Some(MpNextHop {
                    global: IpAddr::V6(g),
                    link_local: None,
                }),
                (32, Ok(g), Ok(ll)) => Some(MpNextHop {
                    global: IpAddr::V6(g),
                    link_local: Some(ll),
                }),
                _ => None,
            }
        }
        (_, Err(_)) => None,
    };
    let Some(next_hop) = next_hop else {
        return Err(optional_attribute_error(
            raw,
            format!("MP_REACH_NLRI next hop length {nh_len} is wrong for {family}"),
        ));
    };
    // RFC 4760 §3: "Reserved: A 1 octet field that MUST be set to 0, and SHOULD be ignored
    // upon receipt."
    if r.u8().is_err() {
        return Err(optional_attribute_error(
            raw,
            "MP_REACH_NLRI ends before its reserved octet".into(),
        ));
    }
    st.mp_reach = Some(MpReach {
        family,
        next_hop,
        nlri: r.rest(),
        raw,
    });
    Ok(())
}

/// MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), Withdrawn Routes.
fn mp_unreach<'a>(
    st: &mut ParsedAttrs<'a>,
    value: &'a [u8],
    raw: &'a [u8],
) -> Result<(), DecodeError> {
    let mut r = Reader::new(value);
    let (Ok(afi), Ok(safi)) = (r.u16(), r.u8()) else {
        return Err(optional_attribute_error(
            raw,
            "MP_UNREACH_NLRI too short".into(),
        ));
    };
    let family = Family::from_afi_safi(afi, safi);
    st.mp_unreach = Some(MpUnreach {
        family,
        afi,
        safi,
        nlri: r.rest(),
        raw,
    });
    Ok(())
}

fn four(value: &[u8]) -> Option<[u8; 4]> {
    value.try_into().ok()
}

/// `value` as N-octet chunks, when its length is a non-zero multiple of N.
fn multiple_of<const N: usize>(value: &[u8]) -> Option<impl Iterator<Item = [u8; N]> + '_> {
    (!value.is_empty() && value.len().is_multiple_of(N))
        .then(|| value.chunks_exact(N).filter_map(|c| c.try_into().ok()))
}

/// AGGREGATOR (RFC 4271 §5.1.7): AS (2 octets, or 4 with RFC 6793) and an IPv4 address.
fn aggregator(value: &[u8], four_octet: bool) -> Option<(u32, Ipv4Addr)> {
    let mut r = Reader::new(value);
    let asn = if four_octet {
        r.u32().ok()?
    } else {
        u32::from(r.u16().ok()?)
    };
    let ip = r.ipv4().ok()?;
    r.is_empty().then_some((asn, ip))
}

/// RFC 6793 §4.2.3: rebuilds the four-octet AS_PATH and AGGREGATOR from what a two-octet speaker
/// sent. "If the AGGREGATOR attribute carries an AS number other than AS_TRANS ... then the
/// AS4_AGGREGATOR attribute and the AS4_PATH attribute (if either is present) SHALL be ignored
/// ... If the AGGREGATOR attribute carries AS_TRANS ... the AS4_AGGREGATOR attribute ... SHALL
/// be used as the AGGREGATOR."
pub(crate) fn merge_as4(st: &mut ParsedAttrs<'_>) {
    let as4_path = st.as4_path.take();
    let as4_aggregator = st.as4_aggregator.take();
    if let Some((asn, _)) = st.attrs.aggregator {
        if asn != u32::from(AS_TRANS) {
            return;
        }
        if let Some(agg) = as4_aggregator {
            st.attrs.aggregator = Some(agg);
        }
    }
    if let Some(as4) = as4_path {
        let as_path = std::mem::take(&mut st.attrs.as_path);
        st.attrs.as_path = merge_as4_path(as_path, as4);
    }
}

/// RFC 4271 §6.3 / RFC 7606 §7.3: a NEXT_HOP must be a usable unicast host address; 0/8,
/// 127/8, multicast (224/4) and 240/4 (including the broadcast address) are not.
pub(crate) fn bad_ipv4_next_hop(a: Ipv4Addr) -> bool {
    let [first, ..] = a.octets();
    first == 0 || first == 127 || first >= 224
}

/// The same for an IPv6 next hop: unspecified, loopback and multicast addresses are not usable.
pub(crate) fn bad_ipv6_next_hop(a: Ipv6Addr) -> bool {
    a.is_unspecified() || a.is_loopback() || a.is_multicast()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, code, u8::try_from(value.len()).expect("short")];
        v.extend_from_slice(value);
        v
    }

    fn parse(bytes: &[u8]) -> ParsedAttrs<'_> {
        parse_attributes(bytes, &CodecParams::default()).expect("not fatal")
    }

    #[test]
    fn recognized_attributes() {
        let mut b = attr(0x40, 1, &[2]);
        b.extend(attr(0x40, 2, &[2, 1, 0xfd, 0xe9]));
        b.extend(attr(0x40, 3, &[10, 0, 0, 1]));
        b.extend(attr(0x80, 4, &[0, 0, 0, 5]));
        b.extend(attr(0x40, 5, &[0, 0, 0, 100]));
        b.extend(attr(0x40, 6, &[]));
        b.extend(attr(0xc0, 7, &[0xfd, 0xe9, 1, 2, 3, 4]));
        b.extend(attr(0xc0, 8, &[0xff, 0xff, 0xff, 0x01]));
        b.extend(attr(0x80, 9, &[1, 1, 1, 1]));
        b.extend(attr(0x80, 10, &[2, 2, 2, 2, 3, 3, 3, 3]));
        b.extend(attr(0xc0, 16, &[0, 2, 0, 1, 0, 0, 0, 1]));
        b.extend(attr(0xc0, 32, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]));
        let p = parse(&b);
        assert_eq!(p.action, Action::Accept, "{:?}", p.issues);
        let a = &p.attrs;
        assert_eq!(a.origin, Origin::Incomplete);
        assert_eq!(a.as_path, AsPath::sequence(vec![65001]));
        assert_eq!(a.next_hop, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!((a.med, a.local_pref), (Some(5), Some(100)));
        assert!(a.atomic_aggregate);
        assert_eq!(a.aggregator, Some((65001, Ipv4Addr::new(1, 2, 3, 4))));
        assert_eq!(a.communities, [Community::NO_EXPORT]);
        assert_eq!(a.originator_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
        assert_eq!(a.cluster_list.len(), 2);
        assert_eq!(a.ext_communities, [[0, 2, 0, 1, 0, 0, 0, 1]]);
        assert_eq!(a.large_communities, [LargeCommunity(1, 2, 3)]);
        assert_eq!(p.count, 12);
    }

    #[test]
    fn unknown_attributes() {
        let mut b = attr(0xc0, 99, &[1, 2]);
        b.extend(attr(0x80, 98, &[3]));
        let p = parse(&b);
        assert_eq!(
            p.attrs.unknown,
            [RawAttribute {
                flags: 0xe0,
                code: 99,
                value: vec![1, 2]
            }]
        );
        let e = parse_attributes(&attr(0x40, 97, &[7]), &CodecParams::default())
            .err()
            .expect("fatal");
        let n = e.notification().expect("fatal");
        assert_eq!(
            (n.code, n.subcode, n.data.as_slice()),
            (3, 2, &[0x40, 97, 1, 7][..])
        );
    }

    #[test]
    fn large_communities_lose_duplicates() {
        let one = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        let bytes = attr(0xc0, 32, &[one, one].concat());
        let p = parse(&bytes);
        assert_eq!(p.attrs.large_communities, [LargeCommunity(1, 2, 3)]);
        assert_eq!(p.action, Action::Accept);
    }

    #[test]
    fn as4_merge_and_aggregator() {
        let mut b = attr(0x40, 2, &[2, 2, 0xfd, 0xe9, 0x5b, 0xa0]);
        b.extend(attr(0xc0, 7, &[0x5b, 0xa0, 1, 2, 3, 4]));
        b.extend(attr(0xc0, 17, &[2, 1, 0, 1, 0x11, 0x70]));
        b.extend(attr(0xc0, 18, &[0, 1, 0x11, 0x70, 1, 2, 3, 4]));
        let mut p = parse(&b);
        merge_as4(&mut p);
        assert_eq!(p.attrs.as_path, AsPath::sequence(vec![65001, 70000]));
        assert_eq!(p.attrs.aggregator, Some((70000, Ipv4Addr::new(1, 2, 3, 4))));
        assert!(p.attrs.unknown.is_empty());
    }

    #[test]
    fn next_hop_validity() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.5",
            "255.255.255.255",
            "240.0.0.1",
        ] {
            assert!(bad_ipv4_next_hop(bad.parse().expect("ip")), "{bad}");
        }
        assert!(!bad_ipv4_next_hop(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(bad_ipv6_next_hop(Ipv6Addr::UNSPECIFIED));
        assert!(bad_ipv6_next_hop("ff02::1".parse().expect("ip")));
        assert!(!bad_ipv6_next_hop("fe80::1".parse().expect("ip")));
    }
}
