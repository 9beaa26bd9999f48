//! The `brindle` plugin run as a runtime runs it (`ip netns exec HOST brindle`, config on
//! stdin) with the reference `host-local` IPAM, in namespaces the tests create: pods get
//! their addresses and routes and reach the host, DEL and failures leave nothing behind,
//! results come in each version's format, and a chain with `portmap`, `bandwidth` and `tuning`
//! runs.
//! Needs root and Debian's containernetworking-plugins.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Host, Pod};

/// A brindle network `net` declaring `version`, with host-local ranges `ranges`.
fn conf(host: &Host, net: &str, version: &str, ranges: Value) -> Value {
    json!({
        "cniVersion": version,
        "name": net,
        "type": "brindle",
        "state_dir": host.state_dir(),
        "ipam": {"type": "host-local", "dataDir": host.data_dir(), "ranges": ranges},
    })
}

fn v4_range() -> Value {
    json!([[{"subnet": "10.77.0.0/24"}]])
}

fn with_prev(conf: &Value, prev: &Value) -> String {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c.to_string()
}

#[test]
fn pod_gets_its_addresses_and_routes_reaches_the_host_and_del_removes_everything() {
    require_root!();
    let host = Host::new("ds");
    let pod = Pod::new("ds", "web");
    let conf = conf(
        &host,
        "net1",
        "1.0.0",
        json!([[{"subnet": "10.77.0.0/24"}], [{"subnet": "fd00:77::/64"}]]),
    );
    let result = host.run("brindle", &pod.env("ADD"), &conf.to_string()).ok();
    let veth = pod.host_veth();
    assert_eq!(result["interfaces"][0]["name"], veth.as_str());
    assert_eq!(result["interfaces"][0]["mac"], "ee:ee:ee:ee:ee:ee");
    assert_eq!(result["interfaces"][1]["name"], "eth0");
    assert_eq!(result["interfaces"][1]["sandbox"], pod.ns.path().as_str());
    assert_eq!(result["ips"][0]["address"], "10.77.0.2/32");
    assert_eq!(result["ips"][1]["address"], "fd00:77::2/128");
    assert!(result["ips"][0].get("version").is_none(), "1.0.0 has none");

    // As users see it: the pod's /32 and routes, the host's /32 scope link route.
    let addrs = pod.ns.ip(&["addr", "show", "dev", "eth0"]);
    assert!(
        addrs.contains("inet 10.77.0.2/32 scope global eth0"),
        "{addrs}"
    );
    assert!(
        addrs.contains("inet6 fd00:77::2/128 scope global"),
        "{addrs}"
    );
    let routes = pod.ns.ip(&["route"]);
    assert!(
        routes.contains("default via 169.254.1.1 dev eth0"),
        "{routes}"
    );
    assert!(
        routes.contains("169.254.1.1 dev eth0 scope link"),
        "{routes}"
    );
    let routes6 = pod.ns.ip(&["-6", "route"]);
    assert!(
        routes6.contains("default via fe80::ecee:eeff:feee:eeee dev eth0"),
        "{routes6}"
    );
    let host_routes = host.ns.ip(&["route", "show", "proto", "81"]);
    assert_eq!(
        host_routes.trim(),
        format!("10.77.0.2 dev {veth} scope link")
    );
    let link = host.ns.ip(&["link", "show", &veth]);
    assert!(link.contains("link/ether ee:ee:ee:ee:ee:ee"), "{link}");
    assert!(
        host.ns
            .ip(&["addr", "show", "dev", &veth])
            .lines()
            .all(|l| !l.contains("inet "))
    );
    let sysctls = host
        .ns
        .exec(&[
            "cat",
            &format!("/proc/sys/net/ipv4/conf/{veth}/proxy_arp"),
            &format!("/proc/sys/net/ipv4/neigh/{veth}/proxy_delay"),
        ])
        .unwrap();
    assert_eq!(sysctls, "1\n0\n");

    // The pod reaches the host through 169.254.1.1 (proxy ARP) and the host the pod.
    assert!(pod.ns.ping("10.99.0.1"), "pod -> host");
    assert!(host.ns.ping("10.77.0.2"), "host -> pod");
    assert!(pod.ns.ping("fd00:99::1"), "pod -> host, IPv6");
    assert!(host.ns.ping("fd00:77::2"), "host -> pod, IPv6");

    // CHECK passes, then fails once the host route is gone.
    let check = with_prev(&conf, &result);
    host.run("brindle", &pod.env("CHECK"), &check).ok();
    host.ns.ip(&["route", "del", "10.77.0.2/32", "dev", &veth]);
    let failed = host.run("brindle", &pod.env("CHECK"), &check);
    assert_eq!(failed.code(), 102);
    assert!(
        failed.out["msg"]
            .as_str()
            .unwrap()
            .contains("host route 10.77.0.2/32"),
        "{}",
        failed.raw
    );

    // DEL: no veth, no route, no address, no allocation; again: still fine.
    assert_eq!(host.allocations("net1").len(), 2);
    host.run("brindle", &pod.env("DEL"), &check).ok();
    assert!(host.host_veths().is_empty(), "{:?}", host.host_veths());
    assert_eq!(host.ns.ip(&["route", "show", "proto", "81"]), "");
    assert_eq!(host.ns.ip(&["-6", "route", "show", "proto", "81"]), "");
    assert!(!pod.ns.ip(&["-o", "link"]).contains("eth0"));
    assert!(host.allocations("net1").is_empty());
    host.run("brindle", &pod.env("DEL"), &check).ok();
    // And with the namespace gone, as after a pod's death.
    let mut env = pod.env("DEL");
    env[2].1 = "/run/netns/brcni-gone".into();
    host.run("brindle", &env, &check).ok();
}

