//! NLRI encoding (RFC 4271 §4.3 "Network Layer Reachability Information", RFC 4760 §5 for
//! MP-BGP, RFC 7911 §3 for the ADD-PATH Path Identifier).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::cursor::Reader;
use crate::model::{Family, Nlri, Prefix};

/// Why an NLRI list could not be parsed (RFC 7606 §5.3: "either the length of the prefix is
/// greater than the max for the family or the field parsing ends up in an overrun").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NlriError {
    /// A prefix length beyond 32 / 128.
    PrefixTooLong(u8),
    /// The list ends inside an entry.
    Overrun,
}

impl NlriError {
    pub(crate) fn describe(self, what: &str) -> String {
        match self {
            NlriError::PrefixTooLong(l) => format!("{what}: prefix length {l} is too long"),
            NlriError::Overrun => format!("{what}: an entry overruns the field"),
        }
    }
}

/// Parses a list of NLRI of `family` and appends them to `out`. With `add_path`, each entry
/// starts with a 4-octet Path Identifier (RFC 7911 §3).
///
/// RFC 4271 §4.3: "a) Length: ... the length in bits of the IP address prefix ... b) Prefix:
/// ... followed by enough trailing bits to make the end of the field fall on an octet boundary.
/// Note that the value of trailing bits is irrelevant." Host bits are cleared.
pub(crate) fn decode_nlri(
    bytes: &[u8],
    family: Family,
    add_path: bool,
    out: &mut Vec<(Family, Nlri)>,
) -> Result<(), NlriError> {
    let mut r = Reader::new(bytes);
    let max_len: u8 = if family.is_ipv4() { 32 } else { 128 };
    // The smallest entry is one octet (a /0), five with a path identifier.
    out.reserve(bytes.len() / if add_path { 9 } else { 4 });
    while !r.is_empty() {
        let path_id = if add_path {
            r.u32().map_err(|_| NlriError::Overrun)?
        } else {
            0
        };
        let len = r.u8().map_err(|_| NlriError::Overrun)?;
        if len > max_len {
            return Err(NlriError::PrefixTooLong(len));
        }
        let octets = r
            .take(usize::from(len).div_ceil(8))
            .map_err(|_| NlriError::Overrun)?;
        let addr = if family.is_ipv4() {
            let mut a = [0u8; 4];
            copy_prefix(&mut a, octets);
            IpAddr::V4(Ipv4Addr::from(a))
        } else {
            let mut a = [0u8; 16];
            copy_prefix(&mut a, octets);
            IpAddr::V6(Ipv6Addr::from(a))
        };
        let prefix = Prefix::new(addr, len).map_err(|_| NlriError::PrefixTooLong(len))?;
        out.push((family, Nlri { prefix, path_id }));
    }
    Ok(())
}

fn copy_prefix(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Octets one NLRI takes on the wire.
pub(crate) fn nlri_len(nlri: &Nlri, add_path: bool) -> usize {
    let base = 1 + usize::from(nlri.prefix.len()).div_ceil(8);
    if add_path { base + 4 } else { base }
}

/// Appends one NLRI (with its Path Identifier when `add_path`).
pub(crate) fn encode_nlri(nlri: &Nlri, add_path: bool, out: &mut Vec<u8>) {
    if add_path {
        out.extend_from_slice(&nlri.path_id.to_be_bytes());
    }
    let len = nlri.prefix.len();
    out.push(len);
    let n = usize::from(len).div_ceil(8);
    match nlri.prefix.addr() {
        IpAddr::V4(a) => out.extend(a.octets().into_iter().take(n)),
        IpAddr::V6(a) => out.extend(a.octets().into_iter().take(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlri(s: &str, path_id: u32) -> Nlri {
        Nlri {
            prefix: s.parse().expect("prefix"),
            path_id,
        }
    }

    #[test]
    fn ipv4_round_trip_and_lengths() {
        let list = [
            nlri("0.0.0.0/0", 0),
            nlri("10.0.0.0/8", 0),
            nlri("10.1.2.3/32", 0),
        ];
        let mut out = Vec::new();
        for n in &list {
            encode_nlri(n, false, &mut out);
        }
        assert_eq!(out, [0, 8, 10, 32, 10, 1, 2, 3]);
        assert_eq!(
            list.iter().map(|n| nlri_len(n, false)).sum::<usize>(),
            out.len()
        );
        let mut back = Vec::new();
        decode_nlri(&out, Family::Ipv4Unicast, false, &mut back).expect("valid");
        assert_eq!(back.iter().map(|(_, n)| *n).collect::<Vec<_>>(), list);
    }

    #[test]
    fn ipv6_with_path_ids() {
        let list = [nlri("fd00:1::/48", 7), nlri("::/0", 1)];
        let mut out = Vec::new();
        for n in &list {
            encode_nlri(n, true, &mut out);
        }
        assert_eq!(out.len(), 4 + 1 + 6 + 4 + 1);
        let mut back = Vec::new();
        decode_nlri(&out, Family::Ipv6Unicast, true, &mut back).expect("valid");
        assert_eq!(back.iter().map(|(_, n)| *n).collect::<Vec<_>>(), list);
        assert!(back.iter().all(|(f, _)| *f == Family::Ipv6Unicast));
    }

    #[test]
    fn trailing_bits_are_cleared() {
        let mut back = Vec::new();
        decode_nlri(&[20, 10, 1, 0xff], Family::Ipv4Unicast, false, &mut back).expect("valid");
        assert_eq!(back[0].1.prefix.to_string(), "10.1.240.0/20");
    }

    #[test]
    fn errors() {
        let mut v = Vec::new();
        assert_eq!(
            decode_nlri(&[33, 1, 2, 3, 4, 5], Family::Ipv4Unicast, false, &mut v),
            Err(NlriError::PrefixTooLong(33))
        );
        assert_eq!(
            decode_nlri(&[129], Family::Ipv6Unicast, false, &mut v),
            Err(NlriError::PrefixTooLong(129))
        );
        assert_eq!(
            decode_nlri(&[24, 10, 0], Family::Ipv4Unicast, false, &mut v),
            Err(NlriError::Overrun)
        );
        assert_eq!(
            decode_nlri(&[0, 0, 1], Family::Ipv4Unicast, true, &mut v),
            Err(NlriError::Overrun)
        );
    }
}
