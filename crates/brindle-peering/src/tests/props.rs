//! Properties over random clusters: input order never matters, and the output keeps its
//! invariants (sorted, one session per address, never ourselves, families, kinds).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use brindle_api::AsNumber;
use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::bgp_peer::{BgpPeerSpec, ReversePeering};
use brindle_bgp::model::Family;
use proptest::prelude::*;

use crate::{GLOBAL, Inputs, MESH, NODE_SPECIFIC, NodeView, PeerView, compute};

const SELECTORS: [&str; 6] = [
    "all()",
    "rack == 'r1'",
    "rack != 'r1'",
    "has(rr)",
    "rack in {'r1', 'r2'} && !has(rr)",
    "rack ==",
];

fn node_strategy(i: usize) -> impl Strategy<Value = NodeView> {
    (
        prop::bool::weighted(0.9),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![64512u32, 65001])),
        prop::option::weighted(0.3, prop::sample::select(vec![1u8, 2])),
        prop::option::of(prop::sample::select(vec!["r1", "r2"])),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.2, prop::sample::select(vec![179u16, 1790])),
    )
        .prop_map(move |(v4, v6, asn, rr, rack, rr_label, port)| {
            let n = u8::try_from(i + 1).unwrap_or(u8::MAX);
            let mut labels = BTreeMap::new();
            if let Some(r) = rack {
                labels.insert("rack".to_string(), r.to_string());
            }
            if rr_label {
                labels.insert("rr".to_string(), "true".to_string());
            }
            NodeView {
                name: format!("n{i}"),
                labels,
                ipv4: v4.then(|| Ipv4Addr::new(10, 0, 0, n)),
                ipv6: v6.then(|| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(n))),
                asn,
                rr_cluster_id: rr.map(|c| Ipv4Addr::new(224, 0, 0, c)),
                listen_port: port,
            }
        })
}

fn peer_strategy() -> impl Strategy<Value = PeerView> {
    let scope = prop_oneof![
        Just((None, None)),
        (0usize..6).prop_map(|k| (Some(format!("n{k}")), None)),
        prop::sample::select(SELECTORS.to_vec()).prop_map(|s| (None, Some(s.to_string()))),
    ];
    let remote = prop_oneof![
        (
            prop::sample::select(vec![
                "10.0.0.1",
                "10.0.0.3",
                "192.0.2.1",
                "192.0.2.1:1179",
                "fd00::2",
                "[fd00::99]:1179",
            ]),
            prop::sample::select(vec![64512u32, 65001, 65000]),
        )
            .prop_map(|(ip, asn)| (Some(ip.to_string()), Some(asn), None)),
        prop::sample::select(SELECTORS.to_vec()).prop_map(|s| (None, None, Some(s.to_string()))),
    ];
    (
        0usize..6,
        scope,
        remote,
        prop::option::of(1u8..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                name,
                (node, node_selector),
                (peer_ip, asn, peer_selector),
                ttl,
                manual,
                filtered,
            )| {
                PeerView {
                    name: format!("p{name}"),
                    spec: BgpPeerSpec {
                        node,
                        node_selector,
                        peer_ip,
                        as_number: asn.map(AsNumber),
                        peer_selector,
                        ttl_security: ttl,
                        reverse_peering: manual.then_some(ReversePeering::Manual),
                        filters: if filtered {
                            vec![format!("f{name}")]
                        } else {
                            vec![]
                        },
                        ..BgpPeerSpec::default()
                    },
                }
            },
        )
}

fn inputs_strategy() -> impl Strategy<Value = Inputs> {
    (1usize..6)
        .prop_flat_map(|n| {
            (
                (0..n).map(node_strategy).collect::<Vec<_>>(),
                prop::collection::vec(peer_strategy(), 0..6),
                prop::option::of(any::<bool>()),
                prop::option::of(prop::sample::select(vec![64512u32, 65001])),
            )
        })
        .prop_map(|(nodes, peers, mesh, asn)| Inputs {
            nodes,
            peers,
            global: Some(BgpConfigurationSpec {
                node_to_node_mesh_enabled: mesh,
                as_number: asn.map(AsNumber),
                ..BgpConfigurationSpec::default()
            }),
            node_config: None,
        })
}

