//! Building the inputs from API objects.

use brindle_api::resources::node::{NodeBgpSpec, NodeSpec};
use brindle_api::{AsNumber, Object, parse_resources};

use super::fixtures::*;
use crate::{GLOBAL, Inputs, NodeView, compute};

fn node_object(bgp: NodeBgpSpec) -> Object<NodeSpec> {
    let mut o = Object::new(
        "node1",
        NodeSpec {
            bgp: Some(bgp),
            ..NodeSpec::default()
        },
    );
    o.metadata.labels = labels(&[("rack", "rack-1")]);
    o
}

#[test]
fn node_addresses_with_and_without_prefix_length() {
    for (v4, v6) in [
        ("172.31.209.241/20", "fd00:1::5/64"),
        ("172.31.209.241", "fd00:1::5"),
    ] {
        let (view, problems) = NodeView::from_node(&node_object(NodeBgpSpec {
            ipv4_address: Some(v4.into()),
            ipv6_address: Some(v6.into()),
            as_number: Some(AsNumber(65001)),
            route_reflector_cluster_id: Some("224.0.0.1".into()),
            ..NodeBgpSpec::default()
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(view.name, "node1");
        assert_eq!(view.labels, labels(&[("rack", "rack-1")]));
        assert_eq!(view.ipv4, Some(ip4("172.31.209.241")));
        assert_eq!(view.ipv6, Some("fd00:1::5".parse().expect("v6")));
        assert_eq!(view.asn, Some(65001));
        assert_eq!(view.rr_cluster_id, Some(ip4("224.0.0.1")));
        assert_eq!(view.listen_port, None);
    }
}

#[test]
fn unusable_node_fields_are_left_out_and_reported() {
    let (view, problems) = NodeView::from_node(&node_object(NodeBgpSpec {
        ipv4_address: Some("fd00::1/64".into()),
        ipv6_address: Some("nonsense".into()),
        route_reflector_cluster_id: Some("1.2.3".into()),
        ..NodeBgpSpec::default()
    }));
    assert_eq!(
        (view.ipv4, view.ipv6, view.rr_cluster_id),
        (None, None, None)
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("Node \"node1\": spec.bgp.ipv4Address: "));
    assert!(problems[1].starts_with("Node \"node1\": spec.bgp.ipv6Address: "));
    assert!(problems[2].starts_with("Node \"node1\": spec.bgp.routeReflectorClusterID: "));
    // Empty strings and a missing bgp section are simply unset.
    let (view, problems) = NodeView::from_node(&node_object(NodeBgpSpec {
        ipv4_address: Some(String::new()),
        route_reflector_cluster_id: Some(String::new()),
        ..NodeBgpSpec::default()
    }));
    assert!(problems.is_empty());
    assert_eq!((view.ipv4, view.rr_cluster_id), (None, None));
    let (view, problems) = NodeView::from_node(&Object::new("bare", NodeSpec::default()));
    assert!(problems.is_empty());
    assert_eq!(view.ipv4, None);
}

#[test]
fn dotted_as_numbers() {
    let yaml = "
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node1}
spec: {bgp: {ipv4Address: 10.0.0.1/24, asNumber: '1.10'}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: '0.64513'}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 192.0.2.1, asNumber: '65000.1'}
";
    let d1 = desired_yaml("node1", yaml);
    assert_eq!(d1.asn, 65546);
    assert_eq!(session(&d1, "10.0.0.2").remote_as, 64513);
    assert_eq!(session(&d1, "192.0.2.1").remote_as, (65000 << 16) | 1);
    assert_eq!(session(&d1, "192.0.2.1").kind, GLOBAL);
    let d2 = desired_yaml("node2", yaml);
    assert_eq!(d2.asn, 64513);
    assert_eq!(session(&d2, "10.0.0.1").remote_as, 65546);
}

#[test]
fn from_resources_picks_the_kinds_and_configurations() {
    let yaml = "
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, listenPort: 1790}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.node1}
spec: {listenPort: 1800, logSeverityScreen: Debug}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.node2}
spec: {listenPort: 1801}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 10.244.0.0/16}
---
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
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 192.0.2.1, asNumber: 65000}
";
    let resources = parse_resources(yaml).expect("manifest");
    let (inputs, problems) = Inputs::from_resources("node1", &resources);
    assert!(problems.is_empty());
    assert_eq!(inputs.nodes.len(), 2);
    assert_eq!(inputs.peers.len(), 1);
    assert_eq!(inputs.peers[0].name, "tor");
    assert_eq!(inputs.nodes[0].listen_port, Some(1800));
    assert_eq!(inputs.nodes[1].listen_port, Some(1801));
    assert_eq!(
        inputs
            .global
            .as_ref()
            .and_then(|g| g.node_to_node_mesh_enabled),
        Some(false)
    );
    assert_eq!(
        inputs.node_config.as_ref().and_then(|c| c.listen_port),
        Some(1800)
    );
    let d = compute("node1", &inputs);
    assert_eq!(d.listen_port, 1800);
    assert_eq!(summary(&d), pairs(&[("192.0.2.1", GLOBAL)]));
    let (inputs2, _) = Inputs::from_resources("node2", &resources);
    assert_eq!(compute("node2", &inputs2).listen_port, 1801);
}
