//! The `brindle` plugin with brindle's own IPAM (`"ipam": {"type": "brindle-ipam"}`) on a real
//! datastore, run as a runtime runs it (`ip netns exec HOST brindle`): addresses from the
//! node's affine blocks, the WorkloadEndpoint written and deleted, 200 concurrent pods over 3
//! nodes on SQLite and on etcd, a plugin killed after allocation and the GC that cleans up
//! after it, and the bad inputs (pools exhausted, datastore unreachable) leaving nothing behind.
//! Needs root.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::datastore::TestStore;
use support::{Host, Pod};

/// A brindle network `net` on `ds` for node `node`, with brindle-ipam settings `ipam`.
fn conf(host: &Host, ds: &TestStore, net: &str, node: &str, ipam: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.1.0",
        "name": net,
        "type": "brindle",
        "nodename": node,
        "state_dir": host.state_dir(),
        "ipam": ipam,
    });
    let fields = ds.fields_in(&host.ns.path());
    for (k, v) in fields.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn v4() -> Value {
    json!({"type": "brindle-ipam"})
}

fn with_prev(conf: &Value, prev: &Value) -> String {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c.to_string()
}

/// The WorkloadEndpoint name of a `Pod` (namespace `default`, interface eth0).
fn wep_name(node: &str, pod: &str) -> String {
    format!(
        "{}-k8s-{}-eth0",
        node.replace('-', "--"),
        pod.replace('-', "--")
    )
}

fn addr_of(result: &Value, i: usize) -> IpAddr {
    let a = result["ips"][i]["address"].as_str().unwrap();
    a.split('/').next().unwrap().parse().unwrap()
}

/// Percentile `p` (0..=100) of `v`, in milliseconds.
fn pct(v: &mut [Duration], p: usize) -> f64 {
    v.sort();
    let i = (v.len() * p / 100).min(v.len() - 1);
    v[i].as_secs_f64() * 1000.0
}

#[test]
fn add_and_del_on_sqlite_with_the_workload_endpoint() {
    require_root!();
    let ds = TestStore::sqlite();
    ds.pool("pool-a", "10.80.0.0/16", 26);
    ds.nodes(&["node-a"]);
    let host = Host::new("bs");
    let pod = Pod::new("bs", "web-0");
    let conf = conf(&host, &ds, "k8s-pod-network", "node-a", v4());
    let handle = format!("k8s-pod-network.{}", pod.id);

    let r = host.run("brindle", &pod.env("ADD"), &conf.to_string()).ok();
    let ip = addr_of(&r, 0);
    assert_eq!(r["ips"][0]["address"], format!("{ip}/32"));
    // From the block affine to this node, held by the handle, with the pod's attributes.
    let info = ds.ipam().lookup(ip).unwrap();
    assert_eq!(info.block_affinity.as_deref(), Some("node-a"));
    assert_eq!(info.block.unwrap().to_string(), "10.80.0.0/26");
    assert_eq!(info.handle.as_deref(), Some(handle.as_str()));
    assert_eq!(info.attributes["node"], "node-a");
    assert_eq!(info.attributes["pod"], "web-0");
    assert_eq!(info.attributes["namespace"], "default");
    // The data path as with any IPAM.
    let veth = pod.host_veth();
    assert_eq!(
        host.ns.ip(&["route", "show", "proto", "81"]).trim(),
        format!("{ip} dev {veth} scope link")
    );
    assert!(pod.ns.ping("10.99.0.1"), "pod -> host");
    assert!(host.ns.ping(&ip.to_string()), "host -> pod");
    // The WorkloadEndpoint.
    let name = wep_name("node-a", "web-0");
    assert_eq!(name, "node--a-k8s-web--0-eth0");
    let wep = ds
        .endpoint("default", &name)
        .expect("WorkloadEndpoint written");
    let v = wep.to_value();
    let spec = &v["spec"];
    assert_eq!(spec["node"], "node-a");
    assert_eq!(spec["orchestrator"], "k8s");
    assert_eq!(spec["pod"], "web-0");
    assert_eq!(spec["endpoint"], "eth0");
    assert_eq!(spec["containerID"], pod.id.as_str());
    assert_eq!(spec["interfaceName"], veth.as_str());
    assert_eq!(spec["ipNetworks"], json!([format!("{ip}/32")]));
    assert_eq!(spec["mac"], r["interfaces"][1]["mac"]);
    assert!(ds.check().is_empty(), "{:?}", ds.check().lines());

    // CHECK passes; it fails when the allocation is gone behind the plugin's back.
    let check = with_prev(&conf, &r);
    host.run("brindle", &pod.env("CHECK"), &check).ok();

    // DEL: nothing left, in the datastore or the kernel; again: still fine.
    host.run("brindle", &pod.env("DEL"), &check).ok();
    assert!(ds.endpoint("default", &name).is_none());
    assert!(ds.held(&handle).is_empty());
    assert_eq!(ds.in_use(), 0);
    assert!(ds.check().is_empty(), "{:?}", ds.check().lines());
    assert!(host.host_veths().is_empty());
    assert_eq!(host.ns.ip(&["route", "show", "proto", "81"]), "");
    host.run("brindle", &pod.env("DEL"), &check).ok();
    let failed = host.run("brindle", &pod.env("CHECK"), &check);
    assert_eq!(failed.code(), 102, "{}", failed.raw);
}

