//! The consistency checker, its repair, and the query views.

use brindle_api::Kind;
use brindle_api::Object;
use brindle_api::resources::ipam_records::{AffinityState, BlockAffinitySpec};
use brindle_ipam::{CheckOptions, Report};

use super::{Env, attrs, v4};

fn pending_affinity(env: &Env, node: &str, cidr: &str) {
    let name = format!("{node}-{}", cidr.replace(['.', '/', ':'], "-"));
    let spec = BlockAffinitySpec {
        state: AffinityState::Pending,
        node: node.into(),
        cidr: cidr.into(),
        deleted: None,
        affinity_type: Some("host".into()),
    };
    env.client().create(Object::new(name, spec).into()).unwrap();
}

/// A claim that crashed after writing its pending affinity is reported, and the node's next
/// allocation finishes it (the block is created and confirmed, and used).
pub fn crashed_claim_is_found_and_finished(env: &Env) {
    env.pool("pool", "10.12.0.0/24", 26, |_| {});
    env.nodes(&["node1", "node2"]);
    let ipam = env.ipam();
    // The crash: node1 wrote its pending affinity for the third block and stopped.
    pending_affinity(env, "node1", "10.12.0.128/26");
    let report = ipam.check(&CheckOptions::default()).unwrap();
    assert_eq!(report.pending_affinities.len(), 1);
    assert_eq!(
        report.pending_affinities[0].block.to_string(),
        "10.12.0.128/26"
    );
    assert_eq!(
        report.lines(),
        ["node node1 has a pending affinity for block 10.12.0.128/26 (an unfinished claim)"]
    );
    // node2 does not take the block node1 is claiming.
    let n2 = ipam.assign(&v4("net.n2", "node2")).unwrap().ipv4[0].clone();
    assert_eq!(n2.block.to_string(), "10.12.0.0/26");
    // node1 finishes its claim instead of starting another.
    let n1 = ipam.assign(&v4("net.n1", "node1")).unwrap().ipv4[0].clone();
    assert_eq!(n1.block.to_string(), "10.12.0.128/26");
    let live = CheckOptions {
        workload_endpoints: false,
        live_handles: Some(["net.n1".into(), "net.n2".into()].into()),
    };
    let report = ipam.check(&live).unwrap();
    assert!(report.is_empty(), "{:?}", report.lines());

    // Another crash, this time withdrawn by the repair (from the JSON report, as the CLI does).
    pending_affinity(env, "node2", "10.12.0.192/26");
    let json = ipam.check(&live).unwrap().to_json();
    let report = Report::from_json(&json).unwrap();
    assert_eq!(report.pending_affinities.len(), 1);
    let fixed = ipam.repair(&report).unwrap();
    assert_eq!(fixed.blocks_fixed.len(), 1);
    assert!(ipam.check(&live).unwrap().is_empty());
}

