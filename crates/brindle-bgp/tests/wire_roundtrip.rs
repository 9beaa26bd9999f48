//! Property tests: encode → decode is the identity on valid messages (both families, ADD-PATH,
//! four-octet paths over two-octet sessions), packing loses and reorders nothing, and decoding
//! arbitrary bytes never panics.

mod wire_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use brindle_bgp::model::{
    AS_TRANS, AddPathMode, AsPath, AsSegment, Capability, Community, Family, GracefulRestartCap,
    LargeCommunity, Message, MpNextHop, Nlri, Notification, Open, Origin, PathAttributes, Prefix,
    RawAttribute, RouteRefresh, RouteRefreshSubtype, SegmentKind, Update,
};
use brindle_bgp::wire::{
    CodecParams, DecodeError, FamilySet, FrameDecoder, MAX_MESSAGE_LEN, decode, encode_to_vec,
    encode_updates,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

fn v4_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), l).expect("valid"))
}

fn v6_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), l).expect("valid"))
}

fn nlri(
    prefix: impl Strategy<Value = Prefix>,
    add_path: bool,
) -> impl Strategy<Value = (Family, Nlri)> {
    (prefix, any::<u32>()).prop_map(move |(p, id)| {
        (
            p.family(),
            Nlri {
                prefix: p,
                path_id: if add_path { id } else { 0 },
            },
        )
    })
}

/// A unicast IPv4 next hop outside 0/8, 127/8 and 224/3.
fn v4_next_hop() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<[u8; 3]>())
        .prop_filter("loopback", |(a, _)| *a != 127)
        .prop_map(|(a, [b, c, d])| Ipv4Addr::new(a, b, c, d))
}

fn v6_next_hop() -> impl Strategy<Value = MpNextHop> {
    (any::<u64>(), proptest::option::of(any::<u64>())).prop_map(|(g, ll)| MpNextHop {
        global: IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(g))),
        link_local: ll.map(|l| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(l))),
    })
}

fn segment(kinds: &'static [SegmentKind]) -> impl Strategy<Value = AsSegment> {
    let asn = prop_oneof![1u32..=65535, any::<u32>(), Just(u32::from(AS_TRANS))];
    (select(kinds), vec(asn, 1..12)).prop_map(|(kind, asns)| AsSegment { kind, asns })
}

/// Confederation member ASes fit two octets: AS4_PATH cannot carry confederation segments
/// (RFC 6793 §3), so larger ones cannot cross a two-octet session.
fn confed_segment() -> impl Strategy<Value = AsSegment> {
    const CONFED: &[SegmentKind] = &[SegmentKind::ConfedSequence, SegmentKind::ConfedSet];
    (select(CONFED), vec(1u32..=65535, 1..12)).prop_map(|(kind, asns)| AsSegment { kind, asns })
}

/// An AS path; confederation segments only lead the path, as RFC 5065 puts them.
fn as_path() -> impl Strategy<Value = AsPath> {
    const PLAIN: &[SegmentKind] = &[SegmentKind::Sequence, SegmentKind::Set];
    (vec(confed_segment(), 0..2), vec(segment(PLAIN), 0..4)).prop_map(|(mut c, p)| {
        c.extend(p);
        AsPath { segments: c }
    })
}

