//! TCP sockets for BGP: outgoing connections and listeners with the options peers ask for.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::config::PeerConfig;
use crate::sys;

/// Why an outgoing connection failed: in words for the status, and whether the peer's host
/// refused it (a reset to our SYN: the host is there, nothing listens yet).
#[derive(Debug)]
pub struct ConnectError {
    /// The reason in words (`TCP connection refused by 10.0.0.2:179 …`).
    pub message: String,
    /// The peer's host answered the SYN with a reset.
    pub refused: bool,
}

impl From<String> for ConnectError {
    fn from(message: String) -> ConnectError {
        ConnectError {
            message,
            refused: false,
        }
    }
}

/// Connects to `peer`, from its source address, with its MD5 key and GTSM set before the SYN.
pub async fn connect(peer: &PeerConfig, timeout: Duration) -> Result<TcpStream, ConnectError> {
    let dest = SocketAddr::new(peer.address, peer.port);
    let socket = match dest {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| format!("cannot create a socket for {dest}: {e}"))?;
    if let Some(src) = peer.source {
        socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(|e| format!("cannot bind source address {src}: {e}"))?;
    }
    if let Some(pw) = &peer.password {
        sys::set_tcp_md5(&socket, peer.address, pw.as_bytes())
            .map_err(|e| format!("cannot set the TCP MD5 password: {e}"))?;
    }
    if let Some(hops) = peer.ttl_security {
        sys::set_gtsm(&socket, dest.is_ipv6(), hops)
            .map_err(|e| format!("cannot set GTSM: {e}"))?;
    }
    let _ = socket.set_nodelay(true);
    match tokio::time::timeout(timeout, socket.connect(dest)).await {
        Err(_) => Err(describe_timeout(dest, timeout, peer.password.is_some()).into()),
        Ok(Err(e)) => Err(ConnectError {
            message: describe_connect_error(dest, &e, peer.password.is_some()),
            refused: e.kind() == io::ErrorKind::ConnectionRefused,
        }),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// Our own deadline passed without an answer to the SYN. With an MD5 key that is the usual
/// symptom of a password mismatch: the peer's kernel drops segments whose signature does not
/// verify (or that carry one it does not expect), without a reset.
fn describe_timeout(dest: SocketAddr, after: Duration, md5: bool) -> String {
    let hint = if md5 {
        " (MD5 password mismatch suspected)"
    } else {
        ""
    };
    format!("TCP connect to {dest} timed out after {after:?}{hint}")
}

fn describe_connect_error(dest: SocketAddr, e: &io::Error, md5: bool) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "TCP connection refused by {dest} (nothing listening, or the peer is not configured for us)"
        ),
        io::ErrorKind::TimedOut if md5 => {
            format!("TCP connect to {dest} timed out (MD5 password mismatch suspected)")
        }
        io::ErrorKind::TimedOut => format!("TCP connect to {dest} timed out"),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            format!("TCP connect to {dest} failed: no route to the peer ({e})")
        }
        _ => format!("TCP connect to {dest} failed: {e}"),
    }
}

/// Opens a listening socket on `addr` (with `SO_REUSEADDR`; IPv6 sockets accept IPv4 too unless
/// the address is a specific IPv6 address).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    // Keep each SYN, so that GTSM can check the TTL a connection was opened with (see
    // `set_accepted_gtsm`). Without it (an old kernel) GTSM still guards all later packets.
    let _ = sys::set_save_syn(&socket);
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Installs (or with `None`, removes) the MD5 key for `peer` on a listener.
/// On a dual-stack IPv6 listener an IPv4 peer appears as `::ffff:a.b.c.d`, and its key must be
/// installed under that address.
pub fn set_listener_password(
    listener: &TcpListener,
    peer: IpAddr,
    password: Option<&str>,
) -> io::Result<()> {
    let v6_listener = listener.local_addr()?.is_ipv6();
    let key_addr = match peer {
        IpAddr::V4(a) if v6_listener => IpAddr::V6(a.to_ipv6_mapped()),
        other => other,
    };
    sys::set_tcp_md5(listener, key_addr, password.unwrap_or("").as_bytes())
}