#[test]
fn results_in_each_version_format() {
    require_root!();
    let host = Host::new("vf");
    std::fs::create_dir_all(host.state_dir()).unwrap();
    std::fs::write(host.state_dir().join("mtu"), "1400\n").unwrap();
    for (i, version) in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
        .iter()
        .enumerate()
    {
        let pod = Pod::new(&format!("vf{i}"), &format!("p{i}"));
        let conf = conf(&host, "net1", version, v4_range());
        let r = host.run("brindle", &pod.env("ADD"), &conf.to_string()).ok();
        assert_eq!(r["cniVersion"], *version);
        let ip = &r["ips"][0];
        assert!(ip["address"].as_str().unwrap().ends_with("/32"), "{r}");
        assert_eq!(ip["interface"], 1);
        if version.starts_with("0.") {
            assert_eq!(ip["version"], "4", "{version}: {r}");
        } else {
            assert!(ip.get("version").is_none(), "{version}: {r}");
        }
        if *version == "1.1.0" {
            assert_eq!(r["interfaces"][1]["mtu"], 1400, "{r}");
        } else {
            assert!(r["interfaces"][1].get("mtu").is_none(), "{r}");
        }
        // The MTU comes from <state_dir>/mtu.
        let link = pod.ns.ip(&["link", "show", "eth0"]);
        assert!(link.contains("mtu 1400"), "{link}");
        if *version != "0.3.0" && *version != "0.3.1" {
            host.run("brindle", &pod.env("CHECK"), &with_prev(&conf, &r))
                .ok();
        }
        host.run("brindle", &pod.env("DEL"), &with_prev(&conf, &r))
            .ok();
    }
    assert!(host.host_veths().is_empty());
    assert!(host.allocations("net1").is_empty());
}