fn attrs() -> impl Strategy<Value = PathAttributes> {
    let head = (
        select(&[Origin::Igp, Origin::Egp, Origin::Incomplete][..]),
        as_path(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
        proptest::option::of((any::<u32>(), any::<[u8; 4]>())),
    );
    let tail = (
        vec(any::<u32>().prop_map(Community), 0..5),
        vec(any::<[u8; 8]>(), 0..3),
        proptest::collection::btree_set(any::<(u32, u32, u32)>(), 0..3),
        proptest::option::of(any::<[u8; 4]>()),
        vec(any::<[u8; 4]>(), 0..3),
        vec((100u8..=199, vec(any::<u8>(), 0..10)), 0..3),
    );
    (head, tail).prop_map(
        |((origin, as_path, med, local_pref, atomic, agg), (comms, ext, large, orig, cl, unk))| {
            PathAttributes {
                origin,
                as_path,
                next_hop: None,
                mp_next_hop: None,
                med,
                local_pref,
                atomic_aggregate: atomic,
                aggregator: agg.map(|(a, ip)| (a, Ipv4Addr::from(ip))),
                communities: comms,
                ext_communities: ext,
                large_communities: large
                    .into_iter()
                    .map(|(a, b, c)| LargeCommunity(a, b, c))
                    .collect(),
                originator_id: orig.map(Ipv4Addr::from),
                cluster_list: cl.into_iter().map(Ipv4Addr::from).collect(),
                unknown: unique_codes(unk),
            }
        },
    )
}

fn unique_codes(list: Vec<(u8, Vec<u8>)>) -> Vec<RawAttribute> {
    let mut out: Vec<RawAttribute> = Vec::new();
    for (code, value) in list {
        if !out.iter().any(|r| r.code == code) {
            out.push(RawAttribute {
                flags: 0xe0,
                code,
                value,
            });
        }
    }
    out
}

/// A canonical UPDATE (see the `wire::update` module documentation).
fn update(add_path: bool) -> impl Strategy<Value = Update> {
    (
        vec(nlri(v4_prefix(), add_path), 0..40),
        vec(nlri(v6_prefix(), add_path), 0..20),
        vec(nlri(v4_prefix(), add_path), 0..40),
        vec(nlri(v6_prefix(), add_path), 0..20),
        attrs(),
        any::<bool>(),
        v4_next_hop(),
        v6_next_hop(),
    )
        .prop_map(|(w4, w6, a4, a6, mut attrs, with_attrs, nh4, nh6)| {
            attrs.next_hop = (!a4.is_empty()).then_some(nh4);
            attrs.mp_next_hop = (!a6.is_empty()).then_some(nh6);
            let announced: Vec<_> = a4.into_iter().chain(a6).collect();
            let withdrawn: Vec<_> = w4.into_iter().chain(w6).collect();
            let attrs = (with_attrs || !announced.is_empty()).then(|| Arc::new(attrs));
            if attrs.is_none() && announced.is_empty() && withdrawn.is_empty() {
                return Update::end_of_rib(Family::Ipv4Unicast);
            }
            Update {
                withdrawn,
                attrs,
                announced,
                end_of_rib: None,
            }
        })
}

fn capability() -> impl Strategy<Value = Capability> {
    let family = || select(&Family::ALL[..]);
    let mode = select(&[AddPathMode::Receive, AddPathMode::Send, AddPathMode::Both][..]);
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        (3u16..100, 2u8..200).prop_map(|(afi, safi)| Capability::MultiprotocolOther { afi, safi }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec((family(), any::<bool>()), 0..3)
        )
            .prop_map(|(restarting, notification, restart_time, families)| {
                Capability::GracefulRestart(GracefulRestartCap {
                    restarting,
                    notification,
                    restart_time,
                    families,
                })
            }),
        vec((family(), mode), 0..3).prop_map(Capability::AddPath),
        (71u8..=255, vec(any::<u8>(), 0..30))
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        prop_oneof![Just(0u16), 3u16..=u16::MAX],
        1u32..,
        vec(capability(), 0..12),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| Open {
            version: 4,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
}

fn message(add_path: bool) -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update(add_path).prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..100)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification {
                code,
                subcode,
                data,
            })
        }),
        Just(Message::Keepalive),
        (
            select(&Family::ALL[..]),
            select(
                &[
                    RouteRefreshSubtype::Request,
                    RouteRefreshSubtype::BeginOfRefresh,
                    RouteRefreshSubtype::EndOfRefresh
                ][..]
            )
        )
            .prop_map(|(family, subtype)| Message::RouteRefresh(RouteRefresh { family, subtype })),
    ]
}

