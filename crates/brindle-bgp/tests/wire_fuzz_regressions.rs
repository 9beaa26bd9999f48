//! Inputs the fuzz targets (fuzz/) once crashed on, kept as regression tests with the same
//! round-trip oracle: whatever decodes must encode and decode to the same message.

use brindle_bgp::model::{Family, Message};
use brindle_bgp::wire::{CodecParams, DecodeError, FamilySet, decode, encode_to_vec};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn round_trip(bytes: &[u8], params: &CodecParams) -> Result<Message, DecodeError> {
    let r = decode(bytes, params);
    let m = match &r {
        Ok(m) => m.clone(),
        Err(DecodeError::AttributeDiscard { update, .. }) => Message::Update(update.clone()),
        Err(_) => return r,
    };
    let again = encode_to_vec(&m, &params.peer_view()).expect("encodes");
    assert_eq!(decode(&again, params), Ok(m));
    r
}

/// The `update` target's parameters for its first byte.
fn params_from_byte(b: u8) -> CodecParams {
    let mut set = FamilySet::EMPTY;
    if b & 2 != 0 {
        set.insert(Family::Ipv4Unicast);
    }
    if b & 4 != 0 {
        set.insert(Family::Ipv6Unicast);
    }
    CodecParams {
        four_octet_as: b & 1 != 0,
        local_as: 65000,
        peer_as: Some(if b & 8 != 0 { 65001 } else { 65000 }),
        ..CodecParams::default()
    }
    .with_add_path(set)
}

/// decode_default: an UPDATE whose only attribute is a 192-octet MP_UNREACH_NLRI for an
/// unknown AFI/SAFI decoded to an empty UPDATE, which re-encodes as an End-of-RIB. Now ignored.
#[test]
fn mp_unreach_for_an_unknown_family_alone() {
    let bytes = unhex(concat!(
        "ffffffffffffffffffffffffffffffff00db02000000c4900f00c007065ba0c0000209c00804ffffff01",
        "8009040a000001800a040a000002c010080002000100000001c0111402020000fd010000000001020000",
        "000100000002c0120800011170c0000209c0200c00000001040000000a40050400000064400600c00000",
        "000000000000c00804ffffff018009040a0000018005040a000002c010080002000100000001c0111402",
        "020000fde9fa56ea0001020000000100000002c0120800011170c0000209c0200c000000010000000200",
        "000003e06303010203",
    ));
    let r = round_trip(&bytes, &CodecParams::default());
    assert!(matches!(r, Err(DecodeError::Ignored { .. })), "{r:?}");
}

/// update: on a two-octet session, AS_PATH 65001 AS_TRANS {confed 1 2} ... with an AS4_PATH
/// kept the mid-path confederation segment, which AS4_PATH cannot carry back. Now only leading
/// confederation segments survive the merge.
#[test]
fn mid_path_confederation_segment_with_as4_path() {
    let body = unhex(concat!(
        "00000000c4900f000a0002013020010db80009900e002e0202012020010db80000000000000000000000",
        "01fe800000000000000000000000000001090000000000000000004001010040020c0202fde95ba00402",
        "000100028004040000000a40050400000000000600c007065ba0c0000209c00704ffffff018009040a00",
        "0001800a040a000002c010080002000100000001c0110a01020011fde9fa56ea000102120800011170c0",
        "000209c0200c0000c0000209c0200c000000010000000200000003e06303010203",
    ));
    let (&b, body) = body.split_first().expect("non-empty");
    let mut bytes = vec![0xff; 16];
    bytes.extend_from_slice(&u16::try_from(19 + body.len()).expect("short").to_be_bytes());
    bytes.push(2);
    bytes.extend_from_slice(body);
    let r = round_trip(&bytes, &params_from_byte(b));
    assert!(
        r.is_ok() || matches!(r, Err(DecodeError::AttributeDiscard { .. })),
        "{r:?}"
    );
}
