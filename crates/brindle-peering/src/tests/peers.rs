//! Which BGPPeers apply where, and which session wins an address.

use brindle_api::AsNumber;
use brindle_api::resources::bgp_peer::BgpPeerSpec;

use super::fixtures::*;
use crate::{GLOBAL, Inputs, MESH, NODE_SPECIFIC, PeerView, compute};

fn to_ip(ip: &str, asn: u32) -> BgpPeerSpec {
    BgpPeerSpec {
        peer_ip: Some(ip.to_string()),
        as_number: Some(AsNumber(asn)),
        ..BgpPeerSpec::default()
    }
}

fn cluster(peers: Vec<PeerView>) -> Inputs {
    let mut nodes = three_nodes();
    nodes[0].labels = labels(&[("rack", "rack-1")]);
    nodes[1].labels = labels(&[("rack", "rack-2")]);
    nodes[2].labels = labels(&[("rack", "rack-1")]);
    Inputs {
        nodes,
        peers,
        global: mesh_off(),
        node_config: None,
    }
}

#[test]
fn a_global_peer_applies_to_every_node() {
    let inputs = cluster(vec![peer("tor", to_ip("192.0.2.1", 65000))]);
    for local in ["node1", "node2", "node3"] {
        let d = compute(local, &inputs);
        assert_eq!(summary(&d), pairs(&[("192.0.2.1", GLOBAL)]), "{local}");
        let p = session(&d, "192.0.2.1");
        assert_eq!((p.remote_as, p.port, p.passive), (65000, 179, false));
    }
}

#[test]
fn a_peer_for_another_node_is_not_applied() {
    let inputs = cluster(vec![peer(
        "tor-for-node2",
        BgpPeerSpec {
            node: Some("node2".into()),
            ..to_ip("192.0.2.1", 65000)
        },
    )]);
    assert!(compute("node1", &inputs).peers.is_empty());
    assert!(compute("node3", &inputs).peers.is_empty());
    assert_eq!(
        summary(&compute("node2", &inputs)),
        pairs(&[("192.0.2.1", NODE_SPECIFIC)])
    );
}

#[test]
fn a_node_selector_picks_the_local_nodes_by_label() {
    let inputs = cluster(vec![peer(
        "rack-1-tor",
        BgpPeerSpec {
            node_selector: Some("rack == 'rack-1'".into()),
            ..to_ip("192.0.2.1", 65000)
        },
    )]);
    assert_eq!(compute("node1", &inputs).peers.len(), 1);
    assert!(compute("node2", &inputs).peers.is_empty());
    assert_eq!(
        summary(&compute("node3", &inputs)),
        pairs(&[("192.0.2.1", NODE_SPECIFIC)])
    );
}

/// Calico reads `nodeSelector` before `node`; empty strings are unset.
#[test]
fn node_selector_before_node_and_empty_means_unset() {
    let both = cluster(vec![peer(
        "both",
        BgpPeerSpec {
            node: Some("node2".into()),
            node_selector: Some("rack == 'rack-1'".into()),
            ..to_ip("192.0.2.1", 65000)
        },
    )]);
    assert_eq!(compute("node1", &both).peers.len(), 1);
    assert!(compute("node2", &both).peers.is_empty());
    let empty = cluster(vec![peer(
        "empty",
        BgpPeerSpec {
            node: Some(String::new()),
            node_selector: Some(String::new()),
            peer_selector: Some(String::new()),
            ..to_ip("192.0.2.1", 65000)
        },
    )]);
    for local in ["node1", "node2"] {
        assert_eq!(
            summary(&compute(local, &empty)),
            pairs(&[("192.0.2.1", GLOBAL)])
        );
    }
}

/// A global BGPPeer at node1's address: node1 skips itself, and gets the reverse sessions.
#[test]
fn the_own_address_is_skipped() {
    let inputs = cluster(vec![peer("to-node1", to_ip("10.0.0.1", 64512))]);
    let d1 = compute("node1", &inputs);
    assert_eq!(
        summary(&d1),
        pairs(&[("10.0.0.2", NODE_SPECIFIC), ("10.0.0.3", NODE_SPECIFIC)])
    );
    assert_eq!(
        summary(&compute("node2", &inputs)),
        pairs(&[("10.0.0.1", GLOBAL)])
    );
}

/// "a global peer suppresses a duplicate node-specific one to the same address", whatever the
/// names; between peers of one kind, the first by name wins.
#[test]
fn global_beats_node_specific_and_names_break_ties() {
    let inputs = cluster(vec![
        peer(
            "z-global",
            BgpPeerSpec {
                ttl_security: Some(1),
                ..to_ip("192.0.2.1", 65000)
            },
        ),
        peer(
            "a-node1",
            BgpPeerSpec {
                node: Some("node1".into()),
                ttl_security: Some(2),
                ..to_ip("192.0.2.1", 65000)
            },
        ),
        peer("b-global", to_ip("192.0.2.7", 65001)),
        peer("c-global", to_ip("192.0.2.7", 65002)),
    ]);
    let d = compute("node1", &inputs);
    assert_eq!(
        summary(&d),
        pairs(&[("192.0.2.1", GLOBAL), ("192.0.2.7", GLOBAL)])
    );
    assert_eq!(session(&d, "192.0.2.1").ttl_security, Some(1));
    assert_eq!(session(&d, "192.0.2.7").remote_as, 65001);
}

