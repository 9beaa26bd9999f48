//! The node agent with routers around it: an external BGP router (the reference documents'
//! F5) peered through a global BGPPeer, two route reflectors of which one dies, and the mesh
//! on the etcd datastore.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use brindle_lab::{BgpConfig, BgpDaemon, Bird, IpPrefix, Lab, Neighbor, is_root, wait_for};
use support::agent::{
    MESH, Pod, Store, assert_all_reach, block_of, cluster, dump, ip, wait_health, wait_mesh,
};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const ROUTER_AS: u32 = 64513;

#[test]
fn external_router_learns_every_block_and_pods_reach_its_vip() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, nodes) = cluster(&lab, 3, &lab.dir().join("datastore.db").into());
    let rt = lab.add_host("rt").unwrap();
    rt.add_loopback_addr(&format!("{VIP}/32")).unwrap();
    let mut cfg = BgpConfig::for_host(&rt, ROUTER_AS)
        .route(&format!("{VIP}/32"))
        .install_routes(true);
    for h in &hosts {
        cfg = cfg.neighbor(Neighbor::new(ip(h), 64512));
    }
    nodes[0].apply(&format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: router\nspec:\n  peerIP: {}\n  asNumber: {ROUTER_AS}\n",
        rt.ipv4()
    ));
    // Before the router runs: not ready, and the detail says what is wrong in words.
    let (code, body) = wait_health(&nodes[0], 503);
    assert_eq!(code, 503);
    assert_eq!(
        body.trim(),
        format!("BGP not established with {}", rt.ipv4())
    );
    let detail = wait_for(Duration::from_secs(20), || {
        let (_, d) = nodes[0].status(&["--detail"]);
        d.contains(&format!("{}:179", rt.ipv4())).then_some(d)
    });
    assert!(detail.is_some(), "{:?}", nodes[0].status(&["--detail"]));
    let bird = Bird::start(&rt, &cfg).unwrap();
    for (i, n) in nodes.iter().enumerate() {
        let mut want: Vec<(IpAddr, &str)> = hosts
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, h)| (ip(h), MESH))
            .collect();
        want.push((ip(&rt), "global"));
        n.wait_peers(&want);
    }
    assert_eq!(wait_health(&nodes[0], 200).1.trim(), "ready");
    let (_, status) = nodes[0].status(&[]);
    let row = status
        .lines()
        .find(|l| l.contains(&format!("| {} ", rt.ipv4())))
        .unwrap_or_else(|| panic!("no router row in\n{status}"));
    assert!(row.contains("global") && row.contains("| up "), "{row}");
    let pods: Vec<Pod> = nodes.iter().map(|n| Pod::add(n, "pod1")).collect();
    // The router learns each node's block with that node as next hop.
    for (pod, h) in pods.iter().zip(&hosts) {
        let prefix: IpPrefix = block_of(pod.ip).parse().unwrap();
        let learned = wait_for(Duration::from_secs(20), || {
            bird.route(prefix).ok().filter(|r| !r.is_empty())
        });
        let paths = learned
            .unwrap_or_else(|| panic!("router never learned {prefix}\n{}", bird.log_tail(20)));
        // Only from its own node: the others do not pass the blocks they learned on.
        assert!(
            paths.iter().all(|p| p.next_hop == Some(ip(h))) && paths.len() == 1,
            "{prefix}: {paths:?}"
        );
    }
    // Every node installs the VIP via the router; every pod reaches it.
    for n in &nodes {
        n.wait_route(
            &[&VIP.to_string(), &format!("via {}", rt.ipv4()), "proto"],
            true,
        );
    }
    for p in &pods {
        assert!(
            p.wait_ping(VIP, true),
            "{} cannot reach the VIP\n{}",
            p.ns,
            dump(&nodes)
        );
    }
    // A BGPFilter on the router's BGPPeer refusing the VIP: it leaves every node's kernel
    // (the session stays up); without the filter it comes back.
    let vip_route = [VIP.to_string(), format!("via {}", rt.ipv4())];
    let vip_route: Vec<&str> = vip_route.iter().map(String::as_str).collect();
    nodes[0].apply(&format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata:\n  name: no-vip\nspec:\n  importV4:\n  - action: Reject\n    matchOperator: Equal\n    cidr: {VIP}/32\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: router\nspec:\n  peerIP: {}\n  asNumber: {ROUTER_AS}\n  filters: [no-vip]\n",
        rt.ipv4()
    ));
    for n in &nodes {
        n.wait_route(&vip_route, false);
    }
    assert_eq!(wait_health(&nodes[0], 200).0, 200, "the session stayed up");
    nodes[0].apply(&format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: router\nspec:\n  peerIP: {}\n  asNumber: {ROUTER_AS}\n",
        rt.ipv4()
    ));
    nodes[0].wait_route(&vip_route, true);
}