fn params() -> impl Strategy<Value = CodecParams> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(four, ap4, ap6)| {
        let mut set = FamilySet::EMPTY;
        if ap4 {
            set.insert(Family::Ipv4Unicast);
        }
        if ap6 {
            set.insert(Family::Ipv6Unicast);
        }
        CodecParams {
            four_octet_as: four,
            ..CodecParams::default()
        }
        .with_add_path(set)
    })
}

/// Path identifiers survive only on families with ADD-PATH.
fn strip_path_ids(m: &mut Message, params: &CodecParams) {
    if let Message::Update(u) = m {
        for (f, n) in u.withdrawn.iter_mut().chain(u.announced.iter_mut()) {
            if !params.add_path_tx.contains(*f) {
                n.path_id = 0;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity((mut m, params) in (message(true), params())) {
        strip_path_ids(&mut m, &params);
        let bytes = match encode_to_vec(&m, &params) {
            Ok(b) => b,
            // Random messages can exceed 4096 octets; that is the encoder's job to refuse.
            Err(brindle_bgp::wire::EncodeError::TooLong { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("encode: {e}"))),
        };
        prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
        let back = decode(&bytes, &params.peer_view());
        prop_assert_eq!(back, Ok(m));
    }

    #[test]
    fn four_octet_paths_survive_two_octet_sessions(path in as_path(), agg in proptest::option::of(any::<u32>())) {
        let attrs = PathAttributes {
            as_path: path,
            aggregator: agg.map(|a| (a, Ipv4Addr::new(192, 0, 2, 9))),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..PathAttributes::default()
        };
        let m = Message::Update(Update {
            attrs: Some(Arc::new(attrs)),
            announced: vec![(Family::Ipv4Unicast, Nlri::new("10.0.0.0/8".parse().expect("prefix")))],
            ..Update::default()
        });
        let two = CodecParams::default();
        let bytes = encode_to_vec(&m, &two).expect("fits");
        prop_assert_eq!(decode(&bytes, &two), Ok(m));
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600), params in params()) {
        let _ = decode(&bytes, &params);
        let mut dec = FrameDecoder::new();
        dec.feed(&bytes);
        let _ = dec.decode_next(&params);
    }

    #[test]
    fn decode_never_panics_behind_a_valid_header(
        kind in 1u8..=5,
        body in vec(any::<u8>(), 0..600),
        params in params(),
    ) {
        let bytes = wire_common::msg(kind, &body);
        if let Ok(m) = decode(&bytes, &params) {
            // Whatever decodes also re-encodes and decodes to the same message.
            let tx = params.peer_view();
            if let Ok(again) = encode_to_vec(&m, &tx) {
                prop_assert_eq!(decode(&again, &params), Ok(m));
            }
        }
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_updates(
        u in update(false),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let params = CodecParams::default();
        let Ok(mut bytes) = encode_to_vec(&Message::Update(u), &params) else { return Ok(()) };
        for (i, v) in flips {
            let at = 19 + i.index(bytes.len() - 19);
            bytes[at] = v;
        }
        match decode(&bytes, &params) {
            Ok(Message::Update(_)) | Err(_) => {}
            Ok(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }
}

proptest! {
    // Up to 3,800 routes a case: fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn packing_loses_nothing(
        a4 in vec(nlri(v4_prefix(), true), 0..1500),
        a6 in vec(nlri(v6_prefix(), true), 0..400),
        w4 in vec(nlri(v4_prefix(), true), 0..1500),
        w6 in vec(nlri(v6_prefix(), true), 0..400),
        params in params(),
        mut attrs in attrs(),
        nh6 in v6_next_hop(),
    ) {
        attrs.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1));
        attrs.mp_next_hop = Some(nh6);
        let mut announce = a4.clone();
        announce.extend(a6.clone());
        let mut withdraw = w4.clone();
        withdraw.extend(w6.clone());
        for (f, n) in announce.iter_mut().chain(withdraw.iter_mut()) {
            if !params.add_path_tx.contains(*f) {
                n.path_id = 0;
            }
        }
        let msgs = match encode_updates(Some(&attrs), &announce, &withdraw, &params) {
            Ok(m) => m,
            Err(brindle_bgp::wire::EncodeError::AttributesTooLarge { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("pack: {e}"))),
        };
        let rx = params.peer_view();
        let (mut got_a, mut got_w) = (Vec::new(), Vec::new());
        for bytes in &msgs {
            prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
            let Ok(Message::Update(u)) = decode(bytes, &rx) else {
                return Err(TestCaseError::fail("not a valid UPDATE"));
            };
            // RFC 7606 §5.1: one kind of route list per message.
            prop_assert!(u.withdrawn.is_empty() || u.announced.is_empty());
            let fams = |l: &[(Family, Nlri)]| l.iter().map(|(f, _)| *f).collect::<std::collections::BTreeSet<_>>().len();
            prop_assert!(fams(&u.withdrawn) <= 1 && fams(&u.announced) <= 1);
            if !u.announced.is_empty() {
                let fam = u.announced[0].0;
                let a = u.attrs.as_deref().expect("attrs");
                let mut want = attrs.clone();
                if fam == Family::Ipv4Unicast { want.mp_next_hop = None } else { want.next_hop = None }
                prop_assert_eq!(a, &want);
            }
            got_a.extend(u.announced);
            got_w.extend(u.withdrawn);
        }
        prop_assert_eq!(got_a, announce);
        prop_assert_eq!(got_w, withdraw);
    }
}

#[test]
fn packing_is_dense_for_ipv4() {
    // 10,000 /24s (4 octets each): every message is filled up to the last prefix that fits.
    let attrs = PathAttributes {
        as_path: AsPath::sequence(vec![64512]),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    };
    let announce: Vec<_> = (0..10_000u32)
        .map(|i| {
            let p =
                Prefix::new(IpAddr::V4(Ipv4Addr::from((10 << 24) | (i << 8))), 24).expect("valid");
            (Family::Ipv4Unicast, Nlri::new(p))
        })
        .collect();
    let params = CodecParams::default();
    let msgs = encode_updates(Some(&attrs), &announce, &[], &params).expect("packs");
    // ORIGIN (4) + AS_PATH (3 + 2 + 2) + NEXT_HOP (7) = 18 octets of attributes.
    let per_msg = (4096 - 23 - 18) / 4;
    assert_eq!(per_msg, 1013);
    assert_eq!(msgs.len(), 10_000usize.div_ceil(per_msg));
    assert!(msgs[..msgs.len() - 1].iter().all(|m| m.len() > 4096 - 4));
    // IPv6 /64s (9 octets each) in MP_REACH_NLRI.
    let v6: Vec<_> = (0..2_000u128)
        .map(|i| {
            let p = Prefix::new(
                IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 64))),
                64,
            )
            .expect("valid");
            (Family::Ipv6Unicast, Nlri::new(p))
        })
        .collect();
    let attrs6 = PathAttributes {
        next_hop: None,
        mp_next_hop: Some(MpNextHop {
            global: "2001:db8::1".parse().expect("ip"),
            link_local: None,
        }),
        ..attrs
    };
    let msgs = encode_updates(Some(&attrs6), &v6, &v6, &params).expect("packs");
    let sizes: Vec<usize> = msgs.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|s| *s <= 4096));
    let full = sizes.iter().filter(|s| **s > 4096 - 9).count();
    assert!(full >= sizes.len() - 2, "{sizes:?}");
}

#[test]
fn decoded_updates_share_one_attribute_set() {
    let params = CodecParams::default();
    let bytes = wire_common::update(&[], &wire_common::base(), &[8, 10, 8, 11, 8, 12]);
    let Ok(Message::Update(u)) = decode(&bytes, &params) else {
        panic!("valid UPDATE")
    };
    assert_eq!(u.announced.len(), 3);
    assert_eq!(u.attrs.as_ref().map(Arc::strong_count), Some(1));
    assert!(!matches!(
        decode(&bytes, &params),
        Err(DecodeError::Fatal { .. })
    ));
}
