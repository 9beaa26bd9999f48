//! NOTIFICATION (RFC 4271 §4.5): codes, their names as routers print them, and the Shutdown
//! Communication of RFC 8203 / RFC 9003.

use crate::model::{Family, Notification};

use super::cursor::Reader;

/// Error codes (RFC 4271 §4.5, RFC 7313 §5, RFC 9687).
pub mod codes {
    /// 1: Message Header Error.
    pub const MESSAGE_HEADER_ERROR: u8 = 1;
    /// 2: OPEN Message Error.
    pub const OPEN_MESSAGE_ERROR: u8 = 2;
    /// 3: UPDATE Message Error.
    pub const UPDATE_MESSAGE_ERROR: u8 = 3;
    /// 4: Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// 5: Finite State Machine Error.
    pub const FSM_ERROR: u8 = 5;
    /// 6: Cease.
    pub const CEASE: u8 = 6;
    /// 7: ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
    /// 8: Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_subcode {
    /// 1: Connection Not Synchronized (the marker is not all ones).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// 2: Bad Message Length; data is the length field.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// 3: Bad Message Type; data is the type field.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5, RFC 9234).
pub mod open_subcode {
    /// 0: Unspecific (RFC 4271 §4.5: used when no subcode fits, e.g. malformed capabilities).
    pub const UNSPECIFIC: u8 = 0;
    /// 1: Unsupported Version Number; data is the version we speak (2 octets).
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// 2: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// 3: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// 4: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// 6: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// 7: Unsupported Capability (RFC 5492); data lists the capabilities.
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// 11: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_subcode {
    /// 1: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// 2: Unrecognized Well-known Attribute; data is the attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// 3: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// 4: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// 5: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// 6: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// 8: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// 9: Optional Attribute Error; data is the attribute.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// 10: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// 11: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Cease subcodes (RFC 4486, RFC 8538, RFC 9384).
pub mod cease_subcode {
    /// 1: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// 2: Administrative Shutdown (may carry a Shutdown Communication, RFC 9003).
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 3: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 4: Administrative Reset (may carry a Shutdown Communication, RFC 9003).
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 5: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 7: Connection Collision Resolution.
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// 8: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 9: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// 10: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// RFC 9003 §2: a Shutdown Communication holds at most 255 octets of UTF-8.
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// The name of an error code.
pub fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        8 => "Send Hold Timer Expired",
        _ => return None,
    })
}

/// The name of a subcode of `code`.
pub fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (code, subcode) {
        (1 | 2 | 3 | 5 | 6 | 7, 0) => "Unspecific",
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 5) => "Authentication Failure",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 7) => "AS Routing Loop",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => return None,
    })
}

/// A NOTIFICATION in words, the way routers log it: `"OPEN Message Error / Bad Peer AS"`,
/// `"Hold Timer Expired"`, `"Cease / Administrative Shutdown: maintenance"`.
pub fn describe(code: u8, subcode: u8, data: &[u8]) -> String {
    let mut s = match code_name(code) {
        Some(name) => name.to_string(),
        None => format!("error code {code}"),
    };
    let no_subcodes = matches!(
        code,
        codes::HOLD_TIMER_EXPIRED | codes::SEND_HOLD_TIMER_EXPIRED
    );
    if !(no_subcodes && subcode == 0) {
        s.push_str(" / ");
        match subcode_name(code, subcode) {
            Some(name) => s.push_str(name),
            None => s.push_str(&format!("subcode {subcode}")),
        }
    }
    let mut r = Reader::new(data);
    match (code, subcode) {
        (
            codes::CEASE,
            cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET,
        ) => match read_shutdown_communication(data) {
            Some(Ok(msg)) if !msg.is_empty() => {
                s.push_str(": ");
                s.push_str(msg);
            }
            Some(Err(e)) => s.push_str(&format!(" ({e})")),
            _ => {}
        },
        (codes::CEASE, cease_subcode::MAX_PREFIXES) => {
            if let (Ok(afi), Ok(safi), Ok(limit)) = (r.u16(), r.u8(), r.u32()) {
                match Family::from_afi_safi(afi, safi) {
                    Some(f) => s.push_str(&format!(" ({f}, limit {limit})")),
                    None => s.push_str(&format!(" (AFI {afi} SAFI {safi}, limit {limit})")),
                }
            }
        }
        (codes::MESSAGE_HEADER_ERROR, header_subcode::BAD_MESSAGE_LENGTH) => {
            if let (Ok(len), true) = (r.u16(), data.len() == 2) {
                s.push_str(&format!(" ({len})"));
            }
        }
        (codes::MESSAGE_HEADER_ERROR, header_subcode::BAD_MESSAGE_TYPE) => {
            if let [t] = data {
                s.push_str(&format!(" ({t})"));
            }
        }
        (codes::OPEN_MESSAGE_ERROR, open_subcode::UNSUPPORTED_VERSION) => {
            if let (Ok(v), true) = (r.u16(), data.len() == 2) {
                s.push_str(&format!(" (we speak version {v})"));
            }
        }
        _ => {}
    }
    s
}

