//! Byte-building helpers shared by the `wire_*` tests, so each test case reads like the packet.

#![allow(dead_code)]

use brindle_bgp::model::{Family, Nlri};

/// A whole message: marker, length, `kind`, `body`.
pub fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(19 + body.len()).expect("short message");
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

/// A header with an arbitrary length field and marker byte, followed by `body`.
pub fn raw(marker: u8, len: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![marker; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

/// An UPDATE with these three fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).expect("short").to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attrs.len()).expect("short").to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    msg(2, &b)
}

/// A path attribute (extended length when the value needs it).
pub fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    if value.len() > 255 {
        v.extend_from_slice(&[flags | 0x10, code]);
        v.extend_from_slice(&u16::try_from(value.len()).expect("short").to_be_bytes());
    } else {
        v.extend_from_slice(&[flags, code, u8::try_from(value.len()).expect("short")]);
    }
    v.extend_from_slice(value);
    v
}

/// ORIGIN with value `v`.
pub fn origin(v: u8) -> Vec<u8> {
    attr(0x40, 1, &[v])
}

/// AS_PATH of one AS_SEQUENCE of two-octet ASNs.
pub fn as_path2(asns: &[u16]) -> Vec<u8> {
    let mut v = vec![2, u8::try_from(asns.len()).expect("short")];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(0x40, 2, &v)
}

/// AS_PATH of one AS_SEQUENCE of four-octet ASNs.
pub fn as_path4(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, u8::try_from(asns.len()).expect("short")];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(0x40, 2, &v)
}

/// NEXT_HOP.
pub fn next_hop(a: [u8; 4]) -> Vec<u8> {
    attr(0x40, 3, &a)
}

/// ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1 (two-octet session).
pub fn base() -> Vec<u8> {
    [origin(0), as_path2(&[65001]), next_hop([192, 0, 2, 1])].concat()
}

/// MP_REACH_NLRI for IPv6 unicast with a 16-octet next hop.
pub fn mp_reach_v6(nh: [u8; 16], nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, 16];
    v.extend_from_slice(&nh);
    v.push(0);
    v.extend_from_slice(nlri);
    attr(0x80, 14, &v)
}

/// MP_UNREACH_NLRI for IPv6 unicast.
pub fn mp_unreach_v6(nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1];
    v.extend_from_slice(nlri);
    attr(0x80, 15, &v)
}

/// 2001:db8::1.
pub const V6_NH: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// An OPEN body.
pub fn open_body(version: u8, my_as: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(u8::try_from(params.len()).expect("short"));
    b.extend_from_slice(params);
    b
}

/// `(family, nlri)` for a prefix in text.
pub fn pfx(s: &str) -> (Family, Nlri) {
    let prefix: brindle_bgp::model::Prefix = s.parse().expect("prefix");
    (prefix.family(), Nlri::new(prefix))
}
