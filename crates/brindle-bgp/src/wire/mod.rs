//! The BGP-4 wire codec: messages to bytes and back, without I/O.
//!
//! - [`FrameDecoder`] cuts a TCP byte stream into messages and checks their headers
//!   (RFC 4271 §4.1, §6.1).
//! - [`decode`] turns one message into a [`Message`]; what it cannot accept comes back as a
//!   [`DecodeError`] that says what to do, following RFC 7606: send a NOTIFICATION and close
//!   ([`DecodeError::Fatal`]), withdraw the UPDATE's routes ([`DecodeError::TreatAsWithdraw`]),
//!   use the UPDATE without some attributes ([`DecodeError::AttributeDiscard`]), or ignore the
//!   message ([`DecodeError::Ignored`]).
//! - [`encode`] writes one message; [`pack_updates`] / [`encode_updates`] write many routes
//!   that share an attribute set into as few UPDATEs as possible.
//! - [`CodecParams`] carries what the OPEN exchange decided (four-octet AS, ADD-PATH) and who
//!   the peer is (eBGP or iBGP).
//!
//! Every received byte is read through a bounds-checked cursor: malformed input yields an
//! error, never a panic.
//!
//! # What each error becomes
//!
//! | input | outcome |
//! |---|---|
//! | marker not all ones | NOTIFICATION 1/1 |
//! | length < 19, > 4096, or wrong for the type | 1/2, data = the length field |
//! | unknown message type | 1/3, data = the type |
//! | OPEN version ≠ 4 | 2/1, data = `00 04` |
//! | OPEN hold time 1 or 2 | 2/6 |
//! | OPEN BGP identifier 0.0.0.0 | 2/3 |
//! | OPEN optional parameter type ≠ 2 | 2/4 |
//! | OPEN malformed parameters or capability | 2/0 (Unspecific) |
//! | UPDATE withdrawn or attribute length overrunning the message; MP_REACH/MP_UNREACH twice | 3/1 |
//! | unrecognized well-known attribute | 3/2, data = the attribute |
//! | MP_REACH/MP_UNREACH unparsable (header, next-hop length, NLRI) | 3/9, data = the attribute |
//! | NLRI or withdrawn routes unparsable | 3/10 |
//! | missing ORIGIN/AS_PATH/NEXT_HOP, malformed ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF (iBGP), COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, extended or large communities, O/T flag conflicts, attribute list overrun | treat-as-withdraw |
//! | malformed ATOMIC_AGGREGATE, AGGREGATOR, AS4_PATH, AS4_AGGREGATOR; LOCAL_PREF from eBGP; duplicate attributes; unknown AFI/SAFI in MP attributes | attribute discard |
//! | ROUTE-REFRESH subtype 1/2 with a body ≠ 4 octets | 7/1, data = the message |
//! | ROUTE-REFRESH with an unknown subtype or family; UPDATE only for an unknown family | ignored |

mod aspath;
mod attr;
mod attr_encode;
mod capability;
mod cursor;
mod error;
mod header;
mod nlri;
pub mod notification;
mod open;
mod pack;
mod params;
mod refresh;
mod update;

pub use error::{DecodeError, EncodeError, UpdateIssue};
pub use header::{FrameDecoder, HEADER_LEN, MARKER, MAX_MESSAGE_LEN, MessageType};
pub use notification::{ShutdownCommunicationError, describe};
pub use open::{BGP_VERSION, check_peer_as, new_open, unsupported_capability};
pub use pack::{encode_updates, pack_updates};
pub use params::{CodecParams, FamilySet};

use crate::model::Message;
use notification::{codes, header_subcode};

/// Decodes one complete message (header included), as [`FrameDecoder::next_frame`] returns it.
/// `params` matter for UPDATEs only.
pub fn decode(frame: &[u8], params: &CodecParams) -> Result<Message, DecodeError> {
    let Some((kind, len)) = header::check_header(frame)? else {
        return Err(DecodeError::fatal(
            codes::MESSAGE_HEADER_ERROR,
            header_subcode::BAD_MESSAGE_LENGTH,
            u16::try_from(frame.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes()
                .to_vec(),
            "message shorter than its header",
        ));
    };
    if len != frame.len() {
        return Err(DecodeError::fatal(
            codes::MESSAGE_HEADER_ERROR,
            header_subcode::BAD_MESSAGE_LENGTH,
            u16::try_from(len)
                .unwrap_or(u16::MAX)
                .to_be_bytes()
                .to_vec(),
            format!("header says {len} octets, frame has {}", frame.len()),
        ));
    }
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    Ok(match kind {
        MessageType::Open => Message::Open(open::decode_open(body)?),
        MessageType::Update => Message::Update(update::decode_update(body, params)?),
        MessageType::Notification => match notification::decode_notification(body) {
            Some(n) => Message::Notification(n),
            None => unreachable_short(len)?,
        },
        MessageType::Keepalive => Message::Keepalive,
        MessageType::RouteRefresh => Message::RouteRefresh(refresh::decode_route_refresh(frame)?),
    })
}

/// The header check guarantees minimum lengths; this keeps the decoder total anyway.
fn unreachable_short(len: usize) -> Result<Message, DecodeError> {
    Err(DecodeError::fatal(
        codes::MESSAGE_HEADER_ERROR,
        header_subcode::BAD_MESSAGE_LENGTH,
        u16::try_from(len)
            .unwrap_or(u16::MAX)
            .to_be_bytes()
            .to_vec(),
        "message too short for its type",
    ))
}

/// Appends `msg`, header included, to `out`. `params` matter for UPDATEs only (path
/// identifiers per `add_path_tx`, AS number width). On error nothing is appended.
pub fn encode(msg: &Message, params: &CodecParams, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let at = header::start_message(out, MessageType::of(msg));
    let r = match msg {
        Message::Open(o) => open::encode_open(o, out),
        Message::Update(u) => update::encode_update(u, params, out),
        Message::Notification(n) => {
            notification::encode_notification(n, out);
            Ok(())
        }
        Message::Keepalive => Ok(()),
        Message::RouteRefresh(rr) => {
            refresh::encode_route_refresh(rr, out);
            Ok(())
        }
    };
    match r {
        Ok(()) => header::finish_message(out, at),
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}

/// [`encode`] into a new buffer.
pub fn encode_to_vec(msg: &Message, params: &CodecParams) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode(msg, params, &mut out)?;
    Ok(out)
}
