//! Every message type and attribute, byte for byte.

mod wire_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use brindle_bgp::model::{
    AddPathMode, AsPath, AsSegment, Capability, Community, Family, GracefulRestartCap,
    LargeCommunity, Message, MpNextHop, Nlri, Notification, Origin, PathAttributes, RawAttribute,
    RouteRefresh, RouteRefreshSubtype, SegmentKind, Update,
};
use brindle_bgp::wire::{
    CodecParams, DecodeError, EncodeError, FamilySet, FrameDecoder, decode, encode_to_vec, new_open,
};
use wire_common::*;

fn p() -> CodecParams {
    CodecParams::default()
}

fn as4() -> CodecParams {
    CodecParams {
        four_octet_as: true,
        ..CodecParams::default()
    }
}

fn ok(bytes: &[u8], params: &CodecParams) -> Message {
    decode(bytes, params).unwrap_or_else(|e| panic!("decode: {e}"))
}

fn enc(m: &Message, params: &CodecParams) -> Vec<u8> {
    encode_to_vec(m, params).unwrap_or_else(|e| panic!("encode: {e}"))
}

fn upd(m: Message) -> Update {
    match m {
        Message::Update(u) => u,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

#[test]
fn keepalive() {
    let bytes = enc(&Message::Keepalive, &p());
    assert_eq!(bytes, msg(4, &[]));
    assert_eq!(ok(&bytes, &p()), Message::Keepalive);
}

#[test]
fn open_with_the_capabilities_brindle_sends() {
    let open = new_open(
        64512,
        90,
        Ipv4Addr::new(10, 0, 0, 1),
        vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::Multiprotocol(Family::Ipv6Unicast),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::GracefulRestart(GracefulRestartCap {
                restarting: false,
                notification: true,
                restart_time: 120,
                families: vec![(Family::Ipv4Unicast, true)],
            }),
            Capability::AddPath(vec![(Family::Ipv4Unicast, AddPathMode::Both)]),
        ],
    );
    let bytes = enc(&Message::Open(open.clone()), &p());
    let caps: &[u8] = &[
        1, 4, 0, 1, 0, 1, // MP IPv4
        1, 4, 0, 2, 0, 1, // MP IPv6
        2, 0, // route refresh
        70, 0, // enhanced route refresh
        64, 6, 0x40, 120, 0, 1, 1, 0x80, // graceful restart
        69, 4, 0, 1, 1, 3, // add-path
        65, 4, 0, 0, 0xfc, 0, // four-octet AS
    ];
    let mut params = vec![2, u8::try_from(caps.len()).expect("short")];
    params.extend_from_slice(caps);
    assert_eq!(
        bytes,
        msg(1, &open_body(4, 64512, 90, [10, 0, 0, 1], &params))
    );
    assert_eq!(ok(&bytes, &p()), Message::Open(open));
}

#[test]
fn open_capabilities_in_several_parameters_and_unknown_ones() {
    let params = [
        &[2u8, 6, 1, 4, 0, 1, 0, 1][..],
        &[2, 6, 65, 4, 0, 0, 0xfd, 0xe9],
        &[2, 4, 73, 2, b'h', b'i'],
        &[2, 0],
    ]
    .concat();
    let bytes = msg(1, &open_body(4, 65001, 0, [1, 2, 3, 4], &params));
    let Message::Open(o) = ok(&bytes, &p()) else {
        panic!("OPEN expected")
    };
    assert_eq!(o.hold_time, 0);
    assert_eq!(o.asn(), 65001);
    assert_eq!(
        o.capabilities,
        [
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::FourOctetAs(65001),
            Capability::Unknown {
                code: 73,
                value: b"hi".to_vec()
            },
        ]
    );
}

#[test]
fn open_extended_optional_parameters_rfc9072() {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length, 2-octet lengths.
    let caps = [1u8, 4, 0, 2, 0, 1];
    let mut params = vec![255, 255, 0, 9, 2, 0, 6];
    params.extend_from_slice(&caps);
    let mut body = open_body(4, 65001, 90, [1, 2, 3, 4], &[]);
    body.pop();
    body.extend_from_slice(&params);
    let Message::Open(o) = ok(&msg(1, &body), &p()) else {
        panic!("OPEN expected")
    };
    assert_eq!(
        o.capabilities,
        [Capability::Multiprotocol(Family::Ipv6Unicast)]
    );
}

/// An UPDATE with every attribute brindle understands, in canonical order, on a four-octet
/// session.
fn full_attrs_bytes() -> Vec<u8> {
    [
        origin(1),
        as_path4(&[65001, 4_200_000_000]),
        next_hop([192, 0, 2, 1]),
        attr(0x80, 4, &[0, 0, 0, 50]),
        attr(0x40, 5, &[0, 0, 0, 200]),
        attr(0x40, 6, &[]),
        attr(0xc0, 7, &[0, 0, 0xfd, 0xe9, 10, 0, 0, 9]),
        attr(0xc0, 8, &[0xfd, 0xe9, 0, 100, 0xff, 0xff, 0xff, 0x01]),
        attr(0x80, 9, &[10, 0, 0, 7]),
        attr(0x80, 10, &[10, 0, 0, 100]),
        attr(0xc0, 16, &[0, 2, 0xfd, 0xe9, 0, 0, 0, 1]),
        attr(0xc0, 32, &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2]),
        attr(0xe0, 99, &[1, 2, 3]),
    ]
    .concat()
}

