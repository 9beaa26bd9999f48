//! Route messages built and read back without a socket.

use super::*;
use crate::wire::messages;
use crate::{RT_TABLE_MAIN, RTPROT_BRINDLE};

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// The one message in `bytes`: (type, flags, payload).
fn only(bytes: &[u8]) -> (u16, u16, Vec<u8>) {
    let all: Vec<_> = messages(bytes).collect::<Result<_, _>>().expect("valid");
    assert_eq!(all.len(), 1);
    (all[0].kind, all[0].flags, all[0].payload.to_vec())
}

/// A request reads back as the route it was built from (the kernel's dumps use the same
/// layout).
#[track_caller]
fn round_trip(route: Route) {
    let (kind, flags, payload) = only(&new_route(&route, Write::Replace, 1));
    assert_eq!(kind, RTM_NEWROUTE);
    assert_eq!(
        flags,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
    );
    assert_eq!(parse_route(&payload), Ok(Some(route)));
}

#[test]
fn requests_read_back_as_the_route() {
    round_trip(Route::via(cidr("10.1.0.0/24"), [ip("10.0.0.2")]));
    round_trip(Route::via(
        cidr("10.1.0.0/24"),
        [ip("10.0.0.2"), ip("10.0.0.3")],
    ));
    round_trip(Route::via(cidr("fd00:1::/64"), [ip("fd00::2"), ip("fd00::3")]).in_table(1000));
    round_trip(Route::blackhole(cidr("10.244.0.0/26")).with_protocol(12));
    round_trip(Route::device(cidr("10.244.0.5/32"), 7).with_metric(10));
    round_trip(Route::new(
        cidr("10.3.0.0/24"),
        vec![NextHop::via(ip("10.9.0.1")).on(3).onlink()],
    ));
    round_trip(Route::new(
        cidr("0.0.0.0/0"),
        vec![
            NextHop::via(ip("10.9.0.1")).on(3).onlink(),
            NextHop::via(ip("10.9.0.2")).on(4),
        ],
    ));
}

#[test]
fn header_fields_as_the_kernel_wants_them() {
    let (_, _, p) = only(&new_route(
        &Route::device(cidr("10.244.0.5/32"), 7),
        Write::Add,
        1,
    ));
    // family, dst_len, src_len, tos, table, protocol, scope, type
    assert_eq!(
        &p[..8],
        &[
            AF_INET,
            32,
            0,
            0,
            254,
            RTPROT_BRINDLE,
            RT_SCOPE_LINK,
            RTN_UNICAST
        ]
    );
    let (_, flags, p) = only(&new_route(
        &Route::blackhole(cidr("fd00::/48")).in_table(1000),
        Write::Add,
        1,
    ));
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    // A table above 255 is only in RTA_TABLE.
    assert_eq!(
        &p[..8],
        &[AF_INET6, 48, 0, 0, 0, RTPROT_BRINDLE, 0, RTN_BLACKHOLE]
    );
}

#[test]
fn delete_matches_destination_table_and_protocol_only() {
    let r = Route::via(cidr("10.1.0.0/24"), [ip("10.0.0.2"), ip("10.0.0.3")]);
    let (kind, flags, p) = only(&del_route(&r, 5));
    assert_eq!(kind, RTM_DELROUTE);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
    assert_eq!(
        &p[..8],
        &[
            AF_INET,
            24,
            0,
            0,
            254,
            RTPROT_BRINDLE,
            RT_SCOPE_NOWHERE,
            RTN_UNSPEC
        ]
    );
    let attrs: Vec<u16> = wire::attrs(&p[RTMSG_LEN..])
        .map(|a| a.expect("valid").0)
        .collect();
    assert_eq!(attrs, vec![RTA_DST, RTA_TABLE]);
}

#[test]
fn dump_request_asks_for_one_family_or_both() {
    for (ipv4, family) in [
        (Some(true), AF_INET),
        (Some(false), AF_INET6),
        (None, AF_UNSPEC),
    ] {
        let (kind, flags, p) = only(&dump_routes(ipv4, 3));
        assert_eq!((kind, flags), (RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP));
        assert_eq!(p[0], family);
    }
}

/// Bytes as a 6.18 kernel sent them (little-endian) in a dump after `ip route replace
/// 10.1.0.0/24 proto 81 nexthop via 10.9.0.2 nexthop via 10.9.0.3` and `ip -6 route replace
/// fd00:1::/64 via fd00:9::2 dev v0 proto 81`, in a namespace whose `v0` is interface 3. The
/// IPv6 message carries what the kernel adds (`RTA_CACHEINFO`, `RTA_PREF`, metric 1024).
const KERNEL_DUMP: &[u8] = include_bytes!("testdata/kernel-dump.bin");

#[test]
#[cfg(target_endian = "little")]
fn kernel_dump_is_read() {
    let routes: Vec<Route> = messages(KERNEL_DUMP)
        .map(|m| m.expect("valid message"))
        .filter(|m| m.kind == RTM_NEWROUTE)
        .filter_map(|m| parse_route(m.payload).expect("valid route"))
        .filter(|r| r.protocol == RTPROT_BRINDLE)
        .collect();
    assert_eq!(
        routes,
        vec![
            Route::new(
                cidr("10.1.0.0/24"),
                vec![
                    NextHop::via(ip("10.9.0.2")).on(3),
                    NextHop::via(ip("10.9.0.3")).on(3)
                ],
            ),
            Route::new(
                cidr("fd00:1::/64"),
                vec![NextHop::via(ip("fd00:9::2")).on(3)]
            )
            .with_metric(1024),
        ]
    );
    assert!(routes.iter().all(|r| r.table == RT_TABLE_MAIN));
}

#[test]
fn truncated_or_foreign_messages() {
    assert!(parse_route(&[2, 24, 0]).is_err());
    // Another family (e.g. AF_MPLS) is skipped, not an error.
    let mut p = [0u8; RTMSG_LEN];
    p[0] = 28;
    assert_eq!(parse_route(&p), Ok(None));
    // An IPv4 route whose destination is not 4 bytes.
    let mut b = MessageBuilder::new(RTM_NEWROUTE, 0, 1);
    b.bytes(&rtmsg(true, 24, 254, 81, 0, RTN_UNICAST, 0));
    b.attr(RTA_DST, &[10, 1, 0]);
    let (_, _, p) = only(&b.finish());
    assert!(parse_route(&p).is_err());
    // A multipath attribute whose next hop claims more bytes than it has.
    let mut b = MessageBuilder::new(RTM_NEWROUTE, 0, 1);
    b.bytes(&rtmsg(true, 24, 254, 81, 0, RTN_UNICAST, 0));
    b.attr(RTA_MULTIPATH, &[40, 0, 0, 0, 2, 0, 0, 0]);
    let (_, _, p) = only(&b.finish());
    assert!(parse_route(&p).is_err());
}
