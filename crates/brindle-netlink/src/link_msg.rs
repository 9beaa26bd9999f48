//! rtnetlink link messages (rtnetlink(7)): `RTM_NEWLINK` for a veth pair, `RTM_SETLINK`,
//! `RTM_DELLINK`, `RTM_GETLINK` by name or index, and [`Link`]s read back from `RTM_NEWLINK`
//! answers. No I/O here.

use crate::link::{IFF_UP, Link, LinkChange, MacAddr, Veth};
use crate::wire::{
    self, Malformed, MessageBuilder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};

pub(crate) const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

/// `ifinfomsg`: family, pad, type, index, flags, change.
pub(crate) const IFINFOMSG_LEN: usize = 16;

/// Longest interface name the kernel accepts (`IFNAMSIZ` less the NUL).
pub(crate) const MAX_NAME_LEN: usize = 15;

/// Why `name` cannot be an interface name, if it cannot.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Some(format!(
            "interface name {name:?}: an interface name has 1 to {MAX_NAME_LEN} bytes"
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':', '\0'])
        || name.contains(char::is_whitespace)
    {
        return Some(format!(
            "interface name {name:?} is not allowed by the kernel"
        ));
    }
    None
}

fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut m = [0u8; IFINFOMSG_LEN];
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&change.to_ne_bytes());
    m
}

fn name_attr(b: &mut MessageBuilder, name: &str) {
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    b.attr(IFLA_IFNAME, &n);
}

/// An `RTM_GETLINK` request for the interface called `name`.
pub(crate) fn get_link(name: &str, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETLINK, NLM_F_REQUEST, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    name_attr(&mut b, name);
    b.finish()
}

/// An `RTM_GETLINK` request for the interface numbered `index`.
pub(crate) fn get_link_by_index(index: u32, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETLINK, NLM_F_REQUEST, seq);
    b.bytes(&ifinfomsg(index, 0, 0));
    b.finish()
}

/// An `RTM_GETLINK` dump request (every interface).
pub(crate) fn dump_links(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    b.finish()
}

