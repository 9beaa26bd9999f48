//! Socket options the standard library does not offer: TCP MD5 signatures (RFC 2385), the
//! TTL settings of GTSM (RFC 5082) and the saved SYN that tells an accepted connection's TTL.
//! This is the only module of the speaker with `unsafe` code: each block is one `setsockopt` or
//! `getsockopt` call on a descriptor the caller owns, with a buffer that lives across the call.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

/// Linux `TCP_MD5SIG` (include/uapi/linux/tcp.h).
const TCP_MD5SIG: libc::c_int = 14;
/// Linux `TCP_MD5SIG_MAXKEYLEN`.
pub const MD5_MAX_KEY_LEN: usize = 80;
/// Linux `IP_MINTTL`.
const IP_MINTTL: libc::c_int = 21;
/// Linux `IPV6_MINHOPCOUNT`.
const IPV6_MINHOPCOUNT: libc::c_int = 73;

/// Size of `struct tcp_md5sig`: a 128-byte `sockaddr_storage`, flags, prefix length, key length
/// (u16), interface index (i32), then the key.
const MD5SIG_LEN: usize = 128 + 1 + 1 + 2 + 4 + MD5_MAX_KEY_LEN;

/// Linux `TCP_SAVE_SYN` / `TCP_SAVED_SYN` (include/uapi/linux/tcp.h).
const TCP_SAVE_SYN: libc::c_int = 27;
const TCP_SAVED_SYN: libc::c_int = 28;

fn setsockopt(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "option too long"))?;
    // SAFETY: `value` is a live, initialised buffer of `len` bytes for the duration of the call;
    // the kernel copies it and keeps no pointer. `fd` is a descriptor owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// RFC 2385: sign (and require signatures on) every segment exchanged with `peer` on this
/// socket — a listening socket (per-peer keys) or one about to connect. An empty `key` removes
/// the key.
pub fn set_tcp_md5(fd: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP MD5 password longer than {MD5_MAX_KEY_LEN} bytes"),
        ));
    }
    let mut buf = [0u8; MD5SIG_LEN];
    match peer {
        IpAddr::V4(a) => {
            buf[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            buf[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            buf[8..24].copy_from_slice(&a.octets());
        }
    }
    let key_len = u16::try_from(key.len()).unwrap_or(0);
    buf[130..132].copy_from_slice(&key_len.to_ne_bytes());
    buf[136..136 + key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, TCP_MD5SIG, &buf)
}

/// The lowest TTL GTSM accepts from a peer at most `hops` hops away: `256 - hops` (255 for a
/// directly connected peer).
pub fn gtsm_min_ttl(hops: u8) -> u8 {
    255u8.saturating_sub(hops.saturating_sub(1))
}

/// RFC 5082 §3: send with TTL (hop limit) 255 and drop packets that arrive with less than
/// `256 - hops`, so only a peer at most `hops` hops away can reach the session.
pub fn set_gtsm(fd: &impl AsRawFd, ipv6: bool, hops: u8) -> io::Result<()> {
    let min = i32::from(gtsm_min_ttl(hops));
    let max = 255i32;
    if ipv6 {
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            &max.to_ne_bytes(),
        )?;
        setsockopt(fd, libc::IPPROTO_IPV6, IPV6_MINHOPCOUNT, &min.to_ne_bytes())
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &max.to_ne_bytes())?;
        setsockopt(fd, libc::IPPROTO_IP, IP_MINTTL, &min.to_ne_bytes())
    }
}

fn getsockopt(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer too long"))?;
    // SAFETY: `buf` is a live, writable buffer of `len` bytes and `len` a live socklen_t for the
    // duration of the call; the kernel writes at most `len` bytes and stores the length it
    // wrote in `len`. `fd` is a descriptor owned by the caller.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(usize::try_from(len).unwrap_or(0).min(buf.len()))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes a listening socket keep each connection's SYN (network and TCP headers), so that
/// [`saved_syn_ttl`] can tell what TTL an accepted connection was opened with.
pub fn set_save_syn(fd: &impl AsRawFd) -> io::Result<()> {
    setsockopt(fd, libc::IPPROTO_TCP, TCP_SAVE_SYN, &1i32.to_ne_bytes())
}

/// The TTL (IPv4) or hop limit (IPv6) of the SYN that opened an accepted connection, when its
/// listener kept it ([`set_save_syn`]); `None` when it did not. The kernel hands the SYN out
/// once.
pub fn saved_syn_ttl(fd: &impl AsRawFd) -> io::Result<Option<u8>> {
    // An IPv6 header with extension headers and a TCP header with options fit in 512 bytes.
    let mut buf = [0u8; 512];
    let len = match getsockopt(fd, libc::IPPROTO_TCP, TCP_SAVED_SYN, &mut buf) {
        Ok(len) => len,
        // ENOENT: nothing saved (listener without TCP_SAVE_SYN, or already read).
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(header_ttl(&buf[..len]))
}

/// The TTL of an IPv4 header (byte 8) or the hop limit of an IPv6 one (byte 7).
fn header_ttl(header: &[u8]) -> Option<u8> {
    match header.first().map(|b| b >> 4) {
        Some(4) => header.get(8).copied(),
        Some(6) => header.get(7).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply_to_real_sockets() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        set_tcp_md5(&l, "127.0.0.1".parse().expect("ip"), b"secret").expect("md5");
        set_tcp_md5(&l, "127.0.0.1".parse().expect("ip"), b"").expect("md5 removed");
        assert!(set_tcp_md5(&l, "127.0.0.1".parse().expect("ip"), &[b'x'; 81]).is_err());
        set_gtsm(&l, false, 1).expect("gtsm");
    }

    #[test]
    fn saved_syn_tells_the_ttl() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        set_save_syn(&l).expect("save syn");
        let c = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (s, _) = l.accept().expect("accept");
        let ttl = saved_syn_ttl(&s).expect("saved syn");
        // Loopback: no router in between, so the SYN has the sender's default TTL (64 unless
        // the host was tuned); 0 would mean the wrong byte was read.
        assert!(ttl.is_some_and(|t| t > 1), "{ttl:?}");
        assert_eq!(
            saved_syn_ttl(&s).expect("read twice"),
            None,
            "handed out once"
        );
        // A listener that did not keep SYNs: nothing to tell.
        let (s2, _) = {
            let l2 = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let _c2 = std::net::TcpStream::connect(l2.local_addr().expect("addr")).expect("c");
            l2.accept().expect("accept")
        };
        assert_eq!(saved_syn_ttl(&s2).expect("no syn"), None);
        drop(c);
    }

    #[test]
    fn header_ttl_reads_both_families() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[8] = 1;
        assert_eq!(header_ttl(&v4), Some(1));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[7] = 255;
        assert_eq!(header_ttl(&v6), Some(255));
        assert_eq!(header_ttl(&[]), None);
        assert_eq!(header_ttl(&[0x45, 0, 0]), None);
    }
}
