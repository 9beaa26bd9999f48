//! rtnetlink link messages: `RTM_GETLINK` for one interface by name, and its index read back
//! from the `RTM_NEWLINK` reply. No I/O here.

use crate::wire::{self, Malformed, MessageBuilder, NLM_F_REQUEST};

pub(crate) const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
/// `ifinfomsg`: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;

/// Longest interface name the kernel accepts (`IFNAMSIZ` less the NUL).
pub(crate) const MAX_NAME_LEN: usize = 15;

/// An `RTM_GETLINK` request for the interface called `name`.
pub(crate) fn get_link(name: &str, seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(RTM_GETLINK, NLM_F_REQUEST, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    b.attr(IFLA_IFNAME, &n);
    b.finish()
}

/// The interface index in an `RTM_NEWLINK` message's payload.
pub(crate) fn parse_index(payload: &[u8]) -> Result<u32, Malformed> {
    let index = wire::i32_at(payload, 4)
        .ok_or_else(|| Malformed(format!("ifinfomsg of {} bytes", payload.len())))?;
    u32::try_from(index).map_err(|_| Malformed(format!("interface index {index}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages;

    #[test]
    fn request_names_the_interface() {
        let bytes = get_link("eth0", 9);
        let m = messages(&bytes).next().expect("one").expect("valid");
        assert_eq!((m.kind, m.seq), (RTM_GETLINK, 9));
        let attrs: Vec<_> = wire::attrs(&m.payload[IFINFOMSG_LEN..])
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(attrs, vec![(IFLA_IFNAME, &b"eth0\0"[..])]);
    }

    #[test]
    fn index_is_read_from_the_reply() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        payload[4..8].copy_from_slice(&42i32.to_ne_bytes());
        assert_eq!(parse_index(&payload), Ok(42));
        assert!(parse_index(&payload[..6]).is_err());
        payload[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert!(parse_index(&payload).is_err());
    }
}
