//! Cases that need other processes. The test binary runs itself as the worker: the test
//! `worker_process` does nothing unless [`WORKER_ENV`] is set, in which case it plays the role
//! named there against the store described by [`CONFIG_ENV`].

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brindle_store::{Datastore, DatastoreConfig, EtcdConfig, SqliteConfig, StoreError};

use super::Ctx;

/// Names the worker role (and its arguments, space-separated).
pub const WORKER_ENV: &str = "BRINDLE_STORE_TEST_WORKER";
/// Describes the store the worker opens.
pub const CONFIG_ENV: &str = "BRINDLE_STORE_TEST_CONFIG";

const WORKERS: usize = 8;
const INCREMENTS: u64 = 200;

pub fn processes_racing_cas(c: &Ctx) {
    let key = c.key("counter");
    c.store.create(&key, b"0").unwrap();
    let started = Instant::now();
    let workers = Workers(
        (0..WORKERS)
            .map(|_| spawn_worker(&c.config, &format!("cas {key} {INCREMENTS}")))
            .collect(),
    );
    workers.wait_all();
    let kv = c.store.get(&key).unwrap().unwrap();
    let total = WORKERS as u64 * INCREMENTS;
    assert_eq!(
        String::from_utf8_lossy(&kv.value),
        total.to_string(),
        "lost updates"
    );
    assert_eq!(kv.version, total as i64 + 1);
    eprintln!(
        "  {total} increments by {WORKERS} processes in {:?}",
        started.elapsed()
    );
}

pub fn dropped_watches_do_not_spin(c: &Ctx) {
    wait_ok(spawn_worker(
        &c.config,
        &format!("idle-watches {}", c.prefix),
    ));
}

pub fn stalled_watch_does_not_spin(c: &Ctx) {
    wait_ok(spawn_worker(
        &c.config,
        &format!("stalled-watch {}", c.prefix),
    ));
}

