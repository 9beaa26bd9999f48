//! Memory per route: one million IPv4 prefixes received from one peer and re-advertised to
//! another, measured as resident set size growth (this file holds a single test so that no
//! other test shares the process).
//!
//! `cargo test -p brindle-bgp --release --test rib_memory -- --nocapture` prints the numbers;
//! `BRINDLE_RIB_ROUTES` changes the route count (default 1,000,000; 100,000 in debug builds).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use brindle_bgp::model::{AsPath, Community, Family, Nlri, PathAttributes, Prefix, Update};
use brindle_bgp::rib::{LocalConfig, PeerId, PeerInfo, Rib, SessionInfo};

/// Resident set size in bytes, from /proc/self/statm (Linux).
fn rss() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn session(rib: &mut Rib, id: PeerId, n: u8) {
    rib.peer_up(
        id,
        SessionInfo::new(
            Ipv4Addr::new(10, 0, 0, n),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        ),
    );
}

/// Drains `peer`'s queue like a driver whose socket is always writable; returns routes sent.
fn drain(rib: &mut Rib, peer: PeerId) -> usize {
    let mut sent = 0;
    while rib.has_outbound(peer) {
        sent += rib.take_outbound(peer, 4096).route_count();
    }
    sent
}

#[test]
fn a_million_routes_per_byte_budget() {
    let routes: u32 = std::env::var("BRINDLE_RIB_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        // Debug builds are ~6x slower: a tenth of the routes gives the same per-route figure.
        .unwrap_or(if cfg!(debug_assertions) {
            100_000
        } else {
            1_000_000
        });
    // BRINDLE_RIB_LAZY=1: the receiving peer's socket never drains during the import (worst
    // case for the outbound queue).
    let lazy = std::env::var_os("BRINDLE_RIB_LAZY").is_some();
    let mut rib = Rib::new(LocalConfig::new(64512, Ipv4Addr::new(10, 0, 0, 1)));
    let src = rib.add_peer(PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        64512,
        65001,
    ));
    let dst = rib.add_peer(PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
        64512,
        65002,
    ));
    session(&mut rib, src, 2);
    session(&mut rib, dst, 3);
    drain(&mut rib, dst);
    let before = rss();
    let start = Instant::now();

    // UPDATEs of 500 prefixes; 16 distinct attribute sets (as a real feed would share them).
    let mut sent = 0;
    let mut kernel = 0;
    let per_update = 500;
    let mut i = 0u32;
    while i < routes {
        let attrs = Arc::new(PathAttributes {
            as_path: AsPath::sequence(vec![65001, 65100 + (i / per_update) % 16]),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 2)),
            communities: vec![Community(0xfde9_0001)],
            ..PathAttributes::default()
        });
        let announced = (i..(i + per_update).min(routes))
            .map(|n| {
                // 1M distinct /24s from 11.0.0.0 upward.
                let addr = Ipv4Addr::from((11u32 << 24) + (n << 8));
                let prefix = Prefix::new(IpAddr::V4(addr), 24).expect("prefix");
                (Family::Ipv4Unicast, Nlri::new(prefix))
            })
            .collect();
        let c = rib.apply_update(
            src,
            &Update {
                attrs: Some(attrs),
                announced,
                ..Update::default()
            },
        );
        kernel += c.kernel.len();
        if !lazy {
            sent += drain(&mut rib, dst);
        }
        i += per_update;
    }
    let queued = rss();
    sent += drain(&mut rib, dst);
    let elapsed = start.elapsed();
    let after = rss();
    assert_eq!(rib.prefix_count(Family::Ipv4Unicast), routes as usize);
    assert_eq!(kernel, routes as usize);
    assert_eq!(sent, routes as usize);

    // A third peer coming up afterwards is served by walking the table (no queue).
    let late = rib.add_peer(PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4)),
        64512,
        65003,
    ));
    session(&mut rib, late, 4);
    let dump_start = Instant::now();
    assert_eq!(drain(&mut rib, late), routes as usize);
    let dump = dump_start.elapsed();
    let after_dump = rss();

    if let (Some(b), Some(a), Some(d), Some(q)) = (before, after, after_dump, queued) {
        let per_route = a.saturating_sub(b) as f64 / f64::from(routes);
        let per_route_queued = q.saturating_sub(b) as f64 / f64::from(routes);
        let per_route_dump = d.saturating_sub(b) as f64 / f64::from(routes);
        println!(
            "{routes} routes: {per_route:.1} bytes/route RSS after import+re-advertise \
             ({per_route_queued:.1} before the last drain{}, {per_route_dump:.1} after a third \
             peer's dump); import {elapsed:?}, dump {dump:?}; {} attribute sets",
            if lazy { ", queue never drained" } else { "" },
            rib.attribute_sets()
        );
        if routes >= 100_000 {
            assert!(per_route < 150.0, "{per_route} bytes per route");
            assert!(
                per_route_queued < 150.0,
                "{per_route_queued} bytes per route"
            );
        }
    }
}
