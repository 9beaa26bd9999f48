//! The node agent on a 3-node lab: full mesh, pod routes, blackholes, mesh off and on again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use brindle_lab::{Lab, is_root};
use support::agent::{MESH, Pod, assert_all_reach, block_of, cluster, wait_mesh};

#[test]
fn three_node_mesh_routes_pods_and_follows_the_mesh_setting() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, nodes) = cluster(&lab, 3, &lab.dir().join("datastore.db").into());
    wait_mesh(&hosts, &nodes);
    // What an operator sees: calicoctl's layout, and a ready health endpoint.
    let (ok, status) = nodes[0].status(&[]);
    assert!(ok, "{status}");
    assert!(
        status.starts_with("brindle-node is running.\nIPv4 BGP status\n"),
        "{status}"
    );
    for h in &hosts[1..] {
        let row = status
            .lines()
            .find(|l| l.contains(&format!("| {} ", h.ipv4())))
            .unwrap_or_else(|| panic!("no row for {} in\n{status}", h.ipv4()));
        assert!(
            row.contains(MESH) && row.contains("| up ") && row.contains("Established"),
            "{row}"
        );
    }
    assert!(
        status.contains("IPv6 BGP status\nNo IPv6 peers found."),
        "{status}"
    );
    assert_eq!(nodes[0].health("/liveness").0, 200);
    let ready = support::agent::wait_health(&nodes[0], 200);
    assert_eq!(ready.1.trim(), "ready");
    let pods: Vec<Pod> = nodes.iter().map(|n| Pod::add(n, "pod1")).collect();
    // Each node: a blackhole for its own block, the others' blocks via their IPs, proto brindle.
    for (i, n) in nodes.iter().enumerate() {
        let own = block_of(pods[i].ip);
        n.wait_route(&["blackhole", &own], true);
        for (j, h) in hosts.iter().enumerate() {
            if j != i {
                let via = format!("via {}", h.ipv4());
                n.wait_route(&[&block_of(pods[j].ip), &via, "proto"], true);
            }
        }
    }
    assert_all_reach(&pods, &nodes);
    // Mesh off: sessions and remote routes go, cross-node pings fail.
    nodes[0].apply(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n",
    );
    for n in &nodes {
        n.wait_peers(&[]);
    }
    let (_, status) = nodes[0].status(&[]);
    assert!(status.contains("No IPv4 peers found."), "{status}");
    nodes[0].wait_route(&[&block_of(pods[1].ip), "via"], false);
    assert!(pods[0].wait_ping(pods[1].ip, false));
    // Mesh on again: everything back.
    nodes[0].apply(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: true\n",
    );
    nodes[0].wait_route(&[&block_of(pods[1].ip), "via"], true);
    assert!(pods[0].wait_ping(pods[1].ip, true));
    drop(pods);
}

#[test]
fn dual_stack_nodes_peer_and_route_over_ipv6_too() {
    require_root!();
    let lab = Lab::new().unwrap();
    let store: support::agent::Store = lab.dir().join("datastore.db").into();
    let hosts: Vec<_> = (1..=2)
        .map(|i| lab.add_host(&format!("n{i}")).unwrap())
        .collect();
    let nodes: Vec<support::agent::Node> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let v6 = h.ipv6().to_string();
            support::agent::Node::start(
                h,
                &format!("node{}", i + 1),
                store.clone(),
                &["--ip6", &v6],
            )
        })
        .collect();
    nodes[0].apply(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: v6-pool\nspec:\n  cidr: fd00:10::/48\n  blockSize: 122\n",
    );
    for (n, other) in [(&nodes[0], &hosts[1]), (&nodes[1], &hosts[0])] {
        n.wait_peers(&[(other.ipv4().into(), MESH), (other.ipv6().into(), MESH)]);
    }
    let (_, status) = nodes[0].status(&[]);
    let v6 = status
        .split("IPv6 BGP status")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        v6.contains(&hosts[1].ipv6().to_string()) && v6.contains("| up "),
        "{status}"
    );
    let a = Pod::add_with(&nodes[0], "pod1", r#""assign_ipv6":"true","#);
    let b = Pod::add_with(&nodes[1], "pod1", r#""assign_ipv6":"true","#);
    let (a6, b6) = (a.ip6.expect("pod1 v6"), b.ip6.expect("pod2 v6"));
    assert!(a.wait_ping(b.ip, true), "{}", support::agent::dump(&nodes));
    assert!(
        a.wait_ping(b6, true),
        "{a6} -> {b6}\n{}",
        support::agent::dump(&nodes)
    );
}
