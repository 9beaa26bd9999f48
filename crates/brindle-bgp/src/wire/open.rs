//! OPEN (RFC 4271 §4.2) with the checks of §6.2, capabilities (RFC 5492) and extended optional
//! parameters length (RFC 9072).

use std::net::Ipv4Addr;

use super::capability::{decode_capabilities, encode_capability};
use super::cursor::{Reader, patch_u16};
use super::error::{DecodeError, EncodeError};
use super::notification::{codes, open_subcode};
use crate::model::{AS_TRANS, Capability, Notification, Open};

/// The BGP version brindle speaks.
pub const BGP_VERSION: u8 = 4;

/// Optional parameter type 2: Capabilities (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 §2: a Non-Ext OP Type of 255 announces the extended format.
const PARAM_EXTENDED_LENGTH: u8 = 255;

fn open_error(subcode: u8, data: Vec<u8>, detail: impl Into<String>) -> DecodeError {
    DecodeError::fatal(codes::OPEN_MESSAGE_ERROR, subcode, data, detail)
}

/// Decodes an OPEN body and applies the checks of RFC 4271 §6.2 that need no configuration
/// (the peer AS is checked by the FSM, see [`check_peer_as`]).
pub(crate) fn decode_open(body: &[u8]) -> Result<Open, DecodeError> {
    let mut r = Reader::new(body);
    let short = || open_error(open_subcode::UNSPECIFIC, Vec::new(), "OPEN too short");
    let version = r.u8().map_err(|_| short())?;
    // §6.2: "If the version number in the Version field of the received OPEN message is not
    // supported, then the Error Subcode MUST be set to Unsupported Version Number. The Data
    // field is a 2-octet unsigned integer, which indicates the largest, locally-supported
    // version number less than the version the remote BGP peer bid (as indicated in the
    // received OPEN message), or if the smallest, locally-supported version number is greater
    // than the version the remote BGP peer bid, then the smallest, locally-supported version
    // number." brindle supports only 4, so the data is always 4.
    if version != BGP_VERSION {
        return Err(open_error(
            open_subcode::UNSUPPORTED_VERSION,
            u16::from(BGP_VERSION).to_be_bytes().to_vec(),
            format!("peer speaks BGP version {version}"),
        ));
    }
    let (Ok(my_as), Ok(hold_time), Ok(bgp_id), Ok(opt_len)) = (r.u16(), r.u16(), r.ipv4(), r.u8())
    else {
        return Err(short());
    };
    // §6.2: "If the Hold Time field of the OPEN message is unacceptable, then the Error Subcode
    // MUST be set to Unacceptable Hold Time. An implementation MUST reject Hold Time values of
    // one or two seconds."
    if hold_time == 1 || hold_time == 2 {
        return Err(open_error(
            open_subcode::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            format!("hold time {hold_time}"),
        ));
    }
    // §6.2: "If the BGP Identifier field of the OPEN message is syntactically incorrect, then the
    // Error Subcode MUST be set to Bad BGP Identifier." RFC 6286 §2.1 relaxed "a valid unicast
    // IP host address" to "a 4-octet, unsigned, non-zero integer", so only zero is rejected
    // here; equality with our own identifier is the FSM's check (§2.2).
    if bgp_id.is_unspecified() {
        return Err(open_error(
            open_subcode::BAD_BGP_IDENTIFIER,
            Vec::new(),
            "BGP identifier 0.0.0.0",
        ));
    }
    let mut capabilities = Vec::new();
    let malformed = |what: &str| {
        open_error(
            open_subcode::UNSPECIFIC,
            Vec::new(),
            format!("malformed optional parameters: {what}"),
        )
    };
    // RFC 9072 §2: "If the value of [the Non-Ext OP Type] field is 255, then the encoding
    // described above is used for the Optional Parameters length" — a 2-octet Extended Opt.
    // Parm. Length follows, and each parameter has a 2-octet length.
    let extended = opt_len == 255 && r.rest().first() == Some(&PARAM_EXTENDED_LENGTH);
    let params = if extended {
        let _ = r.u8();
        let len = r.u16().map_err(|_| malformed("extended length missing"))?;
        r.take(usize::from(len))
            .map_err(|_| malformed("extended length overruns the message"))?
    } else {
        r.take(usize::from(opt_len))
            .map_err(|_| malformed("length overruns the message"))?
    };
    if !r.is_empty() {
        return Err(malformed("octets after the optional parameters"));
    }
    let mut p = Reader::new(params);
    while !p.is_empty() {
        let kind = p.u8().map_err(|_| malformed("parameter type missing"))?;
        let len = if extended {
            p.u16().map(usize::from)
        } else {
            p.u8().map(usize::from)
        }
        .map_err(|_| malformed("parameter length missing"))?;
        let value = p.take(len).map_err(|_| malformed("parameter overruns"))?;
        // §6.2: "If one of the Optional Parameters in the OPEN message is not recognized, then
        // the Error Subcode MUST be set to Unsupported Optional Parameters."
        if kind != PARAM_CAPABILITIES {
            return Err(open_error(
                open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Vec::new(),
                format!("optional parameter type {kind}"),
            ));
        }
        decode_capabilities(value, &mut capabilities)?;
    }
    Ok(Open {
        version,
        my_as,
        hold_time,
        bgp_id,
        capabilities,
    })
}

