//! Netlink framing (netlink(7)): message headers and attributes, built into and read from byte
//! buffers in host byte order. No I/O here.

/// `nlmsghdr`: length, type, flags, sequence number, port id.
pub(crate) const HEADER_LEN: usize = 16;
/// `nlattr`: length, type.
const ATTR_HEADER_LEN: usize = 4;

#[cfg(test)]
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
pub(crate) const NLM_F_REPLACE: u16 = 0x100;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_DUMP: u16 = 0x300;

/// Attribute types carry two flag bits (nested, network byte order) above the type proper.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Rounds up to netlink's 4-byte alignment.
pub(crate) fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink message: header, fixed family header, attributes.
pub(crate) struct MessageBuilder {
    buf: Vec<u8>,
}

impl MessageBuilder {
    /// A message of `kind` with `flags` and sequence number `seq`; its length is set by
    /// [`MessageBuilder::finish`].
    pub(crate) fn new(kind: u16, flags: u16, seq: u32) -> MessageBuilder {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        MessageBuilder { buf }
    }

    /// Appends raw bytes (a family header such as `rtmsg`), padded to alignment.
    pub(crate) fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn pad(&mut self) {
        self.buf.resize(align(self.buf.len()), 0);
    }

    /// Appends an attribute.
    pub(crate) fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let start = self.begin_attr(kind);
        self.buf.extend_from_slice(data);
        self.end_attr(start);
        self
    }

    /// Appends a `u32` attribute.
    pub(crate) fn attr_u32(&mut self, kind: u16, value: u32) -> &mut Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Opens an attribute whose payload the caller appends; returns its offset for
    /// [`MessageBuilder::end_attr`].
    pub(crate) fn begin_attr(&mut self, kind: u16) -> usize {
        self.pad();
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        start
    }

    /// Closes the attribute opened at `start`: writes its length (without padding).
    pub(crate) fn end_attr(&mut self, start: usize) {
        self.set_u16(start, self.buf.len() - start);
        self.pad();
    }

    /// Appends unpadded bytes inside an open attribute.
    pub(crate) fn raw(&mut self, data: &[u8]) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(data);
        at
    }

    /// Current length of the message so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Overwrites the `u16` at `at` with `value` (lengths of nested structures).
    pub(crate) fn set_u16(&mut self, at: usize, value: usize) {
        let v = u16::try_from(value).unwrap_or(u16::MAX);
        self.buf[at..at + 2].copy_from_slice(&v.to_ne_bytes());
    }

    /// The finished message, with its length in the header.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A received message, borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// What follows the header, up to the message's length.
    pub payload: &'a [u8],
}

/// Bytes that are not valid netlink: what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The messages of one datagram, in order.
pub(crate) fn messages(mut buf: &[u8]) -> impl Iterator<Item = Result<Message<'_>, Malformed>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        let parsed = (|| {
            let len = u32_at(buf, 0).ok_or_else(|| short("message header", buf.len()))? as usize;
            if len < HEADER_LEN || len > buf.len() {
                return Err(Malformed(format!(
                    "message length {len} with {} bytes left",
                    buf.len()
                )));
            }
            let m = Message {
                kind: u16_at(buf, 4).unwrap_or(0),
                flags: u16_at(buf, 6).unwrap_or(0),
                seq: u32_at(buf, 8).unwrap_or(0),
                payload: &buf[HEADER_LEN..len],
            };
            Ok((m, align(len).min(buf.len())))
        })();
        match parsed {
            Ok((m, next)) => {
                buf = &buf[next..];
                Some(Ok(m))
            }
            Err(e) => {
                buf = &[];
                Some(Err(e))
            }
        }
    })
}

fn short(what: &str, have: usize) -> Malformed {
    Malformed(format!("{what} truncated ({have} bytes)"))
}

/// The attributes in `buf` as (type without flag bits, payload).
pub(crate) fn attrs(mut buf: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), Malformed>> {
    std::iter::from_fn(move || {
        if buf.len() < ATTR_HEADER_LEN {
            // Trailing padding shorter than a header is not an attribute.
            return None;
        }
        let len = usize::from(u16_at(buf, 0).unwrap_or(0));
        let kind = u16_at(buf, 2).unwrap_or(0) & NLA_TYPE_MASK;
        if len < ATTR_HEADER_LEN || len > buf.len() {
            let e = Malformed(format!(
                "attribute {kind} of length {len} with {} bytes left",
                buf.len()
            ));
            buf = &[];
            return Some(Err(e));
        }
        let payload = &buf[ATTR_HEADER_LEN..len];
        buf = &buf[align(len).min(buf.len())..];
        Some(Ok((kind, payload)))
    })
}

/// `NLMSG_ERROR`'s payload (`nlmsgerr`): 0 for an acknowledgement, else a negative errno.
pub(crate) fn error_code(payload: &[u8]) -> Result<i32, Malformed> {
    i32_at(payload, 0).ok_or_else(|| short("error message", payload.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_message_reads_back() {
        let mut b = MessageBuilder::new(24, NLM_F_REQUEST | NLM_F_ACK, 7);
        b.bytes(&[1, 2, 3]);
        b.attr(1, &[10, 0, 0]);
        b.attr_u32(15, 254);
        let bytes = b.finish();
        assert_eq!(bytes.len() % 4, 0);
        let msgs: Vec<_> = messages(&bytes).collect::<Result<_, _>>().expect("valid");
        assert_eq!(msgs.len(), 1);
        let m = msgs[0];
        assert_eq!((m.kind, m.flags, m.seq), (24, 5, 7));
        assert_eq!(&m.payload[..4], &[1, 2, 3, 0]);
        let a: Vec<_> = attrs(&m.payload[4..])
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(
            a,
            vec![(1, &[10u8, 0, 0][..]), (15, &254u32.to_ne_bytes()[..])]
        );
    }

    #[test]
    fn several_messages_in_one_datagram() {
        let mut bytes = MessageBuilder::new(NLMSG_NOOP, 0, 1).finish();
        bytes.extend(MessageBuilder::new(NLMSG_DONE, 2, 2).finish());
        let kinds: Vec<_> = messages(&bytes)
            .map(|m| m.map(|m| (m.kind, m.seq)))
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(kinds, vec![(NLMSG_NOOP, 1), (NLMSG_DONE, 2)]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut bytes = MessageBuilder::new(NLMSG_DONE, 0, 1).finish();
        bytes[0] = 200;
        assert!(messages(&bytes).any(|m| m.is_err()));
        assert!(messages(&[1, 2, 3]).any(|m| m.is_err()));
        assert!(attrs(&[2, 0, 1, 0]).any(|a| a.is_err()));
        assert!(attrs(&[200, 0, 1, 0, 0, 0, 0, 0]).any(|a| a.is_err()));
        assert_eq!(attrs(&[0, 0]).count(), 0);
        assert!(error_code(&[0, 0]).is_err());
        assert_eq!(error_code(&(-101i32).to_ne_bytes()), Ok(-101));
    }
}