/// Why a received Shutdown Communication could not be read (RFC 9003 §2: log and go on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownCommunicationError {
    /// The length octet points past the end of the data.
    #[error("shutdown communication length exceeds the data")]
    Truncated,
    /// The text is not UTF-8.
    #[error("shutdown communication is not valid UTF-8")]
    InvalidUtf8,
}

/// Reads a Shutdown Communication from a Cease NOTIFICATION's data (RFC 9003 §2: a length octet,
/// then that many octets of UTF-8). `None` when the data is empty (no communication).
pub fn read_shutdown_communication(
    data: &[u8],
) -> Option<Result<&str, ShutdownCommunicationError>> {
    let mut r = Reader::new(data);
    let len = r.u8().ok()?;
    Some(
        r.take(usize::from(len))
            .map_err(|_| ShutdownCommunicationError::Truncated)
            .and_then(|b| {
                std::str::from_utf8(b).map_err(|_| ShutdownCommunicationError::InvalidUtf8)
            }),
    )
}

/// The data field for a Shutdown Communication: `msg` cut to 255 octets at a character boundary
/// (RFC 9003 §2), preceded by its length.
pub fn shutdown_communication_data(msg: &str) -> Vec<u8> {
    let mut end = msg.len().min(MAX_SHUTDOWN_COMMUNICATION);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    let text = msg.get(..end).unwrap_or_default();
    let mut data = Vec::with_capacity(end + 1);
    data.push(u8::try_from(end).unwrap_or(u8::MAX));
    data.extend_from_slice(text.as_bytes());
    data
}

impl Notification {
    /// This NOTIFICATION in words; see [`describe`].
    pub fn describe(&self) -> String {
        describe(self.code, self.subcode, &self.data)
    }

    /// Cease / Administrative Shutdown (RFC 4486) with a Shutdown Communication (RFC 9003);
    /// an empty `msg` sends none.
    pub fn administrative_shutdown(msg: &str) -> Notification {
        Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, msg)
    }

    /// Cease / Administrative Reset (RFC 4486) with a Shutdown Communication (RFC 9003);
    /// an empty `msg` sends none.
    pub fn administrative_reset(msg: &str) -> Notification {
        Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_RESET, msg)
    }

    fn cease_with_message(subcode: u8, msg: &str) -> Notification {
        Notification {
            code: codes::CEASE,
            subcode,
            data: if msg.is_empty() {
                Vec::new()
            } else {
                shutdown_communication_data(msg)
            },
        }
    }

    /// The Shutdown Communication of a Cease / Administrative Shutdown or Reset, if it carries
    /// one.
    pub fn shutdown_communication(&self) -> Option<Result<&str, ShutdownCommunicationError>> {
        let shutdown_or_reset = matches!(
            self.subcode,
            cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET
        );
        if self.code == codes::CEASE && shutdown_or_reset {
            read_shutdown_communication(&self.data)
        } else {
            None
        }
    }
}

/// Decodes a NOTIFICATION body (RFC 4271 §4.5): code, subcode, data.
pub(crate) fn decode_notification(body: &[u8]) -> Option<Notification> {
    let mut r = Reader::new(body);
    let code = r.u8().ok()?;
    let subcode = r.u8().ok()?;
    Some(Notification {
        code,
        subcode,
        data: r.rest().to_vec(),
    })
}