/// Encodes an OPEN body. Capabilities go in as many Capabilities parameters as needed (RFC 5492
/// §4 allows several); if even those exceed 255 octets, the RFC 9072 extended format is used.
pub(crate) fn encode_open(open: &Open, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(open.version);
    out.extend_from_slice(&open.my_as.to_be_bytes());
    out.extend_from_slice(&open.hold_time.to_be_bytes());
    out.extend_from_slice(&open.bgp_id.octets());
    let mut tlvs: Vec<Vec<u8>> = Vec::with_capacity(open.capabilities.len());
    for cap in &open.capabilities {
        let mut t = Vec::new();
        encode_capability(cap, &mut t)?;
        tlvs.push(t);
    }
    // Pack the TLVs into parameters of at most 255 octets.
    let mut params: Vec<Vec<u8>> = Vec::new();
    for t in tlvs {
        match params.last_mut() {
            Some(p) if p.len() + t.len() <= 255 => p.extend_from_slice(&t),
            _ => params.push(t),
        }
    }
    let short_len: usize = params.iter().map(|p| 2 + p.len()).sum();
    if short_len <= 255 {
        out.push(u8::try_from(short_len).unwrap_or(u8::MAX));
        for p in &params {
            out.extend_from_slice(&[PARAM_CAPABILITIES, u8::try_from(p.len()).unwrap_or(0)]);
            out.extend_from_slice(p);
        }
        return Ok(());
    }
    out.extend_from_slice(&[255, PARAM_EXTENDED_LENGTH, 0, 0]);
    let len_at = out.len() - 2;
    for p in &params {
        out.push(PARAM_CAPABILITIES);
        out.extend_from_slice(&u16::try_from(p.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(p);
    }
    let len = out.len() - len_at - 2;
    let l = u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
        what: "optional parameters",
        len,
    })?;
    patch_u16(out, len_at, l);
    Ok(())
}

/// An OPEN for a speaker in `asn`: "My Autonomous System" is AS_TRANS when the AS does not fit
/// two octets, and the four-octet AS capability is added when missing (RFC 6793 §3, §4.1).
pub fn new_open(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Open {
    let mut capabilities = capabilities;
    if !capabilities
        .iter()
        .any(|c| matches!(c, Capability::FourOctetAs(_)))
    {
        capabilities.push(Capability::FourOctetAs(asn));
    }
    Open {
        version: BGP_VERSION,
        my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
        hold_time,
        bgp_id,
        capabilities,
    }
}

/// RFC 4271 §6.2: "If the Autonomous System field of the OPEN message is unacceptable, then the
/// Error Subcode MUST be set to Bad Peer AS." The AS compared is the four-octet one
/// ([`Open::asn`]). An OPEN whose "My Autonomous System" is neither AS_TRANS nor that AS
/// (RFC 6793 §3: a speaker whose AS fits two octets puts it there, others put AS_TRANS) is
/// inconsistent and rejected as well.
pub fn check_peer_as(open: &Open, expected: u32) -> Result<(), Notification> {
    let asn = open.asn();
    let my_as_ok = open.my_as == AS_TRANS || u32::from(open.my_as) == asn;
    if asn == expected && my_as_ok {
        Ok(())
    } else {
        Err(Notification {
            code: codes::OPEN_MESSAGE_ERROR,
            subcode: open_subcode::BAD_PEER_AS,
            data: Vec::new(),
        })
    }
}

/// RFC 5492 §5: "Unsupported Capability ... The Data field of the NOTIFICATION message MUST list
/// the set of capabilities that causes the speaker to send the message. Each such capability is
/// encoded in the same way as it would be encoded in the OPEN message." Capabilities that cannot
/// be encoded (an unknown one longer than 255 octets) are left out.
pub fn unsupported_capability(caps: &[Capability]) -> Notification {
    let mut data = Vec::new();
    for c in caps {
        let _ = encode_capability(c, &mut data);
    }
    Notification {
        code: codes::OPEN_MESSAGE_ERROR,
        subcode: open_subcode::UNSUPPORTED_CAPABILITY,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family;

    fn sample() -> Open {
        new_open(
            4_200_000_000,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::RouteRefresh,
            ],
        )
    }

    #[test]
    fn round_trip_and_layout() {
        let open = sample();
        assert_eq!(open.my_as, AS_TRANS);
        let mut out = Vec::new();
        encode_open(&open, &mut out).expect("fits");
        assert_eq!(&out[..10], &[4, 0x5b, 0xa0, 0, 90, 192, 0, 2, 1, 16]);
        assert_eq!(decode_open(&out), Ok(open.clone()));
        assert_eq!(check_peer_as(&open, 4_200_000_000), Ok(()));
        assert_eq!(check_peer_as(&open, 65000).map_err(|n| n.subcode), Err(2));
    }

    #[test]
    fn many_capabilities_use_several_parameters_then_rfc9072() {
        let unknown = |n| Capability::Unknown {
            code: 200,
            value: vec![7; n],
        };
        let mut open = sample();
        open.capabilities = vec![unknown(200), unknown(30)];
        let mut out = Vec::new();
        encode_open(&open, &mut out).expect("fits");
        assert_eq!(out[9], 2 + 202 + 32);
        assert_eq!(decode_open(&out), Ok(open.clone()));
        open.capabilities = vec![unknown(250), unknown(250)];
        let mut out = Vec::new();
        encode_open(&open, &mut out).expect("fits");
        assert_eq!(&out[9..11], &[255, 255]);
        assert_eq!(decode_open(&out), Ok(open));
    }

    #[test]
    fn unsupported_capability_lists_them() {
        let n = unsupported_capability(&[Capability::Multiprotocol(Family::Ipv6Unicast)]);
        assert_eq!((n.code, n.subcode), (2, 7));
        assert_eq!(n.data, [1, 4, 0, 2, 0, 1]);
    }
}
