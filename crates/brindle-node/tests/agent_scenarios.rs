//! The node agent in the reference documents' scenarios: route reflectors chosen by labels,
//! agent restarts under traffic, and the start-up refusals for name and address conflicts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use brindle_lab::{Lab, is_root};
use support::agent::{MESH, Node, Pod, Store, assert_all_reach, cluster, dump, ip};

fn store(lab: &Lab) -> Store {
    lab.dir().join("datastore.db").into()
}

const MESH_OFF: &str = "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n";

#[test]
fn route_reflector_chosen_by_label_restores_connectivity_without_the_mesh() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, nodes) = cluster(&lab, 3, &store(&lab));
    nodes[0].wait_peers(&[(ip(&hosts[1]), MESH), (ip(&hosts[2]), MESH)]);
    let pods: Vec<Pod> = nodes.iter().map(|n| Pod::add(n, "pod1")).collect();
    assert!(pods[0].wait_ping(pods[1].ip, true), "{}", dump(&nodes));

    nodes[0].apply(MESH_OFF);
    for n in &nodes {
        n.wait_peers(&[]);
    }
    assert!(pods[0].wait_ping(pods[1].ip, false));

    // The reference documents' steps: a global peer at node3, node3 a route reflector with a
    // cluster ID and a rack label, and every node peering with the rack-3 nodes.
    nodes[0].apply(&format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer-to-rr\nspec:\n  peerIP: {}\n  asNumber: 64512\n",
        hosts[2].ipv4()
    ));
    nodes[0].ctl(&[
        "patch",
        "node",
        "node3",
        "-p",
        r#"{"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}"#,
    ]);
    nodes[0].ctl(&["label", "nodes", "node3", "rack=rack-3"]);
    nodes[0].apply(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer-with-rr\nspec:\n  nodeSelector: all()\n  peerSelector: rack == \"rack-3\"\n",
    );
    nodes[0].wait_peers(&[(ip(&hosts[2]), "global")]);
    nodes[1].wait_peers(&[(ip(&hosts[2]), "global")]);
    // The reflector's side: its sessions to both clients, from the selector peering.
    nodes[2].wait_peers(&[
        (ip(&hosts[0]), "node specific"),
        (ip(&hosts[1]), "node specific"),
    ]);
    assert_all_reach(&pods, &nodes);
    let status = nodes[0].ctl(&["get", "bgppeers"]);
    assert!(
        status.contains("peer-to-rr") && status.contains("peer-with-rr"),
        "{status}"
    );
}

#[test]
fn agent_restart_loses_no_packet() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, mut nodes) = cluster(&lab, 2, &store(&lab));
    nodes[0].wait_peers(&[(ip(&hosts[1]), MESH)]);
    let a = Pod::add(&nodes[0], "pod1");
    let b = Pod::add(&nodes[1], "pod1");
    assert!(a.wait_ping(b.ip, true), "{}", dump(&nodes));
    let ping = support::ping::Ping::start(&a, b.ip);
    std::thread::sleep(Duration::from_millis(500)); // traffic before the restart
    for n in nodes.iter_mut() {
        // SIGTERM: the agent leaves its routes; its peer keeps ours (graceful restart).
        n.process.take().expect("running").stop();
        n.spawn();
        n.wait_peers(&[(
            ip(if n.name == "node1" {
                &hosts[1]
            } else {
                &hosts[0]
            }),
            MESH,
        )]);
    }
    std::thread::sleep(Duration::from_millis(500)); // traffic after it
    let (sent, received) = ping.stop();
    assert!(sent > 50, "the ping ran ({sent} sent)");
    assert_eq!(
        sent,
        received,
        "lost {} of {sent} packets\n{}",
        sent - received,
        dump(&nodes)
    );
    assert!(nodes[0].log().contains("restarting"), "{}", nodes[0].log());
    // A pod route lost while the agent was down is back after its start.
    nodes[0].process.take().expect("running").stop();
    let pod_route = format!("{} dev cali", a.ip);
    hosts[0]
        .run("ip", &["route", "del", &a.ip.to_string()])
        .unwrap();
    nodes[0].wait_route(&[&pod_route], false);
    nodes[0].spawn();
    nodes[0].wait_route(&[&pod_route, "proto brindle"], true);
    assert!(a.wait_ping(b.ip, true));
}

#[test]
fn conflicting_name_or_address_is_refused_until_the_old_node_is_deleted() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, mut nodes) = cluster(&lab, 1, &store(&lab));
    let datastore = lab.dir().join("datastore.db");
    let other = lab.add_host("n2").unwrap();
    // Same address as node1 (a copied configuration, say).
    let ip1 = hosts[0].ipv4().to_string();
    let mut twin = Node {
        name: "node2".into(),
        ..Node::start_stopped(&other, "node2", &datastore, &["--ip", &ip1])
    };
    let (ok, out) = twin.run_once();
    assert!(!ok, "started with node1's address: {out}");
    assert!(
        out.contains(&ip1) && out.contains("node1") && out.contains("node2"),
        "{out}"
    );
    assert!(out.contains("brindlectl delete node node1"), "{out}");
    // Same name as node1 from another host.
    twin = Node::start_stopped(&other, "node1", &datastore, &[]);
    let (ok, out) = twin.run_once();
    assert!(!ok, "took node1's name over: {out}");
    assert!(
        out.contains("\"node1\" is already registered by another host"),
        "{out}"
    );
    // node1's host is gone for good: delete it, and the new host may take the name.
    nodes[0].process.take().expect("running").kill();
    nodes[0].ctl(&["delete", "node", "node1"]);
    twin.spawn();
    assert!(
        twin.process.as_ref().is_some_and(|p| p.is_running()),
        "{}",
        twin.log()
    );
}