fn full_attrs() -> PathAttributes {
    PathAttributes {
        origin: Origin::Egp,
        as_path: AsPath::sequence(vec![65001, 4_200_000_000]),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        mp_next_hop: None,
        med: Some(50),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some((65001, Ipv4Addr::new(10, 0, 0, 9))),
        communities: vec![Community(0xfde9_0064), Community::NO_EXPORT],
        ext_communities: vec![[0, 2, 0xfd, 0xe9, 0, 0, 0, 1]],
        large_communities: vec![LargeCommunity(65001, 1, 2)],
        originator_id: Some(Ipv4Addr::new(10, 0, 0, 7)),
        cluster_list: vec![Ipv4Addr::new(10, 0, 0, 100)],
        unknown: vec![RawAttribute {
            flags: 0xe0,
            code: 99,
            value: vec![1, 2, 3],
        }],
    }
}

#[test]
fn update_with_every_attribute() {
    let bytes = update(
        &[8, 11],
        &full_attrs_bytes(),
        &[24, 10, 1, 2, 32, 10, 9, 9, 9],
    );
    let u = upd(ok(&bytes, &as4()));
    assert_eq!(u.withdrawn, [pfx("11.0.0.0/8")]);
    assert_eq!(u.announced, [pfx("10.1.2.0/24"), pfx("10.9.9.9/32")]);
    assert_eq!(u.attrs.as_deref(), Some(&full_attrs()));
    assert_eq!(u.end_of_rib, None);
    // Canonical input comes back byte for byte.
    assert_eq!(enc(&Message::Update(u), &as4()), bytes);
}

#[test]
fn unknown_attributes_pass_with_the_partial_bit_or_vanish() {
    let bytes = update(
        &[],
        &[base(), attr(0xc0, 200, &[9]), attr(0x80, 201, &[8])].concat(),
        &[8, 10],
    );
    let u = upd(ok(&bytes, &p()));
    let attrs = u.attrs.clone().expect("attrs");
    assert_eq!(
        attrs.unknown,
        [RawAttribute {
            flags: 0xe0,
            code: 200,
            value: vec![9]
        }]
    );
    let out = enc(&Message::Update(u), &p());
    assert!(out.windows(4).any(|w| w == [0xe0, 200, 1, 9]));
    assert!(!out.windows(2).any(|w| w == [0x80, 201]));
}

#[test]
fn ipv6_in_mp_reach_with_link_local_next_hop() {
    let ll: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut v = vec![0, 2, 1, 32];
    v.extend_from_slice(&V6_NH);
    v.extend_from_slice(&ll);
    v.push(0);
    v.extend_from_slice(&[64, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 1]);
    let bytes = update(
        &[],
        &[attr(0x80, 14, &v), origin(0), as_path2(&[65001])].concat(),
        &[],
    );
    let u = upd(ok(&bytes, &p()));
    assert_eq!(u.announced, [pfx("2001:db8:0:1::/64")]);
    let attrs = u.attrs.clone().expect("attrs");
    assert_eq!(
        attrs.mp_next_hop,
        Some(MpNextHop {
            global: IpAddr::V6(Ipv6Addr::from(V6_NH)),
            link_local: Some(Ipv6Addr::from(ll)),
        })
    );
    assert_eq!(
        attrs.next_hop_for(Family::Ipv6Unicast),
        Some(IpAddr::V6(Ipv6Addr::from(V6_NH)))
    );
    assert_eq!(
        decode(&enc(&Message::Update(u.clone()), &p()), &p()),
        Ok(Message::Update(u))
    );
}