#[test]
fn bad_input_gives_the_spec_error_and_leaves_nothing_behind() {
    require_root!();
    let host = Host::new("bi");
    let pod = Pod::new("bi", "bad");
    let good = conf(&host, "net1", "1.0.0", v4_range()).to_string();
    let nothing_left = |what: &str| {
        assert!(
            host.host_veths().is_empty(),
            "{what}: {:?}",
            host.host_veths()
        );
        assert!(host.allocations("net1").is_empty(), "{what}");
        assert_eq!(host.ns.ip(&["route", "show", "proto", "81"]), "", "{what}");
    };

    let r = host.run("brindle", &pod.env("ADD"), "{\"cniVersion\": ");
    assert_eq!(r.code(), 6, "malformed JSON");
    assert!(r.out["msg"].as_str().unwrap().contains("not valid JSON"));
    nothing_left("malformed JSON");

    let env: Vec<_> = pod
        .env("ADD")
        .into_iter()
        .filter(|(k, _)| *k != "CNI_CONTAINERID")
        .collect();
    let r = host.run("brindle", &env, &good);
    assert_eq!(r.code(), 4);
    assert!(
        r.out["msg"].as_str().unwrap().contains("CNI_CONTAINERID"),
        "{}",
        r.raw
    );
    nothing_left("missing CNI_CONTAINERID");

    let mut env = pod.env("ADD");
    env[2].1 = "/run/netns/brcni-no-such-namespace".into();
    let r = host.run("brindle", &env, &good);
    assert_eq!(r.code(), 4);
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .contains("brcni-no-such-namespace")
    );
    nothing_left("missing namespace");

    let r = host.run("brindle", &pod.env("ADD"), &good.replace("1.0.0", "0.9.0"));
    assert_eq!(r.code(), 1, "unknown cniVersion");
    assert!(r.out["msg"].as_str().unwrap().contains("0.9.0"));
    nothing_left("unknown version");

    // IPAM failure: a range of one address already taken by another pod.
    let one = conf(
        &host,
        "net2",
        "1.0.0",
        json!([[{"subnet": "10.78.0.0/24", "rangeStart": "10.78.0.9", "rangeEnd": "10.78.0.9"}]]),
    )
    .to_string();
    let first = Pod::new("bi1", "first");
    let r1 = host.run("brindle", &first.env("ADD"), &one).ok();
    let r = host.run("brindle", &pod.env("ADD"), &one);
    assert_eq!(
        r.code(),
        999,
        "host-local's own code comes through: {}",
        r.raw
    );
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .starts_with("IPAM plugin host-local:"),
        "{}",
        r.raw
    );
    assert_eq!(host.host_veths(), [first.host_veth()]);
    host.run(
        "brindle",
        &first.env("DEL"),
        &with_prev(&serde_json::from_str(&one).unwrap(), &r1),
    )
    .ok();

    // A missing IPAM plugin.
    let mut missing: Value = serde_json::from_str(&good).unwrap();
    missing["ipam"]["type"] = "no-such-ipam".into();
    let r = host.run("brindle", &pod.env("ADD"), &missing.to_string());
    assert_eq!(r.code(), 101);
    assert!(
        r.out["msg"]
            .as_str()
            .unwrap()
            .contains("no-such-ipam not found"),
        "{}",
        r.raw
    );

    // A data-path failure after the address was allocated: eth0 exists in the pod already.
    pod.ns
        .ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
    let r = host.run("brindle", &pod.env("ADD"), &good);
    assert_eq!(r.code(), 100, "{}", r.raw);
    assert!(
        r.out["msg"].as_str().unwrap().contains("File exists"),
        "{}",
        r.raw
    );
    nothing_left("data path failure");
}