#[test]
fn brindle_ipam_standalone_and_status() {
    require_root!();
    let ds = TestStore::sqlite();
    ds.pool("pool-a", "10.81.0.0/30", 30);
    ds.pool("pool-6", "fd00:81::/122", 122);
    ds.nodes(&["n1"]);
    let host = Host::new("sa");
    let pod = Pod::new("sa", "solo");
    let ipam = json!({"type": "brindle-ipam", "assign_ipv4": "true", "assign_ipv6": "true"});
    let mut conf = conf(&host, &ds, "net", "n1", ipam);
    // As an IPAM plugin of another main plugin: a result with ips only, nothing made.
    conf["type"] = "ptp".into();
    let r = host
        .run("brindle-ipam", &pod.env("ADD"), &conf.to_string())
        .ok();
    assert_eq!(r["ips"][0]["address"], "10.81.0.0/32", "{r}");
    assert_eq!(r["ips"][1]["address"], "fd00:81::/128", "{r}");
    assert!(
        r.get("interfaces")
            .is_none_or(|i| i.as_array().unwrap().is_empty()),
        "{r}"
    );
    assert!(host.host_veths().is_empty());
    assert_eq!(ds.endpoints(), 0);
    let prev = with_prev(&conf, &r);
    host.run("brindle-ipam", &pod.env("CHECK"), &prev).ok();
    // STATUS: room left in both pools.
    let status = [("CNI_COMMAND", "STATUS".to_string())];
    host.run("brindle-ipam", &status, &conf.to_string()).ok();
    host.run("brindle-ipam", &pod.env("DEL"), &prev).ok();
    assert_eq!(ds.in_use(), 0);
    host.run("brindle-ipam", &pod.env("DEL"), &prev).ok();
    let r = host.run("brindle-ipam", &pod.env("CHECK"), &prev);
    assert_eq!(r.code(), 102, "{}", r.raw);

    // STATUS with the IPv4 pool full: not available (50), naming the datastore.
    let v4only = {
        let mut c = conf.clone();
        c["ipam"] = v4();
        c
    };
    let others: Vec<Pod> = (0..4).map(|i| Pod::new(&format!("sa{i}"), "x")).collect();
    for p in &others {
        host.run("brindle-ipam", &p.env("ADD"), &v4only.to_string())
            .ok();
    }
    let r = host.run("brindle-ipam", &status, &v4only.to_string());
    assert_eq!(r.code(), 50, "{}", r.raw);
    assert!(
        r.out["msg"].as_str().unwrap().contains("sqlite"),
        "{}",
        r.raw
    );
    // GC with none of them valid releases them all.
    let mut gc = v4only.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    host.run(
        "brindle-ipam",
        &[("CNI_COMMAND", "GC".to_string())],
        &gc.to_string(),
    )
    .ok();
    assert_eq!(ds.in_use(), 0);
}

