//! (a) The convergence measurement: CNI ADDs on node1 one after the other, each new block's
//! route awaited in node2's and node3's kernels before the next ADD.

use std::time::Duration;

use crate::Res;
use crate::bins::Bins;
use crate::cluster::Cluster;
use crate::monitor::{RouteMonitor, is_route_via};
use crate::opts::Opts;
use crate::pods::{self, PodNamespaces};

/// One measured ADD.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The CNI ADD itself (spawn to exit).
    pub add: Duration,
    /// From just before the plugin was spawned until the route was in both other kernels.
    pub converged: Duration,
}

/// Runs `o.warmup` + `o.pods` ADDs on node1; returns the samples after the warm-up.
pub fn run(cluster: &Cluster, bins: &Bins, o: &Opts) -> Res<Vec<Sample>> {
    let node1 = &cluster.nodes[0];
    let via = node1.host.ipv4();
    let watchers = cluster.nodes[1..]
        .iter()
        .map(|n| RouteMonitor::start(n.host.ns()).map(|m| (n, m)))
        .collect::<Res<Vec<_>>>()?;
    let total = o.warmup + o.pods;
    let netns = PodNamespaces::create(node1, total)?;
    let config = pods::network_config(cluster, node1);
    let mut samples = Vec::with_capacity(o.pods);
    for i in 0..total {
        let pod = format!("pod{i}");
        let added = pods::add(bins, node1, &config, netns.name(i), &pod)?;
        let mut last = added.started;
        for (node, monitor) in &watchers {
            let seen = monitor.wait(
                |l| is_route_via(l, added.ip, via),
                added.started,
                o.timeout_route,
            );
            let Some(at) = seen else {
                return Err(format!(
                    "block {}/32 (pod {i}): no route via {via} in {}'s kernel within {} s",
                    added.ip,
                    node.name,
                    o.timeout_route.as_secs()
                ));
            };
            last = last.max(at);
        }
        if i >= o.warmup {
            samples.push(Sample {
                add: added.took,
                converged: last - added.started,
            });
        }
        if (i + 1) % 10 == 0 {
            eprintln!("lab-bench: {}: {}/{total}", cluster.routing.label(), i + 1);
        }
    }
    Ok(samples)
}
