//! Route reflectors, as in Calico's "Configure BGP peering" guide: the mesh off, node3 a route
//! reflector every node peers with, and the reverse peerings that give the reflector its
//! clients.

use super::fixtures::*;
use crate::{GLOBAL, MESH, NODE_SPECIFIC, compute};

const NODES: &str = "
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
metadata:
  name: node3
  labels: {rack: rack-3}
spec: {bgp: {ipv4Address: 10.0.0.3/24, routeReflectorClusterID: 224.0.0.1}}
";

const MESH_OFF: &str = "
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
";

const GLOBAL_TO_NODE3: &str = "
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: global-node3}
spec: {peerIP: 10.0.0.3, asNumber: 64512}
";

const SELECT_RACK_3: &str = "
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-rack-3}
spec:
  nodeSelector: all()
  peerSelector: rack == 'rack-3'
";

/// The reference scenario: the global BGPPeer to node3's address and the selector BGPPeer give
/// node1 and node2 the same address; the global one wins. On node3, the global peer is its own
/// address and the selector selects only itself: its sessions are the reverse peerings, and
/// node1 and node2 are its clients.
#[test]
fn global_and_selector_peers_with_a_route_reflector() {
    let yaml = format!("{NODES}{MESH_OFF}{GLOBAL_TO_NODE3}{SELECT_RACK_3}");
    for (local, own) in [("node1", "10.0.0.1"), ("node2", "10.0.0.2")] {
        let d = desired_yaml(local, &yaml);
        assert_eq!(summary(&d), pairs(&[("10.0.0.3", GLOBAL)]), "{local}");
        let p = session(&d, "10.0.0.3");
        assert!(!p.rr_client);
        assert_eq!(p.remote_as, 64512);
        assert_eq!(p.source, Some(ip(own)));
        // A global peer at a node's address follows the mesh's passive rule.
        assert!(p.passive);
        assert_eq!(d.cluster_id, None);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }
    let d3 = desired_yaml("node3", &yaml);
    assert_eq!(d3.cluster_id, Some(ip4("224.0.0.1")));
    assert_eq!(
        summary(&d3),
        pairs(&[("10.0.0.1", NODE_SPECIFIC), ("10.0.0.2", NODE_SPECIFIC)])
    );
    for p in &d3.peers {
        assert!(p.rr_client, "{}", p.address);
        assert!(!p.passive);
        assert_eq!(p.remote_as, 64512);
        assert_eq!(p.source, Some(ip("10.0.0.3")));
    }
}

/// Either BGPPeer alone is enough: the reverse pass gives node3 its sessions.
#[test]
fn each_peer_alone_reaches_the_reflector_both_ways() {
    for (extra, kind) in [(GLOBAL_TO_NODE3, GLOBAL), (SELECT_RACK_3, NODE_SPECIFIC)] {
        let yaml = format!("{NODES}{MESH_OFF}{extra}");
        let d1 = desired_yaml("node1", &yaml);
        assert_eq!(summary(&d1), pairs(&[("10.0.0.3", kind)]));
        let d3 = desired_yaml("node3", &yaml);
        assert_eq!(
            summary(&d3),
            pairs(&[("10.0.0.1", NODE_SPECIFIC), ("10.0.0.2", NODE_SPECIFIC)])
        );
        assert!(d3.peers.iter().all(|p| p.rr_client));
    }
}

/// A peerIP BGPPeer is reversed only on the node with that address and that AS.
#[test]
fn a_peer_ip_with_another_as_is_not_reversed() {
    let other_as = "
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: global-node3}
spec: {peerIP: 10.0.0.3, asNumber: 65000}
";
    let yaml = format!("{NODES}{MESH_OFF}{other_as}");
    assert_eq!(
        summary(&desired_yaml("node1", &yaml)),
        pairs(&[("10.0.0.3", GLOBAL)])
    );
    assert!(desired_yaml("node3", &yaml).peers.is_empty());
}

