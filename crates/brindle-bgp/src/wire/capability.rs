//! Capabilities in OPEN's optional parameters (RFC 5492 §4): one TLV each, code (1),
//! length (1), value.

use super::cursor::Reader;
use super::error::{DecodeError, EncodeError};
use super::notification::{codes, open_subcode};
use crate::model::{AddPathMode, Capability, Family, GracefulRestartCap};

/// Capability codes (IANA "Capability Codes").
pub(crate) mod cap_code {
    pub(crate) const MULTIPROTOCOL: u8 = 1;
    pub(crate) const ROUTE_REFRESH: u8 = 2;
    pub(crate) const GRACEFUL_RESTART: u8 = 64;
    pub(crate) const FOUR_OCTET_AS: u8 = 65;
    pub(crate) const ADD_PATH: u8 = 69;
    pub(crate) const ENHANCED_ROUTE_REFRESH: u8 = 70;
}

fn malformed(detail: String) -> DecodeError {
    // RFC 5492 defines no subcode for a malformed Capabilities parameter; RFC 4271 §4.5: "If no
    // appropriate Error Subcode is defined, then a zero (Unspecific) value is used".
    DecodeError::fatal(
        codes::OPEN_MESSAGE_ERROR,
        open_subcode::UNSPECIFIC,
        Vec::new(),
        detail,
    )
}

/// Parses the value of a Capabilities optional parameter (type 2) into `out`.
///
/// RFC 5492 §4: "The parameter contains one or more triples <Capability Code, Capability
/// Length, Capability Value>". §3: a speaker "MUST be prepared to accept" capabilities it does
/// not understand; they are kept as [`Capability::Unknown`].
pub(crate) fn decode_capabilities(
    value: &[u8],
    out: &mut Vec<Capability>,
) -> Result<(), DecodeError> {
    let mut r = Reader::new(value);
    while !r.is_empty() {
        let (Ok(code), Ok(len)) = (r.u8(), r.u8()) else {
            return Err(malformed("capability header overruns its parameter".into()));
        };
        let Ok(v) = r.take(usize::from(len)) else {
            return Err(malformed(format!(
                "capability {code} overruns its parameter"
            )));
        };
        out.push(decode_one(code, v)?);
    }
    Ok(())
}

fn decode_one(code: u8, v: &[u8]) -> Result<Capability, DecodeError> {
    let unknown = || Capability::Unknown {
        code,
        value: v.to_vec(),
    };
    let mut r = Reader::new(v);
    Ok(match code {
        // RFC 4760 §8: "Capability Value field ... AFI (2 octets), Res. (1 octet), SAFI (1 octet)"
        cap_code::MULTIPROTOCOL => {
            let (Ok(afi), Ok(_), Ok(safi), true) = (r.u16(), r.u8(), r.u8(), v.len() == 4) else {
                return Err(malformed(format!(
                    "multiprotocol capability of {} octets",
                    v.len()
                )));
            };
            match Family::from_afi_safi(afi, safi) {
                Some(f) => Capability::Multiprotocol(f),
                None => Capability::MultiprotocolOther { afi, safi },
            }
        }
        // RFC 2918 §2 / RFC 7313 §3: "Capability Length: 0".
        cap_code::ROUTE_REFRESH if v.is_empty() => Capability::RouteRefresh,
        cap_code::ENHANCED_ROUTE_REFRESH if v.is_empty() => Capability::EnhancedRouteRefresh,
        // RFC 6793 §3: "the Capability Length field ... is set to 4".
        cap_code::FOUR_OCTET_AS => match v.try_into() {
            Ok(b) => Capability::FourOctetAs(u32::from_be_bytes(b)),
            Err(_) => {
                return Err(malformed(format!(
                    "four-octet AS capability of {} octets",
                    v.len()
                )));
            }
        },
        // RFC 4724 §3: Restart Flags (4 bits), Restart Time (12 bits), then per family AFI (2),
        // SAFI (1), Flags for Address Family (1).
        cap_code::GRACEFUL_RESTART => {
            let (Ok(head), true) = (r.u16(), v.len() % 4 == 2) else {
                return Err(malformed(format!(
                    "graceful restart capability of {} octets",
                    v.len()
                )));
            };
            let mut families = Vec::new();
            while let (Ok(afi), Ok(safi), Ok(flags)) = (r.u16(), r.u8(), r.u8()) {
                if let Some(f) = Family::from_afi_safi(afi, safi) {
                    families.push((f, flags & 0x80 != 0));
                }
            }
            Capability::GracefulRestart(GracefulRestartCap {
                restarting: head & 0x8000 != 0,
                notification: head & 0x4000 != 0,
                restart_time: head & 0x0fff,
                families,
            })
        }
        // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1), repeated. "If any other value is
        // received [in Send/Receive], then the capability SHOULD be treated as not understood
        // and ignored."
        cap_code::ADD_PATH => {
            if !v.len().is_multiple_of(4) {
                return Err(malformed(format!(
                    "ADD-PATH capability of {} octets",
                    v.len()
                )));
            }
            let mut list = Vec::new();
            while let (Ok(afi), Ok(safi), Ok(mode)) = (r.u16(), r.u8(), r.u8()) {
                let mode = match mode {
                    1 => AddPathMode::Receive,
                    2 => AddPathMode::Send,
                    3 => AddPathMode::Both,
                    _ => return Ok(unknown()),
                };
                if let Some(f) = Family::from_afi_safi(afi, safi) {
                    list.push((f, mode));
                }
            }
            Capability::AddPath(list)
        }
        _ => unknown(),
    })
}

