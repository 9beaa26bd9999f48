//! The 19-octet message header (RFC 4271 §4.1) and the framing of a TCP byte stream into
//! messages, with the header checks of RFC 4271 §6.1.

use super::cursor::{Reader, patch_u16};
use super::error::{DecodeError, EncodeError};
use super::notification::{codes, header_subcode};
use super::params::CodecParams;
use crate::model::Message;

/// Octets in the message header: marker (16), length (2), type (1).
pub const HEADER_LEN: usize = 19;
/// RFC 4271 §4.1: "The value of the Length field MUST always be at least 19 and no greater than
/// 4096".
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The marker: "This 16-octet field is included for compatibility; it MUST be set to all ones."
pub const MARKER: [u8; 16] = [0xff; 16];

/// Message type codes (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1.
    Open = 1,
    /// 2.
    Update = 2,
    /// 3.
    Notification = 3,
    /// 4.
    Keepalive = 4,
    /// 5 (RFC 2918).
    RouteRefresh = 5,
}

impl MessageType {
    /// The type for a type code.
    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// The type of `msg`.
    pub fn of(msg: &Message) -> MessageType {
        match msg {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// The smallest valid length of a message of this type, and whether that is also the only
    /// valid length.
    fn length_rule(self) -> (usize, bool) {
        match self {
            // RFC 4271 §4.2: "the minimum length of the OPEN message is 29 octets".
            MessageType::Open => (29, false),
            // §4.3: "the minimum length of the UPDATE message is 23 octets".
            MessageType::Update => (23, false),
            // §4.5: "the minimum length of the NOTIFICATION message is 21 octets".
            MessageType::Notification => (21, false),
            // §4.4: "a KEEPALIVE message consists of only the message header and has a length
            // of 19 octets".
            MessageType::Keepalive => (19, true),
            // RFC 2918 §3: AFI (2), Reserved (1), SAFI (1) after the header. Longer messages
            // carry ORFs (RFC 5291) and are checked by the ROUTE-REFRESH decoder (RFC 7313 §5).
            MessageType::RouteRefresh => (23, false),
        }
    }
}

/// Checks a message header (the first 19 octets of `buf`) and returns the type and total length
/// of the message. RFC 4271 §6.1, in the order the checks are listed there.
pub(crate) fn check_header(buf: &[u8]) -> Result<Option<(MessageType, usize)>, DecodeError> {
    let mut r = Reader::new(buf);
    let (Ok(marker), Ok(len_field), Ok(type_code)) = (r.array::<16>(), r.u16(), r.u8()) else {
        return Ok(None);
    };
    // §6.1: "If at least one of the following is true: - if the Marker field of the message
    // header is not as expected. Then the Error Subcode MUST be set to Connection Not
    // Synchronized."
    if marker != MARKER {
        return Err(DecodeError::fatal(
            codes::MESSAGE_HEADER_ERROR,
            header_subcode::CONNECTION_NOT_SYNCHRONIZED,
            Vec::new(),
            "message marker is not all ones",
        ));
    }
    let len = usize::from(len_field);
    // §6.1: "If the Length field of the message header is less than 19 or greater than 4096, or
    // if the Length field of an OPEN message is less than the minimum length of the OPEN
    // message, or if the Length field of an UPDATE message is less than the minimum length of
    // the UPDATE message, or if the Length field of a KEEPALIVE message is not equal to 19, or
    // if the Length field of a NOTIFICATION message is less than the minimum length of the
    // NOTIFICATION message, then the Error Subcode MUST be set to Bad Message Length. The Data
    // field MUST contain the erroneous Length field."
    let bad_length = |why: &str| {
        DecodeError::fatal(
            codes::MESSAGE_HEADER_ERROR,
            header_subcode::BAD_MESSAGE_LENGTH,
            len_field.to_be_bytes().to_vec(),
            format!("message length {len} {why}"),
        )
    };
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(bad_length("is outside 19..=4096"));
    }
    // §6.1: "If the Type field of the message header is not recognized, then the Error Subcode
    // MUST be set to Bad Message Type. The Data field MUST contain the erroneous Type field."
    let Some(kind) = MessageType::from_code(type_code) else {
        return Err(DecodeError::fatal(
            codes::MESSAGE_HEADER_ERROR,
            header_subcode::BAD_MESSAGE_TYPE,
            vec![type_code],
            format!("unknown message type {type_code}"),
        ));
    };
    let (min, exact) = kind.length_rule();
    if len < min || (exact && len != min) {
        return Err(bad_length(&format!("is wrong for a {kind:?} message")));
    }
    Ok(Some((kind, len)))
}

/// Splits a TCP byte stream into BGP messages. Feed it what the socket delivers; take complete
/// messages out with [`FrameDecoder::next_frame`] (or decode them at once with
/// [`FrameDecoder::decode_next`]). A header error is reported as soon as the header is in, before
/// the rest of the message arrives; it is fatal and repeats until the connection is dropped.
///
/// ```
/// use brindle_bgp::wire::{CodecParams, FrameDecoder};
/// use brindle_bgp::model::Message;
/// let mut dec = FrameDecoder::new();
/// let keepalive = [[0xffu8; 16].as_slice(), &[0, 19, 4]].concat();
/// dec.feed(&keepalive[..10]);
/// assert_eq!(dec.decode_next(&CodecParams::default()), Ok(None));
/// dec.feed(&keepalive[10..]);
/// assert_eq!(dec.decode_next(&CodecParams::default()), Ok(Some(Message::Keepalive)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Appends bytes received from the peer.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start.min(self.buf.len()));
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Octets received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// The next complete message (header included), or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let Some((_, len)) = check_header(pending)? else {
            return Ok(None);
        };
        let Some(frame) = self.buf.get(self.start..self.start + len) else {
            return Ok(None);
        };
        self.start += len;
        Ok(Some(frame))
    }

    /// The next message, decoded with `params`. A non-fatal error (e.g. treat-as-withdraw)
    /// consumes its message, so the caller handles it and calls again.
    pub fn decode_next(&mut self, params: &CodecParams) -> Result<Option<Message>, DecodeError> {
        match self.next_frame()? {
            Some(frame) => super::decode(frame, params).map(Some),
            None => Ok(None),
        }
    }
}