/// Our choice where confd would configure two BIRD sessions to one address: the mesh comes
/// first.
#[test]
fn the_mesh_beats_an_explicit_peer_to_a_member() {
    let mut inputs = cluster(vec![peer(
        "to-node2",
        BgpPeerSpec {
            ttl_security: Some(1),
            ..to_ip("10.0.0.2", 64512)
        },
    )]);
    inputs.global = None;
    let d = compute("node1", &inputs);
    assert_eq!(
        summary(&d),
        pairs(&[("10.0.0.2", MESH), ("10.0.0.3", MESH)])
    );
    assert_eq!(session(&d, "10.0.0.2").ttl_security, None);
}

#[test]
fn peer_ip_ports() {
    let mut inputs = cluster(vec![
        peer("tor-port", to_ip("192.0.2.1:1179", 65000)),
        peer("tor-v6", to_ip("[fd00::99]:1179", 65000)),
        peer("node3-same-as", to_ip("10.0.0.3", 64512)),
    ]);
    inputs.nodes[0].ipv6 = Some("fd00::1".parse().expect("v6"));
    inputs.nodes[2].listen_port = Some(1791);
    let d = compute("node1", &inputs);
    assert_eq!(session(&d, "192.0.2.1").port, 1179);
    assert_eq!(session(&d, "fd00::99").port, 1179);
    // "If port number is not set, and peer is Calico node with listenPort set, then
    // listenPort is used."
    assert_eq!(session(&d, "10.0.0.3").port, 1791);
    // Not when the AS differs from the node's.
    inputs.peers[2] = peer("node3-other-as", to_ip("10.0.0.3", 65000));
    assert_eq!(session(&compute("node1", &inputs), "10.0.0.3").port, 179);
    // node2 has no IPv6 address: no IPv6 session.
    assert!(
        compute("node2", &inputs)
            .peers
            .iter()
            .all(|p| p.address.is_ipv4())
    );
}

/// A BGPPeer with only a peerSelector is global: every node peers with the selected nodes.
#[test]
fn a_global_peer_selector() {
    let inputs = cluster(vec![peer(
        "to-rack-2",
        BgpPeerSpec {
            peer_selector: Some("rack == 'rack-2'".into()),
            ..BgpPeerSpec::default()
        },
    )]);
    assert_eq!(
        summary(&compute("node1", &inputs)),
        pairs(&[("10.0.0.2", GLOBAL)])
    );
    assert_eq!(
        summary(&compute("node2", &inputs)),
        pairs(&[("10.0.0.1", NODE_SPECIFIC), ("10.0.0.3", NODE_SPECIFIC)])
    );
}

#[test]
fn unusable_peers_are_reported_and_skipped() {
    let inputs = cluster(vec![
        peer(
            "bad-node-selector",
            BgpPeerSpec {
                node_selector: Some("rack ==".into()),
                ..to_ip("192.0.2.1", 65000)
            },
        ),
        peer(
            "bad-peer-selector",
            BgpPeerSpec {
                peer_selector: Some("has(rack".into()),
                ..BgpPeerSpec::default()
            },
        ),
        peer("bad-ip", to_ip("router.example", 65000)),
        peer(
            "no-as",
            BgpPeerSpec {
                peer_ip: Some("192.0.2.3".into()),
                ..BgpPeerSpec::default()
            },
        ),
        peer("nothing", BgpPeerSpec::default()),
        peer("fine", to_ip("192.0.2.9", 65000)),
    ]);
    let d = compute("node1", &inputs);
    assert_eq!(summary(&d), pairs(&[("192.0.2.9", GLOBAL)]));
    let expect = [
        ("bad-ip", "spec.peerIP"),
        ("bad-node-selector", "spec.nodeSelector"),
        ("bad-peer-selector", "spec.peerSelector"),
        ("no-as", "spec.asNumber"),
        ("nothing", "spec.peerIP"),
    ];
    assert_eq!(d.problems.len(), expect.len(), "{:?}", d.problems);
    for ((name, field), line) in expect.iter().zip(&d.problems) {
        assert!(
            line.starts_with(&format!("BGPPeer {name:?}: {field}: ")),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
    assert!(d.problems[1].contains("column"), "{}", d.problems[1]);
}

#[test]
fn duplicate_names_are_reported() {
    let inputs = cluster(vec![
        peer("tor", to_ip("192.0.2.1", 65000)),
        peer("tor", to_ip("192.0.2.2", 65000)),
    ]);
    let d = compute("node1", &inputs);
    assert_eq!(d.peers.len(), 1);
    assert_eq!(d.problems.len(), 1);
    let mut swapped = inputs.clone();
    swapped.peers.reverse();
    assert_eq!(compute("node1", &swapped), d);
}
