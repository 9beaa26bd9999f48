//! `store-bench`: measures both datastore backends on this machine and compares them with the
//! targets. Run with `make bench-store` (or `cargo run --release -p brindle-store --features
//! testing --bin store-bench -- [--seconds N] [--samples N] [--only sqlite|etcd]`; the binary
//! needs the `testing` feature for its throw-away etcd).
//!
//! Per backend:
//! - CAS updates per second on one key: sequential read-modify-CAS for N seconds;
//! - time to list 10,000 keys with ~500-byte values;
//! - watch delivery latency: a writer thread puts values carrying the time just before the write,
//!   a watcher notes when each event arrives; p50 and p99 over the samples (writes paced at about
//!   one per millisecond).
//!
//! The etcd figures come from a throw-away `/usr/bin/etcd` started like the tests start it (with
//! fsync on, as in production).

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brindle_store::etcd::EtcdStore;
use brindle_store::sqlite::SqliteStore;
use brindle_store::testing::{EtcdProcess, make_temp_dir};
use brindle_store::{Datastore, Event, Op, SqliteConfig, WatchMessage};

type Res<T> = Result<T, Box<dyn Error>>;

const SQLITE_CAS_TARGET: f64 = 2000.0;
const WATCH_P99_TARGET: Duration = Duration::from_millis(20);
const LIST_KEYS: usize = 10_000;
const VALUE_SIZE: usize = 500;

struct Options {
    seconds: f64,
    samples: usize,
    only: Option<String>,
}

struct Figures {
    cas_per_sec: f64,
    list: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// p99 of the time from the write's acknowledgement (committed) to the event's arrival:
    /// the watch path alone, without the backend's commit (fsync) time.
    after_commit_p99: Duration,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("store-bench: {e}");
        std::process::exit(1);
    }
}

