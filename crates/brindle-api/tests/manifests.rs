//! Decoding and validation of whole manifests: what users apply, and the one-line errors they
//! get back.

use brindle_api::{DocumentError, Kind, Resource, parse_resources};

/// The manifests the reference documents apply, one per document.
const REFERENCE: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: false
  asNumber: 63400
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: my-global-bgppeer
spec:
  peerIP: 172.31.209.241
  asNumber: 63400
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: peer-with-route-reflectors
spec:
  nodeSelector: all()
  peerSelector: rack == "rack-3"
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  annotations:
    projectcalico.org/kube-labels: '{"rack":"rack-3"}'
  creationTimestamp: "2020-03-28T13:04:13Z"
  labels:
    kubernetes.io/hostname: kube-worker02
    rack: rack-3
  name: kube-worker02
  resourceVersion: "263323"
  uid: fc093557-4cb8-4c93-b345-2ff635c58152
spec:
  bgp:
    ipv4Address: 172.31.209.241/20
    ipv4IPIPTunnelAddr: 192.168.247.192
    routeReflectorClusterID: 244.0.0.1
  orchRefs:
  - nodeName: kube-worker02
    orchestrator: k8s
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  blockSize: 26
  cidr: 10.244.0.0/16
  ipipMode: Never
  natOutgoing: true
"#;

#[test]
fn reference_manifests_decode() {
    let rs = parse_resources(REFERENCE).expect("reference manifests are valid");
    let kinds: Vec<Kind> = rs.iter().map(Resource::kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::BgpConfiguration,
            Kind::BgpPeer,
            Kind::BgpPeer,
            Kind::Node,
            Kind::IpPool
        ]
    );
    let Resource::BgpPeer(rr) = &rs[2] else {
        panic!("not a peer")
    };
    assert!(!rr.spec.is_global());
    let Resource::BgpPeer(g) = &rs[1] else {
        panic!("not a peer")
    };
    assert!(g.spec.is_global());
    let Resource::Node(n) = &rs[3] else {
        panic!("not a node")
    };
    assert_eq!(
        n.metadata.labels.get("rack").map(String::as_str),
        Some("rack-3")
    );
    let bgp = n.spec.bgp.as_ref().expect("bgp");
    assert_eq!(bgp.route_reflector_cluster_id.as_deref(), Some("244.0.0.1"));
}

#[test]
fn reference_manifests_round_trip_through_json_and_yaml() {
    for r in parse_resources(REFERENCE).expect("valid") {
        let json = serde_json::to_string(&r.to_value()).expect("json");
        let back = parse_resources(&json).expect("json reparses");
        assert_eq!(back, vec![r.clone()], "JSON round trip of {}", r.name());
        let yaml = serde_yaml_ng::to_string(&r.to_value()).expect("yaml");
        let back = parse_resources(&yaml).expect("yaml reparses");
        assert_eq!(back, vec![r.clone()], "YAML round trip of {}", r.name());
    }
}

#[test]
fn lists_and_json_arrays() {
    let list = r#"
apiVersion: projectcalico.org/v3
kind: BGPPeerList
metadata:
  resourceVersion: "9531851"
items:
- apiVersion: projectcalico.org/v3
  kind: BGPPeer
  metadata:
    creationTimestamp: 2019-01-04T15:36:59Z
    name: bgppeer-global-f5-1
    resourceVersion: "9530940"
    uid: 92ecf52a-1036-11e9-bf61-005056b34685
  spec:
    asNumber: 64512
    peerIP: 172.16.40.202
"#;
    let rs = parse_resources(list).expect("list");
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].name(), "bgppeer-global-f5-1");
    let arr = r#"[{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"a"},"spec":{"cidr":"10.1.0.0/16"}},
                  {"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"b"},"spec":{"cidr":"10.2.0.0/16"}}]"#;
    assert_eq!(parse_resources(arr).expect("array").len(), 2);
}

#[test]
fn calico_exports_with_empty_modes_and_flow_style_yaml_apply() {
    let rs = parse_resources(&pool(
        "  cidr: 10.0.0.0/16\n  ipipMode: \"\"\n  vxlanMode: Never\n",
    ))
    .expect("empty ipipMode is unset");
    let Resource::IpPool(p) = &rs[0] else {
        panic!()
    };
    assert_eq!(p.spec.ipip_mode, None);
    let flow = "{apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: p}, spec: {cidr: 10.9.0.0/16}}\n";
    assert_eq!(parse_resources(flow).expect("flow-style YAML").len(), 1);
    let meta = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\n  generateName: n-\n  managedFields: [{manager: kubectl}]\n  ownerReferences: [{kind: X, name: y}]\n";
    assert_eq!(
        parse_resources(meta)
            .expect("Kubernetes metadata fields")
            .len(),
        1
    );
}