const TWO_REFLECTORS: &str = "
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node1}
spec: {bgp: {ipv4Address: 10.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node2}
spec: {bgp: {ipv4Address: 10.0.0.2}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node3
  labels: {route-reflector: 'true'}
spec: {bgp: {ipv4Address: 10.0.0.3, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node4
  labels: {route-reflector: 'true'}
spec: {bgp: {ipv4Address: 10.0.0.4, routeReflectorClusterID: CLUSTER4}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-route-reflectors}
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
";

/// Two reflectors of one cluster, the mesh left on for the other nodes: clients mesh with each
/// other and peer with both reflectors; the reflectors peer with each other as non-clients.
#[test]
fn two_reflectors_of_one_cluster() {
    let yaml = TWO_REFLECTORS.replace("CLUSTER4", "224.0.0.1");
    let d1 = desired_yaml("node1", &yaml);
    assert_eq!(
        summary(&d1),
        pairs(&[
            ("10.0.0.2", MESH),
            ("10.0.0.3", NODE_SPECIFIC),
            ("10.0.0.4", NODE_SPECIFIC)
        ])
    );
    assert!(d1.peers.iter().all(|p| !p.rr_client));
    for (local, other) in [("node3", "10.0.0.4"), ("node4", "10.0.0.3")] {
        let d = desired_yaml(local, &yaml);
        let mut want = vec![
            ("10.0.0.1", NODE_SPECIFIC),
            ("10.0.0.2", NODE_SPECIFIC),
            (other, NODE_SPECIFIC),
        ];
        want.sort();
        assert_eq!(summary(&d), pairs(&want), "{local}");
        assert!(session(&d, "10.0.0.1").rr_client);
        assert!(session(&d, "10.0.0.2").rr_client);
        assert!(!session(&d, other).rr_client, "same cluster: not a client");
    }
}

/// A reflector of another cluster is a client ("has a different one").
#[test]
fn a_reflector_of_another_cluster_is_a_client() {
    let yaml = TWO_REFLECTORS.replace("CLUSTER4", "224.0.0.2");
    let d3 = desired_yaml("node3", &yaml);
    assert!(session(&d3, "10.0.0.4").rr_client);
    let d4 = desired_yaml("node4", &yaml);
    assert_eq!(d4.cluster_id, Some(ip4("224.0.0.2")));
    assert!(session(&d4, "10.0.0.3").rr_client);
}

/// On a reflector, routers outside the cluster are clients when iBGP (same AS, counting
/// `localASNumber`), never when eBGP; a peerIP at a node of the same cluster is not a client.
#[test]
fn external_ibgp_peers_of_a_reflector_are_clients() {
    let extra = "
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor-ibgp}
spec: {node: node3, peerIP: 192.0.2.1, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor-ebgp}
spec: {node: node3, peerIP: 192.0.2.2, asNumber: 65000}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor-local-as}
spec: {node: node3, peerIP: 192.0.2.3, asNumber: 65001, localASNumber: 65001}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-by-address}
spec: {node: node3, peerIP: 10.0.0.4, asNumber: 64512}
";
    let yaml = format!("{}{extra}", TWO_REFLECTORS.replace("CLUSTER4", "224.0.0.1"));
    let d3 = desired_yaml("node3", &yaml);
    assert!(session(&d3, "192.0.2.1").rr_client);
    assert!(!session(&d3, "192.0.2.2").rr_client);
    let local_as = session(&d3, "192.0.2.3");
    assert_eq!(local_as.local_as, Some(65001));
    assert!(local_as.rr_client);
    assert!(!session(&d3, "10.0.0.4").rr_client);
    // Not on the other nodes.
    assert!(
        desired_yaml("node1", &yaml)
            .peers
            .iter()
            .all(|p| !p.address.to_string().starts_with("192.0.2."))
    );
}

/// `reversePeering: Manual`: the reflector gets no automatic sessions back; the user writes
/// them as a BGPPeer of their own (Calico's "peer-from-rr").
#[test]
fn manual_reverse_peering() {
    let yaml = format!(
        "{NODES}{MESH_OFF}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: peer-with-rr}}
spec:
  nodeSelector: all()
  peerSelector: rack == 'rack-3'
  reversePeering: Manual
"
    );
    assert_eq!(
        summary(&desired_yaml("node1", &yaml)),
        pairs(&[("10.0.0.3", NODE_SPECIFIC)])
    );
    assert!(desired_yaml("node3", &yaml).peers.is_empty());
    let with_reverse = format!(
        "{yaml}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: peer-from-rr}}
spec:
  nodeSelector: rack == 'rack-3'
  peerSelector: all()
  reversePeering: Manual
"
    );
    let d3 = desired_yaml("node3", &with_reverse);
    assert_eq!(
        summary(&d3),
        pairs(&[("10.0.0.1", NODE_SPECIFIC), ("10.0.0.2", NODE_SPECIFIC)])
    );
    assert!(d3.peers.iter().all(|p| p.rr_client));
    assert_eq!(desired_yaml("node1", &with_reverse).peers.len(), 1);
}

/// Reflector sessions over IPv6 too: a peerSelector is reversed in both families.
#[test]
fn selector_peerings_cover_both_families() {
    let yaml = format!("{NODES}{MESH_OFF}{SELECT_RACK_3}")
        .replace(
            "ipv4Address: 10.0.0.1/24",
            "ipv4Address: 10.0.0.1/24, ipv6Address: fd00::1/64",
        )
        .replace(
            "ipv4Address: 10.0.0.3/24",
            "ipv4Address: 10.0.0.3/24, ipv6Address: fd00::3/64",
        );
    let d1 = desired_yaml("node1", &yaml);
    assert_eq!(
        summary(&d1),
        pairs(&[("10.0.0.3", NODE_SPECIFIC), ("fd00::3", NODE_SPECIFIC)])
    );
    let d3 = desired_yaml("node3", &yaml);
    assert_eq!(
        summary(&d3),
        pairs(&[
            ("10.0.0.1", NODE_SPECIFIC),
            ("10.0.0.2", NODE_SPECIFIC),
            ("fd00::1", NODE_SPECIFIC)
        ])
    );
    assert!(d3.peers.iter().all(|p| p.rr_client));
    // An IPv4 peerIP is reversed over IPv4 only.
    let yaml_ip = format!("{NODES}{MESH_OFF}{GLOBAL_TO_NODE3}")
        .replace(
            "ipv4Address: 10.0.0.1/24",
            "ipv4Address: 10.0.0.1/24, ipv6Address: fd00::1/64",
        )
        .replace(
            "ipv4Address: 10.0.0.3/24",
            "ipv4Address: 10.0.0.3/24, ipv6Address: fd00::3/64",
        );
    assert_eq!(
        summary(&compute("node3", &from_yaml("node3", &yaml_ip))),
        pairs(&[("10.0.0.1", NODE_SPECIFIC), ("10.0.0.2", NODE_SPECIFIC)])
    );
}