/// Starts a message of `kind` in `out`; returns where it starts, for [`finish_message`].
pub(crate) fn start_message(out: &mut Vec<u8>, kind: MessageType) -> usize {
    let at = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, kind as u8]);
    at
}

/// Fills in the length of the message started at `at`; fails (removing the partial message)
/// when it exceeds 4096 octets.
pub(crate) fn finish_message(out: &mut Vec<u8>, at: usize) -> Result<(), EncodeError> {
    let len = out.len().saturating_sub(at);
    match u16::try_from(len) {
        Ok(l) if len <= MAX_MESSAGE_LEN => {
            patch_u16(out, at + 16, l);
            Ok(())
        }
        _ => {
            out.truncate(at);
            Err(EncodeError::TooLong { len })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, kind: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(kind);
        v
    }

    #[test]
    fn frames_split_anywhere() {
        let mut stream = header(19, 4);
        stream.extend(header(23, 5));
        stream.extend_from_slice(&[0, 1, 0, 1]);
        stream.extend(header(19, 4));
        for chunk in 1..stream.len() {
            let mut dec = FrameDecoder::new();
            let mut lens = Vec::new();
            for part in stream.chunks(chunk) {
                dec.feed(part);
                while let Some(f) = dec.next_frame().expect("valid") {
                    lens.push(f.len());
                }
            }
            assert_eq!(lens, [19, 23, 19], "chunk {chunk}");
            assert_eq!(dec.buffered(), 0);
        }
    }

    #[test]
    fn header_errors_come_before_the_body() {
        let mut dec = FrameDecoder::new();
        dec.feed(&header(5000, 2));
        let e = dec.next_frame().expect_err("too long");
        let n = e.notification().expect("fatal");
        assert_eq!(
            (n.code, n.subcode, n.data.as_slice()),
            (1, 2, &[0x13, 0x88][..])
        );
        // The error repeats.
        assert!(dec.next_frame().is_err());
    }

    #[test]
    fn finish_rejects_oversized_messages() {
        let mut out = vec![7];
        let at = start_message(&mut out, MessageType::Update);
        out.resize(at + MAX_MESSAGE_LEN + 1, 0);
        assert_eq!(
            finish_message(&mut out, at),
            Err(EncodeError::TooLong { len: 4097 })
        );
        assert_eq!(out, [7]);
    }
}
