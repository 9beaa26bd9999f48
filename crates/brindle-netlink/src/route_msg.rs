//! rtnetlink route messages (rtnetlink(7)): `RTM_NEWROUTE`/`RTM_DELROUTE` requests built from a
//! [`Route`], `RTM_GETROUTE` dump requests, and routes read back from `RTM_NEWROUTE` messages.
//! No I/O here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Cidr;
use crate::route::{NextHop, Route, Target};
use crate::wire::{
    self, Malformed, MessageBuilder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};

pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;
pub(crate) const RTM_GETROUTE: u16 = 26;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const AF_UNSPEC: u8 = 0;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;

const RTN_UNSPEC: u8 = 0;
const RTN_UNICAST: u8 = 1;
const RTN_BLACKHOLE: u8 = 6;

const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_NOWHERE: u8 = 255;

const RTNH_F_ONLINK: u8 = 4;
/// Set on routes cloned into the cache (old kernels' IPv6 dumps); never ours.
const RTM_F_CLONED: u32 = 0x200;

/// `rtmsg`: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
const RTMSG_LEN: usize = 12;
/// `rtnexthop`: len, flags, hops, ifindex.
const RTNH_LEN: usize = 8;

/// How a request treats an existing route to the same destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    /// Fail with EEXIST (`ip route add`).
    Add,
    /// Replace it (`ip route replace`).
    Replace,
}

fn family(ipv4: bool) -> u8 {
    if ipv4 { AF_INET } else { AF_INET6 }
}