/// One simulated node: a host namespace and its node name.
struct Node {
    host: Host,
    name: String,
}

/// 200 pods over 3 nodes, 16 plugin processes at a time: distinct addresses, each from its
/// node's own blocks; then 200 DELs leave nothing.
fn many_pods_over_three_nodes(ds: &TestStore, tag: &str) {
    const PODS: usize = 200;
    const PARALLEL: usize = 16;
    ds.pool("pool-a", "10.82.0.0/16", 26);
    ds.strict_affinity();
    let names = ["node-0", "node-1", "node-2"];
    ds.nodes(&names);
    let nodes: Vec<Node> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let host = Host::new(&format!("{tag}{i}"));
            // node-0 learns its name from <state_dir>/nodename, the others from the config.
            if i == 0 {
                std::fs::create_dir_all(host.state_dir()).unwrap();
                std::fs::write(host.state_dir().join("nodename"), format!("{n}\n")).unwrap();
            }
            Node {
                host,
                name: n.to_string(),
            }
        })
        .collect();
    let conf_of = |node: &Node| {
        let mut c = conf(&node.host, ds, "net", &node.name, v4());
        if node.name == "node-0" {
            c.as_object_mut().unwrap().remove("nodename");
        }
        c
    };
    let confs: Vec<Value> = nodes.iter().map(conf_of).collect();

    // Pod namespaces, made in parallel.
    let pods: Vec<Pod> = parallel(PODS, PARALLEL, |i| {
        Pod::new(&format!("{tag}-{i}"), &format!("pod-{i}"))
    });
    let node_of = |i: usize| i % nodes.len();

    let adds = Mutex::new(Vec::new());
    let t = Instant::now();
    let results: Vec<Value> = parallel(PODS, PARALLEL, |i| {
        let n = node_of(i);
        let start = Instant::now();
        let r = nodes[n]
            .host
            .run("brindle", &pods[i].env("ADD"), &confs[n].to_string());
        adds.lock().unwrap().push(start.elapsed());
        r.ok()
    });
    let add_wall = t.elapsed();

    let mut seen = BTreeSet::new();
    let ipam = ds.ipam();
    for (i, r) in results.iter().enumerate() {
        let ip = addr_of(r, 0);
        assert!(seen.insert(ip), "{ip} handed out twice");
        let info = ipam.lookup(ip).unwrap();
        assert_eq!(
            info.block_affinity.as_deref(),
            Some(names[node_of(i)]),
            "{ip} of pod {i}"
        );
        assert_eq!(info.attributes["node"], names[node_of(i)]);
    }
    assert_eq!(seen.len(), PODS);
    assert_eq!(ds.endpoints(), PODS);
    assert!(ds.borrowed_none(), "strict affinity: nothing borrowed");
    let report = ds.check();
    assert!(report.is_empty(), "{:?}", report.lines());
    for node in &nodes {
        let mine = (0..PODS)
            .filter(|i| nodes[node_of(*i)].name == node.name)
            .count();
        assert_eq!(node.host.host_veths().len(), mine);
    }

    let dels = Mutex::new(Vec::new());
    let t = Instant::now();
    parallel(PODS, PARALLEL, |i| {
        let n = node_of(i);
        let start = Instant::now();
        nodes[n]
            .host
            .run(
                "brindle",
                &pods[i].env("DEL"),
                &with_prev(&confs[n], &results[i]),
            )
            .ok();
        dels.lock().unwrap().push(start.elapsed());
    });
    let del_wall = t.elapsed();

    assert_eq!(ds.in_use(), 0);
    assert_eq!(ds.endpoints(), 0);
    let report = ds.check();
    assert!(report.is_empty(), "{:?}", report.lines());
    for node in &nodes {
        assert!(
            node.host.host_veths().is_empty(),
            "{:?}",
            node.host.host_veths()
        );
        assert_eq!(node.host.ns.ip(&["route", "show", "proto", "81"]), "");
    }
    // What `ip netns exec` alone costs, to read the figures below.
    let mut bare: Vec<Duration> = (0..20)
        .map(|_| {
            let s = Instant::now();
            nodes[0].host.ns.exec(&["true"]).unwrap();
            s.elapsed()
        })
        .collect();
    let (mut adds, mut dels) = (adds.into_inner().unwrap(), dels.into_inner().unwrap());
    eprintln!(
        "{tag}: {PODS} ADDs ({PARALLEL} at a time) in {:.2}s: p50 {:.1} ms, p99 {:.1} ms; \
         {PODS} DELs in {:.2}s: p50 {:.1} ms, p99 {:.1} ms; `ip netns exec true` alone p50 {:.1} ms",
        add_wall.as_secs_f64(),
        pct(&mut adds, 50),
        pct(&mut adds, 99),
        del_wall.as_secs_f64(),
        pct(&mut dels, 50),
        pct(&mut dels, 99),
        pct(&mut bare, 50),
    );
}

