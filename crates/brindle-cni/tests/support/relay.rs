//! A TCP relay from a port on a test namespace's loopback to an address in the test's own
//! namespace: how plugins run inside a test host namespace reach the etcd server the test
//! started on the machine's loopback, without touching the machine's interfaces or routes.
//! The listening socket is made by a short-lived thread that entered the namespace; accepting
//! and connecting onwards happen on ordinary threads (a socket stays in the namespace it was
//! made in).
#![allow(clippy::unwrap_used, dead_code)]

use std::fs::File;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::thread::JoinHandle;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// Relays `127.0.0.1:<port>` in a namespace to a target; stops on drop.
pub struct Relay {
    /// The port on the namespace's loopback.
    pub port: u16,
    listener: TcpListener,
    thread: Option<JoinHandle<()>>,
}

/// A listener on `127.0.0.1:0` inside the namespace mounted at `ns_path`.
fn listen_in(ns_path: &str) -> io::Result<TcpListener> {
    let ns = File::open(ns_path)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
            TcpListener::bind("127.0.0.1:0")
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("listener thread panicked")))
    })
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

impl Relay {
    /// Starts relaying connections to `127.0.0.1:<port>` in the namespace at `ns_path` to
    /// `target`.
    pub fn start(ns_path: &str, target: SocketAddr) -> Relay {
        let listener = listen_in(ns_path).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepting = listener.try_clone().unwrap();
        let thread = std::thread::spawn(move || {
            // Ends when Drop shuts the listener down (accept then fails).
            while let Ok((inbound, _)) = accepting.accept() {
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (i2, o2) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                std::thread::spawn(move || pipe(inbound, outbound));
                std::thread::spawn(move || pipe(o2, i2));
            }
        });
        Relay {
            port,
            listener,
            thread: Some(thread),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Shutting a listening socket down makes a blocked accept return an error.
        let _ = rustix::net::shutdown(&self.listener, rustix::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