/// Starts this test binary as a worker playing `role` against `config`.
pub fn spawn_worker(config: &DatastoreConfig, role: &str) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args([
            "worker_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_ENV, role)
        .env(CONFIG_ENV, encode(config))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worker")
}

/// Running workers. Dropping the set (when a case fails, also while unwinding) kills and reaps
/// the workers still running, so a failure never leaves processes behind.
pub struct Workers(pub Vec<Child>);

impl Workers {
    /// Waits for each worker in turn, failing with the output of the first that failed (the
    /// rest are then killed).
    pub fn wait_all(mut self) {
        while !self.0.is_empty() {
            wait_ok(self.0.remove(0));
        }
    }

    /// Process ids of the workers still held.
    #[allow(dead_code)]
    pub fn pids(&self) -> Vec<u32> {
        self.0.iter().map(Child::id).collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// Waits for a worker and fails with its output unless it succeeded.
pub fn wait_ok(child: Child) {
    let out = child.wait_with_output().expect("wait for worker");
    assert!(
        out.status.success(),
        "worker failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn encode(config: &DatastoreConfig) -> String {
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    match config {
        DatastoreConfig::Sqlite(s) => format!("sqlite\t{}", s.path.display()),
        DatastoreConfig::Etcd(e) => format!(
            "etcd\t{}\t{}\t{}\t{}",
            e.endpoints.join(","),
            path(&e.ca_cert_file),
            path(&e.cert_file),
            path(&e.key_file)
        ),
    }
}

fn decode(s: &str) -> DatastoreConfig {
    let f: Vec<&str> = s.split('\t').collect();
    let path = |i: usize| f.get(i).filter(|p| !p.is_empty()).map(PathBuf::from);
    match f[0] {
        "sqlite" => DatastoreConfig::Sqlite(SqliteConfig::new(f[1])),
        "etcd" => {
            let mut e = EtcdConfig::new(f[1].split(',').map(String::from).collect());
            e.ca_cert_file = path(2);
            e.cert_file = path(3);
            e.key_file = path(4);
            DatastoreConfig::Etcd(e)
        }
        other => panic!("unknown backend {other}"),
    }
}

/// The body of the `worker_process` test.
pub fn worker_main() {
    let Ok(role) = std::env::var(WORKER_ENV) else {
        return;
    };
    let config = decode(&std::env::var(CONFIG_ENV).expect("worker config"));
    let store = brindle_store::open(&config).expect("worker opens the store");
    let args: Vec<&str> = role.split(' ').collect();
    match args.as_slice() {
        ["cas", key, n] => cas(&*store, key, n.parse().unwrap()),
        ["write", prefix, n] => {
            for i in 0..n.parse::<usize>().unwrap() {
                store
                    .put(&format!("{prefix}p{i:04}"), i.to_string().as_bytes())
                    .unwrap();
            }
        }
        ["idle-watches", prefix] => idle_watches(&*store, prefix),
        ["stalled-watch", prefix] => stalled_watch(&*store, prefix),
        ["sleep", secs] => std::thread::sleep(Duration::from_secs(secs.parse().unwrap())),
        ["fail"] => panic!("failing as asked"),
        other => panic!("unknown worker role {other:?}"),
    }
}

/// `n` read-modify-CAS increments of the decimal counter at `key`.
fn cas(store: &dyn Datastore, key: &str, n: u64) {
    let mut conflicts = 0;
    for _ in 0..n {
        loop {
            let kv = store.get(key).unwrap().expect("counter exists");
            let value: u64 = String::from_utf8_lossy(&kv.value).parse().unwrap();
            match store.update(key, (value + 1).to_string().as_bytes(), kv.mod_revision) {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(e) => panic!("increment failed: {e}"),
            }
        }
    }
    eprintln!(
        "worker {}: {n} increments, {conflicts} conflicts",
        std::process::id()
    );
}

/// Idle watches must not burn CPU, and dropped ones must release their threads and inotify
/// instances. All the watches on one store share at most one inotify instance.
fn idle_watches(store: &dyn Datastore, prefix: &str) {
    let threads_before = thread_count();
    let inotify_before = inotify_instances();
    let watches: Vec<_> = (0..20)
        .map(|i| store.watch(&format!("{prefix}idle{i}/"), 0).unwrap())
        .collect();
    let inotify = inotify_instances() - inotify_before;
    assert!(inotify <= 1, "20 watches use {inotify} inotify instances");
    let cpu = cpu_ticks();
    std::thread::sleep(Duration::from_millis(1500));
    let used = cpu_ticks() - cpu;
    assert!(
        used <= 20,
        "20 idle watches used {used} ticks of CPU in 1.5 s"
    );
    drop(watches);
    let deadline = Instant::now() + Duration::from_secs(3);
    while thread_count() > threads_before {
        assert!(
            Instant::now() < deadline,
            "{} threads left after dropping the watches (was {threads_before})",
            thread_count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        inotify_instances(),
        inotify_before,
        "inotify instances left"
    );
    let cpu = cpu_ticks();
    std::thread::sleep(Duration::from_millis(1000));
    let used = cpu_ticks() - cpu;
    assert!(
        used <= 10,
        "dropped watches used {used} ticks of CPU in 1 s"
    );
}

/// A watch whose receiver does not read while events keep coming must wait for it, not poll:
/// once its queue is full, the threads of this process must stay (almost) asleep.
fn stalled_watch(store: &dyn Datastore, prefix: &str) {
    let watch = store.watch(prefix, 0).unwrap();
    for i in 0..100 {
        store.put(&format!("{prefix}k{}", i % 10), b"v").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    // Wait until the producer is stuck on the full queue: nothing left to read, it sleeps.
    let mut switches = context_switches();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = context_switches();
        if now - switches < 20 || Instant::now() > deadline {
            break;
        }
        switches = now;
    }
    let before = context_switches();
    std::thread::sleep(Duration::from_secs(1));
    let woke = context_switches() - before;
    assert!(
        woke < 50,
        "a watch with a full queue woke its process {woke} times in 1 s"
    );
    // It is still intact: every event comes, in order.
    let mut n = 0;
    let mut last = 0;
    while n < 100 {
        match watch.recv_timeout(Duration::from_secs(10)).unwrap() {
            Some(brindle_store::WatchMessage::Events(evs)) => {
                for ev in evs {
                    assert!(ev.revision() > last);
                    last = ev.revision();
                    n += 1;
                }
            }
            other => panic!("unexpected {other:?} after {n} events"),
        }
    }
}

/// Voluntary context switches of every thread of this process so far.
fn context_switches() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .map(|v| v.trim().parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// inotify instances open in this process.
fn inotify_instances() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy() == "anon_inode:inotify")
        .count()
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// User + system CPU time of this process, in clock ticks (1/100 s).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