fn parse_options() -> Res<Options> {
    let mut o = Options {
        seconds: 3.0,
        samples: 2000,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => o.seconds = value()?.parse()?,
            "--samples" => o.samples = value()?.parse()?,
            "--only" => o.only = Some(value()?),
            "-h" | "--help" => {
                println!("store-bench [--seconds N] [--samples N] [--only sqlite|etcd]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

fn run() -> Res<()> {
    let o = parse_options()?;
    let want = |b: &str| o.only.as_deref().is_none_or(|x| x == b);
    let mut rows: Vec<(&str, Figures)> = Vec::new();
    if want("sqlite") {
        let dir = TempDir(make_temp_dir()?);
        let config = SqliteConfig::new(dir.0.join("datastore.db"));
        let open = || -> Res<Arc<dyn Datastore>> { Ok(Arc::new(SqliteStore::open(&config)?)) };
        eprintln!("sqlite: {}", config.path.display());
        rows.push(("sqlite", measure(&open, &o)?));
    }
    if want("etcd") {
        let etcd = EtcdProcess::start()?;
        let config = etcd.config();
        let open = || -> Res<Arc<dyn Datastore>> { Ok(Arc::new(EtcdStore::connect(&config)?)) };
        eprintln!("etcd: {}", etcd.endpoint());
        rows.push(("etcd", measure(&open, &o)?));
    }
    print_table(&rows);
    Ok(())
}

fn measure(open: &dyn Fn() -> Res<Arc<dyn Datastore>>, o: &Options) -> Res<Figures> {
    let store = open()?;
    let cas_per_sec = cas_rate(&*store, Duration::from_secs_f64(o.seconds))?;
    eprintln!("  CAS: {cas_per_sec:.0}/s");
    let list = list_time(&*store)?;
    eprintln!("  list {LIST_KEYS}: {list:?}");
    let writer = open()?;
    let (mut latencies, mut after_commit) = watch_latencies(&*store, writer, o.samples)?;
    latencies.sort();
    after_commit.sort();
    let after_commit_p99 = after_commit
        .get(((after_commit.len().max(1) - 1) as f64 * 0.99).round() as usize)
        .copied()
        .unwrap_or_default();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let f = Figures {
        cas_per_sec,
        list,
        p50: pct(0.50),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        after_commit_p99,
    };
    eprintln!("  watch: p50 {:?} p99 {:?} max {:?}", f.p50, f.p99, f.max);
    Ok(f)
}

/// Sequential read-modify-CAS increments of one key for `duration`.
fn cas_rate(store: &dyn Datastore, duration: Duration) -> Res<f64> {
    let key = "/bench/cas";
    let mut kv = store.put(key, b"0")?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        let current = store.get(key)?.ok_or("counter vanished")?;
        let value: u64 = String::from_utf8_lossy(&current.value).parse()?;
        kv = store.update(
            key,
            (value + 1).to_string().as_bytes(),
            current.mod_revision,
        )?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    if kv.version != n as i64 + 1 {
        return Err(format!("lost updates: version {} after {n} increments", kv.version).into());
    }
    Ok(rate)
}

/// Best of five listings of `LIST_KEYS` keys with `VALUE_SIZE`-byte values.
fn list_time(store: &dyn Datastore) -> Res<Duration> {
    let prefix = "/bench/list/";
    let ops: Vec<Op> = (0..LIST_KEYS)
        .map(|i| {
            let mut value = format!("{{\"resource\":{i:08},\"pad\":\"").into_bytes();
            value.resize(VALUE_SIZE - 2, b'x');
            value.extend_from_slice(b"\"}");
            Op::Put {
                key: format!("{prefix}{i:08}"),
                value,
            }
        })
        .collect();
    for chunk in ops.chunks(100) {
        store.txn(chunk)?;
    }
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let l = store.list(prefix)?;
        best = best.min(started.elapsed());
        if l.kvs.len() != LIST_KEYS {
            return Err(format!("listed {} keys instead of {LIST_KEYS}", l.kvs.len()).into());
        }
    }
    Ok(best)
}

/// For each write: the latency from just before the write to its event arriving at a watcher,
/// and from the write's acknowledgement (the commit) to the event's arrival (0 when the event
/// arrived first).
fn watch_latencies(
    store: &dyn Datastore,
    writer: Arc<dyn Datastore>,
    samples: usize,
) -> Res<(Vec<Duration>, Vec<Duration>)> {
    let prefix = "/bench/watch/";
    let watch = store.watch(prefix, 0)?;
    let origin = Instant::now();
    let producer = std::thread::spawn(move || -> Result<Vec<(i64, Duration)>, String> {
        let mut acks = Vec::with_capacity(samples);
        for i in 0..samples {
            let sent = origin.elapsed().as_nanos().to_string();
            let kv = writer
                .put(&format!("{prefix}k{}", i % 16), sent.as_bytes())
                .map_err(|e| e.to_string())?;
            acks.push((kv.mod_revision, origin.elapsed()));
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(acks)
    });
    let mut latencies = Vec::with_capacity(samples);
    let mut arrivals = Vec::with_capacity(samples);
    while latencies.len() < samples {
        let msg = watch
            .recv_timeout(Duration::from_secs(10))?
            .ok_or("watch stalled")?;
        let received = origin.elapsed();
        let WatchMessage::Events(events) = msg else {
            return Err("unexpected resync".into());
        };
        for ev in events {
            if let Event::Put { kv } = ev {
                let sent: u64 = String::from_utf8_lossy(&kv.value).parse()?;
                latencies.push(received.saturating_sub(Duration::from_nanos(sent)));
                arrivals.push((kv.mod_revision, received));
            }
        }
    }
    let acks: std::collections::HashMap<i64, Duration> = producer
        .join()
        .map_err(|_| "writer panicked")??
        .into_iter()
        .collect();
    let after_commit = arrivals
        .iter()
        .filter_map(|(rev, at)| acks.get(rev).map(|ack| at.saturating_sub(*ack)))
        .collect();
    Ok((latencies, after_commit))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn print_table(rows: &[(&str, Figures)]) {
    println!();
    println!(
        "{:<8} {:>14} {:>16} {:>14} {:>14} {:>14} {:>22}",
        "backend",
        "CAS/s (1 key)",
        "list 10k×500B",
        "watch p50",
        "watch p99",
        "watch max",
        "p99 after commit ack"
    );
    for (name, f) in rows {
        println!(
            "{:<8} {:>14.0} {:>16} {:>14} {:>14} {:>14} {:>22}",
            name,
            f.cas_per_sec,
            ms(f.list),
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
            ms(f.after_commit_p99)
        );
    }
    println!(
        "(watch latency: from just before the write to the event; \"after commit ack\": from the"
    );
    println!(
        " write's acknowledgement to the event, i.e. without the backend's commit/fsync time)"
    );
    // Same-run ratios: this machine is shared and noisy, so only side-by-side figures compare.
    let find = |n: &str| rows.iter().find(|(name, _)| *name == n).map(|(_, f)| f);
    if let (Some(s), Some(e)) = (find("sqlite"), find("etcd")) {
        let x = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.1}x", a / b)
            } else {
                "-".into()
            }
        };
        println!();
        println!(
            "sqlite vs etcd, same run: CAS/s {} | list {} faster | watch p99 {} lower",
            x(s.cas_per_sec, e.cas_per_sec),
            x(e.list.as_secs_f64(), s.list.as_secs_f64()),
            x(e.p99.as_secs_f64(), s.p99.as_secs_f64())
        );
    }
    println!();
    println!("{:<28} {:>14} {:>12}  result", "target", "measured", "goal");
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    for (name, f) in rows {
        if *name == "sqlite" {
            println!(
                "{:<28} {:>14.0} {:>12}  {}",
                "sqlite CAS updates/s",
                f.cas_per_sec,
                format!(">= {SQLITE_CAS_TARGET:.0}"),
                verdict(f.cas_per_sec >= SQLITE_CAS_TARGET)
            );
        }
        println!(
            "{:<28} {:>14} {:>12}  {}",
            format!("{name} watch p99"),
            ms(f.p99),
            format!("< {}", ms(WATCH_P99_TARGET)),
            verdict(f.p99 < WATCH_P99_TARGET)
        );
    }
}

/// Removes the SQLite benchmark directory at the end.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