/// Appends one capability TLV.
pub(crate) fn encode_capability(cap: &Capability, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    let code = match cap {
        Capability::Multiprotocol(f) => {
            out.extend_from_slice(&f.afi().to_be_bytes());
            out.extend_from_slice(&[0, f.safi()]);
            cap_code::MULTIPROTOCOL
        }
        Capability::MultiprotocolOther { afi, safi } => {
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
            cap_code::MULTIPROTOCOL
        }
        Capability::RouteRefresh => cap_code::ROUTE_REFRESH,
        Capability::EnhancedRouteRefresh => cap_code::ENHANCED_ROUTE_REFRESH,
        Capability::FourOctetAs(asn) => {
            out.extend_from_slice(&asn.to_be_bytes());
            cap_code::FOUR_OCTET_AS
        }
        Capability::GracefulRestart(gr) => {
            let mut head = gr.restart_time & 0x0fff;
            if gr.restarting {
                head |= 0x8000;
            }
            if gr.notification {
                head |= 0x4000;
            }
            out.extend_from_slice(&head.to_be_bytes());
            for (f, forwarding) in &gr.families {
                out.extend_from_slice(&f.afi().to_be_bytes());
                out.push(f.safi());
                out.push(if *forwarding { 0x80 } else { 0 });
            }
            cap_code::GRACEFUL_RESTART
        }
        Capability::AddPath(list) => {
            for (f, mode) in list {
                out.extend_from_slice(&f.afi().to_be_bytes());
                out.push(f.safi());
                out.push(match mode {
                    AddPathMode::Receive => 1,
                    AddPathMode::Send => 2,
                    AddPathMode::Both => 3,
                });
            }
            cap_code::ADD_PATH
        }
        Capability::Unknown { code, value } => {
            out.extend_from_slice(value);
            *code
        }
    };
    let len = out.len() - at - 2;
    let Ok(len8) = u8::try_from(len) else {
        out.truncate(at);
        return Err(EncodeError::FieldTooLong {
            what: "capability",
            len,
        });
    };
    if let Some(h) = out.get_mut(at..at + 2) {
        h.copy_from_slice(&[code, len8]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cap: Capability) {
        let mut out = Vec::new();
        encode_capability(&cap, &mut out).expect("fits");
        let mut back = Vec::new();
        decode_capabilities(&out, &mut back).expect("valid");
        assert_eq!(back, [cap]);
    }

    #[test]
    fn every_capability_round_trips() {
        round_trip(Capability::Multiprotocol(Family::Ipv6Unicast));
        round_trip(Capability::MultiprotocolOther { afi: 25, safi: 70 });
        round_trip(Capability::RouteRefresh);
        round_trip(Capability::EnhancedRouteRefresh);
        round_trip(Capability::FourOctetAs(4_200_000_000));
        round_trip(Capability::GracefulRestart(GracefulRestartCap {
            restarting: true,
            notification: true,
            restart_time: 120,
            families: vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, false)],
        }));
        round_trip(Capability::AddPath(vec![
            (Family::Ipv4Unicast, AddPathMode::Both),
            (Family::Ipv6Unicast, AddPathMode::Receive),
        ]));
        round_trip(Capability::Unknown {
            code: 73,
            value: b"host".to_vec(),
        });
    }

    #[test]
    fn wire_form() {
        let mut out = Vec::new();
        encode_capability(&Capability::Multiprotocol(Family::Ipv4Unicast), &mut out).expect("fits");
        encode_capability(&Capability::FourOctetAs(65000), &mut out).expect("fits");
        assert_eq!(out, [1, 4, 0, 1, 0, 1, 65, 4, 0, 0, 0xfd, 0xe8]);
    }

    #[test]
    fn malformed_and_lenient_cases() {
        let mut v = Vec::new();
        let err = |bytes: &[u8]| {
            let mut v = Vec::new();
            decode_capabilities(bytes, &mut v)
                .err()
                .and_then(|e| e.notification().map(|n| (n.code, n.subcode)))
        };
        assert_eq!(err(&[1, 3, 0, 1, 0]), Some((2, 0)));
        assert_eq!(err(&[65, 2, 0, 1]), Some((2, 0)));
        assert_eq!(err(&[65, 4, 0, 1]), Some((2, 0)));
        assert_eq!(err(&[64, 3, 0, 1, 0]), Some((2, 0)));
        assert_eq!(err(&[69, 3, 0, 1, 1]), Some((2, 0)));
        assert_eq!(err(&[2]), Some((2, 0)));
        // An ADD-PATH mode outside 1..=3 makes the capability "not understood".
        decode_capabilities(&[69, 4, 0, 1, 1, 9], &mut v).expect("kept");
        assert!(matches!(v[0], Capability::Unknown { code: 69, .. }));
        // ADD-PATH entries for families brindle does not speak are dropped.
        v.clear();
        decode_capabilities(&[69, 8, 0, 1, 1, 1, 0, 25, 70, 3], &mut v).expect("valid");
        assert_eq!(
            v,
            [Capability::AddPath(vec![(
                Family::Ipv4Unicast,
                AddPathMode::Receive
            )])]
        );
        let long = Capability::Unknown {
            code: 9,
            value: vec![0; 256],
        };
        assert!(encode_capability(&long, &mut Vec::new()).is_err());
    }
}
