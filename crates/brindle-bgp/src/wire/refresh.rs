//! ROUTE-REFRESH (RFC 2918 §3) with the subtypes of Enhanced Route Refresh (RFC 7313 §3).

use super::cursor::Reader;
use super::error::DecodeError;
use super::header::HEADER_LEN;
use super::notification::codes;
use crate::model::{Family, RouteRefresh, RouteRefreshSubtype};

/// Decodes a ROUTE-REFRESH; `frame` is the whole message (RFC 7313 §5 returns it as data).
pub(crate) fn decode_route_refresh(frame: &[u8]) -> Result<RouteRefresh, DecodeError> {
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let mut r = Reader::new(body);
    let (Ok(afi), Ok(subtype), Ok(safi)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(invalid_length(frame));
    };
    let subtype = match subtype {
        0 => RouteRefreshSubtype::Request,
        1 => RouteRefreshSubtype::BeginOfRefresh,
        2 => RouteRefreshSubtype::EndOfRefresh,
        // RFC 7313 §5: "When the BGP speaker receives a ROUTE-REFRESH message with a "Message
        // Subtype" field other than 0, 1, or 2, it MUST ignore the received ROUTE-REFRESH
        // message."
        other => {
            return Err(DecodeError::Ignored {
                reason: format!("ROUTE-REFRESH subtype {other}"),
            });
        }
    };
    // RFC 7313 §5: "If the length, excluding the fixed-size message header, of the received
    // ROUTE-REFRESH message with Message Subtype 1 and 2 is not 4, then the BGP speaker MUST
    // send a NOTIFICATION message with the Error Code of "ROUTE-REFRESH Message Error" and the
    // subcode of "Invalid Message Length". The Data field of the NOTIFICATION message MUST
    // contain the complete ROUTE-REFRESH message." (A longer request carries ORF entries,
    // RFC 5291, which brindle does not use.)
    if subtype != RouteRefreshSubtype::Request && !r.is_empty() {
        return Err(invalid_length(frame));
    }
    // RFC 2918 §4: "If a BGP speaker receives from its peer a ROUTE-REFRESH message with the
    // <AFI, SAFI> that the speaker didn't advertise to the peer at the session establishment
    // time via capability advertisement, the speaker shall ignore such a message."
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        return Err(DecodeError::Ignored {
            reason: format!("ROUTE-REFRESH for AFI {afi} SAFI {safi}"),
        });
    };
    Ok(RouteRefresh { family, subtype })
}

fn invalid_length(frame: &[u8]) -> DecodeError {
    DecodeError::fatal(
        codes::ROUTE_REFRESH_MESSAGE_ERROR,
        1,
        frame.to_vec(),
        "ROUTE-REFRESH of the wrong length",
    )
}

/// Encodes a ROUTE-REFRESH body.
pub(crate) fn encode_route_refresh(rr: &RouteRefresh, out: &mut Vec<u8>) {
    out.extend_from_slice(&rr.family.afi().to_be_bytes());
    out.push(match rr.subtype {
        RouteRefreshSubtype::Request => 0,
        RouteRefreshSubtype::BeginOfRefresh => 1,
        RouteRefreshSubtype::EndOfRefresh => 2,
    });
    out.push(rr.family.safi());
}
