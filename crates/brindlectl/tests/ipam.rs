//! `brindlectl ipam show|check|release` driven as a user drives it, on SQLite and etcd. Pools,
//! nodes, workloads and allocations are set up through brindle-client and brindle-ipam; the
//! assertions are on what the binary prints and on the datastore afterwards.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use brindle_api::Kind;
use brindle_api::Object;
use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::node::NodeSpec;
use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_client::Client;
use brindle_ipam::{AssignRequest, CheckOptions, Ipam, Report};
use brindle_store::Datastore;

/// The shared test datastore ([`support::Env`]) plus a connection for the setup.
struct Env {
    base: support::Env,
    store: Arc<dyn Datastore>,
}

impl std::ops::Deref for Env {
    type Target = support::Env;

    fn deref(&self) -> &support::Env {
        &self.base
    }
}

impl Env {
    fn sqlite() -> Env {
        Env::with(support::Env::sqlite())
    }

    fn etcd() -> Env {
        Env::with(support::Env::etcd())
    }

    fn with(base: support::Env) -> Env {
        let store = base.store();
        Env { base, store }
    }

    fn client(&self) -> Client {
        Client::new(self.store.clone())
    }

    fn ipam(&self) -> Ipam {
        Ipam::new(self.store.clone())
    }

    fn pool(&self, name: &str, cidr: &str, block_size: u32) {
        let spec = IpPoolSpec {
            cidr: cidr.into(),
            block_size: Some(block_size),
            ..Default::default()
        };
        self.client()
            .create(Object::new(name, spec).into())
            .unwrap();
    }

    fn node(&self, name: &str) {
        self.client()
            .create(Object::new(name, NodeSpec::default()).into())
            .unwrap();
    }