#[test]
fn mp_unreach_withdraws_ipv6() {
    let bytes = update(&[], &mp_unreach_v6(&[32, 0x20, 1, 0xd, 0xb8]), &[]);
    let u = upd(ok(&bytes, &p()));
    assert_eq!(u.withdrawn, [pfx("2001:db8::/32")]);
    assert_eq!(u.attrs, None);
    assert_eq!(enc(&Message::Update(u), &p()), mp_unreach_extended_form());
}

/// The encoder writes MP attributes with the Extended Length bit; the same UPDATE that way.
fn mp_unreach_extended_form() -> Vec<u8> {
    let mut a = vec![0x90, 15, 0, 8, 0, 2, 1];
    a.extend_from_slice(&[32, 0x20, 1, 0xd, 0xb8]);
    update(&[], &a, &[])
}

#[test]
fn next_hop_is_ignored_without_nlri_field() {
    // RFC 4760 §3: NEXT_HOP in an UPDATE whose only NLRI is in MP_REACH_NLRI is ignored.
    let bytes = update(
        &[],
        &[base(), mp_reach_v6(V6_NH, &[32, 0x20, 1, 0xd, 0xb8])].concat(),
        &[],
    );
    let u = upd(ok(&bytes, &p()));
    assert_eq!(u.attrs.expect("attrs").next_hop, None);
}

#[test]
fn ipv4_in_mp_reach() {
    let mp = attr(0x80, 14, &[0, 1, 1, 4, 10, 0, 0, 1, 0, 16, 10, 1]);
    let bytes = update(&[], &[origin(0), as_path2(&[1]), mp.clone()].concat(), &[]);
    let u = upd(ok(&bytes, &p()));
    assert_eq!(u.announced, [pfx("10.1.0.0/16")]);
    let attrs = u.attrs.clone().expect("attrs");
    assert_eq!(attrs.next_hop, None);
    assert_eq!(
        attrs.next_hop_for(Family::Ipv4Unicast),
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    // Re-encoded in MP_REACH_NLRI again, since the attributes have no NEXT_HOP.
    assert_eq!(
        decode(&enc(&Message::Update(u.clone()), &p()), &p()),
        Ok(Message::Update(u))
    );
    // The same next hop in both places: one attribute set.
    let both = update(
        &[],
        &[
            base(),
            attr(0x80, 14, &[0, 1, 1, 4, 192, 0, 2, 1, 0, 16, 10, 1]),
        ]
        .concat(),
        &[8, 10],
    );
    let u = upd(ok(&both, &p()));
    assert_eq!(u.announced, [pfx("10.0.0.0/8"), pfx("10.1.0.0/16")]);
    assert_eq!(u.attrs.expect("attrs").mp_next_hop, None);
}

#[test]
fn end_of_rib_both_forms() {
    let v4 = update(&[], &[], &[]);
    assert_eq!(upd(ok(&v4, &p())), Update::end_of_rib(Family::Ipv4Unicast));
    assert_eq!(
        enc(
            &Message::Update(Update::end_of_rib(Family::Ipv4Unicast)),
            &p()
        ),
        v4
    );
    let v6 = update(&[], &attr(0x80, 15, &[0, 2, 1]), &[]);
    assert_eq!(upd(ok(&v6, &p())), Update::end_of_rib(Family::Ipv6Unicast));
    let out = enc(
        &Message::Update(Update::end_of_rib(Family::Ipv6Unicast)),
        &p(),
    );
    assert_eq!(out, v6);
    // The MP_UNREACH_NLRI form for IPv4 is accepted too.
    let v4_mp = update(&[], &attr(0x80, 15, &[0, 1, 1]), &[]);
    assert_eq!(
        upd(ok(&v4_mp, &p())),
        Update::end_of_rib(Family::Ipv4Unicast)
    );
    // An empty MP_UNREACH_NLRI next to other attributes is not a marker.
    let not = update(&[], &[mp_unreach_v6(&[]), origin(0)].concat(), &[]);
    assert_eq!(upd(ok(&not, &p())).end_of_rib, None);
}

#[test]
fn four_octet_path_over_a_two_octet_session() {
    let attrs = PathAttributes {
        as_path: AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![65001, 4_200_000_000, 65002],
                },
                AsSegment {
                    kind: SegmentKind::Set,
                    asns: vec![70000, 3],
                },
            ],
        },
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        aggregator: Some((4_200_000_001, Ipv4Addr::new(1, 1, 1, 1))),
        ..PathAttributes::default()
    };
    let u = Update {
        attrs: Some(Arc::new(attrs.clone())),
        announced: vec![pfx("10.0.0.0/8")],
        ..Update::default()
    };
    let bytes = enc(&Message::Update(u.clone()), &p());
    // AS_PATH: 65001 AS_TRANS 65002, {AS_TRANS, 3}.
    let as_path = attr(
        0x40,
        2,
        &[
            2, 3, 0xfd, 0xe9, 0x5b, 0xa0, 0xfd, 0xea, 1, 2, 0x5b, 0xa0, 0, 3,
        ],
    );
    assert!(
        bytes
            .windows(as_path.len())
            .any(|w| w == as_path.as_slice())
    );
    // AGGREGATOR with AS_TRANS and AS4_AGGREGATOR with the real AS.
    assert!(bytes.windows(5).any(|w| w == [0xc0, 7, 6, 0x5b, 0xa0]));
    assert!(
        bytes
            .windows(7)
            .any(|w| w == [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x01])
    );
    assert!(bytes.windows(2).any(|w| w == [0xc0, 17]));
    assert_eq!(ok(&bytes, &p()), Message::Update(u.clone()));
    // A four-octet session never carries AS4_PATH.
    let four = enc(&Message::Update(u.clone()), &as4());
    assert!(!four.windows(2).any(|w| w == [0xc0, 17] || w == [0xc0, 18]));
    assert_eq!(ok(&four, &as4()), Message::Update(u));
}

