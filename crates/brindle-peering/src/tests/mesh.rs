//! The node-to-node mesh.

use brindle_api::AsNumber;
use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::common::{BgpPassword, SecretKeySelector};
use brindle_bgp::model::Family;
use brindle_bgp::speaker::NextHopMode;

use super::fixtures::*;
use crate::{Inputs, MESH, NodeView, compute};

#[test]
fn three_nodes_each_mesh_with_the_other_two() {
    let inputs = Inputs {
        nodes: three_nodes(),
        ..Inputs::default()
    };
    for (local, own, others) in [
        ("node1", "10.0.0.1", ["10.0.0.2", "10.0.0.3"]),
        ("node2", "10.0.0.2", ["10.0.0.1", "10.0.0.3"]),
        ("node3", "10.0.0.3", ["10.0.0.1", "10.0.0.2"]),
    ] {
        let d = compute(local, &inputs);
        assert_eq!(d.asn, 64512);
        assert_eq!(d.listen_port, 179);
        assert_eq!(d.cluster_id, None);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert!(d.filters.is_empty());
        assert_eq!(
            summary(&d),
            pairs(&[(others[0], MESH), (others[1], MESH)]),
            "{local}"
        );
        for p in &d.peers {
            assert_eq!(p.remote_as, 64512);
            assert_eq!(p.port, 179);
            assert_eq!(p.source, Some(ip(own)));
            assert_eq!(p.families, vec![Family::Ipv4Unicast]);
            assert!(!p.rr_client);
            assert_eq!(p.next_hop, NextHopMode::Auto);
            assert_eq!(p.hold_time, 90);
            assert!(p.graceful_restart);
        }
    }
}

#[test]
fn mesh_off_gives_no_sessions() {
    let inputs = Inputs {
        nodes: three_nodes(),
        global: mesh_off(),
        ..Inputs::default()
    };
    for local in ["node1", "node2", "node3"] {
        let d = compute(local, &inputs);
        assert!(d.peers.is_empty(), "{local}: {:?}", summary(&d));
        assert!(d.problems.is_empty());
    }
}

/// The per-node BGPConfiguration cannot turn the mesh off: Calico reads the setting from
/// `default` only.
#[test]
fn mesh_setting_is_global_only() {
    let inputs = Inputs {
        nodes: three_nodes(),
        node_config: mesh_off(),
        ..Inputs::default()
    };
    assert_eq!(compute("node1", &inputs).peers.len(), 2);
}

/// Exactly one side of each mesh session waits: the one whose peer's address is greater as
/// text, as confd's template compares (so 10.0.0.9 > 10.0.0.10).
#[test]
fn the_greater_address_as_text_is_passive() {
    let inputs = Inputs {
        nodes: vec![
            node("a", "10.0.0.9"),
            node("b", "10.0.0.10"),
            node("c", "10.0.0.2"),
        ],
        ..Inputs::default()
    };
    let a = compute("a", &inputs);
    let b = compute("b", &inputs);
    assert!(!session(&a, "10.0.0.10").passive);
    assert!(session(&b, "10.0.0.9").passive);
    assert!(!session(&a, "10.0.0.2").passive);
    assert!(session(&compute("c", &inputs), "10.0.0.9").passive);
    for (x, y) in [("a", "b"), ("a", "c"), ("b", "c")] {
        let dx = compute(x, &inputs);
        let dy = compute(y, &inputs);
        let ax = inputs
            .nodes
            .iter()
            .find(|n| n.name == x)
            .and_then(|n| n.ipv4);
        let ay = inputs
            .nodes
            .iter()
            .find(|n| n.name == y)
            .and_then(|n| n.ipv4);
        let (Some(ax), Some(ay)) = (ax, ay) else {
            panic!("fixture nodes have addresses");
        };
        let px = session(&dx, &ay.to_string()).passive;
        let py = session(&dy, &ax.to_string()).passive;
        assert!(px != py, "{x}/{y}: exactly one side is passive");
    }
}

#[test]
fn ipv6_sessions_only_between_nodes_with_ipv6() {
    let mut nodes = three_nodes();
    nodes[0].ipv6 = Some("fd00::1".parse().expect("v6"));
    nodes[1].ipv6 = Some("fd00::2".parse().expect("v6"));
    let inputs = Inputs {
        nodes,
        ..Inputs::default()
    };
    let d = compute("node1", &inputs);
    assert_eq!(
        summary(&d),
        pairs(&[("10.0.0.2", MESH), ("10.0.0.3", MESH), ("fd00::2", MESH)])
    );
    let v6 = session(&d, "fd00::2");
    assert_eq!(v6.families, vec![Family::Ipv6Unicast]);
    assert_eq!(v6.source, Some(ip("fd00::1")));
    assert!(v6.passive);
    // node3 has no IPv6 address: no IPv6 sessions.
    let d3 = compute("node3", &inputs);
    assert_eq!(
        summary(&d3),
        pairs(&[("10.0.0.1", MESH), ("10.0.0.2", MESH)])
    );
}

