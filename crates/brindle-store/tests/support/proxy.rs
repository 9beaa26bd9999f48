//! A TCP proxy in front of a server that can lose answers on purpose: forward everything, cut
//! the connection when the server answers, swallow the answers, or refuse connections.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Forward requests; once at least [`ARMED_BYTES`] bytes went to the server since the mode
    /// was set, cut the connection (both sides, a moment later) when the server answers instead
    /// of forwarding.
    CutAnswers,
    /// Like `CutAnswers`, but drop the answers and keep the connection open (it is unusable
    /// afterwards: [`Proxy::cut`] it).
    SwallowAnswers,
}

/// Bytes of requests after which the answer-losing modes act (more than an HTTP/2 ping or a
/// window update, less than a request with a 1 KiB value).
pub const ARMED_BYTES: usize = 400;

struct Shared {
    mode: Mutex<Mode>,
    /// Bytes forwarded to the server since the mode was last set.
    sent: AtomicUsize,
    /// Whether the proxy accepts connections.
    listening: AtomicBool,
    /// Every connection's sockets, to cut them.
    conns: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

/// The running proxy; stops (and cuts every connection) when dropped.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Pass),
            sent: AtomicUsize::new(0),
            listening: AtomicBool::new(true),
            conns: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(Some(listener), port, target, &s));
        Proxy { port, shared }
    }

    /// The proxy's URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Switches the mode (and re-arms the answer-losing modes).
    pub fn set_mode(&self, mode: Mode) {
        let mut m = self.shared.mode.lock().unwrap();
        self.shared.sent.store(0, Ordering::SeqCst);
        *m = mode;
    }

    /// Cuts every connection and refuses new ones (the port is closed) until [`Proxy::listen`].
    pub fn refuse(&self) {
        self.shared.listening.store(false, Ordering::SeqCst);
        // The accept loop closes the listener within a few milliseconds.
        thread::sleep(Duration::from_millis(50));
        self.cut_all();
    }

    /// Accepts connections again.
    pub fn listen(&self) {
        self.shared.listening.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
    }

    /// Cuts every connection now (the client reconnects).
    pub fn cut(&self) {
        self.cut_all();
        // Let the client notice before its next request.
        thread::sleep(Duration::from_millis(100));
    }

    fn cut_all(&self) {
        for c in self.shared.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut_all();
    }
}

fn accept_loop(mut listener: Option<TcpListener>, port: u16, target: SocketAddr, s: &Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        let listening = s.listening.load(Ordering::SeqCst);
        match (&listener, listening) {
            (Some(_), false) => listener = None,
            (None, true) => match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                Ok(l) => listener = Some(l),
                Err(_) => thread::sleep(Duration::from_millis(10)),
            },
            _ => {}
        }
        let Some(l) = &listener else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        l.set_nonblocking(true).unwrap();
        match l.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut conns = s.conns.lock().unwrap();
                    conns.push(client.try_clone().unwrap());
                    conns.push(server.try_clone().unwrap());
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = s.clone();
                thread::spawn(move || pump(client, server, &up, true));
                let down = s.clone();
                thread::spawn(move || pump(s2, c2, &down, false));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Copies `from` to `to`; `upstream` is the client-to-server direction.
fn pump(mut from: TcpStream, mut to: TcpStream, s: &Shared, upstream: bool) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if upstream {
            s.sent.fetch_add(n, Ordering::SeqCst);
        } else {
            let mode = *s.mode.lock().unwrap();
            let armed = s.sent.load(Ordering::SeqCst) >= ARMED_BYTES;
            match mode {
                Mode::CutAnswers if armed => {
                    // Give the server time to finish what it answers to, then cut.
                    thread::sleep(Duration::from_millis(200));
                    break;
                }
                Mode::SwallowAnswers if armed => continue,
                _ => {}
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