/// Encodes a NOTIFICATION body.
pub(crate) fn encode_notification(n: &Notification, out: &mut Vec<u8>) {
    out.push(n.code);
    out.push(n.subcode);
    out.extend_from_slice(&n.data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(code: u8, subcode: u8, data: &[u8]) -> String {
        describe(code, subcode, data)
    }

    #[test]
    fn names_as_routers_print_them() {
        assert_eq!(n(2, 2, &[]), "OPEN Message Error / Bad Peer AS");
        assert_eq!(n(4, 0, &[]), "Hold Timer Expired");
        assert_eq!(n(6, 3, &[]), "Cease / Peer De-configured");
        assert_eq!(n(6, 0, &[]), "Cease / Unspecific");
        assert_eq!(
            n(1, 2, &[0, 18]),
            "Message Header Error / Bad Message Length (18)"
        );
        assert_eq!(n(1, 3, &[9]), "Message Header Error / Bad Message Type (9)");
        assert_eq!(
            n(2, 1, &[0, 4]),
            "OPEN Message Error / Unsupported Version Number (we speak version 4)"
        );
        assert_eq!(n(3, 11, &[]), "UPDATE Message Error / Malformed AS_PATH");
        assert_eq!(
            n(7, 1, &[]),
            "ROUTE-REFRESH Message Error / Invalid Message Length"
        );
        assert_eq!(
            n(5, 3, &[]),
            "Finite State Machine Error / Receive Unexpected Message in Established State"
        );
        assert_eq!(n(3, 99, &[]), "UPDATE Message Error / subcode 99");
        assert_eq!(n(42, 1, &[]), "error code 42 / subcode 1");
        assert_eq!(n(4, 1, &[]), "Hold Timer Expired / subcode 1");
        assert_eq!(
            n(6, 1, &[0, 1, 1, 0, 0, 3, 232]),
            "Cease / Maximum Number of Prefixes Reached (ipv4-unicast, limit 1000)"
        );
        for code in 1..=8u8 {
            assert!(code_name(code).is_some());
        }
        for sub in 1..=11u8 {
            assert!(subcode_name(3, sub).is_some());
        }
        for sub in 1..=10u8 {
            assert!(subcode_name(6, sub).is_some());
        }
    }

    #[test]
    fn shutdown_communication_round_trip() {
        let s = Notification::administrative_shutdown("maintenance until 10:00");
        assert_eq!((s.code, s.subcode), (6, 2));
        assert_eq!(s.data.first(), Some(&23));
        assert_eq!(
            s.shutdown_communication(),
            Some(Ok("maintenance until 10:00"))
        );
        assert_eq!(
            s.describe(),
            "Cease / Administrative Shutdown: maintenance until 10:00"
        );
        let r = Notification::administrative_reset("");
        assert!(r.data.is_empty());
        assert_eq!(r.shutdown_communication(), None);
        assert_eq!(r.describe(), "Cease / Administrative Reset");
    }

    #[test]
    fn shutdown_communication_is_cut_at_a_character_boundary() {
        let long = "é".repeat(200); // 400 octets
        let data = shutdown_communication_data(&long);
        assert_eq!(data.first(), Some(&254));
        assert_eq!(data.len(), 255);
        assert_eq!(read_shutdown_communication(&data), Some(Ok(&long[..254])));
    }

    #[test]
    fn malformed_shutdown_communication() {
        let bad_len = Notification {
            code: 6,
            subcode: 2,
            data: vec![10, b'a'],
        };
        assert_eq!(
            bad_len.shutdown_communication(),
            Some(Err(ShutdownCommunicationError::Truncated))
        );
        assert!(bad_len.describe().contains("exceeds"));
        let bad_utf8 = Notification {
            code: 6,
            subcode: 4,
            data: vec![2, 0xc3, 0x28],
        };
        assert_eq!(
            bad_utf8.shutdown_communication(),
            Some(Err(ShutdownCommunicationError::InvalidUtf8))
        );
        let not_cease = Notification {
            code: 2,
            subcode: 2,
            data: vec![1, b'a'],
        };
        assert_eq!(not_cease.shutdown_communication(), None);
    }

    #[test]
    fn body_codec() {
        let n = Notification {
            code: 3,
            subcode: 9,
            data: vec![1, 2, 3],
        };
        let mut out = Vec::new();
        encode_notification(&n, &mut out);
        assert_eq!(out, [3, 9, 1, 2, 3]);
        assert_eq!(decode_notification(&out), Some(n));
        assert_eq!(decode_notification(&[3]), None);
    }
}
