//! One row per malformed input: the exact NOTIFICATION (code, subcode, data) the codec asks for,
//! or the exact routes it withdraws (RFC 7606 treat-as-withdraw), or the attributes it discards.

mod wire_common;

use brindle_bgp::model::{Family, Message, Nlri};
use brindle_bgp::wire::{CodecParams, DecodeError, FamilySet, FrameDecoder, UpdateIssue, decode};
use wire_common::*;

/// What a row expects.
#[derive(Debug)]
enum Expect {
    /// Session reset with this NOTIFICATION; `None` data means "any".
    Fatal(u8, u8, Option<Vec<u8>>),
    /// Treat-as-withdraw of exactly these routes, with this issue among the reasons.
    Withdraw(Vec<(Family, Nlri)>, UpdateIssue),
    /// Attribute discard with exactly these issues; the rest of the UPDATE announces `routes`.
    Discard(Vec<UpdateIssue>, Vec<(Family, Nlri)>),
    /// The message is ignored.
    Ignored,
}
use Expect::*;

fn ebgp() -> CodecParams {
    CodecParams {
        local_as: 65000,
        peer_as: Some(65001),
        ..CodecParams::default()
    }
}

fn as4() -> CodecParams {
    CodecParams {
        four_octet_as: true,
        ..CodecParams::default()
    }
}

fn add_path() -> CodecParams {
    CodecParams::default().with_add_path(FamilySet::ALL)
}

fn malformed(code: u8, reason: &'static str) -> UpdateIssue {
    UpdateIssue::Malformed { code, reason }
}

fn flags(code: u8, flags: u8) -> UpdateIssue {
    UpdateIssue::AttributeFlags { code, flags }
}

fn missing(code: u8) -> UpdateIssue {
    UpdateIssue::MissingWellKnown { code }
}

/// MP_REACH_NLRI for IPv6 whose next hop is 15 octets long.
fn mp_reach_nh15() -> Vec<u8> {
    attr(0x80, 14, &[&[0u8, 2, 1, 15][..], &[0; 15], &[0]].concat())
}

const NLRI_10_8: &[u8] = &[8, 10];
const NLRI_10_1_16: &[u8] = &[16, 10, 1];

