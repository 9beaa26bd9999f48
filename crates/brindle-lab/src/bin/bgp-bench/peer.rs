//! A minimal synchronous BGP peer for the benchmark: opens a session (with a hold time longer
//! than any run, so no keepalives are owed during a measurement), sends pre-encoded UPDATEs, and counts the distinct
//! prefixes it is told about. Built on brindle's codec; the same for every system under test.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brindle_bgp::model::{
    AsPath, Capability, Family, Message, Nlri, Origin, PathAttributes, Prefix,
};
use brindle_bgp::wire::{CodecParams, FrameDecoder, encode, pack_updates};

pub type Res<T> = Result<T, String>;

/// Hold time of every benchmark session: long enough that no keepalive is owed during a run
/// (0 would do for BIRD and brindle, but GoBGP takes it as a zero write deadline).
pub const HOLD: u16 = 3600;

/// An established session.
pub struct Peer {
    stream: TcpStream,
    decoder: FrameDecoder,
    params: CodecParams,
    buf: Vec<u8>,
}

impl Peer {
    /// Connects from `local` to the system under test and exchanges OPEN/KEEPALIVE.
    pub fn connect(local: Ipv4Addr, sut: SocketAddr, asn: u32, timeout: Duration) -> Res<Peer> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match connect_from(local, sut) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => return Err(format!("{local} → {sut}: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let open = brindle_bgp::model::Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(brindle_bgp::model::AS_TRANS),
            hold_time: HOLD,
            bgp_id: local,
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::RouteRefresh,
                Capability::FourOctetAs(asn),
            ],
        };
        let mut p = Peer {
            stream,
            decoder: FrameDecoder::new(),
            params: CodecParams::default(),
            buf: vec![0; 1 << 16],
        };
        p.send(&Message::Open(open.clone()))?;
        let remote = loop {
            match p.next(deadline)? {
                Message::Open(o) => break o,
                Message::Notification(n) => {
                    return Err(format!("{local}: NOTIFICATION {}", n.describe()));
                }
                _ => {}
            }
        };
        p.params = CodecParams::negotiate(&open, &remote);
        p.send(&Message::Keepalive)?;
        loop {
            if let Message::Keepalive = p.next(deadline)? {
                return Ok(p);
            }
        }
    }

    fn send(&mut self, m: &Message) -> Res<()> {
        let mut out = Vec::new();
        encode(m, &self.params, &mut out).map_err(|e| e.to_string())?;
        self.stream.write_all(&out).map_err(|e| e.to_string())
    }

    /// Writes raw bytes (pre-encoded UPDATEs).
    pub fn write(&mut self, bytes: &[u8]) -> Res<()> {
        self.stream.write_all(bytes).map_err(|e| e.to_string())
    }

    /// The next message, waiting until `deadline`.
    pub fn next(&mut self, deadline: Instant) -> Res<Message> {
        loop {
            if let Some(m) = self
                .decoder
                .decode_next(&self.params)
                .map_err(|e| e.to_string())?
            {
                return Ok(m);
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .ok_or("timed out")?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(|e| e.to_string())?;
            let n = self
                .stream
                .read(&mut self.buf)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("session closed by the system under test".into());
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }

    /// Reads UPDATEs until `done(seen)` holds, marking announced prefixes in `seen` with `index`.
    pub fn count_until(
        &mut self,
        deadline: Instant,
        index: &dyn Fn(&Prefix) -> Option<usize>,
        seen: &mut [bool],
        want: usize,
    ) -> Res<usize> {
        let mut count = seen.iter().filter(|b| **b).count();
        while count < want {
            if let Message::Update(u) = self.next(deadline)? {
                for (_, n) in &u.announced {
                    if let Some(i) = index(&n.prefix)
                        && let Some(slot) = seen.get_mut(i)
                        && !*slot
                    {
                        *slot = true;
                        count += 1;
                    }
                }
            }
        }
        Ok(count)
    }
}

/// A TCP connection from the source address `local` (each benchmark peer has its own loopback
/// address, which is how the system under test tells them apart).
fn connect_from(local: Ipv4Addr, sut: SocketAddr) -> std::io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.bind(&SocketAddr::from((local, 0)).into())?;
    s.connect_timeout(&sut.into(), Duration::from_secs(2))?;
    Ok(s.into())
}

/// UPDATEs announcing `prefixes` with one attribute set, encoded for a four-octet eBGP/iBGP
/// session, packed as tightly as the codec packs them.
pub fn encode_announcements(
    prefixes: &[Prefix],
    as_path: Vec<u32>,
    next_hop: Ipv4Addr,
    ibgp: bool,
) -> Res<Vec<u8>> {
    let attrs = Arc::new(PathAttributes {
        origin: Origin::Igp,
        as_path: AsPath::sequence(as_path),
        next_hop: Some(next_hop),
        local_pref: ibgp.then_some(100),
        ..Default::default()
    });
    let nlri: Vec<(Family, Nlri)> = prefixes
        .iter()
        .map(|p| (Family::Ipv4Unicast, Nlri::new(*p)))
        .collect();
    let params = CodecParams {
        four_octet_as: true,
        ..CodecParams::default()
    };
    let mut out = Vec::new();
    pack_updates(Some(&attrs), &nlri, &[], &params, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}
