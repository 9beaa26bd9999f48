//! Where the speaker's time goes when one peer sends a million IPv4 prefixes and another
//! receives them, without sockets: decoding the UPDATEs, applying them to the RIB, taking the
//! receiver's outbound batches and packing them, each timed on its own. A developer's tool for
//! the ingest path (`make bench-bgp` is the benchmark against BIRD and GoBGP):
//!
//!     cargo run --release -p brindle-bgp --example ingest_profile [ROUTES]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use brindle_bgp::model::{AsPath, Family, Message, Nlri, PathAttributes, Prefix};
use brindle_bgp::rib::{LocalConfig, PeerId, PeerInfo, Rib, SessionInfo};
use brindle_bgp::wire::{CodecParams, FrameDecoder, pack_updates};

fn session(rib: &mut Rib, id: PeerId, n: u8) {
    rib.peer_up(
        id,
        SessionInfo::new(
            Ipv4Addr::new(10, 0, 0, n),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        ),
    );
}

fn main() {
    let routes: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let params = CodecParams {
        four_octet_as: true,
        local_as: 64512,
        peer_as: Some(65001),
        ..CodecParams::default()
    };
    // The feed, encoded once: /24s from 16.0.0.0, one attribute set, as bgp-bench sends it.
    let attrs = PathAttributes {
        as_path: AsPath::sequence(vec![65001]),
        next_hop: Some(Ipv4Addr::new(10, 200, 0, 2)),
        ..PathAttributes::default()
    };
    let nlri: Vec<(Family, Nlri)> = (0..routes)
        .map(|n| {
            let addr = Ipv4Addr::from((16u32 << 24) + (n << 8));
            let prefix = Prefix::new(IpAddr::V4(addr), 24).unwrap_or_else(|_| unreachable!());
            (Family::Ipv4Unicast, Nlri::new(prefix))
        })
        .collect();
    let mut feed = Vec::new();
    if let Err(e) = pack_updates(Some(&attrs), &nlri, &[], &params, &mut feed) {
        eprintln!("cannot encode the feed: {e}");
        std::process::exit(1);
    }

    let mut rib = Rib::new(LocalConfig::new(64512, Ipv4Addr::new(10, 200, 0, 1)));
    // As the speaker runs it when nothing programs a kernel from it.
    rib.set_kernel_changes(std::env::var_os("KERNEL").is_some());
    let src = rib.add_peer(PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(10, 200, 0, 2)),
        64512,
        65001,
    ));
    let dst = rib.add_peer(PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(10, 200, 0, 3)),
        64512,
        65002,
    ));
    session(&mut rib, src, 2);
    session(&mut rib, dst, 3);
    while rib.has_outbound(dst) {
        rib.take_outbound(dst, 4096);
    }

    let (mut t_decode, mut t_apply, mut t_take, mut t_pack) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut dec = FrameDecoder::new();
    let mut out = Vec::new();
    let mut sent = 0usize;
    let all = Instant::now();
    for chunk in feed.chunks(64 * 1024) {
        let t = Instant::now();
        dec.feed(chunk);
        let mut msgs = Vec::new();
        while let Ok(Some(m)) = dec.decode_next(&params) {
            msgs.push(m);
        }
        t_decode += t.elapsed();
        for m in msgs {
            let Message::Update(u) = m else { continue };
            let t = Instant::now();
            let c = rib.apply_update(src, &u);
            t_apply += t.elapsed();
            if c.outbound.contains(&dst) {
                loop {
                    let t = Instant::now();
                    let b = rib.take_outbound(dst, 4096);
                    t_take += t.elapsed();
                    if b.is_empty() {
                        break;
                    }
                    let t = Instant::now();
                    out.clear();
                    for g in &b.announced {
                        sent += g.nlri.len();
                        let _ = pack_updates(Some(&g.attrs), &g.nlri, &[], &params, &mut out);
                    }
                    t_pack += t.elapsed();
                }
            }
        }
    }
    let total = all.elapsed();
    let per = |d: Duration| d.as_nanos() as f64 / f64::from(routes);
    println!(
        "{routes} routes, {sent} sent, total {:.3} s ({:.0} ns/route)",
        total.as_secs_f64(),
        per(total)
    );
    for (name, d) in [
        ("decode", t_decode),
        ("apply", t_apply),
        ("take", t_take),
        ("pack", t_pack),
    ] {
        println!(
            "  {name:<8} {:>7.3} s {:>6.0} ns/route",
            d.as_secs_f64(),
            per(d)
        );
    }
}
