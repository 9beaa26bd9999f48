//! `check`: every pod pings every other pod, and the router's VIP when there is a router;
//! pings run concurrently, a failed pair is retried (up to 3 tries within about 3 s) before
//! it counts as a failure.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::state::LabState;
use crate::process::{COMMAND_TIMEOUT, run};

/// Tries per pair.
const TRIES: usize = 3;

/// No new try starts after this long (a try takes up to a second).
const RETRY_WINDOW: Duration = Duration::from_secs(2);

/// Pings in flight at once.
const MAX_PARALLEL: usize = 32;

/// A ping source (a pod).
#[derive(Debug, Clone)]
struct Source {
    label: String,
    ns: String,
}

/// The result of [`check`]: who reached whom.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Row labels: the pods (`node1/pod1`).
    pub sources: Vec<String>,
    /// Column labels: the pods, then the VIP if any.
    pub targets: Vec<String>,
    /// `cells[row][column]`: `None` for a pod and itself, else whether the ping got through.
    pub cells: Vec<Vec<Option<bool>>>,
    /// Pods without an address (not pinged at all).
    pub unaddressed: Vec<String>,
    /// Whether the last column is the router's VIP.
    pub has_vip: bool,
}

impl CheckReport {
    /// Whether every ping got through (and every pod has an address).
    pub fn passed(&self) -> bool {
        self.unaddressed.is_empty() && self.cells.iter().flatten().all(|c| *c != Some(false))
    }
}

/// Runs the ping matrix of the lab.
pub fn check(state: &LabState) -> CheckReport {
    let mut sources = Vec::new();
    let mut targets: Vec<(String, Ipv4Addr)> = Vec::new();
    let mut unaddressed = Vec::new();
    for n in &state.nodes {
        for p in &n.pods {
            let label = format!("{}/{}", n.name, p.name);
            match p.ipv4 {
                Some(ip) => {
                    sources.push(Source {
                        label: label.clone(),
                        ns: p.ns.clone(),
                    });
                    targets.push((label, ip));
                }
                None => unaddressed.push(label),
            }
        }
    }
    let has_vip = state.router.is_some();
    if let Some(r) = &state.router {
        targets.push((format!("VIP {}", r.vip), r.vip));
    }
    let jobs: Vec<(usize, usize)> = (0..sources.len())
        .flat_map(|s| (0..targets.len()).map(move |t| (s, t)))
        .filter(|&(s, t)| s != t)
        .collect();
    let cells = Mutex::new(vec![vec![None; targets.len()]; sources.len()]);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.len().min(MAX_PARALLEL) {
            scope.spawn(|| {
                while let Some(&(s, t)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ok = ping_with_retries(&sources[s].ns, targets[t].1);
                    if let Ok(mut c) = cells.lock() {
                        c[s][t] = Some(ok);
                    }
                }
            });
        }
    });
    CheckReport {
        sources: sources.into_iter().map(|s| s.label).collect(),
        targets: targets.into_iter().map(|t| t.0).collect(),
        cells: cells
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        unaddressed,
        has_vip,
    }
}

fn ping_with_retries(ns: &str, ip: Ipv4Addr) -> bool {
    let started = Instant::now();
    let ip = ip.to_string();
    for attempt in 0..TRIES {
        if attempt > 0 && started.elapsed() > RETRY_WINDOW {
            break;
        }
        let out = run(
            "ip",
            &[
                "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", &ip,
            ],
            COMMAND_TIMEOUT,
        );
        if out.is_ok_and(|o| o.status.success()) {
            return true;
        }
    }
    false
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self
            .sources
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max("from \\ to".len());
        write!(f, "{:<first$}", "from \\ to")?;
        for t in &self.targets {
            write!(f, "  {t}")?;
        }
        writeln!(f)?;
        for (s, row) in self.sources.iter().zip(&self.cells) {
            let mut line = format!("{s:<first$}");
            for (t, cell) in self.targets.iter().zip(row) {
                let text = match cell {
                    None => "-",
                    Some(true) => "ok",
                    Some(false) => "FAIL",
                };
                line.push_str(&format!("  {text:<width$}", width = t.len()));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        let count = |vip: bool| {
            let (mut ok, mut all) = (0, 0);
            for row in &self.cells {
                for (i, c) in row.iter().enumerate() {
                    let is_vip = self.has_vip && i + 1 == row.len();
                    if is_vip == vip
                        && let Some(c) = c
                    {
                        all += 1;
                        ok += usize::from(*c);
                    }
                }
            }
            (ok, all)
        };
        let (pod_ok, pod_all) = count(false);
        write!(f, "{pod_ok}/{pod_all} pod pairs ok")?;
        if self.has_vip {
            let (vip_ok, vip_all) = count(true);
            write!(f, ", {vip_ok}/{vip_all} pods reach the VIP")?;
        }
        if !self.unaddressed.is_empty() {
            write!(
                f,
                ", pods without an address: {}",
                self.unaddressed.join(" ")
            )?;
        }
        write!(f, ": {}", if self.passed() { "PASS" } else { "FAIL" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_matrix_and_a_verdict() {
        let r = CheckReport {
            sources: vec!["node1/pod1".into(), "node2/pod1".into()],
            targets: vec![
                "node1/pod1".into(),
                "node2/pod1".into(),
                "VIP 10.99.0.1".into(),
            ],
            cells: vec![
                vec![None, Some(true), Some(true)],
                vec![Some(false), None, Some(true)],
            ],
            unaddressed: vec![],
            has_vip: true,
        };
        let text = r.to_string();
        assert!(text.contains("node2/pod1  FAIL        -  "), "{text}");
        assert!(
            text.ends_with("1/2 pod pairs ok, 2/2 pods reach the VIP: FAIL"),
            "{text}"
        );
        assert!(!r.passed());
    }
}