#[test]
fn two_octet_path_needs_no_as4_path() {
    let u = Update {
        attrs: Some(Arc::new(PathAttributes {
            as_path: AsPath::sequence(vec![65001]),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..PathAttributes::default()
        })),
        announced: vec![pfx("10.0.0.0/8")],
        ..Update::default()
    };
    let bytes = enc(&Message::Update(u), &p());
    assert_eq!(bytes, update(&[], &base(), &[8, 10]));
}

#[test]
fn add_path_identifiers() {
    let params = CodecParams::default().with_add_path(FamilySet::ALL);
    let bytes = update(
        &[0, 0, 0, 7, 8, 11],
        &base(),
        &[0, 0, 0, 1, 8, 10, 0, 0, 0, 2, 8, 10],
    );
    let u = upd(ok(&bytes, &params));
    let with_id = |s: &str, id| {
        let (f, n) = pfx(s);
        (f, Nlri { path_id: id, ..n })
    };
    assert_eq!(u.withdrawn, [with_id("11.0.0.0/8", 7)]);
    assert_eq!(
        u.announced,
        [with_id("10.0.0.0/8", 1), with_id("10.0.0.0/8", 2)]
    );
    assert_eq!(enc(&Message::Update(u), &params), bytes);
    // Receive-only for IPv4: what we send carries no identifiers.
    let rx_only = CodecParams {
        add_path_rx: FamilySet::ALL,
        ..CodecParams::default()
    };
    let u = upd(ok(&bytes, &rx_only));
    assert_eq!(
        enc(&Message::Update(u), &rx_only),
        update(&[8, 11], &base(), &[8, 10, 8, 10])
    );
}

#[test]
fn notification_messages() {
    let n = Notification::administrative_shutdown("upgrade");
    let bytes = enc(&Message::Notification(n.clone()), &p());
    assert_eq!(
        bytes,
        msg(3, &[6, 2, 7, b'u', b'p', b'g', b'r', b'a', b'd', b'e'])
    );
    let Message::Notification(back) = ok(&bytes, &p()) else {
        panic!("NOTIFICATION expected")
    };
    assert_eq!(back, n);
    assert_eq!(back.describe(), "Cease / Administrative Shutdown: upgrade");
    assert_eq!(back.shutdown_communication(), Some(Ok("upgrade")));
    let hold = msg(3, &[4, 0]);
    let Message::Notification(h) = ok(&hold, &p()) else {
        panic!("NOTIFICATION expected")
    };
    assert_eq!(h.describe(), "Hold Timer Expired");
}

