//! BGPPeer settings carried into the session.

use brindle_api::AsNumber;
use brindle_api::resources::bgp_peer::{self, BgpPeerSpec, ReversePeering, SourceAddress};
use brindle_api::resources::common::{BgpPassword, SecretKeySelector};
use brindle_bgp::speaker::NextHopMode;

use super::fixtures::*;
use crate::{Inputs, NODE_SPECIFIC, compute};

fn tor(spec: BgpPeerSpec) -> Inputs {
    Inputs {
        nodes: three_nodes(),
        peers: vec![peer(
            "tor",
            BgpPeerSpec {
                peer_ip: Some("192.0.2.1".into()),
                as_number: Some(AsNumber(65000)),
                ..spec
            },
        )],
        global: mesh_off(),
        node_config: None,
    }
}

#[test]
fn simple_settings() {
    let d = compute(
        "node1",
        &tor(BgpPeerSpec {
            ttl_security: Some(2),
            num_allowed_local_as_numbers: Some(3),
            local_as_number: Some(AsNumber(64600)),
            source_address: Some(SourceAddress::None),
            max_restart_time: Some("300s".into()),
            ..BgpPeerSpec::default()
        }),
    );
    let p = session(&d, "192.0.2.1");
    assert_eq!(p.ttl_security, Some(2));
    assert_eq!(p.allow_local_as, 3);
    assert_eq!(p.local_as, Some(64600));
    assert_eq!(p.source, None);
    assert!(p.password.is_none());
    assert!(p.import.is_empty() && p.export.is_empty());
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    // Default sourceAddress: UseNodeIP.
    let d = compute("node1", &tor(BgpPeerSpec::default()));
    assert_eq!(session(&d, "192.0.2.1").source, Some(ip("10.0.0.1")));
}

#[test]
fn next_hop_modes() {
    for (mode, want) in [
        (bgp_peer::NextHopMode::Auto, NextHopMode::Auto),
        (bgp_peer::NextHopMode::SelfHop, NextHopMode::SelfHop),
        (bgp_peer::NextHopMode::Keep, NextHopMode::Keep),
    ] {
        let d = compute(
            "node1",
            &tor(BgpPeerSpec {
                next_hop_mode: Some(mode),
                ..BgpPeerSpec::default()
            }),
        );
        assert_eq!(session(&d, "192.0.2.1").next_hop, want);
    }
}

/// "Legacy keep_next_hop field - only apply for eBGP peers".
#[test]
fn keep_original_next_hop_is_for_ebgp_only() {
    let keep = BgpPeerSpec {
        keep_original_next_hop: Some(true),
        ..BgpPeerSpec::default()
    };
    let d = compute("node1", &tor(keep.clone()));
    assert_eq!(session(&d, "192.0.2.1").next_hop, NextHopMode::Keep);
    let ibgp = BgpPeerSpec {
        as_number: Some(AsNumber(64512)),
        ..keep
    };
    let mut inputs = tor(BgpPeerSpec::default());
    inputs.peers[0].spec = BgpPeerSpec {
        peer_ip: Some("192.0.2.1".into()),
        ..ibgp
    };
    let d = compute("node1", &inputs);
    assert_eq!(session(&d, "192.0.2.1").next_hop, NextHopMode::Auto);
}

#[test]
fn a_password_secret_is_reported_and_the_session_kept() {
    let d = compute(
        "node1",
        &tor(BgpPeerSpec {
            password: Some(BgpPassword {
                secret_key_ref: Some(SecretKeySelector {
                    name: "bgp-secrets".into(),
                    key: "tor".into(),
                    optional: None,
                }),
            }),
            ..BgpPeerSpec::default()
        }),
    );
    assert!(session(&d, "192.0.2.1").password.is_none());
    assert_eq!(d.problems.len(), 1);
    assert!(
        d.problems[0].starts_with("BGPPeer \"tor\": spec.password: secretKeyRef bgp-secrets/tor"),
        "{}",
        d.problems[0]
    );
}

#[test]
fn unsupported_local_workload_peering_is_reported() {
    let d = compute(
        "node1",
        &tor(BgpPeerSpec {
            local_workload_selector: Some("app == 'router'".into()),
            ..BgpPeerSpec::default()
        }),
    );
    assert_eq!(d.peers.len(), 1);
    assert!(d.problems[0].contains("spec.localWorkloadSelector"));
}

#[test]
fn filters_are_listed_per_address() {
    let mut inputs = tor(BgpPeerSpec {
        filters: vec!["export-pods".into(), "import-default".into()],
        ..BgpPeerSpec::default()
    });
    inputs.peers.push(peer(
        "with-node3",
        BgpPeerSpec {
            peer_selector: Some("kubernetes.io/hostname == 'node3'".into()),
            filters: vec!["rr".into()],
            local_as_number: Some(AsNumber(64700)),
            ..BgpPeerSpec::default()
        },
    ));
    inputs.nodes[2].labels = labels(&[("kubernetes.io/hostname", "node3")]);
    let d = compute("node1", &inputs);
    assert_eq!(
        d.filters.get(&ip("192.0.2.1")),
        Some(&vec![
            "export-pods".to_string(),
            "import-default".to_string()
        ])
    );
    assert_eq!(
        d.filters.get(&ip("10.0.0.3")),
        Some(&vec!["rr".to_string()])
    );
    assert_eq!(session(&d, "10.0.0.3").local_as, Some(64700));
    // The reverse session carries the filters but not localASNumber (the other side's AS).
    let d3 = compute("node3", &inputs);
    let back = session(&d3, "10.0.0.1");
    assert_eq!(back.kind, NODE_SPECIFIC);
    assert_eq!(back.local_as, None);
    assert_eq!(
        d3.filters.get(&ip("10.0.0.1")),
        Some(&vec!["rr".to_string()])
    );
}

#[test]
fn reverse_peering_manual_turns_the_reverse_off() {
    let mut inputs = tor(BgpPeerSpec::default());
    inputs.peers[0].spec = BgpPeerSpec {
        peer_ip: Some("10.0.0.3".into()),
        as_number: Some(AsNumber(64512)),
        reverse_peering: Some(ReversePeering::Manual),
        ..BgpPeerSpec::default()
    };
    assert!(compute("node3", &inputs).peers.is_empty());
    inputs.peers[0].spec.reverse_peering = Some(ReversePeering::Auto);
    assert_eq!(compute("node3", &inputs).peers.len(), 2);
}
