//! `bgp-bench` (run by `make bench-bgp` inside a throw-away network namespace): brindle's BGP
//! speaker side by side with BIRD 2 and GoBGP, in one run, on the namespace's loopback.
//!
//! (a) ingest: one peer sends N (default 1,000,000) distinct IPv4 prefixes; time until a second
//!     peer has received all of them; peak RSS of the system under test and bytes per route.
//! (b) route-reflector fan-out: M (default 200) iBGP clients each advertise 4 prefixes; time
//!     until every client has all 4·M.
//!
//! Not a test: it prints figures and ratios, because this machine is shared and noisy.

mod peer;
mod sut;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use brindle_bgp::model::Prefix;
use peer::{Peer, Res, encode_announcements};
use sut::{Kind, PeerSpec, Sut};

const SUT_AS: u32 = 64512;
/// Addresses on the namespace's dummy interface (scripts/bench-bgp.sh adds them): the system
/// under test, the feeder, the receiver, and 10.200.1.x for route-reflector clients.
const SUT: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
const FEEDER: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 3);

struct Opts {
    brindle: PathBuf,
    routes: usize,
    clients: usize,
    timeout: Duration,
    only: Vec<Kind>,
    dir: PathBuf,
}

fn opts() -> Res<Opts> {
    let mut o = Opts {
        brindle: PathBuf::from("target/release/brindle-node"),
        routes: 1_000_000,
        clients: 200,
        timeout: Duration::from_secs(300),
        only: vec![Kind::Brindle, Kind::Bird, Kind::Gobgp],
        dir: std::env::temp_dir().join(format!("bgp-bench-{}", std::process::id())),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--brindle" => o.brindle = PathBuf::from(val()?),
            "--routes" => o.routes = val()?.parse().map_err(|e| format!("--routes: {e}"))?,
            "--clients" => o.clients = val()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--timeout" => {
                o.timeout =
                    Duration::from_secs(val()?.parse().map_err(|e| format!("--timeout: {e}"))?)
            }
            "--only" => {
                o.only = val()?
                    .split(',')
                    .map(|s| match s {
                        "brindle" => Ok(Kind::Brindle),
                        "bird" => Ok(Kind::Bird),
                        "gobgp" => Ok(Kind::Gobgp),
                        x => Err(format!("--only: unknown {x}")),
                    })
                    .collect::<Res<_>>()?
            }
            x => return Err(format!("unknown argument {x}")),
        }
    }
    Ok(o)
}

/// The i-th /24 from 16.0.0.0: up to 2^20 distinct prefixes.
fn ingest_prefix(i: usize) -> Prefix {
    let a = (16u32 << 24) + ((i as u32) << 8);
    Prefix::new(Ipv4Addr::from(a).into(), 24).unwrap_or_else(|_| unreachable!())
}

fn ingest_index(p: &Prefix) -> Option<usize> {
    match p.addr() {
        std::net::IpAddr::V4(a) if p.len() == 24 => {
            (u32::from(a).checked_sub(16 << 24)).map(|d| (d >> 8) as usize)
        }
        _ => None,
    }
}

/// Fan-out prefixes: /32s from 100.64.0.0, four per client.
fn fanout_prefix(i: usize) -> Prefix {
    let a = (100u32 << 24) + (64 << 16) + i as u32;
    Prefix::new(Ipv4Addr::from(a).into(), 32).unwrap_or_else(|_| unreachable!())
}

fn fanout_index(p: &Prefix) -> Option<usize> {
    match p.addr() {
        std::net::IpAddr::V4(a) if p.len() == 32 => u32::from(a)
            .checked_sub((100 << 24) + (64 << 16))
            .map(|d| d as usize),
        _ => None,
    }
}

struct Ingest {
    secs: f64,
    peak: u64,
    per_route: f64,
}

