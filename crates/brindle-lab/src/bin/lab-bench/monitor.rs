//! Watching a namespace's IPv4 routes as they change: `ip -4 -n <ns> monitor route` (netlink
//! multicast, RTNLGRP_IPV4_ROUTE) read line by line in a thread that stamps each line with its
//! arrival time. Nothing polls the routing table.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Res;

/// A probe route added and removed once the monitor runs, to know that it is subscribed.
const PROBE: &str = "192.0.2.255/32";

/// The lines seen so far, with their arrival times.
#[derive(Default)]
struct Seen {
    lines: Vec<(Instant, String)>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running `ip monitor route` in one namespace; stopped on drop.
pub struct RouteMonitor {
    ns: String,
    child: Child,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
}

impl RouteMonitor {
    /// Starts the monitor in `ns` and returns once it demonstrably receives route events.
    pub fn start(ns: &str) -> Res<RouteMonitor> {
        let mut child = Command::new("ip")
            .args(["-4", "-n", ns, "monitor", "route"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run ip monitor route in {ns}: {e}"))?;
        let shared = Arc::new(Shared::default());
        let reader = child.stdout.take().map(|out| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let at = Instant::now();
                    shared.lock().lines.push((at, line));
                    shared.changed.notify_all();
                }
                shared.lock().closed = true;
                shared.changed.notify_all();
            })
        });
        let monitor = RouteMonitor {
            ns: ns.to_string(),
            child,
            shared,
            reader,
        };
        monitor.prove_subscribed()?;
        Ok(monitor)
    }

    /// Adds and removes a probe blackhole until the monitor reports it (the subscription is
    /// made a moment after `ip` starts).
    fn prove_subscribed(&self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe_ip = PROBE.trim_end_matches("/32");
        while Instant::now() < deadline {
            let since = Instant::now();
            self.probe("add")?;
            let seen = self.wait(
                |l| l.split_whitespace().take(2).eq(["blackhole", probe_ip]),
                since,
                Duration::from_millis(200),
            );
            self.probe("del")?;
            if seen.is_some() {
                return Ok(());
            }
        }
        Err(format!("ip monitor route in {} reports nothing", self.ns))
    }

    fn probe(&self, op: &str) -> Res<()> {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "route", op, "blackhole", PROBE])
            .output()
            .map_err(|e| format!("ip route {op} in {}: {e}", self.ns))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ip -n {} route {op} blackhole {PROBE}: {}",
                self.ns,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The arrival time of the first line at or after `since` that `matches`, waiting up to
    /// `timeout` for it; `None` when none came (or the monitor exited).
    pub fn wait(
        &self,
        matches: impl Fn(&str) -> bool,
        since: Instant,
        timeout: Duration,
    ) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut seen = self.shared.lock();
        let mut from = 0;
        loop {
            if let Some((at, _)) = seen.lines[from..]
                .iter()
                .find(|(at, l)| *at >= since && matches(l))
            {
                return Some(*at);
            }
            from = seen.lines.len();
            let now = Instant::now();
            if seen.closed || now >= deadline {
                return None;
            }
            seen = self
                .shared
                .changed
                .wait_timeout(seen, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Whether an `ip monitor route` line adds (or changes) the route `<ip>/32 via <via>`
/// (`ip` prints host routes without `/32`; deletions start with `Deleted`).
pub fn is_route_via(line: &str, ip: Ipv4Addr, via: Ipv4Addr) -> bool {
    let mut words = line.split_whitespace();
    let dst_ok = words.next().is_some_and(|d| {
        let d = d.strip_suffix("/32").unwrap_or(d);
        d.parse::<Ipv4Addr>().is_ok_and(|d| d == ip)
    });
    let rest: Vec<&str> = words.collect();
    dst_ok
        && rest
            .windows(2)
            .any(|w| w[0] == "via" && w[1].parse::<Ipv4Addr>().is_ok_and(|v| v == via))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_blocks_route_via_node1_only() {
        let ip = Ipv4Addr::new(172, 20, 0, 5);
        let via = Ipv4Addr::new(10, 1, 2, 2);
        assert!(is_route_via(
            "172.20.0.5 via 10.1.2.2 dev eth0 proto bird metric 32",
            ip,
            via
        ));
        assert!(is_route_via(
            "172.20.0.5/32 via 10.1.2.2 dev eth0 proto 81",
            ip,
            via
        ));
        assert!(!is_route_via(
            "Deleted 172.20.0.5 via 10.1.2.2 dev eth0",
            ip,
            via
        ));
        assert!(!is_route_via("172.20.0.50 via 10.1.2.2 dev eth0", ip, via));
        assert!(!is_route_via("172.20.0.5 via 10.1.2.3 dev eth0", ip, via));
        assert!(!is_route_via("blackhole 172.20.0.5 proto 81", ip, via));
    }
}
