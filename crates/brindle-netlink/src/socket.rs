//! The `NETLINK_ROUTE` socket: open (here or in another network namespace), send, receive.
//! Every system call goes through rustix's safe API.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::sockopt::{self, Timeout};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// How long to wait for the kernel's answer before giving up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Receive buffer: larger than any datagram the kernel sends a dump in (at most 32 KiB).
pub(crate) const RECV_BUFFER: usize = 64 * 1024;
/// Socket receive queue, so that the answers to a batch of requests are never dropped.
const RECV_QUEUE: usize = 1024 * 1024;

/// An open `NETLINK_ROUTE` socket, bound to the network namespace it was opened in.
pub(crate) struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Socket> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            // NETLINK_ROUTE is protocol 0, which rustix spells `None`.
            None,
        )?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        sockopt::set_socket_timeout(&fd, Timeout::Recv, Some(ANSWER_TIMEOUT))?;
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = sockopt::set_socket_recv_buffer_size(&fd, RECV_QUEUE);
        Ok(Socket { fd })
    }

    /// Opens a socket in the network namespace at `netns` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`). A short-lived thread enters the namespace to create it: the
    /// socket stays bound to that namespace, the calling thread never leaves its own.
    pub(crate) fn open_in(netns: &Path) -> io::Result<Socket> {
        let ns = File::open(netns)?;
        std::thread::scope(|s| {
            s.spawn(|| {
                move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
                Socket::open()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
        })
    }

    /// Sends one datagram (one or more messages) to the kernel.
    pub(crate) fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let kernel = SocketAddrNetlink::new(0, 0);
        let sent = rustix::net::sendto(&self.fd, datagram, SendFlags::empty(), &kernel)?;
        if sent != datagram.len() {
            return Err(io::Error::other(format!(
                "sent {sent} of {} bytes",
                datagram.len()
            )));
        }
        Ok(())
    }

    /// Receives one datagram into `buf` (of [`RECV_BUFFER`] bytes); returns its length.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match rustix::net::recv(&self.fd, &mut *buf, RecvFlags::TRUNC) {
                Ok((_, len)) if len > buf.len() => {
                    return Err(io::Error::other(format!(
                        "a {len}-byte answer did not fit the {}-byte buffer",
                        buf.len()
                    )));
                }
                Ok((len, _)) => return Ok(len),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