#[test]
fn a_node_without_ipv4_has_no_ipv4_sessions() {
    let inputs = Inputs {
        nodes: vec![
            NodeView {
                name: "v6only".into(),
                ipv6: Some("fd00::9".parse().expect("v6")),
                ..NodeView::default()
            },
            NodeView {
                name: "dual".into(),
                ipv4: Some(ip4("10.0.0.1")),
                ipv6: Some("fd00::1".parse().expect("v6")),
                ..NodeView::default()
            },
            node("v4only", "10.0.0.2"),
        ],
        ..Inputs::default()
    };
    assert_eq!(
        summary(&compute("v6only", &inputs)),
        pairs(&[("fd00::1", MESH)])
    );
    assert_eq!(
        summary(&compute("dual", &inputs)),
        pairs(&[("10.0.0.2", MESH), ("fd00::9", MESH)])
    );
}

#[test]
fn remote_as_is_the_other_nodes_and_ours_comes_from_node_then_configs() {
    let mut nodes = three_nodes();
    nodes[1].asn = Some(65002);
    let global = Some(BgpConfigurationSpec {
        as_number: Some(AsNumber(64999)),
        ..BgpConfigurationSpec::default()
    });
    let inputs = Inputs {
        nodes,
        global: global.clone(),
        ..Inputs::default()
    };
    let d1 = compute("node1", &inputs);
    assert_eq!(d1.asn, 64999);
    assert_eq!(session(&d1, "10.0.0.2").remote_as, 65002);
    assert_eq!(session(&d1, "10.0.0.3").remote_as, 64999);
    let d2 = compute("node2", &inputs);
    assert_eq!(d2.asn, 65002);
    assert_eq!(session(&d2, "10.0.0.1").remote_as, 64999);
    // A per-node configuration's AS applies to that node only, under its Node's own.
    let with_node_config = Inputs {
        node_config: Some(BgpConfigurationSpec {
            as_number: Some(AsNumber(65003)),
            ..BgpConfigurationSpec::default()
        }),
        ..inputs.clone()
    };
    assert_eq!(compute("node3", &with_node_config).asn, 65003);
    assert_eq!(compute("node2", &with_node_config).asn, 65002);
    // Nothing set anywhere: 64512.
    let bare = Inputs {
        nodes: three_nodes(),
        ..Inputs::default()
    };
    assert_eq!(compute("node1", &bare).asn, 64512);
}

#[test]
fn listen_ports_come_from_the_node_then_the_global_configuration() {
    let yaml = "
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {listenPort: 1790}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.node3}
spec: {listenPort: 1791}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node3}
spec: {bgp: {ipv4Address: 10.0.0.3/24}}
";
    let d1 = desired_yaml("node1", yaml);
    assert_eq!(d1.listen_port, 1790);
    assert_eq!(session(&d1, "10.0.0.2").port, 1790);
    assert_eq!(session(&d1, "10.0.0.3").port, 1791);
    let d3 = desired_yaml("node3", yaml);
    assert_eq!(d3.listen_port, 1791);
    assert_eq!(session(&d3, "10.0.0.1").port, 1790);
}

#[test]
fn route_reflectors_take_no_part_in_the_mesh() {
    let mut nodes = three_nodes();
    nodes[2].rr_cluster_id = Some(ip4("224.0.0.1"));
    let inputs = Inputs {
        nodes,
        ..Inputs::default()
    };
    assert_eq!(
        summary(&compute("node1", &inputs)),
        pairs(&[("10.0.0.2", MESH)])
    );
    let d3 = compute("node3", &inputs);
    assert!(d3.peers.is_empty());
    assert_eq!(d3.cluster_id, Some(ip4("224.0.0.1")));
}

#[test]
fn an_unknown_local_node_has_no_sessions_and_says_why() {
    let inputs = Inputs {
        nodes: three_nodes(),
        ..Inputs::default()
    };
    let d = compute("node9", &inputs);
    assert!(d.peers.is_empty());
    assert_eq!(d.asn, 64512);
    assert_eq!(d.problems.len(), 1);
    assert!(d.problems[0].contains("\"node9\""), "{:?}", d.problems);
}

#[test]
fn a_mesh_password_secret_is_reported_and_the_mesh_still_runs() {
    let inputs = Inputs {
        nodes: three_nodes(),
        global: Some(BgpConfigurationSpec {
            node_mesh_password: Some(BgpPassword {
                secret_key_ref: Some(SecretKeySelector {
                    name: "bgp-secrets".into(),
                    key: "mesh".into(),
                    optional: None,
                }),
            }),
            ..BgpConfigurationSpec::default()
        }),
        ..Inputs::default()
    };
    let d = compute("node1", &inputs);
    assert_eq!(d.peers.len(), 2);
    assert!(d.peers.iter().all(|p| p.password.is_none()));
    assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
    assert!(d.problems[0].contains("spec.nodeMeshPassword"));
}