/// `v` reordered by `keys` (a permutation whatever the keys).
fn permute<T: Clone>(v: &[T], keys: &[u32]) -> Vec<T> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by_key(|&i| (keys.get(i).copied().unwrap_or(0), i));
    idx.into_iter().map(|i| v[i].clone()).collect()
}

fn local_addrs(inputs: &Inputs, local: &str) -> Vec<IpAddr> {
    inputs
        .nodes
        .iter()
        .filter(|n| n.name == local)
        .flat_map(|n| [n.ipv4.map(IpAddr::V4), n.ipv6.map(IpAddr::V6)])
        .flatten()
        .collect()
}

proptest! {
    #[test]
    fn input_order_does_not_matter(
        inputs in inputs_strategy(),
        node_keys in prop::collection::vec(any::<u32>(), 6),
        peer_keys in prop::collection::vec(any::<u32>(), 6),
    ) {
        let shuffled = Inputs {
            nodes: permute(&inputs.nodes, &node_keys),
            peers: permute(&inputs.peers, &peer_keys),
            ..inputs.clone()
        };
        for n in inputs.nodes.iter().map(|n| n.name.as_str()).chain(["absent"]) {
            prop_assert_eq!(compute(n, &inputs), compute(n, &shuffled));
        }
    }

    #[test]
    fn output_invariants(inputs in inputs_strategy()) {
        let mesh_on = inputs
            .global
            .as_ref()
            .and_then(|g| g.node_to_node_mesh_enabled)
            .unwrap_or(true);
        for node in &inputs.nodes {
            let d = compute(&node.name, &inputs);
            let own = local_addrs(&inputs, &node.name);
            prop_assert!(d.peers.windows(2).all(|w| w[0].address < w[1].address));
            prop_assert!(d.problems.windows(2).all(|w| w[0] < w[1]));
            prop_assert_eq!(d.cluster_id, node.rr_cluster_id);
            for p in &d.peers {
                prop_assert!(!own.contains(&p.address), "peers with itself");
                let fam = if p.address.is_ipv4() { Family::Ipv4Unicast } else { Family::Ipv6Unicast };
                prop_assert_eq!(&p.families, &vec![fam]);
                prop_assert!(own.iter().any(|a| a.is_ipv4() == p.address.is_ipv4()));
                prop_assert!([MESH, GLOBAL, NODE_SPECIFIC].contains(&p.kind.as_str()));
                if p.kind == MESH {
                    prop_assert!(mesh_on && node.rr_cluster_id.is_none());
                }
                prop_assert!(!p.rr_client || d.cluster_id.is_some());
            }
            prop_assert!(d.filters.keys().all(|a| d.peers.iter().any(|p| p.address == *a)));
        }
    }

    /// Mesh sessions come in pairs, one side passive.
    #[test]
    fn mesh_sessions_are_symmetric(inputs in inputs_strategy()) {
        let all: BTreeMap<&str, _> = inputs
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), compute(&n.name, &inputs)))
            .collect();
        for a in &inputs.nodes {
            for p in all[a.name.as_str()].peers.iter().filter(|p| p.kind == MESH) {
                let b = inputs
                    .nodes
                    .iter()
                    .find(|n| n.ipv4.map(IpAddr::V4) == Some(p.address) || n.ipv6.map(IpAddr::V6) == Some(p.address));
                prop_assert!(b.is_some());
                let Some(b) = b else { continue };
                let back_addr = if p.address.is_ipv4() { a.ipv4.map(IpAddr::V4) } else { a.ipv6.map(IpAddr::V6) };
                let back = all[b.name.as_str()].peers.iter().find(|q| Some(q.address) == back_addr);
                prop_assert!(back.is_some_and(|q| q.kind == MESH && q.passive != p.passive));
            }
        }
    }
}
