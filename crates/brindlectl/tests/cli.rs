//! brindlectl driven as a user drives it, on both datastores: the reference documents'
//! manifests applied and read back, the calicoctl tables, and every kind of bad input.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Env, check_failure, isolate};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brindle_store::testing::EtcdProcess;
use serde_json::Value;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

const EMPTY_PEERS: &str = "NAME   PEERIP   NODE   ASN\n";

const EXAMPLES: [&str; 4] = [
    "bgp-config.yaml",
    "nodes.yaml",
    "bgp-peers.yaml",
    "ippool.yaml",
];

/// True when every member of `want` is in `got` with the same value (recursively).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        _ => got == want,
    }
}

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                ($body)(Env::sqlite());
            }
            #[test]
            fn etcd() {
                ($body)(Env::etcd());
            }
        }
    };
}

on_both!(reference_manifests_round_trip, |env: Env| {
    for f in EXAMPLES {
        let out = env.ok(&["apply", "-f", example(f).to_str().unwrap()]);
        assert!(out.starts_with("Successfully applied"), "{out}");
    }
    for f in EXAMPLES {
        let text = std::fs::read_to_string(example(f)).unwrap();
        for doc in brindle_api::document::parse_values(&text).unwrap() {
            let kind = doc["kind"].as_str().unwrap();
            let name = doc["metadata"]["name"].as_str().unwrap();
            let yaml: Value =
                serde_yaml_ng::from_str(&env.ok(&["get", kind, name, "-o", "yaml"])).unwrap();
            let json: Value =
                serde_json::from_str(&env.ok(&["get", kind, name, "-o", "json"])).unwrap();
            assert_eq!(yaml, json, "YAML and JSON agree for {kind} {name}");
            assert_eq!(json["apiVersion"], "projectcalico.org/v3");
            assert_eq!(json["kind"], doc["kind"]);
            assert!(
                contains(&json["spec"], &doc["spec"]),
                "{kind} {name}: spec {} lacks {}",
                json["spec"],
                doc["spec"]
            );
            assert_eq!(
                json["metadata"]["labels"], doc["metadata"]["labels"],
                "labels of {kind} {name}"
            );
            assert!(
                json["metadata"]["uid"].is_string()
                    && json["metadata"]["creationTimestamp"].is_string()
            );
            assert!(
                json["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
                    > 0
            );
        }
    }
    // Calico fills the pool's defaults on write.
    let pool: Value =
        serde_json::from_str(&env.ok(&["get", "ippool", "default-ipv4-ippool", "-o", "json"]))
            .unwrap();
    assert_eq!(pool["spec"]["vxlanMode"], "Never");
    assert_eq!(pool["spec"]["nodeSelector"], "all()");
    // A listing as YAML is a <Kind>List that applies back unchanged.
    let list = env.ok(&["get", "bgppeers", "-o", "yaml"]);
    let parsed: Value = serde_yaml_ng::from_str(&list).unwrap();
    assert_eq!(parsed["kind"], "BGPPeerList");
    assert_eq!(parsed["items"].as_array().unwrap().len(), 2);
    let export = env.file("export.yaml", &list);
    assert_eq!(
        env.ok(&["apply", "-f", &export]),
        "Successfully applied 2 'BGPPeer' resource(s)\n"
    );
});

on_both!(calicoctl_tables, |env: Env| {
    for f in EXAMPLES {
        env.ok(&["apply", "-f", example(f).to_str().unwrap()]);
    }
    assert_eq!(
        env.ok(&["get", "nodes", "-o", "wide"]),
        "NAME            ASN       IPV4                IPV6\n\
         kube-master01   (63400)   172.31.209.239/20\n\
         kube-worker01   (63400)   172.31.209.240/20\n\
         kube-worker02   (63400)   172.31.209.241/20\n"
    );
    assert_eq!(
        env.ok(&["get", "nodes"]),
        "NAME\nkube-master01\nkube-worker01\nkube-worker02\n"
    );
    assert_eq!(
        env.ok(&["get", "bgpPeer"]),
        "NAME                         PEERIP             NODE       ASN\n\
         bgppeer-global-f5-1          172.16.40.202      (global)   63400\n\
         peer-with-route-reflectors   rack == \"rack-3\"   all()\n"
    );
    assert_eq!(
        env.ok(&["get", "ippool", "-o", "wide"]),
        "NAME                  CIDR            NAT    IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR\n\
         default-ipv4-ippool   10.244.0.0/16   true   Never      Never       false      false              all()\n"
    );
    assert_eq!(
        env.ok(&["get", "bgpconfig"]),
        "NAME      LOGSEVERITY   MESHENABLED   ASNUMBER\ndefault   Info          false         63400\n"
    );
    // Every spelling of a kind finds the same resources.
    let nodes = env.ok(&["get", "nodes"]);
    for k in ["node", "no", "NODES", "Node", "nodes.projectcalico.org"] {
        assert_eq!(env.ok(&["get", k]), nodes, "kind spelling {k}");
    }
    let pools = env.ok(&["get", "ippools"]);
    for k in ["ippool", "ipp", "IPPool", "pools"] {
        assert_eq!(env.ok(&["get", k]), pools, "kind spelling {k}");
    }
    for k in ["bgpconfig", "bgpconfiguration", "bgpConfigurations"] {
        assert!(env.ok(&["get", k]).contains("default"), "kind spelling {k}");
    }
    // The inherited ASN follows the global configuration.
    env.ok(&["delete", "bgpconfig", "default"]);
    assert!(env.ok(&["get", "nodes", "-o", "wide"]).contains("(64512)"));
});

on_both!(bad_input_is_refused_in_one_line, |env: Env| {
    let missing = env.dir.path().join("nope.yaml").display().to_string();
    assert_eq!(
        env.fail(&["apply", "-f", &missing]),
        format!("brindlectl: cannot read {missing}: no such file")
    );

    let syntax = env.file(
        "syntax.yaml",
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [x\n",
    );
    let e = env.fail(&["create", "-f", &syntax]);
    assert!(
        e.contains("syntax error at line") && e.contains("column"),
        "{e}"
    );

    let unknown = env.file(
        "unknown.yaml",
        "apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: g}\n",
    );
    assert!(
        env.fail(&["apply", "-f", &unknown])
            .ends_with(r#"kind: "Gadget" is not a kind brindle knows"#)
    );
    assert!(
        env.fail(&["get", "gadgets"])
            .contains(r#"resource type "gadgets" is not supported"#)
    );

    let invalid = env.file("invalid.yaml", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-a}\nspec: {cidr: 10.0.0.0/16, blockSize: 33}\n");
    assert_eq!(
        env.fail(&["apply", "-f", &invalid]),
        format!(
            r#"brindlectl: {invalid}: document 1: IPPool "pool-a": spec.blockSize: 33 is outside 20..=32"#
        )
    );

    let pool = example("ippool.yaml").display().to_string();
    env.ok(&["create", "-f", &pool]);
    assert_eq!(
        env.fail(&["create", "-f", &pool]),
        r#"brindlectl: nothing was created: IPPool "default-ipv4-ippool" already exists"#
    );
    assert_eq!(
        env.fail(&["delete", "bgppeer", "ghost"]),
        r#"brindlectl: nothing was deleted: BGPPeer "ghost" does not exist"#
    );
    assert_eq!(
        env.fail(&["get", "bgppeer", "ghost"]),
        r#"brindlectl: BGPPeer "ghost" does not exist"#
    );

    // A file whose second document is invalid writes nothing, not even the first.
    let half = env.file(
        "half.yaml",
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: first}\nspec: {peerIP: 10.0.0.1, asNumber: 64512}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: second}\nspec: {peerIP: 10.0.0.2}\n",
    );
    let e = env.fail(&["apply", "-f", &half]);
    assert!(
        e.ends_with(
            r#"document 2: BGPPeer "second": spec.asNumber: is required when spec.peerIP is set"#
        ),
        "{e}"
    );
    assert_eq!(
        env.ok(&["get", "bgppeers"]),
        EMPTY_PEERS,
        "nothing half-applied"
    );

    // A file whose second document collides with a stored resource writes nothing either.
    let clash = env.file(
        "clash.yaml",
        &format!("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: first}}\nspec: {{peerIP: 10.0.0.1, asNumber: 64512}}\n---\n{}", std::fs::read_to_string(&pool).unwrap()),
    );
    assert!(
        env.fail(&["create", "-f", &clash])
            .ends_with("already exists")
    );
    assert_eq!(
        env.ok(&["get", "bgppeers"]),
        EMPTY_PEERS,
        "nothing half-created"
    );

    // An overlapping pool is refused.
    let overlap = env.file("overlap.yaml", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: inner}\nspec: {cidr: 10.244.8.0/24}\n");
    assert_eq!(
        env.fail(&["create", "-f", &overlap]),
        r#"brindlectl: nothing was created: IPPool "inner": spec.cidr: 10.244.8.0/24 overlaps IPPool "default-ipv4-ippool" (10.244.0.0/16)"#
    );
});

on_both!(updates_patches_and_labels, |env: Env| {
    let pool = example("ippool.yaml").display().to_string();
    env.ok(&["apply", "-f", &pool]);
    let v: Value =
        serde_json::from_str(&env.ok(&["get", "ippool", "default-ipv4-ippool", "-o", "json"]))
            .unwrap();
    let rv = v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let uid = v["metadata"]["uid"].clone();

    // Immutable fields.
    let moved = env.file("moved.yaml", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: default-ipv4-ippool}\nspec: {cidr: 10.245.0.0/16}\n");
    let e = env.fail(&["replace", "-f", &moved]);
    assert!(
        e.contains("spec.cidr: cannot be changed (was 10.244.0.0/16)"),
        "{e}"
    );

    // Patch, then a replace carrying the old resourceVersion is a conflict.
    assert_eq!(
        env.ok(&[
            "patch",
            "ippool",
            "default-ipv4-ippool",
            "-p",
            r#"{"spec":{"natOutgoing":false}}"#
        ]),
        "Successfully patched 1 'IPPool' resource\n"
    );
    let v2: Value =
        serde_json::from_str(&env.ok(&["get", "ippool", "default-ipv4-ippool", "-o", "json"]))
            .unwrap();
    assert_eq!(v2["spec"]["natOutgoing"], false);
    assert_eq!(v2["metadata"]["uid"], uid, "uid survives updates");
    let stale = env.file("stale.yaml", &format!("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: default-ipv4-ippool, resourceVersion: \"{rv}\"}}\nspec: {{cidr: 10.244.0.0/16}}\n"));
    let e = env.fail(&["replace", "-f", &stale]);
    assert!(e.contains(&format!("resourceVersion {rv} is stale")), "{e}");
    let e = env.fail(&[
        "patch",
        "ippool",
        "default-ipv4-ippool",
        "-p",
        r#"{"spec":{"blockSize":40}}"#,
    ]);
    assert!(e.contains("spec.blockSize"), "{e}");
    let e = env.fail(&["patch", "ippool", "default-ipv4-ippool", "-p", "{not json"]);
    assert!(e.contains("patch is not valid JSON"), "{e}");

    // Replace of something missing.
    let ghost = env.file("ghost.yaml", "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ghost}\nspec: {peerIP: 10.0.0.9, asNumber: 1}\n");
    assert_eq!(
        env.fail(&["replace", "-f", &ghost]),
        r#"brindlectl: nothing was replaced: BGPPeer "ghost" does not exist"#
    );

    // Labels.
    env.ok(&["apply", "-f", example("nodes.yaml").to_str().unwrap()]);
    assert_eq!(
        env.ok(&["label", "nodes", "kube-worker01", "role=rr"]),
        "Successfully set label role on Node kube-worker01\n"
    );
    let e = env.fail(&["label", "nodes", "kube-worker01", "role=edge"]);
    assert!(
        e.contains("already has label role=rr; use --overwrite"),
        "{e}"
    );
    env.ok(&[
        "label",
        "nodes",
        "kube-worker01",
        "role=edge",
        "--overwrite",
    ]);
    let n: Value =
        serde_json::from_str(&env.ok(&["get", "node", "kube-worker01", "-o", "json"])).unwrap();
    assert_eq!(n["metadata"]["labels"]["role"], "edge");
    env.ok(&["label", "nodes", "kube-worker01", "role", "--remove"]);
    let e = env.fail(&["label", "nodes", "kube-worker01", "role", "--remove"]);
    assert!(e.contains(r#"has no label "role""#), "{e}");
    let e = env.fail(&["label", "nodes", "kube-worker01", "bad key=x"]);
    assert!(e.contains("label key"), "{e}");

    // stdin, delete -f.
    let peers = std::fs::read_to_string(example("bgp-peers.yaml")).unwrap();
    let o = env.run_with(&["create", "-f", "-"], Some(&peers), true);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stdout, "Successfully created 2 'BGPPeer' resource(s)\n");
    assert_eq!(
        env.ok(&["delete", "-f", example("bgp-peers.yaml").to_str().unwrap()]),
        "Successfully deleted 2 'BGPPeer' resource(s)\n"
    );
    assert_eq!(env.ok(&["get", "bgppeers"]), EMPTY_PEERS);
});

#[test]
fn config_file_env_and_flags_layer() {
    let env = Env::sqlite();
    let a = env.dir.path().join("a.db").display().to_string();
    let b = env.dir.path().join("b.db").display().to_string();
    let cfg = env.file(
        "brindlectl.cfg",
        &format!("apiVersion: projectcalico.org/v3\nkind: BrindleAPIConfig\nmetadata: {{}}\nspec:\n  datastoreType: sqlite\n  datastorePath: {a}\n"),
    );
    let pool = example("ippool.yaml").display().to_string();
    // --config file selects a.db.
    let o = env.run_with(&["--config", &cfg, "apply", "-f", &pool], None, false);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // A flag overrides the file: b.db, which does not exist (reads never create a datastore).
    let o = env.run_with(
        &["--config", &cfg, "--datastore-path", &b, "get", "ippools"],
        None,
        false,
    );
    let e = check_failure(o, &["get"]);
    assert!(e.contains(&format!("{b} does not exist")), "{e}");
    assert!(
        !std::path::Path::new(&b).exists(),
        "a read must not create the datastore"
    );
    let o = env.run_with(&["--config", &cfg, "get", "ippools"], None, false);
    assert!(o.stdout.contains("default-ipv4-ippool"), "{}", o.stdout);
    let env_run = |args: &[&str], config_file: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_brindlectl"));
        isolate(&mut cmd);
        if let Some(f) = config_file {
            cmd.env("BRINDLECTL_CONFIG", f);
        }
        cmd.args(args)
            .env("DATASTORE_TYPE", "sqlite")
            .env("DATASTORE_PATH", &b)
            .output()
            .unwrap()
    };
    // The environment selects b.db when no --config is given (and beats BRINDLECTL_CONFIG).
    let out = env_run(&["get", "ippools"], Some(&cfg));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("b.db does not exist"),
        "{out:?}"
    );
    // --config beats the environment: a.db again.
    let out = env_run(&["--config", &cfg, "get", "ippools"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("default-ipv4-ippool"),
        "{out:?}"
    );
    // BRINDLECTL_CONFIG moves the default file.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_brindlectl"));
    isolate(&mut cmd);
    let out = cmd
        .args(["get", "ippools"])
        .env("BRINDLECTL_CONFIG", &cfg)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("default-ipv4-ippool"),
        "{out:?}"
    );
    // A broken config file is one clear line.
    let bad = env.file(
        "bad.cfg",
        "kind: BrindleAPIConfig\nspec: {datastoreTyp: sqlite}\n",
    );
    let e = check_failure(
        env.run_with(&["--config", &bad, "get", "nodes"], None, false),
        &["--config"],
    );
    assert!(e.contains("datastoreTyp"), "{e}");
}

#[test]
fn usage_errors_are_one_line_with_exit_1_and_closed_pipes_are_quiet() {
    let env = Env::sqlite();
    for args in [
        &["get"][..],
        &["get", "nodes", "-o", "bogus"],
        &["frobnicate"],
        &["label", "nodes"],
    ] {
        let e = check_failure(env.run_with(args, None, false), args);
        assert!(e.ends_with("(see brindlectl --help)"), "{e}");
    }
    let o = env.run_with(&["--help"], None, false);
    assert_eq!(o.code, Some(0));
    assert!(o.stdout.contains("Usage"), "{}", o.stdout);
    // A reader that goes away early (`| head -1`) gets no panic and no error message.
    env.ok(&["apply", "-f", example("nodes.yaml").to_str().unwrap()]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_brindlectl"));
    isolate(&mut cmd);
    let mut child = cmd
        .args(["get", "nodes", "-o", "yaml"])
        .args(&env.flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_ne!(
        o.status.code(),
        Some(101),
        "no panic: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    // A patch that is not an object says so.
    let e = env.fail(&["patch", "node", "kube-worker01", "-p", "[1]"]);
    assert!(e.contains("patch must be a JSON object"), "{e}");
}

#[test]
fn unreachable_etcd_fails_within_five_seconds_naming_the_endpoints() {
    // A loopback port that accepts TCP connections but never speaks: the client must give up.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // And a closed port: refused at once.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoints = format!("http://127.0.0.1:{port},http://127.0.0.1:{closed}");
    let env = Env::sqlite();
    let start = Instant::now();
    let o = env.run_with(
        &[
            "get",
            "nodes",
            "--datastore-type",
            "etcdv3",
            "--etcd-endpoints",
            &endpoints,
        ],
        None,
        false,
    );
    let took = start.elapsed();
    let e = check_failure(o, &["get", "nodes"]);
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(
        e.contains(&format!("127.0.0.1:{port}")) && e.contains(&format!("127.0.0.1:{closed}")),
        "{e}"
    );
    drop(silent);
}

#[path = "../../brindle-store/tests/support/tls.rs"]
mod tls;

#[test]
fn etcd_over_mutual_tls_via_config_file() {
    use brindle_store::testing::EtcdTlsFiles;
    let env = Env::sqlite();
    let pki = tls::generate(env.dir.path());
    let etcd = EtcdProcess::start_with_tls(EtcdTlsFiles {
        ca_file: pki.ca.clone(),
        cert_file: pki.server_cert.clone(),
        key_file: pki.server_key.clone(),
    })
    .expect("etcd with TLS starts");
    let cfg = env.file(
        "tls.cfg",
        &format!(
            "apiVersion: projectcalico.org/v3\nkind: BrindleAPIConfig\nmetadata: {{}}\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: {}\n  etcdCACertFile: {}\n  etcdCertFile: {}\n  etcdKeyFile: {}\n",
            etcd.endpoint(),
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    );
    let pool = example("ippool.yaml").display().to_string();
    let o = env.run_with(&["--config", &cfg, "apply", "-f", &pool], None, false);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let o = env.run_with(&["--config", &cfg, "get", "ippools"], None, false);
    assert!(o.stdout.contains("default-ipv4-ippool"), "{}", o.stderr);
    // Without the client certificate the server refuses us: one line, exit 1.
    let o = env.run_with(
        &[
            "--config",
            &cfg,
            "--etcd-key-file",
            "/nonexistent/key.pem",
            "get",
            "ippools",
        ],
        None,
        false,
    );
    let e = check_failure(o, &["get"]);
    assert!(e.contains("/nonexistent/key.pem"), "{e}");
}