/// An `RTM_NEWLINK` request creating `veth`; `peer_ns_fd` is the open namespace file the peer
/// goes to (the caller keeps it open until the answer).
pub(crate) fn new_veth(veth: &Veth, peer_ns_fd: Option<u32>, seq: u32) -> Vec<u8> {
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut b = MessageBuilder::new(RTM_NEWLINK, flags, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    name_attr(&mut b, &veth.name);
    if let Some(mtu) = veth.mtu {
        b.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(mac) = veth.mac {
        b.attr(IFLA_ADDRESS, &mac.0);
    }
    let info = b.begin_attr(IFLA_LINKINFO);
    b.attr(IFLA_INFO_KIND, b"veth");
    let data = b.begin_attr(IFLA_INFO_DATA);
    let peer = b.begin_attr(VETH_INFO_PEER);
    b.raw(&[0u8; IFINFOMSG_LEN]);
    name_attr(&mut b, &veth.peer_name);
    if let Some(mtu) = veth.mtu {
        b.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(mac) = veth.peer_mac {
        b.attr(IFLA_ADDRESS, &mac.0);
    }
    if let Some(fd) = peer_ns_fd {
        b.attr_u32(IFLA_NET_NS_FD, fd);
    }
    b.end_attr(peer);
    b.end_attr(data);
    b.end_attr(info);
    b.finish()
}

/// An `RTM_SETLINK` request applying `change` to the interface `index`.
pub(crate) fn set_link(index: u32, change: &LinkChange, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    let (flags, mask) = match change.up {
        Some(true) => (IFF_UP, IFF_UP),
        Some(false) => (0, IFF_UP),
        None => (0, 0),
    };
    b.bytes(&ifinfomsg(index, flags, mask));
    if let Some(mtu) = change.mtu {
        b.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(mac) = change.mac {
        b.attr(IFLA_ADDRESS, &mac.0);
    }
    b.finish()
}

/// An `RTM_DELLINK` request for the interface `index`.
pub(crate) fn del_link(index: u32, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    b.bytes(&ifinfomsg(index, 0, 0));
    b.finish()
}

fn u32_attr(v: &[u8]) -> Result<u32, Malformed> {
    wire::u32_at(v, 0).ok_or_else(|| Malformed(format!("u32 attribute of {} bytes", v.len())))
}

fn string_attr(v: &[u8]) -> String {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// The interface in an `RTM_NEWLINK` message's payload.
pub(crate) fn parse_link(payload: &[u8]) -> Result<Link, Malformed> {
    let short = || Malformed(format!("ifinfomsg of {} bytes", payload.len()));
    let index = wire::i32_at(payload, 4).ok_or_else(short)?;
    let index = u32::try_from(index).map_err(|_| Malformed(format!("interface index {index}")))?;
    let flags = wire::u32_at(payload, 8).ok_or_else(short)?;
    let mut link = Link {
        index,
        name: String::new(),
        mac: None,
        mtu: 0,
        flags,
        kind: None,
        link: None,
    };
    for a in wire::attrs(payload.get(IFINFOMSG_LEN..).ok_or_else(short)?) {
        let (t, v) = a?;
        match t {
            IFLA_IFNAME => link.name = string_attr(v),
            IFLA_MTU => link.mtu = u32_attr(v)?,
            IFLA_LINK => link.link = Some(u32_attr(v)?),
            IFLA_ADDRESS => link.mac = <[u8; 6]>::try_from(v).ok().map(MacAddr),
            IFLA_LINKINFO => {
                for i in wire::attrs(v) {
                    let (t, v) = i?;
                    if t == IFLA_INFO_KIND {
                        link.kind = Some(string_attr(v));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages;

    fn only(bytes: &[u8]) -> wire::Message<'_> {
        let all: Vec<_> = messages(bytes).collect::<Result<_, _>>().expect("valid");
        assert_eq!(all.len(), 1);
        all[0]
    }

    fn attrs_of(b: &[u8]) -> Vec<(u16, &[u8])> {
        wire::attrs(b).collect::<Result<_, _>>().expect("valid")
    }

    #[test]
    fn request_names_the_interface() {
        let bytes = get_link("eth0", 9);
        let m = only(&bytes);
        assert_eq!((m.kind, m.seq), (RTM_GETLINK, 9));
        assert_eq!(
            attrs_of(&m.payload[IFINFOMSG_LEN..]),
            vec![(IFLA_IFNAME, &b"eth0\0"[..])]
        );
        let bytes = get_link_by_index(7, 1);
        let m = only(&bytes);
        assert_eq!(wire::u32_at(m.payload, 4), Some(7));
        assert_eq!(m.payload.len(), IFINFOMSG_LEN);
    }

    #[test]
    fn veth_request_nests_the_peer_with_its_namespace() {
        let veth = Veth::new("cali0123456789a", "eth0")
            .with_mac(MacAddr([0xee; 6]))
            .with_mtu(1440);
        let bytes = new_veth(&veth, Some(5), 3);
        let m = only(&bytes);
        assert_eq!(m.kind, RTM_NEWLINK);
        assert_eq!(
            m.flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        let top = attrs_of(&m.payload[IFINFOMSG_LEN..]);
        assert_eq!(top[0], (IFLA_IFNAME, &b"cali0123456789a\0"[..]));
        assert_eq!(top[1], (IFLA_MTU, &1440u32.to_ne_bytes()[..]));
        assert_eq!(top[2], (IFLA_ADDRESS, &[0xee; 6][..]));
        assert_eq!(top[3].0, IFLA_LINKINFO);
        let info = attrs_of(top[3].1);
        assert_eq!(info[0], (IFLA_INFO_KIND, &b"veth"[..]));
        let data = attrs_of(info[1].1);
        assert_eq!(data[0].0, VETH_INFO_PEER);
        let peer = attrs_of(&data[0].1[IFINFOMSG_LEN..]);
        assert_eq!(
            peer,
            vec![
                (IFLA_IFNAME, &b"eth0\0"[..]),
                (IFLA_MTU, &1440u32.to_ne_bytes()[..]),
                (IFLA_NET_NS_FD, &5u32.to_ne_bytes()[..]),
            ]
        );
    }

    #[test]
    fn set_link_changes_only_what_is_asked() {
        let bytes = set_link(4, &LinkChange::up(true), 1);
        let m = only(&bytes);
        assert_eq!(m.kind, RTM_SETLINK);
        assert_eq!(wire::u32_at(m.payload, 4), Some(4));
        assert_eq!(wire::u32_at(m.payload, 8), Some(IFF_UP));
        assert_eq!(wire::u32_at(m.payload, 12), Some(IFF_UP));
        assert!(attrs_of(&m.payload[IFINFOMSG_LEN..]).is_empty());
        let change = LinkChange {
            up: Some(false),
            mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            mtu: Some(9000),
        };
        let bytes = set_link(4, &change, 1);
        let m = only(&bytes);
        assert_eq!(wire::u32_at(m.payload, 8), Some(0));
        assert_eq!(wire::u32_at(m.payload, 12), Some(IFF_UP));
        assert_eq!(
            attrs_of(&m.payload[IFINFOMSG_LEN..]),
            vec![
                (IFLA_MTU, &9000u32.to_ne_bytes()[..]),
                (IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1][..])
            ]
        );
        let bytes = del_link(9, 2);
        let m = only(&bytes);
        assert_eq!((m.kind, wire::u32_at(m.payload, 4)), (RTM_DELLINK, Some(9)));
    }

    #[test]
    fn link_is_read_from_the_reply() {
        // A reply is laid out as a request: build one and read it as the kernel's answer.
        let mut b = MessageBuilder::new(RTM_NEWLINK, 0, 1);
        b.bytes(&ifinfomsg(42, IFF_UP | 0x1_0000, 0));
        name_attr(&mut b, "cali1");
        b.attr_u32(IFLA_MTU, 1500);
        b.attr(IFLA_ADDRESS, &[0xee; 6]);
        b.attr_u32(IFLA_LINK, 3);
        let info = b.begin_attr(IFLA_LINKINFO);
        b.attr(IFLA_INFO_KIND, b"veth");
        b.end_attr(info);
        let bytes = b.finish();
        let link = parse_link(only(&bytes).payload).expect("valid");
        assert_eq!(
            link,
            Link {
                index: 42,
                name: "cali1".into(),
                mac: Some(MacAddr([0xee; 6])),
                mtu: 1500,
                flags: IFF_UP | 0x1_0000,
                kind: Some("veth".into()),
                link: Some(3),
            }
        );
        assert!(link.is_up());
        assert!(parse_link(&[0u8; 6]).is_err());
        let mut neg = [0u8; IFINFOMSG_LEN];
        neg[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert!(parse_link(&neg).is_err());
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(name_problem("eth0"), None);
        for bad in ["", "0123456789abcdef", "a/b", "a b", "..", "a:b"] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }
}