#[rustfmt::skip]
fn rows() -> Vec<(&'static str, Vec<u8>, CodecParams, Expect)> {
    let p = CodecParams::default;
    let ten = || vec![pfx("10.0.0.0/8")];
    let caps_param = |caps: &[u8]| {
        let mut v = vec![2, u8::try_from(caps.len()).expect("short")];
        v.extend_from_slice(caps);
        v
    };
    vec![
        // ---- RFC 4271 §6.1 message header errors ----
        ("bad marker", raw(0xfe, 19, 4, &[]), p(), Fatal(1, 1, Some(vec![]))),
        ("length below 19", raw(0xff, 18, 4, &[]), p(), Fatal(1, 2, Some(vec![0, 18]))),
        ("length above 4096", raw(0xff, 4097, 2, &[0; 4]), p(), Fatal(1, 2, Some(vec![0x10, 0x01]))),
        ("KEEPALIVE with a body", msg(4, &[0]), p(), Fatal(1, 2, Some(vec![0, 20]))),
        ("OPEN shorter than 29", msg(1, &[4, 0, 1, 0, 90, 1, 1, 1, 1]), p(), Fatal(1, 2, Some(vec![0, 28]))),
        ("UPDATE shorter than 23", msg(2, &[0, 0, 0]), p(), Fatal(1, 2, Some(vec![0, 22]))),
        ("NOTIFICATION shorter than 21", msg(3, &[6]), p(), Fatal(1, 2, Some(vec![0, 20]))),
        ("ROUTE-REFRESH shorter than 23", msg(5, &[0, 1, 0]), p(), Fatal(1, 2, Some(vec![0, 22]))),
        ("unknown message type", msg(9, &[]), p(), Fatal(1, 3, Some(vec![9]))),
        // ---- RFC 4271 §6.2 OPEN errors ----
        ("OPEN version 3", msg(1, &open_body(3, 65001, 90, [1, 1, 1, 1], &[])), p(), Fatal(2, 1, Some(vec![0, 4]))),
        ("OPEN version 5", msg(1, &open_body(5, 65001, 90, [1, 1, 1, 1], &[])), p(), Fatal(2, 1, Some(vec![0, 4]))),
        ("OPEN hold time 1", msg(1, &open_body(4, 65001, 1, [1, 1, 1, 1], &[])), p(), Fatal(2, 6, Some(vec![]))),
        ("OPEN hold time 2", msg(1, &open_body(4, 65001, 2, [1, 1, 1, 1], &[])), p(), Fatal(2, 6, Some(vec![]))),
        ("OPEN BGP identifier 0.0.0.0", msg(1, &open_body(4, 65001, 90, [0, 0, 0, 0], &[])), p(), Fatal(2, 3, Some(vec![]))),
        ("OPEN optional parameter type 1", msg(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &[1, 1, 0])), p(), Fatal(2, 4, Some(vec![]))),
        ("OPEN capability overruns its parameter", msg(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &caps_param(&[65, 4, 0, 0]))), p(), Fatal(2, 0, Some(vec![]))),
        ("OPEN four-octet AS capability of 2 octets", msg(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &caps_param(&[65, 2, 0, 1]))), p(), Fatal(2, 0, Some(vec![]))),
        ("OPEN multiprotocol capability of 3 octets", msg(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &caps_param(&[1, 3, 0, 1, 0]))), p(), Fatal(2, 0, Some(vec![]))),
        ("OPEN parameter overruns the parameters", msg(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &[2, 9, 2, 0])), p(), Fatal(2, 0, Some(vec![]))),
        ("OPEN optional parameters length past the end", {
            let mut b = open_body(4, 65001, 90, [1, 1, 1, 1], &[]);
            if let Some(l) = b.last_mut() { *l = 5; }
            msg(1, &b)
        }, p(), Fatal(2, 0, Some(vec![]))),
        // ---- RFC 4271 §6.3 / RFC 7606 §3 b, §5.3: session resets ----
        ("withdrawn routes length overruns", msg(2, &[0, 9, 0, 0]), p(), Fatal(3, 1, Some(vec![]))),
        ("total attribute length overruns", msg(2, &[0, 0, 0, 9, 0x40, 1, 1, 0]), p(), Fatal(3, 1, Some(vec![]))),
        ("NLRI prefix length 33", update(&[], &base(), &[33, 10, 0, 0, 0, 0]), p(), Fatal(3, 10, Some(vec![]))),
        ("NLRI overrun", update(&[], &base(), &[24, 10, 0]), p(), Fatal(3, 10, Some(vec![]))),
        ("withdrawn prefix length 40", update(&[40, 1, 2, 3, 4, 5], &[], &[]), p(), Fatal(3, 10, Some(vec![]))),
        ("ADD-PATH NLRI cut inside the path identifier", update(&[], &base(), &[0, 0, 1]), add_path(), Fatal(3, 10, Some(vec![]))),
        ("MP_REACH_NLRI twice", update(&[], &[origin(0), as_path2(&[1]), mp_reach_v6(V6_NH, &[]), mp_reach_v6(V6_NH, &[])].concat(), &[]), p(), Fatal(3, 1, Some(vec![]))),
        ("MP_UNREACH_NLRI twice", update(&[], &[mp_unreach_v6(&[]), mp_unreach_v6(&[])].concat(), &[]), p(), Fatal(3, 1, Some(vec![]))),
        ("unrecognized well-known attribute", update(&[], &[base(), attr(0x40, 99, &[7])].concat(), NLRI_10_8), p(), Fatal(3, 2, Some(vec![0x40, 99, 1, 7]))),
        ("MP_REACH_NLRI next hop of 15 octets", update(&[], &[origin(0), as_path2(&[1]), mp_reach_nh15()].concat(), &[]), p(), Fatal(3, 9, Some(mp_reach_nh15()))),
        ("MP_REACH_NLRI prefix length 129", update(&[], &[origin(0), as_path2(&[1]), mp_reach_v6(V6_NH, &[129])].concat(), &[]), p(), Fatal(3, 9, Some(mp_reach_v6(V6_NH, &[129])))),
        ("MP_REACH_NLRI too short for its header", update(&[], &attr(0x80, 14, &[0, 2]), &[]), p(), Fatal(3, 9, Some(attr(0x80, 14, &[0, 2])))),
        ("MP_UNREACH_NLRI overrun", update(&[], &mp_unreach_v6(&[64, 0x20]), &[]), p(), Fatal(3, 9, Some(mp_unreach_v6(&[64, 0x20])))),
        // ---- RFC 7606 §4: attribute list overruns → treat-as-withdraw ----
        ("attribute length past the end of the attributes", update(&[], &[base(), vec![0xc0, 8, 200, 1, 2]].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::AttributeListOverrun)),
        ("two octets left for an attribute header", update(&[], &[base(), vec![0x40, 1]].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::AttributeListOverrun)),
        ("extended length cut short", update(&[], &[base(), vec![0x50, 1, 0]].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::AttributeListOverrun)),
        // ---- RFC 7606 §3 d: missing well-known attributes ----
        ("ORIGIN missing", update(&[], &[as_path2(&[65001]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), missing(1))),
        ("AS_PATH missing", update(&[], &[origin(0), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), missing(2))),
        ("NEXT_HOP missing", update(&[], &[origin(0), as_path2(&[65001])].concat(), NLRI_10_8), p(), Withdraw(ten(), missing(3))),
        ("no attributes at all with NLRI", update(&[], &[], NLRI_10_8), p(), Withdraw(ten(), missing(1))),
        ("MP_REACH_NLRI without ORIGIN", update(&[], &[as_path2(&[1]), mp_reach_v6(V6_NH, &[32, 0x20, 1, 0xd, 0xb8])].concat(), &[]), p(), Withdraw(vec![pfx("2001:db8::/32")], missing(1))),
        // ---- RFC 7606 §7.1–7.10, §7.14, RFC 8092 §6: per attribute ----
        ("ORIGIN value 3", update(&[], &[origin(3), as_path2(&[1]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(1, "undefined ORIGIN value"))),
        ("ORIGIN of 2 octets", update(&[], &[attr(0x40, 1, &[0, 0]), as_path2(&[1]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(1, "ORIGIN length is not 1"))),
        ("AS_PATH segment type 5", update(&[], &[origin(0), attr(0x40, 2, &[5, 1, 0, 1]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(2, "unknown segment type"))),
        ("AS_PATH zero-length segment", update(&[], &[origin(0), attr(0x40, 2, &[2, 0]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(2, "zero-length segment"))),
        ("AS_PATH segment overrun", update(&[], &[origin(0), attr(0x40, 2, &[2, 3, 0, 1]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(2, "segment overruns the attribute"))),
        ("AS_PATH segment header underrun", update(&[], &[origin(0), attr(0x40, 2, &[2, 1, 0, 1, 2]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(2, "segment header underrun"))),
        ("AS_PATH four-octet ASNs on a two-octet session", update(&[], &[origin(0), as_path4(&[65001, 65002]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(2, "unknown segment type"))),
        ("AS_CONFED_SEQUENCE from an external peer", update(&[], &[origin(0), attr(0x40, 2, &[3, 1, 0xfd, 0xe9]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), ebgp(), Withdraw(ten(), UpdateIssue::ConfedSegmentFromExternal)),
        ("NEXT_HOP 0.0.0.0", update(&[], &[origin(0), as_path2(&[1]), next_hop([0, 0, 0, 0])].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::InvalidNextHop("0.0.0.0".parse().expect("ip")))),
        ("NEXT_HOP multicast", update(&[], &[origin(0), as_path2(&[1]), next_hop([224, 0, 0, 9])].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::InvalidNextHop("224.0.0.9".parse().expect("ip")))),
        ("NEXT_HOP broadcast", update(&[], &[origin(0), as_path2(&[1]), next_hop([255, 255, 255, 255])].concat(), NLRI_10_8), p(), Withdraw(ten(), UpdateIssue::InvalidNextHop("255.255.255.255".parse().expect("ip")))),
        ("NEXT_HOP of 3 octets", update(&[], &[origin(0), as_path2(&[1]), attr(0x40, 3, &[1, 2, 3])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(3, "NEXT_HOP length is not 4"))),
        ("MP next hop ::", update(&[], &[origin(0), as_path2(&[1]), mp_reach_v6([0; 16], &[32, 0x20, 1, 0xd, 0xb8])].concat(), &[]), p(), Withdraw(vec![pfx("2001:db8::/32")], UpdateIssue::InvalidNextHop("::".parse().expect("ip")))),
        ("MED of 2 octets", update(&[], &[base(), attr(0x80, 4, &[0, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(4, "MULTI_EXIT_DISC length is not 4"))),
        ("LOCAL_PREF of 3 octets from iBGP", update(&[], &[base(), attr(0x40, 5, &[0, 0, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(5, "LOCAL_PREF length is not 4"))),
        ("COMMUNITIES of 3 octets", update(&[], &[base(), attr(0xc0, 8, &[0, 0, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(8, "COMMUNITIES length is not a multiple of 4"))),
        ("COMMUNITIES empty", update(&[], &[base(), attr(0xc0, 8, &[])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(8, "COMMUNITIES length is not a multiple of 4"))),
        ("ORIGINATOR_ID of 3 octets", update(&[], &[base(), attr(0x80, 9, &[1, 1, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(9, "ORIGINATOR_ID length is not 4"))),
        ("CLUSTER_LIST of 6 octets", update(&[], &[base(), attr(0x80, 10, &[1, 1, 1, 1, 2, 2])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(10, "CLUSTER_LIST length is not a multiple of 4"))),
        ("EXTENDED_COMMUNITIES of 7 octets", update(&[], &[base(), attr(0xc0, 16, &[0; 7])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(16, "EXTENDED_COMMUNITIES length is not a multiple of 8"))),
        ("LARGE_COMMUNITY of 11 octets", update(&[], &[base(), attr(0xc0, 32, &[0; 11])].concat(), NLRI_10_8), p(), Withdraw(ten(), malformed(32, "LARGE_COMMUNITY length is not a multiple of 12"))),
        // ---- RFC 7606 §3 c: attribute flags ----
        ("ORIGIN flagged optional", update(&[], &[attr(0xc0, 1, &[0]), as_path2(&[1]), next_hop([192, 0, 2, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), flags(1, 0xc0))),
        ("MED flagged transitive", update(&[], &[base(), attr(0xc0, 4, &[0, 0, 0, 1])].concat(), NLRI_10_8), p(), Withdraw(ten(), flags(4, 0xc0))),
        ("MP_REACH_NLRI flagged transitive: its routes are withdrawn", update(&[], &[origin(0), as_path2(&[1]), {
            let mut a = mp_reach_v6(V6_NH, &[32, 0x20, 1, 0xd, 0xb8]);
            a[0] = 0xc0;
            a
        }].concat(), &[]), p(), Withdraw(vec![pfx("2001:db8::/32")], flags(14, 0xc0))),
        ("AGGREGATOR flagged well-known", update(&[], &[base(), attr(0x40, 7, &[0, 1, 1, 1, 1, 1])].concat(), NLRI_10_8), p(), Discard(vec![flags(7, 0x40)], ten())),
        // ---- RFC 7606 §7.5–7.7: attribute discard ----
        ("ATOMIC_AGGREGATE of 1 octet", update(&[], &[base(), attr(0x40, 6, &[0])].concat(), NLRI_10_8), p(), Discard(vec![malformed(6, "ATOMIC_AGGREGATE length is not 0")], ten())),
        ("AGGREGATOR of 5 octets", update(&[], &[base(), attr(0xc0, 7, &[0, 1, 1, 1, 1])].concat(), NLRI_10_8), p(), Discard(vec![malformed(7, "AGGREGATOR length is wrong for the session")], ten())),
        ("AGGREGATOR of 6 octets on a four-octet session", update(&[], &[origin(0), as_path4(&[65001]), next_hop([192, 0, 2, 1]), attr(0xc0, 7, &[0, 1, 1, 1, 1, 1])].concat(), NLRI_10_8), as4(), Discard(vec![malformed(7, "AGGREGATOR length is wrong for the session")], ten())),
        ("LOCAL_PREF from an external peer", update(&[], &[base(), attr(0x40, 5, &[0, 0, 0, 100])].concat(), NLRI_10_8), ebgp(), Discard(vec![UpdateIssue::LocalPrefFromExternal], ten())),
        ("AS4_PATH on a four-octet session", update(&[], &[origin(0), as_path4(&[65001]), next_hop([192, 0, 2, 1]), attr(0xc0, 17, &[2, 1, 0, 1, 0x11, 0x70])].concat(), NLRI_10_8), as4(), Discard(vec![UpdateIssue::As4OnFourOctetSession { code: 17 }], ten())),
        ("AS4_PATH with a zero-length segment", update(&[], &[base(), attr(0xc0, 17, &[2, 0])].concat(), NLRI_10_8), p(), Discard(vec![malformed(17, "zero-length segment")], ten())),
        ("AS4_AGGREGATOR of 6 octets", update(&[], &[base(), attr(0xc0, 18, &[0, 1, 1, 1, 1, 1])].concat(), NLRI_10_8), p(), Discard(vec![malformed(18, "AS4_AGGREGATOR length is not 8")], ten())),
        // ---- RFC 7606 §3 g: duplicates ----
        ("ORIGIN twice: the first wins", update(&[], &[base(), origin(2)].concat(), NLRI_10_8), p(), Discard(vec![UpdateIssue::Duplicate { code: 1 }], ten())),
        ("MP_REACH_NLRI for an unknown AFI/SAFI", update(&[], &[base(), attr(0x80, 14, &[0, 25, 70, 4, 1, 1, 1, 1, 0])].concat(), NLRI_10_8), p(), Discard(vec![UpdateIssue::UnsupportedFamily { afi: 25, safi: 70 }], ten())),
        // ---- treat-as-withdraw covers every family and keeps the withdrawals ----
        ("treat-as-withdraw with withdrawn, NLRI, MP_REACH and MP_UNREACH", update(NLRI_10_1_16, &[
            mp_unreach_v6(&[48, 0x20, 1, 0xd, 0xb8, 0, 1]),
            origin(7),
            as_path2(&[1]),
            next_hop([192, 0, 2, 1]),
        ].concat(), NLRI_10_8), p(), Withdraw(vec![pfx("10.1.0.0/16"), pfx("2001:db8:1::/48"), pfx("10.0.0.0/8")], malformed(1, "undefined ORIGIN value"))),
        ("treat-as-withdraw of MP_REACH routes", update(&[], &[origin(0), attr(0x40, 2, &[2, 0]), mp_reach_v6(V6_NH, &[32, 0x20, 1, 0xd, 0xb8, 64, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 1])].concat(), &[]), p(), Withdraw(vec![pfx("2001:db8::/32"), pfx("2001:db8:0:1::/64")], malformed(2, "zero-length segment"))),
        ("IPv4 in NLRI and MP_REACH with different next hops", update(&[], &[base(), attr(0x80, 14, &[0, 1, 1, 4, 10, 9, 9, 9, 0, 16, 10, 1])].concat(), NLRI_10_8), p(), Withdraw(vec![pfx("10.0.0.0/8"), pfx("10.1.0.0/16")], UpdateIssue::ConflictingIpv4NextHops { next_hop: "192.0.2.1".parse().expect("ip"), mp_next_hop: "10.9.9.9".parse().expect("ip") })),
        // ---- RFC 7313 §5 / RFC 2918 §4: ROUTE-REFRESH ----
        ("BoRR with 5 octets", msg(5, &[0, 1, 1, 1, 0]), p(), Fatal(7, 1, Some(msg(5, &[0, 1, 1, 1, 0])))),
        ("ROUTE-REFRESH subtype 3", msg(5, &[0, 1, 3, 1]), p(), Ignored),
        ("ROUTE-REFRESH for AFI 25", msg(5, &[0, 25, 0, 65]), p(), Ignored),
        ("End-of-RIB for an unknown family", update(&[], &attr(0x80, 15, &[0, 25, 70]), &[]), p(), Ignored),
        ("MP_UNREACH_NLRI for an unknown family alone", update(&[], &attr(0x80, 15, &[0, 25, 70, 1, 2, 3]), &[]), p(), Ignored),
    ]
}

fn check(name: &str, result: Result<Message, DecodeError>, expect: &Expect) {
    match (expect, &result) {
        (
            Fatal(code, subcode, data),
            Err(DecodeError::Fatal {
                notification: n, ..
            }),
        ) => {
            assert_eq!((n.code, n.subcode), (*code, *subcode), "{name}: {result:?}");
            if let Some(d) = data {
                assert_eq!(&n.data, d, "{name}: data");
            }
        }
        (Withdraw(routes, issue), Err(DecodeError::TreatAsWithdraw { withdrawn, issues })) => {
            assert_eq!(withdrawn, routes, "{name}: withdrawn routes");
            assert!(issues.contains(issue), "{name}: {issues:?} lacks {issue:?}");
        }
        (Discard(want, routes), Err(DecodeError::AttributeDiscard { update, issues })) => {
            assert_eq!(issues, want, "{name}: issues");
            assert_eq!(&update.announced, routes, "{name}: routes");
            assert!(update.attrs.is_some(), "{name}: attributes kept");
        }
        (Ignored, Err(DecodeError::Ignored { .. })) => {}
        _ => panic!("{name}: expected {expect:?}, got {result:?}"),
    }
}

#[test]
fn every_malformed_input_gets_its_rfc_treatment() {
    let rows = rows();
    for (name, bytes, params, expect) in &rows {
        check(name, decode(bytes, params), expect);
        // The stream decoder agrees (header errors surface from it before the body is read).
        let mut dec = FrameDecoder::new();
        dec.feed(bytes);
        let streamed = match dec.decode_next(params) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => panic!("{name}: frame decoder wants more bytes"),
            Err(e) => Err(e),
        };
        check(name, streamed, expect);
    }
    assert!(rows.len() >= 80, "{} rows", rows.len());
}

#[test]
fn duplicate_keeps_the_first_value() {
    let bytes = update(&[], &[base(), origin(2)].concat(), NLRI_10_8);
    let Err(DecodeError::AttributeDiscard { update, .. }) = decode(&bytes, &CodecParams::default())
    else {
        panic!("discard expected");
    };
    let attrs = update.attrs.expect("attrs");
    assert_eq!(attrs.origin, brindle_bgp::model::Origin::Igp);
}

#[test]
fn frame_shorter_or_longer_than_its_header_says() {
    let mut long = msg(4, &[]);
    long.push(0);
    let e = decode(&long, &CodecParams::default()).expect_err("trailing octet");
    assert_eq!(e.notification().map(|n| (n.code, n.subcode)), Some((1, 2)));
    let e = decode(&long[..10], &CodecParams::default()).expect_err("truncated");
    assert_eq!(e.notification().map(|n| (n.code, n.subcode)), Some((1, 2)));
}
