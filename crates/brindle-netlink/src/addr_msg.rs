//! rtnetlink address messages: `RTM_NEWADDR`/`RTM_DELADDR` requests built from an
//! [`Address`], `RTM_GETADDR` dumps, and addresses read back. No I/O here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::addr::Address;
use crate::wire::{
    self, Malformed, MessageBuilder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};

pub(crate) const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `ifaddrmsg`: family, prefixlen, flags (8 bits), scope, index.
const IFADDRMSG_LEN: usize = 8;

fn ifaddrmsg(a: &Address) -> [u8; IFADDRMSG_LEN] {
    let mut m = [0u8; IFADDRMSG_LEN];
    m[0] = if a.addr.is_ipv4() { AF_INET } else { AF_INET6 };
    m[1] = a.prefix_len;
    m[2] = (a.flags & 0xff) as u8;
    m[3] = a.scope;
    m[4..8].copy_from_slice(&a.ifindex.to_ne_bytes());
    m
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn request(kind: u16, flags: u16, a: &Address, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(kind, flags, seq);
    b.bytes(&ifaddrmsg(a));
    // IPv4 wants the local address in IFA_LOCAL (IFA_ADDRESS is the peer of a point-to-point
    // link, the same address otherwise); IPv6 takes IFA_ADDRESS.
    if a.addr.is_ipv4() {
        b.attr(IFA_LOCAL, &octets(a.addr));
    }
    b.attr(IFA_ADDRESS, &octets(a.addr));
    if a.flags > 0xff {
        b.attr_u32(IFA_FLAGS, a.flags);
    }
    b.finish()
}

/// An `RTM_NEWADDR` request adding `a` (fails if it is there already).
pub(crate) fn new_addr(a: &Address, seq: u32) -> Vec<u8> {
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    request(RTM_NEWADDR, flags, a, seq)
}

/// An `RTM_DELADDR` request deleting `a`.
pub(crate) fn del_addr(a: &Address, seq: u32) -> Vec<u8> {
    request(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, a, seq)
}

/// An `RTM_GETADDR` dump request (both families).
pub(crate) fn dump_addrs(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    let mut m = [0u8; IFADDRMSG_LEN];
    m[0] = AF_UNSPEC;
    b.bytes(&m);
    b.finish()
}

/// The address in an `RTM_NEWADDR` message's payload; `None` for another family.
pub(crate) fn parse_addr(payload: &[u8]) -> Result<Option<Address>, Malformed> {
    let Some(h) = payload.get(..IFADDRMSG_LEN) else {
        return Err(Malformed(format!("ifaddrmsg of {} bytes", payload.len())));
    };
    let ipv4 = match h[0] {
        AF_INET => true,
        AF_INET6 => false,
        _ => return Ok(None),
    };
    let mut flags = u32::from(h[2]);
    let (mut local, mut address) = (None, None);
    for a in wire::attrs(&payload[IFADDRMSG_LEN..]) {
        let (t, v) = a?;
        let parse = |v: &[u8]| -> Result<IpAddr, Malformed> {
            let bad = || Malformed(format!("address of {} bytes", v.len()));
            Ok(if ipv4 {
                IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(v).map_err(|_| bad())?))
            } else {
                IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).map_err(|_| bad())?))
            })
        };
        match t {
            IFA_LOCAL => local = Some(parse(v)?),
            IFA_ADDRESS => address = Some(parse(v)?),
            IFA_FLAGS => flags = wire::u32_at(v, 0).unwrap_or(flags),
            _ => {}
        }
    }
    let Some(addr) = local.or(address) else {
        return Err(Malformed("address message without an address".into()));
    };
    Ok(Some(Address {
        ifindex: wire::u32_at(h, 4).unwrap_or(0),
        addr,
        prefix_len: h[1],
        scope: h[3],
        flags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{IFA_F_NODAD, IFA_F_PERMANENT, SCOPE_LINK};
    use crate::wire::messages;

    fn only(bytes: &[u8]) -> (u16, u16, Vec<u8>) {
        let all: Vec<_> = messages(bytes).collect::<Result<_, _>>().expect("valid");
        assert_eq!(all.len(), 1);
        (all[0].kind, all[0].flags, all[0].payload.to_vec())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn requests_read_back_as_the_address() {
        for a in [
            Address::host(7, ip("10.244.0.5")),
            Address::new(3, ip("192.0.2.1"), 24),
            Address::host(7, ip("fd00:1::5")).nodad(),
            Address::new(2, ip("fe80::1"), 64).with_scope(SCOPE_LINK),
            Address {
                flags: IFA_F_PERMANENT | 0x200,
                ..Address::host(1, ip("fd00::9"))
            },
        ] {
            let (kind, flags, payload) = only(&new_addr(&a, 1));
            assert_eq!(kind, RTM_NEWADDR);
            assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
            assert_eq!(parse_addr(&payload), Ok(Some(a)), "{a}");
            let (kind, _, payload) = only(&del_addr(&a, 1));
            assert_eq!(kind, RTM_DELADDR);
            assert_eq!(parse_addr(&payload), Ok(Some(a)));
        }
    }

    #[test]
    fn ipv4_carries_the_local_address() {
        let (_, _, p) = only(&new_addr(&Address::host(7, ip("10.0.0.5")), 1));
        assert_eq!(&p[..4], &[AF_INET, 32, 0, 0]);
        let attrs: Vec<_> = wire::attrs(&p[IFADDRMSG_LEN..])
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(
            attrs,
            vec![
                (IFA_LOCAL, &[10u8, 0, 0, 5][..]),
                (IFA_ADDRESS, &[10u8, 0, 0, 5][..])
            ]
        );
        let (_, _, p) = only(&new_addr(&Address::host(7, ip("fd00::5")).nodad(), 1));
        assert_eq!(&p[..4], &[AF_INET6, 128, IFA_F_NODAD as u8, 0]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_addr(&[2, 32]).is_err());
        assert!(parse_addr(&[AF_INET, 32, 0, 0, 1, 0, 0, 0]).is_err());
        assert_eq!(parse_addr(&[17, 32, 0, 0, 1, 0, 0, 0]), Ok(None));
        let mut b = MessageBuilder::new(RTM_NEWADDR, 0, 1);
        b.bytes(&[AF_INET, 32, 0, 0, 1, 0, 0, 0]);
        b.attr(IFA_ADDRESS, &[1, 2, 3]);
        let bytes = b.finish();
        let (_, _, p) = only(&bytes);
        assert!(parse_addr(&p).is_err());
    }
}