/// Runs `f(0..n)` on `workers` threads; the results in order.
fn parallel<T: Send>(n: usize, workers: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let out: Mutex<BTreeMap<usize, T>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let v = f(i);
                    out.lock().unwrap().insert(i, v);
                }
            });
        }
    });
    out.into_inner().unwrap().into_values().collect()
}

#[test]
fn two_hundred_pods_over_three_nodes_on_sqlite() {
    require_root!();
    many_pods_over_three_nodes(&TestStore::sqlite(), "ms");
}

#[test]
fn two_hundred_pods_over_three_nodes_on_etcd() {
    require_root!();
    many_pods_over_three_nodes(&TestStore::etcd(), "me");
}

#[test]
fn a_plugin_killed_after_allocation_leaves_what_check_finds_and_gc_releases() {
    require_root!();
    let ds = TestStore::sqlite();
    ds.pool("pool-a", "10.83.0.0/24", 26);
    ds.nodes(&["n1"]);
    let host = Host::new("kc");
    let conf = conf(&host, &ds, "net", "n1", v4());
    let kept = Pod::new("kc1", "kept");
    let r_kept = host
        .run("brindle", &kept.env("ADD"), &conf.to_string())
        .ok();

    let victim = Pod::new("kc2", "victim");
    let mut env = victim.env("ADD");
    env.push((
        brindle_cni::plugin::TEST_CRASH_AFTER_IPAM_ENV,
        "1".to_string(),
    ));
    let r = host.run("brindle", &env, &conf.to_string());
    assert!(!r.ok && r.out.is_null(), "aborted: {}", r.raw);
    // Allocated, but no data path and no WorkloadEndpoint.
    let handle = format!("net.{}", victim.id);
    let leaked = ds.held(&handle);
    assert_eq!(leaked.len(), 1);
    assert_eq!(host.host_veths(), [kept.host_veth()]);
    let report = ds.check();
    assert_eq!(report.leaked_allocations.len(), 1, "{:?}", report.lines());
    assert_eq!(report.leaked_allocations[0].ip, leaked[0]);
    assert_eq!(
        report.leaked_allocations[0].handle.as_deref(),
        Some(handle.as_str())
    );

    // GC with the runtime's list (only the kept pod): the victim's address goes, the kept stays.
    let mut gc = conf.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": kept.id, "ifname": "eth0"}]);
    host.run(
        "brindle",
        &[("CNI_COMMAND", "GC".to_string())],
        &gc.to_string(),
    )
    .ok();
    assert!(ds.held(&handle).is_empty());
    assert_eq!(ds.held(&format!("net.{}", kept.id)), [addr_of(&r_kept, 0)]);
    assert!(ds.check().is_empty(), "{:?}", ds.check().lines());
    host.run("brindle", &kept.env("DEL"), &with_prev(&conf, &r_kept))
        .ok();
    assert_eq!(ds.in_use(), 0);
}