#[test]
fn dotted_as_numbers() {
    let m = "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: \"1.10\"}\n";
    let rs = parse_resources(m).expect("dotted");
    let Resource::BgpPeer(p) = &rs[0] else {
        panic!()
    };
    assert_eq!(p.spec.as_number.map(|a| a.0), Some(65546));
}

fn pool(spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-a\nspec:\n{spec}"
    )
}

fn peer(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p1\nspec:\n{spec}")
}

fn bgpconfig(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

#[test]
fn bad_input_names_kind_name_and_field() {
    let cases: Vec<(String, &str)> = vec![
        (pool("  cidr: 10.0.0.0/16\n  blockSize: 33\n"), r#"document 1: IPPool "pool-a": spec.blockSize: 33 is outside 20..=32"#),
        (pool("  cidr: fd00::/48\n  blockSize: 64\n"), r#"document 1: IPPool "pool-a": spec.blockSize: 64 is outside 116..=128"#),
        (pool("  cidr: 10.0.0.0/28\n"), r#"document 1: IPPool "pool-a": spec.cidr: /28 is smaller than one block (blockSize 26)"#),
        (pool("  cidr: 10.0.0.0/16\n  ipipMode: Always\n  vxlanMode: Always\n"), r#"document 1: IPPool "pool-a": spec.vxlanMode: IPIP and VXLAN cannot both be enabled on one pool"#),
        (pool("  cidr: fd00::/48\n  ipipMode: CrossSubnet\n"), r#"document 1: IPPool "pool-a": spec.ipipMode: IPIP is not supported on an IPv6 pool"#),
        (pool("  cidr: 10.0.0.0/16\n  ipipMode: Sometimes\n"), "document 1: IPPool \"pool-a\": spec.ipipMode: unknown variant `Sometimes`, expected one of `Always`, `CrossSubnet`, `Never`"),
        (pool("  cidr: 10.0.0.0/16\n  blocksize: 26\n"), r#"document 1: IPPool "pool-a": spec.blocksize: unknown field; did you mean "blockSize"?"#),
        (pool("  cidr: 10.0.0.0/16\n  blockSize: big\n"), r#"document 1: IPPool "pool-a": spec.blockSize: invalid type: string "big", expected a non-negative integer"#),
        (pool("  cidr: 10.0.0.0/36\n"), r#"document 1: IPPool "pool-a": spec.cidr: "10.0.0.0/36" is not a CIDR: prefix length above 32"#),
        (pool("  natOutgoing: true\n"), r#"document 1: IPPool "pool-a": spec.cidr: is required"#),
        (pool("  cidr: 169.254.0.0/16\n"), r#"document 1: IPPool "pool-a": spec.cidr: 169.254.0.0/16 overlaps the link-local range 169.254.0.0/16"#),
        (pool("  cidr: 10.0.0.0/16\n  nodeSelector: rack ==\n"), r#"document 1: IPPool "pool-a": spec.nodeSelector: "rack ==" is not a valid selector: column 8: expected a quoted string after "==""#),
        (peer("  peerIP: 10.0.0.1\n"), r#"document 1: BGPPeer "p1": spec.asNumber: is required when spec.peerIP is set"#),
        (peer("  peerIP: 10.0.0.1:70000\n  asNumber: 64512\n"), r#"document 1: BGPPeer "p1": spec.peerIP: "10.0.0.1:70000" is not an IP address, ipv4:port or [ipv6]:port"#),
        (peer("  asNumber: 64512\n"), r#"document 1: BGPPeer "p1": spec.peerIP: one of spec.peerIP or spec.peerSelector is required"#),
        (peer("  node: a\n  nodeSelector: all()\n  peerIP: 10.0.0.1\n  asNumber: 1\n"), r#"document 1: BGPPeer "p1": spec.nodeSelector: cannot be set together with spec.node"#),
        (peer("  peerSelector: has(x)\n  asNumber: 64512\n"), r#"document 1: BGPPeer "p1": spec.asNumber: cannot be set with spec.peerSelector (the selected nodes' AS numbers are used)"#),
        (peer("  peerIP: 10.0.0.1\n  asNumber: 4294967296\n"), r#"document 1: BGPPeer "p1": spec.asNumber: 4294967296 is not an AS number (at most 4294967295)"#),
        (peer("  peerIP: 10.0.0.1\n  asNumber: 1.10\n"), r#"document 1: BGPPeer "p1": spec.asNumber: 1.1 is not an AS number; write dotted AS numbers as quoted strings, e.g. "1.10""#),
        (bgpconfig("node.worker1", "  asNumber: 64513\n"), r#"document 1: BGPConfiguration "node.worker1": spec.asNumber: may only be set on the global BGPConfiguration "default""#),
        (bgpconfig("node.worker1", "  nodeToNodeMeshEnabled: false\n"), r#"document 1: BGPConfiguration "node.worker1": spec.nodeToNodeMeshEnabled: may only be set on the global BGPConfiguration "default""#),
        (bgpconfig("global", "  logSeverityScreen: Info\n"), r#"document 1: BGPConfiguration "global": metadata.name: "global" must be "default" or "node.<nodename>""#),
        (bgpconfig("default", "  logSeverityScreen: Loud\n"), r#"document 1: BGPConfiguration "default": spec.logSeverityScreen: "Loud" is not one of Trace, Debug, Info, Warning, Error, Fatal"#),
        (bgpconfig("default", "  communities:\n  - name: c1\n    value: 70000:1\n"), r#"document 1: BGPConfiguration "default": spec.communities[0].value: "70000:1" is not a community (aa:nn with 16-bit parts, or aa:nn:mm)"#),
        ("apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: x}\n".into(), r#"document 1: Gadget "x": kind: "Gadget" is not a kind brindle knows"#),
        ("apiVersion: projectcalico.org/v3\nkind: ippool\nmetadata: {name: x}\n".into(), r#"document 1: ippool "x": kind: "ippool" is not a kind brindle knows (did you mean IPPool?)"#),
        ("apiVersion: v1\nkind: IPPool\nmetadata: {name: x}\n".into(), r#"document 1: IPPool "x": apiVersion: "v1" is not supported; use projectcalico.org/v3"#),
        ("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: Pool_A}\nspec: {cidr: 10.0.0.0/16}\n".into(), r#"document 1: IPPool "Pool_A": metadata.name: "Pool_A" is not a valid name: use lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit"#),
        ("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a, colour: red}\nspec: {cidr: 10.0.0.0/16}\n".into(), r#"document 1: IPPool "a": metadata.colour: unknown field"#),
        ("apiVersion: projectcalico.org/v3\nkind: IPAMConfiguration\nmetadata: {name: mine}\nspec: {strictAffinity: true}\n".into(), r#"document 1: IPAMConfiguration "mine": metadata.name: "mine" must be "default""#),
        ("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {vxlanVNI: 0}\n".into(), r#"document 1: FelixConfiguration "default": spec.vxlanVNI: 0 is outside 1..=16777215"#),
        ("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec:\n  exportV4:\n  - cidr: 10.0.0.0/8\n    action: Accept\n".into(), r#"document 1: BGPFilter "f": spec.exportV4[0].matchOperator: is required with cidr"#),
        ("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec:\n  importV6:\n  - cidr: 10.0.0.0/8\n    matchOperator: In\n    action: Reject\n".into(), r#"document 1: BGPFilter "f": spec.importV6[0].cidr: "10.0.0.0/8" is not an IPv6 range"#),
        ("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec:\n  bgp: {ipv4Address: 10.0.0.300/24}\n".into(), r#"document 1: Node "n1": spec.bgp.ipv4Address: "10.0.0.300/24" is not an IP address"#),
        ("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec:\n  bgp: {ipv4Address: 10.0.0.3/24, routeReflectorClusterID: fd00::1}\n".into(), r#"document 1: Node "n1": spec.bgp.routeReflectorClusterID: "fd00::1" is not an IPv4 address"#),
        ("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\n  labels: {\"bad key\": x}\n".into(), r#"document 1: Node "n1": metadata.labels.bad key: label key "bad key" is not valid ([prefix/]name, name ≤ 63 characters)"#),
        ("apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w, namespace: default}\nspec: {ipNetworks: [10.0.0.1/40]}\n".into(), r#"document 1: WorkloadEndpoint "w": spec.ipNetworks[0]: "10.0.0.1/40" is not a CIDR: prefix length above 32"#),
        ("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p, namespace: default}\nspec: {peerIP: 10.0.0.1, asNumber: 1}\n".into(), r#"document 1: BGPPeer "p": metadata.namespace: BGPPeer is not namespaced"#),
        ("kind: IPPool\nmetadata: {name: x}\n".into(), r#"document 1: IPPool "x": apiVersion: is required"#),
        ("- just\n- a list\n".into(), "document 1: a resource must be a mapping"),
        ("".into(), "no resources found"),
        (bgpconfig("default", "  asNumber: 0\n"), r#"document 1: BGPConfiguration "default": spec.asNumber: 0 is not a valid AS number"#),
    ];
    for (text, want) in cases {
        let got = parse_resources(&text).expect_err(&text).to_string();
        assert_eq!(got, want, "\nfor input:\n{text}");
    }
}

#[test]
fn several_problems_are_counted() {
    let text =
        pool("  cidr: 10.0.0.0/16\n  blockSize: 33\n  ipipMode: Always\n  vxlanMode: Always\n");
    let got = parse_resources(&text).expect_err("invalid").to_string();
    assert!(got.ends_with("(and 1 more problem)"), "{got}");
}

#[test]
fn second_document_error_is_numbered() {
    let text = format!(
        "{}---\n{}",
        pool("  cidr: 10.0.0.0/16\n"),
        pool("  cidr: 10.0.0.0/16\n  blockSize: 19\n")
    );
    let got = parse_resources(&text).expect_err("invalid").to_string();
    assert!(
        got.starts_with("document 2: IPPool \"pool-a\": spec.blockSize: 19"),
        "{got}"
    );
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let text = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [unclosed\n";
    match parse_resources(text) {
        Err(DocumentError::Syntax {
            line: Some(l),
            column: Some(_),
            ..
        }) => assert!(l >= 4, "line {l}"),
        other => panic!("expected a syntax error with a location, got {other:?}"),
    }
    let json = "{\"apiVersion\": \"projectcalico.org/v3\",\n \"kind\": }";
    let got = parse_resources(json).expect_err("bad json").to_string();
    assert!(got.starts_with("syntax error at line 2, column"), "{got}");
}

#[test]
fn pool_defaults_and_immutability() {
    let mut rs = parse_resources(&pool("  cidr: 10.244.1.7/16\n")).expect("valid");
    let mut r = rs.remove(0);
    r.apply_defaults();
    let Resource::IpPool(p) = &r else { panic!() };
    assert_eq!(p.spec.cidr, "10.244.0.0/16");
    assert_eq!(p.spec.block_size, Some(26));
    assert_eq!(p.spec.node_selector.as_deref(), Some("all()"));
    let changed =
        parse_resources(&pool("  cidr: 10.245.0.0/16\n  blockSize: 28\n")).expect("valid");
    let err = changed[0]
        .validate_update(&r)
        .expect_err("immutable")
        .to_string();
    assert_eq!(
        err,
        r#"IPPool "pool-a": spec.cidr: cannot be changed (was 10.244.0.0/16); create a new pool (and 1 more problem)"#
    );
    let same =
        parse_resources(&pool("  cidr: 10.244.0.0/16\n  natOutgoing: true\n")).expect("valid");
    same[0]
        .validate_update(&r)
        .expect("same cidr and block size may be updated");
}

#[test]
fn arbitrary_text_never_panics() {
    for text in [
        "{",
        "]",
        "---\n---\n",
        "kind: 5",
        "apiVersion: [1]\nkind: IPPool",
        "\u{0}",
        "a: b: c",
        "? x\n: y",
    ] {
        let _ = parse_resources(text);
    }
}

mod never_panics {
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Manifest-shaped text with random keys and values in random places.
    fn manifest_like() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "spec",
            "cidr",
            "blockSize",
            "asNumber",
            "peerIP",
            "labels",
            "items",
            "ipipMode",
            "bgp",
            "nodeSelector",
            "x",
        ]);
        let value = prop::sample::select(vec![
            "projectcalico.org/v3",
            "IPPool",
            "BGPPeer",
            "Node",
            "List",
            "26",
            "-1",
            "1.10",
            "\"1.10\"",
            "[]",
            "{}",
            "null",
            "true",
            "10.0.0.0/8",
            "all()",
            "'a == \"b\"'",
            "~",
            "99999999999999999999",
            "\"\"",
        ]);
        prop::collection::vec((0usize..4, key, value), 0..24).prop_map(|lines| {
            lines
                .into_iter()
                .map(|(indent, k, v)| format!("{}{k}: {v}\n", "  ".repeat(indent)))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_text(s in "\\PC{0,200}") {
            let _ = brindle_api::parse_resources(&s);
        }

        #[test]
        fn manifest_shaped_text(s in manifest_like()) {
            let _ = brindle_api::parse_resources(&s);
        }
    }
}