fn ingest(o: &Opts, kind: Kind, port: u16, updates: &Arc<Vec<u8>>) -> Res<Ingest> {
    let peers = [
        PeerSpec {
            address: FEEDER,
            asn: 65001,
            rr_client: false,
        },
        PeerSpec {
            address: RECEIVER,
            asn: 65002,
            rr_client: false,
        },
    ];
    let sut = Sut::start(
        kind,
        &o.brindle,
        &sut::run_dir(&o.dir, kind, "ingest"),
        port,
        SUT_AS,
        false,
        &peers,
    )?;
    let addr = SocketAddr::from((SUT, port));
    let mut feeder = Peer::connect(FEEDER, addr, 65001, Duration::from_secs(15))?;
    let mut receiver = Peer::connect(RECEIVER, addr, 65002, Duration::from_secs(15))?;
    let (baseline, _) = sut.rss();
    let updates = updates.clone();
    let start = Instant::now();
    let writer = std::thread::spawn(move || feeder.write(&updates).map(|_| feeder));
    let mut seen = vec![false; o.routes];
    receiver.count_until(start + o.timeout, &ingest_index, &mut seen, o.routes)?;
    let secs = start.elapsed().as_secs_f64();
    let _feeder = writer.join().map_err(|_| "feeder panicked")??;
    let (_, peak) = sut.rss();
    Ok(Ingest {
        secs,
        peak,
        per_route: peak.saturating_sub(baseline) as f64 / o.routes as f64,
    })
}

fn fanout(o: &Opts, kind: Kind, port: u16) -> Res<f64> {
    let addrs: Vec<Ipv4Addr> = (0..o.clients.min(250))
        .map(|i| Ipv4Addr::new(10, 200, 1, 1 + i as u8))
        .collect();
    let peers: Vec<PeerSpec> = addrs
        .iter()
        .map(|a| PeerSpec {
            address: *a,
            asn: SUT_AS,
            rr_client: true,
        })
        .collect();
    let _sut = Sut::start(
        kind,
        &o.brindle,
        &sut::run_dir(&o.dir, kind, "fanout"),
        port,
        SUT_AS,
        true,
        &peers,
    )?;
    let addr = SocketAddr::from((SUT, port));
    let total = o.clients * 4;
    let barrier = Arc::new(Barrier::new(o.clients + 1));
    let mut threads = Vec::new();
    for (c, local) in addrs.into_iter().enumerate() {
        let mut p = Peer::connect(local, addr, SUT_AS, Duration::from_secs(30))?;
        let own: Vec<Prefix> = (0..4).map(|k| fanout_prefix(c * 4 + k)).collect();
        let bytes = encode_announcements(&own, vec![], local, true)?;
        let b = barrier.clone();
        let timeout = o.timeout;
        threads.push(std::thread::spawn(move || -> Res<Instant> {
            b.wait();
            let start = Instant::now();
            p.write(&bytes)?;
            let mut seen = vec![false; total];
            for k in 0..4 {
                seen[c * 4 + k] = true;
            }
            p.count_until(start + timeout, &fanout_index, &mut seen, total)?;
            Ok(Instant::now())
        }));
    }
    barrier.wait();
    let start = Instant::now();
    let mut last = start;
    for t in threads {
        last = last.max(t.join().map_err(|_| "client panicked")??);
    }
    Ok((last - start).as_secs_f64())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bgp-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let o = opts()?;
    if !o.brindle.exists() {
        return Err(format!(
            "{} not found (build it with cargo build --release -p brindle-node)",
            o.brindle.display()
        ));
    }
    let prefixes: Vec<Prefix> = (0..o.routes).map(ingest_prefix).collect();
    let updates = Arc::new(encode_announcements(&prefixes, vec![65001], FEEDER, false)?);
    eprintln!(
        "bgp-bench: {} routes ({} MB of UPDATEs), {} RR clients; files in {}",
        o.routes,
        updates.len() / 1_000_000,
        o.clients,
        o.dir.display()
    );
    let mut ingests = Vec::new();
    let mut fanouts = Vec::new();
    for (i, kind) in o.only.iter().enumerate() {
        let port = 20179 + 10 * i as u16;
        eprintln!("bgp-bench: {}: ingest…", kind.name());
        let r = ingest(&o, *kind, port, &updates);
        if let Err(e) = &r {
            eprintln!("bgp-bench: {} ingest failed: {e}", kind.name());
        }
        ingests.push((*kind, r.ok()));
        eprintln!("bgp-bench: {}: fan-out…", kind.name());
        let r = fanout(&o, *kind, port + 5);
        if let Err(e) = &r {
            eprintln!("bgp-bench: {} fan-out failed: {e}", kind.name());
        }
        fanouts.push((*kind, r.ok()));
    }
    let failed =
        ingests.iter().any(|(_, r)| r.is_none()) || fanouts.iter().any(|(_, r)| r.is_none());
    report(&o, &ingests, &fanouts);
    if failed {
        eprintln!("bgp-bench: logs kept in {}", o.dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&o.dir);
    }
    Ok(())
}

