//! Start-up repair of this node's pod routes: each WorkloadEndpoint of the node whose host
//! interface exists gets its `<ip>/32 dev <interface> scope link` route back if it went
//! missing (deleted by hand, lost in a crash between the CNI plugin's steps).

use std::net::IpAddr;

use brindle_api::Object;
use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_netlink::{Cidr, Netlink, RT_TABLE_MAIN, Route};

/// The host routes `endpoints` of `node` should have: (interface, address).
pub fn wanted(node: &str, endpoints: &[&Object<WorkloadEndpointSpec>]) -> Vec<(String, IpAddr)> {
    endpoints
        .iter()
        .filter(|e| e.spec.node.as_deref() == Some(node))
        .filter_map(|e| Some((e.spec.interface_name.clone()?, &e.spec.ip_networks)))
        .flat_map(|(ifname, nets)| {
            nets.iter()
                .filter_map(|n| n.split('/').next()?.parse::<IpAddr>().ok())
                .map(move |ip| (ifname.clone(), ip))
        })
        .collect()
}

/// Adds the missing ones; returns how many were repaired. Interfaces that do not exist are
/// skipped (their pod is gone; IPAM garbage collection is the runtime's business).
pub fn repair(protocol: u8, wanted: &[(String, IpAddr)]) -> Result<usize, String> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let mut nl = Netlink::open().map_err(|e| format!("repairing pod routes: {e}"))?;
    let links = nl
        .links()
        .map_err(|e| format!("repairing pod routes: {e}"))?;
    let mut repaired = 0;
    for (ifname, ip) in wanted {
        let Some(link) = links.iter().find(|l| &l.name == ifname) else {
            continue;
        };
        let route = Route::device(Cidr::host(*ip), link.index)
            .in_table(RT_TABLE_MAIN)
            .with_protocol(protocol);
        match nl.add_route(&route) {
            Ok(()) => {
                repaired += 1;
                eprintln!("node: repaired the route to pod address {ip} via {ifname}");
            }
            Err(e) if e.already_exists() => {}
            Err(e) => eprintln!("node: {e}"),
        }
    }
    Ok(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wep(node: &str, ifname: &str, nets: &[&str]) -> Object<WorkloadEndpointSpec> {
        Object::new(
            "w",
            WorkloadEndpointSpec {
                node: Some(node.into()),
                interface_name: Some(ifname.into()),
                ip_networks: nets.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn only_this_nodes_endpoints_with_addresses() {
        let a = wep("node1", "cali1", &["192.168.0.1/32", "fd00::1/128"]);
        let b = wep("node2", "cali2", &["192.168.0.65/32"]);
        let w = wanted("node1", &[&a, &b]);
        assert_eq!(
            w,
            vec![
                ("cali1".to_string(), "192.168.0.1".parse().expect("ip")),
                ("cali1".to_string(), "fd00::1".parse().expect("ip")),
            ]
        );
    }
}
