//! A bounds-checked reader over received bytes. Every field the codec takes from the wire goes
//! through [`Reader`], so a short or lying length can only ever produce [`Short`], never a panic.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The input ended before a field it announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Short;

/// A cursor over a byte slice that only moves forward.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(Short)?;
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let (head, tail) = self.buf.split_first_chunk::<N>().ok_or(Short)?;
        self.buf = tail;
        Ok(*head)
    }

    /// One octet.
    pub(crate) fn u8(&mut self) -> Result<u8, Short> {
        let (first, tail) = self.buf.split_first().ok_or(Short)?;
        self.buf = tail;
        Ok(*first)
    }

    /// A big-endian (network order) 16-bit integer.
    pub(crate) fn u16(&mut self) -> Result<u16, Short> {
        self.array().map(u16::from_be_bytes)
    }

    /// A big-endian (network order) 32-bit integer.
    pub(crate) fn u32(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_be_bytes)
    }

    /// An IPv4 address.
    pub(crate) fn ipv4(&mut self) -> Result<Ipv4Addr, Short> {
        self.array::<4>().map(Ipv4Addr::from)
    }

    /// An IPv6 address.
    pub(crate) fn ipv6(&mut self) -> Result<Ipv6Addr, Short> {
        self.array::<16>().map(Ipv6Addr::from)
    }
}

/// Writes `len` as a big-endian u16 at `at` in `out` (a length field reserved earlier). Positions
/// come from the encoder itself, never from input; an impossible position is simply ignored.
pub(crate) fn patch_u16(out: &mut [u8], at: usize, len: u16) {
    if let Some(slot) = out.get_mut(at..at.saturating_add(2)) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_stops_at_the_end() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 10, 0, 0, 1, 9]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.ipv4(), Ok(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.u16(), Err(Short));
        assert_eq!(r.take(2), Err(Short));
        assert_eq!(r.rest(), &[9]);
        assert_eq!(r.take(1), Ok(&[9][..]));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Short));
        assert_eq!(r.ipv6(), Err(Short));
    }

    #[test]
    fn patch_ignores_positions_out_of_range() {
        let mut v = vec![0u8; 3];
        patch_u16(&mut v, 1, 0x0102);
        assert_eq!(v, [0, 1, 2]);
        patch_u16(&mut v, 2, 7);
        patch_u16(&mut v, usize::MAX, 7);
        assert_eq!(v, [0, 1, 2]);
    }
}