#[test]
fn route_refresh_subtypes() {
    for (st, code) in [
        (RouteRefreshSubtype::Request, 0u8),
        (RouteRefreshSubtype::BeginOfRefresh, 1),
        (RouteRefreshSubtype::EndOfRefresh, 2),
    ] {
        let rr = RouteRefresh {
            family: Family::Ipv6Unicast,
            subtype: st,
        };
        let bytes = enc(&Message::RouteRefresh(rr), &p());
        assert_eq!(bytes, msg(5, &[0, 2, code, 1]));
        assert_eq!(ok(&bytes, &p()), Message::RouteRefresh(rr));
    }
    // A request carrying ORF entries (RFC 5291) is still a request.
    assert_eq!(
        ok(&msg(5, &[0, 1, 0, 1, 1, 2, 3]), &p()),
        Message::RouteRefresh(RouteRefresh {
            family: Family::Ipv4Unicast,
            subtype: RouteRefreshSubtype::Request
        })
    );
}

#[test]
fn stream_of_mixed_messages_byte_by_byte() {
    let msgs = [
        Message::Keepalive,
        Message::Update(Update::end_of_rib(Family::Ipv6Unicast)),
        Message::Notification(Notification::administrative_reset("bye")),
    ];
    let stream: Vec<u8> = msgs.iter().flat_map(|m| enc(m, &p())).collect();
    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &stream {
        dec.feed(std::slice::from_ref(b));
        while let Some(m) = dec.decode_next(&p()).expect("valid") {
            got.push(m);
        }
    }
    assert_eq!(got, msgs);
}

#[test]
fn encode_errors() {
    let v6 = pfx("2001:db8::/32");
    let v4 = pfx("10.0.0.0/8");
    let no_attrs = Update {
        announced: vec![v4],
        ..Update::default()
    };
    assert_eq!(
        encode_to_vec(&Message::Update(no_attrs), &p()),
        Err(EncodeError::MissingAttributes)
    );
    let no_v6_nh = Update {
        attrs: Some(Arc::new(PathAttributes::default())),
        announced: vec![v6],
        ..Update::default()
    };
    assert_eq!(
        encode_to_vec(&Message::Update(no_v6_nh), &p()),
        Err(EncodeError::MissingNextHop(Family::Ipv6Unicast))
    );
    let both_mp = Update {
        attrs: Some(Arc::new(PathAttributes {
            mp_next_hop: Some(MpNextHop {
                global: IpAddr::V6(Ipv6Addr::LOCALHOST),
                link_local: None,
            }),
            ..PathAttributes::default()
        })),
        announced: vec![v4, v6],
        ..Update::default()
    };
    assert_eq!(
        encode_to_vec(&Message::Update(both_mp), &p()),
        Err(EncodeError::TwoMpReachFamilies)
    );
    let eor = Update {
        withdrawn: vec![v4],
        ..Update::end_of_rib(Family::Ipv4Unicast)
    };
    assert_eq!(
        encode_to_vec(&Message::Update(eor), &p()),
        Err(EncodeError::EndOfRibNotEmpty)
    );
    let mislabeled = Update {
        withdrawn: vec![(Family::Ipv6Unicast, v4.1)],
        ..Update::default()
    };
    assert!(matches!(
        encode_to_vec(&Message::Update(mislabeled), &p()),
        Err(EncodeError::FamilyMismatch(_))
    ));
    let huge = Update {
        withdrawn: (0..2000u32)
            .map(|i| pfx(&format!("10.{}.{}.0/24", i / 256, i % 256)))
            .collect(),
        ..Update::default()
    };
    let mut out = vec![1, 2, 3];
    assert!(matches!(
        brindle_bgp::wire::encode(&Message::Update(huge), &p(), &mut out),
        Err(EncodeError::TooLong { .. })
    ));
    assert_eq!(out, [1, 2, 3], "nothing appended on error");
}

#[test]
fn non_fatal_errors_consume_their_message() {
    let bad = update(
        &[],
        &[origin(9), as_path2(&[1]), next_hop([192, 0, 2, 1])].concat(),
        &[8, 10],
    );
    let mut dec = FrameDecoder::new();
    dec.feed(&bad);
    dec.feed(&msg(4, &[]));
    assert!(matches!(
        dec.decode_next(&p()),
        Err(DecodeError::TreatAsWithdraw { .. })
    ));
    assert_eq!(dec.decode_next(&p()), Ok(Some(Message::Keepalive)));
    assert_eq!(dec.decode_next(&p()), Ok(None));
}