/// Leaked allocations, handle records out of step and deleted nodes are reported and
/// repaired; afterwards the checker reports nothing.
pub fn checker_and_repair(env: &Env) {
    env.pool("pool", "10.13.0.0/24", 26, |_| {});
    env.nodes(&["node1", "node2"]);
    let ipam = env.ipam();
    let mut used = v4("net.used", "node1");
    used.attributes = attrs(&[("namespace", "default"), ("pod", "web-1")]);
    let used = ipam.assign(&used).unwrap().ipv4[0].clone();
    env.workload("node1-k8s-web--1-eth0", "node1", &[used.ip]);
    let leaked = ipam.assign(&v4("net.leaked", "node1")).unwrap().ipv4[0].clone();
    let gone = ipam.assign(&v4("net.gone", "node2")).unwrap().ipv4[0].clone();
    // A handle record without allocations (as an old buggy writer could leave).
    let h = brindle_api::resources::ipam_records::IpamHandleSpec {
        handle_id: "net.empty".into(),
        block: [("10.13.0.0/26".to_string(), 1)].into(),
        deleted: false,
    };
    env.client()
        .create(Object::new("net.empty", h).into())
        .unwrap();
    // node2 is deleted while it still has a block and an address.
    env.client().delete(Kind::Node, None, "node2").unwrap();

    let report = ipam.check(&CheckOptions::default()).unwrap();
    let leaked_ips: Vec<_> = report.leaked_allocations.iter().map(|l| l.ip).collect();
    assert_eq!(leaked_ips, vec![leaked.ip, gone.ip]);
    assert_eq!(report.handle_problems.len(), 1);
    assert_eq!(
        report.handle_problems[0].describe(),
        "handle net.empty has no allocations"
    );
    assert_eq!(report.deleted_node_blocks.len(), 1);
    assert_eq!(report.deleted_node_blocks[0].node, "node2");
    assert_eq!(report.deleted_node_blocks[0].in_use, 1);
    assert_eq!(report.pending_affinities.len(), 0);
    // The JSON names what the CLI needs.
    let json = report.to_json();
    assert!(
        json.contains("\"leakedAllocations\"") && json.contains("\"10.13.0.1\""),
        "{json}"
    );

    let fixed = ipam.repair(&Report::from_json(&json).unwrap()).unwrap();
    assert_eq!(fixed.released, vec![leaked.ip, gone.ip]);
    assert_eq!(fixed.handles_fixed, vec!["net.empty".to_string()]);
    assert!(!fixed.blocks_fixed.is_empty());
    let after = ipam.check(&CheckOptions::default()).unwrap();
    assert!(after.is_empty(), "{:?}", after.lines());
    assert!(ipam.lookup(used.ip).unwrap().allocated);
    // Repairing the same report again does nothing more (and releases nothing reused).
    let again = ipam.repair(&report).unwrap();
    assert!(again.released.is_empty());
    assert_eq!(again.skipped.len(), 2);
}

/// The views behind `brindlectl ipam show`.
pub fn queries(env: &Env) {
    env.pool("pool-a", "10.14.0.0/24", 26, |_| {});
    env.pool("pool-b", "fd00:14::/120", 122, |_| {});
    env.nodes(&["node1"]);
    let ipam = env.ipam();
    let mut req = v4("net.q", "node1");
    req.num_v4 = 3;
    req.attributes = attrs(&[("pod", "q")]);
    let got = ipam.assign(&req).unwrap();
    let usage = ipam.pool_usage().unwrap();
    assert_eq!(usage.len(), 2);
    assert_eq!(
        (
            usage[0].name.as_str(),
            usage[0].total,
            usage[0].in_use,
            usage[0].free
        ),
        ("pool-a", 256, 3, 253)
    );
    assert_eq!((usage[1].total, usage[1].in_use), (256, 0));
    let blocks = ipam.block_usage().unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].cidr.to_string(), "10.14.0.0/26");
    assert_eq!(
        (blocks[0].total, blocks[0].in_use, blocks[0].free),
        (64, 3, 61)
    );
    assert_eq!(blocks[0].affinity.as_deref(), Some("node1"));
    assert_eq!(blocks[0].pool.as_deref(), Some("pool-a"));
    let info = ipam.lookup(got.ipv4[1].ip).unwrap();
    assert!(info.allocated);
    assert_eq!(info.handle.as_deref(), Some("net.q"));
    assert_eq!(info.attributes.get("pod").map(String::as_str), Some("q"));
    assert_eq!(
        info.attributes.get("node").map(String::as_str),
        Some("node1")
    );
    let free = ipam.lookup("10.14.0.63".parse().unwrap()).unwrap();
    assert!(!free.allocated);
    assert_eq!(
        free.block.map(|b| b.to_string()).as_deref(),
        Some("10.14.0.0/26")
    );
    let outside = ipam.lookup("192.0.2.1".parse().unwrap()).unwrap();
    assert_eq!((outside.pool, outside.block), (None, None));
    // CNI GC: only handles of the network that the runtime no longer lists go.
    ipam.assign(&v4("other.x", "node1")).unwrap();
    ipam.assign(&v4("net.keep", "node1")).unwrap();
    let gone = ipam
        .release_handles_except("net", &["net.keep".to_string()].into())
        .unwrap();
    assert_eq!(gone, vec!["net.q".to_string()]);
    assert_eq!(ipam.handle_allocations("other.x").unwrap().len(), 1);
    assert_eq!(ipam.handle_allocations("net.keep").unwrap().len(), 1);
}
