//! Waiting for the routes: every node has a route to every pod on the other nodes (what the
//! agents learned over BGP and installed), so `up` hands over a cluster whose routes are in
//! place.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::state::LabState;
use crate::prefix::Family;
use crate::process::run_ok;
use crate::route::KernelRoute;
use crate::wait::wait_for;

/// Waits until each node's most specific route to each pod of the other nodes is a unicast
/// route through a gateway (not the default route). Returns the routes still missing at the
/// deadline, one `node -> pod ip` per entry (empty when all are there).
pub fn wait_pod_routes(state: &LabState, timeout: Duration) -> Vec<String> {
    let mut missing = Vec::new();
    let done = wait_for(timeout, || {
        missing.clear();
        for node in &state.nodes {
            let routes = table(&node.ns);
            for other in state.nodes.iter().filter(|o| o.name != node.name) {
                for pod in &other.pods {
                    let Some(ip) = pod.ipv4 else { continue };
                    if !routes.as_ref().is_some_and(|r| routed(r, ip)) {
                        missing.push(format!(
                            "{} -> {ip} ({}/{})",
                            node.name, other.name, pod.name
                        ));
                    }
                }
            }
        }
        missing.is_empty().then_some(())
    });
    if done.is_some() { Vec::new() } else { missing }
}

/// The IPv4 main table of namespace `ns`.
fn table(ns: &str) -> Option<Vec<KernelRoute>> {
    let out = run_ok("ip", &["-n", ns, "-j", "-4", "route", "show"]).ok()?;
    KernelRoute::parse_json(&out, Family::V4).ok()
}

/// Whether the longest match for `ip` is a non-default unicast route with a gateway.
fn routed(routes: &[KernelRoute], ip: Ipv4Addr) -> bool {
    let best = routes
        .iter()
        .filter(|r| contains(r, ip))
        .max_by_key(|r| r.dst.len());
    best.is_some_and(|r| !r.dst.is_empty() && r.kind == "unicast" && !r.gateways.is_empty())
}

fn contains(route: &KernelRoute, ip: Ipv4Addr) -> bool {
    let IpAddr::V4(net) = route.dst.addr() else {
        return false;
    };
    let len = u32::from(route.dst.len());
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(net) & mask == u32::from(ip) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_match_decides() {
        let json = r#"[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]},
            {"dst":"192.168.0.64/26","type":"blackhole","flags":[]},
            {"dst":"192.168.0.128/26","gateway":"10.0.0.3","dev":"eth0","flags":[]}]"#;
        let routes = KernelRoute::parse_json(json, Family::V4).unwrap_or_default();
        assert_eq!(routes.len(), 3);
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED);
        assert!(routed(&routes, ip("192.168.0.130")));
        assert!(!routed(&routes, ip("192.168.0.70")));
        assert!(!routed(&routes, ip("192.168.1.1")));
    }
}