#[test]
fn chained_with_portmap_bandwidth_and_tuning() {
    require_root!();
    let host = Host::new("ch");
    let pod = Pod::new("ch", "chained");
    let base = conf(
        &host,
        "chain",
        "1.0.0",
        json!([[{"subnet": "10.77.0.0/24"}], [{"subnet": "fd00:77::/64"}]]),
    );
    let portmap = json!({
        "cniVersion": "1.0.0", "name": "chain", "type": "portmap",
        "capabilities": {"portMappings": true},
        "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
    });
    let bandwidth = json!({
        "cniVersion": "1.0.0", "name": "chain", "type": "bandwidth",
        "capabilities": {"bandwidth": true},
        "runtimeConfig": {"bandwidth": {"ingressRate": 8_000_000, "ingressBurst": 100_000,
                                        "egressRate": 8_000_000, "egressBurst": 100_000}},
    });
    // tuning sets a sysctl of the pod's namespace (net.core.somaxconn is per namespace).
    let tuning = json!({
        "cniVersion": "1.0.0", "name": "chain", "type": "tuning",
        "sysctl": {"net.core.somaxconn": "777"},
    });
    // ADD in order, each plugin given the previous one's result.
    let r1 = host.run("brindle", &pod.env("ADD"), &base.to_string()).ok();
    let r2 = host
        .run("portmap", &pod.env("ADD"), &with_prev(&portmap, &r1))
        .ok();
    let r3 = host
        .run("bandwidth", &pod.env("ADD"), &with_prev(&bandwidth, &r2))
        .ok();
    let r4 = host
        .run("tuning", &pod.env("ADD"), &with_prev(&tuning, &r3))
        .ok();
    assert_eq!(r4["ips"], r1["ips"]);
    assert_eq!(r4["interfaces"], r3["interfaces"]);
    let somaxconn = pod
        .ns
        .exec(&["cat", "/proc/sys/net/core/somaxconn"])
        .unwrap();
    assert_eq!(somaxconn.trim(), "777");
    let veth = pod.host_veth();
    let qdisc = host
        .ns
        .exec(&["tc", "qdisc", "show", "dev", &veth])
        .unwrap();
    assert!(qdisc.contains("tbf"), "{qdisc}");
    let nat = host.ns.exec(&["iptables", "-t", "nat", "-S"]).unwrap();
    assert!(nat.contains("--dport 8080"), "{nat}");
    assert!(pod.ns.ping("10.99.0.1"));
    // CHECK each with the final result; not portmap: Debian 12's portmap (1.1.1) looks for
    // its IPv4 rules in ip6tables too, so its CHECK always fails on a host with ip6tables
    // (fixed upstream in later releases).
    for (plugin, c) in [
        ("brindle", &base),
        ("bandwidth", &bandwidth),
        ("tuning", &tuning),
    ] {
        host.run(plugin, &pod.env("CHECK"), &with_prev(c, &r4)).ok();
    }
    // DEL in reverse order.
    for (plugin, c) in [
        ("tuning", &tuning),
        ("bandwidth", &bandwidth),
        ("portmap", &portmap),
        ("brindle", &base),
    ] {
        host.run(plugin, &pod.env("DEL"), &with_prev(c, &r4)).ok();
    }
    let links = host.ns.ip(&["-o", "link"]);
    assert!(!links.contains("cali") && !links.contains("bwp"), "{links}");
    let nat = host.ns.exec(&["iptables", "-t", "nat", "-S"]).unwrap();
    assert!(!nat.contains("--dport 8080"), "{nat}");
    assert!(host.allocations("chain").is_empty());
}

#[test]
fn version_status_gc_and_the_ipam_role() {
    require_root!();
    let host = Host::new("vs");
    let version = [("CNI_COMMAND", "VERSION".to_string())];
    for plugin in ["brindle", "brindle-ipam"] {
        let v = host.run(plugin, &version, r#"{"cniVersion":"1.1.0"}"#).ok();
        assert_eq!(
            v["supportedVersions"],
            json!(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
        );
    }
    let conf = conf(&host, "net1", "1.1.0", v4_range());
    // host-local (1.0.0 at most) has no STATUS or GC: nothing to ask, both succeed.
    let status = [("CNI_COMMAND", "STATUS".to_string())];
    let r = host.run("brindle", &status, &conf.to_string());
    assert!(r.ok, "{}", r.raw);
    let mut gc = conf.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "x", "ifname": "eth0"}]);
    let r = host.run(
        "brindle",
        &[("CNI_COMMAND", "GC".to_string())],
        &gc.to_string(),
    );
    assert!(r.ok, "{}", r.raw);
    // STATUS needs 1.1.0.
    let old = conf.to_string().replace("1.1.0", "1.0.0");
    assert_eq!(host.run("brindle", &status, &old).code(), 1);
    // brindle-ipam with its datastore not there: "try again later", naming it; nothing made.
    let pod = Pod::new("vs", "ipam");
    let mut own = conf.clone();
    own["ipam"] = json!({"type": "brindle-ipam"});
    own["datastore_path"] = host
        .dir
        .path()
        .join("no-datastore.db")
        .display()
        .to_string()
        .into();
    let r = host.run("brindle", &pod.env("ADD"), &own.to_string());
    assert_eq!(r.code(), 11, "{}", r.raw);
    assert!(
        r.out["msg"].as_str().unwrap().contains("no-datastore.db"),
        "{}",
        r.raw
    );
    assert!(host.host_veths().is_empty());
    let r = host.run("brindle-ipam", &pod.env("ADD"), &own.to_string());
    assert_eq!(r.code(), 11, "{}", r.raw);
}
