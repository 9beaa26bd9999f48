//! Socket options the standard library does not offer: TCP MD5 signatures (RFC 2385) and the
//! TTL settings of GTSM (RFC 5082). This is the only module of the speaker with `unsafe` code:
//! each block is one `setsockopt` call on a descriptor the caller owns, with a buffer that
//! lives across the call.
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

/// RFC 5082 §3: send with TTL (hop limit) 255 and drop packets that arrive with less than
/// `256 - hops`, so only a peer at most `hops` hops away can reach the session.
pub fn set_gtsm(fd: &impl AsRawFd, ipv6: bool, hops: u8) -> io::Result<()> {
    let min = i32::from(255u8.saturating_sub(hops.saturating_sub(1)));
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
}