    /// Assigns one IPv4 address to pod `default/<pod>` (handle `net.<pod>`) on `node`.
    fn assign(&self, pod: &str, node: &str, pools: &[&str]) -> IpAddr {
        let attributes: BTreeMap<String, String> = [("namespace", "default"), ("pod", pod)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = AssignRequest {
            handle: format!("net.{pod}"),
            node: node.into(),
            num_v4: 1,
            v4_pools: pools.iter().map(|p| p.to_string()).collect(),
            attributes,
            ..Default::default()
        };
        self.ipam().assign(&req).unwrap().ipv4[0].ip
    }

    /// A WorkloadEndpoint for `pod` holding `ip`, as the CNI plugin writes one.
    fn workload(&self, pod: &str, node: &str, ip: IpAddr) {
        let spec = WorkloadEndpointSpec {
            node: Some(node.into()),
            ip_networks: vec![format!("{ip}/32")],
            ..Default::default()
        };
        self.client().create(Object::new(pod, spec).into()).unwrap();
    }

    fn check(&self) -> Report {
        self.ipam().check(&CheckOptions::default()).unwrap()
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

/// One pool with one /26 block: node-a claims it for pods a1..a3; node-b, finding no free
/// block, borrows a4 from it. a3 has no workload (a leak). node-c had a block in a second pool
/// and was deleted. Returns the four addresses of pool-a.
fn cluster(env: &Env) -> [IpAddr; 4] {
    env.pool("pool-a", "10.244.0.0/26", 26);
    env.pool("pool-c", "10.250.0.0/24", 28);
    for n in ["node-a", "node-b", "node-c"] {
        env.node(n);
    }
    let a1 = env.assign("a1", "node-a", &["pool-a"]);
    let a2 = env.assign("a2", "node-a", &["pool-a"]);
    let a3 = env.assign("a3", "node-a", &["pool-a"]);
    let a4 = env.assign("a4", "node-b", &["pool-a"]);
    env.workload("a1", "node-a", a1);
    env.workload("a2", "node-a", a2);
    env.workload("a4", "node-b", a4);
    env.assign("c1", "node-c", &["pool-c"]);
    env.ipam().release_handle("net.c1").unwrap();
    env.client().delete(Kind::Node, None, "node-c").unwrap();
    [a1, a2, a3, a4]
}

on_both!(show_prints_calicoctl_tables, |env: Env| {
    let [a1, _, _, a4] = cluster(&env);
    assert_eq!(
        env.ok(&["ipam", "show"]),
        "+----------+---------------+-----------+------------+------------+\n\
         | GROUPING |     CIDR      | IPS TOTAL | IPS IN USE |  IPS FREE  |\n\
         +----------+---------------+-----------+------------+------------+\n\
         | IP Pool  | 10.244.0.0/26 | 64        | 4 (6%)     | 60 (94%)   |\n\
         | IP Pool  | 10.250.0.0/24 | 256       | 0 (0%)     | 256 (100%) |\n\
         +----------+---------------+-----------+------------+------------+\n"
    );
    let blocks = env.ok(&["ipam", "show", "--show-blocks"]);
    let rows: Vec<&str> = blocks.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 5, "{blocks}");
    assert!(
        rows[1].starts_with("| IP Pool  | 10.244.0.0/26 "),
        "{blocks}"
    );
    assert!(
        rows[2].starts_with("| Block    | 10.244.0.0/26 | 64        | 4 (6%)     | 60 (94%)"),
        "{blocks}"
    );
    assert!(
        rows[3].starts_with("| IP Pool  | 10.250.0.0/24 "),
        "{blocks}"
    );
    assert!(
        rows[4].starts_with("| Block    | 10.250.0.0/28 | 16        | 0 (0%)     | 16 (100%)"),
        "{blocks}"
    );

    assert_eq!(a4.to_string(), "10.244.0.3");
    assert_eq!(
        env.ok(&["ipam", "show", "--show-borrowed"]),
        "+------------+----------------+---------------+-------------+------+--------------+\n\
         |     IP     | BORROWING-NODE |     BLOCK     | BLOCK OWNER | TYPE | ALLOCATED-TO |\n\
         +------------+----------------+---------------+-------------+------+--------------+\n\
         | 10.244.0.3 | node-b         | 10.244.0.0/26 | node-a      | pod  | default/a4   |\n\
         +------------+----------------+---------------+-------------+------+--------------+\n"
    );

    let one = env.ok(&["ipam", "show", "--ip", &a1.to_string()]);
    assert_eq!(
        one,
        format!(
            "IP {a1} is in use\nHandle ID: net.a1\nAttributes:\n  namespace: default\n  \
             node: node-a\n  pod: a1\nIn block 10.244.0.0/26 of IP pool pool-a, affine to node node-a\n"
        )
    );
    assert_eq!(
        env.ok(&["ipam", "show", "--ip", "10.244.0.50"]),
        "IP 10.244.0.50 is not assigned (block 10.244.0.0/26 of IP pool pool-a)\n"
    );
    assert_eq!(
        env.ok(&["ipam", "show", "--ip", "10.9.9.9"]),
        "IP 10.9.9.9 is not assigned in any block\n"
    );
    let e = env.fail(&["ipam", "show", "--ip", "10.9.9.300"]);
    assert_eq!(e, "brindlectl: invalid IP address \"10.9.9.300\"");
});

on_both!(check_report_and_release, |env: Env| {
    let [_, a2, a3, _] = cluster(&env);
    let report_file = env.path("report.json");
    let out = env.ok(&["ipam", "check", "-o", &report_file]);
    assert!(
        out.starts_with("Checking IPAM for inconsistencies...\n"),
        "{out}"
    );
    assert!(
        out.contains("Found 1 allocation without a workload.\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  {a3} in block 10.244.0.0/26 (handle net.a3, node node-a) has no workload\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("Found 0 handles that disagree with the blocks.\n"),
        "{out}"
    );
    assert!(
        out.contains("Found 1 block or affinity of a deleted node.\n"),
        "{out}"
    );
    assert!(
        out.contains("  block 10.250.0.0/28 is affine to node node-c, which does not exist"),
        "{out}"
    );
    assert!(out.contains("Found 0 pending affinities.\n"), "{out}");
    assert!(out.contains("Check complete; found 2 problems.\n"), "{out}");
    assert!(
        out.contains(&format!("Report written to {report_file}")),
        "{out}"
    );
    // The file round-trips to what the library finds.
    let written = Report::from_json(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(written, env.check());

    // Release by address: the address a workload still lists, like calicoctl allows.
    assert_eq!(
        env.ok(&["ipam", "release", "--ip", &a2.to_string()]),
        format!("Successfully released IP address {a2} (handle net.a2)\n")
    );
    assert_eq!(
        env.fail(&["ipam", "release", "--ip", &a2.to_string()]),
        format!("brindlectl: IP address {a2} is not assigned")
    );
    assert_eq!(
        env.fail(&["ipam", "release", "--ip", "10.9.9.9"]),
        "brindlectl: IP address 10.9.9.9 is not assigned (it is in no IPAM block)"
    );

    let out = env.ok(&["ipam", "release", "--from-report", &report_file]);
    assert_eq!(
        out,
        format!("Released 1 IP address: {a3}\nFixed 0 handle records\nFixed 1 block or affinity\n")
    );
    assert!(env.check().is_empty(), "{:?}", env.check());
    let out = env.ok(&["ipam", "check"]);
    assert!(
        out.ends_with("Check complete; found 0 problems.\n"),
        "{out}"
    );
    // A second run finds everything done already.
    let out = env.ok(&["ipam", "release", "--from-report", &report_file]);
    assert!(
        out.starts_with(&format!(
            "Released 0 IP addresses\nSkipped 1 IP address (released or reused since the check): {a3}\n"
        )),
        "{out}"
    );
    assert!(env.check().is_empty());
});

on_both!(
    a_stale_report_never_releases_a_reused_address,
    |env: Env| {
        // A /30 block: four addresses, so a released one is handed out again at once.
        env.pool("tiny", "10.246.0.0/30", 30);
        env.node("node-a");
        let ips: Vec<IpAddr> = (1..=4)
            .map(|i| env.assign(&format!("s{i}"), "node-a", &["tiny"]))
            .collect();
        for (i, ip) in ips.iter().enumerate().skip(1) {
            env.workload(&format!("s{}", i + 1), "node-a", *ip);
        }
        let report_file = env.path("report.json");
        env.ok(&["ipam", "check", "--output", &report_file]);
        // The leak is released by hand and its address reused by a new pod before the report is.
        env.ok(&["ipam", "release", "--ip", &ips[0].to_string()]);
        assert_eq!(env.assign("s5", "node-a", &["tiny"]), ips[0]);
        env.workload("s5", "node-a", ips[0]);
        let out = env.ok(&["ipam", "release", "--from-report", &report_file]);
        assert!(
        out.starts_with(&format!(
            "Released 0 IP addresses\nSkipped 1 IP address (released or reused since the check): {}\n",
            ips[0]
        )),
        "{out}"
    );
        let info = env.ipam().lookup(ips[0]).unwrap();
        assert_eq!(info.handle.as_deref(), Some("net.s5"));
        assert!(env.check().is_empty());
    }
);

on_both!(bad_input_changes_nothing, |env: Env| {
    let [_, _, a3, _] = cluster(&env);
    let before = env.ok(&["ipam", "show", "--show-blocks"]);
    let report_before = env.check();

    let missing = env.path("missing.json");
    let e = env.fail(&["ipam", "release", "--from-report", &missing]);
    assert!(
        e.starts_with(&format!("brindlectl: cannot read the report {missing}: ")),
        "{e}"
    );
    let garbage = env.path("garbage.json");
    std::fs::write(&garbage, "{ this is not json").unwrap();
    let e = env.fail(&["ipam", "release", "--from-report", &garbage]);
    assert!(
        e.starts_with(&format!(
            "brindlectl: {garbage}: not an IPAM check report: "
        )),
        "{e}"
    );
    let wrong = env.path("wrong.json");
    std::fs::write(&wrong, r#"{"leakedAllocations": 5}"#).unwrap();
    let e = env.fail(&["ipam", "release", "--from-report", &wrong]);
    assert!(
        e.starts_with(&format!("brindlectl: {wrong}: not an IPAM check report: ")),
        "{e}"
    );
    let e = env.fail(&["ipam", "release", "--ip", "not-an-ip"]);
    assert_eq!(e, "brindlectl: invalid IP address \"not-an-ip\"");
    let e = env.fail(&["ipam", "release"]);
    assert_eq!(
        e,
        "brindlectl: ipam release needs --ip ADDR or --from-report FILE"
    );
    let e = env.fail(&["ipam", "check", "-o", "/nonexistent/dir/report.json"]);
    assert!(
        e.starts_with("brindlectl: cannot write the report to /nonexistent/dir/report.json: "),
        "{e}"
    );

    assert_eq!(env.ok(&["ipam", "show", "--show-blocks"]), before);
    assert_eq!(env.check(), report_before);
    assert!(env.ipam().lookup(a3).unwrap().allocated);
});

#[test]
fn a_missing_sqlite_datastore_is_an_error() {
    let env = Env::sqlite();
    // Flags only: the test's own datastore is not used.
    let o = env.run_with(
        &[
            "ipam",
            "show",
            "--datastore-type",
            "sqlite",
            "--datastore-path",
            "/nonexistent/ds.db",
        ],
        None,
        false,
    );
    assert_eq!(o.code, Some(1));
    assert!(o.stderr.contains("/nonexistent/ds.db"), "{}", o.stderr);
}