#[test]
fn bad_input_with_brindle_ipam_leaves_nothing_behind() {
    require_root!();
    let ds = TestStore::sqlite();
    // One address in all.
    ds.pool("tiny", "10.84.0.0/32", 32);
    ds.nodes(&["n1"]);
    let host = Host::new("bb");
    let good = conf(&host, &ds, "net", "n1", v4());
    let nothing_left = |what: &str, other_veths: &[String]| {
        assert_eq!(host.host_veths(), other_veths, "{what}");
        assert_eq!(ds.endpoints(), other_veths.len(), "{what}");
        assert_eq!(ds.in_use(), other_veths.len() as u128, "{what}");
        assert!(ds.check().is_empty(), "{what}: {:?}", ds.check().lines());
    };

    // Pools exhausted: the IPAM error's line, a 100+ code.
    let first = Pod::new("bb1", "first");
    let r1 = host
        .run("brindle", &first.env("ADD"), &good.to_string())
        .ok();
    assert_eq!(r1["ips"][0]["address"], "10.84.0.0/32");
    let pod = Pod::new("bb2", "second");
    let r = host.run("brindle", &pod.env("ADD"), &good.to_string());
    assert_eq!(r.code(), 101, "{}", r.raw);
    let msg = r.out["msg"].as_str().unwrap();
    assert!(
        msg.contains("no IP pool with room for IPv4 on node n1"),
        "{}",
        r.raw
    );
    nothing_left("pools exhausted", &[first.host_veth()]);
    host.run("brindle", &first.env("DEL"), &with_prev(&good, &r1))
        .ok();
    nothing_left("after DEL", &[]);

    // The WorkloadEndpoint cannot be written (a pod name that is no valid resource name):
    // the veth and the address made before are undone.
    let odd = Pod::new("bb3", "Odd_Name");
    let r = host.run("brindle", &odd.env("ADD"), &good.to_string());
    assert_eq!(r.code(), 103, "{}", r.raw);
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .contains("writing WorkloadEndpoint default/n1-k8s-Odd_Name-eth0"),
        "{}",
        r.raw
    );
    nothing_left("endpoint not written", &[]);
    assert!(!odd.ns.ip(&["-o", "link"]).contains("eth0"));

    // etcd with nothing listening: 11, naming the endpoint, within a few seconds.
    let mut unreachable = good.clone();
    unreachable["datastore_type"] = "etcdv3".into();
    unreachable["etcd_endpoints"] = "http://127.0.0.1:1".into();
    let t = Instant::now();
    let r = host.run("brindle", &pod.env("ADD"), &unreachable.to_string());
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(r.code(), 11, "{}", r.raw);
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:1"),
        "{}",
        r.raw
    );
    nothing_left("etcd unreachable", &[]);
    // DEL too: 11, so that the runtime tries again.
    let r = host.run("brindle", &pod.env("DEL"), &unreachable.to_string());
    assert_eq!(r.code(), 11, "{}", r.raw);

    // A SQLite file that is not there (the node agent has not created it): 11, naming it.
    let mut missing = good.clone();
    missing["datastore_path"] = "/nonexistent/brindle/datastore.db".into();
    let r = host.run("brindle", &pod.env("ADD"), &missing.to_string());
    assert_eq!(r.code(), 11, "{}", r.raw);
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/brindle/datastore.db"),
        "{}",
        r.raw
    );
    assert!(!std::path::Path::new("/nonexistent/brindle").exists());
    nothing_left("sqlite missing", &[]);

    // Bad brindle-ipam settings: 7, before anything is made.
    let mut bad = good.clone();
    bad["ipam"] = json!({"type": "brindle-ipam", "assign_ipv4": "maybe"});
    let r = host.run("brindle", &pod.env("ADD"), &bad.to_string());
    assert_eq!(r.code(), 7, "{}", r.raw);
    assert!(r.out["msg"].as_str().unwrap().contains("assign_ipv4"));
    let mut bad = good.clone();
    bad["datastore_type"] = "kubernetes".into();
    let r = host.run("brindle", &pod.env("ADD"), &bad.to_string());
    assert_eq!(r.code(), 7, "{}", r.raw);
    nothing_left("bad settings", &[]);
}