fn addr_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `table` for the one-byte field: tables above 255 are given only in `RTA_TABLE`.
fn table_byte(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
fn rtmsg(
    ipv4: bool,
    dst_len: u8,
    table: u32,
    protocol: u8,
    scope: u8,
    kind: u8,
    flags: u32,
) -> [u8; RTMSG_LEN] {
    let mut m = [0u8; RTMSG_LEN];
    m[0] = family(ipv4);
    m[1] = dst_len;
    m[4] = table_byte(table);
    m[5] = protocol;
    m[6] = scope;
    m[7] = kind;
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m
}

/// An `RTM_NEWROUTE` request for `route` (the caller has checked [`Route::problem`]).
pub(crate) fn new_route(route: &Route, write: Write, seq: u32) -> Vec<u8> {
    let how = match write {
        Write::Add => NLM_F_CREATE | NLM_F_EXCL,
        Write::Replace => NLM_F_CREATE | NLM_F_REPLACE,
    };
    let mut b = MessageBuilder::new(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | how, seq);
    let ipv4 = route.dst.is_ipv4();
    let (kind, scope, flags, hops) = match &route.target {
        Target::Blackhole => (RTN_BLACKHOLE, RT_SCOPE_UNIVERSE, 0, &[][..]),
        Target::Other(t) => (*t, RT_SCOPE_UNIVERSE, 0, &[][..]),
        Target::NextHops(hops) => {
            let scope = if hops.iter().all(|h| h.gateway.is_none()) {
                RT_SCOPE_LINK
            } else {
                RT_SCOPE_UNIVERSE
            };
            let flags = match &hops[..] {
                [h] if h.onlink => u32::from(RTNH_F_ONLINK),
                _ => 0,
            };
            (RTN_UNICAST, scope, flags, &hops[..])
        }
    };
    b.bytes(&rtmsg(
        ipv4,
        route.dst.len(),
        route.table,
        route.protocol,
        scope,
        kind,
        flags,
    ));
    b.attr(RTA_DST, &addr_bytes(route.dst.addr()));
    b.attr_u32(RTA_TABLE, route.table);
    if let Some(m) = route.metric {
        b.attr_u32(RTA_PRIORITY, m);
    }
    match hops {
        [] => {}
        [h] => {
            if let Some(g) = h.gateway {
                b.attr(RTA_GATEWAY, &addr_bytes(g));
            }
            if let Some(i) = h.ifindex {
                b.attr_u32(RTA_OIF, i);
            }
        }
        _ => {
            let mp = b.begin_attr(RTA_MULTIPATH);
            for h in hops {
                next_hop(&mut b, h);
            }
            b.end_attr(mp);
        }
    }
    b.finish()
}

/// One `rtnexthop` of `RTA_MULTIPATH`, with its gateway attribute.
fn next_hop(b: &mut MessageBuilder, h: &NextHop) {
    let flags = if h.onlink { RTNH_F_ONLINK } else { 0 };
    let ifindex = h.ifindex.unwrap_or(0);
    let start = b.raw(&0u16.to_ne_bytes());
    b.raw(&[flags, 0]);
    b.raw(&ifindex.to_ne_bytes());
    if let Some(g) = h.gateway {
        b.attr(RTA_GATEWAY, &addr_bytes(g));
    }
    let len = b.len() - start;
    b.set_u16(start, len);
}

/// An `RTM_DELROUTE` request for the route to `route.dst` in its table with its protocol (and
/// metric, when set). Its next hops are not compared: an ECMP route goes whole.
pub(crate) fn del_route(route: &Route, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
    let ipv4 = route.dst.is_ipv4();
    b.bytes(&rtmsg(
        ipv4,
        route.dst.len(),
        route.table,
        route.protocol,
        RT_SCOPE_NOWHERE,
        RTN_UNSPEC,
        0,
    ));
    b.attr(RTA_DST, &addr_bytes(route.dst.addr()));
    b.attr_u32(RTA_TABLE, route.table);
    if let Some(m) = route.metric {
        b.attr_u32(RTA_PRIORITY, m);
    }
    b.finish()
}

/// An `RTM_GETROUTE` dump request for one family (`None`: both).
pub(crate) fn dump_routes(ipv4: Option<bool>, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
    let mut m = [0u8; RTMSG_LEN];
    m[0] = ipv4.map_or(AF_UNSPEC, family);
    b.bytes(&m);
    b.finish()
}

fn addr(ipv4: bool, b: &[u8]) -> Result<IpAddr, Malformed> {
    let bad = || Malformed(format!("address of {} bytes", b.len()));
    if ipv4 {
        let o: [u8; 4] = b.try_into().map_err(|_| bad())?;
        Ok(IpAddr::V4(Ipv4Addr::from(o)))
    } else {
        let o: [u8; 16] = b.try_into().map_err(|_| bad())?;
        Ok(IpAddr::V6(Ipv6Addr::from(o)))
    }
}

fn u32_attr(b: &[u8]) -> Result<u32, Malformed> {
    wire::u32_at(b, 0).ok_or_else(|| Malformed(format!("u32 attribute of {} bytes", b.len())))
}

/// The route in an `RTM_NEWROUTE` message's payload; `None` for what is not a route of ours to
/// consider: another address family, or a cache clone.
pub(crate) fn parse_route(payload: &[u8]) -> Result<Option<Route>, Malformed> {
    let Some(h) = payload.get(..RTMSG_LEN) else {
        return Err(Malformed(format!("rtmsg of {} bytes", payload.len())));
    };
    let ipv4 = match h[0] {
        AF_INET => true,
        AF_INET6 => false,
        _ => return Ok(None),
    };
    let flags = wire::u32_at(h, 8).unwrap_or(0);
    if flags & RTM_F_CLONED != 0 {
        return Ok(None);
    }
    let (dst_len, kind) = (h[1], h[7]);
    let mut table = u32::from(h[4]);
    let mut dst = None;
    let mut metric = None;
    let mut single = NextHop {
        gateway: None,
        ifindex: None,
        onlink: u32::from(RTNH_F_ONLINK) & flags != 0,
    };
    let mut multipath = None;
    for a in wire::attrs(&payload[RTMSG_LEN..]) {
        let (t, v) = a?;
        match t {
            RTA_DST => dst = Some(addr(ipv4, v)?),
            RTA_TABLE => table = u32_attr(v)?,
            RTA_PRIORITY => metric = Some(u32_attr(v)?),
            RTA_GATEWAY => single.gateway = Some(addr(ipv4, v)?),
            RTA_OIF => single.ifindex = Some(u32_attr(v)?),
            RTA_MULTIPATH => multipath = Some(parse_multipath(ipv4, v)?),
            _ => {}
        }
    }
    let unspecified = if ipv4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    let dst =
        Cidr::new(dst.unwrap_or(unspecified), dst_len).map_err(|e| Malformed(e.to_string()))?;
    let target = match kind {
        RTN_BLACKHOLE => Target::Blackhole,
        RTN_UNICAST => match multipath {
            Some(hops) => Target::NextHops(hops),
            None if single.gateway.is_some() || single.ifindex.is_some() => {
                Target::NextHops(vec![single])
            }
            None => Target::NextHops(Vec::new()),
        },
        other => Target::Other(other),
    };
    Ok(Some(Route {
        dst,
        target,
        table,
        protocol: h[5],
        metric,
    }))
}

fn parse_multipath(ipv4: bool, mut b: &[u8]) -> Result<Vec<NextHop>, Malformed> {
    let mut hops = Vec::new();
    while b.len() >= RTNH_LEN {
        let len = usize::from(wire::u16_at(b, 0).unwrap_or(0));
        if len < RTNH_LEN || len > b.len() {
            return Err(Malformed(format!(
                "rtnexthop of length {len} with {} bytes left",
                b.len()
            )));
        }
        let ifindex = wire::u32_at(b, 4).unwrap_or(0);
        let mut hop = NextHop {
            gateway: None,
            ifindex: (ifindex != 0).then_some(ifindex),
            onlink: b[2] & RTNH_F_ONLINK != 0,
        };
        for a in wire::attrs(&b[RTNH_LEN..len]) {
            let (t, v) = a?;
            if t == RTA_GATEWAY {
                hop.gateway = Some(addr(ipv4, v)?);
            }
        }
        hops.push(hop);
        b = &b[wire::align(len).min(b.len())..];
    }
    Ok(hops)
}

#[cfg(test)]
#[path = "route_msg_tests.rs"]
mod tests;