#[test]
fn two_route_reflectors_one_dies_and_traffic_keeps_flowing() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (hosts, mut nodes) = cluster(&lab, 4, &lab.dir().join("datastore.db").into());
    nodes[0].wait_peers(&[
        (ip(&hosts[1]), MESH),
        (ip(&hosts[2]), MESH),
        (ip(&hosts[3]), MESH),
    ]);
    // node3 and node4 reflect (one cluster), everybody peers with them, no mesh.
    for rr in ["node3", "node4"] {
        nodes[0].ctl(&[
            "patch",
            "node",
            rr,
            "-p",
            r#"{"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}"#,
        ]);
        nodes[0].ctl(&["label", "nodes", rr, "route-reflector=true"]);
    }
    nodes[0].apply(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer-with-rrs\nspec:\n  nodeSelector: all()\n  peerSelector: route-reflector == \"true\"\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n",
    );
    let rrs = [
        (ip(&hosts[2]), "node specific"),
        (ip(&hosts[3]), "node specific"),
    ];
    nodes[0].wait_peers(&rrs);
    nodes[1].wait_peers(&rrs);
    let a = Pod::add(&nodes[0], "pod1");
    let b = Pod::add(&nodes[1], "pod1");
    nodes[0].wait_route(
        &[&block_of(b.ip), &format!("via {}", hosts[1].ipv4())],
        true,
    );
    assert!(a.wait_ping(b.ip, true), "{}", dump(&nodes));
    let ping = support::ping::Ping::start(&a, b.ip);
    std::thread::sleep(Duration::from_millis(300));
    // node3 dies hard: its agent killed, its links gone.
    nodes[2].process.take().expect("running").kill();
    hosts[2].run("ip", &["link", "del", "eth0"]).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let (sent, received) = ping.stop();
    assert!(sent > 50, "the ping ran ({sent} sent)");
    assert_eq!(
        sent,
        received,
        "lost {} of {sent}\n{}",
        sent - received,
        dump(&nodes)
    );
    // The other reflector still serves both clients.
    nodes[0].wait_route(
        &[&block_of(b.ip), &format!("via {}", hosts[1].ipv4())],
        true,
    );
    assert!(
        nodes[3]
            .peers()
            .iter()
            .filter(|p| p.state == "Established")
            .count()
            >= 2
    );
}

#[test]
fn three_node_mesh_on_etcd() {
    require_root!();
    let lab = Lab::new().unwrap();
    let db = lab.add_host("db").unwrap();
    let url = format!("http://{}:2379", db.ipv4());
    let peer_url = format!("http://{}:2380", db.ipv4());
    let data = db.dir().join("etcd");
    let _etcd = db
        .spawn(
            "etcd",
            &[
                "--name",
                "lab",
                "--data-dir",
                data.to_str().unwrap(),
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
                "--initial-cluster",
                &format!("lab={peer_url}"),
                "--log-level",
                "error",
            ],
            "etcd.log",
        )
        .unwrap();
    let ctl = {
        let mut p = std::path::PathBuf::from(env!("CARGO_BIN_EXE_brindle-node"));
        p.set_file_name("brindlectl");
        p
    };
    let up = wait_for(Duration::from_secs(20), || {
        db.exec(
            ctl.to_str().unwrap(),
            &[
                "get",
                "ippools",
                "--datastore-type",
                "etcdv3",
                "--etcd-endpoints",
                &url,
            ],
        )
        .ok()
        .filter(|o| o.status.success())
    });
    assert!(up.is_some(), "etcd did not come up");
    let (hosts, nodes) = cluster(&lab, 3, &Store::Etcd(url));
    wait_mesh(&hosts, &nodes);
    let pods: Vec<Pod> = nodes.iter().map(|n| Pod::add(n, "pod1")).collect();
    for (i, n) in nodes.iter().enumerate() {
        n.wait_route(&["blackhole", &block_of(pods[i].ip)], true);
    }
    assert_all_reach(&pods, &nodes);
}
