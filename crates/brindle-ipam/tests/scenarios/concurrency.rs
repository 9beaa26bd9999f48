//! 200 allocations from 3 nodes at once on one datastore.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use brindle_ipam::{CheckOptions, Ipam};

use super::{Env, v4};

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const TOTAL: usize = 200;
const THREADS_PER_NODE: usize = 4;

/// With strictAffinity every node's 200/3 addresses come from its own blocks; all are
/// distinct; releasing them all leaves nothing for the checker and empty blocks.
pub fn concurrent_strict_affinity(env: &Env) {
    env.pool("pool", "10.10.0.0/22", 26, |_| {});
    env.nodes(&NODES);
    env.ipam_config(true, 0);
    let got: Mutex<Vec<(String, IpAddr, String)>> = Mutex::new(Vec::new());
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        for (i, node) in NODES.iter().enumerate() {
            // Node i serves requests i, i+3, i+6… through its own datastore connection,
            // with several threads at once (as parallel CNI ADDs on one host).
            let ipam = env.connect();
            let next = std::sync::Arc::new(AtomicUsize::new(0));
            let mine: std::sync::Arc<Vec<usize>> =
                std::sync::Arc::new((i..TOTAL).step_by(3).collect());
            for _ in 0..THREADS_PER_NODE {
                let (ipam, next, mine, got) = (ipam.clone(), next.clone(), mine.clone(), &got);
                s.spawn(move || {
                    while let Some(k) = mine.get(next.fetch_add(1, Ordering::SeqCst)) {
                        let handle = format!("net.c{k}");
                        let a = ipam.assign(&v4(&handle, node)).unwrap();
                        got.lock()
                            .unwrap()
                            .push((node.to_string(), a.ipv4[0].ip, handle));
                    }
                });
            }
        }
    });
    let got = got.into_inner().unwrap();
    eprintln!("  {TOTAL} assignments: {:?}", t0.elapsed());
    let t0 = std::time::Instant::now();
    assert_eq!(got.len(), TOTAL);
    let distinct: BTreeSet<IpAddr> = got.iter().map(|g| g.1).collect();
    assert_eq!(distinct.len(), TOTAL, "an address was handed out twice");
    let ipam = env.ipam();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for (node, ip, handle) in &got {
        let info = ipam.lookup(*ip).unwrap();
        assert!(info.allocated);
        assert_eq!(info.handle.as_deref(), Some(handle.as_str()));
        assert_eq!(
            info.block_affinity.as_deref(),
            Some(node.as_str()),
            "{ip} not from {node}'s blocks"
        );
        *per_node.entry(node.clone()).or_default() += 1;
    }
    assert_eq!(per_node.values().sum::<usize>(), TOTAL);
    assert!(ipam.borrowed().unwrap().is_empty());
    let usage = ipam.pool_usage().unwrap();
    assert_eq!(usage[0].in_use, TOTAL as u128);
    // Everything is in use and consistent while the workloads exist.
    let live: BTreeSet<String> = got.iter().map(|g| g.2.clone()).collect();
    let opts = CheckOptions {
        workload_endpoints: false,
        live_handles: Some(live),
    };
    let report = ipam.check(&opts).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());

    eprintln!("  lookups and check: {:?}", t0.elapsed());
    let t0 = std::time::Instant::now();
    // Release all, concurrently from the three nodes' connections.
    let handles: Vec<String> = got.iter().map(|g| g.2.clone()).collect();
    std::thread::scope(|s| {
        for part in handles.chunks(TOTAL.div_ceil(6)) {
            let ipam: Ipam = env.connect();
            s.spawn(move || {
                for h in part {
                    assert_eq!(ipam.release_handle(h).unwrap(), 1);
                }
            });
        }
    });
    eprintln!("  {TOTAL} releases: {:?}", t0.elapsed());
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());
    for b in ipam.block_usage().unwrap() {
        assert_eq!(b.in_use, 0, "block {} not empty", b.cidr);
        assert!(b.affinity.is_some());
    }
    assert_eq!(ipam.pool_usage().unwrap()[0].in_use, 0);
}