/// Applies GTSM to an accepted connection, and refuses it (an error naming the TTL) when the
/// SYN that opened it arrived with a TTL below GTSM's minimum.
///
/// The listener serves every peer, so it cannot hold one peer's minimum TTL: the kernel
/// completes the handshake, and may queue the peer's first segments (its OPEN), before the
/// accepted socket gets `IP_MINTTL`. RFC 5082 §3 wants every packet below the minimum
/// discarded, so the SYN's TTL, saved by the listener, is checked here; without that check a
/// peer sending with TTL 1 gets its OPEN through and a half-open session follows.
///
/// An IPv4 peer accepted on a dual-stack `[::]` listener appears as `::ffff:a.b.c.d`, but its
/// packets are IPv4: Linux checks them against `IP_MINTTL` and sends them with `IP_TTL`, so the
/// IPv4 options are the ones to set (the IPv6 ones would be ignored and GTSM silently off).
pub fn set_accepted_gtsm(stream: &TcpStream, hops: u8) -> io::Result<()> {
    let v6 = !carries_ipv4(stream.peer_addr()?);
    sys::set_gtsm(stream, v6, hops)?;
    let min = sys::gtsm_min_ttl(hops);
    match sys::saved_syn_ttl(stream)? {
        Some(ttl) if ttl < min => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            low_ttl_message(ttl, min, hops),
        )),
        _ => Ok(()),
    }
}

/// Why an incoming connection was refused under GTSM.
fn low_ttl_message(ttl: u8, min: u8, hops: u8) -> String {
    format!(
        "the peer's SYN arrived with TTL {ttl}, below the {min} that GTSM (ttlSecurity {hops}) \
         requires: is TTL security (GTSM) configured on the peer?"
    )
}

/// True when the connection's packets are IPv4: an IPv4 address, or an IPv4-mapped IPv6 one.
fn carries_ipv4(peer: SocketAddr) -> bool {
    match peer.ip() {
        IpAddr::V4(_) => true,
        IpAddr::V6(a) => a.to_ipv4_mapped().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_ttl_refusal_says_what_to_check() {
        assert_eq!(
            low_ttl_message(1, 255, 1),
            "the peer's SYN arrived with TTL 1, below the 255 that GTSM (ttlSecurity 1) \
             requires: is TTL security (GTSM) configured on the peer?"
        );
    }

    #[test]
    fn v4_mapped_peers_carry_ipv4() {
        for (addr, v4) in [
            ("10.0.0.2:179", true),
            ("[::ffff:10.0.0.2]:40000", true),
            ("[fd00::2]:179", false),
            ("[::1]:179", false),
        ] {
            let a: SocketAddr = addr.parse().expect("addr");
            assert_eq!(carries_ipv4(a), v4, "{addr}");
        }
    }

    #[test]
    fn timeouts_with_a_password_point_at_md5() {
        let dest: SocketAddr = "10.0.0.2:179".parse().expect("addr");
        let after = Duration::from_millis(4500);
        assert_eq!(
            describe_timeout(dest, after, true),
            "TCP connect to 10.0.0.2:179 timed out after 4.5s (MD5 password mismatch suspected)"
        );
        assert_eq!(
            describe_timeout(dest, after, false),
            "TCP connect to 10.0.0.2:179 timed out after 4.5s"
        );
        let e = io::Error::from(io::ErrorKind::TimedOut);
        assert!(describe_connect_error(dest, &e, true).contains("MD5 password mismatch"));
        let e = io::Error::from(io::ErrorKind::HostUnreachable);
        assert!(describe_connect_error(dest, &e, false).contains("no route to the peer"));
    }
}
