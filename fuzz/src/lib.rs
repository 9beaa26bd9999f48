//! Shared pieces of the fuzz targets: session parameters, the round-trip oracle and seed
//! messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use brindle_bgp::model::{
    AddPathMode, AsPath, AsSegment, Capability, Community, Family, GracefulRestartCap,
    LargeCommunity, Message, MpNextHop, Nlri, Notification, Origin, PathAttributes, Prefix,
    RawAttribute, RouteRefresh, RouteRefreshSubtype, SegmentKind, Update,
};
use brindle_bgp::wire::{
    CodecParams, DecodeError, EncodeError, FamilySet, decode, encode_to_vec, encode_updates,
    new_open,
};

/// Parameters of a four-octet AS session with ADD-PATH both ways on both families.
pub fn as4_add_path() -> CodecParams {
    CodecParams {
        four_octet_as: true,
        local_as: 65000,
        peer_as: Some(65000),
        ..CodecParams::default()
    }
    .with_add_path(FamilySet::ALL)
}

/// Parameters chosen by the bits of `b`: four-octet AS, ADD-PATH per family, eBGP.
pub fn params_from_byte(b: u8) -> CodecParams {
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

/// The round-trip oracle: whatever `decode` accepted (fully, or after discarding attributes)
/// must encode, and decode again to the same message. Re-encoding may only fail by exceeding
/// 4096 octets (a decoded AS_PATH/AS4_PATH pair can grow when both are rebuilt in full).
pub fn check_round_trip(result: &Result<Message, DecodeError>, params: &CodecParams) {
    let discarded;
    let m = match result {
        Ok(m) => m,
        Err(DecodeError::AttributeDiscard { update, .. }) => {
            discarded = Message::Update(update.clone());
            &discarded
        }
        Err(_) => return,
    };
    // What the peer encodes with its own parameters, we decode with ours.
    let bytes = match encode_to_vec(m, &params.peer_view()) {
        Ok(b) => b,
        Err(EncodeError::TooLong { .. }) => return,
        Err(e) => panic!("decoded message does not encode ({e}): {m:?}"),
    };
    let again = decode(&bytes, params);
    assert_eq!(again.as_ref(), Ok(m), "round trip changed the message");
}

/// Wraps `body` in a header of type `kind` (cut to fit 4096 octets).
pub fn with_header(kind: u8, body: &[u8]) -> Vec<u8> {
    let body = body.get(..body.len().min(4096 - 19)).unwrap_or_default();
    let len = u16::try_from(19 + body.len()).unwrap_or(4096);
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

fn nlri(s: &str, path_id: u32) -> (Family, Nlri) {
    let prefix: Prefix = s.parse().unwrap_or_else(|_| panic!("{s}"));
    (prefix.family(), Nlri { prefix, path_id })
}

fn attrs() -> PathAttributes {
    PathAttributes {
        origin: Origin::Igp,
        as_path: AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![65001, 4_200_000_000],
                },
                AsSegment {
                    kind: SegmentKind::Set,
                    asns: vec![1, 2],
                },
            ],
        },
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        mp_next_hop: None,
        med: Some(10),
        local_pref: Some(100),
        atomic_aggregate: true,
        aggregator: Some((70000, Ipv4Addr::new(192, 0, 2, 9))),
        communities: vec![Community::NO_EXPORT],
        ext_communities: vec![[0, 2, 0, 1, 0, 0, 0, 1]],
        large_communities: vec![LargeCommunity(1, 2, 3)],
        originator_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
        cluster_list: vec![Ipv4Addr::new(10, 0, 0, 2)],
        unknown: vec![RawAttribute {
            flags: 0xe0,
            code: 99,
            value: vec![1, 2, 3],
        }],
    }
}

/// Valid messages to start the corpus of `target` from (whole messages, or bodies for the
/// targets that add the header themselves).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let v6_attrs = PathAttributes {
        next_hop: None,
        mp_next_hop: Some(MpNextHop {
            global: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        }),
        ..attrs()
    };
    let open = new_open(
        4_200_000_000,
        90,
        Ipv4Addr::new(10, 0, 0, 1),
        vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::Multiprotocol(Family::Ipv6Unicast),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::GracefulRestart(GracefulRestartCap {
                restarting: true,
                notification: false,
                restart_time: 120,
                families: vec![(Family::Ipv4Unicast, true)],
            }),
            Capability::AddPath(vec![(Family::Ipv4Unicast, AddPathMode::Both)]),
        ],
    );
    let update = Update {
        withdrawn: vec![nlri("10.9.0.0/16", 3)],
        attrs: Some(Arc::new(attrs())),
        announced: vec![nlri("10.1.0.0/24", 1), nlri("10.2.0.0/26", 2)],
        end_of_rib: None,
    };
    let update6 = Update {
        withdrawn: vec![nlri("2001:db8:9::/48", 0)],
        attrs: Some(Arc::new(v6_attrs.clone())),
        announced: vec![nlri("2001:db8:1::/64", 7)],
        end_of_rib: None,
    };
    let messages = [
        Message::Keepalive,
        Message::Open(open),
        Message::Update(update),
        Message::Update(update6),
        Message::Update(Update::end_of_rib(Family::Ipv4Unicast)),
        Message::Update(Update::end_of_rib(Family::Ipv6Unicast)),
        Message::Notification(Notification::administrative_shutdown("maintenance")),
        Message::Notification(Notification {
            code: 6,
            subcode: 1,
            data: vec![0, 1, 1, 0, 0, 3, 232],
        }),
        Message::RouteRefresh(RouteRefresh {
            family: Family::Ipv6Unicast,
            subtype: RouteRefreshSubtype::BeginOfRefresh,
        }),
    ];
    let mut out = Vec::new();
    for (i, params) in [CodecParams::default(), as4_add_path()].iter().enumerate() {
        for m in &messages {
            let Ok(bytes) = encode_to_vec(m, params) else {
                continue;
            };
            let body = bytes.get(19..).unwrap_or_default().to_vec();
            let kind = bytes.get(18).copied().unwrap_or(0);
            match (target, kind) {
                ("frame_decoder", _) => out.push([vec![7], bytes.clone(), bytes].concat()),
                ("decode_default", _) if i == 0 => out.push(bytes),
                ("decode_as4_addpath", _) if i == 1 => out.push(bytes),
                ("open", 1) => out.push(body),
                ("update", 2) => out.push([vec![if i == 1 { 7 } else { 0 }], body].concat()),
                ("notification", 3) => out.push(body),
                ("notification", 5) => out.push(body),
                _ => {}
            }
        }
    }
    if target == "update" || target == "frame_decoder" {
        let routes: Vec<_> = (0..300u32)
            .map(|i| nlri(&format!("10.{}.{}.0/24", i / 256, i % 256), i))
            .collect();
        if let Ok(msgs) = encode_updates(Some(&attrs()), &routes, &[], &CodecParams::default()) {
            for m in msgs {
                let body = m.get(19..).unwrap_or_default();
                out.push(if target == "update" {
                    [&[0u8][..], body].concat()
                } else {
                    [&[200u8][..], &m].concat()
                });
            }
        }
    }
    out
}