fn report(o: &Opts, ingests: &[(Kind, Option<Ingest>)], fanouts: &[(Kind, Option<f64>)]) {
    let cell = |v: Option<String>| v.unwrap_or_else(|| "failed".into());
    println!();
    println!(
        "{:<34} {:>12} {:>12} {:>12}",
        "", "brindle", "BIRD 2", "GoBGP"
    );
    let row = |label: &str, f: &dyn Fn(Kind) -> Option<String>| {
        println!(
            "{label:<34} {:>12} {:>12} {:>12}",
            cell(f(Kind::Brindle)),
            cell(f(Kind::Bird)),
            cell(f(Kind::Gobgp))
        );
    };
    let ing = |k: Kind| {
        ingests
            .iter()
            .find(|(x, _)| *x == k)
            .and_then(|(_, r)| r.as_ref())
    };
    let fan = |k: Kind| fanouts.iter().find(|(x, _)| *x == k).and_then(|(_, r)| *r);
    row(&format!("ingest {} routes (s)", o.routes), &|k| {
        ing(k).map(|r| format!("{:.2}", r.secs))
    });
    row("  peak RSS (MiB)", &|k| {
        ing(k).map(|r| format!("{:.1}", r.peak as f64 / 1048576.0))
    });
    row("  RSS per route (bytes)", &|k| {
        ing(k).map(|r| format!("{:.0}", r.per_route))
    });
    row(&format!("RR fan-out {}x4 (s)", o.clients), &|k| {
        fan(k).map(|s| format!("{s:.3}"))
    });
    println!();
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let ingest_ratio = ratio(
        ing(Kind::Brindle).map(|r| r.secs),
        ing(Kind::Bird).map(|r| r.secs),
    );
    let fan_ratio = ratio(fan(Kind::Brindle), fan(Kind::Bird));
    let gobgp_ingest = ratio(
        ing(Kind::Brindle).map(|r| r.secs),
        ing(Kind::Gobgp).map(|r| r.secs),
    );
    let gobgp_fan = ratio(fan(Kind::Brindle), fan(Kind::Gobgp));
    let show = |r: Option<f64>| r.map_or("n/a".into(), |r| format!("{r:.2}x"));
    println!(
        "ratios, same run: ingest brindle/BIRD {} (brindle/GoBGP {}), fan-out brindle/BIRD {} (brindle/GoBGP {})",
        show(ingest_ratio),
        show(gobgp_ingest),
        show(fan_ratio),
        show(gobgp_fan)
    );
    println!();
    println!("{:<44} {:>10}  result", "target", "measured");
    println!(
        "{:<44} {:>10}  {}",
        "ingest time <= 0.5x BIRD",
        show(ingest_ratio),
        verdict(ingest_ratio.is_some_and(|r| r <= 0.5))
    );
    let per_route = ing(Kind::Brindle).map(|r| r.per_route);
    println!(
        "{:<44} {:>10}  {}",
        "RSS per route <= 150 bytes",
        per_route.map_or("n/a".into(), |b| format!("{b:.0}")),
        verdict(per_route.is_some_and(|b| b <= 150.0))
    );
    println!(
        "{:<44} {:>10}  {}",
        "fan-out time <= 0.5x BIRD",
        show(fan_ratio),
        verdict(fan_ratio.is_some_and(|r| r <= 0.5))
    );
}
